//! Exhaustive cross-check against an independent naive RFC 9162 implementation
//! (`common::ref_*`), for every tree size 0..=64 and every index / size pair: every
//! generated proof equals the reference and verifies, and tampering is rejected.
//!
//! One limit is inherent to RFC 9162 and pinned here rather than hidden: a proof checks the
//! tree size only through the *shape* of the path, so a different size whose path has the
//! same shape verifies too. The size must come from the signed checkpoint.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{H, leaf_data, ref_leaf, ref_mth, ref_path, ref_path_shape, ref_proof};
use cphar_tlog::{
    CompactRange, EMPTY_ROOT, MemoryTree, ProofError, consistency_proof, consistency_proof_len,
    inclusion_proof, inclusion_proof_len, root, verify_consistency, verify_inclusion,
};

const MAX: usize = 64;
/// Above this size, the exhaustive wrong-index / wrong-size sweeps give way to probes
/// (debug-build SHA-256 is slow; the probes keep every size covered).
const SWEEP: usize = 32;

struct Fixture {
    data: Vec<Vec<u8>>,
    leaves: Vec<H>,
    tree: MemoryTree,
    /// roots[n] = reference MTH of the first n leaves.
    roots: Vec<H>,
}

fn fixture() -> Fixture {
    let data = leaf_data(MAX);
    let leaves: Vec<H> = data.iter().map(|d| ref_leaf(d)).collect();
    let roots = (0..=MAX).map(|n| ref_mth(&data[..n])).collect();
    let tree = MemoryTree::from_leaf_hashes(leaves.clone());
    Fixture {
        data,
        leaves,
        tree,
        roots,
    }
}

/// Variants of `proof` that must never verify: each element with a bit flipped (three bits
/// spread over the hash), truncations, extensions, an element duplicated or swapped.
fn tampered(proof: &[H], extra: &[H]) -> Vec<(String, Vec<H>)> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        for (byte, bit) in [(0, 0), (13, 3), (31, 7)] {
            let mut p = proof.to_vec();
            p[i][byte] ^= 1 << bit;
            out.push((format!("bit {bit} of byte {byte} of [{i}] flipped"), p));
        }
    }
    if !proof.is_empty() {
        out.push(("last dropped".into(), proof[..proof.len() - 1].to_vec()));
        out.push(("first dropped".into(), proof[1..].to_vec()));
        let mut dup = proof.to_vec();
        dup.insert(0, proof[0]);
        out.push(("first duplicated".into(), dup));
    }
    for i in 1..proof.len() {
        if proof[i] != proof[i - 1] {
            let mut p = proof.to_vec();
            p.swap(i - 1, i);
            out.push((format!("[{}] and [{i}] swapped", i - 1), p));
        }
    }
    for e in extra.iter().chain(&[[0u8; 32], EMPTY_ROOT]) {
        let mut back = proof.to_vec();
        back.push(*e);
        out.push(("hash appended".into(), back));
        let mut front = vec![*e];
        front.extend_from_slice(proof);
        out.push(("hash prepended".into(), front));
    }
    out
}

#[test]
fn roots_match_reference_for_every_size() {
    let f = fixture();
    let mut range = CompactRange::new();
    for n in 0..=MAX {
        assert_eq!(root(&f.leaves[..n]), f.roots[n], "root() n={n}");
        assert_eq!(
            f.tree.root_at(n as u64).unwrap(),
            f.roots[n],
            "root_at n={n}"
        );
        assert_eq!(range.root(), f.roots[n], "CompactRange n={n}");
        assert_eq!(
            MemoryTree::from_leaf_hashes(f.leaves[..n].to_vec()).root(),
            f.roots[n]
        );
        if n < MAX {
            assert_eq!(range.append(&f.data[n]).unwrap(), n as u64);
        }
    }
}

#[test]
fn every_inclusion_proof_matches_reference_and_verifies() {
    let f = fixture();
    for n in 1..=MAX {
        for m in 0..n {
            let want = ref_path(m, &f.data[..n]);
            let (m64, n64) = (m as u64, n as u64);
            assert_eq!(
                inclusion_proof(&f.leaves[..n], m64).unwrap(),
                want,
                "slice ({m}, {n})"
            );
            assert_eq!(
                f.tree.inclusion_proof(m64, n64).unwrap(),
                want,
                "tree ({m}, {n})"
            );
            assert_eq!(inclusion_proof_len(m64, n64), want.len());
            verify_inclusion(m64, n64, &f.leaves[m], &want, &f.roots[n]).unwrap();
        }
    }
}

