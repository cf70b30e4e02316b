//! `cphar report` end to end through the binary: dev-build two successive reports stamped by
//! the project's own TSA, dev-prove inclusion and non-inclusion, then `cphar report verify`
//! on the genuine files (exit 0) and on tampered ones (exit 1 with the reason), and the
//! cannot-run cases (exit 2).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::Timestamp;
use cphar_tsa::{DevChainParams, UnixTime, dev_tsa_chain};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cphar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args(args)
        .output()
        .expect("run cphar")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn leaf(i: u64) -> Value {
    json!({
        "commodity": if i.is_multiple_of(2) { "gold" } else { "wheat" },
        "didDocumentHash": format!("sha256:{:064x}", i + 1),
        "didVersionId": "2",
        "grade": "standard",
        "lastAttestation": {"at": "2026-11-23T10:00:00Z", "hash": format!("sha256:{:064x}", i + 100)},
        "lotId": format!("LOT-{i}"),
        "quantity": format!("{}.250", 400 + i),
        "sealUid": format!("SEAL-{i}"),
        "unit": if i.is_multiple_of(2) { "kg" } else { "t" },
    })
}

struct Lab {
    dir: tempfile::TempDir,
    now: i64,
}

impl Lab {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let now = Timestamp::now_utc().unix_seconds();
        let chain = dev_tsa_chain(&DevChainParams {
            algorithm: Algorithm::EcdsaP256Sha256,
            organization: "CPHAR CLI Report Test",
            not_before: UnixTime::from_secs(now as u64 - 86_400).unwrap(),
            not_after: UnixTime::from_secs(now as u64 + 86_400).unwrap(),
        })
        .unwrap();
        let lab = Lab { dir, now };
        std::fs::write(lab.path("tsa-key.pem"), chain.key_pem().as_bytes()).unwrap();
        std::fs::write(lab.path("tsa-cert.pem"), chain.leaf_pem()).unwrap();
        std::fs::write(lab.path("tsa-root.pem"), chain.root_pem()).unwrap();
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        std::fs::write(
            lab.path("report.key"),
            key.to_pkcs8_pem().unwrap().as_bytes(),
        )
        .unwrap();
        lab.write_json("report.jwk", &key.verifying_key().to_jwk().to_json());
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_json(&self, name: &str, v: &Value) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    }

    fn write_leaves(&self, name: &str, ids: impl Iterator<Item = u64>) -> PathBuf {
        let mut ids: Vec<u64> = ids.collect();
        ids.sort_by_key(|i| format!("LOT-{i}"));
        let text: String = ids.iter().map(|i| format!("{}\n", leaf(*i))).collect();
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn time(&self, offset: i64) -> String {
        Timestamp::from_unix_seconds(self.now + offset)
            .unwrap()
            .to_string()
    }

    fn build(&self, out: &str, leaves: &Path, now: &str, extra: &[&str]) {
        let out = self.path(out);
        let (key, tsa_key, tsa_cert) = (
            self.path("report.key"),
            self.path("tsa-key.pem"),
            self.path("tsa-cert.pem"),
        );
        let mut args = vec![
            "report",
            "dev-build",
            "--leaves",
            s(leaves),
            "--key",
            s(&key),
            "--tsa-key",
            s(&tsa_key),
            "--tsa-cert",
            s(&tsa_cert),
            "--now",
            now,
            "--state",
            "bound=30",
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        let o = cphar(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// `cphar report verify REPORT --report-key … --tsa-ca … EXTRA`: (exit code, output).
    fn verify(&self, report: &Path, extra: &[&str]) -> (i32, Value) {
        let (jwk, root) = (self.path("report.jwk"), self.path("tsa-root.pem"));
        let mut args = vec![
            "report",
            "verify",
            s(report),
            "--report-key",
            s(&jwk),
            "--tsa-ca",
            s(&root),
        ];
        args.extend_from_slice(extra);
        let o = cphar(&args);
        let code = o.status.code().unwrap();
        let out = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        (code, out)
    }
}

#[test]
fn reports_verify_and_tampering_is_named_through_the_binary() {
    let lab = Lab::new();
    let leaves1 = lab.write_leaves("leaves1.jsonl", 0..30);
    lab.build("r1.json", &leaves1, &lab.time(-600), &[]);
    let r1 = lab.path("r1.json");
    let (code, out) = lab.verify(&r1, &["--leaves", s(&leaves1)]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["result"], "valid");
    assert_eq!(
        out["checks"],
        json!({"signature": "verified", "timestamp": "verified", "leaves": "verified"})
    );

    // LOT-7's seal broke: the second report drops it, lists it with its reason.
    let leaves2 = lab.write_leaves("leaves2.jsonl", (0..30).filter(|i| *i != 7));
    let departed = lab.write_json(
        "departed.json",
        &json!([{"lotId": "LOT-7", "reason": "tamper_detected", "at": lab.time(-500)}]),
    );
    lab.build(
        "r2.json",
        &leaves2,
        &lab.time(-300),
        &["--previous", s(&r1), "--departed", s(&departed)],
    );
    let r2 = lab.path("r2.json");
    let report2: Value = serde_json::from_slice(&std::fs::read(&r2).unwrap()).unwrap();
    assert_eq!(
        report2["departed"],
        json!([{"lotId": "LOT-7", "reason": "tamper_detected", "at": lab.time(-500)}])
    );

    let proof = lab.path("absent.json");
    let o = cphar(&[
        "report",
        "dev-prove",
        "--leaves",
        s(&leaves2),
        "--report",
        s(&r2),
        "--lot",
        "LOT-7",
        "--out",
        s(&proof),
    ]);
    assert!(o.status.success());
    let (code, out) = lab.verify(
        &r2,
        &[
            "--leaves",
            s(&leaves2),
            "--previous",
            s(&r1),
            "--proof",
            s(&proof),
            "--lot",
            "LOT-7",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["checks"]["proof"], json!({"absent": "LOT-7"}));
    assert_eq!(out["checks"]["previous"], "verified");
    let (code, out) = lab.verify(
        &r2,
        &[
            "--leaves",
            s(&leaves2),
            "--previous",
            s(&r1),
            "--previous-leaves",
            s(&leaves1),
        ],
    );
    assert_eq!(
        (code, &out["checks"]["departed"]),
        (0, &json!("verified")),
        "{out}"
    );
    // Had LOT-9 left too without being listed, the departures would be incomplete.
    let leaves3 = lab.write_leaves("leaves3.jsonl", (0..30).filter(|i| *i != 7 && *i != 9));
    lab.build(
        "r3.json",
        &leaves3,
        &lab.time(-300),
        &["--previous", s(&r1), "--departed", s(&departed)],
    );
    let (code, out) = lab.verify(
        &lab.path("r3.json"),
        &[
            "--leaves",
            s(&leaves3),
            "--previous",
            s(&r1),
            "--previous-leaves",
            s(&leaves1),
        ],
    );
    assert_eq!(
        (code, out["reason"].as_str()),
        (1, Some("departed_unlisted")),
        "{out}"
    );
    let included = lab.path("included.json");
    let o = cphar(&[
        "report",
        "dev-prove",
        "--leaves",
        s(&leaves1),
        "--report",
        s(&r1),
        "--lot",
        "LOT-7",
        "--out",
        s(&included),
    ]);
    assert!(o.status.success());
    let (code, out) = lab.verify(&r1, &["--proof", s(&included)]);
    assert_eq!(
        (code, &out["checks"]["proof"]),
        (0, &json!({"included": "LOT-7"}))
    );

    // Tampered inputs: exit 1 and the reason.
    let tampered = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut v = report2.clone();
        edit(&mut v);
        lab.write_json(name, &v)
    };
    let cases: Vec<(PathBuf, Vec<String>, &str)> = vec![
        (
            tampered("t1.json", &|v| v["totals"][0]["quantity"] = json!("1")),
            vec![],
            "signature_invalid",
        ),
        (
            tampered("t2.json", &|v| {
                v["timestampToken"] = serde_json::from_slice::<Value>(&std::fs::read(&r1).unwrap())
                    .unwrap()["timestampToken"]
                    .clone()
            }),
            vec![],
            "timestamp_imprint_mismatch",
        ),
        (
            tampered("t3.json", &|v| {
                v.as_object_mut().unwrap().remove("timestampToken");
            }),
            vec![],
            "timestamp_missing",
        ),
        (
            r2.clone(),
            vec!["--previous".into(), s(&r2).into()],
            "previous_number_mismatch",
        ),
        (
            r2.clone(),
            vec!["--leaves".into(), s(&leaves1).into()],
            "departed_lot_present",
        ),
        (
            r2.clone(),
            vec!["--proof".into(), s(&included).into()],
            "proof_report_mismatch",
        ),
        (
            r1.clone(),
            vec![
                "--proof".into(),
                s(&included).into(),
                "--lot".into(),
                "LOT-8".into(),
            ],
            "proof_lot_mismatch",
        ),
    ];
    for (report, extra, want) in &cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let (code, out) = lab.verify(report, &extra);
        assert_eq!((code, out["reason"].as_str()), (1, Some(*want)), "{out}");
        assert_eq!(out["result"], "invalid");
    }
    // A tampered leaf line and a tampered proof.
    let text = std::fs::read_to_string(&leaves2)
        .unwrap()
        .replacen("standard", "substandard", 1);
    std::fs::write(lab.path("bad-leaves.jsonl"), text).unwrap();
    let (code, out) = lab.verify(&r2, &["--leaves", s(&lab.path("bad-leaves.jsonl"))]);
    assert_eq!(
        (code, out["reason"].as_str()),
        (1, Some("sum_root_mismatch")),
        "{out}"
    );
    let mut p: Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    p["lotId"] = json!("LOT-8");
    let bad_proof = lab.write_json("bad-proof.json", &p);
    let (code, out) = lab.verify(&r2, &["--proof", s(&bad_proof)]);
    assert_eq!(
        (code, out["reason"].as_str()),
        (1, Some("proof_lot_not_between")),
        "{out}"
    );

    // Another report key: invalid. Cannot run: exit 2.
    let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let other_jwk = lab.write_json("other.jwk", &other.verifying_key().to_jwk().to_json());
    let o = cphar(&["report", "verify", s(&r2), "--report-key", s(&other_jwk)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("report_key_mismatch"));
    let o = cphar(&[
        "report",
        "verify",
        s(&lab.path("missing.json")),
        "--report-key",
        s(&other_jwk),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = cphar(&["report", "verify", s(&r2), "--report-key", s(&leaves1)]);
    assert_eq!(o.status.code(), Some(2));
    // Without --tsa-ca the token is not checked, and the output says so.
    let o = cphar(&[
        "report",
        "verify",
        s(&r2),
        "--report-key",
        s(&lab.path("report.jwk")),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["checks"]["timestamp"], "not_checked");
}
