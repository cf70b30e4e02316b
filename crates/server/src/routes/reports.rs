//! Reserve reports: publishing (operator, admin), the reports themselves, their roots and
//! totals (public), their leaves (auditor, admin) and proofs (auditor, admin; an operator for
//! the lots it bound).
//!
//! The registry is confidential ([`crate::access`]): a report names no lot, so reports, roots,
//! totals and the report key are public; a leaf carries a lot's commodity, grade and
//! quantity, so leaves are for the full view only. An inclusion proof shows one leaf and
//! sibling hashes and sums: an operator gets it for a lot it bound. A non-inclusion proof
//! shows the two neighbouring leaves, so it is for the full view only.

use crate::access::View;
use crate::auth::{Role, require};
use crate::extract::{ApiPath, ApiQuery, Auth, JsonBody, Peer};
use crate::problem::{ApiCode, Problem};
use crate::schema::{ReportKey, ReportList, ReportSummary, ReportTotal};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use cphar_registry::RefusalCode;
use cphar_registry::store::StoredReport;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::registry::Empty;
use super::{ApiResult, S, ok};

/// Most leaves per `GET /reports/{n}/leaves` page.
pub const MAX_LEAVES_PAGE: u32 = 100_000;

/// `?after=&limit=` of `GET /reports`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsQuery {
    /// List reports numbered above this (default 0).
    after: Option<crate::extract::Position>,
    /// At most this many (1–1000, default 100).
    limit: Option<u32>,
}

/// `?after=&limit=` of `GET /reports/{n}/leaves`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeavesQuery {
    /// Leaves of lots after this lot id.
    after: Option<String>,
    /// At most this many (1–100000, default 10000); a shorter page is the last.
    limit: Option<u32>,
}

/// `?lot=` of `GET /reports/{n}/proof`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofQuery {
    /// The lot to prove included or absent.
    lot: Option<String>,
}

fn number_of(text: &str) -> Result<u64, Problem> {
    text.parse::<u64>()
        .ok()
        .filter(|n| *n >= 1 && i64::try_from(*n).is_ok())
        .ok_or_else(|| {
            Problem::new(
                ApiCode::InvalidPath,
                format!("{text:?} is not a report number (1, 2, 3…)"),
            )
        })
}

async fn stored(s: &crate::state::AppState, number: Option<u64>) -> Result<StoredReport, Problem> {
    cphar_registry::Store::report(s.node.registry.store(), number)
        .await?
        .ok_or_else(|| {
            Problem::new(
                RefusalCode::ReportNotFound,
                match number {
                    Some(n) => format!("no report has number {n}"),
                    None => "no report was published yet".to_owned(),
                },
            )
        })
}

fn report_reply(status: StatusCode, report: &StoredReport) -> ApiResult {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        report.jcs.clone(),
    )
        .into_response();
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&format!("/reports/{}", report.number))
    {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `POST /reports` (operator, admin): publishes the next report now; 201 with the report as
/// published and `Location: /reports/{n}`. The actor is the token's subject.
pub async fn publish(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Operator, Role::Admin])?;
    let _: Empty = body.parse()?;
    let published = crate::reports::publish(&s, &c.subject).await?;
    report_reply(StatusCode::CREATED, &published.stored)
}

/// `GET /reports?after=&limit=` (public): report summaries, ascending.
pub async fn list(State(s): S, ApiQuery(q): ApiQuery<ReportsQuery>) -> ApiResult {
    let after = q.after.map_or(0, crate::extract::Position::get);
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = cphar_registry::Store::reports(s.node.registry.store(), after, limit).await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.number))
        .flatten();
    let reports = rows
        .iter()
        .map(summary)
        .collect::<Result<Vec<_>, Problem>>()?;
    ok(json!(ReportList { reports, next }))
}