#[test]
fn tampered_inclusion_proofs_are_rejected() {
    let f = fixture();
    for n in 1..=MAX {
        let root = f.roots[n];
        let n64 = n as u64;
        for m in 0..n {
            let m64 = m as u64;
            let leaf = f.leaves[m];
            let proof = ref_path(m, &f.data[..n]);
            for (what, p) in tampered(&proof, &[root, leaf]) {
                assert!(
                    verify_inclusion(m64, n64, &leaf, &p, &root).is_err(),
                    "({m}, {n}): {what}"
                );
            }
            for (byte, bit) in [(0, 0), (16, 4), (31, 7)] {
                let mut bad_leaf = leaf;
                bad_leaf[byte] ^= 1 << bit;
                assert_eq!(
                    verify_inclusion(m64, n64, &bad_leaf, &proof, &root),
                    Err(ProofError::RootMismatch)
                );
                let mut bad_root = root;
                bad_root[byte] ^= 1 << bit;
                assert_eq!(
                    verify_inclusion(m64, n64, &leaf, &proof, &bad_root),
                    Err(ProofError::RootMismatch)
                );
            }
            // Another leaf of the same tree, at the same position.
            let other = f.leaves[(m + 1) % MAX];
            assert!(verify_inclusion(m64, n64, &other, &proof, &root).is_err());
            // Roots of other sizes.
            for other in [n - 1, (n + 1).min(MAX)] {
                if other != n {
                    assert!(verify_inclusion(m64, n64, &leaf, &proof, &f.roots[other]).is_err());
                }
            }
            assert_eq!(
                verify_inclusion(n64, n64, &leaf, &proof, &root),
                Err(ProofError::LeafIndexOutOfRange {
                    index: n64,
                    size: n64
                })
            );
        }
    }
}

#[test]
fn wrong_leaf_index_is_always_rejected() {
    let f = fixture();
    for n in 1..=MAX {
        let root = f.roots[n];
        for m in 0..n {
            let proof = ref_path(m, &f.data[..n]);
            let wrong: Vec<usize> = if n <= SWEEP {
                (0..=n).filter(|&w| w != m).collect()
            } else {
                [m.wrapping_sub(1), m + 1, m ^ 1, m ^ 2, m ^ 16, n - 1 - m, n]
                    .into_iter()
                    .filter(|&w| w != m && w <= n)
                    .collect()
            };
            for w in wrong {
                assert!(
                    verify_inclusion(w as u64, n as u64, &f.leaves[m], &proof, &root).is_err(),
                    "leaf {m} of {n} accepted as leaf {w}"
                );
            }
        }
    }
}

#[test]
fn wrong_tree_size_is_rejected_unless_the_path_has_the_same_shape() {
    let f = fixture();
    for n in 1..=MAX {
        let root = f.roots[n];
        for m in 0..n {
            let proof = ref_path(m, &f.data[..n]);
            let shape = ref_path_shape(m, n);
            let sizes: Vec<usize> = if n <= SWEEP {
                (0..=2 * n + 1).filter(|&s| s != n).collect()
            } else {
                vec![n - 1, n + 1, n * 2, n / 2]
            };
            for s in sizes {
                let result = verify_inclusion(m as u64, s as u64, &f.leaves[m], &proof, &root);
                let same_shape = m < s && ref_path_shape(m, s) == shape;
                assert_eq!(
                    result.is_ok(),
                    same_shape,
                    "leaf {m} of {n} checked as size {s}"
                );
                if m < s && inclusion_proof_len(m as u64, s as u64) != proof.len() {
                    assert!(
                        matches!(result, Err(ProofError::WrongProofLength { .. })),
                        "leaf {m} of {n} as size {s}: {result:?}"
                    );
                }
            }
            // The RFC 6962 reference suite's two size probes always change the shape.
            for s in [2 * n, n / 2] {
                assert!(verify_inclusion(m as u64, s as u64, &f.leaves[m], &proof, &root).is_err());
            }
        }
    }
}

#[test]
fn inclusion_proofs_do_not_bind_tree_size_by_themselves() {
    // Leaf 0's path in 8 leaves has the same shape as in 5, 6 or 7: the RFC 9162 verifier
    // accepts the size-8 proof and root for those sizes. This is why the audit log takes the
    // size from the signed checkpoint, never from the proof's sender.
    let f = fixture();
    let proof = ref_path(0, &f.data[..8]);
    for size in [5u64, 6, 7] {
        verify_inclusion(0, size, &f.leaves[0], &proof, &f.roots[8]).unwrap();
    }
}

#[test]
fn every_consistency_proof_matches_reference_and_verifies() {
    let f = fixture();
    for n in 0..=MAX {
        for m in 0..=n {
            let want = ref_proof(m, &f.data[..n]);
            let (m64, n64) = (m as u64, n as u64);
            assert_eq!(
                consistency_proof(&f.leaves[..n], m64).unwrap(),
                want,
                "slice ({m}, {n})"
            );
            assert_eq!(
                f.tree.consistency_proof(m64, n64).unwrap(),
                want,
                "tree ({m}, {n})"
            );
            assert_eq!(
                consistency_proof_len(m64, n64),
                want.len(),
                "len ({m}, {n})"
            );
            verify_consistency(m64, n64, &f.roots[m], &f.roots[n], &want).unwrap();
        }
    }
}

