//! The PKCS#11 audit key against a real SoftHSM2 token.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` when the module is initialized, and setting a variable in
//! this process is `unsafe` in Rust 2024 (which the workspace forbids). So the one test here
//! prepares a throw-away token directory and configuration, initializes the tokens with
//! `softhsm2-util`, and re-runs this test binary as a child process with `SOFTHSM2_CONF` set;
//! the child runs every check in sequence against one initialized module.
//!
//! Without SoftHSM2 the test prints a loud skip, except under `CI=true`, where it fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_audit::epoch::{EpochStart, open_epoch};
use cphar_audit::{AuditKey, GENESIS_HASH, verify_export};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_pkcs11::{Pkcs11AuditKey, Pkcs11Config, Pkcs11Error};
use cphar_protocol::Timestamp;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroizing;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const SO_PIN: &str = "so-pin-87654321";
const USER_PIN: &str = "user-pin-1234";
/// The token the audit keys live in.
const TOKEN: &str = "cphar-audit";
/// A second token, only ever given the wrong PIN (login state is shared per token, so a
/// wrong-PIN attempt on `TOKEN` after a good login would report "already logged in").
const TOKEN_WRONG_PIN: &str = "cphar-wrong-pin";

/// Set in the child process: where the configuration and tokens are.
const CHILD_MARKER: &str = "CPHAR_PKCS11_TEST_TOKENDIR";

#[test]
fn softhsm2() {
    match std::env::var_os(CHILD_MARKER) {
        Some(tokendir) => child(Path::new(&tokendir)),
        None => parent(),
    }
}

/// Checks SoftHSM2 is there, prepares tokens, runs [`child`] in a fresh process.
fn parent() {
    if let Some(missing) = missing_tools() {
        cphar_testdata::skip(&format!(
            "cphar-pkcs11 SoftHSM2 tests: {missing} (`apt-get install -y softhsm2 opensc`; \
             scripts/test does)"
        ));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokendir = dir.path().join("tokens");
    std::fs::create_dir(&tokendir).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokendir.display()
        ),
    )
    .unwrap();
    for label in [TOKEN, TOKEN_WRONG_PIN] {
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util --init-token {label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "softhsm2", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_MARKER, &tokendir)
        .output()
        .unwrap();
    eprintln!(
        "--- child stdout ---\n{}--- child stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "SoftHSM2 checks failed (output above)"
    );
    // The child must really have run the checks, not skipped them.
    assert!(String::from_utf8_lossy(&out.stderr).contains("all SoftHSM2 checks passed"));
}

/// What is missing to run the SoftHSM2 tests, if anything.
fn missing_tools() -> Option<String> {
    if !Path::new(MODULE).exists() {
        return Some(format!("the module {MODULE} does not exist"));
    }
    match Command::new("softhsm2-util").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("`softhsm2-util` cannot be run".into()),
    }
}

fn config(token: &str, pin: &str) -> Pkcs11Config {
    Pkcs11Config {
        module: PathBuf::from(MODULE),
        token_label: token.into(),
        pin: Zeroizing::new(pin.into()),
    }
}

/// Every check, in one process whose `SOFTHSM2_CONF` points at the prepared tokens.
fn child(tokendir: &Path) {
    error_paths();
    let key = generate_and_sign_many();
    non_extractable(&key, tokendir);
    concurrent_signing(key);
    audit_epoch_verifies();
    eprintln!("all SoftHSM2 checks passed");
}

