//! Private keys: generation, signing and PKCS#8 import/export.
//!
//! Ed25519 uses ed25519-dalek (the secret is zeroized on drop); ECDSA P-256/P-384 uses
//! aws-lc-rs (AWS-LC cleanses the key when it is freed) and emits DER signatures.
//! Every generated or imported key passes a pairwise-consistency test (sign a fixed message,
//! verify it with the public half through [`VerifyingKey`]) before it is handed out, as
//! FIPS 140-3 requires for generation: a key that cannot produce verifiable signatures is
//! never used. PKCS#8 documents and PEM text are held in [`Zeroizing`] buffers.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, KeyPair as _,
};
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::spki::der::pem::{self, LineEnding};
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, ObjectIdentifier, PrivateKeyInfoRef};
use zeroize::Zeroizing;

use crate::{Algorithm, CryptoError, VerifyingKey, b64};

/// PEM type label of an unencrypted PKCS#8 private key (RFC 7468 §10).
pub const PKCS8_PEM_LABEL: &str = "PRIVATE KEY";

/// id-Ed25519 (RFC 8410).
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// DER of an Ed25519 PKCS#8 v1 PrivateKeyInfo up to the 32-byte seed: SEQUENCE (46 bytes) {
/// INTEGER 0, AlgorithmIdentifier { id-Ed25519 }, OCTET STRING { OCTET STRING (32 bytes) } }.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// id-ecPublicKey (RFC 5480).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / P-256.
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 / P-384.
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Message signed by the pairwise-consistency self-test.
const PCT_MESSAGE: &[u8] = b"cphar-crypto pairwise consistency test";

/// A private signing key (Ed25519, ECDSA P-256 or ECDSA P-384). `Debug` shows only the public
/// half.
pub struct SigningKey {
    inner: Inner,
    public: VerifyingKey,
}

enum Inner {
    Ed25519(ed25519_dalek::SigningKey),
    Ecdsa(EcdsaKeyPair),
}

fn ecdsa_signing(alg: Algorithm) -> Option<&'static EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::EcdsaP256Sha256 => Some(&ECDSA_P256_SHA256_ASN1_SIGNING),
        Algorithm::EcdsaP384Sha384 => Some(&ECDSA_P384_SHA384_ASN1_SIGNING),
        Algorithm::Ed25519 | Algorithm::CmacAes128 => None,
    }
}

impl SigningKey {
    /// Generates a key from the system CSPRNG and self-tests it.
    ///
    /// # Errors
    /// [`CryptoError::Rng`], [`CryptoError::PairwiseConsistency`], or
    /// [`CryptoError::Unsupported`] for [`Algorithm::CmacAes128`] (use
    /// [`crate::CmacAes128Key::generate`]).
    pub fn generate(alg: Algorithm) -> Result<Self, CryptoError> {
        match alg {
            Algorithm::Ed25519 => {
                // dalek's own `generate` wants a rand_core 0.10 RNG; 32 CSPRNG bytes are the
                // whole RFC 8032 secret anyway.
                let seed = Zeroizing::new(crate::random_bytes::<32>()?);
                Self::from_ed25519_seed(&seed)
            }
            Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384 => {
                let signing = ecdsa_signing(alg).ok_or_else(|| no_signing(alg))?;
                let pair = EcdsaKeyPair::generate(signing).map_err(|_| CryptoError::Rng)?;
                Self::from_ecdsa(alg, pair)
            }
            Algorithm::CmacAes128 => Err(no_signing(alg)),
        }
    }

