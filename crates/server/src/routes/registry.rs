//! Registry operations: seals, inspections, custody, lots and their lifecycle.

use crate::access::{self, View};
use crate::auth::{Role, require};

use crate::extract::{ApiPath, Auth, JsonBody};
use crate::problem::{ApiCode, Problem};
use axum::extract::State;
use cphar_protocol::RevocationReason;
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
