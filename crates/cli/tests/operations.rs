//! The operational commands end to end: the demo (the README's first command), the audit log
//! through `cphar audit`, and crash safety — a writer killed with SIGKILL during concurrent
//! appends, many times over, never loses an acknowledged event nor breaks the log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn cphar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args(args)
        .output()
        .expect("run cphar")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_demo_runs_end_to_end_and_exits_zero() {
    let o = cphar(&["demo", "--lots", "3"]);
    let out = text(&o.stdout);
    assert!(
        o.status.success(),
        "demo failed:\n{out}\n{}",
        text(&o.stderr)
    );
    for expected in [
        "409 clone_suspected",
        "422 untrusted_root",
        "403 separation_of_duties",
        "409 challenge_used_or_expired",
        "invalid_signature",
        "revoked_binding (tamper_detected)",
        "report timestamped (RFC 3161)",
        "verified offline",
        "server stopped",
    ] {
        assert!(
            out.contains(expected),
            "the demo output lacks {expected:?}:\n{out}"
        );
    }
}

/// Appends events from 8 concurrent writers until `acks` were acknowledged, then SIGKILLs
/// the process; returns the acknowledged sequence numbers.
fn stress_then_kill(location: &[&str], acks: usize) -> Vec<u64> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cphar"))
        .args(["audit", "stress", "--writers", "8", "--count", "100000"])
        .args(location)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let reader = BufReader::new(child.stdout.take().unwrap());
    for line in reader.lines() {
        let Ok(line) = line else { break };
        seen.push(line.trim().parse::<u64>().unwrap());
        if seen.len() >= acks {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush, no graceful anything
    child.wait().unwrap();
    assert!(
        seen.len() >= acks,
        "the writer stopped early after {} acks",
        seen.len()
    );
    seen
}

/// The registry identity public key, written to `DIR/identity.jwk` for `--identity-key`.
fn identity_file(location: &[&str], dir: &Path) -> std::path::PathBuf {
    let o = cphar(&[&["audit", "identity-key"][..], location].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let file = dir.join("identity.jwk");
    std::fs::write(&file, &o.stdout).unwrap();
    file
}

fn export_and_verify(location: &[&str], dir: &Path) -> BTreeSet<u64> {
    let export = cphar(&[&["audit", "export"][..], location].concat());
    assert!(export.status.success(), "{}", text(&export.stderr));
    let file = dir.join("export.jsonl");
    std::fs::write(&file, &export.stdout).unwrap();
    let id = identity_file(location, dir);
    let verify = cphar(&[
        "audit",
        "verify",
        file.to_str().unwrap(),
        "--identity-key",
        id.to_str().unwrap(),
    ]);
    assert!(
        verify.status.success(),
        "the log does not verify after a crash:\n{}",
        text(&verify.stdout)
    );
    text(&export.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["sequenceNumber"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn sigkill_during_concurrent_appends_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let location = ["--data-dir", data.to_str().unwrap()];
    let mut acknowledged = BTreeSet::new();
    for _round in 0..8 {
        acknowledged.extend(stress_then_kill(&location, 150));
        // After every crash: gapless, verifying end to end, every acknowledged event there.
        let present = export_and_verify(&location, dir.path());
        let expected: BTreeSet<u64> = (0..present.len() as u64).collect();
        assert_eq!(present, expected, "gapless");
        let lost: Vec<_> = acknowledged.difference(&present).collect();
        assert!(lost.is_empty(), "acknowledged events lost: {lost:?}");
    }
}

#[test]
fn audit_verify_names_the_first_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let location = ["--data-dir", data.to_str().unwrap()];
    stress_then_kill(&location, 40);
    export_and_verify(&location, dir.path());
    let file = dir.path().join("export.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.remove(10);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let id = identity_file(&location, dir.path());
    let id = id.to_str().unwrap();
    let o = cphar(&[
        "audit",
        "verify",
        file.to_str().unwrap(),
        "--identity-key",
        id,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains("FAILED at sequenceNumber 10: sequence_gap"),
        "{}",
        text(&o.stdout)
    );
    // A relying party holding a checkpoint catches a truncated log, even one that verifies
    // on its own.
    let cp = cphar(&[&["audit", "checkpoint"][..], &location].concat());
    assert!(cp.status.success(), "{}", text(&cp.stderr));
    let cp_file = dir.path().join("cp.txt");
    std::fs::write(&cp_file, &cp.stdout).unwrap();
    let fresh = export_and_verify(&location, dir.path());
    let full: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(full.len(), fresh.len());
    let o = cphar(&[
        "audit",
        "verify",
        file.to_str().unwrap(),
        "--identity-key",
        id,
        "--checkpoint",
        cp_file.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the whole log is consistent with the checkpoint: {}",
        text(&o.stdout)
    );
    let truncated = dir.path().join("truncated.jsonl");
    std::fs::write(&truncated, full[..full.len() - 5].join("\n") + "\n").unwrap();
    let o = cphar(&[
        "audit",
        "verify",
        truncated.to_str().unwrap(),
        "--identity-key",
        id,
    ]);
    assert_eq!(o.status.code(), Some(0), "a prefix verifies on its own");
    let o = cphar(&[
        "audit",
        "verify",
        truncated.to_str().unwrap(),
        "--identity-key",
        id,
        "--checkpoint",
        cp_file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("rewritten or truncated"),
        "{}",
        text(&o.stdout)
    );
}

/// A fresh schema on the test PostgreSQL server, as a URL; `None` (loud skip) without one,
/// a failure under `CI=true`.
fn postgres_schema() -> Option<String> {
    let Ok(url) = std::env::var("CPHAR_TEST_DATABASE_URL") else {
        cphar_testdata::skip(
            "PostgreSQL multi-process test: CPHAR_TEST_DATABASE_URL is not set (scripts/test sets it)",
        );
        return None;
    };
    let schema = format!(
        "ops_{}",
        cphar_audit::entry::hex(&cphar_crypto::random_bytes::<6>().unwrap())
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

#[test]
fn concurrent_processes_on_postgres_keep_one_gapless_log() {
    let Some(url) = postgres_schema() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("keys");
    let location = [
        "--data-dir",
        data.to_str().unwrap(),
        "--database-url",
        url.as_str(),
    ];
    // The first process creates the keys; then two processes append at once, one of them
    // killed mid-flight, twice over.
    let init = cphar(&[&["registry", "init"][..], &location].concat());
    assert!(init.status.success(), "{}", text(&init.stderr));
    let mut acknowledged = BTreeSet::new();
    for _round in 0..2 {
        let survivor = {
            let location: Vec<String> = location.iter().map(|s| (*s).to_owned()).collect();
            std::thread::spawn(move || {
                let refs: Vec<&str> = location.iter().map(String::as_str).collect();
                let o = cphar(
                    &[
                        &["audit", "stress", "--writers", "4", "--count", "40"][..],
                        &refs,
                    ]
                    .concat(),
                );
                assert!(o.status.success(), "{}", text(&o.stderr));
                text(&o.stdout)
                    .lines()
                    .map(|l| l.parse::<u64>().unwrap())
                    .collect::<Vec<_>>()
            })
        };
        acknowledged.extend(stress_then_kill(&location, 100));
        acknowledged.extend(survivor.join().unwrap());
        let present = export_and_verify(&location, dir.path());
        assert_eq!(
            present,
            (0..present.len() as u64).collect::<BTreeSet<_>>(),
            "gapless across processes"
        );
        assert!(acknowledged.is_subset(&present), "acknowledged events lost");
    }
}
