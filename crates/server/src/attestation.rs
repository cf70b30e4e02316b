//! The server's side of attestation: the registry operation ([`cphar_registry::attest`])
//! wrapped with the metrics and the seed 001 telemetry every recorded answer gets, whoever
//! brought it (a verifier over HTTP, or the scheduler from a seal agent).

use crate::problem::Problem;
use crate::state::AppState;
use cphar_protocol::Timestamp;
use cphar_registry::attest::{Answer, AttestationRecord};

/// Records an answer (or the seal's silence) through the registry, with its metrics and
/// telemetry.
pub async fn record_answer(
    s: &AppState,
    id: &str,
    answer: Answer<'_>,
    actor: &str,
    received: Timestamp,
) -> Result<AttestationRecord, Problem> {
    let record = s
        .node
        .registry
        .answer_challenge(id, answer, actor, received, &s.attestation)
        .await
        .inspect_err(|e| s.metrics.decision("verification", e.code()))?;
    s.metrics
        .decision("verification", record.outcome.result.as_str());
    if let Some(p) = &record.policy {
        s.metrics.decision("policy", &p.reason_code);
    }
    crate::telemetry::attestation_decision(
        record.seal.as_ref().map(|x| x.uid.as_str()),
        record.seal.as_ref().map(|x| x.certificate.serial.as_str()),
        &record.lot_id,
        record.decision.as_str(),
        record.reason_code(),
        record.policy.as_ref().map(|p| p.policy_id.as_str()),
        record
            .policy
            .as_ref()
            .and_then(|p| p.matched_rule_id.as_deref()),
        id,
    );
    Ok(record)
}