fn summary(r: &StoredReport) -> Result<ReportSummary, Problem> {
    let report: cphar_report::Report =
        serde_json::from_str(&r.jcs).map_err(|e| Problem::unavailable(ApiCode::StorageError, e))?;
    Ok(ReportSummary {
        number: r.number,
        generated_at: report.generated_at,
        root_sum: r.sum_root.clone(),
        root_rfc9162: r.rfc9162_root.clone(),
        lot_count: r.lot_count,
        totals: report
            .totals
            .into_iter()
            .map(|t| ReportTotal {
                commodity: t.commodity,
                unit: t.unit,
                quantity: t.quantity,
                lots: t.lots,
            })
            .collect(),
    })
}

/// `GET /reports/latest` (public): the latest report, exactly as published.
pub async fn latest(State(s): S) -> ApiResult {
    report_reply(StatusCode::OK, &stored(&s, None).await?)
}

/// `GET /reports/{n}` (public): report `n`, exactly as published.
pub async fn get(State(s): S, ApiPath(n): ApiPath<String>) -> ApiResult {
    report_reply(StatusCode::OK, &stored(&s, Some(number_of(&n)?)).await?)
}

/// `GET /reports/key` (public): the report key certified in the audit log.
pub async fn key(State(s): S) -> ApiResult {
    let public = s.report_key.verifying_key();
    let jwk = public.to_jwk();
    ok(json!(ReportKey {
        kid: jwk
            .thumbprint_b64()
            .map_err(|e| Problem::unavailable(ApiCode::KeyStorage, e))?,
        alg: public.algorithm().as_str().to_owned(),
        public_key_jwk: jwk.to_json(),
    }))
}

/// `GET /reports/{n}/leaves?after=&limit=` (auditor, admin): the leaves of report `n` as a
/// JSON array, sorted by lot id, each exactly as hashed (its JCS form).
pub async fn leaves(
    State(s): S,
    Auth(c): Auth,
    ApiPath(n): ApiPath<String>,
    ApiQuery(q): ApiQuery<LeavesQuery>,
) -> ApiResult {
    require(&c, &[Role::Auditor, Role::Admin])?;
    let report = stored(&s, Some(number_of(&n)?)).await?;
    let limit = q.limit.unwrap_or(10_000).clamp(1, MAX_LEAVES_PAGE);
    let rows = cphar_registry::Store::report_leaves(
        s.node.registry.store(),
        report.number,
        q.after.as_deref(),
        limit,
    )
    .await?;
    let mut body = String::with_capacity(rows.iter().map(|(_, l)| l.len() + 1).sum::<usize>() + 2);
    body.push('[');
    for (i, (_, leaf)) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(leaf);
    }
    body.push(']');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /reports/{n}/proof?lot=ID` (auditor, admin; an operator for a lot it bound, inclusion
/// only): the inclusion or non-inclusion proof of `lot` in report `n`.
pub async fn proof(
    State(s): S,
    Auth(c): Auth,
    Peer(peer): Peer,
    ApiPath(n): ApiPath<String>,
    ApiQuery(q): ApiQuery<ProofQuery>,
) -> ApiResult {
    let view = View::detail(&c)?;
    let number = number_of(&n)?;
    let lot = q
        .lot
        .ok_or_else(|| Problem::new(ApiCode::InvalidQuery, "?lot= names the lot to prove"))?;
    cphar_registry::ident::check_lot_id(&lot)
        .map_err(|r| Problem::from(cphar_registry::RegistryError::from(r)))?;
    if !crate::access::sees_lot(&s, &view, &lot).await? {
        return Err(Problem::new(
            RefusalCode::LotNotFound,
            format!("no lot has id {lot}"),
        ));
    }
    let report = stored(&s, Some(number)).await?;
    let tree = crate::reports::tree(&s, number, &report.sum_root, peer).await?;
    let proof = tree
        .prove(number, &lot)
        .map_err(|e| Problem::unavailable(ApiCode::StorageError, e))?;
    if view != View::Full && matches!(proof, cphar_report::Proof::NonInclusion { .. }) {
        return Err(Problem::new(
            ApiCode::RoleNotAllowed,
            "a non-inclusion proof shows the neighbouring lots: it needs the role auditor or admin",
        ));
    }
    ok(proof.to_json())
}
