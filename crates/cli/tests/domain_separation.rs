//! Through the `cphar` binary: a challenge signature cannot be replayed as a BAL-4 continuous
//! attestation, attestations are fresh, and a stripped tamper report is not valid when the
//! binding method advertises authenticated status.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DID: &str = "did:web:reg.example:lots:LOT-7";
const VERIFIER: &str = "did:web:verifier.example";

fn cphar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args(args)
        .output()
        .expect("run cphar")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Self {
        Lab {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn write(&self, name: &str, v: &Value) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    }
    fn read(&self, name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(self.path(name)).unwrap()).unwrap()
    }
    fn keygen(&self) -> (Value, cphar_crypto::SigningKey) {
        let key = self.path("seal.key");
        let o = cphar(&["keygen", "--profile", "ed25519", "--out", s(&key)]);
        assert!(o.status.success());
        let pem = std::fs::read_to_string(&key).unwrap();
        (
            serde_json::from_slice(&o.stdout).unwrap(),
            cphar_crypto::SigningKey::from_pkcs8_pem(&pem).unwrap(),
        )
    }
    fn challenge(&self, now: &str) {
        let o = cphar(&[
            "challenge",
            "--did",
            DID,
            "--verifier",
            VERIFIER,
            "--now",
            now,
        ]);
        assert!(o.status.success());
        std::fs::write(self.path("request.json"), o.stdout).unwrap();
    }
    fn respond(&self, request: &str, now: &str, extra: &[&str]) -> Output {
        let (key, request) = (self.path("seal.key"), self.path(request));
        let mut args = vec![
            "seal",
            "respond",
            "--key",
            s(&key),
            "--request",
            s(&request),
            "--now",
            now,
        ];
        args.extend_from_slice(extra);
        cphar(&args)
    }
    fn verify(&self, doc: &Value, now: &str) -> (i32, (String, Option<String>)) {
        let doc = self.write("did.json", doc);
        let o = cphar(&[
            "verify",
            "--request",
            s(&self.path("request.json")),
            "--response",
            s(&self.path("response.json")),
            "--did-document",
            s(&doc),
            "--now",
            now,
        ]);
        let out: Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            o.status.code().unwrap(),
            (
                out["result"].as_str().unwrap().to_owned(),
                out["detail"].as_str().map(str::to_owned),
            ),
        )
    }
}

