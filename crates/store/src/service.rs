//! What the HTTP service stores beside the registry: API tokens (hashes only) and issued
//! challenges (single use, nonces unique across server processes).

use serde::{Deserialize, Serialize};

/// A stored API token. The secret itself is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    /// Public token id (the part before the secret).
    pub id: String,
    /// Lower-case hex SHA-256 of the secret.
    pub secret_hash: String,
    /// Role name.
    pub role: String,
    /// The identity the token acts as.
    pub subject: String,
    /// Creation time (Unix nanoseconds).
    pub created_ns: i64,
    /// Expiry (Unix nanoseconds), if any.
    pub expires_ns: Option<i64>,
    /// Revoked.
    pub revoked: bool,
}

/// A change to the token table, written together with its audit event.
#[derive(Debug, Clone)]
pub enum TokenWrite {
    /// A new token.
    Insert(TokenRow),
    /// Revoke a token by id.
    Revoke(String),
}

/// An issued challenge (the registry's type).
pub use cphar_registry::store::Challenge as ChallengeRow;
