//! The one error type of this crate.
//!
//! Messages are safe to log: they never carry key material, only what was wrong.

/// Everything that can go wrong in `cphar-crypto`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A signature did not verify (or was malformed: wrong length, not DER, …).
    #[error("signature verification failed")]
    BadSignature,
    /// A MAC did not verify (or had the wrong length).
    #[error("MAC verification failed")]
    BadMac,
    /// Key bytes, a key encoding or a PKCS#8 document were rejected.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A JWK was malformed or carried members it must not.
    #[error("invalid JWK: {0}")]
    InvalidJwk(String),
    /// Input was not strict unpadded base64url.
    #[error("invalid base64url encoding")]
    Encoding,
    /// A freshly generated or imported key failed its sign-then-verify self-test.
    #[error("pairwise consistency test failed")]
    PairwiseConsistency,
    /// The operating system's random number generator failed.
    #[error("random number generator failure")]
    Rng,
    /// The underlying library refused to sign.
    #[error("signing failed")]
    Signing,
    /// An algorithm, key type or curve this crate does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
}
