//! Every tampering of an export is caught, at the right sequence number, for the right reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_audit::epoch::{EpochStart, open_epoch};
use cphar_audit::{EntrySigner, FailureReason, GENESIS_HASH, verify_export};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::Timestamp;
use serde_json::{Map, Value, json};

fn start(t: &str) -> EpochStart {
    EpochStart {
        self_tests: json!({"passed": true}),
        binary_measurement: Some(format!("sha384:{}", "ab".repeat(48))),
        started_at: Timestamp::parse(t).unwrap(),
    }
}

fn data(i: u64) -> Map<String, Value> {
    json!({"subject": format!("lot:L{i}"), "n": i})
        .as_object()
        .unwrap()
        .clone()
}

/// A log of 20 entries in two epochs (0 and 10), as export lines.
fn build(identity: &SigningKey) -> Vec<String> {
    let mut lines = Vec::new();
    let mut prev = GENESIS_HASH.to_owned();
    let mut signer: Option<EntrySigner> = None;
    for seq in 0..20u64 {
        let entry = if seq % 10 == 0 {
            let key = SigningKey::generate(Algorithm::EcdsaP384Sha384).unwrap();
            let (entry, s) = open_epoch(
                Box::new(key),
                identity,
                seq,
                &prev,
                &start("2026-11-23T10:00:00Z"),
            )
            .unwrap();
            signer = Some(s);
            entry
        } else {
            let t = Timestamp::parse("2026-11-23T10:00:01Z").unwrap();
            signer
                .as_ref()
                .unwrap()
                .seal(seq, t, "lot_inspected", data(seq), &prev)
                .unwrap()
        };
        prev = entry.hash.clone();
        lines.push(String::from_utf8(entry.canonical).unwrap());
    }
    lines
}

fn export(lines: &[String]) -> Vec<u8> {
    let mut out = lines.join("\n").into_bytes();
    out.push(b'\n');
    out
}

fn fails_at(lines: &[String], seq: u64, reason: FailureReason) {
    let err = verify_export(&export(lines), None).unwrap_err();
    assert_eq!((err.sequence_number, err.reason), (seq, reason), "{err}");
}

#[test]
fn an_intact_log_verifies_with_its_epochs() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let lines = build(&identity);
    let report = verify_export(&export(&lines), Some(&identity.verifying_key())).unwrap();
    assert_eq!(report.entries, 20);
    assert_eq!(
        report
            .epochs
            .iter()
            .map(|e| e.sequence_number)
            .collect::<Vec<_>>(),
        [0, 10]
    );
    assert_ne!(
        report.epochs[0].audit_key_thumbprint,
        report.epochs[1].audit_key_thumbprint
    );
    // The chain links: entry 5's previousHash is the hash of entry 4's line.
    let e5: Value = serde_json::from_str(&lines[5]).unwrap();
    assert_eq!(
        e5["previousHash"],
        json!(cphar_audit::chain_hash(lines[4].as_bytes()))
    );
    assert_eq!(e5["eventData"]["auditEpoch"], json!(0));
}

#[test]
fn deleting_an_entry_is_a_gap() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut lines = build(&identity);
    lines.remove(7);
    fails_at(&lines, 7, FailureReason::SequenceGap);
}

#[test]
fn reordering_is_caught() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut lines = build(&identity);
    lines.swap(4, 5);
    fails_at(&lines, 4, FailureReason::SequenceReordered);
}

#[test]
fn duplicating_is_caught() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut lines = build(&identity);
    let dup = lines[3].clone();
    lines.insert(4, dup);
    fails_at(&lines, 4, FailureReason::SequenceDuplicated);
}

#[test]
fn editing_any_member_is_caught_at_that_entry() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let lines = build(&identity);
    let edits: [(&str, Value); 4] = [
        ("/eventData/n", json!(999)),
        ("/eventType", json!("lot_decommissioned")),
        ("/timestamp", json!("2030-01-01T00:00:00Z")),
        ("/sequenceNumber", json!(5)),
    ];
    for (pointer, new) in edits {
        let mut edited = lines.clone();
        let mut v: Value = serde_json::from_str(&edited[6]).unwrap();
        *v.pointer_mut(pointer).unwrap() = new;
        edited[6] = String::from_utf8(cphar_jcs::canonicalize(&v).unwrap()).unwrap();
        // An edited sequence number breaks the signature at that position first.
        fails_at(&edited, 6, FailureReason::BadSignature);
    }
    // A forged previousHash (re-signed by nobody) is a bad signature too; a re-chained line
    // that keeps its signature but points elsewhere is caught as well.
    let mut edited = lines.clone();
    let mut v: Value = serde_json::from_str(&edited[12]).unwrap();
    v["previousHash"] = json!("00".repeat(48));
    edited[12] = String::from_utf8(cphar_jcs::canonicalize(&v).unwrap()).unwrap();
    fails_at(&edited, 12, FailureReason::BadSignature);
}

