//! Domain separation of what a seal key signs, continuous-attestation freshness and the
//! authenticated device status (`docs/protocol-extensions.md`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

mod common;

use common::*;
use cphar_crypto::SigningKey;
use cphar_protocol::codes::DeviceStatus;
use cphar_protocol::continuous::ContinuousAttestation;
use cphar_protocol::domain::{self, ENVELOPE_PREFIX, SealContext};
use cphar_protocol::seal::{SealError, SoftwareSeal};
use cphar_protocol::{Bal, ChallengeRequest, ChallengeResponse, verify};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn seal_of(s: &Scenario) -> SoftwareSeal {
    let key = SigningKey::from_pkcs8_pem(&s.seal_key.to_pkcs8_pem().unwrap()).unwrap();
    SoftwareSeal::new(key, s.seal_method.clone(), s.seal_bal)
}

fn bal4() -> Scenario {
    let mut s = Scenario::ed25519();
    s.methods = vec![spec(1, &s.seal_key, Bal::Bal4)];
    s.seal_bal = Bal::Bal4;
    s
}

/// The "request" of the issue: the seed's fields plus every member of a continuous
/// attestation, promising the next attestation in the year 9999.
fn forged_request(s: &Scenario) -> ChallengeRequest {
    ChallengeRequest::from_value(json!({
        "did": DID,
        "nonce": cphar_crypto::b64::encode(&[7u8; 32]),
        "timestamp": "2026-11-23T10:00:00Z",
        "verifier": VERIFIER,
        "bindingMethod": s.seal_method,
        "generatedAt": "2026-11-23T10:00:00Z",
        "nextExpectedBy": "9999-12-31T00:00:00Z",
        "sensors": {"temp-1": {"value": 21.0, "unit": "Cel", "withinLimits": true}},
        "events": []
    }))
    .unwrap()
}

/// A continuous attestation signed the CPHAR way (type-tagged envelope).
fn attestation(s: &Scenario, generated: &str, next: &str) -> Value {
    let mut obj = json!({
        "did": DID,
        "bindingMethod": s.seal_method,
        "generatedAt": generated,
        "nextExpectedBy": next,
        "sensors": {"temp-1": {"value": 21.0, "unit": "Cel", "withinLimits": true}},
        "events": []
    })
    .as_object()
    .unwrap()
    .clone();
    cphar_protocol::continuous::seal(&mut obj, |m| {
        Ok::<_, cphar_protocol::signed::SignedObjectError>(s.seal_key.sign(m).unwrap())
    })
    .unwrap();
    Value::Object(obj)
}

fn with_attestation(s: &Scenario, ca: Value) -> cphar_protocol::Outcome {
    s.run_with(move |_, r| {
        r.insert("continuousAttestation".into(), ca);
    })
}

#[test]
fn the_seal_refuses_a_request_carrying_attestation_members() {
    let s = bal4();
    let err = seal_of(&s)
        .respond(&forged_request(&s), s.device_time)
        .unwrap_err();
    assert!(
        matches!(&err, SealError::UnknownRequestMember(m) if m == "bindingMethod"),
        "{err}"
    );
}

#[test]
fn a_challenge_signature_stapled_as_attestation_is_refused() {
    // A seal that follows the seed alone signs the forged request; the attacker turns it
    // into an attestation and staples it onto a later genuine response (the issue's attack).
    let mut s = bal4();
    let forged = forged_request(&s);
    let sig = s.seal_key.sign(forged.canonical_bytes()).unwrap();
    let mut stapled = forged.raw().as_object().unwrap().clone();
    stapled.remove("nonce");
    stapled.remove("timestamp");
    stapled.remove("verifier");
    stapled.insert("signature".into(), json!(cphar_crypto::b64::encode(&sig)));
    // The same bytes would have passed seed 002's plain JCS rule.
    let plain = cphar_protocol::signed::signing_input(&{
        let mut o = stapled.clone();
        o.insert("nonce".into(), forged.raw()["nonce"].clone());
        o.insert("timestamp".into(), forged.raw()["timestamp"].clone());
        o.insert("verifier".into(), json!(VERIFIER));
        o
    })
    .unwrap();
    assert_eq!(plain, forged.canonical_bytes());

    s.params.timestamp = t("2030-06-01T10:00:00Z");
    s.device_time = t("2030-06-01T10:00:01Z");
    s.now = t("2030-06-01T10:00:02Z");
    let o = with_attestation(&s, Value::Object(stapled));
    assert_outcome(
        &o,
        "invalid_signature",
        Some("continuous_attestation_signature"),
    );
}

