//! Storage conformance suite: every registry command against a real database, the same test
//! body on SQLite and on PostgreSQL (`sqlite::<name>` / `postgres::<name>`).
//!
//! "Done when": every transition of both state machines (seal: seed 000; binding: seed 002 §7),
//! allowed and refused, has a test; every refusal returns its stable reason code and leaves the
//! database unchanged, checked by reading every row back (`AnyStore::snapshot`) before and
//! after the command.
//!
//! PostgreSQL runs need `CPHAR_TEST_DATABASE_URL` (see `common/mod.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use cphar_crypto::Algorithm;
use cphar_protocol::{Bal, DeviceStatus, DidDocument, ResultCode, RevocationReason};
use cphar_registry::attest::{Answer, AttestationDecision};
use cphar_registry::binding::BindingState;
use cphar_registry::codes::RefusalCode;
use cphar_registry::event::{EventType, RegistryEvent, StoredEvent};
use cphar_registry::model::{AuthorityState, LotState};
use cphar_registry::store::unchecked::{Parts, change_set, parts};
use cphar_registry::store::{Store, StoreError};
use cphar_registry::{RegistryError, SealState};
use cphar_store::{AnyStore, SQLITE_FILE};
use serde_json::{Value, json};
use std::sync::Arc;

const ED: Algorithm = Algorithm::Ed25519;
const P256: Algorithm = Algorithm::EcdsaP256Sha256;

conformance!(
    happy_path_full_lifecycle,
    happy_path_p256_seal,
    registration_refusals,
    clone_suspected_is_recorded_but_nothing_else,
    vendor_attestation_refusals,
    inspection_transitions_and_refusals,
    custody_refusals,
    bind_refusals,
    sign_off_refusals,
    attestation_refusals,
    tamper_report_breaks_the_seal,
    stale_and_silent_lots_leave_the_active_set,
    policy_decides_and_never_rolls_back,
    close_cycle_refusals,
    binding_state_machine_via_attestations,
    revoke_breaking_reasons,
    retire_retiring_reasons,
    revocation_refusals,
    decommission_from_every_live_state,
    decommissioned_lot_refuses_everything,
    rebinding_device_replacement,
    rebinding_binding_upgraded,
    authority_revocation_and_reenrollment,
    authority_refusals,
    did_document_versions,
    events_are_gapless_and_complete,
    concurrent_inspections_and_binds,
    concurrent_sign_offs,
    persistence_across_reopen,
    store_apply_is_atomic,
    active_reserve_listing_order_and_paging,
    reenroll_refused_on_decommissioned_lot,
    expire_reenrollments_not_blocked_by_decommissioned_lot,
    sign_off_refused_to_inspector_of_the_bound_seal,
    installation_settings_are_written_once,
    a_deferred_epoch_opens_at_the_first_event,
    report_inputs_and_report_numbers,
);

// ---------------------------------------------------------------------------------------------
// Helpers

fn kind(err: &RegistryError) -> Option<RefusalCode> {
    match err {
        RegistryError::Refused(r) => Some(r.kind()),
        RegistryError::Store(_) => None,
    }
}

fn types(events: &[StoredEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.event.event_type.as_str()).collect()
}

fn last_of(events: &[StoredEvent], ty: EventType) -> &StoredEvent {
    events
        .iter()
        .rev()
        .find(|e| e.event.event_type == ty)
        .unwrap_or_else(|| panic!("no {ty} event in {:?}", types(events)))
}

fn transition(from: &str, to: &str) -> Value {
    json!({"from": from, "to": to})
}

/// The revocation reason of a method in a parsed DID document (`None` = live).
fn revoked_reason(doc: &DidDocument, method: &str) -> Option<RevocationReason> {
    doc.binding_methods()
        .iter()
        .find(|m| m.id == method)
        .unwrap_or_else(|| panic!("{method} not in DID document {}", doc.id()))
        .revoked
        .map(|r| r.reason)
}

