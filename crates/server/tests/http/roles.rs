//! The role × endpoint matrix over every operation of `cphar_server::openapi::OPERATIONS`:
//! public operations answer anyone, the others refuse a missing token (401 `unauthenticated`)
//! and a wrong role (403 `role_not_allowed`) and let the right roles through. Every operation is
//! routed; anything else is 404 `no_such_route` (and a wrong method 405).

use crate::harness::*;
use cphar_server::openapi::OPERATIONS;
use std::collections::BTreeMap;

/// The operation's path with its parameters filled in (any parameter not known here: `x`).
fn concrete(path: &str) -> String {
    let path = path
        .replace("/tokens/{id}", "/tokens/0123456789abcdef")
        .replace(
            "/challenges/{id}",
            "/challenges/00112233445566778899aabbccddeeff",
        )
        .replace("{id}", "NO-SUCH-LOT")
        .replace("{uid}", "NO-SUCH-SEAL")
        .replace("{seq}", "0");
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// A minimal body: `{}` as JSON (so only authorization and validation can refuse).
fn minimal(method: &str) -> (Option<&'static str>, Vec<u8>) {
    match method {
        "post" | "put" => (Some("application/json"), b"{}".to_vec()),
        _ => (None, Vec::new()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_endpoint_matrix() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let mut tokens: BTreeMap<&str, String> = BTreeMap::new();
    for role in ROLES {
        let token = if role == "admin" {
            s.admin.clone()
        } else {
            s.token(role, &format!("{role}-m")).await
        };
        tokens.insert(role, token);
    }
    // A revoked admin token and a malformed one are unauthenticated everywhere.
    let doomed = s.token("admin", "doomed-admin").await;
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
    let forged = format!("{}x", tokens["verifier"]);

    let mut checked = 0;
    for op in OPERATIONS {
        let (method, path, who) = (&op.method, &op.path, &op.role);
        let url = concrete(path);
        let verb = method.to_uppercase();
        let (ct, body) = minimal(method);
        let what = format!("{verb} {path}");
        let public = *who == "public";
        let allowed: Vec<&str> = match *who {
            "public" | "any" => ROLES.to_vec(),
            list => list.split(',').collect(),
        };
        assert!(
            who.split(',')
                .all(|w| w == "any" || w == "public" || ROLES.contains(&w)),
            "{what}: unknown role {who}"
        );

        // No token.
        let r = s.call(&verb, &url, None, ct, body.clone()).await;
        assert_routed(&r, &what);
        if public {
            assert!(
                r.status != 401 && r.status != 403,
                "{what} is public, got {} {}",
                r.status,
                r.text()
            );
        } else {
            r.problem(401, "unauthenticated");
            for bad in [&doomed, &forged] {
                s.call(&verb, &url, Some(bad), ct, body.clone())
                    .await
                    .problem(401, "unauthenticated");
            }
        }
        // Every role.
        for role in ROLES {
            let r = s
                .call(&verb, &url, Some(&tokens[role]), ct, body.clone())
                .await;
            assert_routed(&r, &what);
            assert!(
                r.status < 500,
                "{what} as {role}: {} {}",
                r.status,
                r.text()
            );
            if allowed.contains(&role) {
                assert!(
                    r.status != 401 && r.status != 403,
                    "{what} must let {role} through, got {} {}",
                    r.status,
                    r.text()
                );
            } else {
                let body = r.problem(403, "role_not_allowed");
                assert!(
                    body["detail"].as_str().unwrap().contains(role),
                    "{what}: {body}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, OPERATIONS.len() * ROLES.len());

    // Not in OPERATIONS: no such route; a known path with another method: 405.
    for path in [
        "/nope",
        "/lots",
        "/lots/x/y/z",
        "/seals",
        "/audit",
        "/tokens",
        "/challenges/x",
    ] {
        let r = s.get(path, Some(&s.admin)).await;
        if OPERATIONS
            .iter()
            .any(|op| op.method == "get" && concrete(op.path) == path)
        {
            continue;
        }
        if r.status == 405 {
            r.problem(405, "method_not_allowed");
        } else {
            r.problem(404, "no_such_route");
        }
    }
    s.get("/definitely/not/an/endpoint", None)
        .await
        .problem(404, "no_such_route");
    s.post("/unknown", Some(&s.admin), &serde_json::json!({}))
        .await
        .problem(404, "no_such_route");
    s.call("DELETE", "/health", None, None, Vec::new())
        .await
        .problem(405, "method_not_allowed");
    s.post("/reserve/active", None, &serde_json::json!({}))
        .await
        .problem(405, "method_not_allowed");
    s.get("/seals", None)
        .await
        .problem(405, "method_not_allowed");

    // And the server is still well.
    s.get("/health", None).await.expect(200);
    cphar_audit::verify_export(&s.audit_export().await, Some(&s.identity())).unwrap();
    s.stop().await;
}

#[track_caller]
fn assert_routed(r: &Resp, what: &str) {
    assert_ne!(
        r.status,
        405,
        "{what} is not routed for its method: {}",
        r.text()
    );
    assert!(
        !(r.status == 404 && r.reason().as_deref() == Some("no_such_route")),
        "{what} is not routed: {}",
        r.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_and_are_revoked() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let r = s
        .post(
            "/tokens",
            Some(&s.admin),
            &serde_json::json!({"role": "auditor", "subject": "brief", "expiresInSeconds": 5}),
        )
        .await;
    let body = r.expect(201);
    let (id, brief) = (
        body["id"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    );
    assert!(brief.starts_with(&format!("cphar_{id}.")));
    s.get("/lots/NO-SUCH-LOT", Some(&brief))
        .await
        .problem(404, "lot_not_found");
    // Valid until it expires, then refused: wait for that, never longer than a bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let body = loop {
        let r = s.get("/lots/NO-SUCH-LOT", Some(&brief)).await;
        if r.status == 401 {
            break r.problem(401, "unauthenticated");
        }
        r.problem(404, "lot_not_found");
        assert!(
            std::time::Instant::now() < deadline,
            "the token never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    let other = s.token("operator", "ops").await;
    let other_id = other
        .trim_start_matches("cphar_")
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    s.get("/seals/NO-SUCH-SEAL", Some(&other))
        .await
        .problem(404, "seal_not_found");
    s.call(
        "DELETE",
        &format!("/tokens/{other_id}"),
        Some(&other),
        None,
        Vec::new(),
    )
    .await
    .problem(403, "role_not_allowed");
    s.call(
        "DELETE",
        &format!("/tokens/{other_id}"),
        Some(&s.admin),
        None,
        Vec::new(),
    )
    .await
    .expect(200);
    s.call(
        "DELETE",
        &format!("/tokens/{other_id}"),
        Some(&s.admin),
        None,
        Vec::new(),
    )
    .await
    .problem(404, "token_not_found");
    let body = s
        .get("/seals/NO-SUCH-SEAL", Some(&other))
        .await
        .problem(401, "unauthenticated");
    assert!(
        body["detail"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    // Creation and revocation are audited; the secrets never are.
    let export = s.audit_export().await;
    let types = event_types(&export);
    assert_eq!(types.iter().filter(|t| *t == "token_created").count(), 3);
    assert_eq!(types.iter().filter(|t| *t == "token_revoked").count(), 1);
    let text = String::from_utf8(export).unwrap();
    for secret in [&brief, &other, &s.admin] {
        let secret_part = secret.split('.').nth(1).unwrap();
        assert!(
            !text.contains(secret_part),
            "a token secret is in the audit log"
        );
    }
    s.stop().await;
}
