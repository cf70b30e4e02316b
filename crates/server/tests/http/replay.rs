//! A challenge is answered once: the replayed response is refused (409), and so is an answer to
//! a challenge that never existed. A response after the response-time bound (seed 002 §4.3.6)
//! is inconclusive and attests nothing.

use crate::harness::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_replayed_response_refused() {
    run_sqlite(replayed_response_refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replayed_response_refused() {
    run_postgres(
        "postgres_replayed_response_refused",
        replayed_response_refused,
    )
    .await;
}

async fn replayed_response_refused(backend: Backend) {
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
    let seal = s.active_lot(&pki, &roles, "LOT-R", "SEAL-R").await;
    let method = s.method(&roles, "LOT-R").await;

    let (id, request) = s.challenge(&roles.verifier, "LOT-R").await;
    let response = seal.respond(&request, &method);
    let first = s
        .answer(&roles.verifier, &id, response.clone())
        .await
        .expect(200);
    assert_eq!(first["result"], "valid", "{first}");
    let body = s
        .answer(&roles.verifier, &id, response.clone())
        .await
        .problem(409, "challenge_used_or_expired");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already answered")
    );
    // The same response sent for another (fresh) challenge does not verify: its nonce differs.
    let (other, _) = s.challenge(&roles.verifier, "LOT-R").await;
    let r = s
        .answer(&roles.verifier, &other, response.clone())
        .await
        .expect(200);
    assert_ne!(r["result"], "valid", "a response to another challenge: {r}");
    assert!(r.get("sealState").is_none());
    // That challenge is spent too, even though its answer was wrong.
    s.answer(&roles.verifier, &other, response)
        .await
        .problem(409, "challenge_used_or_expired");
    // A challenge that never existed.
    s.answer(
        &roles.verifier,
        "00112233445566778899aabbccddeeff",
        b"{}".to_vec(),
    )
    .await
    .problem(409, "challenge_used_or_expired");
    // A challenge for a lot that does not exist is not issued.
    s.post(
        "/challenges",
        Some(&roles.verifier),
        &json!({"lotId": "NO-SUCH-LOT"}),
    )
    .await
    .problem(404, "lot_not_found");

    let export = s.audit_export().await;
    cphar_audit::verify_export(&export, Some(&s.identity())).unwrap();
    let types = event_types(&export);
    assert_eq!(
        types.iter().filter(|t| *t == "seal_attested").count(),
        1,
        "one attestation only"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_after_the_time_bound_is_inconclusive() {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            max_response_ms: 50,
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    let seal = s.active_lot(&pki, &roles, "LOT-T", "SEAL-T").await;
    let method = s.method(&roles, "LOT-T").await;

    let (id, request) = s.challenge(&roles.verifier, "LOT-T").await;
    let response = seal.respond(&request, &method);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let result = s
        .answer(&roles.verifier, &id, response.clone())
        .await
        .expect(200);
    assert_eq!(result["result"], "verification_inconclusive", "{result}");
    assert_eq!(result["detail"], "response_time_exceeded");
    assert!(
        result.get("sealState").is_none(),
        "nothing attested: {result}"
    );
    assert_eq!(s.seal_state(&roles, "SEAL-T").await, "sealed");
    // Late or not, the challenge is spent.
    s.answer(&roles.verifier, &id, response)
        .await
        .problem(409, "challenge_used_or_expired");

    let export = s.audit_export().await;
    cphar_audit::verify_export(&export, Some(&s.identity())).unwrap();
    let recorded: Vec<serde_json::Value> = export
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .filter(|v: &serde_json::Value| v["eventType"] == "verification_recorded")
        .collect();
    assert_eq!(
        recorded.len(),
        1,
        "the inconclusive verification is audited"
    );
    assert!(
        recorded[0].to_string().contains("response_time_exceeded"),
        "{}",
        recorded[0]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_challenge_is_refused() {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            // The challenge lives this long: wide enough that the fresh challenge below is
            // answered in time on a loaded machine.
            skew_seconds: 5,
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    let seal = s.active_lot(&pki, &roles, "LOT-X", "SEAL-X").await;
    let method = s.method(&roles, "LOT-X").await;
    let (id, request) = s.challenge(&roles.verifier, "LOT-X").await;
    let response = seal.respond(&request, &method);
    tokio::time::sleep(std::time::Duration::from_millis(5300)).await;
    s.answer(&roles.verifier, &id, response)
        .await
        .problem(409, "challenge_used_or_expired");
    assert_eq!(s.seal_state(&roles, "SEAL-X").await, "sealed");
    // A fresh challenge answered at once is fine.
    let (id, request) = s.challenge(&roles.verifier, "LOT-X").await;
    let result = s
        .answer(&roles.verifier, &id, seal.respond(&request, &method))
        .await
        .expect(200);
    assert_eq!(result["result"], "valid", "{result}");
    s.stop().await;
}

/// A 429 on the answer must leave the challenge answerable once the Retry-After has passed.
// A rate-limited answer does not spend its challenge: the retry can still be verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_answer_does_not_spend_the_challenge() {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            rate_limit: 4,
            // Wide enough that the four challenges and the answer fall in one window on a
            // loaded machine.
            rate_window_seconds: 6,
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    let seal = s.active_lot(&pki, &roles, "LOT-L", "SEAL-L").await;
    let method = s.method(&roles, "LOT-L").await;
    // Two credentials of one verifier DID: 2 + 2 challenges use up the DID's 4.
    let second = s
        .token_with(&json!({
            "role": "verifier",
            "subject": "verifier-2",
            "verifierDid": format!("did:web:{HOST}:verifiers:verifier-1"),
        }))
        .await;
    let (id, request) = s.challenge(&roles.verifier, "LOT-L").await;
    s.challenge(&roles.verifier, "LOT-L").await;
    s.challenge(&second, "LOT-L").await;
    s.challenge(&second, "LOT-L").await;
    let response = seal.respond(&request, &method);
    // The first credential still has room (3 of 4); the verifier DID has none.
    let r = s.answer(&roles.verifier, &id, response.clone()).await;
    let body = r.problem(429, "rate_limited");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait <= 6, "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(wait + 1)).await;
    let retry = s.answer(&roles.verifier, &id, response).await;
    s.stop().await;
    assert_eq!(
        retry.status,
        200,
        "the retry after Retry-After: {} {}",
        retry.status,
        retry.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_valid_answers_for_one_lot() {
    run_sqlite(concurrent_valid_answers_for_one_lot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_valid_answers_for_one_lot() {
    run_postgres(
        "postgres_concurrent_valid_answers_for_one_lot",
        concurrent_valid_answers_for_one_lot,
    )
    .await;
}

/// Several verifiers challenge one seal at the same time: each distinct challenge answered
/// correctly is a valid verification.
// Correct answers for one lot verified concurrently are all valid, whatever order they are
// recorded in.
async fn concurrent_valid_answers_for_one_lot(backend: Backend) {
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
    let seal = s.active_lot(&pki, &roles, "LOT-K", "SEAL-K").await;
    let method = s.method(&roles, "LOT-K").await;
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        let mut answers = Vec::new();
        for _ in 0..4 {
            let (id, request) = s.challenge(&roles.verifier, "LOT-K").await;
            answers.push((id.clone(), seal.respond(&request, &method)));
        }
        let (a, b) = answers.split_at(2);
        let (r0, r1, r2, r3) = tokio::join!(
            s.answer(&roles.verifier, &a[0].0, a[0].1.clone()),
            s.answer(&roles.verifier, &a[1].0, a[1].1.clone()),
            s.answer(&roles.verifier, &b[0].0, b[0].1.clone()),
            s.answer(&roles.verifier, &b[1].0, b[1].1.clone()),
        );
        for r in [r0, r1, r2, r3] {
            outcomes.push(format!(
                "{} {}",
                r.status,
                r.reason().unwrap_or_else(|| r.json()["result"].to_string())
            ));
        }
    }
    s.stop().await;
    let bad: Vec<&String> = outcomes
        .iter()
        .filter(|o| !o.starts_with("200 \"valid\""))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} correct answers were not valid: {bad:?}",
        bad.len(),
        outcomes.len()
    );
}
