//! Public, read-only routes: liveness and readiness, metrics, the OpenAPI document, DID
//! documents, the active reserve set (public view without a token), revocation status, and
//! the RFC 3161 TSA.

use crate::access::{self, MaybeAuth, View};
use crate::extract::{ApiPath, ApiQuery, RawBody};
use crate::problem::{ApiCode, Problem};
use crate::schema::Attestation;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cphar_registry::ServiceEvent;
use cphar_tsa::FailureInfo;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiResult, S, ok};

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
    s.ensure_audit_current()?;
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
    // The report key verifies reserve reports only: not an assertion method, so it can never
    // stand for the Enrollment Authority.
    methods.push(json!({
        "id": format!("{did}#report-key"),
        "type": "JsonWebKey2020",
        "controller": did,
        "publicKeyJwk": s.report_key.verifying_key().to_jwk().to_json(),
    }));
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
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionQuery {
    version_id: Option<crate::extract::Position>,
}

/// `GET /lots/{id}/did.json[?versionId=N]`: the lot's DID document (did:web).
pub async fn did_document(
    State(s): S,
    ApiPath(lot): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult {
    let doc = s
        .node
        .registry
        .did_document(&lot, q.version_id.map(|v| v.get()))
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/did+json")],
        doc.to_string(),
    )
        .into_response())
}

/// `?after=&limit=`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Page {
    after: Option<String>,
    limit: Option<u32>,
}

/// `GET /reserve/active`: the active reserve set. Without a token every lot is in its public
/// view (id, DID, binding, attestation freshness); the auditor and the admin see the full lot
/// records, an operator those of the lots it bound ([`crate::access`]).
pub async fn active(
    State(s): S,
    MaybeAuth(c): MaybeAuth,
    ApiQuery(p): ApiQuery<Page>,
) -> ApiResult {
    let view = View::of(c.as_ref());
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let lots = s
        .node
        .registry
        .active_reserve(p.after.as_deref(), limit)
        .await?;
    let now = s.now()?;
    let mut listed = Vec::with_capacity(lots.len());
    for lot in &lots {
        // How fresh the lot's evidence is: `attested` within the cadence,
        // `attestation_overdue` past it (within the grace: still in the set; past the grace
        // the lot lapses out of it), `not_yet_attested` before the first one.
        let attestation = match lot.evidence_at {
            _ if lot.binding_id.is_none() => Attestation::NotYetAttested,
            None => Attestation::NotYetAttested,
            Some(t) if now.since(t) > s.attestation.cadence => Attestation::AttestationOverdue,
            Some(_) => Attestation::Attested,
        };
        let entry = if access::sees_lot(&s, &view, &lot.lot_id).await? {
            let mut full = json!(lot);
            if let Some(obj) = full.as_object_mut() {
                obj.insert("attestation".into(), json!(attestation));
            }
            full
        } else {
            json!(access::public_lot(lot, attestation))
        };
        listed.push(entry);
    }
    let next = (lots.len() as u32 == limit)
        .then(|| lots.last().map(|l| l.lot_id.clone()))
        .flatten();
    ok(json!({"lots": listed, "next": next}))
}

/// `GET /status/revocations[?after=&limit=]`: revoked or decommissioned binding methods, by
/// id, one page (at most 1000; `next` names the cursor of the following page).
pub async fn revocations(State(s): S, ApiQuery(p): ApiQuery<Page>) -> ApiResult {
    let limit = p.limit.unwrap_or(1000).clamp(1, 1000);
    let ended = s
        .node
        .registry
        .store()
        .ended_bindings(p.after.as_deref(), limit)
        .await?;
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
    let next = (ended.len() as u32 == limit)
        .then(|| ended.last().map(|b| b.id.clone()))
        .flatten();
    ok(json!({"issuer": format!("did:web:{}", s.host), "revoked": list, "next": next}))
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
    let (der, fact) = match s.tsa.answer(&body, now) {
        Ok(issued) => {
            let fact = match issued.outcome {
                cphar_tsa::Outcome::Granted { serial, gen_time } => {
                    s.metrics.decision("tsa", "granted");
                    ServiceEvent::TimestampIssued {
                        serial: format!("{serial:x}"),
                        gen_time: gen_time.to_string(),
                    }
                }
                // Refusals are anonymous and cheap to cause: counted, and audited once per
                // period (`crate::refusals`), never one entry each.
                cphar_tsa::Outcome::Rejected(f) => {
                    s.metrics.decision("tsa", f.as_str());
                    s.tsa_refusals.count(f.as_str(), &s.node.clock);
                    return Ok(timestamp_reply(issued.response));
                }
            };
            (issued.response, Some(fact))
        }
        Err(rejection) => {
            s.metrics.decision("tsa", "refused_unavailable");
            s.tsa_refusals.count("unavailable", &s.node.clock);
            (rejection, None)
        }
    };
    // The token leaves only once its record is durable; without a trusted time or a working
    // module nothing can be recorded, and the answer is already a rejection.
    if let Some(fact) = fact
        && s.now().is_ok()
    {
        s.node.registry.record(&[fact], "tsa").await?;
    }
    Ok(timestamp_reply(der))
}

fn timestamp_reply(der: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/timestamp-reply")], der).into_response()
}

/// Anything else.
pub async fn not_found() -> Problem {
    Problem::new(ApiCode::NoSuchRoute, "no such endpoint")
}
