//! Bulk seal registration (`cphar_registry::batch`) against a real database, the same test
//! body on SQLite and on PostgreSQL (`sqlite::<name>` / `postgres::<name>`): per-line refusal
//! codes and line numbers, nothing of a refused line written (every row read back), the
//! batch audited as one event whose Merkle root proves each item, and the audit log verifying
//! end to end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use cphar_crypto::Algorithm;
use cphar_protocol::Bal;
use cphar_registry::batch::{BatchMode, MAX_BATCH_LINES, verify_item_proof};
use cphar_registry::decide::RegisterSeal;
use cphar_registry::event::EventType;
use serde_json::{Value, json};

const ED: Algorithm = Algorithm::Ed25519;
const P256: Algorithm = Algorithm::EcdsaP256Sha256;

conformance!(
    accepted_lines_commit_refused_lines_are_reported,
    atomic_batch_refuses_everything,
    one_event_proves_every_item,
    oversized_and_empty_manifests_are_refused_whole,
);

/// One manifest line: the registration as `POST /seals` takes it.
fn line(cmd: &RegisterSeal) -> String {
    json!({
        "uid": cmd.uid,
        "vendor": cmd.vendor,
        "deviceType": cmd.device_type,
        "hardwareRevision": cmd.hardware_revision,
        "bal": cmd.bal,
        "publicJwk": cmd.public_jwk,
        "certificateChainPem": cmd.certificate_chain_pem,
        "firmwareMeasurement": cmd.firmware_measurement,
        "tamperEvidence": {
            "carrierClass": cmd.tamper_evidence.carrier_class,
            "specification": cmd.tamper_evidence.specification,
        },
    })
    .to_string()
}

fn manifest(lines: &[String]) -> Vec<u8> {
    let mut out = lines.join("\n").into_bytes();
    out.push(b'\n');
    out
}

/// Rows of the seal tables (what a refused line must not touch).
fn seal_rows(snapshot: &[String]) -> Vec<String> {
    snapshot
        .iter()
        .filter(|r| r.starts_with("seals: ") || r.starts_with("seal_batch"))
        .cloned()
        .collect()
}