#[test]
fn tampered_consistency_proofs_are_rejected() {
    let f = fixture();
    for n in 2..=MAX {
        let n64 = n as u64;
        for m in 1..n {
            let m64 = m as u64;
            let (root1, root2) = (f.roots[m], f.roots[n]);
            let proof = ref_proof(m, &f.data[..n]);
            for (what, p) in tampered(&proof, &[root1, root2]) {
                assert!(
                    verify_consistency(m64, n64, &root1, &root2, &p).is_err(),
                    "({m}, {n}): {what}"
                );
            }
            assert!(
                verify_consistency(m64, n64, &root2, &root1, &proof).is_err(),
                "swapped roots"
            );
            assert!(verify_consistency(m64, n64, &root1, &root1, &proof).is_err());
            assert!(verify_consistency(m64, n64, &root2, &root2, &proof).is_err());
            // A perfect old tree's root is not in the proof but the first hash of the path:
            // replacing it shows up as the new root no longer being reproduced.
            let wrong_root = |r: Result<(), ProofError>| {
                matches!(
                    r,
                    Err(ProofError::OldRootMismatch | ProofError::NewRootMismatch)
                )
            };
            for other in [m - 1, m + 1] {
                let result = verify_consistency(m64, n64, &f.roots[other], &root2, &proof);
                assert!(
                    wrong_root(result.clone()),
                    "({m}, {n}) with root of {other}: {result:?}"
                );
            }
            for (byte, bit) in [(0, 0), (16, 4), (31, 7)] {
                let mut bad = root2;
                bad[byte] ^= 1 << bit;
                assert_eq!(
                    verify_consistency(m64, n64, &root1, &bad, &proof),
                    Err(ProofError::NewRootMismatch)
                );
                let mut bad = root1;
                bad[byte] ^= 1 << bit;
                assert!(wrong_root(verify_consistency(
                    m64, n64, &bad, &root2, &proof
                )));
            }
            assert_eq!(
                verify_consistency(n64, m64, &root2, &root1, &proof),
                Err(ProofError::Size1ExceedsSize2 {
                    size1: n64,
                    size2: m64
                })
            );
        }
    }
}

#[test]
fn wrong_old_size_is_always_rejected() {
    let f = fixture();
    for n in 2..=MAX {
        for m in 1..n {
            let proof = ref_proof(m, &f.data[..n]);
            let wrong: Vec<usize> = if n <= SWEEP {
                (0..=n + 1).filter(|&w| w != m).collect()
            } else {
                vec![m - 1, m + 1, m ^ 1, m ^ 2, n]
            };
            for w in wrong {
                assert!(
                    verify_consistency(w as u64, n as u64, &f.roots[m], &f.roots[n], &proof)
                        .is_err(),
                    "({m}, {n}) accepted as ({w}, {n})"
                );
            }
        }
    }
}

#[test]
fn wrong_new_size_changing_the_proof_length_is_rejected() {
    let f = fixture();
    for n in 2..=MAX {
        for m in 1..n {
            let proof = ref_proof(m, &f.data[..n]);
            let sizes: Vec<usize> = if n <= SWEEP {
                (m..=2 * n + 1).filter(|&s| s != n).collect()
            } else {
                vec![n - 1, n + 1, 2 * n, n / 2]
            };
            for s in sizes {
                let result =
                    verify_consistency(m as u64, s as u64, &f.roots[m], &f.roots[n], &proof);
                if s < m {
                    assert!(matches!(result, Err(ProofError::Size1ExceedsSize2 { .. })));
                } else if consistency_proof_len(m as u64, s as u64) != proof.len() {
                    assert!(
                        matches!(result, Err(ProofError::WrongProofLength { .. })),
                        "({m}, {n}) checked as size2 {s}: {result:?}"
                    );
                }
            }
            // The RFC 6962 reference suite's probes.
            for s in [2 * n, n / 2] {
                assert!(
                    verify_consistency(m as u64, s as u64, &f.roots[m], &f.roots[n], &proof)
                        .is_err()
                );
            }
        }
    }
}

#[test]
fn consistency_proofs_do_not_bind_the_new_size_by_themselves() {
    // The proof from 4 to 8 leaves is the single hash of leaves 4..8; it reads the same for
    // a claimed new size of 5, 6 or 7. As for inclusion, sizes come from signed checkpoints.
    let f = fixture();
    let proof = ref_proof(4, &f.data[..8]);
    for size2 in [5u64, 6, 7] {
        verify_consistency(4, size2, &f.roots[4], &f.roots[8], &proof).unwrap();
    }
}

#[test]
fn every_bit_of_a_proof_matters() {
    // All 256 bits of every element, for a mid-sized irregular tree.
    let f = fixture();
    let (m, n) = (21usize, 53usize);
    let proof = ref_path(m, &f.data[..n]);
    let cproof = ref_proof(m, &f.data[..n]);
    for i in 0..proof.len() {
        for bit in 0..256 {
            let mut p = proof.clone();
            p[i][bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                verify_inclusion(m as u64, n as u64, &f.leaves[m], &p, &f.roots[n]),
                Err(ProofError::RootMismatch)
            );
        }
    }
    for i in 0..cproof.len() {
        for bit in 0..256 {
            let mut p = cproof.clone();
            p[i][bit / 8] ^= 1 << (bit % 8);
            assert!(verify_consistency(m as u64, n as u64, &f.roots[m], &f.roots[n], &p).is_err());
        }
    }
}
