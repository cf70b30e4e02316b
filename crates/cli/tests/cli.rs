//! The public CLI, end to end: keys from `cphar keygen`, challenges from `cphar challenge`,
//! answers from `cphar seal respond`, checked by `cphar verify` — every §4.6 result code an
//! offline check can reach, and the exit-code contract (0 valid, 1 other result, 2 cannot run).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const DID: &str = "did:web:reg.example:lots:LOT-7";
const VERIFIER: &str = "did:web:verifier.example";
const T0: &str = "2026-11-23T10:00:00Z";
const T1: &str = "2026-11-23T10:00:01Z";

fn cphar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args(args)
        .output()
        .expect("run cphar")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
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
        std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
        p
    }

    /// `cphar keygen`; returns the public JWK.
    fn keygen(&self, name: &str, profile: &str) -> Value {
        let key = self.path(name);
        let o = cphar(&["keygen", "--profile", profile, "--out", s(&key)]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    }

    /// `cphar challenge`, written to `request.json`.
    fn challenge(&self, extra: &[&str]) -> PathBuf {
        let mut args = vec![
            "challenge",
            "--did",
            DID,
            "--verifier",
            VERIFIER,
            "--now",
            T0,
        ];
        args.extend_from_slice(extra);
        let o = cphar(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let p = self.path("request.json");
        std::fs::write(&p, o.stdout).unwrap();
        p
    }

    /// `cphar seal respond`, written to `response.json`.
    fn respond(&self, key: &str, extra: &[&str]) -> PathBuf {
        let key = self.path(key);
        let req = self.path("request.json");
        let mut args = vec![
            "seal",
            "respond",
            "--key",
            s(&key),
            "--request",
            s(&req),
            "--now",
            T1,
        ];
        args.extend_from_slice(extra);
        let o = cphar(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let p = self.path("response.json");
        std::fs::write(&p, o.stdout).unwrap();
        p
    }

    fn verify(&self, doc: &Value, extra: &[&str]) -> (i32, Value) {
        let doc = self.write("did.json", doc);
        let (req, resp) = (self.path("request.json"), self.path("response.json"));
        let mut args = vec![
            "verify",
            "--request",
            s(&req),
            "--response",
            s(&resp),
            "--did-document",
            s(&doc),
        ];
        if !extra.contains(&"--now") {
            args.extend_from_slice(&["--now", "2026-11-23T10:00:02Z"]);
        }
        args.extend_from_slice(extra);
        let o = cphar(&args);
        let code = o.status.code().unwrap();
        assert_ne!(code, 2, "verify could not run: {}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.lines().count(), 1, "exactly one JSON object: {out}");
        (code, serde_json::from_str(&out).unwrap())
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn method(jwk: &Value, bal: &str) -> Value {
    json!({
        "id": format!("{DID}#seal-1"),
        "type": "UORABindingVerification",
        "controller": DID,
        "publicKeyJwk": jwk,
        "bal": bal,
        "tfp": "urn:uora:trust-framework:profile-1"
    })
}

fn document(methods: Vec<Value>) -> Value {
    let ids: Vec<Value> = methods.iter().map(|m| m["id"].clone()).collect();
    json!({"id": DID, "versionId": "1", "verificationMethod": methods, "assertionMethod": ids})
}

fn result(v: &Value) -> (&str, Option<&str>) {
    (v["result"].as_str().unwrap(), v["detail"].as_str())
}

#[test]
fn valid_for_both_profiles_prints_exactly_the_result_object() {
    for profile in ["ed25519", "p256"] {
        let lab = Lab::new();
        let jwk = lab.keygen("seal.key", profile);
        lab.challenge(&["--min-bal", "BAL-2"]);
        lab.respond("seal.key", &[]);
        let (code, out) = lab.verify(&document(vec![method(&jwk, "BAL-2")]), &[]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            json!({"result": "valid", "detail": null, "bal": "BAL-2", "bindingMethod": format!("{DID}#seal-1")})
        );
    }
}

#[test]
fn invalid_signature_from_another_seal() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.keygen("impostor.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("impostor.key", &[]);
    let (code, out) = lab.verify(&document(vec![method(&jwk, "BAL-2")]), &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("invalid_signature", Some("signature_mismatch")))
    );
}

#[test]
fn expired_challenge() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &[]);
    let doc = document(vec![method(&jwk, "BAL-2")]);
    let (code, out) = lab.verify(&doc, &["--now", "2026-11-23T10:05:01Z"]);
    assert_eq!(
        (code, result(&out)),
        (1, ("expired_challenge", Some("challenge_expired")))
    );
    // The same answer passes with a wider tolerance.
    let (code, _) = lab.verify(
        &doc,
        &["--now", "2026-11-23T10:05:01Z", "--skew-seconds", "600"],
    );
    assert_eq!(code, 0);
}

#[test]
fn revoked_binding() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &[]);
    let mut m = method(&jwk, "BAL-2");
    m["revoked"] = json!({"timestamp": T0, "reason": "tamper_detected"});
    let (code, out) = lab.verify(&document(vec![m]), &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("revoked_binding", Some("tamper_detected")))
    );
    assert_eq!(out["bal"], "BAL-2");
}