#[test]
fn continuous_attestation_freshness() {
    let mut s = bal4();
    // Fresh: generated 5 min before the challenge, next due 10 min later.
    let ok = attestation(&s, "2026-11-23T09:55:00Z", "2026-11-23T10:05:00Z");
    assert_outcome(&with_attestation(&s, ok.clone()), "valid", None);

    // Correctly signed, but promising the next one in the year 9999.
    let forever = attestation(&s, "2026-11-23T09:55:00Z", "9999-12-31T00:00:00Z");
    assert_outcome(
        &with_attestation(&s, forever),
        "verification_inconclusive",
        Some("continuous_attestation_interval_exceeded"),
    );
    // Exactly one interval (the default hour) ahead passes; one second more does not.
    let edge = attestation(&s, "2026-11-23T09:55:00Z", "2026-11-23T10:55:00Z");
    assert_outcome(&with_attestation(&s, edge), "valid", None);
    let over = attestation(&s, "2026-11-23T09:55:00Z", "2026-11-23T10:55:01Z");
    assert_outcome(
        &with_attestation(&s, over),
        "verification_inconclusive",
        Some("continuous_attestation_interval_exceeded"),
    );

    // Generated more than one interval before the challenge: stale.
    let stale = attestation(&s, "2026-11-23T08:59:59Z", "2026-11-23T09:30:00Z");
    s.policy.attestation_drift = time::Duration::hours(2); // not what decides here
    assert_outcome(
        &with_attestation(&s, stale),
        "verification_inconclusive",
        Some("continuous_attestation_not_fresh"),
    );
    s.policy.attestation_drift = time::Duration::ZERO;
    // Generated after the challenge beyond the skew tolerance.
    let future = attestation(&s, "2026-11-23T10:05:01Z", "2026-11-23T10:10:00Z");
    assert_outcome(
        &with_attestation(&s, future),
        "verification_inconclusive",
        Some("continuous_attestation_not_fresh"),
    );

    // The method's declared interval wins over the verifier's default.
    s.methods[0].max_attestation_interval_seconds = Some(300);
    assert_outcome(
        &with_attestation(&s, ok.clone()),
        "verification_inconclusive",
        Some("continuous_attestation_interval_exceeded"),
    );
    s.methods[0].max_attestation_interval_seconds = Some(600);
    assert_outcome(&with_attestation(&s, ok), "valid", None);
    // A declared interval out of range makes the document unusable.
    let mut doc = s.document_value();
    doc["verificationMethod"][0]["cpharMaxAttestationIntervalSeconds"] = json!(0);
    assert!(cphar_protocol::DidDocument::from_value(doc).is_err());
}

// --- authenticated device status ----------------------------------------------------------

fn advertising() -> Scenario {
    let mut s = Scenario::ed25519();
    s.methods[0].status_signature = true;
    s
}

fn response_with_status(s: &Scenario, status: DeviceStatus) -> Map<String, Value> {
    let mut seal = seal_of(s);
    seal.set_status(status);
    seal.respond(&s.request(), s.device_time)
        .unwrap()
        .raw()
        .as_object()
        .unwrap()
        .clone()
}

fn run_response(s: &Scenario, obj: Map<String, Value>) -> cphar_protocol::Outcome {
    let response = ChallengeResponse::from_value(Value::Object(obj)).unwrap();
    verify(
        &s.request(),
        &response,
        &s.document(),
        &s.policy,
        s.now,
        None,
    )
}

