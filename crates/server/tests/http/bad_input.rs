//! Bad input gets a clear 4xx problem answer, never a 5xx and never a crash: malformed JSON,
//! duplicate members, oversized bodies, wrong content types, unknown / missing / mistyped
//! members, bad tokens, bad query strings; a flood of challenges is rate limited (429 with
//! Retry-After); and a property test throws random bytes and random JSON at every writing
//! endpoint as every role.

use crate::harness::*;
use cphar_server::openapi::OPERATIONS;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// Asserts a 4xx problem+json answer with a reason code; returns the code.
#[track_caller]
fn clear_4xx(r: &Resp, what: &str) -> String {
    assert!(
        (400..500).contains(&r.status),
        "{what}: expected a 4xx, got {} {}",
        r.status,
        r.text()
    );
    let code = r.reason().unwrap_or_else(|| {
        panic!(
            "{what}: {} is not problem+json with a reasonCode: {} {}",
            r.status,
            r.content_type(),
            r.text()
        )
    });
    let body = r.json();
    assert_eq!(body["status"], r.status, "{what}");
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_clear_4xx() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let seal = s.active_lot(&pki, &roles, "LOT-M", "SEAL-M").await;
    let json_ct = Some("application/json");

    // (path, token, a valid body to mutate)
    let endpoints: Vec<(&str, &str, Value)> = vec![
        (
            "/seals",
            &roles.vendor,
            pki.device("SEAL-N").register_body(),
        ),
        (
            "/inspections",
            &roles.inspector,
            inspection_body("LOT-N", "SEAL-N"),
        ),
        ("/custody", &roles.operator, custody_body("LOT-M")),
        ("/lots/LOT-M/bind", &roles.operator, json!({})),
        (
            "/lots/LOT-M/revoke",
            &roles.operator,
            json!({"reason": "tamper_detected"}),
        ),
        (
            "/lots/LOT-M/retire",
            &roles.operator,
            json!({"reason": "device_replacement"}),
        ),
        ("/challenges", &roles.verifier, json!({"lotId": "LOT-M"})),
        (
            "/tokens",
            &s.admin,
            json!({"role": "auditor", "subject": "someone"}),
        ),
        ("/authority/expire", &s.admin, json!({})),
    ];
    let limit = s.state.config.body_limit_bytes;
    assert_eq!(limit, 64 * 1024, "the default body limit");
    for (path, token, valid) in &endpoints {
        let token = Some(*token);
        let send = |ct: Option<&'static str>, body: Vec<u8>| s.call("POST", path, token, ct, body);
        let what = |case: &str| format!("POST {path}: {case}");

        for (case, body) in [
            ("truncated", b"{\"lotId\":".to_vec()),
            ("not JSON", b"hello".to_vec()),
            ("empty", Vec::new()),
            ("trailing garbage", b"{} x".to_vec()),
            ("two documents", b"{}{}".to_vec()),
            ("invalid UTF-8", b"{\"lotId\":\"\xff\xfe\"}".to_vec()),
            ("lone surrogate", br#"{"lotId":"\ud800"}"#.to_vec()),
            ("number out of range", br#"{"lotId":1e400}"#.to_vec()),
            ("single quotes", b"{'lotId':'x'}".to_vec()),
        ] {
            let r = send(json_ct, body).await;
            assert_eq!(
                (r.status, r.reason().as_deref()),
                (400, Some("malformed_json")),
                "{}: {}",
                what(case),
                r.text()
            );
        }
        // Duplicate member names (I-JSON): refused before anything else reads the body.
        let dup =
            br#"{"reason":"tamper_detected","reason":"tamper_detected","lotId":"x","lotId":"y"}"#;
        send(json_ct, dup.to_vec())
            .await
            .problem(400, "malformed_json");
        // Oversized: one byte over the limit, even though it is valid JSON.
        let big = serde_json::to_vec(&json!({"padding": "x".repeat(limit)})).unwrap();
        assert!(big.len() > limit);
        send(json_ct, big).await.problem(413, "body_too_large");
        // Wrong or missing content type.
        let valid_bytes = serde_json::to_vec(valid).unwrap();
        for ct in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/jsonx"),
            None,
        ] {
            send(ct, valid_bytes.clone())
                .await
                .problem(415, "unsupported_media_type");
        }
        // Unknown members.
        let mut unknown = valid.clone();
        unknown["surprise"] = json!(true);
        let body = send(json_ct, serde_json::to_vec(&unknown).unwrap())
            .await
            .problem(422, "invalid_input");
        assert!(
            body["detail"].as_str().unwrap().contains("surprise"),
            "{}: {body}",
            what("unknown field")
        );
        // Not an object at all (arrays: see `json_arrays_are_not_objects`).
        for other in [
            json!(1),
            json!("x"),
            json!(null),
            json!(true),
            json!([valid.clone()]),
        ] {
            send(json_ct, serde_json::to_vec(&other).unwrap())
                .await
                .problem(422, "invalid_input");
        }
        // Every required member missing in turn, and every member of the wrong type.
        if let Value::Object(members) = valid {
            for (name, value) in members {
                let mut missing = valid.clone();
                missing.as_object_mut().unwrap().remove(name);
                let r = send(json_ct, serde_json::to_vec(&missing).unwrap()).await;
                // Optional members may be left out; the answer is never a 5xx.
                assert!(
                    r.status < 500,
                    "{}: {} {}",
                    what(&format!("without {name}")),
                    r.status,
                    r.text()
                );
                if r.status >= 400 {
                    clear_4xx(&r, &what(&format!("without {name}")));
                }
                let wrong = if value.is_string() {
                    json!(12)
                } else {
                    json!("text")
                };
                let mut mistyped = valid.clone();
                mistyped[name.as_str()] = wrong;
                let r = send(json_ct, serde_json::to_vec(&mistyped).unwrap()).await;
                let code = clear_4xx(&r, &what(&format!("{name} of the wrong type")));
                assert!(
                    ["invalid_input", "malformed_json"].contains(&code.as_str()),
                    "{name}: {code}"
                );
            }
        }
    }
    // Without the role (or a token) nothing is learnt about the body: 403 / 401 first.
    for (path, token, _) in &endpoints {
        let wrong = if *token == roles.verifier.as_str() {
            &roles.auditor
        } else {
            &roles.verifier
        };
        for body in [b"{".to_vec(), vec![b' '; limit + 10]] {
            s.call("POST", path, Some(wrong), json_ct, body.clone())
                .await
                .problem(403, "role_not_allowed");
            s.call("POST", path, None, Some("text/plain"), body)
                .await
                .problem(401, "unauthenticated");
        }
    }
    // Required members spelled out for one endpoint each.
    s.post("/challenges", Some(&roles.verifier), &json!({}))
        .await
        .problem(422, "invalid_input");
    s.post("/tokens", Some(&s.admin), &json!({"role": "auditor"}))
        .await
        .problem(422, "invalid_input");
    s.post(
        "/tokens",
        Some(&s.admin),
        &json!({"role": "root", "subject": "x"}),
    )
    .await
    .problem(422, "invalid_input");
    s.post(
        "/tokens",
        Some(&s.admin),
        &json!({"role": "auditor", "subject": ""}),
    )
    .await
    .problem(422, "invalid_subject");
    s.post(
        "/tokens",
        Some(&s.admin),
        &json!({"role": "auditor", "subject": "a\u{7}b"}),
    )
    .await
    .problem(422, "invalid_subject");
    s.post("/lots/LOT-M/revoke", Some(&roles.operator), &json!({}))
        .await
        .problem(422, "invalid_input");
    s.post(
        "/challenges",
        Some(&roles.verifier),
        &json!({"lotId": "LOT-M", "verifier": "did:web:someone-else.example"}),
    )
    .await
    .problem(422, "invalid_input");
    s.post(
        "/challenges",
        Some(&roles.verifier),
        &json!({"lotId": "LOT-M", "minBal": "BAL-9"}),
    )
    .await
    .problem(422, "invalid_input");
    s.post("/inspections", Some(&roles.inspector), &{
        let mut b = inspection_body("LOT-N", "SEAL-M");
        b["quantity"]["amount"] = json!("-1");
        b
    })
    .await
    .problem(422, "invalid_input");
    // A charset parameter is fine.
    let r = s
        .call(
            "POST",
            "/challenges",
            Some(&roles.verifier),
            Some("application/json; charset=utf-8"),
            br#"{"lotId":"LOT-M"}"#.to_vec(),
        )
        .await;
    r.expect(201);

    // The challenge response endpoint: content type and size first; a garbage response is an
    // inconclusive verification (and spends the challenge).
    let (id, request) = s.challenge(&roles.verifier, "LOT-M").await;
    let path = format!("/challenges/{id}/response");
    s.call(
        "POST",
        &path,
        Some(&roles.verifier),
        Some("text/plain"),
        b"{}".to_vec(),
    )
    .await
    .problem(415, "unsupported_media_type");
    s.call(
        "POST",
        &path,
        Some(&roles.verifier),
        json_ct,
        vec![b' '; limit + 1],
    )
    .await
    .problem(413, "body_too_large");
    let r = s
        .call(
            "POST",
            &path,
            Some(&roles.verifier),
            json_ct,
            b"{\"nonce\":".to_vec(),
        )
        .await
        .expect(200);
    assert_eq!(
        (r["result"].as_str(), r["detail"].as_str()),
        (
            Some("verification_inconclusive"),
            Some("malformed_response")
        )
    );
    let method = s.method(&roles, "LOT-M").await;
    s.answer(&roles.verifier, &id, seal.respond(&request, &method))
        .await
        .problem(409, "challenge_used_or_expired");

    // Bad credentials: 401 with a reason code, whatever the shape.
    for auth in [
        "Bearer",
        "Bearer ",
        "Bearer cphar_",
        "Bearer cphar_zz.zz",
        "Basic YWRtaW46YWRtaW4=",
        "bearer x",
    ] {
        let req = hyper::Request::builder()
            .method("POST")
            .uri(format!("http://{}/tokens", s.addr))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(hyper::body::Bytes::from_static(
                b"{}",
            )))
            .unwrap();
        let resp = s.client.request(req).await.unwrap();
        assert_eq!(resp.status(), 401, "{auth}");
    }
    let unknown = format!("cphar_{}.{}", "0".repeat(16), "A".repeat(43));
    s.post("/tokens", Some(&unknown), &json!({}))
        .await
        .problem(401, "unauthenticated");

    // Odd identifiers in paths: refused or not found, never a 5xx.
    let long = "L".repeat(4000);
    for path in [
        format!("/lots/{long}"),
        format!("/lots/{long}/did.json"),
        format!("/seals/{long}"),
        "/lots/LOT%2FM".to_owned(),
        "/lots/%00/did.json".to_owned(),
        "/lots/..%2F..%2Fetc/did.json".to_owned(),
        "/seals/%F0%9F%92%A5".to_owned(),
    ] {
        let r = s.get(&path, Some(&roles.auditor)).await;
        clear_4xx(&r, &format!("GET {path}"));
    }
    let r = s
        .post(
            &format!("/lots/{long}/bind"),
            Some(&roles.operator),
            &json!({}),
        )
        .await;
    clear_4xx(&r, "bind a 4000-character lot id");
    let r = s
        .post(
            "/challenges",
            Some(&roles.verifier),
            &json!({"lotId": long}),
        )
        .await;
    clear_4xx(&r, "challenge a 4000-character lot id");

    assert_eq!(s.get("/health", None).await.status, 200);
    cphar_audit::verify_export(&s.audit_export().await, Some(&s.identity())).unwrap();
    s.stop().await;
}