fn error_paths() {
    let err = Pkcs11AuditKey::generate(&config(TOKEN_WRONG_PIN, "not-the-pin"), "k").unwrap_err();
    assert_eq!(err.reason_code(), "pkcs11_login_failed", "{err}");
    assert!(
        !err.to_string().contains("not-the-pin"),
        "error leaks the PIN: {err}"
    );

    let err = Pkcs11AuditKey::generate(&config("no-such-token", USER_PIN), "k").unwrap_err();
    assert_eq!(err.reason_code(), "pkcs11_token_not_found", "{err}");

    let mut cfg = config(TOKEN, USER_PIN);
    cfg.module = PathBuf::from("/nonexistent/libno-such-pkcs11.so");
    let err = Pkcs11AuditKey::generate(&cfg, "k").unwrap_err();
    assert_eq!(err.reason_code(), "pkcs11_module_unavailable", "{err}");
    assert!(matches!(err, Pkcs11Error::ModuleUnavailable(_)));

    let debug = format!("{:?}", config(TOKEN, USER_PIN));
    assert!(!debug.contains(USER_PIN), "Debug leaks the PIN: {debug}");
    eprintln!("ok: wrong PIN, unknown token and missing module are refused with their codes");
}

fn generate_and_sign_many() -> Pkcs11AuditKey {
    let started = Instant::now();
    let key = Pkcs11AuditKey::generate(&config(TOKEN, USER_PIN), "audit-key-test").unwrap();
    let keygen = started.elapsed();
    let vk = key.verifying_key();
    assert_eq!(vk.algorithm(), Algorithm::EcdsaP384Sha384);
    assert_eq!(vk.public_bytes().len(), 97);
    assert_eq!(key.label(), "audit-key-test");

    let messages: Vec<Vec<u8>> = (0..100u32)
        .map(|i| format!("audit entry {i}: {}", "x".repeat(i as usize)).into_bytes())
        .collect();
    let started = Instant::now();
    let signatures: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| AuditKey::sign(&key, m).unwrap())
        .collect();
    let elapsed = started.elapsed();
    for (m, s) in messages.iter().zip(&signatures) {
        assert_eq!(s[0], 0x30, "not a DER SEQUENCE");
        vk.verify(m, s).unwrap();
    }
    // A signature over one message does not verify another.
    assert!(vk.verify(&messages[1], &signatures[0]).is_err());
    // ECDSA is randomized: signing twice gives two different valid signatures.
    let again = AuditKey::sign(&key, &messages[0]).unwrap();
    assert_ne!(again, signatures[0]);
    vk.verify(&messages[0], &again).unwrap();

    eprintln!(
        "ok: 100 DER signatures verified with cphar-crypto; SoftHSM2 P-384: keygen+PCT {:.1} ms, \
         {:.0} signatures/s (SHA-384 + C_Sign + DER, one thread)",
        keygen.as_secs_f64() * 1e3,
        100.0 / elapsed.as_secs_f64()
    );
    key
}

fn non_extractable(key: &Pkcs11AuditKey, tokendir: &Path) {
    let protection = key.protection().unwrap();
    assert!(!protection.extractable, "{protection:?}");
    assert!(protection.never_extractable, "{protection:?}");
    assert!(protection.sensitive, "{protection:?}");
    assert!(protection.always_sensitive, "{protection:?}");
    assert!(protection.private, "{protection:?}");
    assert!(!protection.token, "{protection:?}");
    assert!(protection.is_contained());
    assert!(!key.is_extractable().unwrap());
    // SoftHSM2 answers CKA_VALUE of a sensitive key with no value (Ok([]) through cryptoki).
    assert!(!key.private_value_readable().unwrap());
    // Wrapping under a key of our own is refused with CKR_KEY_UNEXTRACTABLE.
    assert!(key.wrapping_refused().unwrap());
    // The key is a session object: nothing was written to the token directory beyond the
    // token's own metadata (SoftHSM2 keeps that in `token.object` and stores each token
    // object as `<uuid>.object`).
    let persisted = persisted_objects(tokendir);
    assert!(persisted.is_empty(), "key material at rest: {persisted:?}");
    // A second process (pkcs11-tool, when installed) sees no private key on the token.
    if let Some(listing) = pkcs11_tool_listing() {
        assert!(
            !listing.contains("Private Key Object"),
            "a private key is visible to another process:\n{listing}"
        );
        eprintln!("ok: pkcs11-tool in another process lists no private key on the token");
    }
    eprintln!(
        "ok: private key is sensitive, never extractable, unreadable, unwrappable, not persisted"
    );
}