fn pid() -> Value {
    json!({
        "pidVersion": "1.0",
        "pufConstruction": "SRAM-PUF",
        "challengeConstruction": {"algorithm": "sha256", "inputFormat": "utf8-string"},
        "helperData": {
            "uri": "https://vendor.example/helper-data/device123.bin",
            "hash": {"algorithm": "sha256",
                     "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
            "format": "bch-params"
        },
        "fuzzyExtractor": {"algorithm": "BCH"},
        "pufStatistics": {
            "interDeviceHD": {"mean": 0.49},
            "intraDeviceHD": {"mean": 0.04},
            "sampleSize": 5000
        }
    })
}

fn document(jwk: &Value, bal: &str, extra: Value) -> Value {
    let mut m = json!({
        "id": format!("{DID}#seal-1"),
        "type": "UORABindingVerification",
        "controller": DID,
        "publicKeyJwk": jwk,
        "bal": bal,
        "tfp": "urn:uora:trust-framework:profile-1"
    });
    if bal == "BAL-4" {
        m["pid"] = pid();
    }
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    json!({"id": DID, "versionId": "1", "verificationMethod": [m],
           "assertionMethod": [format!("{DID}#seal-1")]})
}

fn the_forged_request() -> Value {
    json!({
        "did": DID,
        "nonce": cphar_crypto::b64::encode(&[9u8; 32]),
        "timestamp": "2026-11-23T10:00:00Z",
        "verifier": VERIFIER,
        "bindingMethod": format!("{DID}#seal-1"),
        "generatedAt": "2026-11-23T10:00:00Z",
        "nextExpectedBy": "9999-12-31T00:00:00Z",
        "sensors": {"temp-1": {"value": 21.0, "unit": "Cel", "withinLimits": true}},
        "events": []
    })
}

#[test]
fn forged_bal4_attestation_from_a_challenge_signature_is_refused() {
    let lab = Lab::new();
    let (jwk, key) = lab.keygen();
    let doc = document(&jwk, "BAL-4", json!({}));

    // 1. CPHAR's seal does not sign the forged "request".
    lab.write("forged.json", &the_forged_request());
    let o = lab.respond("forged.json", "2026-11-23T10:00:01Z", &["--bal", "BAL-4"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bindingMethod"), "{err}");

    // 2. A seal following the seed alone would have signed it (JCS of the request as
    //    received); the attacker keeps that signature as an "attestation" and staples it onto
    //    a genuine response in 2030, as in the report.
    let forged = cphar_protocol::ChallengeRequest::from_value(the_forged_request()).unwrap();
    let sig = key.sign(forged.canonical_bytes()).unwrap();
    let mut att = the_forged_request();
    let obj = att.as_object_mut().unwrap();
    for m in ["nonce", "timestamp", "verifier"] {
        obj.remove(m);
    }
    obj.insert("signature".into(), json!(cphar_crypto::b64::encode(&sig)));

    lab.challenge("2030-06-01T10:00:00Z");
    let o = lab.respond("request.json", "2030-06-01T10:00:01Z", &["--bal", "BAL-4"]);
    assert!(o.status.success());
    let mut response: Value = serde_json::from_slice(&o.stdout).unwrap();
    response["continuousAttestation"] = att;
    lab.write("response.json", &response);
    let (code, result) = lab.verify(&doc, "2030-06-01T10:00:02Z");
    assert_eq!(
        (code, result),
        (
            1,
            (
                "invalid_signature".to_owned(),
                Some("continuous_attestation_signature".to_owned())
            )
        )
    );

    // 3. Even correctly enveloped, an attestation promising the next one in 9999 or
    //    generated years before the challenge is not fresh.
    let sealed = |generated: &str, next: &str| {
        let mut a = json!({
            "did": DID, "bindingMethod": format!("{DID}#seal-1"),
            "generatedAt": generated, "nextExpectedBy": next,
            "sensors": {"temp-1": {"value": 21.0, "unit": "Cel", "withinLimits": true}},
            "events": []
        })
        .as_object()
        .unwrap()
        .clone();
        cphar_protocol::continuous::seal(&mut a, |m| {
            Ok::<_, cphar_protocol::signed::SignedObjectError>(key.sign(m).unwrap())
        })
        .unwrap();
        Value::Object(a)
    };
    for (att, detail) in [
        (
            sealed("2030-06-01T09:59:00Z", "9999-12-31T00:00:00Z"),
            "continuous_attestation_interval_exceeded",
        ),
        (
            sealed("2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z"),
            "continuous_attestation_not_fresh",
        ),
    ] {
        response["continuousAttestation"] = att;
        lab.write("response.json", &response);
        let (code, result) = lab.verify(&doc, "2030-06-01T10:00:02Z");
        assert_eq!(
            (code, result),
            (
                1,
                (
                    "verification_inconclusive".to_owned(),
                    Some(detail.to_owned())
                )
            )
        );
    }
    response["continuousAttestation"] = sealed("2030-06-01T09:59:00Z", "2030-06-01T10:09:00Z");
    lab.write("response.json", &response);
    let (code, result) = lab.verify(&doc, "2030-06-01T10:00:02Z");
    assert_eq!((code, result), (0, ("valid".to_owned(), None)));
}

#[test]
fn stripped_tamper_report_is_not_valid_through_the_binary() {
    let lab = Lab::new();
    let (jwk, _) = lab.keygen();
    let advertising = document(&jwk, "BAL-2", json!({"cpharStatusSignature": true}));
    lab.challenge("2026-11-23T10:00:00Z");
    let o = lab.respond(
        "request.json",
        "2026-11-23T10:00:01Z",
        &["--status", "tampered"],
    );
    assert!(o.status.success());
    std::fs::write(lab.path("response.json"), &o.stdout).unwrap();
    let now = "2026-11-23T10:00:02Z";
    assert_eq!(
        lab.verify(&advertising, now),
        (
            1,
            (
                "verification_inconclusive".to_owned(),
                Some("device_tampered".to_owned())
            )
        )
    );
    let mut stripped = lab.read("response.json");
    stripped.as_object_mut().unwrap().remove("deviceStatus");
    lab.write("response.json", &stripped);
    assert_eq!(
        lab.verify(&advertising, now),
        (
            1,
            (
                "invalid_signature".to_owned(),
                Some("status_signature_mismatch".to_owned())
            )
        )
    );
    stripped.as_object_mut().unwrap().remove("statusSignature");
    lab.write("response.json", &stripped);
    assert_eq!(
        lab.verify(&advertising, now),
        (
            1,
            (
                "verification_inconclusive".to_owned(),
                Some("status_signature_missing".to_owned())
            )
        )
    );
    // Without the capability the method follows the seed alone: the stripped answer passes,
    // which is exactly what the extension exists to stop.
    let plain = document(&jwk, "BAL-2", json!({}));
    assert_eq!(lab.verify(&plain, now), (0, ("valid".to_owned(), None)));
}