/// A manifest mixing good lines with every kind of refusal: each refused line is reported
/// with its line number and the code a single registration would get, nothing of it is
/// written, the good lines are registered, and the clone suspicion is audited.
async fn accepted_lines_commit_refused_lines_are_reported(db: TestDb) {
    let env = Env::new(&db).await;
    let stored = env.register("SEAL-STORED", ED).await;
    let events_before = env.events().await.len();

    let good1 = env.device(ED);
    let good2 = env.device(P256);
    let good3 = env.device(ED);
    let mut bad_firmware = env.register_cmd("SEAL-FW", &env.device(ED), Bal::Bal2);
    bad_firmware.firmware_measurement = other_firmware();
    let rogue = Pki::new("Rogue").device(ED, &[0x42]);
    let lines = vec![
        line(&env.register_cmd("SEAL-G1", &good1, Bal::Bal2)), // 1: ok
        "{\"uid\": \"SEAL-X\", \"uid\": \"SEAL-Y\"}".to_owned(), // 2: not I-JSON
        line(&bad_firmware),                                   // 3: firmware
        line(&env.register_cmd("SEAL-STORED", &env.device(ED), Bal::Bal2)), // 4: stored UID
        line(&env.register_cmd("SEAL-CLONE", &stored.device, Bal::Bal2)), // 5: stored key
        line(&env.register_cmd("SEAL-G2", &good2, Bal::Bal2)), // 6: ok
        String::new(),                                         // 7: blank, skipped
        line(&env.register_cmd("SEAL-G1", &env.device(ED), Bal::Bal2)), // 8: UID of line 1
        line(&env.register_cmd("SEAL-TWIN", &good1, Bal::Bal2)), // 9: key of line 1
        line(&env.register_cmd("SEAL-ROGUE", &rogue, Bal::Bal2)), // 10: untrusted root
        line(&env.register_cmd("SEAL-G3", &good3, Bal::Bal2)), // 11: ok
        "[1, 2]".to_owned(),                                   // 12: not an object
    ];
    let before = env.snapshot().await;
    let outcome = env
        .reg
        .register_batch(&manifest(&lines), BatchMode::Partial, VENDOR_OPS)
        .await
        .unwrap();
    assert_eq!(outcome.lines, 11, "the blank line is not a registration");
    let refused: Vec<(u64, &str)> = outcome
        .refused
        .iter()
        .map(|r| (r.line, r.refusal.code()))
        .collect();
    assert_eq!(
        refused,
        [
            (2, "invalid_input"),
            (3, "firmware_not_allowed"),
            (4, "duplicate_device_uid"),
            (5, "clone_suspected"),
            (8, "duplicate_device_uid"),
            (9, "clone_suspected"),
            (10, "untrusted_root"),
            (12, "invalid_input"),
        ]
    );
    let accepted: Vec<(u64, u64, &str)> = outcome
        .accepted
        .iter()
        .map(|a| (a.line, a.index, a.uid.as_str()))
        .collect();
    assert_eq!(
        accepted,
        [(1, 0, "SEAL-G1"), (6, 1, "SEAL-G2"), (11, 2, "SEAL-G3")]
    );

    // Exactly the accepted seals were added; the stored seal is unchanged.
    let after = env.snapshot().await;
    let added: Vec<String> = seal_rows(&after)
        .into_iter()
        .filter(|r| !before.contains(r) && r.starts_with("seals: "))
        .collect();
    assert_eq!(added.len(), 3, "{added:#?}");
    for (uid, device) in [
        ("SEAL-G1", &good1),
        ("SEAL-G2", &good2),
        ("SEAL-G3", &good3),
    ] {
        let seal = env.seal(uid).await;
        assert_eq!(seal.state, cphar_registry::SealState::Registered);
        assert_eq!(seal.key_thumbprint, {
            let jwk = cphar_crypto::Jwk::from_json(&device.jwk).unwrap();
            jwk.thumbprint_b64().unwrap()
        });
    }
    for uid in ["SEAL-FW", "SEAL-CLONE", "SEAL-TWIN", "SEAL-ROGUE", "SEAL-X"] {
        assert_eq!(
            env.reg.seal(uid).await.unwrap_err().code(),
            "seal_not_found",
            "{uid}"
        );
    }
    assert!(
        before
            .iter()
            .all(|r| { !r.starts_with("seals: ") || after.contains(r) })
    );

    // ONE audited event for the whole manifest, stating the refusals and the clone details.
    let events = env.events().await;
    assert_eq!(events.len(), events_before + 1, "one event for the batch");
    let e = &events.last().unwrap().event;
    assert_eq!(e.event_type, EventType::SealBatchRegistered);
    assert_eq!(e.actor, VENDOR_OPS);
    assert_eq!(e.data["treeSize"], json!(3));
    assert_eq!(e.data["lines"], json!(11));
    assert_eq!(e.data["merkleRoot"], json!(outcome.root.clone().unwrap()));
    let reported: Vec<(u64, String)> = e.data["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reasonCode"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(reported.len(), 8);
    assert_eq!(reported[3], (5, "clone_suspected".to_owned()));
    let clones = e.data["cloneSuspicions"].as_array().unwrap();
    assert_eq!(clones.len(), 2);
    assert_eq!(clones[0]["line"], json!(5));
    assert_eq!(clones[0]["details"]["registeredUid"], json!("SEAL-STORED"));
    assert_eq!(clones[1]["line"], json!(9));
    assert_eq!(clones[1]["details"]["registeredUid"], json!("SEAL-G1"));
    assert_eq!(
        outcome.event_sequence,
        Some(events.last().unwrap().sequence)
    );

    // The registered seals are usable like any other: a lot is inspected with one.
    env.reg
        .record_inspection(&env.inspect_cmd("LOT-B1", "SEAL-G2"), INSPECTOR)
        .await
        .unwrap();
    env.assert_gapless().await;
}

/// `atomic`: one refused line and nothing is registered; the report still names the line.
async fn atomic_batch_refuses_everything(db: TestDb) {
    let env = Env::new(&db).await;
    let mut bad = env.register_cmd("SEAL-BAD", &env.device(ED), Bal::Bal2);
    bad.firmware_measurement = other_firmware();
    let lines = vec![
        line(&env.register_cmd("SEAL-A1", &env.device(ED), Bal::Bal2)),
        line(&env.register_cmd("SEAL-A2", &env.device(ED), Bal::Bal2)),
        line(&bad),
    ];
    let before = env.snapshot().await;
    let outcome = env
        .reg
        .register_batch(&manifest(&lines), BatchMode::Atomic, VENDOR_OPS)
        .await
        .unwrap();
    assert!(outcome.accepted.is_empty());
    assert_eq!(outcome.batch_id, None);
    assert_eq!(outcome.refused.len(), 1);
    assert_eq!(outcome.refused[0].line, 3);
    assert_eq!(outcome.refused[0].refusal.code(), "firmware_not_allowed");
    assert_same_snapshot(&before, &env.snapshot().await, "a refused atomic batch");

    // Without the bad line, the same manifest registers atomically.
    let outcome = env
        .reg
        .register_batch(&manifest(&lines[..2]), BatchMode::Atomic, VENDOR_OPS)
        .await
        .unwrap();
    assert_eq!(outcome.accepted.len(), 2);
    assert!(outcome.refused.is_empty());
    env.seal("SEAL-A1").await;
    env.seal("SEAL-A2").await;
    env.assert_gapless().await;
}

/// Every item is retrievable and proves against the root the audited event states; a
/// tampered item or a proof for another index does not verify.
async fn one_event_proves_every_item(db: TestDb) {
    let env = Env::new(&db).await;
    let lines: Vec<String> = (0..7)
        .map(|i| line(&env.register_cmd(&format!("SEAL-P{i}"), &env.device(ED), Bal::Bal2)))
        .collect();
    let outcome = env
        .reg
        .register_batch(&manifest(&lines), BatchMode::Partial, VENDOR_OPS)
        .await
        .unwrap();
    let id = outcome.batch_id.clone().unwrap();
    let (batch, event) = env.reg.seal_batch(&id).await.unwrap();
    assert_eq!(batch.items.len(), 7);
    let event = event.unwrap();
    assert_eq!(Some(event.sequence), outcome.event_sequence);
    assert_eq!(event.event.data["merkleRoot"], json!(batch.root));
    for i in 0..7u64 {
        let proof = env.reg.seal_batch_proof(&id, i).await.unwrap();
        verify_item_proof(&proof).unwrap();
        assert_eq!(proof.root, batch.root);
        let item: Value = serde_json::from_str(&proof.item).unwrap();
        assert_eq!(item["batchId"], json!(id));
        assert_eq!(item["index"], json!(i));
        assert_eq!(item["line"], json!(i + 1));
        // The item is the seal record as stored at registration.
        let seal = env.seal(&format!("SEAL-P{i}")).await;
        assert_eq!(item["seal"], serde_json::to_value(&seal).unwrap());
        // The leaf is the exact JCS text.
        assert_eq!(
            cphar_jcs::canonicalize(&item).unwrap(),
            proof.item.as_bytes()
        );

        let mut tampered = proof.clone();
        tampered.item = proof.item.replace("SEAL-P", "SEAL-Q");
        assert!(verify_item_proof(&tampered).is_err());
        let mut moved = proof.clone();
        moved.index = (i + 1) % 7;
        assert!(verify_item_proof(&moved).is_err());
    }
    assert_eq!(
        env.reg.seal_batch_proof(&id, 7).await.unwrap_err().code(),
        "batch_not_found"
    );
    assert_eq!(
        env.reg.seal_batch("batch-none").await.unwrap_err().code(),
        "batch_not_found"
    );
    // The event's audit entry is in the verified log: the root is signed.
    env.assert_gapless().await;
}

/// A manifest beyond the line bound, or without any registration, is refused whole.
async fn oversized_and_empty_manifests_are_refused_whole(db: TestDb) {
    let env = Env::new(&db).await;
    let one = line(&env.register_cmd("SEAL-O", &env.device(ED), Bal::Bal2));
    let too_many = vec![one.clone(); MAX_BATCH_LINES + 1];
    assert_refused!(
        env,
        "batch_too_large",
        env.reg
            .register_batch(&manifest(&too_many), BatchMode::Partial, VENDOR_OPS)
    );
    assert_refused!(
        env,
        "invalid_input",
        env.reg
            .register_batch(b"\n \n\r\n", BatchMode::Partial, VENDOR_OPS)
    );
    // A line over the per-line bound is refused alone.
    let long = format!("{{\"uid\": \"{}\"}}", "x".repeat(70_000));
    let outcome = env
        .reg
        .register_batch(&manifest(&[long, one]), BatchMode::Partial, VENDOR_OPS)
        .await
        .unwrap();
    assert_eq!(outcome.refused.len(), 1);
    assert_eq!(outcome.refused[0].line, 1);
    assert_eq!(outcome.accepted.len(), 1);
    env.assert_gapless().await;
}
