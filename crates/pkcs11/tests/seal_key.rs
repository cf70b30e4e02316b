//! The seal binding key on a real SoftHSM2 token: generated inside the token, never readable
//! or wrappable, answering challenges that the verification procedure accepts, and gone after
//! the tamper response. Each test runs in its own process against its own fresh token
//! (`cphar_testdata::softhsm`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_pkcs11::{Pkcs11Config, Pkcs11SealKey, SealKeyAlgorithm};
use cphar_protocol::did::{MethodSpec, document_json};
use cphar_protocol::seal::{RevocationAttestation, Seal, SealError, SealKey};
use cphar_protocol::{
    Bal, ChallengeParams, ChallengeRequest, DeviceStatus, DidDocument, RevocationReason, TFP_1,
    Timestamp, VerifierPolicy, verify,
};
use cphar_testdata::softhsm::{FreshToken, run_with_fresh_token};
use zeroize::Zeroizing;

const DID: &str = "did:web:reg.example:lots:LOT-7";

fn config(token: &FreshToken) -> Pkcs11Config {
    Pkcs11Config {
        module: token.module.clone(),
        token_label: token.label.clone(),
        pin: Zeroizing::new(token.pin.clone()),
    }
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Challenges `seal` and runs the seed 002 verification procedure on its answer against a DID
/// document naming `public` (with status signatures advertised); returns the result code.
fn challenge<K: SealKey>(seal: &Seal<K>, public: &cphar_crypto::VerifyingKey) -> String {
    let method = MethodSpec {
        id: format!("{DID}#seal-1"),
        controller: DID.into(),
        jwk: public.to_jwk(),
        bal: Bal::Bal2,
        tfp: Some(TFP_1.into()),
        revoked: None,
        pid: None,
        pbac: None,
        profile_c_risk_acceptance: None,
        status_signature: true,
        max_attestation_interval_seconds: None,
    };
    let document = DidDocument::from_value(document_json(DID, 1, &[method])).unwrap();
    let request = ChallengeRequest::issue(ChallengeParams {
        did: DID.into(),
        did_version: None,
        nonce: cphar_crypto::random_bytes::<32>().unwrap().to_vec(),
        timestamp: t("2026-11-23T10:00:00Z"),
        verifier: "did:web:verifier.example".into(),
        min_bal: None,
        request_pbac: None,
    })
    .unwrap();
    let response = match seal.respond(&request, t("2026-11-23T10:00:01Z")) {
        Ok(response) => response,
        Err(SealError::Sign(_)) => return "no_answer".into(),
        Err(e) => panic!("seal failed: {e}"),
    };
    let outcome = verify(
        &request,
        &response,
        &document,
        &VerifierPolicy::default(),
        t("2026-11-23T10:00:02Z"),
        None,
    );
    outcome.result.as_str().to_owned()
}

fn contained(key: &Pkcs11SealKey) {
    let protection = key.protection().unwrap();
    assert!(protection.is_contained(), "{protection:?}");
    assert!(protection.token && protection.private, "{protection:?}");
    assert!(
        !key.private_value_readable().unwrap(),
        "CKA_VALUE of the seal key returned bytes"
    );
    assert!(
        key.wrapping_refused().unwrap(),
        "the seal key was wrapped out"
    );
}

#[test]
fn ed25519_seal_key_is_contained_and_answers_validly() {
    let Some(token) = run_with_fresh_token("ed25519_seal_key_is_contained_and_answers_validly")
    else {
        return;
    };
    let cfg = config(&token);
    let key = Pkcs11SealKey::generate(&cfg, "SEAL-1", None).unwrap();
    // SoftHSM2 2.6 offers CKM_EC_EDWARDS_KEY_PAIR_GEN: profile A is chosen.
    assert_eq!(key.algorithm(), SealKeyAlgorithm::Ed25519);
    contained(&key);
    let public = SealKey::verifying_key(&key);

    // A second generation under the same label is refused, never a replacement.
    let err = Pkcs11SealKey::generate(&cfg, "SEAL-1", None).unwrap_err();
    assert_eq!(err.reason_code(), "pkcs11_key_exists");

    // Re-opened by label (the agent after a restart): the same key.
    let reopened = Pkcs11SealKey::open(&cfg, "SEAL-1").unwrap();
    assert_eq!(SealKey::verifying_key(&reopened).to_jwk(), public.to_jwk());
    contained(&reopened);

    let seal = Seal::new(reopened, format!("{DID}#seal-1"), Bal::Bal2);
    assert_eq!(challenge(&seal, &public), "valid");
}

#[test]
fn p256_seal_key_is_contained_and_answers_validly() {
    let Some(token) = run_with_fresh_token("p256_seal_key_is_contained_and_answers_validly") else {
        return;
    };
    let cfg = config(&token);
    let key = Pkcs11SealKey::generate(&cfg, "SEAL-2", Some(SealKeyAlgorithm::P256)).unwrap();
    assert_eq!(key.algorithm(), SealKeyAlgorithm::P256);
    contained(&key);
    let public = SealKey::verifying_key(&key);
    let seal = Seal::new(key, format!("{DID}#seal-1"), Bal::Bal2);
    assert_eq!(challenge(&seal, &public), "valid");
}

#[test]
fn tamper_signs_a_revocation_attestation_then_destroys_the_key() {
    let Some(token) =
        run_with_fresh_token("tamper_signs_a_revocation_attestation_then_destroys_the_key")
    else {
        return;
    };
    let cfg = config(&token);
    let key = Pkcs11SealKey::generate(&cfg, "SEAL-3", None).unwrap();
    let public = SealKey::verifying_key(&key);
    let mut seal = Seal::new(key, format!("{DID}#seal-1"), Bal::Bal2);
    assert_eq!(challenge(&seal, &public), "valid");

    seal.set_status(DeviceStatus::Tampered);
    let bra = seal
        .revocation_attestation(
            DID,
            RevocationReason::TamperDetected,
            t("2026-11-23T11:00:00Z"),
        )
        .unwrap();
    let read = RevocationAttestation::verify(&bra, &public).unwrap();
    assert_eq!(read.final_state, DeviceStatus::Tampered);
    seal.key().destroy().unwrap();

    // The key is gone: no signature from this handle, none from a fresh session.
    assert_eq!(
        seal.key().try_sign(b"x").unwrap_err().reason_code(),
        "seal_key_destroyed"
    );
    assert_eq!(challenge(&seal, &public), "no_answer");
    let err = Pkcs11SealKey::open(&cfg, "SEAL-3").unwrap_err();
    assert_eq!(err.reason_code(), "pkcs11_key_not_found");
    // A key generated afresh under the same label is another key: its answers do not
    // verify against the registered one.
    let replacement = Pkcs11SealKey::generate(&cfg, "SEAL-3", None).unwrap();
    let impostor = Seal::new(replacement, format!("{DID}#seal-1"), Bal::Bal2);
    assert_eq!(challenge(&impostor, &public), "invalid_signature");
}
