//! The vendor provisioning line against a real SoftHSM2 token: intake with a one-time
//! authorization token, key generation in the token, CSR, device certificate with the CPHAR
//! identity extension (checked by `openssl` too), provisioning record, and the registry
//! accepting the result.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

mod common;

use common::command;
use cphar_testdata::softhsm;
use std::path::Path;
use std::process::Output;

fn run(dir: &Path, conf: &Path, args: &[&str]) -> Output {
    command(env!("CARGO_BIN_EXE_cphar"))
        .args(args)
        .current_dir(dir)
        .env("SOFTHSM2_CONF", conf)
        .env("CPHAR_SEAL_PKCS11_MODULE", softhsm::MODULE)
        .env("CPHAR_SEAL_PKCS11_TOKEN", softhsm::TOKEN)
        .env("CPHAR_SEAL_PKCS11_PIN", softhsm::USER_PIN)
        .output()
        .unwrap()
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[track_caller]
fn refused(out: &Output, code: &str) {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(code), "expected {code}: {stderr}");
}

fn intake(dir: &Path, conf: &Path, uid: &str, token: &str) {
    ok(&run(
        dir,
        conf,
        &[
            "vendor",
            "intake",
            "--line",
            "line",
            "--uid",
            uid,
            "--hardware-id",
            "HW-77",
            "--sku",
            "AS-100",
            "--batch",
            "B-48",
            "--operator",
            "op-1",
            "--station",
            "S-01",
            "--token-out",
            token,
        ],
    ));
}

fn provision(dir: &Path, conf: &Path, uid: &str, token: &str, out: &str) -> Output {
    run(
        dir,
        conf,
        &[
            "vendor",
            "provision",
            "--line",
            "line",
            "--ca-dir",
            "vendor",
            "--uid",
            uid,
            "--authorization",
            token,
            "--key-label",
            uid,
            "--operator",
            "op-2",
            "--station",
            "S-02",
            "--evidence-ref",
            "evidence://station-2/1",
            "--out",
            out,
        ],
    )
}

