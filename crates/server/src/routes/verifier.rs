//! The verifier service: challenges and their answers.

use crate::auth::{Role, require};
use crate::extract::{ApiPath, Auth, JsonBody, RawBody};
use crate::problem::{ApiCode, Problem};
use crate::state::AppState;
use axum::extract::State;
use cphar_protocol::{Bal, ChallengeParams, ChallengeRequest, Timestamp, VerifierPolicy};
use cphar_registry::event::{EventType, RegistryEvent};
use cphar_registry::store::SpendChallenge;
use cphar_registry::{ChangeSet, RefusalCode, RegistryError, Store, StoreError};
use cphar_store::ChallengeRow;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiResult, S, created, nanos, ok};

// ---------------------------------------------------------------------------------------------
// Verifier service

/// `POST /challenges` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChallengeBody {
    lot_id: String,
    verifier: Option<String>,
    min_bal: Option<String>,
    request_pbac: Option<bool>,
}

/// `POST /challenges` (verifier): a ChallengeRequest with a fresh 32-byte CSPRNG nonce.
pub async fn issue_challenge(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Verifier])?;
    let b: ChallengeBody = body.parse()?;
    let now = s.now()?;
    let verifier = b.verifier.unwrap_or_else(|| format!("did:web:{}", s.host));
    if !cphar_protocol::is_did(&verifier) {
        return Err(Problem::new(
            ApiCode::InvalidInput,
            "verifier must be a DID",
        ));
    }
    s.limit(&s.credential_limiter, &c.token_id, now)?;
    s.limit(&s.verifier_limiter, &verifier, now)?;
    let min_bal = b
        .min_bal
        .map(|m| {
            m.parse::<Bal>()
                .map_err(|_| Problem::new(ApiCode::InvalidInput, "minBal must be BAL-1..BAL-4"))
        })
        .transpose()?;
    let (id, request) =
        new_challenge(&s, &b.lot_id, verifier, min_bal, b.request_pbac, now).await?;
    created(json!({"challengeId": id, "request": request.raw()}))
}

/// Issues and stores a challenge for `lot_id`; returns its id and the request.
pub async fn new_challenge(
    s: &AppState,
    lot_id: &str,
    verifier: String,
    min_bal: Option<Bal>,
    request_pbac: Option<bool>,
    now: Timestamp,
) -> Result<(String, ChallengeRequest), Problem> {
    let lot = s.node.registry.lot(lot_id).await?;
    let nonce = cphar_crypto::random_bytes::<32>()
        .map_err(|e| Problem::unavailable(ApiCode::RngFailure, e))?;
    let request = ChallengeRequest::issue(ChallengeParams {
        did: lot.did.clone(),
        did_version: None,
        nonce: nonce.to_vec(),
        timestamp: now,
        verifier: verifier.clone(),
        min_bal,
        request_pbac,
    })
    .map_err(|e| Problem::new(ApiCode::InvalidInput, e.to_string()))?;
    let id = cphar_audit::entry::hex(
        &cphar_crypto::random_bytes::<16>()
            .map_err(|e| Problem::unavailable(ApiCode::RngFailure, e))?,
    );
    let skew = i64::try_from(s.config.skew_seconds)
        .unwrap_or(300)
        .saturating_mul(1_000_000_000);
    let row = ChallengeRow {
        id: id.clone(),
        nonce: request.nonce().to_owned(),
        lot_id: lot.lot_id.clone(),
        verifier,
        request: request.raw().to_string(),
        issued_ns: nanos(now),
        expires_ns: nanos(now).saturating_add(skew),
    };
    // Through the committer: issued challenges share the group commit with everything else.
    s.node
        .registry
        .store()
        .apply(ChangeSet {
            challenges_issued: vec![row],
            ..ChangeSet::default()
        })
        .await?;
    Ok((id, request))
}

