//! Proximity-Bound Authenticated Channel: the PVS attestation of Appendix C.3 step 12 and its
//! validation (verification procedure step 12).
//!
//! The verifier cannot decrypt the PBAC-blinded nonce itself; it trusts a Proximity Verifier
//! Service whose public key it was given, and compares the attested `decryptedNonce` with its
//! own nonce at step 13.

use crate::did::BindingMethod;
use crate::fields::{self, FieldError};
use crate::signed;
use crate::timestamp::Timestamp;
use cphar_crypto::VerifyingKey;
use serde_json::{Map, Value};
use std::collections::HashMap;
use time::Duration;

/// Why a PVS attestation was not accepted (all map to `pbac_validation_failed`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PbacError {
    /// `pbacApplied` is true but there is no `pbacSignature`.
    #[error("pbacApplied is true but pbacSignature is absent")]
    Missing,
    /// A member of the attestation is missing or malformed.
    #[error("PVS attestation {0}")]
    Field(#[from] FieldError),
    /// The binding method designates no PVS, or another one.
    #[error("the attestation's PVS is not the one designated by the binding method")]
    PvsNotDesignated,
    /// The verifier holds no key for this PVS.
    #[error("no trusted key for PVS {0}")]
    PvsKeyUnknown(String),
    /// The signature is missing, badly encoded, or does not verify.
    #[error("PVS signature does not verify")]
    BadSignature,
    /// The attestation is about another device key.
    #[error("deviceJwkThumbprint is not the binding method's key")]
    WrongDevice,
    /// The latency is not within the bound, or the PVS says it is not.
    #[error("latency outside the transport bound")]
    LatencyExceeded,
    /// `verifiedAt` is before the challenge or in the future.
    #[error("verifiedAt outside the challenge's window")]
    Stale,
}

impl PbacError {
    /// Stable machine-readable code.
    pub const fn code(&self) -> &'static str {
        match self {
            PbacError::Missing => "pbac_signature_missing",
            PbacError::Field(_) => "pbac_attestation_malformed",
            PbacError::PvsNotDesignated => "pvs_not_designated",
            PbacError::PvsKeyUnknown(_) => "pvs_key_unknown",
            PbacError::BadSignature => "pvs_signature_invalid",
            PbacError::WrongDevice => "pbac_wrong_device",
            PbacError::LatencyExceeded => "pbac_latency_exceeded",
            PbacError::Stale => "pbac_attestation_stale",
        }
    }
}

/// A PVS attestation that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPbacAttestation {
    /// The attesting PVS.
    pub pvs_did: String,
    /// The nonce the PVS decrypted (compared with the challenge nonce at step 13).
    pub decrypted_nonce: Vec<u8>,
    /// Measured latency.
    pub latency_ms: f64,
    /// The attestation as received (recorded in the audit event).
    pub raw: Map<String, Value>,
}

/// What step 12 needs besides the attestation.
pub struct PbacContext<'a> {
    /// The selected binding method.
    pub method: &'a BindingMethod,
    /// PVS public keys the verifier trusts, by PVS DID.
    pub pvs_keys: &'a HashMap<String, VerifyingKey>,
    /// The challenge's timestamp.
    pub challenge_time: Timestamp,
    /// Verification time.
    pub now: Timestamp,
    /// Skew tolerance.
    pub skew: Duration,
}

/// Validates a PVS attestation (Appendix C.3 object, signed over JCS without `signature`).
pub fn validate(
    attestation: Option<&Map<String, Value>>,
    ctx: &PbacContext<'_>,
) -> Result<ValidPbacAttestation, PbacError> {
    let obj = attestation.ok_or(PbacError::Missing)?;
    let pvs_did = fields::req_did(obj, "pvsDid")?;
    let thumbprint = fields::req_str(obj, "deviceJwkThumbprint")?;
    let decrypted_nonce = fields::req_b64(obj, "decryptedNonce")?;
    let latency_ms = fields::req_f64(obj, "latencyMs")?;
    let latency_bound_ms = fields::req_f64(obj, "latencyBoundMs")?;
    let latency_valid = fields::req_bool(obj, "latencyValid")?;
    let verified_at = fields::req_time(obj, "verifiedAt")?;

    let designated = ctx.method.pbac.as_ref().map(|p| p.pvs_did.as_str());
    if designated != Some(pvs_did) {
        return Err(PbacError::PvsNotDesignated);
    }
    let key = ctx
        .pvs_keys
        .get(pvs_did)
        .ok_or_else(|| PbacError::PvsKeyUnknown(pvs_did.to_owned()))?;
    let (input, sig) = signed::open(obj).map_err(|_| PbacError::BadSignature)?;
    key.verify(&input, &sig)
        .map_err(|_| PbacError::BadSignature)?;

    let expected = ctx
        .method
        .jwk
        .thumbprint_urn()
        .map_err(|_| PbacError::WrongDevice)?;
    if thumbprint != expected {
        return Err(PbacError::WrongDevice);
    }
    if !latency_valid || latency_ms < 0.0 || latency_ms > latency_bound_ms {
        return Err(PbacError::LatencyExceeded);
    }
    let earliest = ctx.challenge_time.checked_add(-ctx.skew);
    let latest = ctx.now.checked_add(ctx.skew);
    if earliest.is_none_or(|e| verified_at < e) || latest.is_none_or(|l| verified_at > l) {
        return Err(PbacError::Stale);
    }
    Ok(ValidPbacAttestation {
        pvs_did: pvs_did.to_owned(),
        decrypted_nonce,
        latency_ms,
        raw: obj.clone(),
    })
}
