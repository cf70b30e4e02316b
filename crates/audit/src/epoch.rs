//! `audit_key_epoch` entries. Each process start generates a fresh P-384 audit key (never
//! written anywhere) and opens an epoch with an entry that carries:
//!
//! ```text
//! eventData = { "auditKey": JWK, "identityKey": JWK, "selfTests": {...},
//!               "binaryMeasurement": "sha384:…" | null, "startedAt": RFC 3339,
//!               "identitySignature": base64url(Ed25519 over JCS(eventData without it)) }
//! ```
//! The entry itself is signed by the new audit key, so the epoch entry proves possession of
//! the key it introduces, and the identity signature ties the key to the registry.

use crate::entry::{AuditEntry, AuditKey, EntrySigner, SealError, seal_with};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::Timestamp;
use serde_json::{Map, Value};

/// The event type of epoch entries.
pub const EPOCH_EVENT_TYPE: &str = "audit_key_epoch";

/// What an epoch entry states about the process that opens it.
#[derive(Debug, Clone)]
pub struct EpochStart {
    /// Self-test report (JSON object).
    pub self_tests: Value,
    /// `sha384:<hex>` of the running binary, when measured.
    pub binary_measurement: Option<String>,
    /// Trusted time of the start.
    pub started_at: Timestamp,
}

/// An epoch as a verifier sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochInfo {
    /// Sequence number of the epoch entry.
    pub sequence_number: u64,
    /// RFC 7638 thumbprint of its audit key.
    pub audit_key_thumbprint: String,
    /// RFC 7638 thumbprint of the identity key that countersigned it.
    pub identity_key_thumbprint: String,
    /// When the epoch started.
    pub started_at: String,
}

/// The epoch entry's `eventData`, countersigned by `identity`.
pub fn epoch_event_data(
    audit_key: &dyn AuditKey,
    identity: &SigningKey,
    start: &EpochStart,
) -> Result<Map<String, Value>, SealError> {
    let mut data = Map::new();
    data.insert(
        "auditKey".into(),
        audit_key.verifying_key().to_jwk().to_json(),
    );
    data.insert(
        "identityKey".into(),
        identity.verifying_key().to_jwk().to_json(),
    );
    data.insert("selfTests".into(), start.self_tests.clone());
    data.insert(
        "binaryMeasurement".into(),
        start
            .binary_measurement
            .clone()
            .map_or(Value::Null, Value::String),
    );
    data.insert(
        "startedAt".into(),
        Value::String(start.started_at.to_string()),
    );
    let input = identity_signing_input(&data)?;
    let signature = identity.sign(&input)?;
    data.insert(
        "identitySignature".into(),
        Value::String(cphar_crypto::b64::encode(&signature)),
    );
    Ok(data)
}

/// JCS of the epoch data without `identitySignature`.
pub(crate) fn identity_signing_input(data: &Map<String, Value>) -> Result<Vec<u8>, SealError> {
    let mut unsigned = data.clone();
    unsigned.shift_remove("identitySignature");
    cphar_jcs::canonicalize(&Value::Object(unsigned))
        .map_err(|e| SealError::Canonical(e.to_string()))
}

/// Seals the epoch entry at `sequence` and returns it with the signer for the epoch.
pub fn open_epoch(
    audit_key: Box<dyn AuditKey>,
    identity: &SigningKey,
    sequence: u64,
    previous_hash: &str,
    start: &EpochStart,
) -> Result<(AuditEntry, EntrySigner), SealError> {
    if audit_key.verifying_key().algorithm() != Algorithm::EcdsaP384Sha384 {
        return Err(SealError::Sign(cphar_crypto::CryptoError::Unsupported(
            "the audit key must be ECDSA P-384".into(),
        )));
    }
    let data = epoch_event_data(audit_key.as_ref(), identity, start)?;
    let entry = seal_with(
        audit_key.as_ref(),
        sequence,
        start.started_at,
        EPOCH_EVENT_TYPE,
        data,
        previous_hash,
    )?;
    let signer = EntrySigner::from_boxed(sequence, audit_key)?;
    Ok((entry, signer))
}
