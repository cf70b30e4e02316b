//! Attesting seals that expose a network transport (a seal agent such as `cphar seal serve`):
//! the scheduler issues a challenge, POSTs the ChallengeRequest to the seal's registered
//! endpoint, and verifies and records the answer exactly as for a verifier's. No answer within
//! the transport timeout is recorded as `device_unreachable`.

use crate::problem::Problem;
use crate::routes::verifier::{new_challenge, verify_response};
use crate::state::AppState;
use cphar_registry::SealState;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value};
use std::time::Duration;

/// How long a seal has to answer.
pub const TRANSPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer read from a seal.
const MAX_ANSWER: usize = 64 * 1024;

/// Challenges the seal of `lot_id` at `endpoint` (`http://…`) and records the outcome.
pub async fn attest_remote(
    s: &AppState,
    lot_id: &str,
    endpoint: &str,
) -> Result<Map<String, Value>, Problem> {
    let now = s.now()?;
    let (id, request) =
        new_challenge(s, lot_id, format!("did:web:{}", s.host), None, None, now).await?;
    let answer =
        tokio::time::timeout(TRANSPORT_TIMEOUT, post(endpoint, request.raw().to_string())).await;
    let received = s.now()?;
    let body = match answer {
        Ok(Ok(bytes)) => Some(bytes),
        _ => None,
    };
    verify_response(s, &id, body.as_deref(), "scheduler", received).await
}

async fn post(endpoint: &str, body: String) -> Result<Bytes, String> {
    if !endpoint.starts_with("http://") {
        return Err("only http:// seal endpoints are supported".into());
    }
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let req = hyper::Request::post(endpoint)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = client.request(req).await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("the seal answered {}", resp.status()));
    }
    let limited = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER);
    limited
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| e.to_string())
}

/// Attests every intact seal with an endpoint whose last good attestation is older than half
/// the cadence (so that a reachable seal never becomes overdue). Returns how many were tried.
pub async fn attest_due(s: &AppState) -> Result<u64, Problem> {
    let now = s.now()?;
    let half = time::Duration::seconds(
        i64::try_from(s.config.attestation_cadence_seconds / 2).unwrap_or(i64::MAX),
    );
    let mut tried = 0;
    for state in [SealState::Sealed, SealState::Attested] {
        let mut after: Option<String> = None;
        loop {
            let page = s
                .node
                .registry
                .store()
                .seals_in_state(state.as_str(), after.as_deref(), 200)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.uid.clone());
            for seal in &page {
                let due = seal.last_attested_at.is_none_or(|t| now.since(t) >= half);
                if let (true, Some(endpoint), Some(lot)) = (due, &seal.endpoint, &seal.lot_id) {
                    tried += 1;
                    let _ = attest_remote(s, lot, endpoint).await;
                }
            }
        }
    }
    Ok(tried)
}
