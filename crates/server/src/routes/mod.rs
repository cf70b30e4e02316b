//! The HTTP API. Handlers are thin: authenticate and authorize, parse strictly, call the
//! registry / protocol core / TSA, answer JSON or problem details.
//!
//! | route | who |
//! | --- | --- |
//! | `GET /health`, `/ready`, `/metrics`, `/openapi.json` | public |
//! | `GET /lots/{id}/did.json`, `/status/revocations` | public |
//! | `GET /reserve/active` | public view; details for auditor, admin, operator (own lots) |
//! | `GET /audit/leaves`, `/audit/checkpoint`, `/audit/proof/{seq}`, `/audit/consistency` | public (proofs without the entry) |
//! | `GET /audit/entries` | auditor, admin; operator (entries it is the actor of) |
//! | `GET /tsa/certificate`, `POST /tsa` | public |
//! | `POST /seals` | vendor |
//! | `POST /inspections` | inspector |
//! | `POST /custody` | inspector, operator |
//! | `POST /lots/{id}/bind`, `/revoke`, `/retire`, `/rebind`, `/decommission`, `/close-cycle`, `/reenroll` | operator |
//! | `POST /lots/{id}/sign-off` | auditor |
//! | `GET /lots/{id}`, `GET /seals/{uid}` | auditor, admin; operator (lots it bound, their seals) |
//! | `POST /challenges`, `POST /challenges/{id}/response` | verifier |
//! | `POST /tokens`, `DELETE /tokens/{id}`, `POST /authority/revoke`, `POST /authority/expire` | admin |
//! | `GET /policy` | any role; `PUT /policy` admin |
//! | `POST /reports` | operator, admin |
//! | `GET /reports`, `/reports/latest`, `/reports/key`, `/reports/{n}` | public |
//! | `GET /reports/{n}/leaves` | auditor, admin |
//! | `GET /reports/{n}/proof` | auditor, admin; operator (inclusion of lots it bound) |
//! | `GET /session` | any role (who the token is) |
//! | `GET /ui/…` | public: the web dashboard's files ([`ui`]); the dashboard calls the API with the user's token |
//!
//! Confidentiality (what each view shows, what "own" means) is stated in [`crate::access`].

pub mod admin;
pub mod audit;
pub mod public;
pub mod registry;
pub mod reports;
pub mod ui;
pub mod verifier;

use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;

pub(crate) type S = State<Arc<AppState>>;
pub(crate) type ApiResult = Result<Response, Problem>;

pub(crate) fn ok(value: Value) -> ApiResult {
    Ok(Json(value).into_response())
}

pub(crate) fn created(value: Value) -> ApiResult {
    Ok((StatusCode::CREATED, Json(value)).into_response())
}
