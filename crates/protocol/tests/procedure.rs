//! The verification procedure (seed 002 §4.3.4 with PROTOCOL.md's settlements): every step is
//! failed alone, with everything else honest, and must give exactly its result and detail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

mod common;

use common::*;
use cphar_crypto::{Algorithm, CmacAes128Key, SigningKey};
use cphar_protocol::did::Revocation;
use cphar_protocol::risk::RISK_ACCEPTANCE_STATEMENT;
use cphar_protocol::{
    Bal, ChallengeRequest, DidDocument, ResponseTiming, RevocationReason, Timestamp, verify_json,
};
use serde_json::{Map, Value, json};
use time::Duration;

#[test]
fn honest_exchange_is_valid_for_profiles_a_and_b() {
    for alg in [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256] {
        let s = Scenario::new(alg);
        let o = s.run();
        assert_outcome(&o, "valid", None);
        assert_eq!(o.bal, Some(Bal::Bal2));
        assert_eq!(o.binding_method.as_deref(), Some(method_id(1).as_str()));
        assert_eq!(
            o.to_result_json(),
            json!({"result": "valid", "detail": null, "bal": "BAL-2", "bindingMethod": method_id(1)})
        );
    }
}

// --- before step 1: structure ----------------------------------------------------------

fn json_outcome(request: &[u8], response: &[u8], document: &[u8]) -> cphar_protocol::Outcome {
    let s = Scenario::ed25519();
    verify_json(request, response, document, &s.policy, s.now, None)
}

fn honest_bytes() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let s = Scenario::ed25519();
    let req = s.request();
    let resp = s.response_object(&req);
    (
        serde_json::to_vec(req.raw()).unwrap(),
        serde_json::to_vec(&resp).unwrap(),
        serde_json::to_vec(&s.document_value()).unwrap(),
    )
}

