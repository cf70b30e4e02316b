//! The HTTP API. Handlers are thin: authenticate and authorize, parse strictly, call the
//! registry / protocol core / TSA, answer JSON or problem details.
//!
//! | route | who |
//! | --- | --- |
//! | `GET /health`, `/ready`, `/metrics`, `/openapi.json` | public |
//! | `GET /lots/{id}/did.json`, `/reserve/active`, `/status/revocations` | public |
//! | `GET /audit/entries`, `/audit/checkpoint`, `/audit/proof/{seq}`, `/audit/consistency` | public |
//! | `GET /tsa/certificate`, `POST /tsa` | public |
//! | `POST /seals` | vendor |
//! | `POST /inspections` | inspector |
//! | `POST /custody` | inspector, operator |
//! | `POST /lots/{id}/bind`, `/revoke`, `/retire`, `/rebind`, `/decommission`, `/close-cycle`, `/reenroll` | operator |
//! | `POST /lots/{id}/sign-off` | auditor |
//! | `GET /lots/{id}`, `GET /seals/{uid}` | any role |
//! | `POST /challenges`, `POST /challenges/{id}/response` | verifier |
//! | `POST /tokens`, `DELETE /tokens/{id}`, `POST /authority/revoke`, `POST /authority/expire` | admin |

use crate::auth::{Role, new_token, require};
use crate::extract::{ApiPath, ApiQuery, Auth, JsonBody, RawBody};
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cphar_protocol::{
    Bal, ChallengeParams, ChallengeRequest, RevocationReason, Timestamp, VerifierPolicy,
};
use cphar_registry::decide::{RecordCustody, RecordInspection, RegisterSeal};
use cphar_registry::event::{EventType, RegistryEvent};
use cphar_registry::store::SpendChallenge;
use cphar_registry::{ChangeSet, RegistryError, Store, StoreError};
use cphar_store::{ChallengeRow, TokenWrite};
use cphar_tsa::FailureInfo;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

type S = State<Arc<AppState>>;
type ApiResult = Result<Response, Problem>;

fn ok(value: Value) -> ApiResult {
    Ok(Json(value).into_response())
}

