//! CPHAR signature and MAC profiles (PROTOCOL.md "Keys and signatures"):
//!
//! | profile | algorithm | signature bytes |
//! | --- | --- | --- |
//! | A | Ed25519 (RFC 8032) | 64 bytes |
//! | B | ECDSA P-256 / SHA-256 | ASN.1 DER; raw `r‖s` is invalid |
//! | C (deprecated) | AES-128-CMAC (RFC 4493) | 16 bytes |
//! | audit | ECDSA P-384 / SHA-384 | ASN.1 DER |
//!
//! plus public JWKs with RFC 7638 thumbprints, strict base64url, SHA-2 and the system CSPRNG.
//! Inputs never panic; secret material is zeroized and never printed by `Debug`.
//! Every verifier runs the shared Wycheproof vectors (`tests/wycheproof.rs`).
//!
//! ```
//! use cphar_crypto::{Algorithm, Jwk, SigningKey, VerifyingKey};
//!
//! let seal = SigningKey::generate(Algorithm::Ed25519)?;
//! let published = seal.verifying_key().to_jwk().to_json();
//! // A verifier parses the published key once, then checks signatures with it.
//! let key = VerifyingKey::from_jwk(&Jwk::from_json(&published)?)?;
//! key.verify(b"challenge", &seal.sign(b"challenge")?)?;
//! assert!(key.verify(b"other", &seal.sign(b"challenge")?).is_err());
//! # Ok::<(), cphar_crypto::CryptoError>(())
//! ```

pub mod b64;
mod cmac;
mod digest;
mod error;
pub mod jwk;
pub mod rng;
mod sign;
mod verify;

use std::fmt;

pub use crate::cmac::{CMAC_AES128_KEY_LEN, CMAC_TAG_LEN, CmacAes128Key};
pub use crate::digest::{hex, sha256, sha384};
pub use crate::error::CryptoError;
pub use crate::jwk::Jwk;
pub use crate::rng::{CRNGT_BLOCK, ContinuousTest, random_bytes, rng_healthy};
pub use crate::sign::{PKCS8_PEM_LABEL, SigningKey};
pub use crate::verify::{ED25519_PUBLIC_KEY_LEN, ED25519_SIGNATURE_LEN, VerifyingKey};

/// The algorithms of the protocol's profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Profile A: Ed25519 (RFC 8032), strict verification.
    Ed25519,
    /// Profile B: ECDSA over P-256 with SHA-256, DER signatures.
    EcdsaP256Sha256,
    /// The audit key: ECDSA over P-384 with SHA-384, DER signatures.
    EcdsaP384Sha384,
    /// Profile C (deprecated): AES-128-CMAC, a shared-key MAC.
    CmacAes128,
}

impl Algorithm {
    /// A stable name: `Ed25519`, `ECDSA-P256-SHA256`, `ECDSA-P384-SHA384`, `CMAC-AES128`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "Ed25519",
            Algorithm::EcdsaP256Sha256 => "ECDSA-P256-SHA256",
            Algorithm::EcdsaP384Sha384 => "ECDSA-P384-SHA384",
            Algorithm::CmacAes128 => "CMAC-AES128",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