fn method_ids(doc: &DidDocument) -> Vec<String> {
    doc.binding_methods().iter().map(|m| m.id.clone()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Snapshot rows outside the event log.
fn state_rows(snapshot: &[String]) -> Vec<String> {
    snapshot
        .iter()
        .filter(|r| !r.starts_with("events: ") && !r.starts_with("event_head: "))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Happy path

async fn happy_path_full_lifecycle(db: TestDb) {
    let env = Env::new(&db).await;
    let ea = env.ea_key_id();
    assert_eq!(ea, "did:web:reg.example#ea-1");
    let lot = "LOT-0001";
    let did = env.lot_did(lot);

    // Manufactured → Registered.
    let seal1 = env.register("SEAL-1", ED).await;
    let s = env.seal("SEAL-1").await;
    assert_eq!(s.state, SealState::Registered);
    assert_eq!(s.lot_id, None);
    assert_eq!(s.key_thumbprint, seal1.thumbprint());
    assert_eq!(s.public_jwk, seal1.device.jwk);
    assert_eq!(s.certificate.serial, hex(&seal1.device.serial));
    assert!(s.certificate.issuer.contains("Acme Device CA"));
    assert_eq!(s.certificate.chain.len(), 2);
    assert_eq!(s.firmware_measurement, firmware());
    assert_eq!(s.bal, Bal::Bal2);
    env.tick(60);

    // Registered → Inspected; the lot is created Inspected, without a DID document yet.
    let inspection = env.inspect(lot, "SEAL-1").await;
    let s = env.seal("SEAL-1").await;
    assert_eq!(s.state, SealState::Inspected);
    assert_eq!(s.lot_id.as_deref(), Some(lot));
    let l = env.lot(lot).await;
    assert_eq!(l.state, LotState::Inspected);
    assert_eq!(l.did, did);
    assert_eq!(l.inspected_seal.as_deref(), Some("SEAL-1"));
    assert_eq!(l.inspection_id, inspection);
    assert_eq!(l.binding_id, None);
    assert_eq!(l.did_version, 0);
    assert!(!env.is_active(lot).await);
    let inspections = env.store().inspections(lot).await.unwrap();
    assert_eq!(inspections.len(), 1);
    assert_eq!(inspections[0].id, inspection);
    assert_eq!(inspections[0].inspector, INSPECTOR);
    assert_eq!(inspections[0].seal_uid, "SEAL-1");
    assert_eq!(inspections[0].quantity.amount, "400.000");
    assert_eq!(
        env.reg.did_document(lot, None).await.unwrap_err().code(),
        "version_unavailable"
    );
    env.tick(60);

    // Chain of custody between inspection and sealing.
    env.reg
        .record_custody(&env.custody_cmd(lot), "logistics-1")
        .await
        .unwrap();
    env.tick(60);
    let mut stored = env.custody_cmd(lot);
    stored.action = "stored".into();
    env.reg
        .record_custody(&stored, "logistics-1")
        .await
        .unwrap();
    let custody = env.store().custody(lot).await.unwrap();
    assert_eq!(
        custody
            .iter()
            .map(|c| c.action.as_str())
            .collect::<Vec<_>>(),
        ["received", "stored"]
    );
    assert_eq!(custody[0].recorded_by, "logistics-1");
    env.tick(60);

    // Inspected → Sealed; binding Enrolled; lot Bound; DID document version 1; BEA.
    let b = env.bind(lot).await;
    let method1 = env.method_id(lot, 1);
    assert_eq!(b.id, method1);
    assert_eq!(b.number, 1);
    assert_eq!(b.state, BindingState::Enrolled);
    assert_eq!(b.seal_uid, "SEAL-1");
    assert_eq!(b.bound_by, OPERATOR);
    assert_eq!(b.sign_off, None);
    assert_eq!(b.revocation, None);
    assert_eq!(b.authority_key_id, ea);
    assert_eq!(b.public_jwk, seal1.device.jwk);
    assert_eq!(
        env.binding(lot).await,
        b,
        "the stored binding is the one returned"
    );
    assert_eq!(env.seal("SEAL-1").await.state, SealState::Sealed);
    let l = env.lot(lot).await;
    assert_eq!(l.state, LotState::Bound);
    assert_eq!(l.binding_id.as_deref(), Some(method1.as_str()));
    assert_eq!(l.inspected_seal, None);
    assert_eq!(l.did_version, 1);
    assert_eq!(l.binding_count, 1);
    let doc1 = env.did_doc(lot, None).await;
    assert_eq!(doc1.id(), did);
    assert_eq!(doc1.version_id(), "1");
    assert_eq!(method_ids(&doc1), [method1.as_str()]);
    let m = &doc1.binding_methods()[0];
    assert_eq!(m.bal, Bal::Bal2);
    assert_eq!(m.controller, did);
    assert_eq!(m.jwk.to_json(), seal1.device.jwk);
    assert_eq!(m.tfp.as_deref(), Some(cphar_protocol::TFP_1));
    assert!(m.revoked.is_none());
    // The BEA: eddsa-jcs-2022 proof by the EA key, stating this binding.
    cphar_registry::bea::verify(&b.bea, &env.ea_public(), &ea).unwrap();
    let cs = &b.bea["credentialSubject"];
    assert_eq!(cs["id"], json!(did));
    assert_eq!(cs["bindingMethod"], json!(method1));
    assert_eq!(cs["didVersionId"], json!("1"));
    assert_eq!(cs["deviceJwkThumbprint"], json!(seal1.thumbprint()));
    assert_eq!(cs["bal"], json!("BAL-2"));
    assert_eq!(b.bea["issuer"], json!("did:web:reg.example"));
    assert_eq!(b.bea["proof"]["cryptosuite"], json!("eddsa-jcs-2022"));
    let mut forged = b.bea.clone();
    forged["credentialSubject"]["bal"] = json!("BAL-4");
    assert!(cphar_registry::bea::verify(&forged, &env.ea_public(), &ea).is_err());

    // Not in the active reserve set before an independent sign-off.
    assert!(!env.is_active(lot).await);
    env.tick(60);
    let l = env.sign_off(lot).await;
    assert!(l.active);
    assert!(env.is_active(lot).await);
    assert_eq!(env.active_ids().await, [lot]);
    let b = env.binding(lot).await;
    assert_eq!(b.sign_off.as_ref().unwrap().auditor, AUDITOR);
    assert_eq!(b.state, BindingState::Enrolled);
    env.tick(60);

    // Sealed → Attested; binding Enrolled → Active.
    let s = env.attest(lot, &seal1, DeviceStatus::Operational).await;
    assert_eq!(s.state, SealState::Attested);
    assert_eq!(s.last_attested_at, Some(env.now()));
    assert_eq!(env.seal("SEAL-1").await, s);
    assert_eq!(env.binding(lot).await.state, BindingState::Active);
    assert!(env.is_active(lot).await);
    env.tick(3600);

    // A second challenge: Attested → Sealed → Attested; Active → Active.
    env.attest(lot, &seal1, DeviceStatus::Operational).await;
    assert_eq!(env.seal("SEAL-1").await.state, SealState::Attested);
    assert_eq!(env.binding(lot).await.state, BindingState::Active);
    let history = env.reg.seal_history("SEAL-1").await.unwrap();
    let attested = last_of(&history, EventType::SealAttested);
    assert_eq!(
        attested.event.data["sealTransitions"],
        json!([
            transition("attested", "sealed"),
            transition("sealed", "attested")
        ])
    );
    assert_eq!(
        attested.event.data["bindingTransition"],
        transition("active", "active")
    );
    env.tick(60);

    // The cycle closes: Attested → Sealed, still active.
    env.reg.close_cycle(lot, "scheduler").await.unwrap();
    assert_eq!(env.seal("SEAL-1").await.state, SealState::Sealed);
    assert!(env.is_active(lot).await);
    env.tick(60);

    // Tamper: Sealed → Broken, binding Revoked(tamper_detected), lot Unsealed, out of the set.
    env.reg
        .revoke(lot, RevocationReason::TamperDetected, "monitor-1")
        .await
        .unwrap();
    assert_eq!(env.seal("SEAL-1").await.state, SealState::Broken);
    let b = env.bindings(lot).await.remove(0);
    assert_eq!(b.state, BindingState::Revoked);
    assert_eq!(
        b.revocation.map(|r| r.reason),
        Some(RevocationReason::TamperDetected)
    );
    assert_eq!(b.revocation.unwrap().at, env.now());
    let l = env.lot(lot).await;
    assert_eq!(l.state, LotState::Unsealed);
    assert!(!env.is_active(lot).await);
    assert!(env.active_ids().await.is_empty());
    assert_eq!(l.did_version, 2);
    let doc2 = env.did_doc(lot, None).await;
    assert_eq!(doc2.version_id(), "2");
    assert_eq!(
        revoked_reason(&doc2, &method1),
        Some(RevocationReason::TamperDetected)
    );
    // The old version is still there, unchanged.
    let old = env.did_doc(lot, Some(1)).await;
    assert_eq!(old.raw(), doc1.raw());
    assert_eq!(revoked_reason(&old, &method1), None);
    // A verifier now gets revoked_binding.
    let stale = env.challenge(lot, &seal1, DeviceStatus::Operational).await;
    assert_eq!(stale.result, ResultCode::RevokedBinding);
    env.tick(60);

    // Re-inspected with a new seal, bound, signed off: active again under the same DID.
    let seal2 = env.register("SEAL-2", ED).await;
    env.inspect(lot, "SEAL-2").await;
    assert_eq!(env.lot(lot).await.state, LotState::Inspected);
    let b2 = env.bind(lot).await;
    let method2 = env.method_id(lot, 2);
    assert_eq!(b2.id, method2);
    assert!(method2.ends_with("#seal-2"));
    assert_eq!(b2.number, 2);
    assert!(!env.is_active(lot).await);
    env.sign_off(lot).await;
    assert!(env.is_active(lot).await);
    let l = env.lot(lot).await;
    assert_eq!(l.did, did);
    assert_eq!(l.did_version, 3);
    assert_eq!(l.binding_count, 2);
    let doc3 = env.did_doc(lot, None).await;
    assert_eq!(doc3.id(), did);
    assert_eq!(method_ids(&doc3), [method1.clone(), method2.clone()]);
    assert_eq!(
        revoked_reason(&doc3, &method1),
        Some(RevocationReason::TamperDetected)
    );
    assert_eq!(revoked_reason(&doc3, &method2), None);
    cphar_registry::bea::verify(&b2.bea, &env.ea_public(), &ea).unwrap();
    assert_eq!(b2.bea["credentialSubject"]["didVersionId"], json!("3"));
    // And the new seal answers for the lot.
    let s2 = env.attest(lot, &seal2, DeviceStatus::Operational).await;
    assert_eq!(s2.state, SealState::Attested);
    assert_eq!(env.bindings(lot).await.len(), 2);
    env.assert_gapless().await;
}

async fn happy_path_p256_seal(db: TestDb) {
    let env = Env::new(&db).await;
    let seal = env.active_lot("LOT-P256", "SEAL-P256", P256).await;
    let jwk = &env.seal("SEAL-P256").await.public_jwk;
    assert_eq!(jwk["kty"], json!("EC"));
    assert_eq!(jwk["crv"], json!("P-256"));
    let doc = env.did_doc("LOT-P256", None).await;
    assert_eq!(doc.binding_methods()[0].jwk.to_json(), seal.device.jwk);
    env.attest("LOT-P256", &seal, DeviceStatus::Operational)
        .await;
    assert_eq!(env.binding("LOT-P256").await.state, BindingState::Active);
    assert!(env.is_active("LOT-P256").await);
    env.assert_gapless().await;
}

// ---------------------------------------------------------------------------------------------
// 2. Refusals

async fn registration_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    let first = env.register("SEAL-A", ED).await;

    // The same device UID again, with another device or with the same one.
    let other = env.device(ED);
    assert_refused!(
        env,
        "duplicate_device_uid",
        env.reg
            .register_seal(&env.register_cmd("SEAL-A", &other, Bal::Bal2), VENDOR_OPS)
    );
    assert_refused!(
        env,
        "duplicate_device_uid",
        env.reg.register_seal(
            &env.register_cmd("SEAL-A", &first.device, Bal::Bal2),
            VENDOR_OPS
        )
    );

    // Malformed members.
    let fresh = env.device(ED);
    let mut cmd = env.register_cmd("SEAL-X", &fresh, Bal::Bal2);
    cmd.bal = "BAL-9".into();
    assert_refused!(
        env,
        "invalid_input",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    );
    for uid in ["SEAL X", ".", "..", "seal/1"] {
        let cmd = env.register_cmd(uid, &fresh, Bal::Bal2);
        assert_refused!(
            env,
            "invalid_seal_uid",
            env.reg.register_seal(&cmd, VENDOR_OPS)
        );
    }
    let mut cmd = env.register_cmd("SEAL-X", &fresh, Bal::Bal2);
    cmd.uid = "SEAL-X".into();
    cmd.firmware_measurement = format!("md5:{}", "a1".repeat(16));
    assert_refused!(
        env,
        "invalid_input",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    );
    cmd.firmware_measurement = format!("sha256:{}", "A1".repeat(32));
    assert_refused!(
        env,
        "invalid_input",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    );
    let mut cmd = env.register_cmd("SEAL-X", &fresh, Bal::Bal2);
    cmd.public_jwk = json!({"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAA"});
    assert_refused!(
        env,
        "invalid_input",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    );
    let mut cmd = env.register_cmd("SEAL-X", &fresh, Bal::Bal2);
    cmd.tamper_evidence.carrier_class = " ".into();
    assert_refused!(
        env,
        "invalid_input",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    );

    // BAL-3 without its PUF Interface Descriptor.
    let mut cmd = env.register_cmd("SEAL-X", &fresh, Bal::Bal3);
    cmd.pid = None;
    assert_refused!(
        env,
        "bal_requirement_unmet",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    );
    // With it, accepted.
    let cmd = env.register_cmd("SEAL-X", &fresh, Bal::Bal3);
    let s = env.reg.register_seal(&cmd, VENDOR_OPS).await.unwrap();
    assert_eq!(s.bal, Bal::Bal3);
    assert_eq!(s.pid, Some(pid()));
    assert_eq!(env.seal("SEAL-X").await, s);

    // Nothing registered under the refused UIDs.
    assert_eq!(
        env.reg.seal("SEAL X").await.unwrap_err().code(),
        "seal_not_found"
    );
    env.assert_gapless().await;
}

/// Registering a key or a device certificate under a second UID is refused with
/// `clone_suspected`, and the suspicion — only it — is recorded.
async fn clone_suspected_is_recorded_but_nothing_else(db: TestDb) {
    let env = Env::new(&db).await;
    let first = env.register("SEAL-A", ED).await;

    async fn check(env: &Env, uid: &str, device: &Device, duplicate: &str) {
        let before = env.snapshot().await;
        let events_before = env.events().await.len();
        let err = env
            .reg
            .register_seal(&env.register_cmd(uid, device, Bal::Bal2), VENDOR_OPS)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "clone_suspected", "{err}");
        let after = env.snapshot().await;
        assert_same_snapshot(
            &state_rows(&before),
            &state_rows(&after),
            "a clone-suspected registration (outside the event log)",
        );
        let events = env.events().await;
        assert_eq!(
            events.len(),
            events_before + 1,
            "exactly one event recorded"
        );
        let e = &events.last().unwrap().event;
        assert_eq!(e.event_type, EventType::CloneSuspected);
        assert_eq!(e.subject, format!("seal:{uid}"));
        assert_eq!(e.actor, VENDOR_OPS);
        assert_eq!(e.reason_code.as_deref(), Some("clone_suspected"));
        assert_eq!(e.data["presentedUid"], json!(uid));
        assert_eq!(e.data["registeredUid"], json!("SEAL-A"));
        assert_eq!(e.data["duplicate"], json!(duplicate));
        // Beside the new row, only event_head moved.
        let added: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
        let gone: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
        assert_eq!(added.len(), 2, "{added:#?}");
        assert!(added.iter().any(|r| r.starts_with("events: ")));
        assert!(added.iter().any(|r| r.starts_with("event_head: ")));
        assert_eq!(gone.len(), 1, "{gone:#?}");
        assert!(gone[0].starts_with("event_head: "));
        assert_eq!(
            env.reg.seal(uid).await.unwrap_err().code(),
            "seal_not_found"
        );
    }

    // The same key (and certificate) under another UID.
    check(&env, "SEAL-B", &first.device, "key").await;
    // A different key in a certificate with the same issuer and serial: a cloned identity.
    let twin = env.pki.device(ED, &first.device.serial);
    check(&env, "SEAL-C", &twin, "device certificate").await;
    let events = env.reg.seal_history("SEAL-C").await.unwrap();
    assert_eq!(types(&events), ["clone_suspected"]);
    env.assert_gapless().await;
}

async fn vendor_attestation_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    let check = |err: RegistryError| {
        assert_eq!(kind(&err), Some(RefusalCode::VendorAttestationRefused));
    };

    // A chain to a root the vendor configuration does not hold.
    let rogue = Pki::new("Rogue");
    let foreign = rogue.device(ED, &[0x42]);
    check(assert_refused!(
        env,
        "untrusted_root",
        env.reg
            .register_seal(&env.register_cmd("SEAL-R", &foreign, Bal::Bal2), VENDOR_OPS)
    ));

    // Firmware not on the allowlist.
    let device = env.device(ED);
    let mut cmd = env.register_cmd("SEAL-F", &device, Bal::Bal2);
    cmd.firmware_measurement = other_firmware();
    check(assert_refused!(
        env,
        "firmware_not_allowed",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    ));

    // The registered key is not the leaf certificate's key (same and other algorithm).
    let mut cmd = env.register_cmd("SEAL-K", &device, Bal::Bal2);
    cmd.public_jwk = env.device(ED).jwk;
    check(assert_refused!(
        env,
        "leaf_key_mismatch",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    ));
    cmd.public_jwk = env.device(P256).jwk;
    check(assert_refused!(
        env,
        "leaf_key_mismatch",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    ));

    // An unknown vendor.
    let mut cmd = env.register_cmd("SEAL-V", &device, Bal::Bal2);
    cmd.vendor = "other-vendor".into();
    check(assert_refused!(
        env,
        "unknown_vendor",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    ));

    // A chain without the device CA does not reach the root.
    let mut cmd = env.register_cmd("SEAL-C", &device, Bal::Bal2);
    let leaf_only = cmd.certificate_chain_pem.clone();
    let end = "-----END CERTIFICATE-----\n";
    cmd.certificate_chain_pem = leaf_only[..leaf_only.find(end).unwrap() + end.len()].to_owned();
    let err = assert_refused!(
        env,
        "untrusted_root",
        env.reg.register_seal(&cmd, VENDOR_OPS)
    );
    check(err);

    // The evidence itself is fine.
    env.reg
        .register_seal(&env.register_cmd("SEAL-OK", &device, Bal::Bal2), VENDOR_OPS)
        .await
        .unwrap();
    env.assert_gapless().await;
}

