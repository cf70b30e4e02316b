//! Refusals: the registry's answer when a command may not be applied.

use crate::codes::RefusalCode;
use std::fmt;

/// A refused command: a stable code and a sentence for people. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    code: RefusalCode,
    /// The vendor check's own reason code when `code` is not enough (attestation failures).
    detail_code: Option<&'static str>,
    message: String,
}

impl Refusal {
    /// A refusal with `code` and an explanation.
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            detail_code: None,
            message: message.into(),
        }
    }

    /// A refusal from the vendor attestation check, keeping that check's reason code.
    pub fn attestation(err: &cphar_vendor::AttestationError) -> Self {
        Refusal {
            code: RefusalCode::VendorAttestationRefused,
            detail_code: Some(err.reason_code()),
            message: format!("vendor attestation refused: {err}"),
        }
    }

    /// A report that could not be built, keeping `cphar-report`'s build code.
    pub fn report_build(err: &cphar_report::BuildError) -> Self {
        Refusal {
            code: RefusalCode::ReportBuildFailed,
            detail_code: Some(err.code()),
            message: format!("the reserve report cannot be built: {err}"),
        }
    }

    /// The stable reason code: the attestation check's code for attestation failures, else
    /// the registry's.
    pub fn code(&self) -> &'static str {
        self.detail_code.unwrap_or(self.code.as_str())
    }

    /// The registry-level refusal category.
    pub fn kind(&self) -> RefusalCode {
        self.code
    }

    /// The explanation.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for Refusal {}

/// Shorthand for an invalid-input refusal.
pub(crate) fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::InvalidInput, message)
}