fn persisted_objects(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(persisted_objects(&path));
        } else if path.extension().is_some_and(|e| e == "object")
            && path.file_name().is_some_and(|n| n != "token.object")
        {
            found.push(path);
        }
    }
    found
}

fn pkcs11_tool_listing() -> Option<String> {
    let Ok(out) = Command::new("pkcs11-tool")
        .args(["--module", MODULE, "--token-label", TOKEN])
        .args(["--login", "--pin", USER_PIN, "--list-objects"])
        .output()
    else {
        cphar_testdata::skip(
            "the pkcs11-tool cross-check: `pkcs11-tool` (Debian `opensc`) is not on PATH",
        );
        return None;
    };
    assert!(
        out.status.success(),
        "pkcs11-tool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn concurrent_signing(key: Pkcs11AuditKey) {
    let key = Arc::new(key);
    let vk = key.verifying_key();
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let key = Arc::clone(&key);
            std::thread::spawn(move || {
                (0..25u8)
                    .map(|i| {
                        let msg = vec![t, i];
                        let sig = AuditKey::sign(key.as_ref(), &msg).unwrap();
                        (msg, sig)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for handle in threads {
        for (msg, sig) in handle.join().unwrap() {
            vk.verify(&msg, &sig).unwrap();
        }
    }
    // After destruction the module refuses to sign with the key.
    key.destroy().unwrap();
    let err = key.try_sign(b"after destroy").unwrap_err();
    assert_eq!(err.reason_code(), "pkcs11_sign_failed");
    assert!(AuditKey::sign(key.as_ref(), b"after destroy").is_err());
    eprintln!("ok: 4 threads × 25 signatures through one session; destroyed key no longer signs");
}

fn audit_epoch_verifies() {
    let identity = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let key = Pkcs11AuditKey::generate(&config(TOKEN, USER_PIN), "audit-epoch-0").unwrap();
    let audit_public = key.verifying_key().public_bytes();
    let start = EpochStart {
        self_tests: json!({"passed": true, "auditKey": "pkcs11"}),
        binary_measurement: None,
        started_at: Timestamp::parse("2026-11-23T10:00:00Z").unwrap(),
    };
    let (epoch_entry, signer) =
        open_epoch(Box::new(key), &identity, 0, GENESIS_HASH, &start).unwrap();
    assert_eq!(signer.key().verifying_key().public_bytes(), audit_public);

    let mut lines = vec![epoch_entry.canonical.clone()];
    let mut previous = epoch_entry.hash.clone();
    for seq in 1..=5u64 {
        let data = json!({"subject": format!("lot:L{seq}")})
            .as_object()
            .unwrap()
            .clone();
        let ts = Timestamp::parse(&format!("2026-11-23T10:00:0{seq}Z")).unwrap();
        let entry = signer
            .seal(seq, ts, "lot_created", data, &previous)
            .unwrap();
        previous = entry.hash.clone();
        lines.push(entry.canonical);
    }
    let export = lines.join(&b'\n');
    let report = verify_export(&export, Some(&identity.verifying_key())).unwrap();
    assert_eq!(report.entries, 6);
    assert_eq!(report.epochs.len(), 1);
    assert_eq!(report.head_hash, previous);

    // Tampering with one entry is caught: the log really depends on the token's signatures.
    let mut tampered = lines.clone();
    let text = String::from_utf8(tampered[3].clone()).unwrap();
    tampered[3] = text.replace("lot:L3", "lot:L9").into_bytes();
    let failure =
        verify_export(&tampered.join(&b'\n'), Some(&identity.verifying_key())).unwrap_err();
    assert_eq!(failure.sequence_number, 3);
    eprintln!("ok: an epoch opened with the PKCS#11 key and 5 sealed entries pass verify_export");
}