async fn inspection_transitions_and_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    env.register("SEAL-A", ED).await;
    env.register("SEAL-B", ED).await;

    assert_refused!(
        env,
        "seal_not_found",
        env.reg
            .record_inspection(&env.inspect_cmd("LOT-1", "NOPE"), INSPECTOR)
    );

    // Malformed members: nothing is created.
    type Tweak = Box<dyn Fn(&mut cphar_registry::decide::RecordInspection) + Send + Sync>;
    let bad_ids: Vec<(&str, Tweak)> = vec![
        ("lot id with space", Box::new(|c| c.lot_id = "LOT 1".into())),
        (
            "lot id with slash",
            Box::new(|c| c.lot_id = "lots/1".into()),
        ),
        ("empty lot id", Box::new(|c| c.lot_id = String::new())),
        ("65-char lot id", Box::new(|c| c.lot_id = "L".repeat(65))),
        ("lot id with é", Box::new(|c| c.lot_id = "LOT-é".into())),
        ("lot id .", Box::new(|c| c.lot_id = ".".into())),
        ("lot id ..", Box::new(|c| c.lot_id = "..".into())),
    ];
    for (what, tweak) in &bad_ids {
        let mut cmd = env.inspect_cmd("LOT-1", "SEAL-A");
        tweak(&mut cmd);
        let err = assert_refused!(
            env,
            "invalid_lot_id",
            env.reg.record_inspection(&cmd, INSPECTOR)
        );
        assert!(!err.to_string().is_empty(), "{what}");
    }
    let bad: Vec<(&str, Tweak)> = vec![
        (
            "quantity 1e3",
            Box::new(|c| c.quantity.amount = "1e3".into()),
        ),
        ("quantity -1", Box::new(|c| c.quantity.amount = "-1".into())),
        ("quantity 1.", Box::new(|c| c.quantity.amount = "1.".into())),
        ("quantity .5", Box::new(|c| c.quantity.amount = ".5".into())),
        (
            "quantity empty",
            Box::new(|c| c.quantity.amount = String::new()),
        ),
        (
            "quantity unit",
            Box::new(|c| c.quantity.unit = "troy oz".into()),
        ),
        (
            "evidence hash hex",
            Box::new(|c| c.evidence.hash = "sha256:xyz".into()),
        ),
        (
            "evidence hash upper",
            Box::new(|c| c.evidence.hash = format!("sha256:{}", "C3".repeat(32))),
        ),
        (
            "evidence hash algorithm",
            Box::new(|c| c.evidence.hash = format!("md5:{}", "c3".repeat(16))),
        ),
        ("evidence uri", Box::new(|c| c.evidence.uri = String::new())),
        ("commodity", Box::new(|c| c.commodity = "  ".into())),
        ("container", Box::new(|c| c.container_id = "C 1".into())),
        (
            "inspected in the future",
            Box::new(|c| c.inspected_at = Some("2030-01-01T00:00:00Z".into())),
        ),
        (
            "inspected at, not RFC 3339",
            Box::new(|c| c.inspected_at = Some("2026-06-01 00:00:00".into())),
        ),
        (
            "inspected at, not UTC",
            Box::new(|c| c.inspected_at = Some("2026-05-01T00:00:00+02:00".into())),
        ),
    ];
    for (what, tweak) in &bad {
        let mut cmd = env.inspect_cmd("LOT-1", "SEAL-A");
        tweak(&mut cmd);
        let err = assert_refused!(
            env,
            "invalid_input",
            env.reg.record_inspection(&cmd, INSPECTOR)
        );
        assert!(!err.to_string().is_empty(), "{what}");
    }

    // A past inspection time is kept.
    let mut cmd = env.inspect_cmd("LOT-1", "SEAL-A");
    cmd.inspected_at = Some("2026-05-31T12:00:00Z".into());
    env.reg.record_inspection(&cmd, INSPECTOR).await.unwrap();
    let i = env.store().inspections("LOT-1").await.unwrap();
    assert_eq!(i[0].inspected_at.to_string(), "2026-05-31T12:00:00Z");
    assert_eq!(i[0].recorded_at, env.now());
    assert_eq!(env.seal("SEAL-A").await.state, SealState::Inspected);

    // The lot awaits SEAL-A: another seal is refused.
    assert_refused!(
        env,
        "seal_lot_mismatch",
        env.reg
            .record_inspection(&env.inspect_cmd("LOT-1", "SEAL-B"), INSPECTOR)
    );
    // SEAL-A is Inspected for LOT-1: it cannot be inspected for another lot.
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg
            .record_inspection(&env.inspect_cmd("LOT-2", "SEAL-A"), INSPECTOR)
    );
    // Re-inspecting LOT-1 with SEAL-A again is allowed and changes no seal state.
    let seal_before = env.seal("SEAL-A").await;
    env.tick(10);
    let second = env.inspect("LOT-1", "SEAL-A").await;
    assert_eq!(env.seal("SEAL-A").await, seal_before);
    assert_eq!(env.lot("LOT-1").await.inspection_id, second);
    assert_eq!(env.store().inspections("LOT-1").await.unwrap().len(), 2);

    // Bound: SEAL-A is Sealed and cannot be inspected again, for this lot or another.
    env.bind("LOT-1").await;
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg
            .record_inspection(&env.inspect_cmd("LOT-2", "SEAL-A"), INSPECTOR)
    );
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg
            .record_inspection(&env.inspect_cmd("LOT-1", "SEAL-A"), INSPECTOR)
    );

    // Broken seals are terminal.
    env.reg
        .revoke("LOT-1", RevocationReason::TamperDetected, OPERATOR)
        .await
        .unwrap();
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg
            .record_inspection(&env.inspect_cmd("LOT-1", "SEAL-A"), INSPECTOR)
    );
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg
            .record_inspection(&env.inspect_cmd("LOT-3", "SEAL-A"), INSPECTOR)
    );
    // Unsealed → Inspected with a fresh seal.
    env.inspect("LOT-1", "SEAL-B").await;
    assert_eq!(env.lot("LOT-1").await.state, LotState::Inspected);
    assert_eq!(env.seal("SEAL-B").await.state, SealState::Inspected);
    assert_eq!(
        env.reg.lot("LOT-2").await.unwrap_err().code(),
        "lot_not_found"
    );
    env.assert_gapless().await;
}

async fn custody_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    env.register("SEAL-A", ED).await;

    assert_refused!(
        env,
        "lot_not_found",
        env.reg.record_custody(&env.custody_cmd("NOPE"), OPERATOR)
    );
    env.inspect("LOT-1", "SEAL-A").await;
    let mut cmd = env.custody_cmd("LOT-1");
    cmd.holder = String::new();
    assert_refused!(env, "invalid_input", env.reg.record_custody(&cmd, OPERATOR));
    let mut cmd = env.custody_cmd("LOT-1");
    cmd.action = "handed over".into();
    assert_refused!(env, "invalid_input", env.reg.record_custody(&cmd, OPERATOR));
    let mut cmd = env.custody_cmd("LOT-1");
    cmd.at = Some("2031-01-01T00:00:00Z".into());
    assert_refused!(env, "invalid_input", env.reg.record_custody(&cmd, OPERATOR));
    cmd.at = Some("yesterday".into());
    assert_refused!(env, "invalid_input", env.reg.record_custody(&cmd, OPERATOR));
    env.reg
        .record_custody(&env.custody_cmd("LOT-1"), OPERATOR)
        .await
        .unwrap();

    // Once sealed, custody is over.
    env.bind("LOT-1").await;
    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg.record_custody(&env.custody_cmd("LOT-1"), OPERATOR)
    );
    // Unsealed (binding revoked, not re-inspected): nothing between inspection and sealing.
    env.reg
        .revoke("LOT-1", RevocationReason::DeviceFailure, OPERATOR)
        .await
        .unwrap();
    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg.record_custody(&env.custody_cmd("LOT-1"), OPERATOR)
    );
    // Re-inspected: custody again.
    env.register("SEAL-B", ED).await;
    env.inspect("LOT-1", "SEAL-B").await;
    env.reg
        .record_custody(&env.custody_cmd("LOT-1"), OPERATOR)
        .await
        .unwrap();
    assert_eq!(env.store().custody("LOT-1").await.unwrap().len(), 2);
    env.assert_gapless().await;
}

async fn bind_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    assert_refused!(env, "lot_not_found", env.reg.bind("NOPE", OPERATOR));

    env.register("SEAL-A", ED).await;
    env.inspect("LOT-1", "SEAL-A").await;
    env.bind("LOT-1").await;
    // Bound: twice is refused.
    assert_refused!(env, "invalid_lot_state", env.reg.bind("LOT-1", OPERATOR));
    // Bound and re-inspected with a new seal: that is a rebinding, not a bind.
    env.register("SEAL-B", ED).await;
    env.inspect("LOT-1", "SEAL-B").await;
    assert_eq!(env.lot("LOT-1").await.state, LotState::Bound);
    assert_refused!(env, "invalid_lot_state", env.reg.bind("LOT-1", OPERATOR));

    // Unsealed: must be re-inspected first.
    env.register("SEAL-C", ED).await;
    env.inspect("LOT-2", "SEAL-C").await;
    env.bind("LOT-2").await;
    env.reg
        .revoke("LOT-2", RevocationReason::KeyCompromise, OPERATOR)
        .await
        .unwrap();
    assert_refused!(env, "invalid_lot_state", env.reg.bind("LOT-2", OPERATOR));

    // No Enrollment Authority key: no BEA, no binding.
    let keyless = Env::without_authority(db.open().await);
    keyless.register("SEAL-D", ED).await;
    keyless.inspect("LOT-3", "SEAL-D").await;
    assert_refused!(
        keyless,
        "authority_unavailable",
        keyless.reg.bind("LOT-3", OPERATOR)
    );
    assert_eq!(keyless.seal("SEAL-D").await.state, SealState::Inspected);
    env.assert_gapless().await;
}

async fn sign_off_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    assert_refused!(env, "lot_not_found", env.reg.sign_off("NOPE", AUDITOR));
    env.register("SEAL-A", ED).await;
    env.inspect("LOT-1", "SEAL-A").await;
    // Never bound.
    assert_refused!(env, "binding_not_found", env.reg.sign_off("LOT-1", AUDITOR));
    env.bind("LOT-1").await;

    // Separation of duties: neither the operator who bound nor the inspector.
    assert_refused!(
        env,
        "separation_of_duties",
        env.reg.sign_off("LOT-1", OPERATOR)
    );
    assert_refused!(
        env,
        "separation_of_duties",
        env.reg.sign_off("LOT-1", INSPECTOR)
    );
    assert!(!env.is_active("LOT-1").await);
    env.sign_off("LOT-1").await;
    assert!(env.is_active("LOT-1").await);
    assert_refused!(
        env,
        "already_signed_off",
        env.reg.sign_off("LOT-1", "auditor-2")
    );
    assert_refused!(
        env,
        "already_signed_off",
        env.reg.sign_off("LOT-1", AUDITOR)
    );

    // A revoked binding cannot be approved.
    env.register("SEAL-B", ED).await;
    env.inspect("LOT-2", "SEAL-B").await;
    env.bind("LOT-2").await;
    env.reg
        .revoke("LOT-2", RevocationReason::TamperDetected, OPERATOR)
        .await
        .unwrap();
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg.sign_off("LOT-2", AUDITOR)
    );
    assert!(!env.is_active("LOT-2").await);
    env.assert_gapless().await;
}

/// Answers that verify nothing change nothing but their record; each challenge is answered
/// once; a stale or unknown challenge is refused and changes nothing.
async fn attestation_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    let seal_a = env.active_lot("LOT-A", "SEAL-A", ED).await;
    let _seal_b = env.active_lot("LOT-B", "SEAL-B", ED).await;

    // Another key answers: invalid_signature, recorded, the seal untouched, the challenge spent.
    let impostor = TestSeal {
        device: env.device(ED),
        ..seal_a.clone()
    };
    let (id, body) = env
        .challenge_answer("LOT-A", &impostor, DeviceStatus::Operational)
        .await;
    let before = env.events().await.len();
    let record = env.answer(&id, Answer::Response(&body)).await.unwrap();
    assert_eq!(record.outcome.result, ResultCode::InvalidSignature);
    assert_eq!(record.decision, AttestationDecision::Reject);
    assert!(record.outcome.verified().is_none());
    assert_eq!(env.seal("SEAL-A").await.state, SealState::Sealed);
    assert!(env.is_active("LOT-A").await);
    let events = env.events().await;
    assert_eq!(types(&events[before..]), ["verification_recorded"]);
    assert_eq!(
        events[before].event.reason_code.as_deref(),
        Some("signature_mismatch")
    );
    // The same challenge again (even with a genuine answer): refused, nothing written.
    let (_, genuine) = env
        .challenge_answer("LOT-A", &seal_a, DeviceStatus::Operational)
        .await;
    assert_refused!(
        env,
        "challenge_used_or_expired",
        env.answer(&id, Answer::Response(&genuine))
    );
    // An unknown challenge, and one past its lifetime.
    assert_refused!(
        env,
        "challenge_used_or_expired",
        env.answer("00112233445566778899aabbccddeeff", Answer::NoAnswer)
    );
    let (late, late_body) = env
        .challenge_answer("LOT-A", &seal_a, DeviceStatus::Operational)
        .await;
    env.tick(301);
    assert_refused!(
        env,
        "challenge_used_or_expired",
        env.answer(&late, Answer::Response(&late_body))
    );
    // Garbage is a recorded result, not an error.
    let (id, _) = env
        .challenge_answer("LOT-A", &seal_a, DeviceStatus::Operational)
        .await;
    let record = env
        .answer(&id, Answer::Response(b"{not json"))
        .await
        .unwrap();
    assert_eq!(record.outcome.result, ResultCode::VerificationInconclusive);
    assert_eq!(record.outcome.detail, Some("malformed_response"));
    assert_eq!(env.seal("SEAL-A").await.state, SealState::Sealed);

    // The genuine answer is accepted...
    let s = env
        .attest("LOT-A", &seal_a, DeviceStatus::Operational)
        .await;
    assert_eq!(s.state, SealState::Attested);
    // ...but once the binding is revoked, an answer is a revoked binding: recorded, no change.
    let (id, body) = env
        .challenge_answer("LOT-A", &seal_a, DeviceStatus::Operational)
        .await;
    env.reg
        .revoke("LOT-A", RevocationReason::DeviceFailure, OPERATOR)
        .await
        .unwrap();
    let record = env.answer(&id, Answer::Response(&body)).await.unwrap();
    assert_eq!(record.outcome.result, ResultCode::RevokedBinding);
    assert_eq!(env.seal("SEAL-A").await.state, SealState::Broken);
    env.assert_gapless().await;
}

