//! ChallengeRequest and ChallengeResponse (seed 002 §4.3.1–§4.3.2).
//!
//! Both are parsed strictly (I-JSON, PROTOCOL.md) and keep the object exactly as received:
//! unknown members stay in, because the seal's signature covers `JCS(request as received)`.
//! A verifier accepts them; the seal does not sign them ([`REQUEST_MEMBERS`], domain
//! separation in [`crate::domain`]).
//! The canonical bytes of a request are computed once, when it is parsed or issued, so that
//! verification does not pay for canonicalization again.

use crate::codes::{Bal, DeviceStatus};
use crate::fields::{self, FieldError};
use crate::timestamp::Timestamp;
use serde_json::{Map, Value};

/// Minimum nonce length in bytes (≥ 256 bits, seed 002 §4.3.1).
pub const MIN_NONCE_BYTES: usize = 32;

/// The members a ChallengeRequest may carry (seed 002 §4.3.1; CPHAR documents no request
/// extension). The seal refuses to sign a request with any other member, so that its
/// signature over `JCS(request)` cannot stand for any other message.
pub const REQUEST_MEMBERS: &[&str] = &[
    "did",
    "didVersion",
    "nonce",
    "timestamp",
    "verifier",
    "minBal",
    "requestPbac",
];

/// Why bytes are not a usable protocol message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessageError {
    /// Not strict I-JSON.
    #[error("not I-JSON: {0}")]
    Json(#[from] cphar_jcs::ParseError),
    /// The value cannot be canonicalized (only possible for values built in code).
    #[error("cannot canonicalize: {0}")]
    Canonical(#[from] cphar_jcs::CanonError),
    /// A member is missing, of the wrong type, or invalid.
    #[error("{0}")]
    Field(#[from] FieldError),
    /// The nonce decodes to fewer than 32 bytes.
    #[error("nonce is shorter than 32 bytes")]
    ShortNonce,
}

/// A verifier's challenge, as received (or as issued).
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeRequest {
    raw: Value,
    canonical: Vec<u8>,
    did: String,
    did_version: Option<String>,
    nonce: String,
    nonce_bytes: Vec<u8>,
    timestamp: Timestamp,
    verifier: String,
    min_bal: Option<Bal>,
    request_pbac: bool,
}

/// What a verifier chooses when it issues a challenge.
#[derive(Debug, Clone)]
pub struct ChallengeParams {
    /// The object DID being challenged.
    pub did: String,
    /// The DID document version the verifier resolved, if it pins one.
    pub did_version: Option<String>,
    /// Fresh CSPRNG bytes (at least 32).
    pub nonce: Vec<u8>,
    /// The verifier's current time.
    pub timestamp: Timestamp,
    /// The verifier's DID.
    pub verifier: String,
    /// Minimum acceptable BAL.
    pub min_bal: Option<Bal>,
    /// Whether PBAC is requested.
    pub request_pbac: Option<bool>,
}

impl ChallengeRequest {
    /// Parses received bytes (strict I-JSON).
    pub fn from_json(bytes: &[u8]) -> Result<Self, MessageError> {
        Self::from_value(cphar_jcs::parse(bytes)?)
    }

    /// Validates an already-parsed value. The value must come from the strict parser (or from
    /// code): `serde_json`'s own parser silently resolves duplicate member names.
    pub fn from_value(raw: Value) -> Result<Self, MessageError> {
        let canonical = cphar_jcs::canonicalize(&raw)?;
        let obj = fields::object(&raw)?;
        let did = fields::req_did(obj, "did")?.to_owned();
        let nonce = fields::req_str(obj, "nonce")?.to_owned();
        let nonce_bytes = fields::req_b64(obj, "nonce")?;
        if nonce_bytes.len() < MIN_NONCE_BYTES {
            return Err(MessageError::ShortNonce);
        }
        let timestamp = fields::req_time(obj, "timestamp")?;
        let verifier = fields::req_did(obj, "verifier")?.to_owned();
        let did_version = fields::opt_str(obj, "didVersion")?.map(str::to_owned);
        let min_bal = fields::opt_code::<Bal>(obj, "minBal")?;
        let request_pbac = fields::opt_bool(obj, "requestPbac")?.unwrap_or(false);
        Ok(ChallengeRequest {
            canonical,
            did,
            did_version,
            nonce,
            nonce_bytes,
            timestamp,
            verifier,
            min_bal,
            request_pbac,
            raw,
        })
    }

    /// Builds a new challenge from a verifier's choices.
    pub fn issue(params: ChallengeParams) -> Result<Self, MessageError> {
        let mut obj = Map::new();
        obj.insert("did".into(), Value::String(params.did));
        if let Some(v) = params.did_version {
            obj.insert("didVersion".into(), Value::String(v));
        }
        obj.insert(
            "nonce".into(),
            Value::String(cphar_crypto::b64::encode(&params.nonce)),
        );
        obj.insert(
            "timestamp".into(),
            Value::String(params.timestamp.to_string()),
        );
        obj.insert("verifier".into(), Value::String(params.verifier));
        if let Some(b) = params.min_bal {
            obj.insert("minBal".into(), Value::String(b.as_str().into()));
        }
        if let Some(p) = params.request_pbac {
            obj.insert("requestPbac".into(), Value::Bool(p));
        }
        Self::from_value(Value::Object(obj))
    }

    /// The message as received, unknown members included.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
    /// The first member that is not one of [`REQUEST_MEMBERS`], if any.
    pub fn first_unknown_member(&self) -> Option<&str> {
        self.raw
            .as_object()
            .and_then(|obj| obj.keys().find(|k| !REQUEST_MEMBERS.contains(&k.as_str())))
            .map(String::as_str)
    }
    /// `JCS(request as received)`: the bytes the seal signs.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }
    /// The challenged object's DID.
    pub fn did(&self) -> &str {
        &self.did
    }
    /// The pinned DID document version, if any.
    pub fn did_version(&self) -> Option<&str> {
        self.did_version.as_deref()
    }
    /// The nonce exactly as written (unpadded base64url).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
    /// The decoded nonce.
    pub fn nonce_bytes(&self) -> &[u8] {
        &self.nonce_bytes
    }
    /// The verifier's time at issue.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }
    /// The verifier's DID.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }
    /// The minimum BAL, if the verifier set one.
    pub fn min_bal(&self) -> Option<Bal> {
        self.min_bal
    }
    /// Whether PBAC was requested (absent means false).
    pub fn request_pbac(&self) -> bool {
        self.request_pbac
    }
}

/// A binding device's answer, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeResponse {
    raw: Value,
    did: String,
    nonce: String,
    signature: String,
    binding_method: String,
    timestamp: Option<Timestamp>,
    bal: Bal,
    device_status: DeviceStatus,
    continuous_attestation: Option<Map<String, Value>>,
    pbac_applied: Option<bool>,
    pbac_signature: Option<Map<String, Value>>,
    status_signature: Option<String>,
}

impl ChallengeResponse {
    /// Parses received bytes (strict I-JSON). Only the members REQUIRED at every BAL are
    /// required here; BAL-4's are checked once the binding method is known.
    pub fn from_json(bytes: &[u8]) -> Result<Self, MessageError> {
        Self::from_value(cphar_jcs::parse(bytes)?)
    }

    /// Validates an already-parsed value (see [`ChallengeRequest::from_value`]).
    pub fn from_value(raw: Value) -> Result<Self, MessageError> {
        let obj = fields::object(&raw)?;
        let did = fields::req_str(obj, "did")?.to_owned();
        let nonce = fields::req_str(obj, "nonce")?.to_owned();
        // The signature's encoding is judged by step 18 (invalid_signature), not here.
        let signature = fields::req_str(obj, "signature")?.to_owned();
        let binding_method = fields::req_str(obj, "bindingMethod")?.to_owned();
        let bal = fields::req_code::<Bal>(obj, "bal")?;
        let timestamp = fields::opt_time(obj, "timestamp")?;
        let device_status = fields::opt_code::<DeviceStatus>(obj, "deviceStatus")?
            .unwrap_or(DeviceStatus::Operational);
        let continuous_attestation = fields::opt_object(obj, "continuousAttestation")?.cloned();
        let pbac_applied = fields::opt_bool(obj, "pbacApplied")?;
        let pbac_signature = fields::opt_object(obj, "pbacSignature")?.cloned();
        // CPHAR extension; its encoding is judged with the signature, not here.
        let status_signature =
            fields::opt_str(obj, crate::domain::STATUS_SIGNATURE_MEMBER)?.map(str::to_owned);
        Ok(ChallengeResponse {
            did,
            nonce,
            signature,
            binding_method,
            timestamp,
            bal,
            device_status,
            continuous_attestation,
            pbac_applied,
            pbac_signature,
            status_signature,
            raw,
        })
    }

    /// The message as received.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
    /// The DID the device answers for.
    pub fn did(&self) -> &str {
        &self.did
    }
    /// The nonce member as written (the PBAC-blinded nonce when PBAC was applied).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }
    /// The signature member as written (base64url text, decoded at step 18).
    pub fn signature(&self) -> &str {
        &self.signature
    }
    /// The verification method the device says it used.
    pub fn binding_method(&self) -> &str {
        &self.binding_method
    }
    /// The device's timestamp, if it sent one.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }
    /// The BAL the device claims (never trusted over the DID document's).
    pub fn bal(&self) -> Bal {
        self.bal
    }
    /// The device's self-reported status (absent means operational).
    pub fn device_status(&self) -> DeviceStatus {
        self.device_status
    }
    /// The BAL-4 continuous attestation object, if present.
    pub fn continuous_attestation(&self) -> Option<&Map<String, Value>> {
        self.continuous_attestation.as_ref()
    }
    /// `pbacApplied`, if present.
    pub fn pbac_applied(&self) -> Option<bool> {
        self.pbac_applied
    }
    /// The PVS attestation, if present.
    pub fn pbac_signature(&self) -> Option<&Map<String, Value>> {
        self.pbac_signature.as_ref()
    }
    /// The authenticated device status signature (`statusSignature`, CPHAR extension), as
    /// written.
    pub fn status_signature(&self) -> Option<&str> {
        self.status_signature.as_deref()
    }
}