fn created(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// Public

/// `GET /health`: the process answers (liveness), with its module and clock status.
pub async fn health(State(s): S) -> ApiResult {
    ok(json!({
        "status": "ok",
        "module": s.node.module.status().to_json(),
        "epoch": s.node.epoch,
        "clock": {"signing": s.node.clock.now_for_signing().is_ok()},
    }))
}

/// `GET /ready`: 200 only when the module is operational and the clock within tolerance.
pub async fn ready(State(s): S) -> ApiResult {
    s.ensure_operational()?;
    s.now()?;
    ok(json!({"ready": true}))
}

/// `GET /metrics`.
pub async fn metrics(State(s): S) -> Response {
    if let Ok((size, _)) = s.node.registry.store().audit_head().await {
        s.metrics
            .audit_log_size
            .set(i64::try_from(size).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// `GET /.well-known/did.json`: the registry's own DID document (`did:web:HOST`), the issuer of
/// every BEA: its Enrollment Authority keys (revoked ones marked) and its identity key.
pub async fn registry_did(State(s): S) -> ApiResult {
    let did = format!("did:web:{}", s.host);
    let mut methods = Vec::new();
    let mut assertion = Vec::new();
    for a in s.node.registry.authorities().await? {
        let mut m = json!({"id": a.key_id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": a.public_jwk});
        if let (Some(obj), Some(at)) = (m.as_object_mut(), a.revoked_at) {
            obj.insert(
                "revoked".into(),
                json!({"timestamp": at.to_string(), "reason": "authority_revoked"}),
            );
        } else {
            assertion.push(json!(a.key_id));
        }
        methods.push(m);
    }
    if let Some(identity) = &s.node.identity {
        methods.push(json!({
            "id": format!("{did}#identity"),
            "type": "JsonWebKey2020",
            "controller": did,
            "publicKeyJwk": identity.verifying_key().to_jwk().to_json(),
        }));
    }
    let doc = json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": assertion,
    });
    Ok((
        [(header::CONTENT_TYPE, "application/did+json")],
        doc.to_string(),
    )
        .into_response())
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document().to_string(),
    )
        .into_response()
}

/// `?versionId=`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionQuery {
    version_id: Option<u64>,
}

/// `GET /lots/{id}/did.json[?versionId=N]`: the lot's DID document (did:web).
pub async fn did_document(
    State(s): S,
    ApiPath(lot): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult {
    let doc = s.node.registry.did_document(&lot, q.version_id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/did+json")],
        doc.to_string(),
    )
        .into_response())
}

/// `?after=&limit=`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    after: Option<String>,
    limit: Option<u32>,
}

/// `GET /reserve/active`: the active reserve set.
pub async fn active(State(s): S, ApiQuery(p): ApiQuery<Page>) -> ApiResult {
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let lots = s
        .node
        .registry
        .active_reserve(p.after.as_deref(), limit)
        .await?;
    let now = s.now()?;
    let cadence = time::Duration::seconds(
        i64::try_from(s.config.attestation_cadence_seconds).unwrap_or(i64::MAX),
    );
    let mut listed = Vec::with_capacity(lots.len());
    for lot in &lots {
        // Every listed lot says how fresh its evidence is: `attested` within the cadence,
        // `attestation_overdue` once its last good attestation is older (the scheduler then
        // closes the cycle: Attested → Sealed), `not_yet_attested` before the first one.
        let seal = match s.node.registry.store().lot_current(&lot.lot_id).await? {
            Some((_, Some((_, seal)))) => seal,
            _ => None,
        };
        let attestation = match seal.and_then(|x| x.last_attested_at) {
            None => "not_yet_attested",
            Some(t) if now.since(t) > cadence => "attestation_overdue",
            Some(_) => "attested",
        };
        let mut entry = json!(lot);
        if let Some(obj) = entry.as_object_mut() {
            obj.insert("attestation".into(), json!(attestation));
        }
        listed.push(entry);
    }
    let next = (lots.len() as u32 == limit)
        .then(|| lots.last().map(|l| l.lot_id.clone()))
        .flatten();
    ok(json!({"lots": listed, "next": next}))
}

/// `GET /status/revocations`: every revoked or decommissioned binding method.
pub async fn revocations(State(s): S) -> ApiResult {
    let ended = s.node.registry.store().ended_bindings().await?;
    let list: Vec<Value> = ended
        .iter()
        .map(|b| {
            json!({
                "bindingMethod": b.id,
                "state": b.state.as_str(),
                "reason": b.revocation.map(|r| r.reason.as_str()),
                "revokedAt": b.revocation.map(|r| r.at.to_string()),
            })
        })
        .collect();
    ok(json!({"issuer": format!("did:web:{}", s.host), "revoked": list}))
}

/// `?from=&limit=`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    from: Option<u64>,
    limit: Option<u32>,
}

/// `GET /audit/entries?from=&limit=`: the audit log as JSON Lines.
pub async fn audit_entries(State(s): S, ApiQuery(q): ApiQuery<EntriesQuery>) -> ApiResult {
    let entries = s
        .node
        .registry
        .store()
        .audit_entries(
            q.from.unwrap_or(0),
            q.limit.unwrap_or(1000).clamp(1, 10_000),
        )
        .await?;
    let mut body = String::new();
    for (_, line) in entries {
        body.push_str(&line);
        body.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/jsonl")], body).into_response())
}

/// `GET /audit/checkpoint`: a checkpoint of the current log signed by the identity key.
pub async fn audit_checkpoint(State(s): S) -> ApiResult {
    let (note, _) = crate::transparency::checkpoint(&s).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// `GET /audit/proof/{seq}`: an inclusion proof bundle against a fresh checkpoint.
pub async fn audit_proof(State(s): S, ApiPath(seq): ApiPath<u64>) -> ApiResult {
    ok(crate::transparency::inclusion(&s, seq).await?)
}

/// `?from=`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: u64,
}

/// `GET /audit/consistency?from=M`: a consistency proof bundle from size M to now.
pub async fn audit_consistency(State(s): S, ApiQuery(q): ApiQuery<ConsistencyQuery>) -> ApiResult {
    ok(crate::transparency::consistency(&s, q.from).await?)
}

/// `GET /tsa/certificate`: the TSA chain, leaf first, PEM.
pub async fn tsa_certificate(State(s): S) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        s.tsa.chain_pem().to_owned(),
    )
        .into_response()
}