/// A signed answer reporting `tampered` breaks the seal (seed 002 step 16, seed 000); an
/// unsigned one is only recorded.
async fn tamper_report_breaks_the_seal(db: TestDb) {
    let env = Env::new(&db).await;
    let seal = env.active_lot("LOT-T", "SEAL-T", ED).await;
    env.attest("LOT-T", &seal, DeviceStatus::Operational).await;

    // Someone else's key claiming tamper: its signatures do not verify, recorded, nothing
    // breaks (the method advertises the authenticated status, so the signature decides).
    let impostor = TestSeal {
        device: env.device(ED),
        ..seal.clone()
    };
    let (id, body) = env
        .challenge_answer("LOT-T", &impostor, DeviceStatus::Tampered)
        .await;
    let record = env.answer(&id, Answer::Response(&body)).await.unwrap();
    assert_eq!(record.outcome.detail, Some("signature_mismatch"));
    assert!(record.outcome.tamper_report().is_none());
    assert_eq!(env.seal("SEAL-T").await.state, SealState::Attested);
    assert!(env.is_active("LOT-T").await);

    // The seal itself reports tamper: Broken, binding revoked, out of the set, evidence kept.
    let (id, body) = env
        .challenge_answer("LOT-T", &seal, DeviceStatus::Tampered)
        .await;
    let before = env.events().await.len();
    let record = env.answer(&id, Answer::Response(&body)).await.unwrap();
    assert_eq!(record.outcome.result, ResultCode::VerificationInconclusive);
    assert!(record.outcome.tamper_report().is_some());
    assert!(!record.lot_active);
    assert_eq!(env.seal("SEAL-T").await.state, SealState::Broken);
    assert!(!env.is_active("LOT-T").await);
    let lot = env.lot("LOT-T").await;
    assert_eq!(lot.state, LotState::Unsealed);
    let events = env.events().await;
    let new = &events[before..];
    assert_eq!(
        types(new)[..2],
        ["verification_recorded", "binding_revoked"]
    );
    assert_eq!(new[1].event.reason_code.as_deref(), Some("tamper_detected"));
    let kept = new[0].event.data["tamperReport"]["answer"]
        .as_str()
        .unwrap();
    assert_eq!(kept.as_bytes(), body.as_slice());
    let doc = env.did_doc("LOT-T", None).await;
    assert_eq!(
        revoked_reason(&doc, &env.method_id("LOT-T", 1)),
        Some(RevocationReason::TamperDetected)
    );
    env.assert_gapless().await;
}

/// The active set tells the truth: a lot whose evidence is older than the cadence plus its
/// grace, or whose seal stops answering, leaves it, with a reason; a valid attestation brings
/// it back.
async fn stale_and_silent_lots_leave_the_active_set(db: TestDb) {
    let env = Env::new(&db).await;
    let settings = env.settings();
    let seal = env.active_lot("LOT-S", "SEAL-S", ED).await;
    let other = env.active_lot("LOT-O", "SEAL-O", ED).await;
    // Within the cadence plus grace nothing lapses.
    env.tick(3600 + 15 * 60 - 10);
    env.attest("LOT-O", &other, DeviceStatus::Operational).await;
    assert!(
        env.reg
            .lapse_stale_lots(&settings, "scheduler")
            .await
            .unwrap()
            .is_empty()
    );
    // Past it, only the lot without fresh evidence lapses.
    env.tick(20);
    let lapsed = env
        .reg
        .lapse_stale_lots(&settings, "scheduler")
        .await
        .unwrap();
    assert_eq!(lapsed, ["LOT-S"]);
    let lot = env.lot("LOT-S").await;
    assert!(!lot.active);
    assert_eq!(lot.lapse.unwrap().reason.as_str(), "attestation_overdue");
    assert!(env.is_active("LOT-O").await);
    let events = env.events().await;
    let last = events.last().unwrap();
    assert_eq!(last.event.event_type, EventType::LotLapsed);
    assert_eq!(
        last.event.reason_code.as_deref(),
        Some("attestation_overdue")
    );
    // Once lapsed, nothing more happens; a valid attestation restores it.
    assert!(
        env.reg
            .lapse_stale_lots(&settings, "scheduler")
            .await
            .unwrap()
            .is_empty()
    );
    env.attest("LOT-S", &seal, DeviceStatus::Operational).await;
    let lot = env.lot("LOT-S").await;
    assert!(lot.active && lot.lapse.is_none());
    assert_eq!(
        types(&env.events().await)[events.len()..],
        ["seal_attested", "lot_restored"]
    );

    // A seal that stops answering: the third silent challenge in a row lapses the lot.
    for n in 1..=3u32 {
        assert!(
            env.is_active("LOT-S").await,
            "still active before silence {n}"
        );
        let (id, _) = env
            .challenge_answer("LOT-S", &seal, DeviceStatus::Operational)
            .await;
        let record = env.answer(&id, Answer::NoAnswer).await.unwrap();
        assert_eq!(record.outcome.result, ResultCode::DeviceUnreachable);
        assert_eq!(env.seal("SEAL-S").await.unreachable_streak, n);
    }
    let lot = env.lot("LOT-S").await;
    assert!(!lot.active);
    assert_eq!(lot.lapse.unwrap().reason.as_str(), "device_unreachable");
    assert!(
        !env.reg
            .active_reserve(None, 100)
            .await
            .unwrap()
            .iter()
            .any(|l| l.lot_id == "LOT-S")
    );
    // It answers again: back in the set, the streak reset.
    env.attest("LOT-S", &seal, DeviceStatus::Operational).await;
    assert!(env.is_active("LOT-S").await);
    assert_eq!(env.seal("SEAL-S").await.unreachable_streak, 0);
    env.assert_gapless().await;
}

/// The policy in force decides valid answers: deny records and changes nothing, degrade
/// records and attests; versions never roll back, across registries on one database.
async fn policy_decides_and_never_rolls_back(db: TestDb) {
    let env = Env::new(&db).await;
    let seal = env.active_lot("LOT-G", "SEAL-G", ED).await;
    let policy = |version: u64, effect: &str| {
        cphar_policy::PolicyEngine::from_json(
            &json!({
                "policy_id": "reserve",
                "version": version,
                "rules": [{
                    "id": "copper-rule",
                    "when": {"commodity": "copper cathode"},
                    "effect": effect,
                    "reason_code": format!("copper_{effect}"),
                }],
            })
            .to_string(),
        )
        .unwrap()
    };
    assert!(env.reg.policy_in_force().await.unwrap().is_none());
    let change = env
        .reg
        .install_policy(&policy(1, "deny"), "admin-1")
        .await
        .unwrap();
    assert_eq!(change.old, None);
    let (id, body) = env
        .challenge_answer("LOT-G", &seal, DeviceStatus::Operational)
        .await;
    let record = env.answer(&id, Answer::Response(&body)).await.unwrap();
    assert_eq!(record.outcome.result, ResultCode::Valid);
    assert_eq!(record.decision, AttestationDecision::Deny);
    assert_eq!(record.reason_code(), "copper_deny");
    assert_eq!(env.seal("SEAL-G").await.state, SealState::Sealed);
    let events = env.events().await;
    assert_eq!(
        types(&events)[events.len() - 2..],
        ["verification_recorded", "policy_decision"]
    );

    env.reg
        .install_policy(&policy(2, "degrade"), "admin-1")
        .await
        .unwrap();
    let (id, body) = env
        .challenge_answer("LOT-G", &seal, DeviceStatus::Operational)
        .await;
    let record = env.answer(&id, Answer::Response(&body)).await.unwrap();
    assert_eq!(record.decision, AttestationDecision::Degrade);
    assert_eq!(env.seal("SEAL-G").await.state, SealState::Attested);

    // Anti-rollback, also for a second registry over the same database (another server).
    assert_refused!(
        env,
        "policy_version_not_newer",
        env.reg.install_policy(&policy(2, "allow"), "admin-1")
    );
    let other = env.reopen(db.open().await).await;
    assert_eq!(
        other
            .reg
            .policy_in_force()
            .await
            .unwrap()
            .unwrap()
            .version(),
        2
    );
    assert_refused!(
        other,
        "policy_version_not_newer",
        other.reg.install_policy(&policy(1, "allow"), "admin-1")
    );
    // A server started with an older file keeps the one in force.
    assert_eq!(
        other
            .reg
            .start_with_policy(&policy(1, "allow"), "registry")
            .await
            .unwrap(),
        cphar_registry::policy::StartupPolicy::KeepInForce(cphar_registry::policy::PolicyRef {
            policy_id: "reserve".into(),
            version: 2,
        })
    );
    other
        .reg
        .install_policy(&policy(3, "allow"), "admin-1")
        .await
        .unwrap();
    assert_eq!(
        env.reg.policy_in_force().await.unwrap().unwrap().version(),
        3
    );
    env.assert_gapless().await;
}

async fn close_cycle_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    assert_refused!(
        env,
        "lot_not_found",
        env.reg.close_cycle("NOPE", "scheduler")
    );
    env.register("SEAL-A", ED).await;
    env.inspect("LOT-1", "SEAL-A").await;
    assert_refused!(
        env,
        "binding_not_found",
        env.reg.close_cycle("LOT-1", "scheduler")
    );
    env.bind("LOT-1").await;
    // Sealed: no cycle to close.
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg.close_cycle("LOT-1", "scheduler")
    );
    // Broken: terminal.
    env.reg
        .revoke("LOT-1", RevocationReason::TamperDetected, OPERATOR)
        .await
        .unwrap();
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg.close_cycle("LOT-1", "scheduler")
    );
    // Retired: terminal.
    let seal = env.active_lot("LOT-2", "SEAL-B", ED).await;
    env.attest("LOT-2", &seal, DeviceStatus::Operational).await;
    env.reg
        .retire("LOT-2", RevocationReason::DeviceReplacement, OPERATOR)
        .await
        .unwrap();
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg.close_cycle("LOT-2", "scheduler")
    );
    env.assert_gapless().await;
}

// ---------------------------------------------------------------------------------------------
// Binding lifecycle (seed 002 §7) driven by attestations

async fn binding_state_machine_via_attestations(db: TestDb) {
    let env = Env::new(&db).await;
    let lot = "LOT-D";
    let seal = env.register("SEAL-D", ED).await;
    env.inspect(lot, "SEAL-D").await;
    env.bind(lot).await;

    let step = |from: &'static str, to: &'static str, status: DeviceStatus| {
        let env = &env;
        let seal = &seal;
        async move {
            env.tick(60);
            env.attest(lot, seal, status).await;
            let b = env.binding(lot).await;
            assert_eq!(b.state.as_str(), to);
            let history = env.reg.seal_history("SEAL-D").await.unwrap();
            let e = last_of(&history, EventType::SealAttested);
            assert_eq!(e.event.data["bindingTransition"], transition(from, to));
            assert_eq!(e.event.data["deviceStatus"], json!(status.as_str()));
            assert_eq!(env.seal("SEAL-D").await.state, SealState::Attested);
        }
    };
    // Enrolled → Degraded, before sign-off: not active (no approval), whatever the device says.
    step("enrolled", "degraded", DeviceStatus::Degraded).await;
    assert!(!env.is_active(lot).await);
    env.sign_off(lot).await;
    // Degraded still vouches for the lot: the binding is live and the seal intact.
    assert!(env.is_active(lot).await);
    step("degraded", "degraded", DeviceStatus::Degraded).await;
    step("degraded", "active", DeviceStatus::Operational).await; // the device recovers
    step("active", "active", DeviceStatus::Operational).await;
    step("active", "degraded", DeviceStatus::Degraded).await;
    assert!(env.is_active(lot).await);
    env.reg.close_cycle(lot, "scheduler").await.unwrap();
    assert_eq!(env.seal("SEAL-D").await.state, SealState::Sealed);
    assert_eq!(env.binding(lot).await.state, BindingState::Degraded);
    step("degraded", "active", DeviceStatus::Operational).await;

    // Enrolled → Active without sign-off: attested but still not in the reserve set.
    let other = env.register("SEAL-E", ED).await;
    env.inspect("LOT-E", "SEAL-E").await;
    env.bind("LOT-E").await;
    env.attest("LOT-E", &other, DeviceStatus::Operational).await;
    assert_eq!(env.binding("LOT-E").await.state, BindingState::Active);
    assert!(!env.is_active("LOT-E").await);
    env.sign_off("LOT-E").await;
    assert!(env.is_active("LOT-E").await);
    env.assert_gapless().await;
}

// ---------------------------------------------------------------------------------------------
// 3. Revocation reasons

/// Brings `lot` to: binding `start` (enrolled / active / degraded), seal Sealed (enrolled) or
/// Attested (active, degraded).
async fn lot_in(env: &Env, lot: &str, uid: &str, start: BindingState) -> TestSeal {
    let seal = env.active_lot(lot, uid, ED).await;
    match start {
        BindingState::Enrolled => {}
        BindingState::Active => {
            env.attest(lot, &seal, DeviceStatus::Operational).await;
        }
        BindingState::Degraded => {
            env.attest(lot, &seal, DeviceStatus::Degraded).await;
        }
        other => panic!("cannot start in {other}"),
    }
    assert_eq!(env.binding(lot).await.state, start);
    seal
}

