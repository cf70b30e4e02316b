//! Checkpoints: the C2SP spec's example, a signed checkpoint used end to end with proofs,
//! and one negative fixture per way a body can lie or be ambiguous.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use base64ct::{Base64, Encoding};
use common::Ed25519NoteKey;
use cphar_tlog::{
    Checkpoint, CheckpointError, EMPTY_ROOT, MemoryTree, Note, leaf_hash, open_checkpoint,
    sign_checkpoint, verify_consistency, verify_inclusion,
};

const ORIGIN: &str = "audit.cphar.example/log";

fn code<T: std::fmt::Debug>(r: Result<T, CheckpointError>) -> &'static str {
    r.unwrap_err().code()
}

fn tree(n: u32) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(format!("{{\"sequenceNumber\":{i}}}").as_bytes());
    }
    t
}

fn body(size: &str, root: &str) -> String {
    format!("{ORIGIN}\n{size}\n{root}\n")
}

fn b64_root() -> String {
    Base64::encode_string(&tree(5).root())
}

#[test]
fn c2sp_spec_example_parses_and_re_encodes_identically() {
    let example = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    let note = Note::parse(example.as_bytes()).unwrap();
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(checkpoint.origin(), "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size(), 20_852_163);
    assert_eq!(
        Base64::encode_string(checkpoint.root_hash()),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(checkpoint.extensions().is_empty());
    assert_eq!(checkpoint.to_body(), note.text());
    // Its signature is by a key nobody here holds: the body must not be trusted.
    assert_eq!(
        code(open_checkpoint(
            example.as_bytes(),
            "example.com/behind-the-sofa",
            &[]
        )),
        "note_unverified"
    );
}

#[test]
fn signed_checkpoint_anchors_inclusion_and_consistency_proofs() {
    let log_key = Ed25519NoteKey::from_seed(ORIGIN, [42; 32]);
    let t = tree(1000);
    let old = Checkpoint::new(ORIGIN, 600, t.root_at(600).unwrap()).unwrap();
    let new = Checkpoint::new(ORIGIN, 1000, t.root()).unwrap();
    let old_note = sign_checkpoint(&old, &[&log_key]).unwrap();
    let new_note = sign_checkpoint(&new, &[&log_key]).unwrap();

    let verifier = log_key.verifier();
    let old = open_checkpoint(old_note.as_bytes(), ORIGIN, &[&verifier])
        .unwrap()
        .into_checkpoint();
    let opened = open_checkpoint(new_note.as_bytes(), ORIGIN, &[&verifier]).unwrap();
    assert_eq!(opened.note().verified_signatures()[0].name(), ORIGIN);
    let new = opened.into_checkpoint();

    // Sizes and roots come from the signed checkpoints, proofs from the untrusted server.
    let leaf = leaf_hash(b"{\"sequenceNumber\":777}");
    let proof = t.inclusion_proof(777, new.size()).unwrap();
    verify_inclusion(777, new.size(), &leaf, &proof, new.root_hash()).unwrap();
    let proof = t.consistency_proof(old.size(), new.size()).unwrap();
    verify_consistency(
        old.size(),
        new.size(),
        old.root_hash(),
        new.root_hash(),
        &proof,
    )
    .unwrap();
}

#[test]
fn checkpoint_of_another_log_is_not_accepted_cross_log_replay() {
    // One key signing for two logs: the origin line is what keeps them apart.
    let key = Ed25519NoteKey::from_seed("operator.example", [7; 32]);
    let other = Checkpoint::new("reserve.cphar.example/report", 5, tree(5).root()).unwrap();
    let signed = sign_checkpoint(&other, &[&key]).unwrap();
    let r = open_checkpoint(signed.as_bytes(), ORIGIN, &[&key.verifier()]);
    assert!(matches!(r, Err(CheckpointError::OriginMismatch)), "{r:?}");
}

#[test]
fn forged_tree_head_under_a_valid_signature_is_rejected() {
    let key = Ed25519NoteKey::from_seed(ORIGIN, [42; 32]);
    let genuine = Checkpoint::new(ORIGIN, 5, tree(5).root()).unwrap();
    let signed = sign_checkpoint(&genuine, &[&key]).unwrap();
    let forged = signed.replacen("\n5\n", "\n6\n", 1);
    assert_eq!(
        code(open_checkpoint(
            forged.as_bytes(),
            ORIGIN,
            &[&key.verifier()]
        )),
        "note_invalid_signature"
    );
}

#[test]
fn body_is_read_only_after_the_signature_verifies() {
    let key = Ed25519NoteKey::from_seed(ORIGIN, [42; 32]);
    let stranger = Ed25519NoteKey::from_seed(ORIGIN, [43; 32]);
    // A malformed body signed by an unknown key: the note verdict comes first.
    let malformed = format!("{ORIGIN}\n007\n{}\n", b64_root());
    let by_stranger = cphar_tlog::sign_note(&malformed, &[&stranger]).unwrap();
    assert_eq!(
        code(open_checkpoint(
            by_stranger.as_bytes(),
            ORIGIN,
            &[&key.verifier()]
        )),
        "note_unverified"
    );
    // Signed by the log's own key, the malformed body is then refused on its own terms.
    let by_log = cphar_tlog::sign_note(&malformed, &[&key]).unwrap();
    assert_eq!(
        code(open_checkpoint(
            by_log.as_bytes(),
            ORIGIN,
            &[&key.verifier()]
        )),
        "checkpoint_invalid_tree_size"
    );
}

#[test]
fn round_trips_with_extensions() {
    let cp = Checkpoint::new(ORIGIN, 5, tree(5).root())
        .unwrap()
        .with_extensions(vec!["\u{2014} ext one".into(), "ext two".into()])
        .unwrap();
    let body = cp.to_body();
    assert_eq!(
        body,
        format!("{ORIGIN}\n5\n{}\n\u{2014} ext one\next two\n", b64_root())
    );
    assert_eq!(Checkpoint::parse(&body).unwrap(), cp);
    let empty = Checkpoint::new(ORIGIN, 0, EMPTY_ROOT).unwrap();
    assert_eq!(
        empty.to_body(),
        format!("{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
    );
    assert_eq!(Checkpoint::parse(&empty.to_body()).unwrap(), empty);
}

#[test]
fn non_canonical_tree_sizes_are_rejected() {
    let root = b64_root();
    for size in [
        "007",
        "00",
        "+5",
        "-1",
        " 5",
        "5 ",
        "0x5",
        "5.0",
        "1e3",
        "\u{0665}",
        "18446744073709551616",
        "99999999999999999999999",
    ] {
        assert_eq!(
            code(Checkpoint::parse(&body(size, &root))),
            "checkpoint_invalid_tree_size",
            "{size:?}"
        );
    }
    assert_eq!(
        Checkpoint::parse(&body("18446744073709551615", &root))
            .unwrap()
            .size(),
        u64::MAX
    );
}

#[test]
fn malformed_root_hashes_are_rejected() {
    let root = tree(5).root();
    let good = Base64::encode_string(&root);
    let cases = [
        Base64::encode_string(&root[..31]),
        Base64::encode_string(&[root.as_slice(), &[0]].concat()),
        good.trim_end_matches('=').to_owned(),
        // Same bytes, non-zero padding bits: a second encoding of one checkpoint.
        with_padding_bit_set(&good),
        good.replace('+', "-").replace('/', "_"),
        format!(" {good}"),
        hex_of(&root),
    ];
    for bad in &cases {
        if bad != &good {
            assert_eq!(
                code(Checkpoint::parse(&body("5", bad))),
                "checkpoint_invalid_root_hash",
                "{bad}"
            );
        }
    }
}

/// 32 bytes are 43 base64 digits and '=': the last digit's two low bits are padding.
fn with_padding_bit_set(canonical: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let last = ALPHABET.find(&canonical[42..43]).unwrap();
    assert_eq!(last & 0b11, 0, "canonical encodings have zero padding bits");
    let tweaked = &ALPHABET[(last | 1)..=(last | 1)];
    let out = format!("{}{tweaked}=", &canonical[..42]);
    assert_ne!(out, canonical);
    out
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn structurally_broken_bodies_are_rejected() {
    let root = b64_root();
    let cases = [
        (String::new(), "checkpoint_malformed_body"),
        (format!("{ORIGIN}\n5\n{root}"), "checkpoint_malformed_body"),
        (
            format!("{ORIGIN}\r\n5\r\n{root}\r\n"),
            "checkpoint_malformed_body",
        ),
        (format!("{ORIGIN}\n5\n"), "checkpoint_too_few_lines"),
        (format!("{ORIGIN}\n"), "checkpoint_too_few_lines"),
        (format!("\n5\n{root}\n"), "checkpoint_empty_line"),
        (format!("{ORIGIN}\n5\n{root}\n\n"), "checkpoint_empty_line"),
        (
            format!("{ORIGIN}\n5\n{root}\next\n\nmore\n"),
            "checkpoint_empty_line",
        ),
        (format!("{ORIGIN}\n5\n\n{root}\n"), "checkpoint_empty_line"),
        (
            format!("{ORIGIN}\t\n5\n{root}\n"),
            "checkpoint_malformed_body",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(code(Checkpoint::parse(&input)), want, "{input:?}");
    }
}

#[test]
fn empty_tree_with_a_non_empty_root_is_a_false_tree_head() {
    let root = b64_root();
    assert_eq!(
        code(Checkpoint::parse(&body("0", &root))),
        "checkpoint_empty_tree_root_mismatch"
    );
    assert_eq!(
        code(Checkpoint::new(ORIGIN, 0, tree(1).root())),
        "checkpoint_empty_tree_root_mismatch"
    );
}

#[test]
fn constructors_refuse_lines_that_would_change_the_body_structure() {
    let root = tree(5).root();
    assert_eq!(
        code(Checkpoint::new("", 5, root)),
        "checkpoint_invalid_origin"
    );
    assert_eq!(
        code(Checkpoint::new("a\nb", 5, root)),
        "checkpoint_invalid_origin"
    );
    let cp = Checkpoint::new(ORIGIN, 5, root).unwrap();
    let r = cp
        .clone()
        .with_extensions(vec!["ok".into(), "inject\n6".into()]);
    assert!(matches!(
        r,
        Err(CheckpointError::InvalidExtension { index: 1 })
    ));
    assert_eq!(
        code(cp.with_extensions(vec![String::new()])),
        "checkpoint_invalid_extension"
    );
}

#[test]
fn oversized_body_is_rejected() {
    let huge = format!(
        "{ORIGIN}\n5\n{}\n{}\n",
        b64_root(),
        "x".repeat(cphar_tlog::note::MAX_NOTE_SIZE)
    );
    assert_eq!(code(Checkpoint::parse(&huge)), "checkpoint_too_large");
}

#[test]
fn every_error_code_is_distinct() {
    let codes = [
        CheckpointError::TooLarge { size: 0, max: 0 }.code(),
        CheckpointError::MalformedBody.code(),
        CheckpointError::TooFewLines.code(),
        CheckpointError::EmptyLine { line: 1 }.code(),
        CheckpointError::InvalidOrigin.code(),
        CheckpointError::InvalidTreeSize.code(),
        CheckpointError::InvalidRootHash.code(),
        CheckpointError::EmptyTreeRootMismatch.code(),
        CheckpointError::InvalidExtension { index: 0 }.code(),
        CheckpointError::OriginMismatch.code(),
        CheckpointError::Note(cphar_tlog::NoteError::NoVerifiedSignature).code(),
    ];
    let mut sorted = codes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), codes.len());
}