#[test]
fn insufficient_bal() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&["--min-bal", "BAL-3"]);
    lab.respond("seal.key", &[]);
    let (code, out) = lab.verify(&document(vec![method(&jwk, "BAL-2")]), &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("insufficient_bal", Some("no_method_meets_min_bal")))
    );
    assert_eq!(out["bal"], Value::Null);
}

#[test]
fn verification_inconclusive_when_tampered_or_malformed() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &["--status", "tampered"]);
    let doc = document(vec![method(&jwk, "BAL-2")]);
    let (code, out) = lab.verify(&doc, &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("verification_inconclusive", Some("device_tampered")))
    );

    // A malformed message is a verification result (exit 1), not a failure to run.
    std::fs::write(lab.path("response.json"), br#"{"did":"x","did":"y"}"#).unwrap();
    let (code, out) = lab.verify(&doc, &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("verification_inconclusive", Some("malformed_response")))
    );
}

#[test]
fn response_time_bound_through_the_cli() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &[]);
    let doc = document(vec![method(&jwk, "BAL-2")]);
    let timing = [
        "--max-response-ms",
        "2000",
        "--sent-at",
        T0,
        "--received-at",
    ];
    let mut slow = timing.to_vec();
    slow.push("2026-11-23T10:00:02.5Z");
    let (code, out) = lab.verify(&doc, &slow);
    assert_eq!(
        (code, result(&out)),
        (
            1,
            ("verification_inconclusive", Some("response_time_exceeded"))
        )
    );
    let mut fast = timing.to_vec();
    fast.push("2026-11-23T10:00:00.040Z");
    assert_eq!(lab.verify(&doc, &fast).0, 0);
}

#[test]
fn version_unavailable() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&["--did-version", "2"]);
    lab.respond("seal.key", &[]);
    let (code, out) = lab.verify(&document(vec![method(&jwk, "BAL-2")]), &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("version_unavailable", Some("version_not_resolved")))
    );
}

#[test]
fn no_binding_method() {
    let lab = Lab::new();
    lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &[]);
    let (code, out) = lab.verify(&document(vec![]), &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("no_binding_method", Some("no_usable_method")))
    );
}

#[test]
fn invalid_nonce() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    let resp = lab.respond("seal.key", &[]);
    let mut r: Value = serde_json::from_slice(&std::fs::read(&resp).unwrap()).unwrap();
    r["nonce"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    lab.write("response.json", &r);
    let (code, out) = lab.verify(&document(vec![method(&jwk, "BAL-2")]), &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("invalid_nonce", Some("nonce_mismatch")))
    );
}

#[test]
fn unsupported_trust_framework() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &[]);
    let mut m = method(&jwk, "BAL-2");
    m["tfp"] = json!("urn:example:tfp-unknown");
    let doc = document(vec![m]);
    let (code, out) = lab.verify(&doc, &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("unsupported_trust_framework", Some("tfp_unsupported")))
    );
    let (code, _) = lab.verify(&doc, &["--tfp", "urn:example:tfp-unknown"]);
    assert_eq!(code, 0);
}

