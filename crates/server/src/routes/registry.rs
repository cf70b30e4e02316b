//! Registry operations: seals, inspections, custody, lots and their lifecycle.

use crate::access::{self, View};
use crate::auth::{Role, require};

use crate::extract::{ApiPath, ApiQuery, Auth, JsonBody, Position, RawBody};
use crate::problem::{ApiCode, Problem};
use axum::extract::State;
use cphar_protocol::RevocationReason;
use cphar_registry::RefusalCode;
use cphar_registry::batch::{BatchMode, batch_json};
use cphar_registry::decide::{RecordCustody, RecordInspection, RegisterSeal};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{ApiResult, S, created, ok};

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

/// `POST /enrollment/challenges` (vendor): an enrollment challenge signed by the Enrollment
/// Authority (seed 002 §4.2.2 steps 1–2) for the device to sign; the registration carries
/// both (`enrollment`). Nothing is stored.
pub async fn enrollment_challenge(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Vendor])?;
    let _: Empty = body.parse()?;
    let challenge = s
        .node
        .registry
        .enrollment_challenge()
        .await
        .inspect_err(|e| s.metrics.decision("registry", e.code()))?;
    created(challenge)
}

/// `?atomic=true`: one refused line refuses the whole manifest.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    atomic: Option<bool>,
}

/// `POST /seals:batch` (vendor): register a manifest of seals (JSON Lines,
/// `application/x-ndjson`), each line checked as `POST /seals`; see
/// [`cphar_registry::batch`]. The answer reports every line: registered (with its index in
/// the batch's Merkle tree) or refused (with its reason code).
pub async fn register_batch(
    State(s): S,
    Auth(c): Auth,
    ApiQuery(q): ApiQuery<BatchQuery>,
    body: RawBody,
) -> ApiResult {
    require(&c, &[Role::Vendor])?;
    let manifest = body.bytes()?;
    let mode = if q.atomic == Some(true) {
        BatchMode::Atomic
    } else {
        BatchMode::Partial
    };
    let outcome = s
        .node
        .registry
        .register_batch(&manifest, mode, &c.subject)
        .await
        .inspect_err(|e| s.metrics.decision("registry", e.code()))?;
    ok(outcome.to_json())
}

/// `GET /seals:batch/{id}` (auditor, admin; a vendor for the batches it submitted): a batch's
/// items and its audited event.
pub async fn get_batch(State(s): S, Auth(c): Auth, ApiPath(id): ApiPath<String>) -> ApiResult {
    require(&c, &[Role::Vendor, Role::Auditor, Role::Admin])?;
    let (batch, event) = s.node.registry.seal_batch(&id).await?;
    if !may_read_batch(&c, &batch.actor) {
        return Err(no_such_batch(&id));
    }
    ok(batch_json(&batch, event.as_ref()))
}

/// A vendor reads only the batches it submitted; another one answers exactly like a missing
/// one (see [`crate::access`]).
fn may_read_batch(c: &crate::auth::Caller, actor: &str) -> bool {
    c.role != Role::Vendor || c.subject == actor
}

fn no_such_batch(id: &str) -> Problem {
    Problem::new(RefusalCode::BatchNotFound, format!("no seal batch {id}"))
}

/// `GET /seals:batch/{id}/items/{index}` (auditor, admin; a vendor for its batches): one item (the JCS text its
/// leaf hashes) with its RFC 9162 inclusion proof against the batch's root, and the audited
/// event stating that root (prove it with `GET /audit/proof/{seq}`).
pub async fn get_batch_item(
    State(s): S,
    Auth(c): Auth,
    ApiPath((id, index)): ApiPath<(String, String)>,
) -> ApiResult {
    require(&c, &[Role::Vendor, Role::Auditor, Role::Admin])?;
    // Judged after the role, like a body: a caller without it learns nothing.
    let index = index
        .parse::<u64>()
        .ok()
        .and_then(|n| Position::try_from(n).ok())
        .ok_or_else(|| {
            Problem::new(
                ApiCode::InvalidPath,
                "the item index must be an integer from 0 to 2^63 - 1",
            )
        })?;
    let proof = s.node.registry.seal_batch_proof(&id, index.get()).await?;
    let readable = proof.event.as_ref().map_or(c.role != Role::Vendor, |e| {
        may_read_batch(&c, &e.event.actor)
    });
    if !readable {
        return Err(no_such_batch(&id));
    }
    ok(proof.to_json())
}

/// `GET /seals/{uid}` (auditor, admin; an operator for the seals of its own lots): a seal
/// with its history.
pub async fn get_seal(State(s): S, Auth(c): Auth, ApiPath(uid): ApiPath<String>) -> ApiResult {
    let view = View::detail(&c)?;
    let seal = access::seal(&s, &view, &uid).await?;
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

/// `GET /lots/{id}` (auditor, admin; an operator for the lots it bound): lot, bindings,
/// inspections, custody, history.
pub async fn get_lot(State(s): S, Auth(c): Auth, ApiPath(lot): ApiPath<String>) -> ApiResult {
    let view = View::detail(&c)?;
    let record = access::lot(&s, &view, &lot).await?;
    let r = &s.node.registry;
    ok(json!({
        "lot": record,
        "bindings": r.bindings(&lot).await?,
        "inspections": r.inspections(&lot).await?,
        "custody": r.custody(&lot).await?,
        "history": r.lot_history(&lot).await?,
    }))
}

/// An empty JSON object body.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// A revocation reason body.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[schemars(with = "crate::schema::RevocationReason")]
    reason: String,
}

fn reason(text: &str) -> Result<RevocationReason, Problem> {
    text.parse().map_err(|_| {
        Problem::new(
            ApiCode::InvalidInput,
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