async fn revoke_breaking_reasons(db: TestDb) {
    let env = Env::new(&db).await;
    for reason in [
        RevocationReason::TamperDetected,
        RevocationReason::DeviceFailure,
        RevocationReason::KeyCompromise,
    ] {
        for start in [
            BindingState::Enrolled,
            BindingState::Active,
            BindingState::Degraded,
        ] {
            let lot = format!("LOT-{}-{}", reason.as_str(), start.as_str());
            let uid = format!("SEAL-{}-{}", reason.as_str(), start.as_str());
            lot_in(&env, &lot, &uid, start).await;
            let seal_from = env.seal(&uid).await.state;
            let version = env.lot(&lot).await.did_version;
            let events = env.events().await.len();
            env.tick(60);
            env.reg.revoke(&lot, reason, "monitor-1").await.unwrap();
            assert_eq!(env.events().await.len(), events + 2);

            assert_eq!(env.seal(&uid).await.state, SealState::Broken);
            let b = env.binding(&lot).await;
            assert_eq!(b.state, BindingState::Revoked);
            assert_eq!(b.revocation.map(|r| r.reason), Some(reason));
            let l = env.lot(&lot).await;
            assert_eq!(l.state, LotState::Unsealed);
            assert!(!env.is_active(&lot).await);
            assert_eq!(l.did_version, version + 1);
            let doc = env.did_doc(&lot, None).await;
            assert_eq!(revoked_reason(&doc, &b.id), Some(reason));
            let history = env.reg.lot_history(&lot).await.unwrap();
            let e = last_of(&history, EventType::BindingRevoked);
            assert_eq!(e.event.reason_code.as_deref(), Some(reason.as_str()));
            assert_eq!(e.event.actor, "monitor-1");
            assert_eq!(
                e.event.data["sealTransitions"],
                json!([transition(seal_from.as_str(), "broken")])
            );
            assert_eq!(
                e.event.data["bindingTransition"],
                transition(start.as_str(), "revoked")
            );
            assert_eq!(
                types(&history)[history.len() - 2..],
                ["binding_revoked", "did_document_published"]
            );
        }
    }
    assert!(env.active_ids().await.is_empty());
    env.assert_gapless().await;
}

async fn retire_retiring_reasons(db: TestDb) {
    let env = Env::new(&db).await;
    for reason in [
        RevocationReason::DeviceReplacement,
        RevocationReason::BindingUpgraded,
        RevocationReason::AuthorityRevoked,
    ] {
        for start in [BindingState::Enrolled, BindingState::Active] {
            let lot = format!("LOT-{}-{}", reason.as_str(), start.as_str());
            let uid = format!("SEAL-{}-{}", reason.as_str(), start.as_str());
            lot_in(&env, &lot, &uid, start).await;
            let expected = match env.seal(&uid).await.state {
                SealState::Sealed => json!([transition("sealed", "retired")]),
                SealState::Attested => json!([
                    transition("attested", "sealed"),
                    transition("sealed", "retired")
                ]),
                other => panic!("unexpected {other}"),
            };
            env.tick(60);
            env.reg.retire(&lot, reason, OPERATOR).await.unwrap();
            assert_eq!(env.seal(&uid).await.state, SealState::Retired);
            let b = env.binding(&lot).await;
            assert_eq!(b.state, BindingState::Revoked);
            assert_eq!(b.revocation.map(|r| r.reason), Some(reason));
            assert_eq!(env.lot(&lot).await.state, LotState::Unsealed);
            assert!(!env.is_active(&lot).await);
            let doc = env.did_doc(&lot, None).await;
            assert_eq!(revoked_reason(&doc, &b.id), Some(reason));
            let history = env.reg.lot_history(&lot).await.unwrap();
            let e = last_of(&history, EventType::BindingRevoked);
            assert_eq!(e.event.reason_code.as_deref(), Some(reason.as_str()));
            assert_eq!(e.event.data["sealTransitions"], expected);
        }
    }
    // A Retired seal is terminal: it cannot close another lot.
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg.record_inspection(
            &env.inspect_cmd("LOT-NEW", "SEAL-device_replacement-enrolled"),
            INSPECTOR
        )
    );
    env.assert_gapless().await;
}

async fn revocation_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    assert_refused!(
        env,
        "lot_not_found",
        env.reg
            .revoke("NOPE", RevocationReason::TamperDetected, OPERATOR)
    );
    env.register("SEAL-A", ED).await;
    env.inspect("LOT-1", "SEAL-A").await;
    assert_refused!(
        env,
        "binding_not_found",
        env.reg
            .revoke("LOT-1", RevocationReason::TamperDetected, OPERATOR)
    );
    assert_refused!(
        env,
        "binding_not_found",
        env.reg
            .retire("LOT-1", RevocationReason::DeviceReplacement, OPERATOR)
    );
    env.bind("LOT-1").await;
    env.sign_off("LOT-1").await;

    // object_decommissioned ends the lot: decommission, not revoke or retire.
    assert_refused!(
        env,
        "reason_not_allowed",
        env.reg
            .revoke("LOT-1", RevocationReason::ObjectDecommissioned, OPERATOR)
    );
    for reason in [
        RevocationReason::TamperDetected,
        RevocationReason::DeviceFailure,
        RevocationReason::KeyCompromise,
        RevocationReason::ObjectDecommissioned,
    ] {
        assert_refused!(
            env,
            "reason_not_allowed",
            env.reg.retire("LOT-1", reason, OPERATOR)
        );
    }
    assert!(env.is_active("LOT-1").await);

    env.reg
        .revoke("LOT-1", RevocationReason::TamperDetected, OPERATOR)
        .await
        .unwrap();
    // Revoked is terminal for the binding.
    for reason in [
        RevocationReason::TamperDetected,
        RevocationReason::KeyCompromise,
    ] {
        assert_refused!(
            env,
            "invalid_binding_transition",
            env.reg.revoke("LOT-1", reason, OPERATOR)
        );
    }
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg
            .retire("LOT-1", RevocationReason::DeviceReplacement, OPERATOR)
    );
    env.assert_gapless().await;
}

async fn decommission_from_every_live_state(db: TestDb) {
    let env = Env::new(&db).await;
    assert_refused!(env, "lot_not_found", env.reg.decommission("NOPE", OPERATOR));

    for start in [
        BindingState::Enrolled,
        BindingState::Active,
        BindingState::Degraded,
    ] {
        let lot = format!("LOT-{}", start.as_str());
        let uid = format!("SEAL-{}", start.as_str());
        lot_in(&env, &lot, &uid, start).await;
        let expected = match env.seal(&uid).await.state {
            SealState::Sealed => json!([transition("sealed", "retired")]),
            _ => json!([
                transition("attested", "sealed"),
                transition("sealed", "retired")
            ]),
        };
        let version = env.lot(&lot).await.did_version;
        env.tick(60);
        env.reg.decommission(&lot, "owner-1").await.unwrap();
        let b = env.binding(&lot).await;
        assert_eq!(b.state, BindingState::Decommissioned);
        assert_eq!(
            b.revocation.map(|r| r.reason),
            Some(RevocationReason::ObjectDecommissioned)
        );
        assert_eq!(env.seal(&uid).await.state, SealState::Retired);
        let l = env.lot(&lot).await;
        assert_eq!(l.state, LotState::Decommissioned);
        assert!(!env.is_active(&lot).await);
        assert_eq!(l.did_version, version + 1);
        let doc = env.did_doc(&lot, None).await;
        assert_eq!(
            revoked_reason(&doc, &b.id),
            Some(RevocationReason::ObjectDecommissioned)
        );
        let history = env.reg.lot_history(&lot).await.unwrap();
        let e = last_of(&history, EventType::LotDecommissioned);
        assert_eq!(
            e.event.reason_code.as_deref(),
            Some("object_decommissioned")
        );
        assert_eq!(e.event.data["sealTransitions"], expected);
        assert_eq!(e.event.data["previousState"], json!("bound"));
    }

    // An Unsealed lot (binding already revoked) can be decommissioned: no binding changes.
    env.active_lot("LOT-U", "SEAL-U", ED).await;
    env.reg
        .revoke("LOT-U", RevocationReason::TamperDetected, OPERATOR)
        .await
        .unwrap();
    let before = env.binding("LOT-U").await;
    env.reg.decommission("LOT-U", "owner-1").await.unwrap();
    assert_eq!(env.binding("LOT-U").await, before);
    assert_eq!(env.lot("LOT-U").await.state, LotState::Decommissioned);
    assert_eq!(env.seal("SEAL-U").await.state, SealState::Broken);

    // A lot waiting for its seal cannot be decommissioned.
    env.register("SEAL-W", ED).await;
    env.inspect("LOT-W", "SEAL-W").await;
    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg.decommission("LOT-W", "owner-1")
    );
    env.assert_gapless().await;
}

async fn decommissioned_lot_refuses_everything(db: TestDb) {
    let env = Env::new(&db).await;
    let lot = "LOT-END";
    let seal = env.active_lot(lot, "SEAL-1", ED).await;
    let (stale, stale_body) = env
        .challenge_answer(lot, &seal, DeviceStatus::Operational)
        .await;
    env.reg.decommission(lot, "owner-1").await.unwrap();
    env.register("SEAL-2", ED).await;

    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg
            .record_inspection(&env.inspect_cmd(lot, "SEAL-2"), INSPECTOR)
    );
    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg.record_custody(&env.custody_cmd(lot), OPERATOR)
    );
    assert_refused!(env, "invalid_lot_state", env.reg.bind(lot, OPERATOR));
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg.sign_off(lot, "auditor-2")
    );
    // An answer to a challenge issued before: the method is revoked, nothing changes.
    let record = env
        .answer(&stale, Answer::Response(&stale_body))
        .await
        .unwrap();
    assert_eq!(record.outcome.result, ResultCode::RevokedBinding);
    assert_eq!(env.seal("SEAL-1").await.state, SealState::Retired);
    assert_refused!(
        env,
        "invalid_seal_transition",
        env.reg.close_cycle(lot, "scheduler")
    );
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg
            .revoke(lot, RevocationReason::TamperDetected, OPERATOR)
    );
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg
            .retire(lot, RevocationReason::DeviceReplacement, OPERATOR)
    );
    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg
            .rebind(lot, RevocationReason::DeviceReplacement, OPERATOR)
    );
    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg.decommission(lot, "owner-1")
    );
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg.reenroll(lot, OPERATOR)
    );
    env.assert_gapless().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Rebinding

async fn rebinding_device_replacement(db: TestDb) {
    let env = Env::new(&db).await;
    let lot = "LOT-R";
    let old = env.active_lot(lot, "SEAL-R1", ED).await;
    env.attest(lot, &old, DeviceStatus::Operational).await;
    let did = env.lot(lot).await.did;
    let version = env.lot(lot).await.did_version;

    // Not re-inspected: nothing to rebind to.
    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg
            .rebind(lot, RevocationReason::DeviceReplacement, OPERATOR)
    );
    let new = env.register("SEAL-R2", ED).await;
    env.tick(60);
    env.inspect(lot, "SEAL-R2").await;
    // Re-inspection alone leaves the lot bound and in the set.
    assert_eq!(env.lot(lot).await.state, LotState::Bound);
    assert!(env.is_active(lot).await);
    // Only the rebinding reasons.
    for reason in [
        RevocationReason::TamperDetected,
        RevocationReason::DeviceFailure,
        RevocationReason::KeyCompromise,
        RevocationReason::AuthorityRevoked,
        RevocationReason::ObjectDecommissioned,
    ] {
        assert_refused!(
            env,
            "reason_not_allowed",
            env.reg.rebind(lot, reason, OPERATOR)
        );
    }
    env.tick(60);
    let b2 = env
        .reg
        .rebind(lot, RevocationReason::DeviceReplacement, OPERATOR)
        .await
        .unwrap();

    assert_eq!(b2.id, env.method_id(lot, 2));
    assert_eq!(b2.state, BindingState::Enrolled);
    assert_eq!(b2.seal_uid, "SEAL-R2");
    assert_eq!(b2.sign_off, None);
    cphar_registry::bea::verify(&b2.bea, &env.ea_public(), &env.ea_key_id()).unwrap();
    let all = env.bindings(lot).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, env.method_id(lot, 1));
    assert_eq!(all[0].state, BindingState::Revoked);
    assert_eq!(
        all[0].revocation.map(|r| r.reason),
        Some(RevocationReason::DeviceReplacement)
    );
    assert_eq!(all[1], b2);
    assert_eq!(env.seal("SEAL-R1").await.state, SealState::Retired);
    assert_eq!(env.seal("SEAL-R2").await.state, SealState::Sealed);
    let l = env.lot(lot).await;
    assert_eq!(l.did, did);
    assert_eq!(l.state, LotState::Bound);
    assert_eq!(l.binding_id.as_deref(), Some(b2.id.as_str()));
    assert_eq!(l.inspected_seal, None);
    assert_eq!(l.did_version, version + 1);
    // The new binding awaits an independent sign-off.
    assert!(!env.is_active(lot).await);
    let doc = env.did_doc(lot, None).await;
    assert_eq!(method_ids(&doc), [all[0].id.clone(), b2.id.clone()]);
    assert_eq!(
        revoked_reason(&doc, &all[0].id),
        Some(RevocationReason::DeviceReplacement)
    );
    assert_eq!(revoked_reason(&doc, &b2.id), None);
    let history = env.reg.lot_history(lot).await.unwrap();
    let e = last_of(&history, EventType::BindingRevoked);
    assert_eq!(
        e.event.data["sealTransitions"],
        json!([
            transition("attested", "sealed"),
            transition("sealed", "retired")
        ])
    );
    assert_eq!(
        types(&history)[history.len() - 3..],
        ["binding_revoked", "did_document_published", "seal_bound"]
    );
    let seal_bound: Vec<_> = history
        .iter()
        .filter(|e| e.event.event_type == EventType::SealBound)
        .map(|e| e.event.data["sealUid"].clone())
        .collect();
    assert_eq!(seal_bound, [json!("SEAL-R1"), json!("SEAL-R2")]);

    // The inspector of the re-inspection may not approve; an auditor may.
    assert_refused!(
        env,
        "separation_of_duties",
        env.reg.sign_off(lot, INSPECTOR)
    );
    env.sign_off(lot).await;
    assert!(env.is_active(lot).await);
    env.attest(lot, &new, DeviceStatus::Operational).await;
    // The old seal's answer is now a revoked binding.
    let old_answer = env.challenge(lot, &old, DeviceStatus::Operational).await;
    assert_ne!(old_answer.result, ResultCode::Valid);
    // A rebinding on a lot whose binding is already gone is refused.
    env.reg
        .revoke(lot, RevocationReason::TamperDetected, OPERATOR)
        .await
        .unwrap();
    env.register("SEAL-R3", ED).await;
    env.inspect(lot, "SEAL-R3").await;
    assert_refused!(
        env,
        "invalid_lot_state",
        env.reg
            .rebind(lot, RevocationReason::DeviceReplacement, OPERATOR)
    );
    env.assert_gapless().await;
}