#[test]
fn provisioning_line_on_softhsm() {
    if let Some(missing) = softhsm::missing_tools() {
        cphar_testdata::skip(&format!("cphar vendor provision: {missing}"));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let conf = softhsm::init_token(dir).unwrap();
    ok(&run(dir, &conf, &["vendor", "dev-ca", "--dir", "vendor"]));

    intake(dir, &conf, "SEAL-7", "seal-7.token");
    // The token file is owner-only and the intake record holds only its hash.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("seal-7.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0);
    let token = std::fs::read_to_string(dir.join("seal-7.token")).unwrap();
    let intake_text = std::fs::read_to_string(dir.join("line/intake/SEAL-7.json")).unwrap();
    assert!(!intake_text.contains(token.trim()));
    // A device is taken in once.
    refused(
        &run(
            dir,
            &conf,
            &[
                "vendor",
                "intake",
                "--line",
                "line",
                "--uid",
                "SEAL-7",
                "--hardware-id",
                "X",
                "--sku",
                "AS-100",
                "--batch",
                "B",
                "--operator",
                "o",
                "--station",
                "s",
                "--token-out",
                "again.token",
            ],
        ),
        "must not exist",
    );

    // Another device's token does not authorize this one, and spends nothing.
    intake(dir, &conf, "SEAL-8", "seal-8.token");
    refused(
        &provision(dir, &conf, "SEAL-7", "seal-8.token", "wrong.json"),
        "authorization_invalid",
    );

    let out = ok(&provision(
        dir,
        &conf,
        "SEAL-7",
        "seal-7.token",
        "seal-7.json",
    ));
    assert!(out.contains("provisioned"), "{out}");
    // One-time: spent even though it succeeded once.
    refused(
        &provision(dir, &conf, "SEAL-7", "seal-7.token", "seal-7b.json"),
        "authorization_used",
    );

    // The record names the stations, the evidence and the key's protection in the token.
    let records: Vec<_> = std::fs::read_dir(dir.join("line/records"))
        .unwrap()
        .collect();
    assert_eq!(records.len(), 1);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(records[0].as_ref().unwrap().path()).unwrap())
            .unwrap();
    assert_eq!(record["operator"], "op-2");
    assert_eq!(record["station"], "S-02");
    assert_eq!(record["evidenceRef"], "evidence://station-2/1");
    assert_eq!(record["key"]["origin"], "generated-on-device");
    assert_eq!(record["key"]["token"]["extractable"], false);
    assert_eq!(record["key"]["token"]["sensitive"], true);
    assert_eq!(record["verifyResult"], "accepted");

    // openssl reads the chain and sees the identity extension under the 2.25 arc.
    let registration: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("seal-7.json")).unwrap()).unwrap();
    let chain = registration["certificateChainPem"].as_str().unwrap();
    let leaf_end = chain.find("-----END CERTIFICATE-----").unwrap() + 26;
    std::fs::write(dir.join("leaf.pem"), &chain[..leaf_end]).unwrap();
    std::fs::write(dir.join("issuing.pem"), &chain[leaf_end..]).unwrap();
    if common::command("openssl").arg("version").output().is_ok() {
        let verify = common::command("openssl")
            .args([
                "verify",
                "-CAfile",
                "vendor/root-ca.pem",
                "-untrusted",
                "issuing.pem",
            ])
            .arg("leaf.pem")
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stdout)
        );
        let text = common::command("openssl")
            .args(["x509", "-noout", "-text", "-in", "leaf.pem"])
            .current_dir(dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("2.25.256361448467631985424350402292279644325.1"),
            "{text}"
        );
    } else {
        cphar_testdata::skip("provisioning line: openssl cross-check (no `openssl`)");
    }

    // A registry trusting this vendor with `device_identity = "required"` wants proof of
    // possession: refused without it, accepted once the token signed the EA's challenge.
    ok(&run(
        dir,
        &conf,
        &["registry", "init", "--data-dir", "data"],
    ));
    let trust = std::fs::read_to_string(dir.join("vendor/vendors.toml")).unwrap();
    let strict = trust.replacen(
        "[[vendors.firmware]]",
        "device_identity = \"required\"\nskus = [\"AS-100\"]\n\n[[vendors.firmware]]",
        1,
    );
    assert_ne!(strict, trust);
    std::fs::write(dir.join("data/vendors.toml"), strict).unwrap();
    let register = |file: &str| {
        run(
            dir,
            &conf,
            &[
                "registry",
                "register",
                "--data-dir",
                "data",
                "--file",
                file,
                "--actor",
                "vendor-ops",
            ],
        )
    };
    refused(&register("seal-7.json"), "enrollment_proof_missing");
    let challenge = ok(&run(
        dir,
        &conf,
        &["registry", "enrollment-challenge", "--data-dir", "data"],
    ));
    std::fs::write(dir.join("challenge.json"), challenge).unwrap();
    let enrolled = ok(&run(
        dir,
        &conf,
        &[
            "seal",
            "enroll",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-7",
            "--challenge",
            "challenge.json",
            "--registration",
            "seal-7.json",
        ],
    ));
    std::fs::write(dir.join("seal-7-enrolled.json"), enrolled).unwrap();
    let registered = ok(&register("seal-7-enrolled.json"));
    assert!(registered.contains("SEAL-7"), "{registered}");

    // The vendor revokes SEAL-8's certificate: with the CRL bundle in DATA_DIR/crls the
    // registry refuses it (the bundle is verified when the registry opens).
    ok(&provision(
        dir,
        &conf,
        "SEAL-8",
        "seal-8.token",
        "seal-8.json",
    ));
    let seal_8: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("seal-8.json")).unwrap()).unwrap();
    let chain = seal_8["certificateChainPem"].as_str().unwrap();
    let leaf_end = chain.find("-----END CERTIFICATE-----").unwrap() + 26;
    std::fs::write(dir.join("leaf-8.pem"), &chain[..leaf_end]).unwrap();
    let serial = common::command("openssl")
        .args(["x509", "-noout", "-serial", "-in", "leaf-8.pem"])
        .current_dir(dir)
        .output()
        .unwrap();
    let serial = String::from_utf8(serial.stdout).unwrap();
    let serial = serial
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase();
    ok(&run(
        dir,
        &conf,
        &[
            "vendor", "crl", "--ca-dir", "vendor", "--revoke", &serial, "--out", "crl.pem",
        ],
    ));
    std::fs::create_dir(dir.join("data/crls")).unwrap();
    std::fs::copy(dir.join("crl.pem"), dir.join("data/crls/acme.pem")).unwrap();
    let challenge = ok(&run(
        dir,
        &conf,
        &["registry", "enrollment-challenge", "--data-dir", "data"],
    ));
    std::fs::write(dir.join("challenge-8.json"), challenge).unwrap();
    let enrolled = ok(&run(
        dir,
        &conf,
        &[
            "seal",
            "enroll",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-8",
            "--challenge",
            "challenge-8.json",
            "--registration",
            "seal-8.json",
        ],
    ));
    std::fs::write(dir.join("seal-8-enrolled.json"), enrolled).unwrap();
    refused(
        &register("seal-8-enrolled.json"),
        "device_certificate_revoked",
    );

    // A bundle that does not verify (the CRL of another vendor PKI) stops the registry from
    // opening at all: an installed CRL must count.
    ok(&run(dir, &conf, &["vendor", "dev-ca", "--dir", "other"]));
    ok(&run(
        dir,
        &conf,
        &[
            "vendor",
            "crl",
            "--ca-dir",
            "other",
            "--out",
            "other-crl.pem",
        ],
    ));
    std::fs::copy(dir.join("other-crl.pem"), dir.join("data/crls/other.pem")).unwrap();
    refused(&register("seal-8-enrolled.json"), "crl_issuer_untrusted");
}
