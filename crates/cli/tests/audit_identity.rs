//! `cphar audit verify` and `check-proof` trust only a pinned identity key: a log rewritten
//! whole under a fresh identity is refused, and a consistency bundle is checked against the
//! old checkpoint the caller holds, never against the bundle's own old root.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cphar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args(args)
        .output()
        .expect("run cphar")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A registry data directory with a few audit entries; returns (data dir, export, identity).
fn registry(root: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let data = root.join(name);
    let o = cphar(&[
        "audit",
        "stress",
        "--data-dir",
        s(&data),
        "--writers",
        "1",
        "--count",
        "5",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let export = root.join(format!("{name}.jsonl"));
    let o = cphar(&["audit", "export", "--data-dir", s(&data)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::write(&export, &o.stdout).unwrap();
    let id = root.join(format!("{name}.jwk"));
    let o = cphar(&["audit", "identity-key", "--data-dir", s(&data)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::write(&id, &o.stdout).unwrap();
    (data, export, id)
}

#[test]
fn a_log_rewritten_under_a_fresh_identity_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, genuine, id) = registry(dir.path(), "genuine");
    // The forger's log: complete, internally consistent, under an identity of its own.
    let (_, forged, _) = registry(dir.path(), "forged");

    let o = cphar(&["audit", "verify", s(&genuine), "--identity-key", s(&id)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).starts_with("OK: "));

    let o = cphar(&["audit", "verify", s(&forged), "--identity-key", s(&id)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("FAILED"), "{}", text(&o.stdout));

    // Without a pinned key the command does not run at all.
    let o = cphar(&["audit", "verify", s(&forged)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--identity-key"),
        "{}",
        text(&o.stderr)
    );

    // Exploration mode: loud, never OK, never exit 0.
    let o = cphar(&["audit", "verify", s(&forged), "--trust-log-identity"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("WARNING"), "{}", text(&o.stderr));
    assert!(!text(&o.stdout).contains("OK"), "{}", text(&o.stdout));
    assert!(text(&o.stdout).starts_with("UNPINNED"));
    // Both options at once are a usage error.
    let o = cphar(&[
        "audit",
        "verify",
        s(&genuine),
        "--identity-key",
        s(&id),
        "--trust-log-identity",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn consistency_bundles_need_the_old_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _, id) = registry(dir.path(), "reg");
    let cp = cphar(&["audit", "checkpoint", "--data-dir", s(&data)]);
    assert!(cp.status.success(), "{}", text(&cp.stderr));
    let old = dir.path().join("old.txt");
    std::fs::write(&old, &cp.stdout).unwrap();
    let old_size = text(&cp.stderr)
        .split_whitespace()
        .find_map(|w| w.parse::<u64>().ok())
        .unwrap();
    let o = cphar(&[
        "audit",
        "stress",
        "--data-dir",
        s(&data),
        "--writers",
        "1",
        "--count",
        "3",
    ]);
    assert!(o.status.success());
    let from = old_size.to_string();
    let o = cphar(&[
        "audit",
        "consistency",
        "--data-dir",
        s(&data),
        "--from",
        &from,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bundle = dir.path().join("consistency.json");
    std::fs::write(&bundle, &o.stdout).unwrap();

    let o = cphar(&["audit", "check-proof", s(&bundle), "--identity-key", s(&id)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("--old-checkpoint"),
        "{}",
        text(&o.stderr)
    );
    assert!(!text(&o.stdout).contains("only grew"));

    let o = cphar(&[
        "audit",
        "check-proof",
        s(&bundle),
        "--identity-key",
        s(&id),
        "--old-checkpoint",
        s(&old),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("only grew"));

    // A bundle whose own old root was swapped for another log's does not match the
    // checkpoint held.
    let mut forged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    forged["oldRoot"] = serde_json::json!(cphar_crypto::b64::encode(&[0u8; 32]));
    std::fs::write(&bundle, serde_json::to_vec(&forged).unwrap()).unwrap();
    let o = cphar(&[
        "audit",
        "check-proof",
        s(&bundle),
        "--identity-key",
        s(&id),
        "--old-checkpoint",
        s(&old),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
}
