//! Property tests beyond the exhaustive small sizes: thousands of leaves for the generators,
//! the whole `u64` range for the verifiers (which must answer, never panic or overflow), and
//! arbitrary bytes for the parsers.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::OnceLock;

use common::{H, leaf_data, ref_leaf};
use cphar_tlog::{
    Checkpoint, CompactRange, EMPTY_ROOT, MemoryTree, Note, NoteSignature, ProofError,
    consistency_proof, consistency_proof_len, inclusion_proof, inclusion_proof_len, root,
    verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

/// Leaves for the generator properties: large enough for 12 levels and ragged edges, small
/// enough that the O(n) slice reference stays fast in a debug build.
const N: usize = 3000;

fn fixture() -> &'static (Vec<H>, MemoryTree) {
    static F: OnceLock<(Vec<H>, MemoryTree)> = OnceLock::new();
    F.get_or_init(|| {
        let leaves: Vec<H> = leaf_data(N).iter().map(|d| ref_leaf(d)).collect();
        let tree = MemoryTree::from_leaf_hashes(leaves.clone());
        (leaves, tree)
    })
}

fn hash() -> impl Strategy<Value = H> {
    any::<[u8; 32]>()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn inclusion_proofs_agree_and_verify(n in 1..=N, m_seed in any::<usize>(), flip in any::<(usize, u8)>()) {
        let (leaves, tree) = fixture();
        let m = m_seed % n;
        let (m64, n64) = (m as u64, n as u64);
        let proof = tree.inclusion_proof(m64, n64).unwrap();
        prop_assert_eq!(&proof, &inclusion_proof(&leaves[..n], m64).unwrap());
        prop_assert_eq!(proof.len(), inclusion_proof_len(m64, n64));
        let root = root(&leaves[..n]);
        prop_assert_eq!(tree.root_at(n64).unwrap(), root);
        prop_assert!(verify_inclusion(m64, n64, &leaves[m], &proof, &root).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = flip.0 % bad.len();
            bad[i][usize::from(flip.1) % 32] ^= 1 << (flip.1 % 8);
            prop_assert_eq!(verify_inclusion(m64, n64, &leaves[m], &bad, &root), Err(ProofError::RootMismatch));
        }
    }

    #[test]
    fn consistency_proofs_agree_and_verify(n in 0..=N, m_seed in any::<usize>(), flip in any::<(usize, u8)>()) {
        let (leaves, tree) = fixture();
        let m = m_seed % (n + 1);
        let (m64, n64) = (m as u64, n as u64);
        let proof = tree.consistency_proof(m64, n64).unwrap();
        prop_assert_eq!(&proof, &consistency_proof(&leaves[..n], m64).unwrap());
        prop_assert_eq!(proof.len(), consistency_proof_len(m64, n64));
        let (root1, root2) = (root(&leaves[..m]), root(&leaves[..n]));
        prop_assert!(verify_consistency(m64, n64, &root1, &root2, &proof).is_ok());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = flip.0 % bad.len();
            bad[i][usize::from(flip.1) % 32] ^= 1 << (flip.1 % 8);
            prop_assert!(verify_consistency(m64, n64, &root1, &root2, &bad).is_err());
        }
    }

    #[test]
    fn compact_range_tracks_the_tree_and_survives_a_restart(n in 0..=N, split_seed in any::<usize>()) {
        let (leaves, tree) = fixture();
        let split = split_seed % (n + 1);
        let mut before = CompactRange::new();
        for leaf in &leaves[..split] {
            before.append_leaf_hash(*leaf).unwrap();
        }
        // Persist (size, frontier), reload, continue.
        let mut after = CompactRange::from_parts(before.size(), before.hashes().to_vec()).unwrap();
        for leaf in &leaves[split..n] {
            after.append_leaf_hash(*leaf).unwrap();
        }
        prop_assert_eq!(after.size(), n as u64);
        prop_assert!(after.hashes().len() <= 64);
        prop_assert_eq!(after.root(), tree.root_at(n as u64).unwrap());
    }

    /// The verifiers on arbitrary (also huge) sizes: a proof of the wrong length is reported
    /// as such, one of the right length as a root mismatch; nothing panics or overflows.
    #[test]
    fn inclusion_verifier_is_total_over_u64(index in any::<u64>(), size in any::<u64>(), leaf in hash(), root in hash(), extra in 0usize..3) {
        let len = inclusion_proof_len(index, size);
        prop_assert!(len <= 64);
        let right = vec![[0x5a; 32]; len];
        let result = verify_inclusion(index, size, &leaf, &right, &root);
        if index >= size {
            prop_assert_eq!(result, Err(ProofError::LeafIndexOutOfRange { index, size }));
        } else {
            prop_assert_eq!(result, Err(ProofError::RootMismatch));
            let wrong = vec![[0x5a; 32]; len + 1 + extra];
            prop_assert_eq!(
                verify_inclusion(index, size, &leaf, &wrong, &root),
                Err(ProofError::WrongProofLength { expected: len, actual: wrong.len() })
            );
            if len > 0 {
                prop_assert_eq!(
                    verify_inclusion(index, size, &leaf, &right[1..], &root),
                    Err(ProofError::WrongProofLength { expected: len, actual: len - 1 })
                );
            }
        }
    }

    #[test]
    fn consistency_verifier_is_total_over_u64(a in any::<u64>(), b in any::<u64>(), r1 in hash(), r2 in hash()) {
        let (size1, size2) = (a.min(b), a.max(b));
        let len = consistency_proof_len(size1, size2);
        prop_assert!(len <= 65);
        let right = vec![[0xa5; 32]; len];
        let result = verify_consistency(size1, size2, &r1, &r2, &right);
        if size1 == 0 || size1 == size2 {
            // r1 is random: neither the empty root nor (almost surely) equal to r2.
            prop_assert!(result.is_err());
        } else {
            prop_assert!(matches!(result, Err(ProofError::OldRootMismatch | ProofError::NewRootMismatch)));
            let wrong = vec![[0xa5; 32]; len + 1];
            prop_assert_eq!(
                verify_consistency(size1, size2, &r1, &r2, &wrong),
                Err(ProofError::WrongProofLength { expected: len, actual: len + 1 })
            );
        }
        if size1 != size2 {
            prop_assert_eq!(
                verify_consistency(size2, size1, &r1, &r2, &right),
                Err(ProofError::Size1ExceedsSize2 { size1: size2, size2: size1 })
            );
        }
    }

    #[test]
    fn note_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(note) = Note::parse(&bytes) {
            // Whatever it accepts, it re-encodes to exactly the input: one encoding per note.
            let encoded = note.encode();
            prop_assert_eq!(encoded.as_bytes(), bytes.as_slice());
        }
    }

    #[test]
    fn note_parser_never_panics_on_note_like_text(s in "([a-z \\n]{0,20}|\u{2014} [a-zA-Z+/=. ]{0,40}\\n){0,6}") {
        if let Ok(note) = Note::parse(s.as_bytes()) {
            prop_assert_eq!(note.encode(), s);
        }
    }

    #[test]
    fn notes_round_trip(text in "[^\\x00-\\x1f]{0,30}(\\n[^\\x00-\\x1f]{0,30}){0,4}\\n", sigs in proptest::collection::vec(("[a-z./]{1,12}", any::<[u8; 4]>(), proptest::collection::vec(any::<u8>(), 1..80)), 1..5)) {
        let signatures: Vec<NoteSignature> = sigs
            .into_iter()
            .enumerate()
            .map(|(i, (name, id, sig))| NoteSignature::new(format!("{name}{i}"), id, sig).unwrap())
            .collect();
        let note = Note::new(text, signatures).unwrap();
        prop_assert_eq!(Note::parse(note.encode().as_bytes()).unwrap(), note);
    }

    #[test]
    fn checkpoint_parser_never_panics(s in "[a-z0-9+/=\\n]{0,80}") {
        if let Ok(cp) = Checkpoint::parse(&s) {
            prop_assert_eq!(cp.to_body(), s);
        }
    }

    #[test]
    fn checkpoints_round_trip(origin in "[^\\x00-\\x1f]{1,40}", size in 1..u64::MAX, root in hash(), ext in proptest::collection::vec("[^\\x00-\\x1f]{1,20}", 0..3)) {
        let cp = Checkpoint::new(origin, size, root).unwrap().with_extensions(ext).unwrap();
        prop_assert_eq!(Checkpoint::parse(&cp.to_body()).unwrap(), cp);
    }
}

#[test]
fn empty_checkpoint_round_trips() {
    let cp = Checkpoint::new("o", 0, EMPTY_ROOT).unwrap();
    assert_eq!(Checkpoint::parse(&cp.to_body()).unwrap(), cp);
}
