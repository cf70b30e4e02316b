//! Attesting seals that expose a network transport (a seal agent such as `cphar seal serve`):
//! the scheduler has the registry issue a challenge in the registry's own name, POSTs the
//! ChallengeRequest to the seal's registered endpoint, and has the registry record the answer
//! exactly as a verifier's. No answer within the transport timeout is recorded as
//! `device_unreachable` (repeated, the lot leaves the active set).
//!
//! Endpoints are vendor-supplied: only `http://` URLs whose host is on the configured
//! allow-list are contacted (default: loopback), and seals are challenged concurrently with
//! bounded parallelism, apart from the maintenance loop.

use crate::problem::Problem;
use crate::state::AppState;
use cphar_registry::SealState;
use cphar_registry::attest::{Answer, AttestationRecord, ChallengeOrder};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// How long a seal has to answer.
pub const TRANSPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer read from a seal.
const MAX_ANSWER: usize = 64 * 1024;

/// Seals read per page when looking for due ones.
const PAGE: u32 = 200;

/// Why a seal endpoint is not contacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointRefusal {
    /// Not an `http://host[:port]/…` URL.
    #[error("only http:// seal endpoints are supported")]
    NotHttp,
    /// The host is not on the allow-list.
    #[error("seal endpoint host {0} is not on the allow-list")]
    HostNotAllowed(String),
}

/// Checks `endpoint` against the allow-list of hosts (`host` or `host:port`).
pub fn check_endpoint(endpoint: &str, allowed: &[String]) -> Result<(), EndpointRefusal> {
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or(EndpointRefusal::NotHttp)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(EndpointRefusal::NotHttp);
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let ok = allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(authority) || a.eq_ignore_ascii_case(host));
    if ok {
        Ok(())
    } else {
        Err(EndpointRefusal::HostNotAllowed(host.to_owned()))
    }
}

/// Challenges the seal of `lot_id` at `endpoint` and records the outcome.
pub async fn attest_remote(
    s: &AppState,
    lot_id: &str,
    endpoint: &str,
) -> Result<AttestationRecord, Problem> {
    let verifier = format!("did:web:{}", s.host);
    let order = ChallengeOrder {
        lot_id,
        verifier_did: &verifier,
        min_bal: None,
        request_pbac: None,
    };
    let issued = s
        .node
        .registry
        .issue_challenge(&order, &s.attestation)
        .await?;
    let answer = match check_endpoint(endpoint, &s.config.seal_endpoint_hosts) {
        Ok(()) => {
            tokio::time::timeout(
                TRANSPORT_TIMEOUT,
                post(endpoint, issued.request.raw().to_string()),
            )
            .await
        }
        Err(refused) => Ok(Err(refused.to_string())),
    };
    let received = s.now()?;
    let body = match answer {
        Ok(Ok(bytes)) => Some(bytes),
        _ => None,
    };
    let answer = body.as_deref().map_or(Answer::NoAnswer, Answer::Response);
    crate::attestation::record_answer(s, &issued.id, answer, "scheduler", received).await
}

async fn post(endpoint: &str, body: String) -> Result<Bytes, String> {
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

/// Challenges every intact seal with an endpoint whose last good attestation is older than
/// half the cadence (so that a reachable seal never becomes overdue), at most
/// `attestation_parallelism` at once. Returns how many were tried and how many failed to be
/// recorded.
pub async fn attest_due(s: &Arc<AppState>) -> Result<(u64, u64), Problem> {
    let now = s.now()?;
    let half = time::Duration::seconds(
        i64::try_from(s.config.attestation_cadence_seconds / 2).unwrap_or(i64::MAX),
    );
    let permits = Arc::new(tokio::sync::Semaphore::new(
        s.config.attestation_parallelism.max(1),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for state in [SealState::Sealed, SealState::Attested] {
        let mut after: Option<String> = None;
        loop {
            let page = s
                .node
                .registry
                .store()
                .seals_in_state(state.as_str(), after.as_deref(), PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.uid.clone());
            for seal in page {
                let due = seal.last_attested_at.is_none_or(|t| now.since(t) >= half);
                if let (true, Some(endpoint), Some(lot)) = (due, seal.endpoint, seal.lot_id) {
                    let permit = Arc::clone(&permits).acquire_owned().await.map_err(|e| {
                        Problem::unavailable(crate::problem::ApiCode::ShuttingDown, e)
                    })?;
                    let s = Arc::clone(s);
                    tasks.spawn(async move {
                        let result = attest_remote(&s, &lot, &endpoint).await;
                        drop(permit);
                        result
                    });
                }
            }
        }
    }
    let (mut tried, mut failed) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        tried += 1;
        if !matches!(done, Ok(Ok(_))) {
            failed += 1;
        }
    }
    Ok((tried, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["127.0.0.1".into(), "seals.example:9000".into()]
    }

    #[test]
    fn endpoints_follow_the_allow_list() {
        assert_eq!(
            check_endpoint("http://127.0.0.1:7001/challenge", &allowed()),
            Ok(())
        );
        assert_eq!(
            check_endpoint("http://seals.example:9000/x", &allowed()),
            Ok(())
        );
        assert_eq!(
            check_endpoint("http://seals.example:9001/x", &allowed()),
            Err(EndpointRefusal::HostNotAllowed("seals.example".into()))
        );
        assert_eq!(
            check_endpoint("http://169.254.169.254/latest/meta-data", &allowed()),
            Err(EndpointRefusal::HostNotAllowed("169.254.169.254".into()))
        );
        assert_eq!(
            check_endpoint("http://127.0.0.1@evil.example/", &allowed()),
            Err(EndpointRefusal::NotHttp)
        );
        assert_eq!(
            check_endpoint("https://127.0.0.1/", &allowed()),
            Err(EndpointRefusal::NotHttp)
        );
        assert_eq!(
            check_endpoint("http:///x", &allowed()),
            Err(EndpointRefusal::NotHttp)
        );
    }
}
