//! Checkpoints and proof bundles: what a relying party checks offline with the identity key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_audit::transparency::{self, Proven};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::Timestamp;
use serde_json::json;

fn lines(n: u64) -> Vec<String> {
    (0..n)
        .map(|i| format!("{{\"sequenceNumber\":{i},\"x\":{}}}", i * 7))
        .collect()
}

#[test]
fn inclusion_and_consistency_bundles_verify_offline() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let origin = transparency::origin("reg.example");
    let all = lines(37);
    let refs: Vec<&[u8]> = all.iter().map(|l| l.as_bytes()).collect();
    let tree = transparency::tree(&refs);
    let t = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
    let old_note =
        transparency::sign(&origin, 20, tree.root_at(20).unwrap(), t, &identity).unwrap();
    let new_note = transparency::sign(&origin, 37, tree.root(), t, &identity).unwrap();
    let info = transparency::open(&new_note, &origin, &identity.verifying_key()).unwrap();
    assert_eq!(
        (info.size, info.time.as_deref()),
        (37, Some("2026-11-24T10:00:00Z"))
    );

    for index in [0u64, 1, 19, 36] {
        let bundle =
            transparency::inclusion_bundle(&tree, index, 37, &all[index as usize], &new_note)
                .unwrap();
        match transparency::check_bundle(&bundle, &identity.verifying_key(), None).unwrap() {
            Proven::Included {
                index: i,
                checkpoint,
            } => assert_eq!((i, checkpoint.size), (index, 37)),
            other => panic!("{other:?}"),
        }
    }
    let bundle = transparency::consistency_bundle(&tree, 20, 37, &new_note).unwrap();
    assert!(matches!(
        transparency::check_bundle(&bundle, &identity.verifying_key(), Some(&old_note)).unwrap(),
        Proven::Consistent { old_size: 20, .. }
    ));
}

#[test]
fn forged_bundles_are_refused() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let origin = transparency::origin("reg.example");
    let all = lines(10);
    let refs: Vec<&[u8]> = all.iter().map(|l| l.as_bytes()).collect();
    let tree = transparency::tree(&refs);
    let t = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
    let note = transparency::sign(&origin, 10, tree.root(), t, &identity).unwrap();
    let key = identity.verifying_key();
    let good = transparency::inclusion_bundle(&tree, 4, 10, &all[4], &note).unwrap();

    let mut edited = good.clone();
    edited["entry"] = json!("{\"sequenceNumber\":4,\"x\":29}");
    assert_eq!(
        transparency::check_bundle(&edited, &key, None)
            .unwrap_err()
            .code,
        "leaf_mismatch"
    );
    edited.as_object_mut().unwrap().remove("leafHash");
    assert_eq!(
        transparency::check_bundle(&edited, &key, None)
            .unwrap_err()
            .code,
        "bad_proof"
    );

    // The public form names the leaf by its hash only: it proves that hash, and no other.
    let mut public = good.clone();
    public.as_object_mut().unwrap().remove("entry");
    assert_eq!(
        public["leafHash"],
        json!(cphar_crypto::b64::encode(&cphar_tlog::leaf_hash(
            all[4].as_bytes()
        )))
    );
    match transparency::check_bundle(&public, &key, None).unwrap() {
        transparency::Proven::Included { index, .. } => assert_eq!(index, 4),
        other => panic!("{other:?}"),
    }
    let mut wrong = public.clone();
    wrong["leafHash"] = json!(cphar_crypto::b64::encode(&cphar_tlog::leaf_hash(
        all[5].as_bytes()
    )));
    assert_eq!(
        transparency::check_bundle(&wrong, &key, None)
            .unwrap_err()
            .code,
        "bad_proof"
    );
    let mut bare = public.clone();
    bare.as_object_mut().unwrap().remove("leafHash");
    assert_eq!(
        transparency::check_bundle(&bare, &key, None)
            .unwrap_err()
            .code,
        "malformed_proof"
    );
    let mut moved = good.clone();
    moved["leafIndex"] = json!(5);
    assert_eq!(
        transparency::check_bundle(&moved, &key, None)
            .unwrap_err()
            .code,
        "index_mismatch"
    );
    let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
    assert_eq!(
        transparency::check_bundle(&good, &other.verifying_key(), None)
            .unwrap_err()
            .code,
        "bad_checkpoint"
    );
    let mut resized = good.clone();
    resized["treeSize"] = json!(9);
    assert_eq!(
        transparency::check_bundle(&resized, &key, None)
            .unwrap_err()
            .code,
        "size_mismatch"
    );

    // A rewritten history: the old checkpoint the relying party holds does not match.
    let mut forked = all.clone();
    forked[2] = "{\"sequenceNumber\":2,\"x\":-1}".into();
    let frefs: Vec<&[u8]> = forked.iter().map(|l| l.as_bytes()).collect();
    let ftree = transparency::tree(&frefs);
    let held = transparency::sign(&origin, 5, tree.root_at(5).unwrap(), t, &identity).unwrap();
    let fnote = transparency::sign(&origin, 10, ftree.root(), t, &identity).unwrap();
    let bundle = transparency::consistency_bundle(&ftree, 5, 10, &fnote).unwrap();
    assert_eq!(
        transparency::check_bundle(&bundle, &key, Some(&held))
            .unwrap_err()
            .code,
        "old_checkpoint_mismatch"
    );
}