/// `POST /tsa` (`application/timestamp-query`): an RFC 3161 answer, audited before it is sent.
pub async fn tsa(State(s): S, body: RawBody) -> ApiResult {
    let body = body.bytes()?;
    let now = match (
        s.node.module.ensure_operational(),
        s.node.clock.now_nanos_for_signing(),
    ) {
        (Err(_), _) => Err(FailureInfo::SystemFailure),
        (_, Err(_)) => Err(FailureInfo::TimeNotAvailable),
        (Ok(()), Ok(n)) => Ok(n),
    };
    let (der, event) = match s.tsa.answer(&body, now) {
        Ok(issued) => {
            let event = match issued.outcome {
                cphar_tsa::Outcome::Granted { serial, gen_time } => {
                    s.metrics.decision("tsa", "granted");
                    (
                        EventType::TimestampIssued,
                        None,
                        json!({"serial": format!("{serial:x}"), "genTime": gen_time.to_string()}),
                    )
                }
                cphar_tsa::Outcome::Rejected(f) => {
                    s.metrics.decision("tsa", f.as_str());
                    (
                        EventType::TimestampRefused,
                        Some(f.as_str()),
                        json!({"failureInfo": f.as_str()}),
                    )
                }
            };
            (issued.response, Some(event))
        }
        Err(rejection) => {
            s.metrics.decision("tsa", "refused_unavailable");
            (rejection, None)
        }
    };
    // The token leaves only once its record is durable; without a trusted time or a working
    // module nothing can be recorded, and the answer is already a rejection.
    if let (Some((kind, reason, data)), Ok(at)) = (event, s.now()) {
        let event = RegistryEvent {
            event_type: kind,
            subject: "tsa".into(),
            actor: "tsa".into(),
            at,
            reason_code: reason.map(str::to_owned),
            data,
        };
        s.node
            .registry
            .store()
            .apply(ChangeSet {
                events: vec![event],
                ..ChangeSet::default()
            })
            .await?;
    }
    Ok(([(header::CONTENT_TYPE, "application/timestamp-reply")], der).into_response())
}

// ---------------------------------------------------------------------------------------------
// Registry

/// `POST /seals` (vendor): register a seal with its vendor attestation.
pub async fn register_seal(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Vendor])?;
    let cmd: RegisterSeal = body.parse()?;
    let seal = s
        .node
        .registry
        .register_seal(&cmd, &c.subject)
        .await
        .inspect_err(|e| s.metrics.decision("registry", e.code()))?;
    created(json!(seal))
}

/// `GET /seals/{uid}` (any role): a seal with its history.
pub async fn get_seal(State(s): S, Auth(_): Auth, ApiPath(uid): ApiPath<String>) -> ApiResult {
    let seal = s.node.registry.seal(&uid).await?;
    let history = s.node.registry.seal_history(&uid).await?;
    ok(json!({"seal": seal, "history": history}))
}

/// `POST /inspections` (inspector).
pub async fn inspect(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Inspector])?;
    let cmd: RecordInspection = body.parse()?;
    let id = s.node.registry.record_inspection(&cmd, &c.subject).await?;
    created(json!({"inspectionId": id, "lotId": cmd.lot_id}))
}