async fn rebinding_binding_upgraded(db: TestDb) {
    let env = Env::new(&db).await;
    let lot = "LOT-UP";
    env.active_lot(lot, "SEAL-BAL2", ED).await;
    assert_eq!(env.binding(lot).await.bal, Bal::Bal2);

    // Same BAL: not an upgrade.
    env.register_bal("SEAL-BAL2b", ED, Bal::Bal2).await;
    env.inspect(lot, "SEAL-BAL2b").await;
    assert_refused!(
        env,
        "reason_not_allowed",
        env.reg
            .rebind(lot, RevocationReason::BindingUpgraded, OPERATOR)
    );
    // Lower BAL: not an upgrade either.
    env.register_bal("SEAL-BAL1", ED, Bal::Bal1).await;
    env.inspect(lot, "SEAL-BAL1").await;
    assert_refused!(
        env,
        "reason_not_allowed",
        env.reg
            .rebind(lot, RevocationReason::BindingUpgraded, OPERATOR)
    );
    // Higher BAL (with its PID): accepted.
    env.register_bal("SEAL-BAL3", ED, Bal::Bal3).await;
    env.inspect(lot, "SEAL-BAL3").await;
    let b = env
        .reg
        .rebind(lot, RevocationReason::BindingUpgraded, OPERATOR)
        .await
        .unwrap();
    assert_eq!(b.bal, Bal::Bal3);
    assert_eq!(b.bea["credentialSubject"]["pid"], pid());
    let all = env.bindings(lot).await;
    assert_eq!(
        all[0].revocation.map(|r| r.reason),
        Some(RevocationReason::BindingUpgraded)
    );
    assert_eq!(env.seal("SEAL-BAL2").await.state, SealState::Retired);
    let doc = env.did_doc(lot, None).await;
    let m = doc.binding_methods().iter().find(|m| m.id == b.id).unwrap();
    assert_eq!(m.bal, Bal::Bal3);
    assert_eq!(m.pid, Some(pid()));
    assert_eq!(
        revoked_reason(&doc, &all[0].id),
        Some(RevocationReason::BindingUpgraded)
    );
    env.sign_off(lot).await;
    assert!(env.is_active(lot).await);
    env.assert_gapless().await;
}

// ---------------------------------------------------------------------------------------------
// 5. Enrollment Authority revocation (TFP-1 §B.2)

async fn authority_revocation_and_reenrollment(db: TestDb) {
    let env = Env::new(&db).await;
    let old_ea = env.ea_key_id();
    let old_public = env.ea_public();
    env.active_lot("LOT-A", "SEAL-A", ED).await;
    env.active_lot("LOT-B", "SEAL-B", ED).await;
    // Bound, not signed off: affected all the same.
    env.register("SEAL-C", ED).await;
    env.inspect("LOT-C", "SEAL-C").await;
    env.bind("LOT-C").await;
    // Already revoked: not affected.
    env.active_lot("LOT-D", "SEAL-D", ED).await;
    env.reg
        .revoke("LOT-D", RevocationReason::TamperDetected, OPERATOR)
        .await
        .unwrap();
    let d_before = env.binding("LOT-D").await;
    let events = env.events().await.len();

    let new_ea = env.rotate_authority().await.unwrap();
    assert_eq!(new_ea, "did:web:reg.example#ea-2");
    // authority_revoked + 3 × binding_suspended + authority_created.
    let log = env.events().await;
    assert_eq!(
        types(&log[events..]),
        [
            "authority_revoked",
            "binding_suspended",
            "binding_suspended",
            "binding_suspended",
            "authority_created"
        ]
    );
    let deadline = env.now().checked_add(time::Duration::days(30)).unwrap();
    let old_record = env.store().authority(&old_ea).await.unwrap().unwrap();
    assert_eq!(old_record.state, AuthorityState::Revoked);
    assert_eq!(old_record.revoked_at, Some(env.now()));
    for lot in ["LOT-A", "LOT-B", "LOT-C"] {
        let b = env.binding(lot).await;
        assert_eq!(b.reenroll_deadline, Some(deadline), "{lot}");
        assert!(!b.bea_valid());
        assert!(b.state.is_live());
        assert!(!env.is_active(lot).await, "{lot} left the active set");
    }
    assert!(env.active_ids().await.is_empty());
    assert_eq!(env.binding("LOT-D").await, d_before);
    let suspended: Vec<String> = env
        .store()
        .suspended_bindings()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.lot_id)
        .collect();
    assert_eq!(suspended, ["LOT-A", "LOT-B", "LOT-C"]);

    // Nothing expires inside the window.
    env.clock.advance(time::Duration::days(10));
    let before = env.snapshot().await;
    assert!(
        env.reg
            .expire_reenrollments("scheduler")
            .await
            .unwrap()
            .is_empty()
    );
    assert_same_snapshot(&before, &env.snapshot().await, "an early expiry run");

    // Re-enrolled within 30 days: back in the set with a BEA by the new key.
    env.reg.reenroll("LOT-A", "owner-1").await.unwrap();
    let a = env.binding("LOT-A").await;
    assert_eq!(a.authority_key_id, new_ea);
    assert_eq!(a.reenroll_deadline, None);
    assert!(env.is_active("LOT-A").await);
    cphar_registry::bea::verify(&a.bea, &env.ea_public(), &new_ea).unwrap();
    assert!(cphar_registry::bea::verify(&a.bea, &old_public, &old_ea).is_err());
    assert_eq!(
        types(&env.reg.lot_history("LOT-A").await.unwrap())
            .last()
            .copied(),
        Some("binding_reenrolled")
    );
    // Not suspended any more.
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg.reenroll("LOT-A", "owner-1")
    );

    // LOT-B and LOT-C are not re-enrolled: past 30 days, refused, then revoked.
    env.clock.advance(time::Duration::days(21));
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg.reenroll("LOT-B", "owner-1")
    );
    let mut expired = env.reg.expire_reenrollments("scheduler").await.unwrap();
    expired.sort();
    assert_eq!(expired, ["LOT-B", "LOT-C"]);
    for (lot, uid) in [("LOT-B", "SEAL-B"), ("LOT-C", "SEAL-C")] {
        let b = env.binding(lot).await;
        assert_eq!(b.state, BindingState::Revoked);
        assert_eq!(
            b.revocation.map(|r| r.reason),
            Some(RevocationReason::AuthorityRevoked)
        );
        assert_eq!(b.reenroll_deadline, None);
        assert_eq!(env.seal(uid).await.state, SealState::Retired);
        assert_eq!(env.lot(lot).await.state, LotState::Unsealed);
        let doc = env.did_doc(lot, None).await;
        assert_eq!(
            revoked_reason(&doc, &b.id),
            Some(RevocationReason::AuthorityRevoked)
        );
        assert_refused!(
            env,
            "invalid_binding_transition",
            env.reg.reenroll(lot, "owner-1")
        );
    }
    assert!(env.store().suspended_bindings().await.unwrap().is_empty());
    assert!(
        env.reg
            .expire_reenrollments("scheduler")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(env.active_ids().await, ["LOT-A"]);
    // New bindings are signed by the new key.
    env.register("SEAL-E", ED).await;
    env.inspect("LOT-E", "SEAL-E").await;
    let e = env.bind("LOT-E").await;
    assert_eq!(e.authority_key_id, new_ea);
    cphar_registry::bea::verify(&e.bea, &env.ea_public(), &new_ea).unwrap();
    env.assert_gapless().await;
}

async fn authority_refusals(db: TestDb) {
    let env = Env::new(&db).await;
    let old = env.ea_key_id();
    env.active_lot("LOT-A", "SEAL-A", ED).await;
    let key = || cphar_crypto::SigningKey::generate(Algorithm::Ed25519).unwrap();
    assert_refused!(
        env,
        "authority_unavailable",
        env.reg
            .revoke_authority("did:web:reg.example#ea-99", key(), VENDOR_OPS)
    );
    // Nothing is suspended: re-enrollment is not a thing yet.
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg.reenroll("LOT-A", "owner-1")
    );
    assert_refused!(env, "lot_not_found", env.reg.reenroll("NOPE", "owner-1"));
    env.rotate_authority().await.unwrap();
    // Twice.
    assert_refused!(
        env,
        "authority_unavailable",
        env.reg.revoke_authority(&old, key(), VENDOR_OPS)
    );
    env.assert_gapless().await;
}

// ---------------------------------------------------------------------------------------------
// 6. DID documents

