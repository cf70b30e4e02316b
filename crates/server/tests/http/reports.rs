//! Reserve reports over HTTP (SQLite and PostgreSQL): published by an operator, fetched and
//! verified offline with `cphar-report` (signature with the key of `/reports/key`, the RFC 3161
//! token against the TSA root of `/tsa/certificate`, totals recomputed from `/leaves`, a proof);
//! a broken seal and a revoked lot leave the next report with their reasons and provable
//! absence; who may publish and who may read leaves and proofs; the audit log records the key
//! certification and each report and still verifies.

use crate::harness::*;
use cphar_crypto::{Jwk, VerifyingKey};
use cphar_protocol::DeviceStatus;
use cphar_report::{
    Proof, ProofOutcome, VerifiedReport, VerifyOptions, parse_leaf, verify_departures,
    verify_leaves, verify_proof, verify_report, verify_succession,
};
use cphar_tsa::{TrustAnchors, UnixTime, certs_from_pem, certs_to_pem};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reports() {
    run_sqlite(reports).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reports() {
    run_postgres("postgres_reports", reports).await;
}

/// `POST /reports` as `token`, retried while the previous report is from the same second
/// (`report_too_soon`, 409 with `Retry-After: 1`): reports are dated in whole seconds.
async fn publish(s: &Server, token: &str) -> (Resp, Vec<u8>) {
    for _ in 0..10 {
        let r = s.post("/reports", Some(token), &json!({})).await;
        if r.status == 409 && r.reason().as_deref() == Some("report_too_soon") {
            let wait = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            continue;
        }
        assert_eq!(r.status, 201, "{}", r.text());
        let body = r.body.to_vec();
        return (r, body);
    }
    panic!("the report was still too soon after 10 tries");
}

struct Checker {
    key: VerifyingKey,
    roots: TrustAnchors,
}

impl Checker {
    async fn of(s: &Server) -> Checker {
        let key = s.get("/reports/key", None).await.expect(200);
        let jwk = Jwk::from_json(&key["publicKeyJwk"]).unwrap();
        assert_eq!(key["kid"], jwk.thumbprint_b64().unwrap());
        // The registry's DID document names the same key (not as an assertion method).
        let did = s.get("/.well-known/did.json", None).await.json();
        let method = did["verificationMethod"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"].as_str().unwrap().ends_with("#report-key"))
            .expect("the report key in the registry's DID document");
        assert_eq!(Jwk::from_json(&method["publicKeyJwk"]).unwrap(), jwk);
        assert!(!did["assertionMethod"].to_string().contains("#report-key"));
        let chain = s.get("/tsa/certificate", None).await.text();
        let certs = certs_from_pem(&chain).unwrap();
        let root = certs_to_pem(&certs[certs.len() - 1..]);
        Checker {
            key: VerifyingKey::from_jwk(&jwk).unwrap(),
            roots: TrustAnchors::from_pem(&root).unwrap(),
        }
    }

    fn verify(&self, bytes: &[u8]) -> VerifiedReport {
        let now = UnixTime::from_secs(
            u64::try_from(cphar_protocol::Timestamp::now_utc().unix_seconds()).unwrap(),
        )
        .unwrap();
        let verified = verify_report(
            bytes,
            &VerifyOptions {
                report_key: &self.key,
                tsa_roots: Some(&self.roots),
                now,
            },
        )
        .unwrap_or_else(|e| panic!("report does not verify: {e}"));
        assert!(verified.timestamp().is_some(), "the token was checked");
        verified
    }
}

async fn leaves_of(s: &Server, token: &str, n: u64) -> Vec<cphar_report::LotLeaf> {
    let r = s.get(&format!("/reports/{n}/leaves"), Some(token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, l)| parse_leaf(&serde_json::to_vec(l).unwrap(), i as u64).unwrap())
        .collect()
}

async fn proof_of(s: &Server, token: &str, n: u64, lot: &str) -> Proof {
    let r = s
        .get(&format!("/reports/{n}/proof?lot={lot}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    Proof::from_json_bytes(&r.body).unwrap()
}

async fn reports(backend: Backend) {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            database_url: backend.database_url(),
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    let seal_a = s.active_lot(&pki, &roles, "LOT-A", "SEAL-A").await;
    let seal_b = s.active_lot(&pki, &roles, "LOT-B", "SEAL-B").await;
    s.active_lot(&pki, &roles, "LOT-C", "SEAL-C").await;
    // LOT-A's seal answers: its leaf carries the attestation.
    let method = s.method(&roles, "LOT-A").await;
    let (id, request) = s.challenge(&roles.verifier, "LOT-A").await;
    let r = s
        .answer(&roles.verifier, &id, seal_a.respond(&request, &method))
        .await
        .expect(200);
    assert_eq!(r["result"], "valid", "{r}");

    // Nothing published yet; who may publish.
    s.get("/reports/latest", None)
        .await
        .problem(404, "report_not_found");
    s.post("/reports", None, &json!({}))
        .await
        .problem(401, "unauthenticated");
    for token in [&roles.verifier, &roles.auditor, &roles.vendor] {
        s.post("/reports", Some(token), &json!({}))
            .await
            .problem(403, "role_not_allowed");
    }
    s.post("/reports", Some(&roles.operator), &json!({"number": 7}))
        .await
        .problem(422, "invalid_input");
    s.get("/reports/latest", None)
        .await
        .problem(404, "report_not_found");

    // Report 1: served exactly as published, verified offline.
    let (r, one) = publish(&s, &roles.operator).await;
    assert_eq!(r.headers["location"], "/reports/1");
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(s.get("/reports/1", None).await.body.to_vec(), one);
    assert_eq!(s.get("/reports/latest", None).await.body.to_vec(), one);
    let check = Checker::of(&s).await;
    let v1 = check.verify(&one);
    let report = v1.report();
    assert_eq!(report.report_number, 1);
    assert_eq!(report.lot_count, 3);
    assert_eq!(report.totals.len(), 1);
    assert_eq!(
        (
            report.totals[0].commodity.as_str(),
            report.totals[0].quantity.as_str(),
            report.totals[0].lots
        ),
        ("copper cathode", "1200", 3)
    );
    assert_eq!(report.lot_counts_by_state.get("bound"), Some(&3));
    assert!(report.previous.is_none() && report.departed.is_empty());

    // Totals recomputed from the leaves; LOT-A's attestation is in its leaf.
    let leaves1 = leaves_of(&s, &roles.auditor, 1).await;
    let ids1: Vec<String> = leaves1.iter().map(|l| l.lot_id.clone()).collect();
    assert_eq!(ids1, ["LOT-A", "LOT-B", "LOT-C"]);
    assert!(leaves1[0].last_attestation.is_some());
    assert!(leaves1[1].last_attestation.is_none());
    verify_leaves(&v1, leaves1.clone()).unwrap();
    // A leaf changed by one digit no longer adds up.
    let mut forged = leaves1.clone();
    forged[2].quantity = "401.000".into();
    let e = verify_leaves(&v1, forged).unwrap_err();
    assert_eq!(e.reason.code(), "totals_mismatch", "{e}");

    // The proof of an active lot, for the auditor and for the operator who bound it.
    for token in [&roles.auditor, &roles.operator] {
        let proof = proof_of(&s, token, 1, "LOT-A").await;
        match verify_proof(&v1, &proof, Some("LOT-A")).unwrap() {
            ProofOutcome::Included(leaf) => assert_eq!(leaf, leaves1[0]),
            other => panic!("{other:?}"),
        }
    }

    // Confidential: reports, roots and totals are public; leaves and proofs are not.
    let listed = s.get("/reports", None).await.expect(200);
    assert_eq!(listed["reports"][0]["number"], 1);
    assert_eq!(listed["reports"][0]["rootSum"], report.sum_root);
    assert_eq!(listed["reports"][0]["rootRfc9162"], report.rfc9162_root);
    assert_eq!(listed["reports"][0]["lotCount"], 3);
    assert_eq!(listed["reports"][0]["totals"][0]["quantity"], "1200");
    s.get("/reports/1/leaves", None)
        .await
        .problem(401, "unauthenticated");
    s.get("/reports/1/proof?lot=LOT-A", None)
        .await
        .problem(401, "unauthenticated");
    s.get("/reports/1/leaves", Some(&roles.operator))
        .await
        .problem(403, "role_not_allowed");
    s.get("/reports/1/proof?lot=LOT-A", Some(&roles.verifier))
        .await
        .problem(403, "role_not_allowed");
    let stranger = s.token("operator", "operator-2").await;
    s.get("/reports/1/proof?lot=LOT-A", Some(&stranger))
        .await
        .problem(404, "lot_not_found");
    s.get("/reports/9", None)
        .await
        .problem(404, "report_not_found");
    s.get("/reports/0", None).await.problem(400, "invalid_path");
    s.get("/reports/1/proof", Some(&roles.auditor))
        .await
        .problem(400, "invalid_query");

    // LOT-B's seal reports tampering (signed); LOT-C is revoked by its operator.
    let method_b = s.method(&roles, "LOT-B").await;
    let (id, request) = s.challenge(&roles.verifier, "LOT-B").await;
    let r = s
        .answer(
            &roles.verifier,
            &id,
            seal_b.respond_with(&request, &method_b, DeviceStatus::Tampered),
        )
        .await
        .expect(200);
    assert_eq!(r["lotActive"], false, "{r}");
    s.post(
        "/lots/LOT-C/revoke",
        Some(&roles.operator),
        &json!({"reason": "key_compromise"}),
    )
    .await
    .expect(200);

    // Report 2: without them, their departures and reasons listed, their absence provable.
    let (r, two) = publish(&s, &s.admin).await;
    assert_eq!(r.headers["location"], "/reports/2");
    let v2 = check.verify(&two);
    let report2 = v2.report();
    assert_eq!(report2.report_number, 2);
    assert_eq!(report2.lot_count, 1);
    assert_eq!(report2.totals[0].quantity, "400");
    let departed: Vec<(&str, &str)> = report2
        .departed
        .iter()
        .map(|d| (d.lot_id.as_str(), d.reason.as_str()))
        .collect();
    assert_eq!(
        departed,
        [("LOT-B", "tamper_detected"), ("LOT-C", "key_compromise")]
    );
    assert_eq!(report2.lot_counts_by_state.get("unsealed"), Some(&2));
    verify_succession(&v1, &v2).unwrap();
    let leaves2 = leaves_of(&s, &roles.auditor, 2).await;
    verify_leaves(&v2, leaves2.clone()).unwrap();
    verify_departures(&v2, ids1.clone(), leaves2.iter().map(|l| l.lot_id.clone())).unwrap();
    for lot in ["LOT-B", "LOT-C"] {
        let proof = proof_of(&s, &roles.auditor, 2, lot).await;
        assert_eq!(
            verify_proof(&v2, &proof, Some(lot)).unwrap(),
            ProofOutcome::Absent(lot.into())
        );
        // It names its neighbours' leaves: not for an operator.
        s.get(
            &format!("/reports/2/proof?lot={lot}"),
            Some(&roles.operator),
        )
        .await
        .problem(403, "role_not_allowed");
    }
    // Report 1's tree is still served (rebuilt or cached), against report 1.
    let proof = proof_of(&s, &roles.auditor, 1, "LOT-B").await;
    assert!(matches!(
        verify_proof(&v1, &proof, Some("LOT-B")).unwrap(),
        ProofOutcome::Included(_)
    ));
    let listed = s.get("/reports?after=1", None).await.expect(200);
    assert_eq!(listed["reports"].as_array().unwrap().len(), 1);
    assert_eq!(listed["reports"][0]["number"], 2);

    // Concurrent publishers: each report gets its own number, none is skipped, each names
    // its predecessor.
    let (a, b, c) = tokio::join!(
        publish(&s, &roles.operator),
        publish(&s, &s.admin),
        publish(&s, &roles.operator)
    );
    let mut numbers: Vec<u64> = [&a.1, &b.1, &c.1]
        .iter()
        .map(|bytes| check.verify(bytes).report().report_number)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [3, 4, 5]);
    let mut previous = v2.clone();
    for n in 3..=5 {
        let current = check.verify(&s.get(&format!("/reports/{n}"), None).await.body);
        verify_succession(&previous, &current).unwrap();
        previous = current;
    }

    // The audit log: the key certified once, each report recorded, the chain verifies.
    let export = s.audit_export().await;
    cphar_audit::verify_export(&export, Some(&s.identity()))
        .unwrap_or_else(|e| panic!("audit log: {e}"));
    let entries: Vec<Value> = std::str::from_utf8(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |t: &str| -> Vec<&Value> {
        entries
            .iter()
            .filter(|e| e["eventType"] == t)
            .map(|e| &e["eventData"]["data"])
            .collect()
    };
    let certified = of("report_key_certified");
    assert_eq!(certified.len(), 1);
    assert_eq!(
        Jwk::from_json(&certified[0]["publicKeyJwk"]).unwrap(),
        check.key.to_jwk()
    );
    assert_eq!(certified[0]["kid"], report.report_key.kid);
    let published = of("report_published");
    assert_eq!(published.len(), 5);
    assert_eq!(published[1]["reportNumber"], 2);
    assert_eq!(
        published[1]["reportDigest"],
        cphar_crypto::hex(&v2.digest())
    );
    assert_eq!(published[1]["sumRoot"], report2.sum_root);
    assert_eq!(published[1]["totals"][0]["quantity"], "400");
    // LOT-A's leaf names its attestation entry by the SHA-256 of its line.
    let attested = std::str::from_utf8(&export)
        .unwrap()
        .lines()
        .rfind(|l| l.contains("\"seal_attested\"") && l.contains("SEAL-A"))
        .unwrap();
    assert_eq!(
        leaves1[0].last_attestation.as_ref().unwrap().hash,
        format!(
            "sha256:{}",
            cphar_crypto::hex(&cphar_crypto::sha256(attested.as_bytes()))
        )
    );
    s.stop().await;
}

/// Another report key than the one certified in the audit log, or none: the process does not
/// start, names both thumbprints, creates no key and writes nothing; with the right key it
/// starts without certifying it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_with_another_report_key_does_not_start() {
    use cphar_server::node::{Node, NodeConfig, REPORT_KEY_FILE, StartError};
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut c = NodeConfig::new(dir.path(), "reg.example");
        c.report_key = true;
        c
    };
    let node = Node::start(config()).await.unwrap();
    let kid = node
        .report_key
        .as_ref()
        .unwrap()
        .verifying_key()
        .to_jwk()
        .thumbprint_b64()
        .unwrap();
    let before = node.registry.store().audit_entries(0, 1000).await.unwrap();
    assert_eq!(
        before
            .iter()
            .filter(|(_, l)| l.contains("\"report_key_certified\""))
            .count(),
        1
    );
    node.close().await;
    let path = dir.path().join(REPORT_KEY_FILE);
    let original = std::fs::read(&path).unwrap();
    let refused = |r: Result<Node, StartError>| match r {
        Err(e @ StartError::KeyMismatch(_)) => e.to_string(),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("started with a foreign report key"),
    };

    std::fs::remove_file(&path).unwrap();
    let why = refused(Node::start(config()).await);
    assert!(why.contains(&kid), "{why}");
    assert!(!path.exists(), "no key was created");

    let other = cphar_crypto::SigningKey::generate(cphar_crypto::Algorithm::Ed25519).unwrap();
    cphar_server::node::write_secret(&path, other.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let why = refused(Node::start(config()).await);
    let mine = other.verifying_key().to_jwk().thumbprint_b64().unwrap();
    assert!(why.contains(&kid) && why.contains(&mine), "{why}");

    // Nothing was written by the refused starts; the right key starts and certifies nothing.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, original).unwrap();
    let node = Node::start(config()).await.unwrap();
    let after = node.registry.store().audit_entries(0, 1000).await.unwrap();
    assert_eq!(after.len(), before.len() + 1, "only this start's epoch");
    node.close().await;
}

/// With `report_interval_seconds`, the scheduler publishes reports by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_publishes_reports() {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            report_interval_seconds: 1,
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    s.active_lot(&pki, &roles, "LOT-S", "SEAL-S").await;
    // Wait (bounded) for the condition: a report that includes the lot.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let check = Checker::of(&s).await;
    let report = loop {
        let r = s.get("/reports/latest", None).await;
        if r.status == 200 {
            let v = check.verify(&r.body);
            if v.report().lot_count == 1 {
                break v;
            }
        } else {
            r.problem(404, "report_not_found");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled report within 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(report.report().report_number >= 1);
    let export = s.audit_export().await;
    let text = std::str::from_utf8(&export).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("\"report_published\"") && l.contains("\"actor\":\"scheduler\"")),
        "published by the scheduler"
    );
    s.stop().await;
}