/// `POST /custody` (inspector, operator).
pub async fn custody(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Inspector, Role::Operator])?;
    let cmd: RecordCustody = body.parse()?;
    let id = s.node.registry.record_custody(&cmd, &c.subject).await?;
    created(json!({"custodyId": id, "lotId": cmd.lot_id}))
}

/// `GET /lots/{id}` (any role): lot, bindings, inspections, custody, history.
pub async fn get_lot(State(s): S, Auth(_): Auth, ApiPath(lot): ApiPath<String>) -> ApiResult {
    let r = &s.node.registry;
    ok(json!({
        "lot": r.lot(&lot).await?,
        "bindings": r.bindings(&lot).await?,
        "inspections": r.inspections(&lot).await?,
        "custody": r.custody(&lot).await?,
        "history": r.lot_history(&lot).await?,
    }))
}

/// An empty JSON object body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// A revocation reason body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: String,
}

fn reason(text: &str) -> Result<RevocationReason, Problem> {
    text.parse().map_err(|_| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!("'{text}' is not a revocation reason code"),
        )
    })
}

/// `POST /lots/{id}/bind` (operator).
pub async fn bind(
    State(s): S,
    Auth(c): Auth,
    ApiPath(lot): ApiPath<String>,
    body: JsonBody,
) -> ApiResult {
    require(&c, &[Role::Operator])?;
    let _: Empty = body.parse()?;
    created(json!(s.node.registry.bind(&lot, &c.subject).await?))
}

/// `POST /lots/{id}/sign-off` (auditor).
pub async fn sign_off(
    State(s): S,
    Auth(c): Auth,
    ApiPath(lot): ApiPath<String>,
    body: JsonBody,
) -> ApiResult {
    require(&c, &[Role::Auditor])?;
    let _: Empty = body.parse()?;
    ok(json!(s.node.registry.sign_off(&lot, &c.subject).await?))
}

/// `POST /lots/{id}/revoke` (operator).
pub async fn revoke(
    State(s): S,
    Auth(c): Auth,
    ApiPath(lot): ApiPath<String>,
    body: JsonBody,
) -> ApiResult {
    require(&c, &[Role::Operator])?;
    let b: ReasonBody = body.parse()?;
    s.node
        .registry
        .revoke(&lot, reason(&b.reason)?, &c.subject)
        .await?;
    ok(json!(s.node.registry.lot(&lot).await?))
}

/// `POST /lots/{id}/retire` (operator).
pub async fn retire(
    State(s): S,
    Auth(c): Auth,
    ApiPath(lot): ApiPath<String>,
    body: JsonBody,
) -> ApiResult {
    require(&c, &[Role::Operator])?;
    let b: ReasonBody = body.parse()?;
    s.node
        .registry
        .retire(&lot, reason(&b.reason)?, &c.subject)
        .await?;
    ok(json!(s.node.registry.lot(&lot).await?))
}

/// `POST /lots/{id}/rebind` (operator).
pub async fn rebind(
    State(s): S,
    Auth(c): Auth,
    ApiPath(lot): ApiPath<String>,
    body: JsonBody,
) -> ApiResult {
    require(&c, &[Role::Operator])?;
    let b: ReasonBody = body.parse()?;
    created(json!(
        s.node
            .registry
            .rebind(&lot, reason(&b.reason)?, &c.subject)
            .await?
    ))
}

/// `POST /lots/{id}/decommission` (operator).
pub async fn decommission(
    State(s): S,
    Auth(c): Auth,
    ApiPath(lot): ApiPath<String>,
    body: JsonBody,
) -> ApiResult {
    require(&c, &[Role::Operator])?;
    let _: Empty = body.parse()?;
    s.node.registry.decommission(&lot, &c.subject).await?;
    ok(json!(s.node.registry.lot(&lot).await?))
}

/// `POST /lots/{id}/close-cycle` (operator).
pub async fn close_cycle(
    State(s): S,
    Auth(c): Auth,
    ApiPath(lot): ApiPath<String>,
    body: JsonBody,
) -> ApiResult {
    require(&c, &[Role::Operator])?;
    let _: Empty = body.parse()?;
    s.node.registry.close_cycle(&lot, &c.subject).await?;
    ok(json!(s.node.registry.lot(&lot).await?))
}