#[test]
fn stripped_tamper_report_is_not_valid_when_the_method_advertises_status() {
    let s = advertising();
    // Genuine answers: operational and degraded are valid, tampered is inconclusive.
    assert_outcome(&s.run(), "valid", None);
    let degraded = run_response(&s, response_with_status(&s, DeviceStatus::Degraded));
    assert_outcome(&degraded, "valid", None);
    assert_eq!(degraded.device_status, Some(DeviceStatus::Degraded));
    let tampered = response_with_status(&s, DeviceStatus::Tampered);
    assert_outcome(
        &run_response(&s, tampered.clone()),
        "verification_inconclusive",
        Some("device_tampered"),
    );

    // The man in the middle deletes `deviceStatus: tampered`.
    let mut stripped = tampered.clone();
    stripped.remove("deviceStatus");
    assert_outcome(
        &run_response(&s, stripped.clone()),
        "invalid_signature",
        Some("status_signature_mismatch"),
    );
    // …or rewrites it to operational / degraded.
    for status in ["operational", "degraded"] {
        let mut edited = tampered.clone();
        edited.insert("deviceStatus".into(), json!(status));
        assert_outcome(
            &run_response(&s, edited),
            "invalid_signature",
            Some("status_signature_mismatch"),
        );
    }
    // …and the status signature too.
    stripped.remove("statusSignature");
    assert_outcome(
        &run_response(&s, stripped),
        "verification_inconclusive",
        Some("status_signature_missing"),
    );
    // Adding a forged tampered report to a healthy answer does not break the seal either.
    let mut added = response_with_status(&s, DeviceStatus::Operational);
    added.insert("deviceStatus".into(), json!("tampered"));
    assert_outcome(
        &run_response(&s, added),
        "invalid_signature",
        Some("status_signature_mismatch"),
    );
    // A status signature from another challenge (nonce) does not carry over.
    let mut other = s.params.clone();
    other.nonce = vec![0x43; 32];
    let mut s2 = advertising();
    s2.seal_key = SigningKey::from_pkcs8_pem(&s.seal_key.to_pkcs8_pem().unwrap()).unwrap();
    s2.methods = s.methods.clone();
    s2.params = other;
    let replayed_status =
        response_with_status(&s2, DeviceStatus::Operational)["statusSignature"].clone();
    let mut r = response_with_status(&s, DeviceStatus::Tampered);
    r.remove("deviceStatus");
    r.insert("statusSignature".into(), replayed_status);
    assert_outcome(
        &run_response(&s, r),
        "invalid_signature",
        Some("status_signature_mismatch"),
    );
    // Not base64url.
    let mut bad = response_with_status(&s, DeviceStatus::Operational);
    bad.insert("statusSignature".into(), json!("not base64url!"));
    assert_outcome(
        &run_response(&s, bad),
        "invalid_signature",
        Some("status_signature_mismatch"),
    );
}

#[test]
fn seed_only_seals_keep_working_with_methods_that_do_not_advertise_status() {
    let s = Scenario::ed25519(); // status_signature: false
    let mut r = response_with_status(&s, DeviceStatus::Operational);
    r.remove("statusSignature");
    assert_outcome(&run_response(&s, r.clone()), "valid", None);
    // The same seed-only answer under an advertising method is not valid.
    let mut adv = advertising();
    adv.seal_key = SigningKey::from_pkcs8_pem(&s.seal_key.to_pkcs8_pem().unwrap()).unwrap();
    adv.methods = vec![{
        let mut m = s.methods[0].clone();
        m.status_signature = true;
        m
    }];
    assert_outcome(
        &run_response(&adv, r),
        "verification_inconclusive",
        Some("status_signature_missing"),
    );
}

#[test]
fn the_capability_round_trips_through_the_did_document() {
    let s = advertising();
    let doc = s.document_value();
    assert_eq!(
        doc["verificationMethod"][0]["cpharStatusSignature"],
        json!(true)
    );
    assert!(s.document().binding_methods()[0].status_signature);
    let plain = Scenario::ed25519().document_value();
    assert!(
        plain["verificationMethod"][0]
            .get("cpharStatusSignature")
            .is_none()
    );
    let mut wrong = doc.clone();
    wrong["verificationMethod"][0]["cpharStatusSignature"] = json!("yes");
    assert!(cphar_protocol::DidDocument::from_value(wrong).is_err());
}

