//! The OpenAPI document, health, readiness and metrics; and the module error state reached
//! in-process (`ModuleState::enter_error`, as a failed conditional self-test would): not ready,
//! nothing signed, health still answers.

use crate::harness::*;
use cphar_server::openapi::OPERATIONS;
use cphar_tsa::{FailureInfo, HashAlg, MessageImprint, PkiStatus, make_request, parse_response};
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_exactly_the_operations() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let r = s.get("/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/json");
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let mut listed = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            listed.insert((method.clone(), path.clone()));
            let role = op["x-cphar-role"].as_str().unwrap();
            assert_eq!(
                op.get("security").is_some(),
                role != "public",
                "{method} {path}"
            );
            assert!(op["responses"]["default"]["content"]["application/problem+json"].is_object());
            let declared: BTreeSet<String> = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            // Every operation documents its success answer with a schema or a content type,
            // and every JSON request body has a schema.
            let success: Vec<&String> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with('2'))
                .collect();
            assert_eq!(success.len(), 1, "{method} {path}: {success:?}");
            let ok = &op["responses"][success[0].as_str()]["content"];
            assert!(
                ok.as_object()
                    .unwrap()
                    .values()
                    .all(|c| c["schema"].is_object()),
                "{method} {path}: {ok}"
            );
            if method == "post" || method == "put" {
                let body = &op["requestBody"]["content"];
                assert!(
                    body.as_object()
                        .is_some_and(|c| c.values().all(|c| c["schema"].is_object())),
                    "{method} {path} has no request schema: {op}"
                );
            }
            let in_path: BTreeSet<String> = path
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{').and_then(|x| x.strip_suffix('}')))
                .map(str::to_owned)
                .collect();
            assert_eq!(declared, in_path, "{method} {path}");
            let entry = OPERATIONS
                .iter()
                .find(|o| o.method == method && o.path == path)
                .unwrap_or_else(|| panic!("{method} {path} is not in OPERATIONS"));
            assert_eq!(role, entry.role, "{method} {path}");
            assert_eq!(op["summary"], entry.summary);
        }
    }
    let table: BTreeSet<(String, String)> = OPERATIONS
        .iter()
        .map(|o| (o.method.to_owned(), o.path.to_owned()))
        .collect();
    assert_eq!(table.len(), OPERATIONS.len(), "OPERATIONS has duplicates");
    assert_eq!(listed, table);
    // Every `$ref` resolves, and the document is what the code generates.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "unresolved $ref {name}"
        );
    }
    assert_eq!(doc, cphar_server::openapi::document());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_metrics() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let health = s.get("/health", None).await.expect(200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["module"]["state"], "operational");
    assert_eq!(health["clock"]["signing"], true);
    assert_eq!(health["epoch"], json!(s.state.node.epoch));
    assert_eq!(
        s.get("/ready", None).await.expect(200),
        json!({"ready": true})
    );
    let metrics = s.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.content_type().starts_with("text/plain"));
    let text = metrics.text();
    assert!(
        text.contains("/health"),
        "requests are counted per route: {text}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_module_error_state_nothing_is_signed() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    s.active_lot(&pki, &roles, "LOT-E", "SEAL-E").await;
    assert!(
        s.state
            .node
            .module
            .enter_error("conditional_self_test_failed", "drill from the HTTP tests")
    );
    let before = s.audit_export().await;

    // Not ready, with the reason; health still answers and shows the state.
    s.get("/ready", None)
        .await
        .problem(503, "conditional_self_test_failed");
    let health = s.get("/health", None).await.expect(200);
    assert_eq!(health["module"]["state"], "error", "{health}");
    assert_eq!(
        health["module"]["reasonCode"],
        "conditional_self_test_failed"
    );
    // No checkpoint, no proof.
    s.get("/audit/checkpoint", None)
        .await
        .problem(503, "conditional_self_test_failed");
    s.get("/audit/proof/0", None)
        .await
        .problem(503, "conditional_self_test_failed");
    s.get("/audit/consistency?from=1", None)
        .await
        .problem(503, "conditional_self_test_failed");
    // The TSA answers systemFailure, never a token.
    let query = make_request(
        &MessageImprint::of_data(HashAlg::Sha256, b"data"),
        Some(&[7; 8]),
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
    assert_eq!(r.status, 200, "{}", r.text());
    let parsed = parse_response(&r.body).unwrap();
    assert_eq!(parsed.status, PkiStatus::Rejection);
    assert_eq!(parsed.failures, vec![FailureInfo::SystemFailure]);
    // Registry writes (each one an audit entry) are refused: 503, never half-done.
    for (path, token, body) in [
        (
            "/seals",
            &roles.vendor,
            pki.device("SEAL-E2").register_body(),
        ),
        (
            "/tokens",
            &s.admin,
            json!({"role": "auditor", "subject": "late"}),
        ),
        (
            "/lots/LOT-E/revoke",
            &roles.operator,
            json!({"reason": "tamper_detected"}),
        ),
    ] {
        let r = s.post(path, Some(token), &body).await;
        assert_eq!(r.status, 503, "POST {path}: {}", r.text());
        assert!(r.reason().is_some());
        assert!(
            !r.text().contains("drill"),
            "internal details stay inside: {}",
            r.text()
        );
    }
    // Reads still work; the lot is untouched.
    assert!(s.active_ids().await.contains(&"LOT-E".to_owned()));
    // The error state latches.
    s.get("/ready", None)
        .await
        .problem(503, "conditional_self_test_failed");
    // Nothing was appended, and the log still verifies.
    let after = s.audit_export().await;
    assert_eq!(before, after, "nothing is signed in the error state");
    cphar_audit::verify_export(&after, Some(&s.identity())).unwrap();
    s.stop().await;
}
