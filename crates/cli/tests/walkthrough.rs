//! `docs/walkthrough.md`, run as written: from nothing to an attested lot with the CLI and a
//! `cphar serve` with default settings (on a free port instead of 8080, so tests can run
//! side by side).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

mod common;

use serde_json::Value;

#[test]
fn the_walkthrough_ends_with_an_attested_lot() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_examples(dir.path());
    let (before, after) = common::walkthrough();
    let (_, work) = common::run_script(dir.path(), &before, &[]);

    let server = common::Server::start(&work, &[]);
    // The server took the database's host: the one `cphar registry` named the lot under.
    let (stdout, _) = common::run_script(&work, &after, &[("CPHAR_SERVER", server.url.clone())]);
    assert!(stdout.contains(r#""result":"valid""#), "{stdout}");
    let log = server.stop();
    assert!(log.contains("cphar: stopped"), "{log}");

    let seal = common::cphar(&work, &["registry", "seal", "SEAL-1", "--json"]);
    assert!(seal.status.success());
    let seal: Value = serde_json::from_slice(&seal.stdout).unwrap();
    assert_eq!(seal["seal"]["state"], "attested", "{seal}");
    let lot = common::cphar(&work, &["registry", "lot", "LOT-7", "--json"]);
    let lot: Value = serde_json::from_slice(&lot.stdout).unwrap();
    assert_eq!(lot["lot"]["active"], true, "{lot}");
    assert_eq!(lot["lot"]["did"], "did:web:localhost%3A8080:lots:LOT-7");
}
