//! One audit entry: `sequenceNumber`, `timestamp`, `eventType`, `eventData`, `previousHash`,
//! `signature` (PROTOCOL.md). The signature covers JCS of the entry without `signature`; the
//! next entry's `previousHash` is SHA-384 over JCS of the whole entry, signature included.

use cphar_crypto::{Algorithm, CryptoError, SigningKey};
use cphar_protocol::Timestamp;
use serde_json::{Map, Value};

/// `previousHash` of entry 0: 96 zeros.
pub const GENESIS_HASH: &str = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

/// A sealed entry: its canonical bytes (what is exported and hashed) and chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Sequence number.
    pub sequence_number: u64,
    /// JCS of the whole entry (one export line).
    pub canonical: Vec<u8>,
    /// Lower-case hex SHA-384 of `canonical`: the next entry's `previousHash`.
    pub hash: String,
}

/// Why an entry could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The audit key refused to sign (e.g. the module is in its error state).
    #[error("audit signature failed: {0}")]
    Sign(#[from] CryptoError),
    /// The event data cannot be canonicalized.
    #[error("event data cannot be canonicalized: {0}")]
    Canonical(String),
    /// `eventData` is not an object.
    #[error("eventData must be a JSON object")]
    NotAnObject,
}

pub use cphar_crypto::hex;

/// Lower-case hex SHA-384 of an entry's canonical bytes.
pub fn chain_hash(canonical: &[u8]) -> String {
    hex(&cphar_crypto::sha384(canonical))
}

/// An ECDSA P-384 audit key: in memory ([`SigningKey`]) or held non-extractable by a token
/// (a PKCS#11 implementation lives with the token code). Signatures are ASN.1 DER.
pub trait AuditKey: Send + Sync {
    /// Signs `msg` (ECDSA P-384 / SHA-384, DER).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// The public key, for the epoch entry.
    fn verifying_key(&self) -> cphar_crypto::VerifyingKey;
}

impl AuditKey for SigningKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        SigningKey::sign(self, msg)
    }
    fn verifying_key(&self) -> cphar_crypto::VerifyingKey {
        SigningKey::verifying_key(self)
    }
}

/// The audit key of one epoch: seals entries for this process.
pub struct EntrySigner {
    epoch: u64,
    key: Box<dyn AuditKey>,
}

impl std::fmt::Debug for EntrySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntrySigner")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

impl EntrySigner {
    /// A signer for the epoch opened at sequence number `epoch`. The key must be P-384.
    pub fn new(epoch: u64, key: impl AuditKey + 'static) -> Result<Self, CryptoError> {
        Self::from_boxed(epoch, Box::new(key))
    }

    /// The same for a boxed key.
    pub fn from_boxed(epoch: u64, key: Box<dyn AuditKey>) -> Result<Self, CryptoError> {
        if key.verifying_key().algorithm() != Algorithm::EcdsaP384Sha384 {
            return Err(CryptoError::Unsupported(
                "the audit key must be ECDSA P-384".into(),
            ));
        }
        Ok(EntrySigner { epoch, key })
    }

    /// The epoch's sequence number.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The audit key.
    pub fn key(&self) -> &dyn AuditKey {
        self.key.as_ref()
    }

    /// Seals the entry at `sequence` after an entry with hash `previous_hash`. For non-epoch
    /// entries `eventData.auditEpoch` is set to this signer's epoch.
    pub fn seal(
        &self,
        sequence: u64,
        timestamp: Timestamp,
        event_type: &str,
        mut event_data: Map<String, Value>,
        previous_hash: &str,
    ) -> Result<AuditEntry, SealError> {
        if event_type != crate::epoch::EPOCH_EVENT_TYPE {
            event_data.insert("auditEpoch".into(), Value::from(self.epoch));
        }
        seal_with(
            self.key.as_ref(),
            sequence,
            timestamp,
            event_type,
            event_data,
            previous_hash,
        )
    }
}

/// Seals an entry with `key` (the epoch entry is signed by the key it introduces).
pub(crate) fn seal_with(
    key: &dyn AuditKey,
    sequence: u64,
    timestamp: Timestamp,
    event_type: &str,
    event_data: Map<String, Value>,
    previous_hash: &str,
) -> Result<AuditEntry, SealError> {
    let mut entry = Map::new();
    entry.insert("sequenceNumber".into(), Value::from(sequence));
    entry.insert("timestamp".into(), Value::String(timestamp.to_string()));
    entry.insert("eventType".into(), Value::String(event_type.to_owned()));
    entry.insert("eventData".into(), Value::Object(event_data));
    entry.insert(
        "previousHash".into(),
        Value::String(previous_hash.to_owned()),
    );
    let mut value = Value::Object(entry);
    let input = cphar_jcs::canonicalize(&value).map_err(|e| SealError::Canonical(e.to_string()))?;
    let signature = key.sign(&input)?;
    if let Value::Object(m) = &mut value {
        m.insert(
            "signature".into(),
            Value::String(cphar_crypto::b64::encode(&signature)),
        );
    }
    let canonical =
        cphar_jcs::canonicalize(&value).map_err(|e| SealError::Canonical(e.to_string()))?;
    Ok(AuditEntry {
        sequence_number: sequence,
        hash: chain_hash(&canonical),
        canonical,
    })
}
