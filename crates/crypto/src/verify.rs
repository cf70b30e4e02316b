//! Public keys and signature verification for profiles A (Ed25519), B (ECDSA P-256) and the
//! P-384 audit key.
//!
//! Keys are parsed and validated once, at construction; `verify` then only checks signatures.
//!
//! * Ed25519 (ed25519-dalek): the key must be a canonical encoding of a point that is not of
//!   small order, and signatures are checked with `verify_strict` (RFC 8032 §5.1.7 with the
//!   `S < L` check, canonical `R`, small-order `R` rejected, cofactorless equation). Weak keys
//!   could make one signature valid for many messages; strictness keeps signatures unique.
//! * ECDSA (aws-lc-rs): the key is an uncompressed SEC1 point, checked to be on the curve and
//!   not the identity. Signatures are ASN.1 DER `SEQUENCE { r, s }` only (strict DER, no BER);
//!   raw `r‖s` (IEEE P1363 / JOSE) is invalid by PROTOCOL.md.

use std::fmt;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, EcdsaVerificationAlgorithm, ParsedPublicKey,
};

use crate::jwk::{self, Jwk};
use crate::{Algorithm, CryptoError, b64};

/// Length of an Ed25519 public key.
pub const ED25519_PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// A validated public key able to verify signatures of one [`Algorithm`].
#[derive(Clone)]
pub struct VerifyingKey {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Ed25519(ed25519_dalek::VerifyingKey),
    /// `key` remembers the exact uncompressed SEC1 point it was parsed from.
    Ecdsa {
        alg: Algorithm,
        key: ParsedPublicKey,
    },
}

/// Curve parameters of the ECDSA algorithms we support.
pub(crate) struct EcCurve {
    /// JWK `crv` name.
    pub(crate) name: &'static str,
    /// Field element (coordinate) length in bytes.
    pub(crate) coord_len: usize,
    pub(crate) verification: &'static EcdsaVerificationAlgorithm,
}

pub(crate) fn ec_curve(alg: Algorithm) -> Option<EcCurve> {
    match alg {
        Algorithm::EcdsaP256Sha256 => Some(EcCurve {
            name: "P-256",
            coord_len: 32,
            verification: &ECDSA_P256_SHA256_ASN1,
        }),
        Algorithm::EcdsaP384Sha384 => Some(EcCurve {
            name: "P-384",
            coord_len: 48,
            verification: &ECDSA_P384_SHA384_ASN1,
        }),
        Algorithm::Ed25519 | Algorithm::CmacAes128 => None,
    }
}

