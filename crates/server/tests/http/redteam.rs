//! Regression tests for what an outside red team found, each through HTTP:
//! * anonymous `POST /tsa` floods are rate limited per client address (429 + Retry-After),
//!   and the refused queries become one aggregated audit entry, not one entry each;
//! * idle connections cannot exhaust the server: a connection cap, a header-read timeout and
//!   an idle timeout close them, and `/health` keeps answering;
//! * token lifetimes are bounded, and a missing one is a default, not "never";
//! * one identifier grammar: `.`/`..` lot ids refused, subjects normalized so that spelling
//!   variants cannot pass as another person in the separation-of-duties check;
//! * out-of-range numbers in queries and paths are a 4xx, not a 503;
//! * unknown members inside nested objects are refused;
//! * made-up token ids (a database read each) are charged to the client.

use crate::harness::*;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client whose connections come from `local` (another loopback address: another client).
fn client_from(local: IpAddr) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_local_address(Some(local));
    Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(connector)
}

fn audit_lines(export: &[u8]) -> Vec<Value> {
    std::str::from_utf8(export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_tsa_flood_is_limited_and_audited_once() {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            anonymous_rate_limit: 20,
            ..Options::default()
        },
    )
    .await;
    let before = s.audit_export().await;
    let attacker = client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    let (mut answered, mut limited) = (0, 0);
    for _ in 0..60 {
        let r = send(
            &attacker,
            s.addr,
            "POST",
            "/tsa",
            None,
            Some("application/timestamp-query"),
            b"garbage".to_vec(),
        )
        .await;
        match r.status {
            200 => answered += 1,
            429 => {
                r.problem(429, "rate_limited");
                let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!(retry >= 1, "Retry-After {retry}");
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    assert_eq!((answered, limited), (20, 40));
    // Other public routes are limited for that client too; other clients are not.
    send(
        &attacker,
        s.addr,
        "GET",
        "/reserve/active",
        None,
        None,
        vec![],
    )
    .await
    .problem(429, "rate_limited");
    s.get("/reserve/active", None).await.expect(200);
    // Probes are never limited.
    assert_eq!(
        send(&attacker, s.addr, "GET", "/health", None, None, vec![])
            .await
            .status,
        200
    );

    // Nothing was written per query; the period's tally becomes one entry.
    let during = s.audit_export().await;
    assert_eq!(audit_lines(&during).len(), audit_lines(&before).len());
    assert!(cphar_server::refusals::flush(&s.state).await.unwrap());
    assert!(!cphar_server::refusals::flush(&s.state).await.unwrap());
    let after = audit_lines(&s.audit_export().await);
    assert_eq!(after.len(), audit_lines(&before).len() + 1);
    let entry = after.last().unwrap();
    assert_eq!(entry["eventType"], "timestamp_refused");
    let data = &entry["eventData"]["data"];
    assert_eq!(data["refused"], json!({"badDataFormat": 20}));

    // Counted in the metrics.
    let metrics = s.get("/metrics", None).await.text();
    assert!(
        metrics.contains(r#"cphar_decisions_total{kind="tsa",reason_code="badDataFormat"} 20"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"cphar_decisions_total{kind="anonymous_rate_limit",reason_code="rate_limited"} 41"#
        ),
        "{metrics}"
    );
    s.stop().await;
}

/// `GET /health` over a fresh connection: `Some(status line)` or `None` when the server
/// closed the connection (at its cap) before answering.
async fn health_once(addr: SocketAddr) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_capped_and_closed() {
    const CAP: usize = 16;
    const IDLE: usize = 200;
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            max_connections: CAP,
            header_read_timeout_ms: 1_000,
            idle_timeout_seconds: 2,
            ..Options::default()
        },
    )
    .await;
    // Many connections that never send a byte.
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(tokio::net::TcpStream::connect(s.addr).await.unwrap());
    }
    assert!(s.state.connections.open() <= CAP);

    // /health answers: at once or as soon as the idle ones are timed out.
    let answered = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Some(status) = health_once(s.addr).await {
                return status;
            }
            // Polling interval only (the deadline above bounds the wait): spares client ports.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("/health did not answer within 60 s");
    assert_eq!(answered, "HTTP/1.1 200 OK");

    // Every idle connection is closed by the server (EOF or reset), none left hanging.
    for (i, mut stream) in idle.into_iter().enumerate() {
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("idle connection {i} still open after 60 s"));
        assert!(
            matches!(closed, Ok(0) | Err(_)),
            "connection {i} got data: {closed:?}"
        );
    }
    // Some were turned away at the cap, and the count is visible.
    let metrics = s.get("/metrics", None).await.text();
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cphar_connections_refused_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(refused > 0, "{metrics}");

    // A keep-alive connection left idle after a request is closed too.
    let mut kept = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let end = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match kept.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the idle keep-alive connection was not closed");
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200 OK"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_lifetimes_are_bounded() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    for secs in [
        json!(0),
        json!(1_000_000_000_000u64),
        json!(9_007_199_254_740_991u64),
        json!(365 * 86_400 + 1),
    ] {
        s.post(
            "/tokens",
            Some(&s.admin),
            &json!({"role": "auditor", "subject": "aud", "expiresInSeconds": secs}),
        )
        .await
        .problem(422, "invalid_token_lifetime");
    }
    let now = cphar_protocol::Timestamp::now_utc();
    let expiry = |body: &Value| {
        let at = cphar_protocol::Timestamp::parse(body["expiresAt"].as_str().unwrap()).unwrap();
        at.since(now).whole_seconds()
    };
    let r = s
        .post(
            "/tokens",
            Some(&s.admin),
            &json!({"role": "auditor", "subject": "aud", "expiresInSeconds": 3600}),
        )
        .await;
    assert!((3590..=3610).contains(&expiry(&r.expect(201))));
    // No lifetime named: the documented default (90 days), not "never".
    let r = s
        .post(
            "/tokens",
            Some(&s.admin),
            &json!({"role": "auditor", "subject": "aud"}),
        )
        .await;
    let body = r.expect(201);
    let default = 90 * 86_400;
    assert!((default - 10..=default + 10).contains(&expiry(&body)));
    // The token works.
    let token = body["token"].as_str().unwrap();
    s.get("/lots/NOPE", Some(token))
        .await
        .problem(404, "lot_not_found");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_have_one_grammar() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;

    // Dot segments are not lot ids (a did:web resolver cannot reach them).
    let seal = pki.device("SEAL-DOT");
    s.post("/seals", Some(&roles.vendor), &seal.register_body())
        .await
        .expect(201);
    for lot in [".", ".."] {
        s.post(
            "/inspections",
            Some(&roles.inspector),
            &inspection_body(lot, "SEAL-DOT"),
        )
        .await
        .problem(422, "invalid_lot_id");
    }
    // Seal UIDs must be usable as a path segment.
    for uid in ["a/b", "..", "seal?x"] {
        let mut body = pki.device("SEAL-Q").register_body();
        body["uid"] = json!(uid);
        s.post("/seals", Some(&roles.vendor), &body)
            .await
            .problem(422, "invalid_seal_uid");
    }

    // Subjects: one spelling per person.
    for raw in ["operator-1\u{200b}", "opé", "a b", "", "   "] {
        s.post(
            "/tokens",
            Some(&s.admin),
            &json!({"role": "auditor", "subject": raw}),
        )
        .await
        .problem(422, "invalid_subject");
    }
    s.bound_lot(&pki, &roles, "LOT-SOD", "SEAL-SOD").await;
    // The binding operator is "operator-1"; these are the same person.
    for variant in ["operator-1 ", "Operator-1", " OPERATOR-1\t"] {
        let r = s
            .post(
                "/tokens",
                Some(&s.admin),
                &json!({"role": "auditor", "subject": variant}),
            )
            .await;
        let body = r.expect(201);
        assert_eq!(body["subject"], "operator-1");
        s.post(
            "/lots/LOT-SOD/sign-off",
            Some(body["token"].as_str().unwrap()),
            &json!({}),
        )
        .await
        .problem(403, "separation_of_duties");
    }
    // A different person may.
    s.post("/lots/LOT-SOD/sign-off", Some(&roles.auditor), &json!({}))
        .await
        .expect(200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_numbers_are_4xx() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    s.active_lot(&pki, &roles, "LOT-R", "SEAL-R").await;
    let huge = u64::MAX.to_string();
    s.get(&format!("/audit/entries?from={huge}"), Some(&s.admin))
        .await
        .problem(400, "invalid_query");
    s.get(&format!("/lots/LOT-R/did.json?versionId={huge}"), None)
        .await
        .problem(400, "invalid_query");
    s.get(&format!("/audit/proof/{huge}"), None)
        .await
        .problem(400, "invalid_path");
    s.get(&format!("/audit/consistency?from={huge}"), None)
        .await
        .problem(400, "invalid_query");
    // The largest position the log can have: nothing there.
    let max = i64::MAX.to_string();
    let r = s
        .get(&format!("/audit/entries?from={max}"), Some(&s.admin))
        .await;
    assert_eq!((r.status, r.body.len()), (200, 0));
    s.get(&format!("/audit/proof/{max}"), None)
        .await
        .problem(404, "no_such_entry");
    s.get(&format!("/lots/LOT-R/did.json?versionId={max}"), None)
        .await
        .problem(404, "version_unavailable");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_members_of_nested_objects_are_refused() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let mut body = pki.device("SEAL-U").register_body();
    body["tamperEvidence"]["stripped"] = json!(true);
    let p = s
        .post("/seals", Some(&roles.vendor), &body)
        .await
        .problem(422, "invalid_input");
    assert!(p["detail"].as_str().unwrap().contains("stripped"), "{p}");
    s.post(
        "/seals",
        Some(&roles.vendor),
        &pki.device("SEAL-U").register_body(),
    )
    .await
    .expect(201);
    for (member, extra) in [("quantity", "precision"), ("evidence", "signedBy")] {
        let mut body = inspection_body("LOT-U", "SEAL-U");
        body[member][extra] = json!("x");
        let p = s
            .post("/inspections", Some(&roles.inspector), &body)
            .await
            .problem(422, "invalid_input");
        assert!(
            p["detail"].as_str().unwrap().contains(extra),
            "{member}: {p}"
        );
    }
    // The same bodies without the extra member are accepted.
    s.post(
        "/inspections",
        Some(&roles.inspector),
        &inspection_body("LOT-U", "SEAL-U"),
    )
    .await
    .expect(201);
    s.stop().await;
}

/// Made-up token ids cost a database read each: they are charged to the client's allowance
/// for unauthenticated work, so one address cannot make the server read without bound; a
/// real token (cached after its first use) keeps working, and other addresses are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_token_ids_are_charged_to_the_client() {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            anonymous_rate_limit: 10,
            ..Options::default()
        },
    )
    .await;
    let attacker = client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
    let (mut unknown, mut limited) = (0, 0);
    for i in 0..30u32 {
        let token = format!("cphar_{:016x}.not-a-secret", 0x1000_u64 + u64::from(i));
        let r = send(
            &attacker,
            s.addr,
            "GET",
            "/lots/ANY",
            Some(&token),
            None,
            Vec::new(),
        )
        .await;
        match r.status {
            401 => {
                r.problem(401, "unauthenticated");
                unknown += 1;
            }
            429 => {
                r.problem(429, "rate_limited");
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    assert_eq!((unknown, limited), (10, 20));
    // Another address with a real token is served.
    let roles = s.roles().await;
    s.get("/lots/NOPE", Some(&roles.auditor))
        .await
        .problem(404, "lot_not_found");
    s.stop().await;
}