#[test]
fn profile_c_risk_not_accepted_and_accepted() {
    let lab = Lab::new();
    lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &[]);
    // The device MACs JCS(request) with its AES-128 key (what a profile C tag does).
    let key_hex = "2b7e151628aed2a6abf7158809cf4f3c";
    let mac_key = cphar_crypto::CmacAes128Key::from_slice(&hex(key_hex)).unwrap();
    let request = cphar_protocol::ChallengeRequest::from_json(
        &std::fs::read(lab.path("request.json")).unwrap(),
    )
    .unwrap();
    let mut r: Value =
        serde_json::from_slice(&std::fs::read(lab.path("response.json")).unwrap()).unwrap();
    r["signature"] = json!(cphar_crypto::b64::encode(
        &mac_key.mac(request.canonical_bytes())
    ));
    lab.write("response.json", &r);

    let mut m = method(
        &json!({"kty": "oct", "alg": "CMAC-AES128", "kid": "tag-1"}),
        "BAL-2",
    );
    let doc = document(vec![m.clone()]);
    // The key comes from a file, never from the command line.
    let key_file = lab.path("tag-1.key");
    std::fs::write(&key_file, format!("{key_hex}\n")).unwrap();
    let cmac = format!("tag-1={}", s(&key_file));
    let (code, out) = lab.verify(&doc, &["--cmac-key", &cmac]);
    assert_eq!(
        (code, result(&out)),
        (
            1,
            (
                "profile_c_risk_not_accepted",
                Some("risk_acceptance_missing")
            )
        )
    );

    // With a risk acceptance signed by a party the verifier trusts: valid.
    let acceptor_jwk = lab.keygen("acceptor.key", "ed25519");
    lab.write("acceptor.jwk", &acceptor_jwk);
    let acceptor = cphar_crypto::SigningKey::from_pkcs8_pem(
        &std::fs::read_to_string(lab.path("acceptor.key")).unwrap(),
    )
    .unwrap();
    let mut ra = json!({
        "acceptingParty": "did:web:owner.example",
        "bindingMethod": format!("{DID}#seal-1"),
        "statement": cphar_protocol::risk::RISK_ACCEPTANCE_STATEMENT,
        "acceptedAt": "2026-11-01T00:00:00Z"
    })
    .as_object()
    .unwrap()
    .clone();
    let input = cphar_protocol::signed::signing_input(&ra).unwrap();
    ra.insert(
        "signature".into(),
        json!(cphar_crypto::b64::encode(&acceptor.sign(&input).unwrap())),
    );
    m["profileCRiskAcceptance"] = Value::Object(ra);
    let doc = document(vec![m]);
    let trust = format!("did:web:owner.example={}", s(&lab.path("acceptor.jwk")));
    let (code, out) = lab.verify(&doc, &["--cmac-key", &cmac, "--risk-acceptor-key", &trust]);
    assert_eq!((code, result(&out)), (0, ("valid", None)));
    // Untrusted acceptor: refused.
    let (code, out) = lab.verify(&doc, &["--cmac-key", &cmac]);
    assert_eq!(
        (code, result(&out)),
        (
            1,
            (
                "profile_c_risk_not_accepted",
                Some("risk_acceptance_invalid")
            )
        )
    );
}

#[test]
fn invalid_pid() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &["--bal", "BAL-3"]);
    let (code, out) = lab.verify(&document(vec![method(&jwk, "BAL-3")]), &[]);
    assert_eq!(
        (code, result(&out)),
        (1, ("invalid_pid", Some("invalid_pid")))
    );
    assert_eq!(out["bal"], "BAL-3");
}