impl VerifyingKey {
    /// Builds a key from a public JWK (`OKP`/`Ed25519` or `EC`/`P-256`/`P-384`).
    ///
    /// # Errors
    /// [`CryptoError::InvalidJwk`] for a malformed JWK, [`CryptoError::InvalidKey`] for a
    /// point that is not a valid public key, [`CryptoError::Unsupported`] for profile C
    /// (`oct`: the verifier holds the key) and other key types.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, CryptoError> {
        let (alg, bytes) = jwk::public_key_material(jwk)?;
        Self::from_public_bytes(alg, &bytes)
    }

    /// Builds a key from its raw public bytes: 32 bytes for Ed25519 (RFC 8032), the
    /// uncompressed SEC1 point `04‖x‖y` for ECDSA. Compressed points and SPKI are refused.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] for a wrong length or an invalid point,
    /// [`CryptoError::Unsupported`] for [`Algorithm::CmacAes128`].
    pub fn from_public_bytes(alg: Algorithm, bytes: &[u8]) -> Result<Self, CryptoError> {
        let inner = match alg {
            Algorithm::Ed25519 => Inner::Ed25519(ed25519_from_bytes(bytes)?),
            Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384 => {
                let curve = ec_curve(alg).ok_or_else(|| unsupported(alg))?;
                let expected = 1 + 2 * curve.coord_len;
                if bytes.len() != expected || bytes.first() != Some(&0x04) {
                    return Err(CryptoError::InvalidKey(format!(
                        "{} public key must be an uncompressed SEC1 point of {expected} bytes",
                        curve.name
                    )));
                }
                // Parses the point and checks it lies on the curve (EC_KEY_check_key).
                let key = ParsedPublicKey::new(curve.verification, bytes).map_err(|e| {
                    CryptoError::InvalidKey(format!("{} point rejected: {e}", curve.name))
                })?;
                Inner::Ecdsa { alg, key }
            }
            Algorithm::CmacAes128 => return Err(unsupported(alg)),
        };
        Ok(VerifyingKey { inner })
    }

    /// Verifies `sig` over `msg`: a 64-byte Ed25519 signature, or a DER ECDSA signature.
    ///
    /// # Errors
    /// [`CryptoError::BadSignature`] for any invalid or malformed signature.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        match &self.inner {
            Inner::Ed25519(key) => {
                let sig: &[u8; ED25519_SIGNATURE_LEN] =
                    sig.try_into().map_err(|_| CryptoError::BadSignature)?;
                let sig = ed25519_dalek::Signature::from_bytes(sig);
                key.verify_strict(msg, &sig)
                    .map_err(|_| CryptoError::BadSignature)
            }
            Inner::Ecdsa { key, .. } => key
                .verify_sig(msg, sig)
                .map_err(|_| CryptoError::BadSignature),
        }
    }

    /// The algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match &self.inner {
            Inner::Ed25519(_) => Algorithm::Ed25519,
            Inner::Ecdsa { alg, .. } => *alg,
        }
    }

    /// The raw public key: 32 bytes for Ed25519, the uncompressed SEC1 point for ECDSA.
    #[must_use]
    pub fn public_bytes(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Ed25519(key) => key.to_bytes().to_vec(),
            Inner::Ecdsa { key, .. } => key.as_ref().to_vec(),
        }
    }

    /// The public JWK of this key (`kty`, `crv`, `x`[, `y`]; no `alg`, `kid` or `use`).
    #[must_use]
    pub fn to_jwk(&self) -> Jwk {
        match &self.inner {
            Inner::Ed25519(key) => {
                Jwk::new_public("OKP", "Ed25519", b64::encode(key.as_bytes()), None)
            }
            Inner::Ecdsa { alg, key } => {
                let point = key.as_ref();
                // Invariant from construction: point = 04 ‖ x ‖ y with equal-length coordinates.
                let coords = point.get(1..).unwrap_or_default();
                let (x, y) = coords.split_at(coords.len() / 2);
                let crv = ec_curve(*alg).map_or("", |c| c.name);
                Jwk::new_public("EC", crv, b64::encode(x), Some(b64::encode(y)))
            }
        }
    }
}

fn ed25519_from_bytes(bytes: &[u8]) -> Result<ed25519_dalek::VerifyingKey, CryptoError> {
    let raw: &[u8; ED25519_PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| {
        CryptoError::InvalidKey(format!(
            "Ed25519 public key must be {ED25519_PUBLIC_KEY_LEN} bytes, got {}",
            bytes.len()
        ))
    })?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(raw)
        .map_err(|_| CryptoError::InvalidKey("Ed25519 public key is not a curve point".into()))?;
    // dalek decompresses a y ≥ p; only the canonical encoding names a key unambiguously.
    if key.to_edwards().compress().as_bytes() != raw {
        return Err(CryptoError::InvalidKey(
            "Ed25519 public key is not canonically encoded".into(),
        ));
    }
    if key.is_weak() {
        return Err(CryptoError::InvalidKey(
            "Ed25519 public key has small order".into(),
        ));
    }
    Ok(key)
}

fn unsupported(alg: Algorithm) -> CryptoError {
    CryptoError::Unsupported(format!("{} has no public key", alg.as_str()))
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm() == other.algorithm() && self.public_bytes() == other.public_bytes()
    }
}

impl Eq for VerifyingKey {}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.algorithm())
            .field("public", &b64::encode(&self.public_bytes()))
            .finish()
    }
}
