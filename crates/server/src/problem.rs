//! RFC 9457 problem details: every error answer of the API carries a stable reason code, and
//! nothing internal (no database message, no stack) reaches the client.
//!
//! Codes are typed to the edge: a problem is built from a [`Code`], never from a string, and
//! each code's HTTP status is decided in one exhaustive match ([`ApiCode::status`] for the
//! server's own codes, [`registry_status`] for the registry's refusals), so a new code cannot
//! be added without deciding its status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cphar_registry::{RefusalCode, RegistryError, StoreError};
use serde::Serialize;

/// The reason code of an error answer, attached to the response for the request log.
#[derive(Debug, Clone)]
pub struct ReasonCode(pub String);

cphar_protocol::wire_enum! {
    /// The server's own reason codes (the registry's, the module's and the
    /// proof checker's come from their crates' enums, see [`Code`]).
    ApiCode {
        /// No valid API token (missing, malformed, unknown, revoked, expired).
        Unauthenticated => "unauthenticated",
        /// The token's role may not call this operation.
        RoleNotAllowed => "role_not_allowed",
        /// Too many requests for this credential or verifier DID.
        RateLimited => "rate_limited",
        /// The body is not I-JSON (or not UTF-8).
        MalformedJson => "malformed_json",
        /// The body or a value in it is not what the operation takes.
        InvalidInput => "invalid_input",
        /// The query string does not parse.
        InvalidQuery => "invalid_query",
        /// A path parameter does not parse.
        InvalidPath => "invalid_path",
        /// The body has another content type than the operation takes.
        UnsupportedMediaType => "unsupported_media_type",
        /// The request body could not be read (closed early or too slow).
        BodyUnreadable => "body_unreadable",
        /// The body exceeds the configured limit.
        BodyTooLarge => "body_too_large",
        /// No such endpoint.
        NoSuchRoute => "no_such_route",
        /// The endpoint exists but not for this method.
        MethodNotAllowed => "method_not_allowed",
        /// The audit log has no entry with this sequence number.
        NoSuchEntry => "no_such_entry",
        /// No policy is in force.
        NoPolicy => "no_policy",
        /// The policy document is not a valid policy.
        InvalidPolicy => "invalid_policy",
        /// The caller's verifier token is bound to no verifier DID.
        VerifierDidUnbound => "verifier_did_unbound",
        /// No trusted time: the clock is out of tolerance.
        ClockOutOfTolerance => "clock_out_of_tolerance",
        /// The registry has no identity key to sign checkpoints with.
        IdentityUnavailable => "identity_unavailable",
        /// A checkpoint could not be signed.
        CheckpointUnavailable => "checkpoint_unavailable",
        /// The stored audit log is not in sequence.
        AuditLogInconsistent => "audit_log_inconsistent",
        /// The CSPRNG failed.
        RngFailure => "rng_failure",
        /// A key could not be generated.
        KeygenFailed => "keygen_failed",
        /// A key file could not be written.
        KeyStorage => "key_storage",
        /// The module refuses to sign (error state).
        SigningRefused => "signing_refused",
        /// The database failed.
        StorageError => "storage_error",
        /// A token lifetime of zero or beyond the configured maximum.
        InvalidTokenLifetime => "invalid_token_lifetime",
        /// An audit record waits for a failed write to be retried: not ready.
        AuditWritePending => "audit_write_pending",
        /// The server is stopping: background work was cancelled.
        ShuttingDown => "shutting_down",
    }
}