#[test]
fn a_replaced_entry_breaks_the_chain_even_when_validly_signed() {
    // An insider holding epoch 0's key rewrites entry 3 and signs it: entry 4 no longer links.
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let audit = SigningKey::generate(Algorithm::EcdsaP384Sha384).unwrap();
    let pkcs8 = audit.to_pkcs8_der().unwrap();
    let (genesis, signer) = open_epoch(
        Box::new(audit),
        &identity,
        0,
        GENESIS_HASH,
        &start("2026-11-23T10:00:00Z"),
    )
    .unwrap();
    let t = Timestamp::parse("2026-11-23T10:00:01Z").unwrap();
    let mut lines = vec![String::from_utf8(genesis.canonical.clone()).unwrap()];
    let mut prev = genesis.hash.clone();
    let mut hashes = vec![genesis.hash];
    for seq in 1..6 {
        let e = signer.seal(seq, t, "x", data(seq), &prev).unwrap();
        prev = e.hash.clone();
        hashes.push(e.hash.clone());
        lines.push(String::from_utf8(e.canonical).unwrap());
    }
    let insider = EntrySigner::new(0, SigningKey::from_pkcs8_der(&pkcs8).unwrap()).unwrap();
    let forged = insider.seal(3, t, "x", data(42), &hashes[2]).unwrap();
    lines[3] = String::from_utf8(forged.canonical).unwrap();
    fails_at(&lines, 4, FailureReason::BrokenChain);
}

#[test]
fn swapping_an_epoch_key_is_caught() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let lines = build(&identity);
    // Replace epoch 10's audit key by the attacker's, re-signing that entry with it: the
    // identity countersignature no longer matches.
    let attacker = SigningKey::generate(Algorithm::EcdsaP384Sha384).unwrap();
    let mut edited = lines.clone();
    let mut v: Value = serde_json::from_str(&edited[10]).unwrap();
    v["eventData"]["auditKey"] = attacker.verifying_key().to_jwk().to_json();
    edited[10] = String::from_utf8(cphar_jcs::canonicalize(&v).unwrap()).unwrap();
    fails_at(&edited, 10, FailureReason::BadIdentitySignature);
    // An epoch countersigned by another identity.
    let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP384Sha384).unwrap();
    let (fake, _) = open_epoch(
        Box::new(key),
        &other,
        10,
        &cphar_audit::chain_hash(lines[9].as_bytes()),
        &start("2026-11-23T10:00:00Z"),
    )
    .unwrap();
    let mut edited = lines[..10].to_vec();
    edited.push(String::from_utf8(fake.canonical).unwrap());
    fails_at(&edited, 10, FailureReason::IdentityMismatch);
    // With the identity key given, even the first epoch must match it.
    let err = verify_export(&export(&lines), Some(&other.verifying_key())).unwrap_err();
    assert_eq!(
        (err.sequence_number, err.reason),
        (0, FailureReason::IdentityMismatch)
    );
}

#[test]
fn entries_claiming_an_unknown_epoch_are_caught() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let lines = build(&identity);
    let mut edited = lines.clone();
    let mut v: Value = serde_json::from_str(&edited[15]).unwrap();
    v["eventData"]["auditEpoch"] = json!(12);
    edited[15] = String::from_utf8(cphar_jcs::canonicalize(&v).unwrap()).unwrap();
    fails_at(&edited, 15, FailureReason::UnknownEpochKey);
    // A log that does not start with an epoch.
    fails_at(&lines[1..], 0, FailureReason::UnknownEpochKey);
}

#[test]
fn garbage_lines_are_malformed() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut lines = build(&identity);
    lines[8] = "{\"sequenceNumber\":8,\"sequenceNumber\":8}".into();
    fails_at(&lines, 8, FailureReason::MalformedEntry);
    assert_eq!(
        verify_export(b"", None).unwrap_err().reason,
        FailureReason::Empty
    );
}

/// A validly signed and chained log whose entry times are `times` (entry 0 is the epoch).
fn dated(times: &[&str]) -> Vec<String> {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let audit = SigningKey::generate(Algorithm::EcdsaP384Sha384).unwrap();
    let (genesis, signer) = open_epoch(
        Box::new(audit),
        &identity,
        0,
        GENESIS_HASH,
        &start(times[0]),
    )
    .unwrap();
    let mut lines = vec![String::from_utf8(genesis.canonical).unwrap()];
    let mut prev = genesis.hash;
    for (seq, t) in times.iter().enumerate().skip(1) {
        let t = Timestamp::parse(t).unwrap();
        let e = signer
            .seal(seq as u64, t, "x", data(seq as u64), &prev)
            .unwrap();
        prev = e.hash.clone();
        lines.push(String::from_utf8(e.canonical).unwrap());
    }
    lines
}

#[test]
fn timestamps_going_backwards_are_caught() {
    // An insider with the audit key (or a clock set back) dates entry 3 an hour early; the
    // chain and every signature are intact.
    let lines = dated(&[
        "2026-11-23T10:00:00Z",
        "2026-11-23T10:00:01Z",
        "2026-11-23T10:00:02Z",
        "2026-11-23T09:00:02Z",
        "2026-11-23T10:00:03Z",
    ]);
    fails_at(&lines, 3, FailureReason::TimestampBackwards);
    // Behind the latest earlier entry, not only the previous one.
    let lines = dated(&[
        "2026-11-23T10:00:00Z",
        "2026-11-23T10:05:00Z",
        "2026-11-23T10:04:59.5Z",
        "2026-11-23T10:01:00Z",
    ]);
    fails_at(&lines, 3, FailureReason::TimestampBackwards);
    // Concurrent writers commit slightly out of time order: within the slack, accepted.
    let lines = dated(&[
        "2026-11-23T10:00:00Z",
        "2026-11-23T10:00:01.300Z",
        "2026-11-23T10:00:01.100Z",
        "2026-11-23T10:00:02Z",
    ]);
    verify_export(&export(&lines), None).unwrap();
}
