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
//! The signing key is anything implementing [`SealKey`]: a software [`SigningKey`]
//! ([`SoftwareSeal`], for development and tests) or a key held in a secure element (the
//! `cphar-pkcs11` crate's seal key), which signs the same bytes inside its boundary.
//!
//! On tamper a seal that still can signs a **Binding Revocation Attestation** (seed 002
//! §4.4.1 step 3) before its key is destroyed: [`Seal::revocation_attestation`].

use crate::codes::{Bal, DeviceStatus, RevocationReason};
use crate::domain::{self, STATUS_SIGNATURE_MEMBER};
use crate::message::{ChallengeRequest, ChallengeResponse, MessageError};
use crate::timestamp::Timestamp;
use cphar_crypto::{CryptoError, SigningKey, VerifyingKey};
use serde_json::{Map, Value};

/// A binding private key a seal signs with. Implemented by the software [`SigningKey`] and by
/// keys held in a token; the signature bytes are those of the key's profile (raw 64 bytes for
/// Ed25519, ASN.1 DER for ECDSA P-256).
pub trait SealKey: Send + Sync {
    /// Signs `msg`.
    ///
    /// # Errors
    /// [`CryptoError::Signing`] when the key cannot sign (a destroyed token key among others).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// The public half.
    fn verifying_key(&self) -> VerifyingKey;
}

impl SealKey for SigningKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        SigningKey::sign(self, msg)
    }

    fn verifying_key(&self) -> VerifyingKey {
        SigningKey::verifying_key(self)
    }
}

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

/// A seal answering challenges with the key `K`.
pub struct Seal<K> {
    key: K,
    binding_method: String,
    bal: Bal,
    status: DeviceStatus,
}

/// A seal whose key is a software key: development and tests only.
pub type SoftwareSeal = Seal<SigningKey>;

