//! Object identifiers, the accepted hash algorithms and message imprints.
//!
//! Only SHA-256, SHA-384 and SHA-512 are accepted for imprints and CMS digests: MD5 and SHA-1
//! imprints are refused with `badAlg` (RFC 3161 §2.4.1 lets the TSA refuse weak algorithms).

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use der::asn1::{AnyRef, ObjectIdentifier};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::TsaError;

pub(crate) const OID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub(crate) const OID_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
pub(crate) const OID_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
pub(crate) const OID_ECDSA_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub(crate) const OID_ECDSA_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
pub(crate) const OID_ECDSA_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
pub(crate) const OID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(crate) const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const OID_RSA_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
pub(crate) const OID_RSA_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
pub(crate) const OID_RSA_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// id-signedData (RFC 5652).
pub(crate) const OID_SIGNED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo (RFC 3161).
pub(crate) const OID_CT_TSTINFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-contentType signed attribute (RFC 5652).
pub(crate) const OID_ATTR_CONTENT_TYPE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest signed attribute (RFC 5652).
pub(crate) const OID_ATTR_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime signed attribute (RFC 5652).
pub(crate) const OID_ATTR_SIGNING_TIME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificate (ESS v1, SHA-1 certificate hash; RFC 2634).
pub(crate) const OID_ATTR_SIGNING_CERT_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-aa-signingCertificateV2 (RFC 5035): what `openssl ts -verify` insists on.
pub(crate) const OID_ATTR_SIGNING_CERT_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-kp-timeStamping (RFC 3161 §2.3).
pub(crate) const OID_KP_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
pub(crate) const OID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
pub(crate) const OID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
pub(crate) const OID_CE_SUBJECT_KEY_ID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.14");

/// An object identifier (a TSA policy, for instance) in dotted-decimal form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(pub(crate) ObjectIdentifier);

impl Oid {
    /// Parses dotted-decimal text such as `1.3.6.1.4.1.99999.1.1`.
    ///
    /// # Errors
    /// [`TsaError::InvalidInput`] if the text is not a valid OID.
    pub fn parse(text: &str) -> Result<Self, TsaError> {
        let oid = ObjectIdentifier::new(text)
            .map_err(|e| TsaError::InvalidInput(format!("bad OID {text:?}: {e}")))?;
        // const-oid 0.9 encodes but cannot decode OIDs shorter than 3 content octets.
        if oid.as_bytes().len() < 3 {
            return Err(TsaError::InvalidInput(format!(
                "OID {text} is too short (fewer than 3 encoded octets) to be supported"
            )));
        }
        Ok(Oid(oid))
    }
}

impl FromStr for Oid {
    type Err = TsaError;
    fn from_str(s: &str) -> Result<Self, TsaError> {
        Oid::parse(s)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.0)
    }
}

/// The hash algorithms accepted for message imprints and CMS digests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-384 (FIPS 180-4).
    Sha384,
    /// SHA-512 (FIPS 180-4).
    Sha512,
}

impl HashAlg {
    /// Digest length in bytes.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// `sha256`, `sha384` or `sha512` (the names `openssl ts` uses).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }

    /// The inverse of [`HashAlg::as_str`] (case-insensitive, `sha-256` also accepted).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Some(HashAlg::Sha256),
            "sha384" => Some(HashAlg::Sha384),
            "sha512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    /// Hashes `data`.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.aws(), data).as_ref().to_vec()
    }

    fn aws(self) -> &'static digest::Algorithm {
        match self {
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        }
    }

    pub(crate) const fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlg::Sha256 => OID_SHA256,
            HashAlg::Sha384 => OID_SHA384,
            HashAlg::Sha512 => OID_SHA512,
        }
    }

    pub(crate) fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512]
            .into_iter()
            .find(|h| h.oid() == *oid)
    }

    /// The AlgorithmIdentifier with absent parameters (RFC 5754 §2: SHOULD omit).
    pub(crate) fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// Reads a digest AlgorithmIdentifier: a SHA-2 OID with absent or NULL parameters.
    pub(crate) fn from_algorithm_identifier(alg: &AlgorithmIdentifierOwned) -> Option<Self> {
        let params_ok = match &alg.parameters {
            None => true,
            Some(p) => AnyRef::from(p).is_null(),
        };
        if !params_ok {
            return None;
        }
        Self::from_oid(&alg.oid)
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hash algorithm and a digest of that algorithm's length: what a time-stamp binds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageImprint {
    alg: HashAlg,
    digest: Vec<u8>,
}

impl MessageImprint {
    /// Hashes `data` with `alg`.
    #[must_use]
    pub fn of_data(alg: HashAlg, data: &[u8]) -> Self {
        MessageImprint {
            alg,
            digest: alg.digest(data),
        }
    }

    /// A precomputed digest.
    ///
    /// # Errors
    /// [`TsaError::InvalidInput`] if `digest` is not `alg`'s output length.
    pub fn from_digest(alg: HashAlg, digest: &[u8]) -> Result<Self, TsaError> {
        if digest.len() != alg.output_len() {
            return Err(TsaError::InvalidInput(format!(
                "{alg} digest must be {} bytes, got {}",
                alg.output_len(),
                digest.len()
            )));
        }
        Ok(MessageImprint {
            alg,
            digest: digest.to_vec(),
        })
    }

    /// The hash algorithm.
    #[must_use]
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// The digest bytes.
    #[must_use]
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }
}
