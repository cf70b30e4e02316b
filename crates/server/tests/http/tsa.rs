//! RFC 3161 through HTTP: queries made by the real `openssl ts -query`, answered by
//! `POST /tsa`, verified by `openssl ts -verify` against the chain of `GET /tsa/certificate`
//! (root as the trust anchor, the leaf as untrusted). Garbage gets a rejection reply
//! (badDataFormat); a wrong content type gets 415. Skips loudly without openssl (fails under
//! CI=true).

use crate::harness::*;
use cphar_tsa::{FailureInfo, PkiStatus, parse_response};
use std::path::Path;
use std::process::Command;

fn openssl_available() -> bool {
    if Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    cphar_testdata::skip("the RFC 3161 HTTP interop test: `openssl` is not on PATH");
    false
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Splits a PEM bundle into its certificates, in order.
fn split_pem(bundle: &str) -> Vec<String> {
    let mut certs = Vec::new();
    let mut current = String::new();
    for line in bundle.lines() {
        if line.starts_with("-----BEGIN") {
            current.clear();
        }
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END") {
            certs.push(current.clone());
        }
    }
    certs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc3161_through_http_verifies_with_openssl() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("data.bin"), b"CPHAR reserve attestation report").unwrap();

    // The published chain: leaf first, root last.
    let r = s.get("/tsa/certificate", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/pem-certificate-chain");
    let certs = split_pem(&r.text());
    assert!(certs.len() >= 2, "leaf and root: {}", r.text());
    std::fs::write(d.join("leaf.pem"), &certs[0]).unwrap();
    std::fs::write(d.join("root.pem"), certs.last().unwrap()).unwrap();
    std::fs::write(d.join("untrusted.pem"), certs[..certs.len() - 1].concat()).unwrap();

    let mut granted = 0;
    for (hash, cert, nonce) in [
        ("-sha256", true, true),
        ("-sha384", false, true),
        ("-sha512", true, false),
    ] {
        let case = format!("{hash} cert={cert} nonce={nonce}");
        let mut query = vec!["ts", "-query", "-data", "data.bin", hash];
        if cert {
            query.push("-cert");
        }
        if !nonce {
            query.push("-no_nonce");
        }
        query.extend(["-out", "req.tsq"]);
        let out = openssl(d, &query);
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let req = std::fs::read(d.join("req.tsq")).unwrap();

        let r = s
            .call(
                "POST",
                "/tsa",
                None,
                Some("application/timestamp-query"),
                req,
            )
            .await;
        assert_eq!(r.status, 200, "{case}: {}", r.text());
        assert_eq!(r.content_type(), "application/timestamp-reply");
        let parsed = parse_response(&r.body).unwrap();
        assert!(parsed.is_granted(), "{case}: {parsed:?}");
        std::fs::write(d.join("resp.tsr"), &r.body).unwrap();

        for against in [["-queryfile", "req.tsq"], ["-data", "data.bin"]] {
            let mut verify = vec!["ts", "-verify", "-in", "resp.tsr"];
            verify.extend(against);
            verify.extend(["-CAfile", "root.pem", "-untrusted", "untrusted.pem"]);
            let out = openssl(d, &verify);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("Verification: OK"),
                "{case} {against:?}: openssl ts -verify: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Other data does not verify.
        std::fs::write(d.join("other.bin"), b"something else").unwrap();
        let out = openssl(
            d,
            &[
                "ts",
                "-verify",
                "-in",
                "resp.tsr",
                "-data",
                "other.bin",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "untrusted.pem",
            ],
        );
        assert!(
            !out.status.success(),
            "{case}: a token for other data verified"
        );
        granted += 1;
    }

    // Garbage: a rejection reply with badDataFormat, not an HTTP error.
    let mut refused = 0;
    for garbage in [
        b"garbage".to_vec(),
        Vec::new(),
        vec![0x30, 0x03, 0x02, 0x01, 0x01],
    ] {
        let r = s
            .call(
                "POST",
                "/tsa",
                None,
                Some("application/timestamp-query"),
                garbage,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.content_type(), "application/timestamp-reply");
        let parsed = parse_response(&r.body).unwrap();
        assert_eq!(parsed.status, PkiStatus::Rejection);
        assert!(
            parsed.failures.contains(&FailureInfo::BadDataFormat),
            "{parsed:?}"
        );
        assert!(parsed.token.is_none());
        refused += 1;
    }
    // Wrong content type, and too large.
    let req = std::fs::read(d.join("req.tsq")).unwrap();
    for ct in [
        Some("application/json"),
        Some("application/octet-stream"),
        None,
    ] {
        s.call("POST", "/tsa", None, ct, req.clone())
            .await
            .problem(415, "unsupported_media_type");
    }
    s.call(
        "POST",
        "/tsa",
        None,
        Some("application/timestamp-query"),
        vec![0u8; 64 * 1024 + 1],
    )
    .await
    .problem(413, "body_too_large");

    // Every granted token is in the audit log before it left; refusals are counted and
    // written as one aggregated entry per period (here: flushed now).
    assert!(cphar_server::refusals::flush(&s.state).await.unwrap());
    let export = s.audit_export().await;
    cphar_audit::verify_export(&export, Some(&s.identity())).unwrap();
    let types = event_types(&export);
    assert_eq!(
        types.iter().filter(|t| *t == "timestamp_issued").count(),
        granted
    );
    let aggregated: Vec<serde_json::Value> = std::str::from_utf8(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["eventType"] == "timestamp_refused")
        .collect();
    assert_eq!(aggregated.len(), 1, "{aggregated:?}");
    assert_eq!(
        aggregated[0]["eventData"]["data"]["refused"]["badDataFormat"],
        refused
    );
    s.stop().await;
}
