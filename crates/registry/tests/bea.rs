//! BEA credentials: the `eddsa-jcs-2022` proof verifies, and any change to what it covers
//! (subject, issuer, proof options) or the wrong key is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::{Bal, TFP_1, Timestamp};
use cphar_registry::bea::{self, BeaError, BeaSubject};
use serde_json::{Value, json};

const VM: &str = "did:web:reg.example#ea-1";

fn signed(ea: &SigningKey, device: &SigningKey) -> Value {
    let jwk = device.verifying_key().to_jwk();
    let subject = BeaSubject {
        object_did: "did:web:reg.example:lots:LOT-7",
        did_version: 3,
        binding_method: "did:web:reg.example:lots:LOT-7#seal-1",
        device_jwk: &jwk,
        bal: Bal::Bal2,
        enrolled_at: Timestamp::parse("2026-11-23T10:00:00Z").unwrap(),
        vendor: "acme",
        model: "AS-100",
        hardware_revision: "C",
        carrier_class: "bolt-seal",
        carrier_specification: "ISO 17712:2013 H",
        pid: None,
        credential_id: "urn:uuid:4f0c3b8e-8d4e-4c1e-9d7e-1f0b1f3c2a10",
        status: None,
    };
    let unsigned = bea::credential(&subject, "did:web:reg.example").unwrap();
    bea::sign(
        unsigned,
        ea,
        VM,
        Timestamp::parse("2026-11-23T10:00:01Z").unwrap(),
    )
    .unwrap()
}

#[test]
fn carries_the_fields_of_seed_002_enrollment_step_6() {
    let ea = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let device = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let vc = signed(&ea, &device);
    let cs = &vc["credentialSubject"];
    assert_eq!(cs["id"], "did:web:reg.example:lots:LOT-7");
    assert_eq!(cs["didVersionId"], "3");
    assert_eq!(
        cs["deviceJwkThumbprint"],
        json!(device.verifying_key().to_jwk().thumbprint_b64().unwrap())
    );
    assert_eq!(cs["bal"], "BAL-2");
    assert_eq!(cs["enrollmentTimestamp"], "2026-11-23T10:00:00Z");
    assert_eq!(
        cs["device"],
        json!({"vendor": "acme", "model": "AS-100", "hardwareRevision": "C"})
    );
    assert_eq!(cs["trustFramework"], TFP_1);
    assert_eq!(cs["tamperEvidence"]["carrierClass"], "bolt-seal");
    assert_eq!(vc["issuer"], "did:web:reg.example");
    assert_eq!(
        vc["type"],
        json!(["VerifiableCredential", "BindingEnrollmentAttestation"])
    );
    let proof = &vc["proof"];
    assert_eq!(proof["type"], "DataIntegrityProof");
    assert_eq!(proof["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(proof["proofPurpose"], "assertionMethod");
    assert!(proof["proofValue"].as_str().unwrap().starts_with('z'));
}

#[test]
fn proof_verifies_and_matches_an_independent_computation() {
    let ea = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let device = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let vc = signed(&ea, &device);
    bea::verify(&vc, &ea.verifying_key(), VM).unwrap();

    // Recompute hashData per the cryptosuite spec, by hand, and check the signature over it.
    let mut unsecured = vc.as_object().unwrap().clone();
    let mut proof = unsecured
        .shift_remove("proof")
        .unwrap()
        .as_object()
        .unwrap()
        .clone();
    let proof_value = proof.shift_remove("proofValue").unwrap();
    proof.insert("@context".into(), unsecured["@context"].clone());
    let mut hash_data =
        cphar_crypto::sha256(&cphar_jcs::canonicalize(&Value::Object(proof)).unwrap()).to_vec();
    hash_data.extend_from_slice(&cphar_crypto::sha256(
        &cphar_jcs::canonicalize(&Value::Object(unsecured)).unwrap(),
    ));
    let sig = bs58::decode(&proof_value.as_str().unwrap()[1..])
        .into_vec()
        .unwrap();
    assert_eq!(sig.len(), 64);
    ea.verifying_key().verify(&hash_data, &sig).unwrap();
}

#[test]
fn any_change_breaks_the_proof() {
    let ea = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let device = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let vc = signed(&ea, &device);
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "subject BAL",
            Box::new(|v| v["credentialSubject"]["bal"] = json!("BAL-4")),
        ),
        (
            "object DID",
            Box::new(|v| v["credentialSubject"]["id"] = json!("did:web:reg.example:lots:LOT-8")),
        ),
        (
            "issuer",
            Box::new(|v| v["issuer"] = json!("did:web:evil.example")),
        ),
        (
            "proof created",
            Box::new(|v| v["proof"]["created"] = json!("2030-01-01T00:00:00Z")),
        ),
        (
            "context",
            Box::new(|v| {
                v["@context"] = json!(["https://www.w3.org/ns/credentials/v2", "https://x"])
            }),
        ),
        (
            "added member",
            Box::new(|v| v["credentialSubject"]["extra"] = json!(1)),
        ),
    ];
    for (what, edit) in edits {
        let mut tampered = vc.clone();
        edit(&mut tampered);
        assert_eq!(
            bea::verify(&tampered, &ea.verifying_key(), VM),
            Err(BeaError::BadSignature),
            "{what}"
        );
    }
    let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
    assert_eq!(
        bea::verify(&vc, &other.verifying_key(), VM),
        Err(BeaError::BadSignature)
    );
    assert!(matches!(
        bea::verify(&vc, &ea.verifying_key(), "did:web:reg.example#ea-2"),
        Err(BeaError::WrongKey(_))
    ));
    let mut wrong_suite = vc.clone();
    wrong_suite["proof"]["cryptosuite"] = json!("ecdsa-jcs-2019");
    assert!(matches!(
        bea::verify(&wrong_suite, &ea.verifying_key(), VM),
        Err(BeaError::UnsupportedProof(_))
    ));
    let mut not_multibase = vc.clone();
    not_multibase["proof"]["proofValue"] = json!("u0000");
    assert!(matches!(
        bea::verify(&not_multibase, &ea.verifying_key(), VM),
        Err(BeaError::Malformed(_))
    ));
    let mut no_proof = vc;
    no_proof.as_object_mut().unwrap().shift_remove("proof");
    assert!(matches!(
        bea::verify(&no_proof, &ea.verifying_key(), VM),
        Err(BeaError::Malformed(_))
    ));
}

#[test]
fn only_ed25519_keys_sign_beas() {
    let p256 = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let device = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let jwk = device.verifying_key().to_jwk();
    let subject = BeaSubject {
        object_did: "did:web:reg.example:lots:L",
        did_version: 1,
        binding_method: "did:web:reg.example:lots:L#seal-1",
        device_jwk: &jwk,
        bal: Bal::Bal1,
        enrolled_at: Timestamp::parse("2026-11-23T10:00:00Z").unwrap(),
        vendor: "v",
        model: "m",
        hardware_revision: "r",
        carrier_class: "c",
        carrier_specification: "s",
        pid: None,
        credential_id: "urn:uuid:0",
        status: None,
    };
    let unsigned = bea::credential(&subject, "did:web:reg.example").unwrap();
    assert_eq!(
        bea::sign(
            unsigned,
            &p256,
            VM,
            Timestamp::parse("2026-11-23T10:00:00Z").unwrap()
        )
        .unwrap_err(),
        BeaError::KeyType
    );
}
