//! The device side of challenge-response: a software seal that answers a ChallengeRequest by
//! signing `JCS(request as received)` with its binding key (seed 002 §4.3.2–4.3.3).
//!
//! It refuses requests with members outside seed 002 §4.3.1
//! ([`crate::message::REQUEST_MEMBERS`]): the seal's key must never sign bytes that another
//! message type could be read from (`docs/protocol-extensions.md`). Besides the seed's
//! signature it adds the CPHAR authenticated status (`statusSignature`): a second signature
//! by the binding key over the device-status envelope of [`crate::domain`], so that
//! `deviceStatus` cannot be removed or changed in transit. Verifiers of methods that do not
//! advertise it ignore the member.
//!
//! For development and tests; a hardware seal does the same inside its secure element.

use crate::codes::{Bal, DeviceStatus};
use crate::domain::{self, STATUS_SIGNATURE_MEMBER};
use crate::message::{ChallengeRequest, ChallengeResponse, MessageError};
use crate::timestamp::Timestamp;
use cphar_crypto::SigningKey;
use serde_json::{Map, Value};

/// Why a seal could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The signing operation failed.
    #[error("signing failed: {0}")]
    Sign(#[from] cphar_crypto::CryptoError),
    /// The response could not be assembled.
    #[error("{0}")]
    Message(#[from] MessageError),
    /// The request carries a member seed 002 §4.3.1 does not define: not signed.
    #[error("request member '{0}' is not a ChallengeRequest field; not signed")]
    UnknownRequestMember(String),
    /// The status envelope could not be canonicalized.
    #[error("cannot canonicalize the status envelope: {0}")]
    Canonical(#[from] cphar_jcs::CanonError),
}

/// A seal answering challenges with a software-held key.
pub struct SoftwareSeal {
    key: SigningKey,
    binding_method: String,
    bal: Bal,
    status: DeviceStatus,
}

impl SoftwareSeal {
    /// A seal for `binding_method` at `bal`.
    pub fn new(key: SigningKey, binding_method: String, bal: Bal) -> Self {
        SoftwareSeal {
            key,
            binding_method,
            bal,
            status: DeviceStatus::Operational,
        }
    }

    /// Sets the status this seal reports (`deviceStatus`).
    pub fn set_status(&mut self, status: DeviceStatus) {
        self.status = status;
    }

    /// The binding key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Answers `request`, dating the response with the device clock reading `now`.
    pub fn respond(
        &self,
        request: &ChallengeRequest,
        now: Timestamp,
    ) -> Result<ChallengeResponse, SealError> {
        if let Some(member) = request.first_unknown_member() {
            return Err(SealError::UnknownRequestMember(member.to_owned()));
        }
        let signature = self.key.sign(request.canonical_bytes())?;
        let status_input = domain::status_signing_input(
            request.did(),
            &self.binding_method,
            request.nonce(),
            self.status,
        )?;
        let status_signature = self.key.sign(&status_input)?;
        let mut obj = Map::new();
        obj.insert("did".into(), Value::String(request.did().to_owned()));
        obj.insert("nonce".into(), Value::String(request.nonce().to_owned()));
        obj.insert(
            "signature".into(),
            Value::String(cphar_crypto::b64::encode(&signature)),
        );
        obj.insert(
            "bindingMethod".into(),
            Value::String(self.binding_method.clone()),
        );
        obj.insert("timestamp".into(), Value::String(now.to_string()));
        obj.insert("bal".into(), Value::String(self.bal.as_str().to_owned()));
        if self.status != DeviceStatus::Operational {
            obj.insert(
                "deviceStatus".into(),
                Value::String(self.status.as_str().to_owned()),
            );
        }
        obj.insert("pbacApplied".into(), Value::Bool(false));
        obj.insert(
            STATUS_SIGNATURE_MEMBER.into(),
            Value::String(cphar_crypto::b64::encode(&status_signature)),
        );
        Ok(ChallengeResponse::from_value(Value::Object(obj))?)
    }
}
