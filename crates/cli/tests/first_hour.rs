//! What a new user meets in the first hour: one did:web host for `cphar registry` and
//! `cphar serve`, read-only commands that refuse a missing registry, commands that append
//! nothing leave no audit epoch, a checkpoint taken after an export matches it, key files
//! OpenSSL reads and `--force` replaces safely, PostgreSQL failures reported in seconds, and
//! `seal serve` stopping cleanly on SIGTERM / SIGINT.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

mod common;

use common::cphar;
use std::io::BufRead;
use std::path::Path;
use std::process::{Output, Stdio};

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn cannot_run(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn log_len(dir: &Path) -> usize {
    ok(&cphar(dir, &["audit", "export"])).lines().count()
}

#[test]
fn one_host_per_installation_and_a_mismatch_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&cphar(
        d,
        &["registry", "--host", "reserve.example", "init"],
    ));
    // Later commands without --host use the database's host.
    let out = ok(&cphar(d, &["registry", "init", "--json"]));
    assert!(out.contains("did:web:reserve.example#ea-1"), "{out}");
    // Another host is refused, by the registry and by the server, before anything runs.
    let before = log_len(d);
    let err = cannot_run(&cphar(
        d,
        &["registry", "--host", "other.example", "active"],
    ));
    assert!(
        err.contains("host_mismatch") && err.contains("reserve.example"),
        "{err}"
    );
    let o = common::command(env!("CARGO_BIN_EXE_cphar"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--host",
            "other.example",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("host_mismatch") && err.contains("other.example"),
        "{err}"
    );
    assert_eq!(log_len(d), before, "a refused start wrote to the log");
    // Without --host the server serves the database's host.
    let server = common::Server::start(d, &[]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let did = http_get(&addr, "/.well-known/did.json");
    assert!(did.contains(r#""id":"did:web:reserve.example""#), "{did}");
    server.stop();
}

/// A minimal HTTP/1.0 GET (the body).
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n").unwrap().1.to_owned()
}

#[test]
fn read_only_commands_refuse_a_missing_registry_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("mistyped/path");
    let m = missing.to_str().unwrap();
    for args in [
        vec!["registry", "--data-dir", m, "active"],
        vec!["registry", "--data-dir", m, "lot", "LOT-7"],
        vec!["audit", "export", "--data-dir", m],
    ] {
        let err = cannot_run(&cphar(dir.path(), &args));
        assert!(err.contains("no registry database"), "{args:?}: {err}");
        assert!(!missing.exists(), "{args:?} created {m}");
        assert!(!dir.path().join("mistyped").exists());
    }
}

#[test]
fn commands_that_append_nothing_open_no_epoch_and_checkpoints_match_exports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&cphar(d, &["registry", "init"]));
    let first = log_len(d);
    assert_eq!(first, 2, "one epoch and the EA key");
    ok(&cphar(d, &["registry", "init"]));
    ok(&cphar(d, &["registry", "active"]));
    let refused = cphar(d, &["registry", "bind", "--lot", "LOT-9", "--actor", "op"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        log_len(d),
        first,
        "a command that appended nothing opened an epoch"
    );

    // export, then checkpoint: the checkpoint covers exactly the exported log.
    std::fs::write(d.join("log.jsonl"), ok(&cphar(d, &["audit", "export"]))).unwrap();
    std::fs::write(d.join("cp.txt"), ok(&cphar(d, &["audit", "checkpoint"]))).unwrap();
    std::fs::write(d.join("id.jwk"), ok(&cphar(d, &["audit", "identity-key"]))).unwrap();
    let out = ok(&cphar(
        d,
        &[
            "audit",
            "verify",
            "log.jsonl",
            "--checkpoint",
            "cp.txt",
            "--identity-key",
            "id.jwk",
        ],
    ));
    assert!(out.contains("matches"), "{out}");
    // The checkpoint's own record came after it, in this process's (one) epoch.
    assert_eq!(log_len(d), first + 2);
}

#[cfg(unix)]
#[test]
fn keygen_writes_keys_openssl_reads_and_force_replaces_safely() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for profile in ["ed25519", "p256"] {
        let file = format!("{profile}.key");
        ok(&cphar(d, &["keygen", "--profile", profile, "--out", &file]));
        let o = std::process::Command::new("openssl")
            .args(["pkey", "-in", &file, "-noout"])
            .current_dir(d)
            .output()
            .expect("the openssl binary (scripts/test installs it)");
        assert!(o.status.success(), "{profile}: {o:?}");
    }
    // An existing world-readable file becomes 0600.
    let key = d.join("seal.key");
    std::fs::write(&key, "old").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    ok(&cphar(
        d,
        &[
            "keygen",
            "--profile",
            "ed25519",
            "--out",
            "seal.key",
            "--force",
        ],
    ));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .contains("PRIVATE KEY")
    );
    // A symlink is replaced, never followed: its target keeps its contents and mode.
    let target = d.join("elsewhere.txt");
    std::fs::write(&target, "not yours").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = d.join("link.key");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    // Without --force the link is refused, also when it dangles.
    let o = cphar(d, &["keygen", "--profile", "ed25519", "--out", "link.key"]);
    assert_eq!(o.status.code(), Some(2));
    ok(&cphar(
        d,
        &[
            "keygen",
            "--profile",
            "ed25519",
            "--out",
            "link.key",
            "--force",
        ],
    ));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not yours");
    assert!(
        !std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::metadata(&link).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with('.')), "{names:?}");
}

#[test]
fn an_unanswering_postgresql_is_reported_in_seconds_without_the_password() {
    // A socket that accepts connections (the kernel's backlog) and never answers: the
    // PostgreSQL start-up handshake hangs, as behind a black-holing firewall.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://cphar:s3cret-pw@127.0.0.1:{port}/reserve");
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let o = cphar(dir.path(), &["registry", "--database-url", &url, "active"]);
    let took = started.elapsed();
    let err = cannot_run(&o);
    assert!(took < std::time::Duration::from_secs(25), "took {took:?}");
    assert!(
        err.contains(&format!("postgres://cphar:***@127.0.0.1:{port}/reserve")),
        "{err}"
    );
    assert!(!err.contains("s3cret-pw"), "{err}");
    drop(silent);
}

#[cfg(unix)]
#[test]
fn seal_serve_stops_gracefully_on_sigterm_and_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&cphar(
        d,
        &["keygen", "--profile", "ed25519", "--out", "seal.key"],
    ));
    for signal in ["-TERM", "-INT"] {
        let mut child = common::command(env!("CARGO_BIN_EXE_cphar"))
            .args(["seal", "serve", "--key", "seal.key", "--binding-method"])
            .arg("did:web:localhost%3A8080:lots:LOT-7#seal-1")
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(d)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        // Listening once it says so.
        let first = lines.next().unwrap().unwrap();
        assert!(first.contains("seal agent for"), "{first}");
        let pid = child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{signal}: {status}");
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
    }
}
