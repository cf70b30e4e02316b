//! Profile C risk acceptance (seed 002 §6.3): the signed acknowledgment without which a
//! symmetric-key (AES-128-CMAC) binding must not be trusted.
//!
//! The seed fixes the contents (accepting party's DID, a statement acknowledging the
//! non-repudiation break, the acceptance time, a signature by the accepting party over JCS of
//! the object) but not member names. CPHAR's object is:
//!
//! ```json
//! {"acceptingParty": "did:…", "bindingMethod": "did:…#seal-1",
//!  "statement": "<RISK_ACCEPTANCE_STATEMENT>", "acceptedAt": "2026-11-23T10:00:00Z",
//!  "signature": "base64url(sign(JCS(object without signature)))"}
//! ```
//!
//! `bindingMethod` scopes the acceptance to one binding so that it cannot be copied onto
//! another; the statement must be exactly [`RISK_ACCEPTANCE_STATEMENT`] so that what was
//! acknowledged is unambiguous. The accepting party must be one the verifier trusts (it is
//! given its public key): a self-asserted acceptance is worthless.

use crate::fields::{self, FieldError};
use crate::signed;
use crate::timestamp::Timestamp;
use cphar_crypto::VerifyingKey;
use serde_json::{Map, Value};
use std::collections::HashMap;
use time::Duration;

/// The statement a profile C risk acceptance must carry, word for word.
pub const RISK_ACCEPTANCE_STATEMENT: &str = "The accepting party acknowledges that profile C \
(AES-128-CMAC) bindings provide no non-repudiation: the enrollment authority shares the \
symmetric key and can impersonate the bound device.";

/// Why a risk acceptance is not valid (all map to `profile_c_risk_not_accepted`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RiskAcceptanceError {
    /// The binding method has no `profileCRiskAcceptance`.
    #[error("no profileCRiskAcceptance")]
    Missing,
    /// A member is missing or malformed.
    #[error("risk acceptance {0}")]
    Field(#[from] FieldError),
    /// The statement is not the required acknowledgment.
    #[error("statement does not acknowledge the non-repudiation break")]
    WrongStatement,
    /// The acceptance is for another binding method.
    #[error("acceptance is for another binding method")]
    WrongBinding,
    /// The accepting party is not trusted by this verifier.
    #[error("accepting party {0} is not trusted")]
    UntrustedParty(String),
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// Accepted in the future.
    #[error("acceptedAt is in the future")]
    FromFuture,
}

/// Checks a profile C binding's risk acceptance.
pub fn validate(
    acceptance: Option<&Value>,
    method_id: &str,
    trusted: &HashMap<String, VerifyingKey>,
    now: Timestamp,
    skew: Duration,
) -> Result<(), RiskAcceptanceError> {
    let value = acceptance.ok_or(RiskAcceptanceError::Missing)?;
    let obj: &Map<String, Value> = fields::object(value)?;
    let party = fields::req_did(obj, "acceptingParty")?;
    let binding = fields::req_str(obj, "bindingMethod")?;
    let statement = fields::req_str(obj, "statement")?;
    let accepted_at = fields::req_time(obj, "acceptedAt")?;
    if statement != RISK_ACCEPTANCE_STATEMENT {
        return Err(RiskAcceptanceError::WrongStatement);
    }
    if binding != method_id {
        return Err(RiskAcceptanceError::WrongBinding);
    }
    let key = trusted
        .get(party)
        .ok_or_else(|| RiskAcceptanceError::UntrustedParty(party.to_owned()))?;
    let (input, sig) = signed::open(obj).map_err(|_| RiskAcceptanceError::BadSignature)?;
    key.verify(&input, &sig)
        .map_err(|_| RiskAcceptanceError::BadSignature)?;
    if now
        .checked_add(skew)
        .is_none_or(|limit| accepted_at > limit)
    {
        return Err(RiskAcceptanceError::FromFuture);
    }
    Ok(())
}