/// `POST /lots/{id}/reenroll` (operator).
pub async fn reenroll(
    State(s): S,
    Auth(c): Auth,
    ApiPath(lot): ApiPath<String>,
    body: JsonBody,
) -> ApiResult {
    require(&c, &[Role::Operator])?;
    let _: Empty = body.parse()?;
    s.node.registry.reenroll(&lot, &c.subject).await?;
    ok(json!(s.node.registry.lot(&lot).await?))
}

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
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "verifier must be a DID",
        ));
    }
    s.limit(&s.credential_limiter, &c.token_id, now)?;
    s.limit(&s.verifier_limiter, &verifier, now)?;
    let min_bal = b
        .min_bal
        .map(|m| {
            m.parse::<Bal>().map_err(|_| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    "minBal must be BAL-1..BAL-4",
                )
            })
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
    let nonce =
        cphar_crypto::random_bytes::<32>().map_err(|e| Problem::unavailable("rng_failure", e))?;
    let request = ChallengeRequest::issue(ChallengeParams {
        did: lot.did.clone(),
        did_version: None,
        nonce: nonce.to_vec(),
        timestamp: now,
        verifier: verifier.clone(),
        min_bal,
        request_pbac,
    })
    .map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            e.to_string(),
        )
    })?;
    let id = cphar_audit::entry::hex(
        &cphar_crypto::random_bytes::<16>().map_err(|e| Problem::unavailable("rng_failure", e))?,
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
            StatusCode::CONFLICT,
            "challenge_used_or_expired",
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
        .ok_or_else(|| Problem::not_found("lot_not_found", format!("no lot has id {lot_id}")))?;
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

// ---------------------------------------------------------------------------------------------
// Admin

/// `GET /policy` (any role): the active policy.
pub async fn get_policy(State(s): S, Auth(_): Auth) -> ApiResult {
    let Some(store) = &s.policy else {
        return Err(Problem::not_found("no_policy", "no policy is configured"));
    };
    let p = store.active();
    let rules: Vec<Value> = p
        .rules()
        .iter()
        .map(
            |r| json!({"id": r.id(), "effect": r.effect().as_str(), "reasonCode": r.reason_code()}),
        )
        .collect();
    ok(json!({"policyId": p.policy_id(), "version": p.version(), "rules": rules}))
}

/// `PUT /policy` (admin): replaces the policy with a newer version (JSON form of the policy
/// file). The change is audited; an older or equal version is refused.
pub async fn put_policy(State(s): S, Auth(c): Auth, body: RawBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let bytes = body.bytes()?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Problem::bad_request("malformed_json", "not UTF-8"))?;
    let engine = cphar_policy::PolicyEngine::from_json(text).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_policy",
            e.to_string(),
        )
    })?;
    let Some(store) = &s.policy else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no_policy",
            "start the server with a policy file to manage policies",
        ));
    };
    let now = s.now()?;
    let change = store
        .replace(engine)
        .map_err(|e| Problem::new(StatusCode::CONFLICT, e.code().as_str(), e.to_string()))?;
    crate::telemetry::policy_changed(
        &change.new.policy_id,
        change.new.version,
        change.old.version,
    );
    let event = RegistryEvent {
        event_type: EventType::PolicyChanged,
        subject: "policy".into(),
        actor: c.subject.clone(),
        at: now,
        reason_code: None,
        data: change.to_json(),
    };
    s.node
        .registry
        .store()
        .apply(ChangeSet {
            events: vec![event],
            ..ChangeSet::default()
        })
        .await?;
    ok(change.to_json())
}

/// `POST /tokens` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenBody {
    role: String,
    subject: String,
    expires_in_seconds: Option<u64>,
}