#[test]
fn pvs_key_option_feeds_pbac_validation() {
    let lab = Lab::new();
    let jwk = lab.keygen("seal.key", "ed25519");
    let pvs_jwk = lab.keygen("pvs.key", "p256");
    lab.write("pvs.jwk", &pvs_jwk);
    lab.challenge(&["--request-pbac"]);
    let resp = lab.respond("seal.key", &[]);
    let request = cphar_protocol::ChallengeRequest::from_json(
        &std::fs::read(lab.path("request.json")).unwrap(),
    )
    .unwrap();
    let pvs = cphar_crypto::SigningKey::from_pkcs8_pem(
        &std::fs::read_to_string(lab.path("pvs.key")).unwrap(),
    )
    .unwrap();
    let thumb = cphar_crypto::Jwk::from_json(&jwk)
        .unwrap()
        .thumbprint_urn()
        .unwrap();
    let mut att = json!({
        "pvsDid": "did:web:pvs.example", "deviceJwkThumbprint": thumb,
        "decryptedNonce": request.nonce(), "latencyMs": 3.1, "latencyBoundMs": 10,
        "latencyValid": true, "verifiedAt": T1
    })
    .as_object()
    .unwrap()
    .clone();
    let input = cphar_protocol::signed::signing_input(&att).unwrap();
    att.insert(
        "signature".into(),
        json!(cphar_crypto::b64::encode(&pvs.sign(&input).unwrap())),
    );
    let mut r: Value = serde_json::from_slice(&std::fs::read(&resp).unwrap()).unwrap();
    r["nonce"] = json!(cphar_crypto::b64::encode(&[0x5a; 32]));
    r["pbacApplied"] = json!(true);
    r["pbacSignature"] = Value::Object(att);
    lab.write("response.json", &r);
    let mut m = method(&jwk, "BAL-2");
    m["pbac"] =
        json!({"pvsDid": "did:web:pvs.example", "ckHash": cphar_crypto::b64::encode(&[7; 32])});
    let doc = document(vec![m]);
    let pvs_arg = format!("did:web:pvs.example={}", s(&lab.path("pvs.jwk")));
    assert_eq!(lab.verify(&doc, &["--pvs-key", &pvs_arg]).0, 0);
    let (code, out) = lab.verify(&doc, &[]);
    assert_eq!(
        (code, result(&out)),
        (
            1,
            ("verification_inconclusive", Some("pbac_validation_failed"))
        )
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// --- exit code 2: the command cannot run ---------------------------------------------------

#[track_caller]
fn assert_cannot_run(o: &Output) {
    assert_eq!(o.status.code(), Some(2), "stdout: {}", stdout(o));
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "one clear line: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unreadable_files_and_bad_options_exit_2() {
    let lab = Lab::new();
    let missing = lab.path("missing.json");
    let o = cphar(&[
        "verify",
        "--request",
        s(&missing),
        "--response",
        s(&missing),
        "--did-document",
        s(&missing),
    ]);
    assert_cannot_run(&o);
    assert!(stderr(&o).contains("missing.json"));

    let jwk = lab.keygen("seal.key", "ed25519");
    lab.challenge(&[]);
    lab.respond("seal.key", &[]);
    let doc = lab.write("did.json", &document(vec![method(&jwk, "BAL-2")]));
    let base = |extra: &[&str]| {
        let mut a = vec![
            "verify".to_owned(),
            "--request".into(),
            s(&lab.path("request.json")).into(),
            "--response".into(),
            s(&lab.path("response.json")).into(),
            "--did-document".into(),
            s(&doc).into(),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    // A key file that is not 16 bytes / 32 hex digits; and a key given as hex on the command
    // line (the old form) is a missing file, not a key.
    let short = lab.path("short.key");
    std::fs::write(&short, "deadbeef").unwrap();
    let short_key = format!("k1={}", s(&short));
    let hex_on_command_line = "k1=2b7e151628aed2a6abf7158809cf4f3c".to_owned();
    for extra in [
        &["--now", "yesterday"][..],
        &["--cmac-key", "k1=zz"],
        &["--cmac-key", "k1=00112233"],
        &["--cmac-key", &short_key],
        &["--cmac-key", &hex_on_command_line],
        &["--cmac-key", "nokey"],
        &["--pvs-key", "did:web:p=/nonexistent.jwk"],
    ] {
        let args = base(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = cphar(&refs);
        assert_cannot_run(&o);
        assert!(!stderr(&o).contains("deadbeef"), "key bytes echoed");
    }
    // clap usage errors also exit 2.
    assert_eq!(cphar(&["verify", "--bogus"]).status.code(), Some(2));
}

#[test]
fn keygen_refuses_to_overwrite_and_seal_refuses_bad_inputs() {
    let lab = Lab::new();
    lab.keygen("seal.key", "p256");
    assert_cannot_run(&cphar(&[
        "keygen",
        "--profile",
        "p256",
        "--out",
        s(&lab.path("seal.key")),
    ]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(lab.path("seal.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others");
    }
    std::fs::write(lab.path("junk.key"), "not a key").unwrap();
    lab.challenge(&[]);
    let o = cphar(&[
        "seal",
        "respond",
        "--key",
        s(&lab.path("junk.key")),
        "--request",
        s(&lab.path("request.json")),
    ]);
    assert_cannot_run(&o);
    std::fs::write(lab.path("request.json"), "{}").unwrap();
    let o = cphar(&[
        "seal",
        "respond",
        "--key",
        s(&lab.path("seal.key")),
        "--request",
        s(&lab.path("request.json")),
    ]);
    assert_cannot_run(&o);
}

#[test]
fn jcs_command() {
    let run = |input: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cphar"))
            .arg("jcs")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let o = run(br#"{ "b": [1E3, 0.1, -0], "a": "\u20ac\n", "\u00e9": true }"#);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "{\"a\":\"€\\n\",\"b\":[1000,0.1,0],\"é\":true}");
    for bad in [
        &b"{\"a\":1,\"a\":2}"[..],
        b"[1,]",
        b"\"\\ud800\"",
        b"9007199254740993",
        b"",
    ] {
        assert_cannot_run(&run(bad));
    }
}

#[test]
fn every_subcommand_has_help() {
    // Walk the whole command tree from the help texts themselves, so a new subcommand is
    // covered without touching this test.
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let o = cphar(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("Usage"), "{args:?}");
        seen += 1;
        let commands = text
            .split("Commands:\n")
            .nth(1)
            .map(|rest| rest.split("\n\n").next().unwrap_or(""))
            .unwrap_or("");
        for line in commands.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if !name.is_empty()
                && name != "help"
                && line.starts_with("  ")
                && !line.starts_with("      ")
            {
                let mut next = path.clone();
                next.push(name.to_owned());
                pending.push(next);
            }
        }
    }
    assert!(seen > 30, "only {seen} commands found");
}