/// `POST /challenges/{id}/response` (verifier): verifies the ChallengeResponse (raw JSON, the
/// signature covers the request as issued) against the lot's current DID document. A
/// challenge is answered once: a replayed response, from any server process, is refused.
pub async fn answer_challenge(
    State(s): S,
    Auth(c): Auth,
    ApiPath(id): ApiPath<String>,
    body: RawBody,
) -> ApiResult {
    require(&c, &[Role::Verifier])?;
    let body = body.bytes()?;
    let received = s.now()?;
    s.limit(&s.credential_limiter, &c.token_id, received)?;
    ok(Value::Object(
        verify_response(&s, &id, Some(&body), &c.subject, received).await?,
    ))
}

/// Takes challenge `id` (once), verifies `body` (`None`: the device did not answer) at
/// `received`, records the outcome, and returns the answer object.
pub async fn verify_response(
    s: &AppState,
    id: &str,
    body: Option<&[u8]>,
    actor: &str,
    received: Timestamp,
) -> Result<serde_json::Map<String, Value>, Problem> {
    let store = s.node.registry.store();
    let spent = || {
        s.metrics.decision("verification", "replay_refused");
        Problem::new(
            ApiCode::ChallengeUsedOrExpired,
            "this challenge was already answered, has expired, or does not exist",
        )
    };
    let Some(challenge) = store
        .challenge(id)
        .await?
        .filter(|c| c.expires_ns > nanos(received))
    else {
        return Err(spent());
    };
    // The verifier's limit is checked before the challenge is spent: a 429 leaves it usable.
    s.limit(&s.verifier_limiter, &challenge.verifier, received)?;
    // The challenge is spent in the same transaction as the record of its outcome: one
    // record per challenge, whichever server process gets there first.
    let spend = SpendChallenge {
        id: id.to_owned(),
        now_ns: nanos(received),
    };
    let document = s
        .node
        .registry
        .did_document(&challenge.lot_id, None)
        .await?;
    let sent = Timestamp::from_unix_nanos(i128::from(challenge.issued_ns)).unwrap_or(received);
    let policy = VerifierPolicy {
        skew: time::Duration::seconds(i64::try_from(s.config.skew_seconds).unwrap_or(300)),
        max_response_time: (s.config.max_response_ms > 0).then(|| {
            time::Duration::milliseconds(
                i64::try_from(s.config.max_response_ms).unwrap_or(i64::MAX),
            )
        }),
        ..VerifierPolicy::default()
    };
    let outcome = match body {
        Some(body) => cphar_protocol::verify_json(
            challenge.request.as_bytes(),
            body,
            document.to_string().as_bytes(),
            &policy,
            received,
            Some(cphar_protocol::ResponseTiming { sent, received }),
        ),
        None => cphar_protocol::Outcome::unreachable(challenge.request.as_bytes(), received),
    };
    s.metrics.decision("verification", outcome.result.as_str());
    s.metrics
        .attestation_latency
        .observe(received.since(sent).as_seconds_f64().max(0.0));
    let mut answer = serde_json::Map::new();
    if let Value::Object(m) = outcome.to_result_json() {
        answer = m;
    }
    let mut events = Vec::new();
    if outcome.result == cphar_protocol::ResultCode::Valid {
        let decision = policy_decision(s, &challenge.lot_id, &outcome, actor, received).await?;
        let allowed = decision
            .as_ref()
            .is_none_or(|(d, _)| d.effect != cphar_policy::Effect::Deny);
        if let Some((d, event)) = decision {
            answer.insert("policy".into(), d.to_json());
            events.extend(event);
        }
        if allowed {
            if !events.is_empty() {
                // A degrade decision is recorded first, then the attestation.
                store
                    .apply(ChangeSet {
                        events: std::mem::take(&mut events),
                        ..ChangeSet::default()
                    })
                    .await?;
            }
            // Sealed → Attested; the registry records it with its event and spends the challenge.
            let seal = match s
                .node
                .registry
                .record_attestation(&outcome, actor, Some(spend))
                .await
            {
                Err(RegistryError::Store(StoreError::ChallengeSpent)) => return Err(spent()),
                other => other?,
            };
            answer.insert("sealState".into(), json!(seal.state.as_str()));
            answer.insert("challengeId".into(), json!(id));
            let (decision, reason, policy_id, rule) = match answer.get("policy") {
                Some(p) => (
                    p.get("decision")
                        .and_then(Value::as_str)
                        .unwrap_or("allow")
                        .to_owned(),
                    p.get("reason_code")
                        .and_then(Value::as_str)
                        .unwrap_or("valid")
                        .to_owned(),
                    p.get("policy_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    p.get("matched_rule_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                ),
                None => ("allow".to_owned(), "valid".to_owned(), None, None),
            };
            crate::telemetry::attestation_decision(
                Some(&seal.uid),
                Some(&seal.certificate.serial),
                &challenge.lot_id,
                &decision,
                &reason,
                policy_id.as_deref(),
                rule.as_deref(),
                id,
            );
            return Ok(answer);
        }
    } else {
        events.push(RegistryEvent {
            event_type: EventType::VerificationRecorded,
            subject: format!("lot:{}", challenge.lot_id),
            actor: actor.to_owned(),
            at: received,
            reason_code: Some(outcome.detail.unwrap_or(outcome.result.as_str()).to_owned()),
            data: outcome.audit_event(id),
        });
    }
    let seal = match store.lot_current(&challenge.lot_id).await {
        Ok(Some((_, Some((_, Some(seal)))))) => Some(seal),
        _ => None,
    };
    let reason = outcome.detail.unwrap_or(outcome.result.as_str());
    let decision = if outcome.result == cphar_protocol::ResultCode::Valid {
        "deny"
    } else {
        "reject"
    };
    crate::telemetry::attestation_decision(
        seal.as_ref().map(|x| x.uid.as_str()),
        seal.as_ref().map(|x| x.certificate.serial.as_str()),
        &challenge.lot_id,
        decision,
        reason,
        answer
            .get("policy")
            .and_then(|p| p.get("policy_id"))
            .and_then(Value::as_str),
        answer
            .get("policy")
            .and_then(|p| p.get("matched_rule_id"))
            .and_then(Value::as_str),
        id,
    );
    match store
        .apply(ChangeSet {
            events,
            challenges_spent: vec![spend],
            ..ChangeSet::default()
        })
        .await
    {
        Err(StoreError::ChallengeSpent) => return Err(spent()),
        other => other?,
    };
    answer.insert("challengeId".into(), json!(id));
    Ok(answer)
}

/// Asks the policy engine about a valid verification; deny and degrade decisions are audited.
async fn policy_decision(
    s: &AppState,
    lot_id: &str,
    outcome: &cphar_protocol::Outcome,
    actor: &str,
    now: Timestamp,
) -> Result<Option<(cphar_policy::Decision, Option<RegistryEvent>)>, Problem> {
    let Some(policy) = &s.policy else {
        return Ok(None);
    };
    // The lot and its seal in one read (the same query the registry uses).
    let (lot, current) = s
        .node
        .registry
        .store()
        .lot_current(lot_id)
        .await?
        .ok_or_else(|| Problem::new(RefusalCode::LotNotFound, format!("no lot has id {lot_id}")))?;
    let seal = current.and_then(|(_, seal)| seal);
    let input = cphar_policy::PolicyInput {
        commodity: Some(lot.commodity.clone()),
        bal: outcome.bal,
        attestation_age_seconds: seal
            .as_ref()
            .and_then(|x| x.last_attested_at)
            .map(|t| u64::try_from(now.since(t).whole_seconds()).unwrap_or(0)),
        firmware_measurement: seal.as_ref().map(|x| x.firmware_measurement.clone()),
        downgrade: outcome.downgrade.is_some(),
        device_status: outcome.device_status,
        verifier_did: outcome.verifier_did.clone(),
        ..cphar_policy::PolicyInput::default()
    };
    let decision = policy.decide(&input);
    s.metrics.decision("policy", &decision.reason_code);
    let event = (decision.effect != cphar_policy::Effect::Allow).then(|| RegistryEvent {
        event_type: EventType::PolicyDecision,
        subject: format!("lot:{lot_id}"),
        actor: actor.to_owned(),
        at: now,
        reason_code: Some(decision.reason_code.clone()),
        data: decision.to_json(),
    });
    Ok(Some((decision, event)))
}