#[test]
fn malformed_request_is_inconclusive() {
    let (_, resp, doc) = honest_bytes();
    let nonce = cphar_crypto::b64::encode(&[1u8; 32]);
    let short = cphar_crypto::b64::encode(&[1u8; 31]);
    let cases = [
        "not json".to_owned(),
        // Duplicate member: "last one wins" would be a parser-differential attack.
        format!(
            r#"{{"did":"{DID}","did":"did:web:evil","nonce":"{nonce}","timestamp":"2026-11-23T10:00:00Z","verifier":"{VERIFIER}"}}"#
        ),
        format!(r#"{{"did":"{DID}","timestamp":"2026-11-23T10:00:00Z","verifier":"{VERIFIER}"}}"#),
        format!(
            r#"{{"did":"{DID}","nonce":"{short}","timestamp":"2026-11-23T10:00:00Z","verifier":"{VERIFIER}"}}"#
        ),
        format!(
            r#"{{"did":"{DID}","nonce":"{nonce}=","timestamp":"2026-11-23T10:00:00Z","verifier":"{VERIFIER}"}}"#
        ),
        format!(
            r#"{{"did":"{DID}","nonce":"{nonce}","timestamp":"2026-11-23T11:00:00+01:00","verifier":"{VERIFIER}"}}"#
        ),
        format!(
            r#"{{"did":"{DID}","nonce":"{nonce}","timestamp":"2026-11-23T10:00:00Z","verifier":"not-a-did"}}"#
        ),
        format!(
            r#"{{"did":"{DID}","nonce":"{nonce}","timestamp":"2026-11-23T10:00:00Z","verifier":"{VERIFIER}","minBal":"BAL-9"}}"#
        ),
        format!(
            r#"{{"did":"{DID}","nonce":"{nonce}","timestamp":"2026-11-23T10:00:00Z","verifier":"{VERIFIER}","big":9007199254740993}}"#
        ),
        format!(
            r#"{{"did":"{DID}","nonce":"{nonce}","timestamp":"2026-11-23T10:00:00Z","verifier":"{VERIFIER}","s":"\ud800"}}"#
        ),
    ];
    for req in cases {
        let o = json_outcome(req.as_bytes(), &resp, &doc);
        assert_outcome(&o, "verification_inconclusive", Some("malformed_request"));
        assert_eq!(o.bal, None);
    }
}

#[test]
fn malformed_did_document_is_inconclusive() {
    let (req, resp, _) = honest_bytes();
    let s = Scenario::ed25519();
    let good = s.document_value();
    let mut bad_key = good.clone();
    bad_key["verificationMethod"][0]["publicKeyJwk"]["x"] = json!("AAAA");
    let mut no_version = good.clone();
    no_version.as_object_mut().unwrap().remove("versionId");
    let mut bad_bal = good.clone();
    bad_bal["verificationMethod"][0]["bal"] = json!("BAL-7");
    let mut bad_revoked = good.clone();
    bad_revoked["verificationMethod"][0]["revoked"] =
        json!({"timestamp": "2026-11-23T10:00:00Z", "reason": "bored"});
    let mut foreign_method = good.clone();
    foreign_method["verificationMethod"][0]["id"] = json!("did:web:other#seal-1");
    foreign_method["assertionMethod"][0] = json!("did:web:other#seal-1");
    let mut private_key = good.clone();
    private_key["verificationMethod"][0]["publicKeyJwk"]["d"] =
        json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for doc in [
        bad_key,
        no_version,
        bad_bal,
        bad_revoked,
        foreign_method,
        private_key,
    ] {
        let o = json_outcome(&req, &resp, &serde_json::to_vec(&doc).unwrap());
        assert_outcome(
            &o,
            "verification_inconclusive",
            Some("malformed_did_document"),
        );
    }
    let dup = br#"{"id":"did:web:a:b","id":"did:web:a:b","versionId":"1"}"#;
    let o = json_outcome(&req, &resp, dup);
    assert_outcome(
        &o,
        "verification_inconclusive",
        Some("malformed_did_document"),
    );
}

#[test]
fn malformed_response_is_inconclusive() {
    let (req, resp, doc) = honest_bytes();
    let honest: Map<String, Value> = serde_json::from_slice(&resp).unwrap();
    for member in ["did", "nonce", "signature", "bindingMethod", "bal"] {
        let mut r = honest.clone();
        r.remove(member);
        let o = json_outcome(&req, &serde_json::to_vec(&r).unwrap(), &doc);
        assert_outcome(&o, "verification_inconclusive", Some("malformed_response"));
    }
    for (member, value) in [
        ("timestamp", json!("yesterday")),
        ("deviceStatus", json!("sleepy")),
        ("bal", json!("BAL-5")),
        ("pbacApplied", json!("yes")),
        ("continuousAttestation", json!([])),
    ] {
        let mut r = honest.clone();
        r.insert(member.into(), value);
        let o = json_outcome(&req, &serde_json::to_vec(&r).unwrap(), &doc);
        assert_outcome(&o, "verification_inconclusive", Some("malformed_response"));
    }
    // A duplicated member in the response is refused, not resolved.
    let text = String::from_utf8(resp).unwrap();
    let dup = text.replacen("{", r#"{"bal":"BAL-4","#, 1);
    let o = json_outcome(&req, dup.as_bytes(), &doc);
    assert_outcome(&o, "verification_inconclusive", Some("malformed_response"));
}

#[test]
fn did_document_for_another_object_is_inconclusive() {
    let mut s = Scenario::ed25519();
    s.params.did = "did:web:reg.example:lots:LOT-8".into();
    // Seal answers for LOT-8's challenge but the document is LOT-7's.
    let o = s.run_with(|_, _| {});
    assert_outcome(
        &o,
        "verification_inconclusive",
        Some("did_document_mismatch"),
    );
}

// --- steps 1–5 ------------------------------------------------------------------------

#[test]
fn step1_pinned_version_must_be_the_resolved_one() {
    let mut s = Scenario::ed25519();
    s.version = 4;
    s.params.did_version = Some("3".into());
    assert_outcome(
        &s.run(),
        "version_unavailable",
        Some("version_not_resolved"),
    );
    s.params.did_version = Some("4".into());
    assert_outcome(&s.run(), "valid", None);
}

#[test]
fn step2_no_binding_method() {
    let mut s = Scenario::ed25519();
    s.methods.clear();
    assert_outcome(&s.run(), "no_binding_method", Some("no_usable_method"));

    // A binding method not listed under assertionMethod is not a usable binding.
    let s = Scenario::ed25519();
    let mut doc = s.document_value();
    doc["assertionMethod"] = json!([]);
    let req = s.request();
    let resp = s.response_object(&req);
    let o = verify_json(
        &serde_json::to_vec(req.raw()).unwrap(),
        &serde_json::to_vec(&resp).unwrap(),
        &serde_json::to_vec(&doc).unwrap(),
        &s.policy,
        s.now,
        None,
    );
    assert_outcome(&o, "no_binding_method", Some("no_usable_method"));

    // Methods of other types do not count.
    let mut doc = s.document_value();
    doc["verificationMethod"][0]["type"] = json!("JsonWebKey2020");
    let d = DidDocument::from_value(doc).unwrap();
    assert!(d.binding_methods().is_empty());
}

#[test]
fn step3_no_method_meets_min_bal() {
    let mut s = Scenario::ed25519();
    s.params.min_bal = Some(Bal::Bal3);
    let o = s.run();
    assert_outcome(&o, "insufficient_bal", Some("no_method_meets_min_bal"));
    assert_eq!(o.bal, None);
}

#[test]
fn step3_device_claiming_less_than_min_bal() {
    let mut s = Scenario::ed25519();
    s.methods = vec![spec(1, &s.seal_key, Bal::Bal3)];
    s.params.min_bal = Some(Bal::Bal3);
    s.seal_bal = Bal::Bal2;
    assert_outcome(&s.run(), "insufficient_bal", Some("device_bal_below_min"));
    s.seal_bal = Bal::Bal3;
    assert_outcome(&s.run(), "valid", None);
}

#[test]
fn step3_the_device_claim_never_raises_the_bal() {
    let mut s = Scenario::ed25519();
    s.seal_bal = Bal::Bal4; // claims more than the document grants
    let o = s.run();
    assert_outcome(&o, "valid", None);
    assert_eq!(o.bal, Some(Bal::Bal2));
}

#[test]
fn step3_downgrade_to_a_lower_method_is_refused() {
    // The object has a BAL-3 binding (another device) and a BAL-2 one; the BAL-2 seal answers.
    let mut s = Scenario::ed25519();
    let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
    s.methods = vec![spec(1, &s.seal_key, Bal::Bal2), spec(2, &other, Bal::Bal3)];
    let o = s.run();
    assert_outcome(&o, "invalid_signature", Some("binding_method_mismatch"));
    assert_eq!(o.bal, Some(Bal::Bal3));
    assert_eq!(o.binding_method.as_deref(), Some(method_id(2).as_str()));

    // Permitted by the trust framework for a documented reason: used, and reported.
    s.policy.downgrade_justification = Some("BAL-4 device battery depleted".into());
    let o = s.run();
    assert_outcome(&o, "valid", None);
    assert_eq!(o.bal, Some(Bal::Bal2));
    let d = o.downgrade.clone().unwrap();
    assert_eq!((d.available, d.used), (Bal::Bal3, Bal::Bal2));
    assert_eq!(
        o.audit_event("e-1")["downgrade"]["justification"],
        "BAL-4 device battery depleted"
    );
}

#[test]
fn step3_revoked_higher_method_does_not_block_a_live_lower_one() {
    let mut s = Scenario::ed25519();
    let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let mut high = spec(2, &other, Bal::Bal3);
    high.revoked = Some(Revocation {
        timestamp: t0(),
        reason: RevocationReason::DeviceFailure,
    });
    s.methods = vec![spec(1, &s.seal_key, Bal::Bal2), high];
    let o = s.run();
    assert_outcome(&o, "valid", None);
    assert_eq!(o.bal, Some(Bal::Bal2));
}

#[test]
fn step3_ties_go_to_the_method_the_response_names() {
    let mut s = Scenario::ed25519();
    let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
    s.methods = vec![spec(1, &other, Bal::Bal2), spec(2, &s.seal_key, Bal::Bal2)];
    s.seal_method = method_id(2);
    let o = s.run();
    assert_outcome(&o, "valid", None);
    assert_eq!(o.binding_method.as_deref(), Some(method_id(2).as_str()));
}

#[test]
fn step4_trust_framework() {
    let mut s = Scenario::ed25519();
    s.methods[0].tfp = None;
    assert_outcome(&s.run(), "unsupported_trust_framework", Some("tfp_missing"));
    s.methods[0].tfp = Some("urn:example:tfp-9".into());
    assert_outcome(
        &s.run(),
        "unsupported_trust_framework",
        Some("tfp_unsupported"),
    );
    s.policy.supported_tfps.push("urn:example:tfp-9".into());
    assert_outcome(&s.run(), "valid", None);
}

#[test]
fn step5_pid_is_required_and_validated_at_bal3() {
    let mut s = Scenario::ed25519();
    s.methods = vec![spec(1, &s.seal_key, Bal::Bal3)];
    s.seal_bal = Bal::Bal3;
    assert_outcome(&s.run(), "valid", None);

    s.methods[0].pid = None;
    assert_outcome(&s.run(), "invalid_pid", Some("invalid_pid"));

    let mut p = pid();
    p["pufStatistics"]
        .as_object_mut()
        .unwrap()
        .remove("sampleSize");
    s.methods[0].pid = Some(p);
    assert_outcome(&s.run(), "invalid_pid", Some("invalid_pid"));

    s.methods[0].pid = Some(pid());
    let uri = "https://vendor.example/helper-data/device123.bin".to_owned();
    s.policy
        .helper_data
        .insert(uri.clone(), b"substituted".to_vec());
    assert_outcome(&s.run(), "invalid_pid", Some("helper_data_hash_mismatch"));
    s.policy.helper_data.insert(uri, Vec::new()); // the example hash is SHA-256("")
    assert_outcome(&s.run(), "valid", None);
}

// --- profile C ---------------------------------------------------------------------------

struct ProfileC {
    scenario: Scenario,
    mac_key: [u8; 16],
    acceptor: SigningKey,
}

const ACCEPTOR: &str = "did:web:risk-owner.example";

fn profile_c() -> ProfileC {
    let mut s = Scenario::ed25519();
    let mac_key = [0x2b; 16];
    let acceptor = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let jwk = cphar_crypto::Jwk::from_json(
        &json!({"kty": "oct", "alg": "CMAC-AES128", "kid": "seal-c-1"}),
    )
    .unwrap();
    s.methods[0].jwk = jwk;
    s.methods[0].profile_c_risk_acceptance = Some(risk_acceptance(
        &acceptor,
        &method_id(1),
        RISK_ACCEPTANCE_STATEMENT,
    ));
    s.policy.cmac_keys.insert(
        "seal-c-1".into(),
        CmacAes128Key::from_slice(&mac_key).unwrap(),
    );
    s.policy
        .risk_acceptors
        .insert(ACCEPTOR.into(), acceptor.verifying_key());
    ProfileC {
        scenario: s,
        mac_key,
        acceptor,
    }
}

fn risk_acceptance(key: &SigningKey, method: &str, statement: &str) -> Value {
    let mut obj = json!({
        "acceptingParty": ACCEPTOR,
        "bindingMethod": method,
        "statement": statement,
        "acceptedAt": "2026-11-01T00:00:00Z",
    })
    .as_object()
    .unwrap()
    .clone();
    cphar_protocol::signed::seal(&mut obj, |m| {
        Ok::<_, cphar_protocol::signed::SignedObjectError>(key.sign(m).unwrap())
    })
    .unwrap();
    Value::Object(obj)
}

impl ProfileC {
    /// The device MACs JCS(request) with the shared key.
    fn run(&self) -> cphar_protocol::Outcome {
        let key = CmacAes128Key::from_slice(&self.mac_key).unwrap();
        self.scenario.run_with(|req, resp| {
            let tag = key.mac(req.canonical_bytes());
            resp.insert("signature".into(), json!(cphar_crypto::b64::encode(&tag)));
        })
    }
}

#[test]
fn profile_c_with_valid_risk_acceptance_is_valid() {
    let c = profile_c();
    assert_outcome(&c.run(), "valid", None);
}

#[test]
fn profile_c_without_or_with_bad_risk_acceptance_is_refused() {
    let mut c = profile_c();
    c.scenario.methods[0].profile_c_risk_acceptance = None;
    assert_outcome(
        &c.run(),
        "profile_c_risk_not_accepted",
        Some("risk_acceptance_missing"),
    );

    let forger = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let cases = [
        risk_acceptance(&forger, &method_id(1), RISK_ACCEPTANCE_STATEMENT),
        risk_acceptance(&c.acceptor, &method_id(1), "we accept"),
        risk_acceptance(&c.acceptor, &method_id(9), RISK_ACCEPTANCE_STATEMENT),
        {
            let mut v = risk_acceptance(&c.acceptor, &method_id(1), RISK_ACCEPTANCE_STATEMENT);
            v["acceptedAt"] = json!("2026-11-02T00:00:00Z"); // edited after signing
            v
        },
        {
            let mut v = risk_acceptance(&c.acceptor, &method_id(1), RISK_ACCEPTANCE_STATEMENT);
            v["acceptingParty"] = json!("did:web:someone-else");
            v
        },
    ];
    for ra in cases {
        c.scenario.methods[0].profile_c_risk_acceptance = Some(ra);
        assert_outcome(
            &c.run(),
            "profile_c_risk_not_accepted",
            Some("risk_acceptance_invalid"),
        );
    }
}

#[test]
fn profile_c_wrong_mac_or_missing_key() {
    let mut c = profile_c();
    c.mac_key = [0x2c; 16];
    assert_outcome(&c.run(), "invalid_signature", Some("signature_mismatch"));
    c.scenario.policy.cmac_keys.clear();
    assert_outcome(
        &c.run(),
        "verification_inconclusive",
        Some("verifier_key_unavailable"),
    );
}

// --- steps 11–13: PBAC and nonce ----------------------------------------------------------

struct Pvs {
    key: SigningKey,
}

impl Pvs {
    fn new() -> Self {
        Pvs {
            key: SigningKey::generate(Algorithm::Ed25519).unwrap(),
        }
    }

    fn attest(
        &self,
        s: &Scenario,
        nonce: &[u8],
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Value {
        let mut obj = json!({
            "pvsDid": PVS,
            "deviceJwkThumbprint": s.seal_key.verifying_key().to_jwk().thumbprint_urn().unwrap(),
            "decryptedNonce": cphar_crypto::b64::encode(nonce),
            "latencyMs": 4.2,
            "latencyBoundMs": 10,
            "latencyValid": true,
            "verifiedAt": "2026-11-23T10:00:01Z",
        })
        .as_object()
        .unwrap()
        .clone();
        edit(&mut obj);
        cphar_protocol::signed::seal(&mut obj, |m| {
            Ok::<_, cphar_protocol::signed::SignedObjectError>(self.key.sign(m).unwrap())
        })
        .unwrap();
        Value::Object(obj)
    }
}

fn pbac_scenario(pvs: &Pvs) -> Scenario {
    let mut s = Scenario::ed25519();
    s.methods[0] = with_pbac(s.methods[0].clone());
    s.params.request_pbac = Some(true);
    s.policy
        .pvs_keys
        .insert(PVS.into(), pvs.key.verifying_key());
    s
}

/// The device blinds the nonce and the verifier attaches the PVS attestation.
fn apply_pbac(att: Value) -> impl FnOnce(&ChallengeRequest, &mut Map<String, Value>) {
    move |_, resp| {
        resp.insert(
            "nonce".into(),
            json!(cphar_crypto::b64::encode(&[0xEE; 32])),
        );
        resp.insert("pbacApplied".into(), json!(true));
        resp.insert("pbacSignature".into(), att);
    }
}

#[test]
fn pbac_valid_attestation() {
    let pvs = Pvs::new();
    let s = pbac_scenario(&pvs);
    let att = pvs.attest(&s, &s.params.nonce, |_| {});
    let o = s.run_with(apply_pbac(att.clone()));
    assert_outcome(&o, "valid", None);
    assert!(o.pbac_applied);
    let event = o.audit_event("e-2");
    assert_eq!(event["pbacApplied"], json!(true));
    assert_eq!(event["pvsAttestation"], att);
}

#[test]
fn step11_pbac_requested_but_not_applied() {
    let pvs = Pvs::new();
    let s = pbac_scenario(&pvs);
    assert_outcome(
        &s.run(),
        "verification_inconclusive",
        Some("pbac_not_applied"),
    );
    let o = s.run_with(|_, r| {
        r.remove("pbacApplied");
    });
    assert_outcome(&o, "verification_inconclusive", Some("pbac_not_applied"));
}

#[test]
fn step12_pvs_attestation_failures() {
    let pvs = Pvs::new();
    let s = pbac_scenario(&pvs);
    let nonce = s.params.nonce.clone();
    let impostor = Pvs::new();
    let cases: Vec<Value> = vec![
        impostor.attest(&s, &nonce, |_| {}), // forged PVS signature
        pvs.attest(&s, &nonce, |o| {
            o.insert("latencyMs".into(), json!(11));
        }), // relay latency
        pvs.attest(&s, &nonce, |o| {
            o.insert("latencyValid".into(), json!(false));
        }),
        pvs.attest(&s, &nonce, |o| {
            o.insert(
                "deviceJwkThumbprint".into(),
                json!("urn:ietf:params:oauth:jwk-thumbprint:sha-256:AAAA"),
            );
        }),
        pvs.attest(&s, &nonce, |o| {
            o.insert("pvsDid".into(), json!("did:web:rogue-pvs"));
        }),
        pvs.attest(&s, &nonce, |o| {
            o.insert("verifiedAt".into(), json!("2026-11-23T09:00:00Z"));
        }), // before the challenge
        pvs.attest(&s, &nonce, |o| {
            o.remove("latencyBoundMs");
        }),
        {
            let mut a = pvs.attest(&s, &nonce, |_| {});
            a["latencyMs"] = json!(1.0); // edited after signing
            a
        },
    ];
    for att in cases {
        let o = s.run_with(apply_pbac(att));
        assert_outcome(
            &o,
            "verification_inconclusive",
            Some("pbac_validation_failed"),
        );
    }
    // pbacApplied without any attestation.
    let o = s.run_with(|_, r| {
        r.insert("pbacApplied".into(), json!(true));
    });
    assert_outcome(
        &o,
        "verification_inconclusive",
        Some("pbac_validation_failed"),
    );
    // A PVS the verifier does not trust.
    let mut s2 = pbac_scenario(&pvs);
    s2.policy.pvs_keys.clear();
    let o = s2.run_with(apply_pbac(pvs.attest(&s2, &nonce, |_| {})));
    assert_outcome(
        &o,
        "verification_inconclusive",
        Some("pbac_validation_failed"),
    );
}

#[test]
fn step13_nonce_must_match() {
    let s = Scenario::ed25519();
    let o = s.run_with(|_, r| {
        r.insert(
            "nonce".into(),
            json!(cphar_crypto::b64::encode(&[0x43; 32])),
        );
    });
    assert_outcome(&o, "invalid_nonce", Some("nonce_mismatch"));

    // With PBAC the PVS's decrypted nonce is compared.
    let pvs = Pvs::new();
    let s = pbac_scenario(&pvs);
    let att = pvs.attest(&s, &[0x43; 32], |_| {});
    assert_outcome(
        &s.run_with(apply_pbac(att)),
        "invalid_nonce",
        Some("nonce_mismatch"),
    );
}

// --- steps 14–16 --------------------------------------------------------------------------

#[test]
fn step14_device_timestamp_skew_boundary() {
    let mut s = Scenario::ed25519();
    s.device_time = t("2026-11-23T10:05:00Z"); // exactly the tolerance: passes
    s.now = t("2026-11-23T10:04:00Z");
    assert_outcome(&s.run(), "valid", None);
    s.device_time = t("2026-11-23T10:05:01Z");
    assert_outcome(&s.run(), "expired_challenge", Some("device_timestamp_skew"));
    s.device_time = t("2026-11-23T09:54:59Z");
    assert_outcome(&s.run(), "expired_challenge", Some("device_timestamp_skew"));
    s.policy.skew = Duration::seconds(600);
    assert_outcome(&s.run(), "valid", None);
}

#[test]
fn step14_constrained_device_without_clock_is_fine_at_bal2() {
    let s = Scenario::ed25519();
    let o = s.run_with(|_, r| {
        r.remove("timestamp");
    });
    assert_outcome(&o, "valid", None);
}

#[test]
fn step14_stale_or_future_challenge() {
    let mut s = Scenario::ed25519();
    s.now = t("2026-11-23T10:05:00Z");
    assert_outcome(&s.run(), "valid", None);
    s.now = t("2026-11-23T10:05:00.001Z");
    assert_outcome(&s.run(), "expired_challenge", Some("challenge_expired"));
    s.now = t("2026-11-23T09:54:59Z");
    s.device_time = t("2026-11-23T09:59:59Z");
    assert_outcome(&s.run(), "expired_challenge", Some("challenge_from_future"));
}

#[test]
fn step15_response_time_bound() {
    let mut s = Scenario::ed25519();
    s.policy.max_response_time = Some(Duration::milliseconds(2000));
    s.timing = Some(ResponseTiming {
        sent: t0(),
        received: t("2026-11-23T10:00:02Z"),
    });
    assert_outcome(&s.run(), "valid", None);
    s.timing = Some(ResponseTiming {
        sent: t0(),
        received: t("2026-11-23T10:00:02.001Z"),
    });
    assert_outcome(
        &s.run(),
        "verification_inconclusive",
        Some("response_time_exceeded"),
    );
    // No bound configured: not checked.
    s.policy.max_response_time = None;
    assert_outcome(&s.run(), "valid", None);
}

#[test]
fn step15_is_skipped_when_pbac_bounded_proximity() {
    let pvs = Pvs::new();
    let mut s = pbac_scenario(&pvs);
    s.policy.max_response_time = Some(Duration::milliseconds(100));
    s.timing = Some(ResponseTiming {
        sent: t0(),
        received: t("2026-11-23T10:00:01Z"),
    });
    let att = pvs.attest(&s, &s.params.nonce, |_| {});
    assert_outcome(&s.run_with(apply_pbac(att)), "valid", None);
}

#[test]
fn step16_tampered_device() {
    let s = Scenario::ed25519();
    let o = s.run_with(|_, r| {
        r.insert("deviceStatus".into(), json!("tampered"));
    });
    assert_outcome(&o, "verification_inconclusive", Some("device_tampered"));
    let o = s.run_with(|_, r| {
        r.insert("deviceStatus".into(), json!("degraded"));
    });
    assert_outcome(&o, "valid", None);
}

// --- steps 17–18 --------------------------------------------------------------------------

#[test]
fn step18_signature_checks() {
    let s = Scenario::ed25519();
    let o = s.run_with(|_, r| {
        r.insert("bindingMethod".into(), json!(method_id(2)));
    });
    assert_outcome(&o, "invalid_signature", Some("binding_method_mismatch"));
    let o = s.run_with(|_, r| {
        r.insert("did".into(), json!("did:web:reg.example:lots:LOT-8"));
    });
    assert_outcome(&o, "invalid_signature", Some("did_mismatch"));
    let o = s.run_with(|_, r| {
        let sig = r["signature"].as_str().unwrap().to_owned();
        r.insert("signature".into(), json!(format!("{sig}==")));
    });
    assert_outcome(&o, "invalid_signature", Some("signature_encoding"));
    let o = s.run_with(|_, r| {
        // The standard (non-URL) alphabet is refused.
        let sig = r["signature"].as_str().unwrap().to_owned();
        r.insert("signature".into(), json!(format!("+{}", &sig[1..])));
    });
    assert_outcome(&o, "invalid_signature", Some("signature_encoding"));
    let forger = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let o = s.run_with(|req, r| {
        let sig = forger.sign(req.canonical_bytes()).unwrap();
        r.insert("signature".into(), json!(cphar_crypto::b64::encode(&sig)));
    });
    assert_outcome(&o, "invalid_signature", Some("signature_mismatch"));
}

#[test]
fn step18_signature_covers_the_request_as_received_including_unknown_members() {
    let mut s = Scenario::ed25519();
    s.request_extra
        .insert("x-lot-audit".into(), json!({"z": 1, "a": [1.5, "é"]}));
    assert_outcome(&s.run(), "valid", None);

    // The seal signed a request; the verifier checks against a request that differs in one
    // unknown member (a man in the middle added it): the signature no longer matches.
    let request = s.request();
    let response_obj = s.response_object(&request);
    let mut altered = request.raw().as_object().unwrap().clone();
    altered.insert("x-injected".into(), json!(true));
    let altered = ChallengeRequest::from_value(Value::Object(altered)).unwrap();
    let response =
        cphar_protocol::ChallengeResponse::from_value(Value::Object(response_obj)).unwrap();
    let o = cphar_protocol::verify(&altered, &response, &s.document(), &s.policy, s.now, None);
    assert_outcome(&o, "invalid_signature", Some("signature_mismatch"));
}

#[test]
fn step18_member_order_and_whitespace_do_not_matter_jcs_does() {
    let s = Scenario::ed25519();
    let request = s.request();
    let response = s.response_object(&request);
    // Re-serialize the request with reversed member order and extra whitespace.
    let members: Vec<(String, Value)> = request
        .raw()
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .rev()
        .collect();
    let text = format!(
        "{{ {} }}",
        members
            .iter()
            .map(|(k, v)| format!("{:?} :  {}", k, v))
            .collect::<Vec<_>>()
            .join(" ,\n ")
    );
    let o = verify_json(
        text.as_bytes(),
        &serde_json::to_vec(&response).unwrap(),
        &serde_json::to_vec(&s.document_value()).unwrap(),
        &s.policy,
        s.now,
        None,
    );
    assert_outcome(&o, "valid", None);
}

#[test]
fn step18_profile_b_raw_r_s_signature_is_invalid() {
    let s = Scenario::new(Algorithm::EcdsaP256Sha256);
    let o = s.run_with(|_, r| {
        let der = cphar_crypto::b64::decode(r["signature"].as_str().unwrap()).unwrap();
        let raw = der_to_raw_p256(&der);
        r.insert("signature".into(), json!(cphar_crypto::b64::encode(&raw)));
    });
    assert_outcome(&o, "invalid_signature", Some("signature_mismatch"));
}

/// Converts a DER ECDSA-P256 signature to the 64-byte r‖s form.
fn der_to_raw_p256(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30);
    let mut i = 2;
    let mut out = Vec::new();
    for _ in 0..2 {
        assert_eq!(der[i], 0x02);
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int = if int.len() > 32 {
            &int[int.len() - 32..]
        } else {
            int
        };
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        i += 2 + len;
    }
    out
}

// --- BAL-4 continuous attestation -----------------------------------------------------------

fn bal4(pvs: &Pvs) -> Scenario {
    let mut s = pbac_scenario(pvs);
    s.methods = vec![with_pbac(spec(1, &s.seal_key, Bal::Bal4))];
    s.seal_bal = Bal::Bal4;
    s
}

fn continuous(s: &Scenario, edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut obj = json!({
        "did": DID,
        "bindingMethod": method_id(1),
        "generatedAt": "2026-11-23T09:55:00Z",
        "nextExpectedBy": "2026-11-23T10:05:00Z",
        "sensors": {
            "temp-1": {"value": 21.5, "unit": "Cel", "withinLimits": true},
            "shock-1": {"value": 0.02, "unit": "m/s2", "withinLimits": true}
        },
        "events": [{"eventType": "lid_closed", "timestamp": "2026-11-23T09:00:00Z", "details": "ok"}]
    })
    .as_object()
    .unwrap()
    .clone();
    edit(&mut obj);
    cphar_protocol::continuous::seal(&mut obj, |m| {
        Ok::<_, cphar_protocol::signed::SignedObjectError>(s.seal_key.sign(m).unwrap())
    })
    .unwrap();
    Value::Object(obj)
}

fn bal4_run(s: &Scenario, pvs: &Pvs, ca: Option<Value>) -> cphar_protocol::Outcome {
    let att = pvs.attest(s, &s.params.nonce, |_| {});
    s.run_with(move |req, r| {
        apply_pbac(att)(req, r);
        if let Some(ca) = ca {
            r.insert("continuousAttestation".into(), ca);
        }
    })
}

#[test]
fn bal4_valid_with_continuous_attestation_and_pbac() {
    let pvs = Pvs::new();
    let s = bal4(&pvs);
    let o = bal4_run(&s, &pvs, Some(continuous(&s, |_| {})));
    assert_outcome(&o, "valid", None);
    assert_eq!(o.bal, Some(Bal::Bal4));
}

#[test]
fn bal4_required_members() {
    let pvs = Pvs::new();
    let s = bal4(&pvs);
    assert_outcome(
        &bal4_run(&s, &pvs, None),
        "verification_inconclusive",
        Some("malformed_response"),
    );
    let ca = continuous(&s, |_| {});
    let o = s.run_with(|_, r| {
        r.insert("continuousAttestation".into(), ca.clone());
        r.remove("timestamp");
    });
    assert_outcome(&o, "verification_inconclusive", Some("malformed_response"));
    let mut no_next = ca.clone();
    no_next.as_object_mut().unwrap().remove("nextExpectedBy");
    assert_outcome(
        &bal4_run(&s, &pvs, Some(no_next)),
        "verification_inconclusive",
        Some("malformed_response"),
    );
}

#[test]
fn bal4_continuous_attestation_checks() {
    let pvs = Pvs::new();
    let mut s = bal4(&pvs);
    let mut edited = continuous(&s, |_| {});
    edited["sensors"]["temp-1"]["value"] = json!(80.0); // edited after signing
    assert_outcome(
        &bal4_run(&s, &pvs, Some(edited)),
        "invalid_signature",
        Some("continuous_attestation_signature"),
    );

    let other = continuous(&s, |o| {
        o.insert("did".into(), json!("did:web:reg.example:lots:LOT-8"));
    });
    assert_outcome(
        &bal4_run(&s, &pvs, Some(other)),
        "invalid_signature",
        Some("continuous_attestation_mismatch"),
    );

    let hot = continuous(&s, |o| {
        o["sensors"]["temp-1"]["withinLimits"] = json!(false);
    });
    assert_outcome(
        &bal4_run(&s, &pvs, Some(hot)),
        "verification_inconclusive",
        Some("sensor_out_of_limits"),
    );

    // Gap: the next attestation was due (10:05:00) before now.
    s.params.timestamp = t("2026-11-23T10:04:00Z");
    s.device_time = t("2026-11-23T10:04:01Z");
    s.now = t("2026-11-23T10:05:00.5Z");
    let ca = continuous(&s, |_| {});
    let s_now = s.now;
    let att = pvs.attest(&s, &s.params.nonce, |o| {
        o.insert("verifiedAt".into(), json!(s_now.to_string()));
    });
    let o = s.run_with(|req, r| {
        apply_pbac(att.clone())(req, r);
        r.insert("continuousAttestation".into(), ca.clone());
    });
    assert_outcome(
        &o,
        "verification_inconclusive",
        Some("continuous_attestation_gap"),
    );
    // Within the documented drift it passes.
    s.policy.attestation_drift = Duration::seconds(1);
    let o = s.run_with(|req, r| {
        apply_pbac(att)(req, r);
        r.insert("continuousAttestation".into(), ca);
    });
    assert_outcome(&o, "valid", None);
}

// --- step 19 and ordering -------------------------------------------------------------------

#[test]
fn step19_revoked_binding_for_each_reason() {
    for reason in RevocationReason::ALL {
        let mut s = Scenario::ed25519();
        s.methods[0].revoked = Some(Revocation {
            timestamp: t0(),
            reason: *reason,
        });
        let o = s.run();
        assert_outcome(&o, "revoked_binding", Some(reason.as_str()));
        assert_eq!(o.bal, Some(Bal::Bal2));
    }
}

#[test]
fn the_first_failing_step_decides() {
    // Revoked, tampered, wrong nonce and bad signature at once: the nonce (step 13) wins.
    let mut s = Scenario::ed25519();
    s.methods[0].revoked = Some(Revocation {
        timestamp: t0(),
        reason: RevocationReason::TamperDetected,
    });
    let o = s.run_with(|_, r| {
        r.insert("deviceStatus".into(), json!("tampered"));
        r.insert("nonce".into(), json!(cphar_crypto::b64::encode(&[9; 32])));
        r.insert("signature".into(), json!("AAAA"));
    });
    assert_outcome(&o, "invalid_nonce", Some("nonce_mismatch"));
    // Without the nonce problem, step 16 (tampered) comes before 18 and 19.
    let o = s.run_with(|_, r| {
        r.insert("deviceStatus".into(), json!("tampered"));
        r.insert("signature".into(), json!("AAAA"));
    });
    assert_outcome(&o, "verification_inconclusive", Some("device_tampered"));
}

#[test]
fn audit_event_carries_tfp1_fields() {
    let s = Scenario::ed25519();
    let o = s.run();
    let e = o.audit_event("7c0e4c9e-2b7e-4bde-9a3c-1f0c4b8f2d11");
    assert_eq!(e["eventType"], "UORABindingVerification");
    assert_eq!(e["eventId"], "7c0e4c9e-2b7e-4bde-9a3c-1f0c4b8f2d11");
    assert_eq!(e["timestamp"], s.now.to_string());
    assert_eq!(e["verifierDid"], VERIFIER);
    assert_eq!(e["objectDid"], DID);
    assert_eq!(e["bindingMethodId"], method_id(1));
    assert_eq!(e["result"], "valid");
    assert_eq!(e["bal"], "BAL-2");
    assert_eq!(e["pbacApplied"], false);
    assert_eq!(e["tfp"], cphar_protocol::TFP_1);
    let _: Timestamp = Timestamp::parse(e["timestamp"].as_str().unwrap()).unwrap();
}