/// A body must be a JSON object: an array is not a positional form of one.
// A JSON array is not an object: serde's derived structs would take it field by position,
// bypassing `deny_unknown_fields` (`["tamper_detected"]` once revoked a lot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_arrays_are_not_objects() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    s.active_lot(&pki, &roles, "LOT-Q", "SEAL-Q").await;
    let mut accepted = Vec::new();
    for (path, token, body) in [
        (
            "/lots/LOT-Q/revoke",
            &roles.operator,
            json!(["tamper_detected"]),
        ),
        ("/lots/LOT-Q/sign-off", &roles.auditor, json!([])),
        ("/lots/LOT-Q/close-cycle", &roles.operator, json!([])),
        ("/authority/expire", &s.admin, json!([])),
        ("/tokens", &s.admin, json!(["auditor", "positional", null])),
        (
            "/challenges",
            &roles.verifier,
            json!(["LOT-Q", null, null, null]),
        ),
        (
            "/custody",
            &roles.operator,
            json!(["LOT-Q", "holder", "received", null]),
        ),
    ] {
        let r = s.post(path, Some(token), &body).await;
        assert!(
            r.status < 500,
            "POST {path} {body}: {} {}",
            r.status,
            r.text()
        );
        if r.reason().as_deref() != Some("invalid_input") {
            accepted.push(format!("POST {path} {body} -> {} {}", r.status, r.text()));
        }
    }
    let lot = s.lot(&roles, "LOT-Q").await;
    s.stop().await;
    assert!(
        accepted.is_empty(),
        "arrays taken for objects (lot now {}):\n{}",
        lot["lot"]["state"],
        accepted.join("\n")
    );
}

