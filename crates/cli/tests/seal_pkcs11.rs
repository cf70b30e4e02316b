//! `cphar seal` with its key in a PKCS#11 token (SoftHSM2): keygen in the token, an answer
//! the offline verifier accepts, the configuration only from a private file or the
//! environment, and the tamper response (revocation attestation, then the key is gone).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

mod common;

use common::command;
use cphar_protocol::did::{MethodSpec, document_json};
use cphar_protocol::seal::RevocationAttestation;
use cphar_protocol::{Bal, DeviceStatus, RevocationReason, TFP_1};
use cphar_testdata::softhsm;
use std::path::Path;
use std::process::Output;

const DID: &str = "did:web:localhost%3A8080:lots:LOT-7";

fn method() -> String {
    format!("{DID}#seal-1")
}

/// `cphar ARGS` in `dir` with the seal token in the environment.
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

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn verify(dir: &Path, conf: &Path, jwk: &serde_json::Value) -> Output {
    let spec = MethodSpec {
        id: method(),
        controller: DID.into(),
        jwk: cphar_crypto::Jwk::from_json(jwk).unwrap(),
        bal: Bal::Bal2,
        tfp: Some(TFP_1.into()),
        revoked: None,
        pid: None,
        pbac: None,
        profile_c_risk_acceptance: None,
        status_signature: true,
        max_attestation_interval_seconds: None,
    };
    std::fs::write(
        dir.join("did.json"),
        document_json(DID, 1, &[spec]).to_string(),
    )
    .unwrap();
    let request = ok(&run(
        dir,
        conf,
        &[
            "challenge",
            "--did",
            DID,
            "--verifier",
            "did:web:me.example",
        ],
    ));
    std::fs::write(dir.join("request.json"), request).unwrap();
    let response = run(
        dir,
        conf,
        &[
            "seal",
            "respond",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-1",
            "--request",
            "request.json",
            "--binding-method",
            &method(),
        ],
    );
    if !response.status.success() {
        return response;
    }
    std::fs::write(dir.join("response.json"), &response.stdout).unwrap();
    run(
        dir,
        conf,
        &[
            "verify",
            "--request",
            "request.json",
            "--response",
            "response.json",
            "--did-document",
            "did.json",
        ],
    )
}

#[test]
fn pkcs11_seal_keygen_respond_tamper() {
    if let Some(missing) = softhsm::missing_tools() {
        cphar_testdata::skip(&format!("cphar seal --backend pkcs11: {missing}"));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let conf = softhsm::init_token(dir).unwrap();

    // Key generated in the token; the public JWK on stdout.
    let jwk: serde_json::Value = serde_json::from_str(&ok(&run(
        dir,
        &conf,
        &[
            "seal",
            "keygen",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-1",
        ],
    )))
    .unwrap();
    assert_eq!(jwk["crv"], "Ed25519");
    // Never a second key under the same label.
    let again = run(
        dir,
        &conf,
        &[
            "seal",
            "keygen",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-1",
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("pkcs11_key_exists"));

    // The answer verifies offline.
    let verdict = verify(dir, &conf, &jwk);
    assert!(ok(&verdict).contains("\"valid\""));

    // Without configuration the command says what is missing; a config file readable by
    // others is refused (it holds the PIN); an owner-only one works.
    let bare = command(env!("CARGO_BIN_EXE_cphar"))
        .args([
            "seal",
            "respond",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-1",
        ])
        .args(["--request", "request.json"])
        .current_dir(dir)
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(!bare.status.success());
    assert!(String::from_utf8_lossy(&bare.stderr).contains("CPHAR_SEAL_PKCS11_MODULE"));
    let file = dir.join("seal-pkcs11.toml");
    std::fs::write(
        &file,
        format!(
            "module = \"{}\"\ntoken = \"{}\"\npin = \"{}\"\n",
            softhsm::MODULE,
            softhsm::TOKEN,
            softhsm::USER_PIN
        ),
    )
    .unwrap();
    let with_file = |mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        command(env!("CARGO_BIN_EXE_cphar"))
            .args([
                "seal",
                "respond",
                "--backend",
                "pkcs11",
                "--key-label",
                "SEAL-1",
            ])
            .args(["--request", "request.json", "--pkcs11-config"])
            .arg(&file)
            .current_dir(dir)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap()
    };
    let open = with_file(0o644);
    assert!(!open.status.success());
    assert!(String::from_utf8_lossy(&open.stderr).contains("chmod 600"));
    ok(&with_file(0o600));

    // Tamper: a revocation attestation signed by the binding key, then the key is gone.
    let bra: serde_json::Value = serde_json::from_str(&ok(&run(
        dir,
        &conf,
        &[
            "seal",
            "tamper",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-1",
            "--did",
            DID,
            "--binding-method",
            &method(),
        ],
    )))
    .unwrap();
    let public =
        cphar_crypto::VerifyingKey::from_jwk(&cphar_crypto::Jwk::from_json(&jwk).unwrap()).unwrap();
    let read = RevocationAttestation::verify(&bra, &public).unwrap();
    assert_eq!(read.reason, RevocationReason::TamperDetected);
    assert_eq!(read.final_state, DeviceStatus::Tampered);
    assert!(read.key_zeroization);

    let after = verify(dir, &conf, &jwk);
    assert!(!after.status.success());
    assert!(String::from_utf8_lossy(&after.stderr).contains("pkcs11_key_not_found"));
}

/// A child process killed when dropped (a failing assertion does not leave it running).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Posts `body` to the agent's `/challenge`; the HTTP status.
fn post_challenge(addr: &str, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /challenge HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn pkcs11_agent_answers_until_tamper_destroys_the_key() {
    use std::io::BufRead;
    if let Some(missing) = softhsm::missing_tools() {
        cphar_testdata::skip(&format!("cphar seal serve --backend pkcs11: {missing}"));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let conf = softhsm::init_token(dir).unwrap();
    ok(&run(
        dir,
        &conf,
        &[
            "seal",
            "keygen",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-1",
        ],
    ));
    let request = ok(&run(
        dir,
        &conf,
        &[
            "challenge",
            "--did",
            DID,
            "--verifier",
            "did:web:me.example",
        ],
    ));
    let mut agent = command(env!("CARGO_BIN_EXE_cphar"))
        .args([
            "seal",
            "serve",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-1",
        ])
        .args(["--binding-method", &method(), "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("SOFTHSM2_CONF", &conf)
        .env("CPHAR_SEAL_PKCS11_MODULE", softhsm::MODULE)
        .env("CPHAR_SEAL_PKCS11_TOKEN", softhsm::TOKEN)
        .env("CPHAR_SEAL_PKCS11_PIN", softhsm::USER_PIN)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = agent.stderr.take().unwrap();
    let _agent = KillOnDrop(agent);
    // The agent prints its address once it listens.
    let mut stderr = std::io::BufReader::new(stderr);
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();

    assert_eq!(post_challenge(&addr, request.as_bytes()), 200);
    ok(&run(
        dir,
        &conf,
        &[
            "seal",
            "tamper",
            "--backend",
            "pkcs11",
            "--key-label",
            "SEAL-1",
            "--did",
            DID,
            "--binding-method",
            &method(),
        ],
    ));
    // The running agent's key is gone from the token: no answer any more.
    assert_eq!(post_challenge(&addr, request.as_bytes()), 503);
}