impl<K: SealKey> Seal<K> {
    /// A seal for `binding_method` at `bal`.
    pub fn new(key: K, binding_method: String, bal: Bal) -> Self {
        Seal {
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
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The binding method id this seal answers for.
    pub fn binding_method(&self) -> &str {
        &self.binding_method
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

/// The `type` member of a Binding Revocation Attestation.
pub const REVOCATION_ATTESTATION_TYPE: &str = "BindingRevocationAttestation";

/// A Binding Revocation Attestation (seed 002 §4.4.1 steps 3 and 5), signed by the binding key
/// over the `binding-revocation` envelope of [`crate::domain`] (payload: the JSON object
/// without `signature`):
///
/// ```json
/// {"type": "BindingRevocationAttestation", "did": "did:web:…:lots:LOT-7",
///  "bindingMethod": "did:web:…#seal-1", "reason": "tamper_detected",
///  "revokedAt": "2026-11-23T10:00:00Z", "finalState": "tampered",
///  "keyZeroization": true, "signature": "<base64url>"}
/// ```
///
/// `keyZeroization: true` says the device destroys its binding key right after signing: this
/// is the last thing the key ever signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationAttestation {
    /// The object DID.
    pub did: String,
    /// The binding method id.
    pub binding_method: String,
    /// The revocation reason (seed 002 §4.4.2).
    pub reason: RevocationReason,
    /// When the device revoked the binding (its clock).
    pub revoked_at: Timestamp,
    /// The device's final operational state reading.
    pub final_state: DeviceStatus,
    /// Whether the key is zeroized right after this attestation.
    pub key_zeroization: bool,
}

/// Why a Binding Revocation Attestation does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RevocationAttestationError {
    /// Not an object with exactly the members above, well typed.
    #[error("not a Binding Revocation Attestation")]
    Malformed,
    /// The signature does not verify under the binding key.
    #[error("the Binding Revocation Attestation signature does not verify")]
    BadSignature,
}

impl RevocationAttestation {
    fn payload(&self) -> Map<String, Value> {
        let mut obj = Map::new();
        obj.insert(
            "type".into(),
            Value::String(REVOCATION_ATTESTATION_TYPE.into()),
        );
        obj.insert("did".into(), Value::String(self.did.clone()));
        obj.insert(
            "bindingMethod".into(),
            Value::String(self.binding_method.clone()),
        );
        obj.insert("reason".into(), Value::String(self.reason.as_str().into()));
        obj.insert(
            "revokedAt".into(),
            Value::String(self.revoked_at.to_string()),
        );
        obj.insert(
            "finalState".into(),
            Value::String(self.final_state.as_str().into()),
        );
        obj.insert("keyZeroization".into(), Value::Bool(self.key_zeroization));
        obj
    }

    /// Reads `value` and checks its signature under `key`.
    ///
    /// # Errors
    /// [`RevocationAttestationError`].
    pub fn verify(value: &Value, key: &VerifyingKey) -> Result<Self, RevocationAttestationError> {
        use RevocationAttestationError::Malformed;
        let obj = value.as_object().ok_or(Malformed)?;
        let text = |name: &str| obj.get(name).and_then(Value::as_str).ok_or(Malformed);
        if obj.len() != 8 || text("type")? != REVOCATION_ATTESTATION_TYPE {
            return Err(Malformed);
        }
        let parsed = RevocationAttestation {
            did: text("did")?.to_owned(),
            binding_method: text("bindingMethod")?.to_owned(),
            reason: text("reason")?.parse().map_err(|_| Malformed)?,
            revoked_at: text("revokedAt")?.parse().map_err(|_| Malformed)?,
            final_state: text("finalState")?.parse().map_err(|_| Malformed)?,
            key_zeroization: obj
                .get("keyZeroization")
                .and_then(Value::as_bool)
                .ok_or(Malformed)?,
        };
        let signature = cphar_crypto::b64::decode(text("signature")?).map_err(|_| Malformed)?;
        let input = domain::signing_input(
            domain::SealContext::BindingRevocation,
            &Value::Object(parsed.payload()),
        )
        .map_err(|_| Malformed)?;
        key.verify(&input, &signature)
            .map_err(|_| RevocationAttestationError::BadSignature)?;
        Ok(parsed)
    }
}

impl<K: SealKey> Seal<K> {
    /// Answers an Enrollment Authority's enrollment challenge (seed 002 §4.2.2 step 3) for
    /// the device `uid`: `{"challenge": <as issued>, "signature": <base64url>}`, the signature
    /// over the `enrollment` envelope of [`crate::domain::enrollment_payload`].
    ///
    /// # Errors
    /// [`SealError::Sign`], [`SealError::Canonical`].
    pub fn enroll(&self, challenge: &Value, uid: &str) -> Result<Value, SealError> {
        let input = domain::signing_input(
            domain::SealContext::Enrollment,
            &domain::enrollment_payload(challenge, uid),
        )?;
        let signature = self.key.sign(&input)?;
        let mut obj = Map::new();
        obj.insert("challenge".into(), challenge.clone());
        obj.insert(
            "signature".into(),
            Value::String(cphar_crypto::b64::encode(&signature)),
        );
        Ok(Value::Object(obj))
    }

    /// Signs a Binding Revocation Attestation for `did` with this seal's binding method,
    /// `reason`, dated `now`, reporting the seal's current status as its final state and the
    /// coming key zeroization. The caller destroys the key afterwards.
    ///
    /// # Errors
    /// [`SealError::Sign`] when the key can no longer sign, [`SealError::Canonical`].
    pub fn revocation_attestation(
        &self,
        did: &str,
        reason: RevocationReason,
        now: Timestamp,
    ) -> Result<Value, SealError> {
        let attestation = RevocationAttestation {
            did: did.to_owned(),
            binding_method: self.binding_method.clone(),
            reason,
            revoked_at: now,
            final_state: self.status,
            key_zeroization: true,
        };
        let mut obj = attestation.payload();
        let input = domain::signing_input(
            domain::SealContext::BindingRevocation,
            &Value::Object(obj.clone()),
        )?;
        let signature = self.key.sign(&input)?;
        obj.insert(
            "signature".into(),
            Value::String(cphar_crypto::b64::encode(&signature)),
        );
        Ok(Value::Object(obj))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use cphar_crypto::Algorithm;

    #[test]
    fn revocation_attestation_round_trip_and_tamper() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let public = key.verifying_key();
        let mut seal = SoftwareSeal::new(key, "did:web:r:lots:L#seal-1".into(), Bal::Bal2);
        seal.set_status(DeviceStatus::Tampered);
        let now: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        let bra = seal
            .revocation_attestation("did:web:r:lots:L", RevocationReason::TamperDetected, now)
            .unwrap();
        let read = RevocationAttestation::verify(&bra, &public).unwrap();
        assert_eq!(read.reason, RevocationReason::TamperDetected);
        assert_eq!(read.final_state, DeviceStatus::Tampered);
        assert!(read.key_zeroization);

        let mut changed = bra.clone();
        changed["reason"] = Value::String("device_replacement".into());
        assert_eq!(
            RevocationAttestation::verify(&changed, &public),
            Err(RevocationAttestationError::BadSignature)
        );
        let mut extra = bra.clone();
        extra["x"] = Value::Bool(true);
        assert_eq!(
            RevocationAttestation::verify(&extra, &public),
            Err(RevocationAttestationError::Malformed)
        );
        let other = SigningKey::generate(Algorithm::Ed25519).unwrap();
        assert_eq!(
            RevocationAttestation::verify(&bra, &other.verifying_key()),
            Err(RevocationAttestationError::BadSignature)
        );
    }
}
