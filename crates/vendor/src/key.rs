//! The seal public key as the registry states it, and its comparison with a certificate's key.
//!
//! This module owns [`PublicKeyBytes`] (the three key types a seal may have) and the rules for
//! matching it against the `SubjectPublicKeyInfo` of the device's leaf certificate.

use std::fmt;

use crate::hex;

/// A seal public key in raw form: what the registry derives from the key it is registering.
///
/// The EC variants hold the uncompressed SEC1 point (`0x04 ‖ X ‖ Y`); the registry builds it from
/// a JWK's `x` and `y` (see [`PublicKeyBytes::p256_from_coordinates`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PublicKeyBytes {
    /// An Ed25519 public key (RFC 8032), 32 bytes.
    Ed25519([u8; 32]),
    /// An ECDSA P-256 public key, uncompressed SEC1 point, 65 bytes.
    P256([u8; 65]),
    /// An ECDSA P-384 public key, uncompressed SEC1 point, 97 bytes.
    P384([u8; 97]),
}

/// Why bytes could not become a [`PublicKeyBytes`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyBytesError {
    /// The input had the wrong length for the key type.
    #[error("{kind} public key must be {expected} bytes, got {got}")]
    Length {
        /// Key type.
        kind: &'static str,
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// An EC point that is not in uncompressed form (`0x04` prefix).
    #[error("{kind} public key must be an uncompressed SEC1 point (0x04 prefix)")]
    NotUncompressed {
        /// Key type.
        kind: &'static str,
    },
    /// The bytes are not a valid point on the curve (or not a valid Ed25519 key).
    #[error("{kind} public key is not a valid point")]
    Invalid {
        /// Key type.
        kind: &'static str,
    },
}

impl PublicKeyBytes {
    /// An Ed25519 key from its 32 raw bytes.
    pub fn ed25519(bytes: &[u8]) -> Result<Self, KeyBytesError> {
        let raw = <[u8; 32]>::try_from(bytes).map_err(|_| KeyBytesError::Length {
            kind: "Ed25519",
            expected: 32,
            got: bytes.len(),
        })?;
        let key = Self::Ed25519(raw);
        key.validate()?;
        Ok(key)
    }

    /// A P-256 key from its uncompressed SEC1 encoding (65 bytes, `0x04` prefix).
    pub fn p256_sec1(bytes: &[u8]) -> Result<Self, KeyBytesError> {
        let raw = sec1::<65>("P-256", bytes)?;
        let key = Self::P256(raw);
        key.validate()?;
        Ok(key)
    }

    /// A P-384 key from its uncompressed SEC1 encoding (97 bytes, `0x04` prefix).
    pub fn p384_sec1(bytes: &[u8]) -> Result<Self, KeyBytesError> {
        let raw = sec1::<97>("P-384", bytes)?;
        let key = Self::P384(raw);
        key.validate()?;
        Ok(key)
    }

    /// A P-256 key from JWK-style affine coordinates (32 bytes each).
    pub fn p256_from_coordinates(x: &[u8], y: &[u8]) -> Result<Self, KeyBytesError> {
        Self::p256_sec1(&point_from_coordinates("P-256", 32, x, y)?)
    }

    /// A P-384 key from JWK-style affine coordinates (48 bytes each).
    pub fn p384_from_coordinates(x: &[u8], y: &[u8]) -> Result<Self, KeyBytesError> {
        Self::p384_sec1(&point_from_coordinates("P-384", 48, x, y)?)
    }

    /// The key type's name: `"Ed25519"`, `"P-256"` or `"P-384"`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Ed25519(_) => "Ed25519",
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
        }
    }

    /// The raw key bytes (32 bytes for Ed25519, the uncompressed point for EC keys).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Ed25519(b) => b,
            Self::P256(b) => b,
            Self::P384(b) => b,
        }
    }

    /// Checks the point with aws-lc: a key that parses as an array can still be off the curve.
    fn validate(&self) -> Result<(), KeyBytesError> {
        use aws_lc_rs::signature::{
            ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ED25519, ParsedPublicKey,
        };
        let parsed = match self {
            Self::Ed25519(b) => ParsedPublicKey::new(&ED25519, b),
            Self::P256(b) => ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, b),
            Self::P384(b) => ParsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, b),
        };
        parsed.map(|_| ()).map_err(|_| KeyBytesError::Invalid {
            kind: self.algorithm(),
        })
    }

    /// The SEC1 compressed form of an EC key (`0x02`/`0x03` ‖ X); `None` for Ed25519.
    pub(crate) fn compressed(&self) -> Option<Vec<u8>> {
        let point: &[u8] = match self {
            Self::Ed25519(_) => return None,
            Self::P256(b) => b,
            Self::P384(b) => b,
        };
        let coord_len = point.len().checked_sub(1)? / 2;
        let x = point.get(1..=coord_len)?;
        let y_last = *point.last()?;
        let mut out = Vec::with_capacity(coord_len + 1);
        out.push(if y_last & 1 == 1 { 0x03 } else { 0x02 });
        out.extend_from_slice(x);
        Some(out)
    }
}

