//! The simulated PUF seal through the `cphar` binary: characterize, enroll, answer challenges
//! with `seal respond` and over HTTP with `seal serve`, verify with `cphar verify` against a
//! BAL-3 method carrying the PID; tampered helper data is caught.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

mod common;

use common::cphar;
use serde_json::{Value, json};
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::{Output, Stdio};

const DID: &str = "did:web:reg.example:lots:LOT-9";
const METHOD: &str = "did:web:reg.example:lots:LOT-9#seal-1";
const HELPER_URI: &str = "https://reg.example/helper-data/LOT-9.bin";

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Characterizes (small run), enrolls a device, writes `did.json`; returns the PID.
fn enroll(d: &Path) -> Value {
    let stats = ok(&cphar(
        d,
        &[
            "puf",
            "characterize",
            "--devices",
            "30",
            "--reads",
            "4",
            "--json",
        ],
    ));
    std::fs::write(d.join("stats.json"), &stats).unwrap();
    let o = cphar(
        d,
        &[
            "puf",
            "enroll",
            "--out",
            "device.json",
            "--helper-data-out",
            "helper.bin",
            "--helper-data-uri",
            HELPER_URI,
            "--statistics",
            "stats.json",
        ],
    );
    // Too few devices for a published PID (C-07): enrolled, with a warning.
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("at least 1000"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let enrolled: Value = serde_json::from_str(&ok(&o)).unwrap();
    let doc = json!({
        "id": DID,
        "versionId": "1",
        "verificationMethod": [{
            "id": METHOD,
            "type": "UORABindingVerification",
            "controller": DID,
            "publicKeyJwk": enrolled["publicKeyJwk"],
            "bal": "BAL-3",
            "tfp": "urn:uora:trust-framework:profile-1",
            "pid": enrolled["pid"],
        }],
        "assertionMethod": [METHOD],
    });
    std::fs::write(d.join("did.json"), doc.to_string()).unwrap();
    enrolled["pid"].clone()
}

fn challenge(d: &Path) {
    let request = ok(&cphar(
        d,
        &[
            "challenge",
            "--did",
            DID,
            "--verifier",
            "did:web:verifier.example",
            "--min-bal",
            "BAL-3",
        ],
    ));
    std::fs::write(d.join("request.json"), request).unwrap();
}

/// `cphar verify` of `request.json` / `response.json`; returns (exit code, result object).
fn verify(d: &Path) -> (i32, Value) {
    let helper = format!("{HELPER_URI}=helper.bin");
    let o = cphar(
        d,
        &[
            "verify",
            "--request",
            "request.json",
            "--response",
            "response.json",
            "--did-document",
            "did.json",
            "--helper-data",
            &helper,
        ],
    );
    (
        o.status.code().unwrap(),
        serde_json::from_slice(&o.stdout).unwrap(),
    )
}

#[test]
fn characterize_prints_figures_and_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let text = ok(&cphar(
        dir.path(),
        &[
            "puf",
            "characterize",
            "--devices",
            "20",
            "--reads",
            "3",
            "--seed",
            "7",
        ],
    ));
    for needle in [
        "inter-device HD (190 pairs)",
        "intra-device HD (60 reads)",
        "key re-derivation: 0 failures / 60 attempts",
        "BCH(1023, 258, 106)",
        "inter-device HD histogram",
        "intra-device HD histogram",
        "|#",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let json: Value = serde_json::from_str(&ok(&cphar(
        dir.path(),
        &[
            "puf",
            "characterize",
            "--devices",
            "20",
            "--reads",
            "3",
            "--seed",
            "7",
            "--json",
        ],
    )))
    .unwrap();
    let inter = json["pufStatistics"]["interDeviceHD"]["mean"]
        .as_f64()
        .unwrap();
    assert!((inter - 0.5).abs() < 0.02, "{json}");
    assert_eq!(json["keyRederivation"]["attempts"], 60);
    // Bad options are refused, not run.
    let o = cphar(dir.path(), &["puf", "characterize", "--mean-flip", "0.7"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_puf_seal_answers_through_the_cli_and_tampered_helper_data_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pid = enroll(d);
    assert_eq!(pid["pufStatistics"]["sampleSize"], 30);
    for _ in 0..5 {
        challenge(d);
        let response = ok(&cphar(
            d,
            &[
                "seal",
                "respond",
                "--backend",
                "puf",
                "--puf-device",
                "device.json",
                "--request",
                "request.json",
            ],
        ));
        std::fs::write(d.join("response.json"), response).unwrap();
        let (code, result) = verify(d);
        assert_eq!((code, &result["result"]), (0, &json!("valid")), "{result}");
        assert_eq!(result["bal"], "BAL-3");
    }

    // The helper data served is not what the PID hashes: the verifier refuses.
    let mut helper = std::fs::read(d.join("helper.bin")).unwrap();
    helper[50] ^= 1;
    std::fs::write(d.join("helper.bin"), &helper).unwrap();
    let (code, result) = verify(d);
    assert_eq!(code, 1);
    assert_eq!(
        (&result["result"], &result["detail"]),
        (&json!("invalid_pid"), &json!("helper_data_hash_mismatch"))
    );

    // The device's own helper data altered: the seal refuses to sign (no wrong key).
    let mut device: Value =
        serde_json::from_slice(&std::fs::read(d.join("device.json")).unwrap()).unwrap();
    let mut bytes = cphar_crypto::b64::decode(device["helperData"].as_str().unwrap()).unwrap();
    bytes[60] ^= 1;
    device["helperData"] = json!(cphar_crypto::b64::encode(&bytes));
    std::fs::write(d.join("tampered.json"), device.to_string()).unwrap();
    let o = cphar(
        d,
        &[
            "seal",
            "respond",
            "--backend",
            "puf",
            "--puf-device",
            "tampered.json",
            "--request",
            "request.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("puf_key_check_failed"), "{err}");
}

#[cfg(unix)]
#[test]
fn seal_serve_answers_as_a_puf_seal_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    enroll(d);
    let mut child = common::command(env!("CARGO_BIN_EXE_cphar"))
        .args([
            "seal",
            "serve",
            "--backend",
            "puf",
            "--puf-device",
            "device.json",
            "--binding-method",
            METHOD,
        ])
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(d)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.strip_suffix("/challenge"))
        .unwrap_or_else(|| panic!("no address in {first}"))
        .to_owned();
    for _ in 0..3 {
        challenge(d);
        let body = std::fs::read(d.join("request.json")).unwrap();
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "POST /challenge HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let (_, json) = answer.split_once("\r\n\r\n").unwrap();
        std::fs::write(d.join("response.json"), json).unwrap();
        let (code, result) = verify(d);
        assert_eq!(code, 0, "{result}");
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
