//! `cphar registry …` end to end on a SQLite data directory: register (vendor attestation
//! checked), inspect, bind, sign off, show, list, revoke; refusals exit 1 with their code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

fn cphar(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args([
            "registry",
            "--data-dir",
            data.to_str().unwrap(),
            "--host",
            "reg.example",
        ])
        .args(args)
        .output()
        .expect("run cphar")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_registry_cli_runs_a_lot_through_its_life() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A vendor root and a device certificate for the seal key.
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut root = CertificateParams::new(Vec::<String>::new()).unwrap();
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let root_cert = root.self_signed(&root_key).unwrap();
    let seal_key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let leaf_cert = leaf
        .signed_by(&seal_key, &Issuer::from_params(&root, &root_key))
        .unwrap();
    let jwk = cphar_crypto::SigningKey::from_pkcs8_der(&seal_key.serialize_der())
        .unwrap()
        .verifying_key()
        .to_jwk()
        .to_json();
    let firmware = format!("sha256:{}", "5e".repeat(32));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("vendors.json"),
        json!({"format": "cphar-vendor-trust/1", "vendors": [{"id": "acme", "roots": [root_cert.pem()], "firmware": [{"measurement": firmware}]}]}).to_string(),
    )
    .unwrap();
    let vendors = data.join("vendors.json");
    let v = ["--vendors", vendors.to_str().unwrap()];
    let write = |name: &str, value: Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, value.to_string()).unwrap();
        p
    };
    let seal = write(
        "seal.json",
        json!({"uid": "SEAL-1", "vendor": "acme", "deviceType": "AS-100", "hardwareRevision": "C", "bal": "BAL-2",
               "publicJwk": jwk, "certificateChainPem": leaf_cert.pem(), "firmwareMeasurement": firmware,
               "tamperEvidence": {"carrierClass": "bolt-seal", "specification": "ISO 17712"}}),
    );
    let inspection = write(
        "inspection.json",
        json!({"lotId": "LOT-1", "sealUid": "SEAL-1", "commodity": "gold", "quantity": {"amount": "400.000", "unit": "troy_oz"},
               "grade": "LBD", "containerId": "C-1", "location": "Vault 1", "owner": "Owner AG",
               "evidence": {"hash": format!("sha256:{}", "ab".repeat(32)), "uri": "https://evidence.example/1"}}),
    );

    ok(&cphar(&data, &[&v[..], &["init"]].concat()));
    let out = ok(&cphar(
        &data,
        &[
            &v[..],
            &[
                "register",
                "--file",
                seal.to_str().unwrap(),
                "--actor",
                "vendor-ops",
            ],
        ]
        .concat(),
    ));
    assert!(out.contains("seal SEAL-1 registered (registered)"), "{out}");
    // The same seal again: refused with its code, exit 1.
    let again = cphar(
        &data,
        &[
            &v[..],
            &[
                "register",
                "--file",
                seal.to_str().unwrap(),
                "--actor",
                "vendor-ops",
            ],
        ]
        .concat(),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("duplicate_device_uid"));
    ok(&cphar(
        &data,
        &[
            &v[..],
            &[
                "inspect",
                "--file",
                inspection.to_str().unwrap(),
                "--actor",
                "inspector-1",
            ],
        ]
        .concat(),
    ));
    ok(&cphar(
        &data,
        &[&v[..], &["bind", "--lot", "LOT-1", "--actor", "operator-1"]].concat(),
    ));
    let same = cphar(
        &data,
        &[
            &v[..],
            &[
                "--json",
                "sign-off",
                "--lot",
                "LOT-1",
                "--actor",
                "operator-1",
            ],
        ]
        .concat(),
    );
    assert_eq!(same.status.code(), Some(1));
    let problem: Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(problem["error"]["code"], "separation_of_duties");
    ok(&cphar(
        &data,
        &[
            &v[..],
            &["sign-off", "--lot", "LOT-1", "--actor", "auditor-1"],
        ]
        .concat(),
    ));

    let active: Value = serde_json::from_str(&ok(&cphar(&data, &["--json", "active"]))).unwrap();
    assert_eq!(active.as_array().unwrap().len(), 1);
    assert_eq!(active[0]["lotId"], "LOT-1");
    let table = ok(&cphar(&data, &["active"]));
    assert!(table.contains("LOT-1") && table.contains("gold"), "{table}");
    let lot: Value = serde_json::from_str(&ok(&cphar(&data, &["--json", "lot", "LOT-1"]))).unwrap();
    assert_eq!(lot["lot"]["active"], true);
    assert_eq!(
        lot["bindings"][0]["id"],
        "did:web:reg.example:lots:LOT-1#seal-1"
    );
    let shown = ok(&cphar(&data, &["seal", "SEAL-1"]));
    assert!(
        shown.contains("state        sealed") && shown.contains("seal_registered"),
        "{shown}"
    );
    let doc: Value =
        serde_json::from_str(&ok(&cphar(&data, &["did", "LOT-1", "--version-id", "1"]))).unwrap();
    assert_eq!(doc["versionId"], "1");

    ok(&cphar(
        &data,
        &[
            &v[..],
            &[
                "revoke",
                "--lot",
                "LOT-1",
                "--reason",
                "tamper_detected",
                "--actor",
                "operator-1",
            ],
        ]
        .concat(),
    ));
    let active: Value = serde_json::from_str(&ok(&cphar(&data, &["--json", "active"]))).unwrap();
    assert!(active.as_array().unwrap().is_empty());
    let doc: Value = serde_json::from_str(&ok(&cphar(&data, &["did", "LOT-1"]))).unwrap();
    assert_eq!(
        doc["verificationMethod"][0]["revoked"]["reason"],
        "tamper_detected"
    );
    let bad = cphar(
        &data,
        &[
            &v[..],
            &[
                "revoke",
                "--lot",
                "LOT-1",
                "--reason",
                "because",
                "--actor",
                "operator-1",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown reason code is a usage error"
    );

    // Every command above that changed something is in the audit log, which verifies.
    let export = Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args(["audit", "export", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    let file = dir.path().join("log.jsonl");
    std::fs::write(&file, &export.stdout).unwrap();
    let identity = Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args([
            "audit",
            "identity-key",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(identity.status.success());
    let id_file = dir.path().join("identity.jwk");
    std::fs::write(&id_file, &identity.stdout).unwrap();
    let verify = Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args([
            "audit",
            "verify",
            file.to_str().unwrap(),
            "--identity-key",
            id_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
