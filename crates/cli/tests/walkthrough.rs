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
    // The reserve report downloaded from the server verified offline (above, exit 0); the
    // report as published is the report as served; one byte changed and it fails, naming why.
    assert_eq!(
        std::fs::read(work.join("report.json")).unwrap(),
        std::fs::read(work.join("report-1.json")).unwrap()
    );
    let verify = |report: &str, leaves: &str| {
        common::cphar(
            &work,
            &[
                "report",
                "verify",
                report,
                "--report-key",
                "report.jwk",
                "--tsa-ca",
                "tsa-root.pem",
                "--leaves",
                leaves,
                "--proof",
                "proof.json",
                "--lot",
                "LOT-7",
            ],
        )
    };
    let o = verify("report-1.json", "leaves-1.jsonl");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let text = std::fs::read_to_string(work.join("report-1.json")).unwrap();
    let at = text.find(r#""lotCount":1"#).expect("one lot") + r#""lotCount":"#.len();
    let mut bytes = text.into_bytes();
    bytes[at] = b'2';
    std::fs::write(work.join("forged.json"), bytes).unwrap();
    let o = verify("forged.json", "leaves-1.jsonl");
    assert_eq!(o.status.code(), Some(1));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["result"], "invalid", "{out}");
    assert_eq!(out["reason"], "signature_invalid", "{out}");
    let leaves = std::fs::read_to_string(work.join("leaves-1.jsonl")).unwrap();
    std::fs::write(
        work.join("forged.jsonl"),
        leaves.replacen(r#""quantity":"400"#, r#""quantity":"500"#, 1),
    )
    .unwrap();
    let o = verify("report-1.json", "forged.jsonl");
    assert_eq!(o.status.code(), Some(1));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["reason"], "totals_mismatch", "{out}");
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
