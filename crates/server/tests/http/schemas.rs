//! Every operation of the OpenAPI document answered with its documented success by the
//! running server, each answer checked against its schema (`conformance::check`, called on
//! every answer of the suite), through one pass over the whole API.

use crate::harness::*;
use cphar_server::openapi::OPERATIONS;
use cphar_tsa::{HashAlg, MessageImprint, make_request};
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_documented() {
    let pki = Pki::new();
    let policy = "policy_id = \"schema-test\"\nversion = 1\n[default]\neffect = \"allow\"\nreason_code = \"no_rule_matched\"\n".to_owned();
    let s = Server::start(
        &pki,
        Options {
            policy: Some(policy),
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    for path in [
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/.well-known/did.json",
        "/tsa/certificate",
    ] {
        assert_eq!(s.get(path, None).await.status, 200, "{path}");
    }

    s.post("/enrollment/challenges", Some(&roles.vendor), &json!({}))
        .await
        .expect(201);

    // Lots through their lifecycle: register, inspect, custody, bind, sign off, attest.
    let seal_a = s.active_lot(&pki, &roles, "LOT-A", "SEAL-A").await;
    s.active_lot(&pki, &roles, "LOT-B", "SEAL-B").await;
    s.active_lot(&pki, &roles, "LOT-C", "SEAL-C").await;
    s.bound_lot(&pki, &roles, "LOT-E", "SEAL-E").await;
    s.get("/lots/LOT-A", Some(&roles.auditor)).await.expect(200);
    s.get("/seals/SEAL-A", Some(&roles.operator))
        .await
        .expect(200);
    s.get("/lots/LOT-A/did.json?versionId=1", None)
        .await
        .expect(200);
    // Both views of the reserve set match the schema.
    s.get("/reserve/active", None).await.expect(200);
    s.get("/reserve/active?limit=2", Some(&roles.auditor))
        .await
        .expect(200);
    let method = s.method(&roles, "LOT-A").await;
    let (id, request) = s.challenge(&roles.verifier, "LOT-A").await;
    let answer = s
        .answer(&roles.verifier, &id, seal_a.respond(&request, &method))
        .await
        .expect(200);
    assert_eq!(answer["result"], "valid", "{answer}");
    s.post("/lots/LOT-A/close-cycle", Some(&roles.operator), &json!({}))
        .await
        .expect(200);

    // Rebind, retire, revoke, decommission.
    let a2 = pki.device("SEAL-A2");
    s.post("/seals", Some(&roles.vendor), &a2.register_body())
        .await
        .expect(201);
    s.post(
        "/inspections",
        Some(&roles.inspector),
        &inspection_body("LOT-A", "SEAL-A2"),
    )
    .await
    .expect(201);
    s.post(
        "/lots/LOT-A/rebind",
        Some(&roles.operator),
        &json!({"reason": "device_replacement"}),
    )
    .await
    .expect(201);
    s.post(
        "/lots/LOT-B/retire",
        Some(&roles.operator),
        &json!({"reason": "device_replacement"}),
    )
    .await
    .expect(200);
    s.post(
        "/lots/LOT-C/revoke",
        Some(&roles.operator),
        &json!({"reason": "tamper_detected"}),
    )
    .await
    .expect(200);
    s.post(
        "/lots/LOT-C/decommission",
        Some(&roles.operator),
        &json!({}),
    )
    .await
    .expect(200);
    s.get("/status/revocations", None).await.expect(200);
    s.get("/status/revocations/0", None).await.expect(200);
    s.get("/status/revocations/entries", None).await.expect(200);
    s.get("/status/revocations/1", None)
        .await
        .problem(404, "status_list_not_found");

    // The Enrollment Authority: revoke and rotate, re-enroll a suspended binding, expire.
    s.post("/authority/revoke", Some(&s.admin), &json!({}))
        .await
        .expect(200);
    s.post("/lots/LOT-E/reenroll", Some(&roles.operator), &json!({}))
        .await
        .expect(200);
    s.post("/authority/expire", Some(&s.admin), &json!({}))
        .await
        .expect(200);

    // Bulk registration: a manifest, its batch, an item's proof.
    let manifest = format!(
        "{}\n{}\n",
        pki.device("SEAL-M1").register_body(),
        pki.device("SEAL-M2").register_body()
    );
    let report = s
        .call(
            "POST",
            "/seals:batch",
            Some(&roles.vendor),
            Some("application/x-ndjson"),
            manifest.into_bytes(),
        )
        .await
        .expect(200);
    let batch = report["batchId"].as_str().unwrap().to_owned();
    s.get(&format!("/seals:batch/{batch}"), Some(&roles.auditor))
        .await
        .expect(200);
    s.get(&format!("/seals:batch/{batch}/items/1"), Some(&s.admin))
        .await
        .expect(200);

    // Tokens and policy.
    let doomed = s.token("auditor", "short-lived").await;
    let doomed_id = doomed
        .trim_start_matches("cphar_")
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    s.call(
        "DELETE",
        &format!("/tokens/{doomed_id}"),
        Some(&s.admin),
        None,
        Vec::new(),
    )
    .await
    .expect(200);
    s.get("/policy", Some(&roles.verifier)).await.expect(200);
    let me = s.get("/session", Some(&roles.operator)).await.expect(200);
    assert_eq!(
        (me["role"].as_str(), me["subject"].as_str()),
        (Some("operator"), Some("operator-1"))
    );
    let next = json!({"policy_id": "schema-test", "version": 2,
                      "default": {"effect": "allow", "reason_code": "no_rule_matched"}});
    s.call(
        "PUT",
        "/policy",
        Some(&s.admin),
        Some("application/json"),
        next.to_string().into_bytes(),
    )
    .await
    .expect(200);

    // The audit log and the TSA.
    let r = s
        .get("/audit/entries?limit=10000", Some(&roles.auditor))
        .await;
    assert_eq!(r.status, 200);
    s.get("/audit/leaves?from=1&limit=5", None)
        .await
        .expect(200);
    assert_eq!(s.get("/audit/checkpoint", None).await.status, 200);
    s.get("/audit/proof/2", None).await.expect(200);
    s.get("/audit/proof/2", Some(&roles.auditor))
        .await
        .expect(200);
    s.get("/audit/consistency?from=3", None).await.expect(200);
    let query = make_request(
        &MessageImprint::of_data(HashAlg::Sha256, b"schemas"),
        Some(&[9; 8]),
        true,
        None,
    )
    .unwrap();
    let r = s
        .call(
            "POST",
            "/tsa",
            None,
            Some("application/timestamp-query"),
            query,
        )
        .await;
    assert_eq!(r.status, 200);

    // Reserve reports: publish, list, fetch, key, leaves, proof.
    s.post("/reports", Some(&roles.operator), &json!({}))
        .await
        .expect(201);
    for path in ["/reports", "/reports/latest", "/reports/key", "/reports/1"] {
        s.get(path, None).await.expect(200);
    }
    s.get("/reports/1/leaves", Some(&roles.auditor))
        .await
        .expect(200);
    s.get("/reports/1/proof?lot=LOT-A", Some(&roles.auditor))
        .await
        .expect(200);
    s.get("/reports/1/proof?lot=LOT-B", Some(&roles.auditor))
        .await
        .expect(200);

    let all: BTreeSet<(&str, &str)> = OPERATIONS.iter().map(|o| (o.method, o.path)).collect();
    let seen = s.succeeded.lock().unwrap().clone();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "never answered with success: {missing:?}"
    );
    s.stop().await;
}