impl fmt::Debug for PublicKeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.algorithm(), hex::encode(self.as_bytes()))
    }
}

fn sec1<const N: usize>(kind: &'static str, bytes: &[u8]) -> Result<[u8; N], KeyBytesError> {
    let raw = <[u8; N]>::try_from(bytes).map_err(|_| KeyBytesError::Length {
        kind,
        expected: N,
        got: bytes.len(),
    })?;
    if raw.first() != Some(&0x04) {
        return Err(KeyBytesError::NotUncompressed { kind });
    }
    Ok(raw)
}

fn point_from_coordinates(
    kind: &'static str,
    coord_len: usize,
    x: &[u8],
    y: &[u8],
) -> Result<Vec<u8>, KeyBytesError> {
    for c in [x, y] {
        if c.len() != coord_len {
            return Err(KeyBytesError::Length {
                kind,
                expected: coord_len,
                got: c.len(),
            });
        }
    }
    let mut point = Vec::with_capacity(1 + 2 * coord_len);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    Ok(point)
}

/// The public key of a certificate, classified by algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CertKey {
    Ed25519(Vec<u8>),
    /// SEC1 point as it appears in the certificate (compressed or uncompressed).
    P256(Vec<u8>),
    P384(Vec<u8>),
    /// Anything else, described for the error message (algorithm OID, curve OID).
    Other(String),
}

impl CertKey {
    pub(crate) fn algorithm(&self) -> &str {
        match self {
            Self::Ed25519(_) => "Ed25519",
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
            Self::Other(desc) => desc,
        }
    }

    /// The certificate key as a validated [`PublicKeyBytes`]-compatible value, or why not.
    ///
    /// Compressed EC points are accepted (RFC 5480 allows them); they are compared with the
    /// expected key in compressed form, so no point decompression is needed.
    pub(crate) fn matches(&self, expected: &PublicKeyBytes) -> KeyMatch {
        let (kind, cert_bytes) = match self {
            Self::Other(desc) => return KeyMatch::Unsupported(desc.clone()),
            Self::Ed25519(b) => ("Ed25519", b),
            Self::P256(b) => ("P-256", b),
            Self::P384(b) => ("P-384", b),
        };
        if !cert_point_is_valid(self) {
            return KeyMatch::InvalidCertKey(kind);
        }
        if kind != expected.algorithm() {
            return KeyMatch::AlgorithmDiffers {
                cert: kind,
                expected: expected.algorithm(),
            };
        }
        let equal = match cert_bytes.first() {
            Some(0x02 | 0x03) if !matches!(self, Self::Ed25519(_)) => {
                expected.compressed().as_deref() == Some(cert_bytes.as_slice())
            }
            _ => expected.as_bytes() == cert_bytes.as_slice(),
        };
        if equal {
            KeyMatch::Equal
        } else {
            KeyMatch::KeyDiffers
        }
    }
}

fn cert_point_is_valid(key: &CertKey) -> bool {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1, ED25519, ParsedPublicKey,
    };
    match key {
        CertKey::Ed25519(b) => b.len() == 32 && ParsedPublicKey::new(&ED25519, b).is_ok(),
        CertKey::P256(b) => ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, b).is_ok(),
        CertKey::P384(b) => ParsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, b).is_ok(),
        CertKey::Other(_) => false,
    }
}

/// Outcome of comparing a certificate key with the expected key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyMatch {
    Equal,
    Unsupported(String),
    InvalidCertKey(&'static str),
    AlgorithmDiffers {
        cert: &'static str,
        expected: &'static str,
    },
    KeyDiffers,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_lengths_and_prefix() {
        assert!(matches!(
            PublicKeyBytes::ed25519(&[0u8; 31]),
            Err(KeyBytesError::Length { .. })
        ));
        assert!(matches!(
            PublicKeyBytes::p256_sec1(&[0u8; 65]),
            Err(KeyBytesError::NotUncompressed { .. })
        ));
        let mut off_curve = [1u8; 65];
        off_curve[0] = 4;
        assert!(matches!(
            PublicKeyBytes::p256_sec1(&off_curve),
            Err(KeyBytesError::Invalid { .. })
        ));
    }
}