async fn did_document_versions(db: TestDb) {
    let env = Env::new(&db).await;
    let lot = "LOT-V";
    assert_eq!(
        env.reg.did_document("NOPE", None).await.unwrap_err().code(),
        "version_unavailable"
    );
    env.register("SEAL-1", ED).await;
    env.inspect(lot, "SEAL-1").await;
    for v in [None, Some(0), Some(1)] {
        assert_eq!(
            env.reg.did_document(lot, v).await.unwrap_err().code(),
            "version_unavailable"
        );
    }
    let mut published: Vec<Value> = Vec::new();
    let mut record = |env_doc: Value, expect: u64| {
        let parsed = DidDocument::from_value(env_doc.clone()).unwrap();
        assert_eq!(parsed.version_id(), expect.to_string());
        assert_eq!(parsed.id(), env.lot_did(lot));
        published.push(env_doc);
    };
    env.bind(lot).await; // v1
    record(env.reg.did_document(lot, None).await.unwrap(), 1);
    env.sign_off(lot).await; // no document change
    assert_eq!(env.lot(lot).await.did_version, 1);
    env.reg
        .revoke(lot, RevocationReason::DeviceFailure, OPERATOR)
        .await
        .unwrap(); // v2
    record(env.reg.did_document(lot, None).await.unwrap(), 2);
    env.register("SEAL-2", ED).await;
    env.inspect(lot, "SEAL-2").await;
    env.bind(lot).await; // v3
    record(env.reg.did_document(lot, None).await.unwrap(), 3);
    env.register("SEAL-3", ED).await;
    env.inspect(lot, "SEAL-3").await;
    env.reg
        .rebind(lot, RevocationReason::DeviceReplacement, OPERATOR)
        .await
        .unwrap(); // v4
    record(env.reg.did_document(lot, None).await.unwrap(), 4);
    env.reg.decommission(lot, "owner-1").await.unwrap(); // v5
    record(env.reg.did_document(lot, None).await.unwrap(), 5);
    assert_eq!(env.lot(lot).await.did_version, 5);

    // Every past version, exactly as published.
    for (i, doc) in published.iter().enumerate() {
        let v = i as u64 + 1;
        assert_eq!(&env.reg.did_document(lot, Some(v)).await.unwrap(), doc);
    }
    let methods: Vec<usize> = published
        .iter()
        .map(|d| method_ids(&DidDocument::from_value(d.clone()).unwrap()).len())
        .collect();
    assert_eq!(methods, [1, 1, 2, 3, 3]);
    let last = DidDocument::from_value(published[4].clone()).unwrap();
    assert_eq!(
        last.binding_methods()
            .iter()
            .map(|m| m.revoked.map(|r| r.reason.as_str()))
            .collect::<Vec<_>>(),
        [
            Some("device_failure"),
            Some("device_replacement"),
            Some("object_decommissioned")
        ]
    );
    for v in [0, 6, 1000] {
        assert_refused!(
            env,
            "version_unavailable",
            env.reg.did_document(lot, Some(v))
        );
    }
    // Each publication is an event naming its version.
    let versions: Vec<Value> = env
        .reg
        .lot_history(lot)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event.event_type == EventType::DidDocumentPublished)
        .map(|e| e.event.data["versionId"].clone())
        .collect();
    assert_eq!(
        versions,
        [json!("1"), json!("2"), json!("3"), json!("4"), json!("5")]
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Events

async fn events_are_gapless_and_complete(db: TestDb) {
    let env = Env::new(&db).await;
    let mut n = env.assert_gapless().await;
    assert_eq!(n, 2, "audit_key_epoch, authority_created");
    let mut expect = |env_n: usize, delta: usize, what: &str| {
        assert_eq!(env_n, n + delta, "events after {what}");
        n = env_n;
    };
    let seal = env.register("SEAL-1", ED).await;
    expect(env.assert_gapless().await, 1, "register");
    env.inspect("LOT-1", "SEAL-1").await;
    expect(env.assert_gapless().await, 1, "inspect");
    env.reg
        .record_custody(&env.custody_cmd("LOT-1"), "logistics-1")
        .await
        .unwrap();
    expect(env.assert_gapless().await, 1, "custody");
    let _ = env.reg.bind("NOPE", OPERATOR).await.unwrap_err();
    expect(env.assert_gapless().await, 0, "a refused bind");
    env.bind("LOT-1").await;
    expect(env.assert_gapless().await, 2, "bind");
    let _ = env.reg.sign_off("LOT-1", OPERATOR).await.unwrap_err();
    expect(env.assert_gapless().await, 0, "a refused sign-off");
    env.sign_off("LOT-1").await;
    expect(env.assert_gapless().await, 1, "sign-off");
    env.attest("LOT-1", &seal, DeviceStatus::Operational).await;
    expect(env.assert_gapless().await, 1, "attestation");
    env.reg.close_cycle("LOT-1", "scheduler").await.unwrap();
    expect(env.assert_gapless().await, 1, "close cycle");
    env.reg
        .revoke("LOT-1", RevocationReason::TamperDetected, "monitor-1")
        .await
        .unwrap();
    expect(env.assert_gapless().await, 2, "revoke");

    let lot = env.reg.lot_history("LOT-1").await.unwrap();
    assert_eq!(
        types(&lot),
        [
            "lot_inspected",
            "custody_recorded",
            "did_document_published",
            "seal_bound",
            "binding_signed_off",
            "binding_revoked",
            "did_document_published"
        ]
    );
    let actors: Vec<&str> = lot.iter().map(|e| e.event.actor.as_str()).collect();
    assert_eq!(
        actors,
        [
            INSPECTOR,
            "logistics-1",
            OPERATOR,
            OPERATOR,
            AUDITOR,
            "monitor-1",
            "monitor-1"
        ]
    );
    assert!(lot.iter().all(|e| e.event.subject == "lot:LOT-1"));
    assert!(lot.windows(2).all(|w| w[0].sequence < w[1].sequence));
    let seal_events = env.reg.seal_history("SEAL-1").await.unwrap();
    assert_eq!(
        types(&seal_events),
        [
            "seal_registered",
            "seal_attested",
            "attestation_cycle_closed"
        ]
    );
    assert_eq!(
        seal_events[0].event.data["transition"],
        transition("manufactured", "registered")
    );
    assert_eq!(
        lot[0].event.data["sealTransition"],
        transition("registered", "inspected")
    );
    assert_eq!(
        lot[3].event.data["sealTransition"],
        transition("inspected", "sealed")
    );
    assert_eq!(
        seal_events[2].event.data["transition"],
        transition("attested", "sealed")
    );
    assert!(env.reg.lot_history("NOPE").await.unwrap().is_empty());

    // Paging the log.
    let all = env.events().await;
    let page = env.store().events(3, 2).await.unwrap();
    assert_eq!(page, all[3..5]);
    assert!(env.store().events(n as u64, 10).await.unwrap().is_empty());
    // Every event carries its time and a JSON object of details.
    assert!(all.iter().all(|e| e.event.data.is_object()));
}

// ---------------------------------------------------------------------------------------------
// 8. Concurrency

async fn concurrent_inspections_and_binds(db: TestDb) {
    let env = Arc::new(Env::new(&db).await);
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let env = env.clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            let uid = format!("SEAL-{i}");
            let lot = format!("LOT-{i}");
            let alg = if i % 2 == 0 { ED } else { P256 };
            let device = env.device(alg);
            start.wait().await;
            env.reg
                .register_seal(&env.register_cmd(&uid, &device, Bal::Bal2), VENDOR_OPS)
                .await?;
            env.reg
                .record_inspection(&env.inspect_cmd(&lot, &uid), INSPECTOR)
                .await?;
            env.reg
                .record_custody(&env.custody_cmd(&lot), "logistics-1")
                .await?;
            env.reg.bind(&lot, OPERATOR).await?;
            env.reg.sign_off(&lot, AUDITOR).await?;
            Ok::<_, RegistryError>(lot)
        }));
    }
    let mut lots = Vec::new();
    for t in tasks {
        lots.push(t.await.unwrap().unwrap());
    }
    lots.sort();
    assert_eq!(env.active_ids().await, lots);
    let n = env.assert_gapless().await;
    assert_eq!(n, 2 + 8 * 6, "epoch, authority, then six events per lot");
    for lot in &lots {
        assert_eq!(env.lot(lot).await.did_version, 1);
        assert_eq!(env.reg.lot_history(lot).await.unwrap().len(), 5);
    }
}

async fn concurrent_sign_offs(db: TestDb) {
    let env = Arc::new(Env::new(&db).await);
    for i in 0..4 {
        let lot = format!("LOT-{i}");
        env.register(&format!("SEAL-{i}"), ED).await;
        env.inspect(&lot, &format!("SEAL-{i}")).await;
        env.bind(&lot).await;
    }
    for i in 0..4 {
        let lot = format!("LOT-{i}");
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for auditor in ["auditor-1", "auditor-2"] {
            let env = env.clone();
            let lot = lot.clone();
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                (auditor, env.reg.sign_off(&lot, auditor).await)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (auditor, result) = t.await.unwrap();
            match result {
                Ok(l) => {
                    assert!(l.active);
                    winners.push(auditor);
                }
                Err(e) => assert!(
                    matches!(e.code(), "already_signed_off" | "conflict"),
                    "unexpected refusal {e}"
                ),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one sign-off of {lot} wins");
        let b = env.binding(&lot).await;
        assert_eq!(b.sign_off.unwrap().auditor, winners[0]);
        let signed = env
            .reg
            .lot_history(&lot)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.event.event_type == EventType::BindingSignedOff)
            .count();
        assert_eq!(signed, 1);
    }
    env.assert_gapless().await;
}

// ---------------------------------------------------------------------------------------------
// 9. Persistence

async fn persistence_across_reopen(db: TestDb) {
    let env = Env::new(&db).await;
    let seal = env.active_lot("LOT-P1", "SEAL-P1", ED).await;
    env.attest("LOT-P1", &seal, DeviceStatus::Operational).await;
    env.active_lot("LOT-P2", "SEAL-P2", P256).await;
    env.reg
        .revoke("LOT-P2", RevocationReason::TamperDetected, OPERATOR)
        .await
        .unwrap();
    env.register("SEAL-P3", ED).await;
    env.inspect("LOT-P3", "SEAL-P3").await;
    env.reg
        .record_custody(&env.custody_cmd("LOT-P3"), "logistics-1")
        .await
        .unwrap();
    let before = env.snapshot().await;
    let n = env.assert_gapless().await;
    env.store().close().await;

    // Re-open twice: the migrations are not re-applied, nothing is lost or duplicated.
    let again = db.open_plain().await;
    assert_same_snapshot(&before, &again.snapshot().await.unwrap(), "re-opening");
    again.close().await;
    let store = db.open_plain().await;
    assert_same_snapshot(
        &before,
        &store.snapshot().await.unwrap(),
        "re-opening twice",
    );
    if let TestDb::Sqlite(dir) = &db {
        // The same file through a URL.
        let path = dir.join(SQLITE_FILE);
        let by_url = AnyStore::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        assert_eq!(by_url.backend_name(), "sqlite");
        assert_same_snapshot(&before, &by_url.snapshot().await.unwrap(), "opening by URL");
        by_url.close().await;
    } else {
        assert_eq!(store.backend_name(), "postgres");
    }
    // The EA key is found again (no new authority record).
    let env2 = env.reopen(store).await;
    assert_same_snapshot(&before, &env2.snapshot().await, "re-installing the EA key");

    // Everything reads back.
    assert_eq!(env2.seal("SEAL-P1").await.state, SealState::Attested);
    assert_eq!(env2.seal("SEAL-P2").await.state, SealState::Broken);
    assert_eq!(env2.seal("SEAL-P3").await.state, SealState::Inspected);
    assert_eq!(env2.lot("LOT-P2").await.state, LotState::Unsealed);
    assert_eq!(env2.lot("LOT-P3").await.state, LotState::Inspected);
    assert_eq!(env2.active_ids().await, ["LOT-P1"]);
    assert_eq!(env2.binding("LOT-P1").await.state, BindingState::Active);
    assert_eq!(env2.did_doc("LOT-P2", Some(1)).await.version_id(), "1");
    assert_eq!(env2.did_doc("LOT-P2", None).await.version_id(), "2");
    assert_eq!(env2.store().custody("LOT-P3").await.unwrap().len(), 1);
    assert_eq!(env2.store().authorities().await.unwrap().len(), 1);
    assert_eq!(
        types(&env2.reg.seal_history("SEAL-P1").await.unwrap()),
        ["seal_registered", "seal_attested"]
    );
    // And the registry carries on where it stopped, in a new audit epoch.
    common::open_epoch(env2.store()).await;
    env2.bind("LOT-P3").await;
    env2.reg.sign_off("LOT-P3", AUDITOR).await.unwrap();
    assert_eq!(
        env2.assert_gapless().await,
        n + 4,
        "epoch, bind (2), sign-off"
    );
    assert_eq!(env2.active_ids().await, ["LOT-P1", "LOT-P3"]);
    env2.attest("LOT-P1", &seal, DeviceStatus::Operational)
        .await;
}

// ---------------------------------------------------------------------------------------------
// The store contract itself

async fn store_apply_is_atomic(db: TestDb) {
    let env = Env::new(&db).await;
    env.active_lot("LOT-1", "SEAL-1", ED).await;
    let store = env.store();
    let lot = store.lot("LOT-1").await.unwrap().unwrap();
    let seal = store.seal("SEAL-1").await.unwrap().unwrap();
    let event = RegistryEvent {
        event_type: EventType::CustodyRecorded,
        subject: "lot:LOT-1".into(),
        actor: "test".into(),
        at: env.now(),
        reason_code: None,
        data: json!({}),
    };
    let conflict = |r: Result<_, StoreError>| match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    };

    // A fresh change to the lot beside a stale change to the seal: none of it lands.
    let mut newer_lot = lot.clone();
    newer_lot.version += 1;
    newer_lot.grade = "changed".into();
    let mut stale_seal = seal.clone();
    stale_seal.version += 5;
    let before = env.snapshot().await;
    conflict(
        store
            .apply(change_set(Parts {
                lots: vec![newer_lot.clone()],
                seals: vec![stale_seal],
                events: vec![event.clone()],
                ..Parts::default()
            }))
            .await,
    );
    assert_same_snapshot(&before, &env.snapshot().await, "a conflicting change set");

    // Inserting an existing seal (version 1) or a key already held: conflict, nothing lands.
    let mut dup = seal.clone();
    dup.version = 1;
    conflict(
        store
            .apply(change_set(Parts {
                seals: vec![dup.clone()],
                events: vec![event.clone()],
                ..Parts::default()
            }))
            .await,
    );
    dup.uid = "SEAL-OTHER".into();
    conflict(
        store
            .apply(change_set(Parts {
                seals: vec![dup],
                ..Parts::default()
            }))
            .await,
    );
    assert_same_snapshot(&before, &env.snapshot().await, "duplicate inserts");

    // A batch is all or nothing.
    let mut stale_lot = lot.clone();
    stale_lot.version += 3;
    let good = change_set(Parts {
        lots: vec![newer_lot.clone()],
        events: vec![event.clone()],
        ..Parts::default()
    });
    assert!(
        store
            .apply_batch(vec![
                good.clone(),
                change_set(Parts {
                    lots: vec![stale_lot],
                    ..Parts::default()
                })
            ])
            .await
            .is_err()
    );
    assert_same_snapshot(&before, &env.snapshot().await, "a failing batch");

    // The good change applies, with the next sequence numbers; replaying it conflicts.
    let n = env.events().await.len() as u64;
    let mut two = parts(good.clone());
    two.events.push(event.clone());
    let two = change_set(two);
    assert_eq!(store.apply(two).await.unwrap(), [n, n + 1]);
    assert_eq!(store.lot("LOT-1").await.unwrap().unwrap(), newer_lot);
    conflict(store.apply(good).await);
    env.assert_gapless().await;
}