    /// An Ed25519 key from its 32-byte RFC 8032 secret ("seed"). Deterministic: meant for
    /// test vectors and key import, not for making keys (use [`SigningKey::generate`]).
    ///
    /// # Errors
    /// [`CryptoError::PairwiseConsistency`] if the self-test fails.
    pub fn from_ed25519_seed(seed: &[u8; 32]) -> Result<Self, CryptoError> {
        Self::from_ed25519(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn from_ed25519(key: ed25519_dalek::SigningKey) -> Result<Self, CryptoError> {
        let public =
            VerifyingKey::from_public_bytes(Algorithm::Ed25519, key.verifying_key().as_bytes())
                .map_err(|_| CryptoError::PairwiseConsistency)?;
        Self::checked(Inner::Ed25519(key), public)
    }

    fn from_ecdsa(alg: Algorithm, pair: EcdsaKeyPair) -> Result<Self, CryptoError> {
        let public = VerifyingKey::from_public_bytes(alg, pair.public_key().as_ref())
            .map_err(|_| CryptoError::PairwiseConsistency)?;
        Self::checked(Inner::Ecdsa(pair), public)
    }

    /// Runs the pairwise-consistency test: sign, then verify through the public half.
    fn checked(inner: Inner, public: VerifyingKey) -> Result<Self, CryptoError> {
        let key = SigningKey { inner, public };
        let sig = key
            .sign(PCT_MESSAGE)
            .map_err(|_| CryptoError::PairwiseConsistency)?;
        key.public
            .verify(PCT_MESSAGE, &sig)
            .map_err(|_| CryptoError::PairwiseConsistency)?;
        Ok(key)
    }

    /// Signs `msg`: a 64-byte Ed25519 signature, or a DER ECDSA signature (fresh random nonce
    /// from AWS-LC).
    ///
    /// # Errors
    /// [`CryptoError::Signing`] if the underlying library fails.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            Inner::Ed25519(key) => key
                .try_sign(msg)
                .map(|s| s.to_bytes().to_vec())
                .map_err(|_| CryptoError::Signing),
            Inner::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Signing),
        }
    }

    /// The public half.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        self.public.clone()
    }

    /// The algorithm of this key.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The key as a PKCS#8 DER document (Ed25519: RFC 8410 v2 with the public key;
    /// ECDSA: v1 with the RFC 5915 `ECPrivateKey`).
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] if encoding fails.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match &self.inner {
            Inner::Ed25519(key) => {
                // PKCS#8 v1 (RFC 8410 §7: the seed only). ed25519-dalek writes v2 with the
                // public key attached, which OpenSSL 3.0 cannot read.
                let mut der = Zeroizing::new(Vec::with_capacity(48));
                der.extend_from_slice(&ED25519_PKCS8_V1_PREFIX);
                der.extend_from_slice(key.as_bytes());
                Ok(der)
            }
            Inner::Ecdsa(pair) => pair
                .to_pkcs8v1()
                .map(|doc| Zeroizing::new(doc.as_ref().to_vec()))
                .map_err(|_| CryptoError::InvalidKey("cannot encode ECDSA PKCS#8".into())),
        }
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line endings).
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] if encoding fails.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CryptoError> {
        let der = self.to_pkcs8_der()?;
        pem::encode_string(PKCS8_PEM_LABEL, LineEnding::LF, &der)
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::InvalidKey("cannot encode PKCS#8 PEM".into()))
    }

    /// Reads an unencrypted PKCS#8 DER private key; the algorithm comes from its OID
    /// (Ed25519; id-ecPublicKey with P-256 or P-384). The key is self-tested before use.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] for a malformed document or inconsistent key,
    /// [`CryptoError::Unsupported`] for another algorithm or curve,
    /// [`CryptoError::PairwiseConsistency`] if the self-test fails.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let info = PrivateKeyInfoRef::try_from(der)
            .map_err(|_| CryptoError::InvalidKey("not a PKCS#8 PrivateKeyInfo".into()))?;
        let (oid, params) = info
            .algorithm
            .oids()
            .map_err(|_| CryptoError::InvalidKey("malformed PKCS#8 AlgorithmIdentifier".into()))?;
        let alg = match (oid, params) {
            (OID_ED25519, None) => {
                let key = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                    .map_err(|_| CryptoError::InvalidKey("malformed Ed25519 PKCS#8 key".into()))?;
                return Self::from_ed25519(key);
            }
            (OID_EC_PUBLIC_KEY, Some(OID_P256)) => Algorithm::EcdsaP256Sha256,
            (OID_EC_PUBLIC_KEY, Some(OID_P384)) => Algorithm::EcdsaP384Sha384,
            (OID_EC_PUBLIC_KEY, curve) => {
                return Err(CryptoError::Unsupported(format!(
                    "PKCS#8 EC curve {}",
                    curve.map_or_else(|| "(none)".to_owned(), |c| c.to_string())
                )));
            }
            (other, _) => {
                return Err(CryptoError::Unsupported(format!(
                    "PKCS#8 key algorithm {other}"
                )));
            }
        };
        let signing = ecdsa_signing(alg).ok_or_else(|| no_signing(alg))?;
        // AWS-LC checks the private scalar, the curve, and any embedded public key.
        let pair = EcdsaKeyPair::from_pkcs8(signing, der)
            .map_err(|e| CryptoError::InvalidKey(format!("ECDSA PKCS#8 key rejected: {e}")))?;
        Self::from_ecdsa(alg, pair)
    }

    /// Reads an unencrypted PKCS#8 PEM private key (label `PRIVATE KEY`, RFC 7468 strict).
    ///
    /// # Errors
    /// As [`SigningKey::from_pkcs8_der`], and [`CryptoError::InvalidKey`] for bad PEM or
    /// another label (e.g. `ENCRYPTED PRIVATE KEY`, `EC PRIVATE KEY`).
    pub fn from_pkcs8_pem(text: &str) -> Result<Self, CryptoError> {
        let (label, der) = pem::decode_vec(text.as_bytes())
            .map_err(|_| CryptoError::InvalidKey("malformed PEM".into()))?;
        let der = Zeroizing::new(der);
        if label != PKCS8_PEM_LABEL {
            return Err(CryptoError::InvalidKey(format!(
                "PEM label must be \"{PKCS8_PEM_LABEL}\", got \"{label}\""
            )));
        }
        Self::from_pkcs8_der(&der)
    }
}

fn no_signing(alg: Algorithm) -> CryptoError {
    CryptoError::Unsupported(format!(
        "{} is not a signature algorithm (use CmacAes128Key)",
        alg.as_str()
    ))
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("public", &b64::encode(&self.public.public_bytes()))
            .finish_non_exhaustive()
    }
}
