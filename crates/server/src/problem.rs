//! RFC 9457 problem details: every error answer of the API carries a stable reason code, and
//! nothing internal (no database message, no stack) reaches the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cphar_registry::{RegistryError, StoreError};
use serde_json::json;

/// The reason code of an error answer, attached to the response for the request log.
#[derive(Debug, Clone)]
pub struct ReasonCode(pub String);

/// An error answer.
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable reason code.
    pub code: String,
    /// Explanation for people.
    pub detail: String,
    /// `Retry-After` seconds (429, 503).
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem {
            status,
            code: code.into(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400.
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 404.
    pub fn not_found(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// 503 for internal failures, logged but not shown.
    pub fn unavailable(code: &str, internal: impl std::fmt::Display) -> Self {
        tracing_internal(code, &internal);
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            "the service cannot complete this request now",
        )
    }
}

fn tracing_internal(code: &str, internal: &dyn std::fmt::Display) {
    crate::telemetry::internal(code, internal);
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("urn:cphar:problem:{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "reasonCode": self.code,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response
            .extensions_mut()
            .insert(ReasonCode(self.code.clone()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The HTTP status of a registry refusal code.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "seal_not_found"
        | "lot_not_found"
        | "binding_not_found"
        | "version_unavailable"
        | "token_not_found"
        | "no_policy" => StatusCode::NOT_FOUND,
        "separation_of_duties" => StatusCode::FORBIDDEN,
        "invalid_input" | "bal_requirement_unmet" | "reason_not_allowed" => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        "clock_out_of_tolerance" | "authority_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "invalid_seal_transition"
        | "invalid_binding_transition"
        | "invalid_lot_state"
        | "seal_lot_mismatch"
        | "lot_already_bound"
        | "already_signed_off"
        | "duplicate_device_uid"
        | "clone_suspected"
        | "challenge_used_or_expired"
        | "policy_version_not_newer"
        | "conflict" => StatusCode::CONFLICT,
        // Vendor attestation refusals carry the vendor check's own codes.
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<RegistryError> for Problem {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Refused(r) => Problem::new(status_of(r.code()), r.code(), r.message()),
            RegistryError::Store(StoreError::Conflict(m)) => {
                Problem::new(StatusCode::CONFLICT, "conflict", m)
            }
            RegistryError::Store(StoreError::Refused(m)) => {
                Problem::unavailable("signing_refused", m)
            }
            RegistryError::Store(other) => Problem::unavailable("storage_error", other),
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        RegistryError::Store(e).into()
    }
}