/// `active_reserve` and `lots` list by lot id in one total order (byte order, as the ids are
/// ASCII), and paging with `after` visits every lot once.
async fn active_reserve_listing_order_and_paging(db: TestDb) {
    let env = Env::new(&db).await;
    let ids = [
        "lot-b", "LOT-A", "a_1", "A-2", "Z.9", "0-first", "a-1", "B_3", "b.3",
    ];
    for (i, id) in ids.iter().enumerate() {
        env.active_lot(id, &format!("SEAL-{i}"), ED).await;
    }
    // One lot bound but not signed off: listed in `lots`, not in the active set.
    env.register("SEAL-X", ED).await;
    env.inspect("M-inactive", "SEAL-X").await;
    env.bind("M-inactive").await;

    let mut expected: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    expected.sort(); // byte order

    // Paging with `after` visits every active lot once, in the order of the full listing.
    let listed = env.active_ids().await;
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = env.reg.active_reserve(after.as_deref(), 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = Some(page.last().unwrap().lot_id.clone());
        paged.extend(page.into_iter().map(|l| l.lot_id));
    }
    assert_eq!(
        paged, listed,
        "paging visits every active lot once, in order"
    );
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "exactly the active lots");
    let all: Vec<String> = env
        .store()
        .lots(None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.lot_id)
        .collect();
    assert_eq!(all.len(), ids.len() + 1);
    assert!(all.iter().any(|l| l == "M-inactive"));

    // One order on both backends: byte order, also on PostgreSQL databases whose default
    // collation is linguistic (en_US.UTF-8, ICU), where it would otherwise be
    // ["0-first", "a_1", "a-1", "A-2", …] (the schema pins lot ids to COLLATE "C").
    assert_eq!(listed, expected, "active set in byte order");
    let mut with_inactive = expected.clone();
    with_inactive.push("M-inactive".into());
    with_inactive.sort();
    assert_eq!(all, with_inactive, "all lots in byte order");
}

// ---------------------------------------------------------------------------------------------
// Regressions: bugs this suite once found

/// A lot decommissioned while its binding waits for re-enrollment cannot be re-enrolled (no
/// BEA for a Decommissioned binding).
async fn reenroll_refused_on_decommissioned_lot(db: TestDb) {
    let env = Env::new(&db).await;
    env.active_lot("LOT-1", "SEAL-1", ED).await;
    env.rotate_authority().await.unwrap();
    env.reg.decommission("LOT-1", "owner-1").await.unwrap();
    assert_eq!(
        env.binding("LOT-1").await.state,
        BindingState::Decommissioned
    );
    assert_refused!(
        env,
        "invalid_binding_transition",
        env.reg.reenroll("LOT-1", "owner-1")
    );
}

/// Decommissioning clears a pending re-enrollment, and one ended binding never stops the
/// expiry sweep for the others.
async fn expire_reenrollments_not_blocked_by_decommissioned_lot(db: TestDb) {
    let env = Env::new(&db).await;
    // Binding ids sort as "...lots:EXP-A#seal-1" < "...lots:EXP-B#seal-1".
    env.active_lot("EXP-A", "SEAL-A", ED).await;
    env.active_lot("EXP-B", "SEAL-B", ED).await;
    env.rotate_authority().await.unwrap();
    env.reg.decommission("EXP-A", "owner-1").await.unwrap();
    env.clock.advance(time::Duration::days(31));
    let result = env.reg.expire_reenrollments("scheduler").await;
    let expired = result.unwrap_or_else(|e| panic!("expire_reenrollments failed: {e}"));
    assert_eq!(expired, ["EXP-B"]);
    assert_eq!(env.binding("EXP-B").await.state, BindingState::Revoked);
    let suspended: Vec<String> = env
        .store()
        .suspended_bindings()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.lot_id)
        .collect();
    assert!(suspended.is_empty(), "still suspended: {suspended:?}");
}

/// Separation of duties is checked against the inspection the binding was made from, not the
/// lot's latest one (a re-inspection for a rebinding must not launder the first inspector).
async fn sign_off_refused_to_inspector_of_the_bound_seal(db: TestDb) {
    let env = Env::new(&db).await;
    env.register("SEAL-1", ED).await;
    env.inspect("LOT-1", "SEAL-1").await; // by inspector-1
    env.bind("LOT-1").await;
    // Before the sign-off, another inspector re-inspects the lot with a replacement seal.
    env.register("SEAL-2", ED).await;
    env.reg
        .record_inspection(&env.inspect_cmd("LOT-1", "SEAL-2"), "inspector-2")
        .await
        .unwrap();
    assert_refused!(
        env,
        "separation_of_duties",
        env.reg.sign_off("LOT-1", INSPECTOR)
    );
}

// ---------------------------------------------------------------------------------------------
// Installation settings and deferred epochs

async fn installation_settings_are_written_once(db: TestDb) {
    let store = db.open_plain().await;
    let name = cphar_store::SETTING_DID_HOST;
    assert_eq!(store.setting(name).await.unwrap(), None);
    // Concurrent first starts: exactly one value wins, and every starter learns it.
    let (a, b) = tokio::join!(
        store.init_setting(name, "a.example"),
        store.init_setting(name, "b.example")
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a, b);
    assert!(a == "a.example" || a == "b.example", "{a}");
    // A later start cannot change it, and it survives a reopen.
    assert_eq!(store.init_setting(name, "c.example").await.unwrap(), a);
    store.close().await;
    let store = db.open_plain().await;
    assert_eq!(
        store.setting(name).await.unwrap().as_deref(),
        Some(a.as_str())
    );
    store.close().await;
}

async fn a_deferred_epoch_opens_at_the_first_event(db: TestDb) {
    let store = db.open_plain().await;
    store
        .defer_epoch(cphar_store::EpochJob {
            audit_key: Box::new(
                cphar_crypto::SigningKey::generate(Algorithm::EcdsaP384Sha384).unwrap(),
            ),
            identity: Arc::new(identity_key()),
            start: cphar_audit::EpochStart {
                self_tests: json!({"passed": true, "suite": "conformance tests"}),
                binary_measurement: None,
                started_at: start_time(),
            },
        })
        .await;
    // Nothing written yet: no epoch either.
    assert_eq!(store.audit_head().await.unwrap().0, 0);
    let event = |n: u64| RegistryEvent {
        event_type: EventType::CustodyRecorded,
        subject: "deferred".into(),
        actor: "test".into(),
        at: start_time(),
        reason_code: None,
        data: json!(n),
    };
    // Concurrent first writers: the epoch is opened once, before both events.
    let (a, b) = tokio::join!(
        store.apply(change_set(Parts {
            events: vec![event(1)],
            ..Parts::default()
        })),
        store.apply(change_set(Parts {
            events: vec![event(2)],
            ..Parts::default()
        }))
    );
    let mut seqs = vec![a.unwrap()[0], b.unwrap()[0]];
    seqs.sort_unstable();
    assert_eq!(seqs, vec![1, 2], "the epoch entry is 0, the events follow");
    let entries = store.audit_entries(0, 10).await.unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries[0].1.contains("audit_key_epoch"), "{}", entries[0].1);
    let export: String = entries.iter().map(|(_, l)| format!("{l}\n")).collect();
    cphar_audit::verify_export(export.as_bytes(), Some(&identity_key().verifying_key())).unwrap();
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// Reserve reports

/// What a report reads in one transaction (active lots with their leaf fields, counts by
/// state, the previous report, lots that left since), and report numbers: one report per
/// number, none skipped, one report key.
async fn report_inputs_and_report_numbers(db: TestDb) {
    use cphar_registry::store::{ReportKeyRecord, ReportWrite, StoredReport};
    let env = Env::new(&db).await;
    env.active_lot("LOT-2", "SEAL-2", ED).await;
    env.active_lot("LOT-1", "SEAL-1", ED).await;
    env.register("SEAL-3", ED).await;
    env.inspect("LOT-3", "SEAL-3").await;
    env.bind("LOT-3").await;
    let store = env.store();
    let mut active = Vec::new();
    let inputs = store
        .report_inputs(&mut |row| active.push(row))
        .await
        .unwrap();
    let ids: Vec<&str> = active.iter().map(|r| r.lot.lot_id.as_str()).collect();
    assert_eq!(ids, ["LOT-1", "LOT-2"], "the active set, by lot id");
    let row = &active[0];
    assert_eq!(row.seal_uid.as_deref(), Some("SEAL-1"));
    let (version, document) = row.did_document.as_ref().unwrap();
    assert_eq!(*version, row.lot.did_version);
    assert!(document.contains(&env.lot_did("LOT-1")));
    assert!(row.attestation_entry.is_none(), "never attested");
    assert_eq!(inputs.lots_by_state, [("bound".to_owned(), 3)]);
    assert!(inputs.previous.is_none() && inputs.departed.is_empty());
    assert!(inputs.report_key.is_none());

    let leaf = |id: &str| cphar_report::LotLeaf {
        lot_id: id.into(),
        commodity: "copper cathode".into(),
        grade: "Grade A".into(),
        quantity: "400.000".into(),
        unit: "kg".into(),
        seal_uid: "SEAL".into(),
        did_version_id: 1,
        did_document_hash: format!("sha256:{}", "ab".repeat(32)),
        last_attestation: None,
    };
    let report = |number: u64, leaves: &[&str]| {
        change_set(Parts {
            reports: vec![ReportWrite {
                report: StoredReport {
                    number,
                    jcs: format!("{{\"reportNumber\":{number}}}"),
                    generated_ns: 1,
                    sum_root: "00".repeat(32),
                    rfc9162_root: "11".repeat(32),
                    digest: "22".repeat(32),
                    lot_count: leaves.len() as u64,
                },
                leaves: leaves.iter().map(|id| leaf(id)).collect(),
            }],
            ..Parts::default()
        })
    };
    let conflict = |r: Result<Vec<u64>, StoreError>| match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    };
    // Report 2 before report 1: refused, nothing lands.
    let before = env.snapshot().await;
    conflict(store.apply(report(2, &["LOT-1"])).await);
    assert_same_snapshot(&before, &env.snapshot().await, "a report out of sequence");
    store.apply(report(1, &["LOT-1", "LOT-2"])).await.unwrap();
    // A second report 1 (a concurrent publisher): refused, nothing lands.
    let before = env.snapshot().await;
    conflict(store.apply(report(1, &["LOT-1"])).await);
    assert_same_snapshot(&before, &env.snapshot().await, "a second report 1");
    let stored = store.report(None).await.unwrap().unwrap();
    assert_eq!((stored.number, stored.lot_count), (1, 2));
    assert_eq!(store.report(Some(1)).await.unwrap(), Some(stored.clone()));
    assert_eq!(store.report(Some(2)).await.unwrap(), None);
    let leaves = store.report_leaves(1, Some("LOT-1"), 10).await.unwrap();
    let jcs = String::from_utf8(leaf("LOT-2").to_jcs()).unwrap();
    assert_eq!(leaves, [("LOT-2".to_owned(), jcs)]);

    // LOT-2 leaves the active set: listed as departed from report 1, with its binding.
    env.reg
        .revoke("LOT-2", RevocationReason::TamperDetected, "operator-1")
        .await
        .unwrap();
    let mut active = Vec::new();
    let inputs = store
        .report_inputs(&mut |row| active.push(row.lot.lot_id))
        .await
        .unwrap();
    assert_eq!(active, ["LOT-1"]);
    assert_eq!(inputs.previous, Some(stored));
    let departed: Vec<&str> = inputs
        .departed
        .iter()
        .map(|d| d.lot.lot_id.as_str())
        .collect();
    assert_eq!(departed, ["LOT-2"]);
    let binding = inputs.departed[0].binding.as_ref().unwrap();
    assert_eq!(
        binding.revocation.map(|r| r.reason),
        Some(RevocationReason::TamperDetected)
    );
    assert_eq!(
        cphar_registry::reports::departure_reason(&inputs.departed[0]),
        "tamper_detected"
    );

    // One report key: a second certification conflicts.
    let key = |kid: &str| {
        change_set(Parts {
            report_key: Some(ReportKeyRecord {
                kid: kid.into(),
                public_jwk: "{}".into(),
                certified_ns: 1,
            }),
            ..Parts::default()
        })
    };
    store.apply(key("a")).await.unwrap();
    conflict(store.apply(key("b")).await);
    assert_eq!(store.report_key().await.unwrap().unwrap().kid, "a");
}