/// `POST /tokens` (admin): a new API token, shown once.
pub async fn create_token(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let b: TokenBody = body.parse()?;
    let role: Role = b.role.parse().map_err(|_| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "unknown role",
        )
    })?;
    if b.subject.is_empty() || b.subject.len() > 128 || b.subject.chars().any(char::is_control) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "subject must be 1-128 printable characters",
        ));
    }
    let now = s.now()?;
    let expires = b.expires_in_seconds.and_then(|secs| {
        now.checked_add(time::Duration::seconds(
            i64::try_from(secs).unwrap_or(i64::MAX),
        ))
    });
    let (text, id) = issue_token_record(&s, role, &b.subject, now, expires, &c.subject).await?;
    created(json!({"id": id, "token": text, "role": role.as_str(), "subject": b.subject}))
}

/// Creates a token and records it in the audit log; returns (token text, id).
pub async fn issue_token_record(
    s: &AppState,
    role: Role,
    subject: &str,
    now: Timestamp,
    expires: Option<Timestamp>,
    actor: &str,
) -> Result<(String, String), Problem> {
    let (text, row) = new_token(role, subject, now, expires)?;
    let id = row.id.clone();
    let event = RegistryEvent {
        event_type: EventType::TokenCreated,
        subject: format!("token:{id}"),
        actor: actor.to_owned(),
        at: now,
        reason_code: None,
        data: json!({"tokenId": id, "role": role.as_str(), "subject": subject, "expiresAt": expires.map(|t| t.to_string())}),
    };
    s.node
        .registry
        .store()
        .token_write(TokenWrite::Insert(row), event)
        .await?;
    Ok((text, id))
}

/// `DELETE /tokens/{id}` (admin).
pub async fn revoke_token(State(s): S, Auth(c): Auth, ApiPath(id): ApiPath<String>) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let now = s.now()?;
    let event = RegistryEvent {
        event_type: EventType::TokenRevoked,
        subject: format!("token:{id}"),
        actor: c.subject.clone(),
        at: now,
        reason_code: None,
        data: json!({"tokenId": id}),
    };
    match s
        .node
        .registry
        .store()
        .token_write(TokenWrite::Revoke(id.clone()), event)
        .await
    {
        Ok(_) => {
            s.tokens.forget(&id);
            ok(json!({"revoked": id}))
        }
        Err(cphar_registry::StoreError::Conflict(_)) => Err(Problem::not_found(
            "token_not_found",
            "no such unrevoked token",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /authority/revoke` (admin): revoke the current EA key, rotate to a new one.
pub async fn revoke_authority(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let _: Empty = body.parse()?;
    let current = s.node.registry.current_authority_key_id().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "authority_unavailable",
            "no EA key",
        )
    })?;
    let next = cphar_crypto::SigningKey::generate(cphar_crypto::Algorithm::Ed25519)
        .map_err(|e| Problem::unavailable("keygen_failed", e))?;
    let pem = next
        .to_pkcs8_pem()
        .map_err(|e| Problem::unavailable("keygen_failed", e))?;
    let staged = s
        .node
        .config
        .data_dir
        .join(format!("{}.next", crate::node::EA_KEY_FILE));
    let _ = std::fs::remove_file(&staged);
    crate::node::write_secret(&staged, pem.as_bytes())
        .map_err(|e| Problem::unavailable("key_storage", e))?;
    let new_id = s
        .node
        .registry
        .revoke_authority(&current, next, &c.subject)
        .await?;
    std::fs::rename(
        &staged,
        s.node.config.data_dir.join(crate::node::EA_KEY_FILE),
    )
    .map_err(|e| Problem::unavailable("key_storage", e))?;
    ok(json!({"revoked": current, "current": new_id}))
}

/// `POST /authority/expire` (admin): revoke suspended bindings past their window.
pub async fn expire_authority(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let _: Empty = body.parse()?;
    ok(json!({"revoked": s.node.registry.expire_reenrollments(&c.subject).await?}))
}

/// Anything else.
pub async fn not_found() -> Problem {
    Problem::not_found("no_such_route", "no such endpoint")
}