/// Query strings and path parameters that do not parse: a 400 problem with a reason code
/// like every other refusal.
// Bad query strings and path parameters are problems with a reason code, not plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_query_strings_and_path_parameters_are_problems() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let mut failures = Vec::new();
    for path in [
        "/audit/consistency",
        "/audit/consistency?from=x",
        "/audit/consistency?from=-1",
        "/audit/proof/abc",
        "/audit/proof/-1",
        "/audit/entries?from=x",
        "/audit/entries?limit=99999999999",
        "/audit/entries?surprise=1",
        "/reserve/active?limit=x",
        "/reserve/active?surprise=1",
        "/lots/LOT-X/did.json?versionId=abc",
        "/lots/LOT-X/did.json?surprise=1",
    ] {
        // With the admin token, so that the query (not the missing token) is what is judged.
        let r = s.get(path, Some(&s.admin)).await;
        assert!(r.status < 500, "GET {path}: {} {}", r.status, r.text());
        assert!(r.status >= 400, "GET {path}: {} {}", r.status, r.text());
        if r.reason().is_none() {
            failures.push(format!(
                "GET {path}: {} {} {:?}",
                r.status,
                r.content_type(),
                r.text()
            ));
        }
    }
    assert_eq!(s.get("/health", None).await.status, 200);
    s.stop().await;
    assert!(
        failures.is_empty(),
        "answers without problem+json / reasonCode:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_challenges_is_rate_limited() {
    let pki = Pki::new();
    // The default limits: 10 per 60 s per credential and per verifier DID.
    let defaults = cphar_server::ServerConfig::default();
    assert_eq!(
        (defaults.rate_limit, defaults.rate_window_seconds),
        (10, 60)
    );
    let s = Server::start(
        &pki,
        Options {
            rate_limit: defaults.rate_limit,
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    s.active_lot(&pki, &roles, "LOT-F", "SEAL-F").await;

    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..200 {
        let r = s
            .post(
                "/challenges",
                Some(&roles.verifier),
                &json!({"lotId": "LOT-F"}),
            )
            .await;
        match r.status {
            201 => accepted += 1,
            429 => {
                let body = r.problem(429, "rate_limited");
                let retry: u64 = r
                    .headers
                    .get("retry-after")
                    .unwrap_or_else(|| panic!("request {i}: 429 without Retry-After"))
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(retry >= 1, "Retry-After {retry}");
                assert!(body["detail"].as_str().unwrap().contains("retry after"));
                limited += 1;
            }
            other => panic!("request {i}: {other} {}", r.text()),
        }
    }
    assert_eq!((accepted, limited), (10, 190));
    // Another credential for the same verifier DID is limited too (per verifier DID).
    let other = s
        .token_with(&json!({
            "role": "verifier",
            "subject": "verifier-2",
            "verifierDid": format!("did:web:{HOST}:verifiers:verifier-1"),
        }))
        .await;
    s.post("/challenges", Some(&other), &json!({"lotId": "LOT-F"}))
        .await
        .problem(429, "rate_limited");
    // Another verifier DID with a fresh credential is not.
    let third = s.token("verifier", "verifier-3").await;
    s.post("/challenges", Some(&third), &json!({"lotId": "LOT-F"}))
        .await
        .expect(201);
    assert_eq!(s.get("/health", None).await.status, 200);
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Property test

const KEYS: &[&str] = &[
    "lotId",
    "uid",
    "sealUid",
    "vendor",
    "deviceType",
    "hardwareRevision",
    "bal",
    "publicJwk",
    "certificateChainPem",
    "firmwareMeasurement",
    "tamperEvidence",
    "pid",
    "endpoint",
    "commodity",
    "quantity",
    "amount",
    "unit",
    "grade",
    "containerId",
    "location",
    "owner",
    "evidence",
    "hash",
    "uri",
    "inspectedAt",
    "holder",
    "action",
    "at",
    "reason",
    "role",
    "subject",
    "expiresInSeconds",
    "verifier",
    "minBal",
    "requestPbac",
    "did",
    "nonce",
    "signature",
    "bindingMethod",
    "timestamp",
    "deviceStatus",
    "pbacApplied",
    "policyId",
    "version",
    "rules",
    "kty",
    "crv",
    "x",
];

const VALUES: &[&str] = &[
    "LOT-P",
    "SEAL-P",
    "acme-seals",
    "BAL-2",
    "BAL-4",
    "tamper_detected",
    "device_replacement",
    "object_decommissioned",
    "admin",
    "verifier",
    "did:web:x.example",
    "sha256:00",
    "kg",
    "400.000",
    "2026-01-01T00:00:00Z",
    "2999-01-01T00:00:00Z",
    "OKP",
    "Ed25519",
    "",
    "\u{0}",
    "\u{202e}",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,16}".prop_map(Value::from),
        prop::sample::select(VALUES).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 8, |inner| {
        let key =
            prop_oneof![3 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => ".{0,8}"];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: JSON (mostly objects), raw bytes, or JSON text with one byte changed.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => prop::collection::btree_map(prop::sample::select(KEYS), json_value(), 0..6)
            .prop_map(|m| serde_json::to_vec(&m).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => (json_value(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, i, b)| {
            let mut bytes = serde_json::to_vec(&v).unwrap();
            let at = i.index(bytes.len());
            bytes[at] = b;
            bytes
        }),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some("application/json")),
        1 => Just(Some("application/timestamp-query")),
        1 => Just(Some("text/plain")),
        1 => Just(None),
    ]
}

#[test]
fn random_bodies_never_get_a_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pki = Pki::new();
    let s = rt.block_on(Server::start(&pki, Options::default()));
    let roles = rt.block_on(s.roles());
    rt.block_on(s.active_lot(&pki, &roles, "LOT-P", "SEAL-P"));
    let admin = s.admin.clone();
    let tokens: Vec<Option<String>> = vec![
        None,
        Some(roles.vendor.clone()),
        Some(roles.inspector.clone()),
        Some(roles.operator.clone()),
        Some(roles.auditor.clone()),
        Some(roles.verifier.clone()),
        Some(admin),
    ];
    let writers: Vec<(String, &str)> = OPERATIONS
        .iter()
        .filter(|op| op.method != "get")
        .map(|op| {
            let (m, p) = (&op.method, &op.path);
            let path = p.replace("{id}", "LOT-P");
            let path: Vec<&str> = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x" } else { seg })
                .collect();
            (path.join("/"), *m)
        })
        .collect();
    assert!(writers.len() >= 19, "{writers:?}");

    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (body(), content_type(), 0..tokens.len());
    let result = runner.run(&strategy, |(body, ct, who)| {
        rt.block_on(async {
            let token = tokens[who].as_deref();
            // A live challenge, so that random responses reach the verification procedure.
            let (challenge, _) = s.challenge(&roles.verifier, "LOT-P").await;
            for (path, method) in &writers {
                let path = path.replace("/challenges/LOT-P", &format!("/challenges/{challenge}"));
                let path = if path.starts_with("/tokens/") {
                    "/tokens/0123456789abcdef".to_owned()
                } else {
                    path
                };
                let r = s
                    .call(&method.to_uppercase(), &path, token, ct, body.clone())
                    .await;
                prop_assert!(
                    r.status < 500,
                    "{method} {path} as #{who}: {} {}",
                    r.status,
                    r.text()
                );
                if r.status >= 400 {
                    prop_assert!(
                        r.reason().is_some(),
                        "{method} {path} as #{who}: {} without a problem reasonCode: {} {}",
                        r.status,
                        r.content_type(),
                        r.text()
                    );
                }
            }
            Ok::<(), TestCaseError>(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(async {
        let health = s.get("/health", None).await.expect(200);
        assert_eq!(health["status"], "ok");
        s.get("/ready", None).await.expect(200);
        cphar_audit::verify_export(&s.audit_export().await, Some(&s.identity())).unwrap();
        s.stop().await;
    });
}

/// A client that waits as long as Retry-After says gets through.
// `Retry-After` is rounded up: a client that waits as told must not come back early and
// earn another backoff strike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_long_enough() {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            rate_limit: 1,
            // Wide enough that the two calls below fall in one window on a loaded machine.
            rate_window_seconds: 6,
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    s.active_lot(&pki, &roles, "LOT-W", "SEAL-W").await;
    s.challenge(&roles.verifier, "LOT-W").await;
    let r = s
        .post(
            "/challenges",
            Some(&roles.verifier),
            &json!({"lotId": "LOT-W"}),
        )
        .await;
    r.problem(429, "rate_limited");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    let again = s
        .post(
            "/challenges",
            Some(&roles.verifier),
            &json!({"lotId": "LOT-W"}),
        )
        .await;
    s.stop().await;
    assert_eq!(
        again.status,
        201,
        "after waiting Retry-After ({wait} s) + 0.1 s: {} {}",
        again.status,
        again.text()
    );
}

/// The server reads a body (up to the limit plus a bounded drain) before it answers, so a
/// client still sending an oversized body always gets the answer — never a reset or an
/// incomplete message, whatever the timing. Repeated, two at a time, to give the race every
/// chance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_always_get_their_answer() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let limit = s.state.config.body_limit_bytes;
    let json = Some("application/json");
    for size in [limit + 1, limit + 10, limit + 900 * 1024] {
        for _ in 0..8 {
            let body = vec![b' '; size];
            let (forbidden, too_large) = tokio::join!(
                s.call("POST", "/tokens", Some(&roles.verifier), json, body.clone()),
                s.call("POST", "/tokens", Some(&s.admin), json, body),
            );
            forbidden.problem(403, "role_not_allowed");
            too_large.problem(413, "body_too_large");
        }
    }
    s.stop().await;
}