// --- property: an accepted request's signature is never another message's ------------------

/// Member names an attacker would add: every continuous-attestation and status member, and
/// a few arbitrary ones.
fn extra_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("bindingMethod".to_owned()),
        Just("generatedAt".to_owned()),
        Just("nextExpectedBy".to_owned()),
        Just("sensors".to_owned()),
        Just("events".to_owned()),
        Just("deviceStatus".to_owned()),
        Just("signature".to_owned()),
        "[a-zA-Z]{1,12}",
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1_000_000i64..1_000_000).prop_map(Value::from),
        "[ -~]{0,16}".prop_map(Value::String),
        Just(json!({})),
        Just(json!([])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_accepted_request_signature_verifies_as_another_message(
        extras in proptest::collection::btree_map(extra_name(), json_leaf(), 0..4),
        min_bal in proptest::option::of(0usize..4),
        pbac in proptest::option::of(any::<bool>()),
        version in proptest::option::of("[0-9]{1,3}"),
        nonce in proptest::collection::vec(any::<u8>(), 32..48),
    ) {
        let s = Scenario::ed25519();
        let mut params = s.params.clone();
        params.nonce = nonce;
        params.min_bal = min_bal.and_then(|i| Bal::ALL.get(i).copied());
        params.request_pbac = pbac;
        params.did_version = version;
        let issued = ChallengeRequest::issue(params).unwrap();
        let mut raw = issued.raw().as_object().unwrap().clone();
        for (k, v) in &extras {
            raw.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let request = ChallengeRequest::from_value(Value::Object(raw.clone())).unwrap();
        let has_unknown = raw
            .keys()
            .any(|k| !cphar_protocol::message::REQUEST_MEMBERS.contains(&k.as_str()));
        let seal = seal_of(&s);
        match seal.respond(&request, s.device_time) {
            Err(SealError::UnknownRequestMember(_)) => prop_assert!(has_unknown),
            Err(e) => prop_assert!(false, "unexpected seal error {e}"),
            Ok(response) => {
                prop_assert!(!has_unknown);
                let sig = cphar_crypto::b64::decode(response.signature()).unwrap();
                let key = s.seal_key.verifying_key();
                prop_assert!(!request.canonical_bytes().starts_with(ENVELOPE_PREFIX));
                // Read as any other seal-signed message, the signature does not verify.
                let mut as_object = raw.clone();
                as_object.remove("signature");
                for ctx in SealContext::ALL {
                    let input = domain::signing_input(*ctx, &Value::Object(as_object.clone())).unwrap();
                    prop_assert!(key.verify(&input, &sig).is_err());
                }
                for status in DeviceStatus::ALL {
                    let input = domain::status_signing_input(
                        request.did(), &s.seal_method, request.nonce(), *status).unwrap();
                    prop_assert!(key.verify(&input, &sig).is_err());
                }
                // As a continuous attestation it does not even parse, and if given every
                // attestation member it would still be checked over the envelope.
                as_object.insert("signature".into(), json!(response.signature()));
                if let Ok(att) = ContinuousAttestation::parse(&as_object) {
                    prop_assert!(key.verify(&att.signing_input, &sig).is_err());
                }
                // And the status signature is no challenge signature.
                let status_sig = cphar_crypto::b64::decode(
                    response.status_signature().unwrap()).unwrap();
                prop_assert!(key.verify(request.canonical_bytes(), &status_sig).is_err());
            }
        }
    }
}

#[test]
fn an_impostor_is_a_signature_mismatch_under_an_advertising_method() {
    // The status is judged after the response signature: an impostor device (its own key,
    // its own valid-looking status signature) is named for what it is.
    let s = advertising();
    let mut impostor = advertising();
    impostor.methods = s.methods.clone();
    let o = run_response(
        &s,
        response_with_status(&impostor, DeviceStatus::Operational),
    );
    assert_outcome(&o, "invalid_signature", Some("signature_mismatch"));
    let o = run_response(&s, response_with_status(&impostor, DeviceStatus::Tampered));
    assert_outcome(&o, "invalid_signature", Some("signature_mismatch"));
}