impl ApiCode {
    /// The HTTP status of this code.
    pub const fn status(self) -> StatusCode {
        match self {
            ApiCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiCode::RoleNotAllowed | ApiCode::VerifierDidUnbound => StatusCode::FORBIDDEN,
            ApiCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiCode::MalformedJson
            | ApiCode::InvalidQuery
            | ApiCode::InvalidPath
            | ApiCode::BodyUnreadable => StatusCode::BAD_REQUEST,
            ApiCode::InvalidInput | ApiCode::InvalidPolicy | ApiCode::InvalidTokenLifetime => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiCode::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiCode::NoSuchRoute | ApiCode::NoSuchEntry | ApiCode::NoPolicy => {
                StatusCode::NOT_FOUND
            }
            ApiCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiCode::ClockOutOfTolerance
            | ApiCode::IdentityUnavailable
            | ApiCode::CheckpointUnavailable
            | ApiCode::AuditLogInconsistent
            | ApiCode::RngFailure
            | ApiCode::KeygenFailed
            | ApiCode::KeyStorage
            | ApiCode::SigningRefused
            | ApiCode::StorageError
            | ApiCode::AuditWritePending
            | ApiCode::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The HTTP status of a registry refusal.
pub const fn registry_status(code: RefusalCode) -> StatusCode {
    match code {
        RefusalCode::SealNotFound
        | RefusalCode::ReportNotFound
        | RefusalCode::LotNotFound
        | RefusalCode::BindingNotFound
        | RefusalCode::VersionUnavailable
        | RefusalCode::StatusListNotFound
        | RefusalCode::TokenNotFound
        | RefusalCode::BatchNotFound => StatusCode::NOT_FOUND,
        RefusalCode::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        RefusalCode::SeparationOfDuties => StatusCode::FORBIDDEN,
        RefusalCode::InvalidInput
        | RefusalCode::BalRequirementUnmet
        | RefusalCode::ReasonNotAllowed
        | RefusalCode::InvalidLotId
        | RefusalCode::InvalidSealUid
        | RefusalCode::InvalidSubject
        | RefusalCode::VendorAttestationRefused
        | RefusalCode::BalNotCertified
        | RefusalCode::EnrollmentProofMissing
        | RefusalCode::EnrollmentChallengeInvalid
        | RefusalCode::EnrollmentChallengeExpired
        | RefusalCode::EnrollmentSignatureInvalid
        | RefusalCode::DeviceCertificateRevoked
        | RefusalCode::CrlStale => StatusCode::UNPROCESSABLE_ENTITY,
        RefusalCode::ClockOutOfTolerance
        | RefusalCode::AuthorityUnavailable
        | RefusalCode::ReportKeyUnavailable
        | RefusalCode::ReportTimestampUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        RefusalCode::InvalidSealTransition
        | RefusalCode::InvalidBindingTransition
        | RefusalCode::InvalidLotState
        | RefusalCode::SealLotMismatch
        | RefusalCode::LotAlreadyBound
        | RefusalCode::AlreadySignedOff
        | RefusalCode::DuplicateDeviceUid
        | RefusalCode::CloneSuspected
        | RefusalCode::ChallengeUsedOrExpired
        | RefusalCode::PolicyVersionNotNewer
        | RefusalCode::ReportTooSoon
        | RefusalCode::ReportBuildFailed
        | RefusalCode::Conflict => StatusCode::CONFLICT,
    }
}

/// The reason code of a problem, typed by where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The server's own.
    Api(ApiCode),
    /// A registry refusal; `detail` is the vendor attestation check's own code when the
    /// refusal carries one (it is then the answer's `reasonCode`).
    Registry {
        /// The refusal category (decides the status).
        kind: RefusalCode,
        /// The vendor check's code, for vendor attestation refusals.
        detail: Option<&'static str>,
    },
    /// The cryptographic module's error state (`cphar_integrity::ModuleError::reason_code`):
    /// always 503.
    Module(&'static str),
    /// A proof that cannot be made for these parameters (`cphar_audit::transparency`): 400.
    Proof(&'static str),
}

impl Code {
    /// The stable text of the code (`reasonCode`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Api(c) => c.as_str(),
            Code::Registry { kind, detail } => detail.unwrap_or(kind.as_str()),
            Code::Module(c) | Code::Proof(c) => c,
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Code::Api(c) => c.status(),
            Code::Registry { kind, .. } => registry_status(kind),
            Code::Module(_) => StatusCode::SERVICE_UNAVAILABLE,
            Code::Proof(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<ApiCode> for Code {
    fn from(c: ApiCode) -> Self {
        Code::Api(c)
    }
}

impl From<RefusalCode> for Code {
    fn from(kind: RefusalCode) -> Self {
        Code::Registry { kind, detail: None }
    }
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Stable reason code (it decides the status).
    pub code: Code,
    /// Explanation for people.
    pub detail: String,
    /// `Retry-After` seconds (429, 503).
    pub retry_after: Option<u64>,
}

/// The body of a problem answer (RFC 9457 with the `reasonCode` extension).
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Problem")]
#[serde(rename_all = "camelCase")]
pub struct ProblemBody {
    /// `urn:cphar:problem:<reasonCode>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// Explanation for people.
    pub detail: String,
    /// The stable reason code.
    pub reason_code: String,
}

impl Problem {
    /// A problem with `code` (which decides the status) and `detail`.
    pub fn new(code: impl Into<Code>, detail: impl Into<String>) -> Self {
        Problem {
            code: code.into(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// An internal failure (`code` should be a 503 one): logged, but the client only learns
    /// the code.
    pub fn unavailable(code: ApiCode, internal: impl std::fmt::Display) -> Self {
        crate::telemetry::internal(code.as_str(), &internal);
        Self::new(code, "the service cannot complete this request now")
    }

    /// The answer's body.
    pub fn body(&self) -> ProblemBody {
        let status = self.status();
        ProblemBody {
            kind: format!("urn:cphar:problem:{}", self.code.as_str()),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            detail: self.detail.clone(),
            reason_code: self.code.as_str().to_owned(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&self.body()).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        response
            .extensions_mut()
            .insert(ReasonCode(self.code.as_str().to_owned()));
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

impl From<RegistryError> for Problem {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Refused(r) => {
                let detail = (r.code() != r.kind().as_str()).then(|| r.code());
                Problem::new(
                    Code::Registry {
                        kind: r.kind(),
                        detail,
                    },
                    r.message(),
                )
            }
            // The database's own message (constraint names, values) stays in the log.
            RegistryError::Store(StoreError::Conflict(m)) => {
                crate::telemetry::internal(RefusalCode::Conflict.as_str(), &m);
                Problem::new(
                    RefusalCode::Conflict,
                    "the record changed concurrently or already exists; nothing was written",
                )
            }
            RegistryError::Store(StoreError::Refused(m)) => {
                Problem::unavailable(ApiCode::SigningRefused, m)
            }
            RegistryError::Store(other) => Problem::unavailable(ApiCode::StorageError, other),
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        RegistryError::Store(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_a_stable_text() {
        for code in ApiCode::ALL {
            let p = Problem::new(*code, "x");
            let body = p.body();
            assert_eq!(body.reason_code, code.as_str());
            assert_eq!(body.status, code.status().as_u16());
            assert!(body.status >= 400, "{code:?}");
        }
        for kind in RefusalCode::ALL {
            assert!(registry_status(*kind).as_u16() >= 400);
        }
    }

    #[test]
    fn a_conflict_does_not_carry_the_database_message() {
        let p: Problem = StoreError::Conflict("UNIQUE constraint failed: seals.uid".into()).into();
        assert_eq!(p.status(), StatusCode::CONFLICT);
        assert_eq!(p.code.as_str(), "conflict");
        assert!(!p.detail.contains("UNIQUE"), "{}", p.detail);
    }
}
