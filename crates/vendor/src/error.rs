//! Attestation failures and their stable reason codes.
//!
//! This module owns [`AttestationError`]. Each variant maps to one `reason_code` string that the
//! registry records and returns; codes are part of the interface and never change meaning.
//! `Display` is a one-line human explanation (untrusted strings are `{:?}`-quoted so they
//! cannot break the line).

use std::fmt;

use crate::measurement::MeasurementError;

/// Where in the chain a certificate sits, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertPosition {
    /// The device certificate (chain index 0).
    Leaf,
    /// An intermediate CA at this chain index.
    Intermediate(usize),
    /// The configured vendor root that anchored the path.
    Root,
    /// webpki reported the failure without saying which certificate (not expected in practice).
    Unknown,
}

impl fmt::Display for CertPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Leaf => f.write_str("leaf certificate"),
            Self::Intermediate(i) => write!(f, "intermediate certificate (chain index {i})"),
            Self::Root => f.write_str("vendor root certificate"),
            Self::Unknown => f.write_str("a chain certificate"),
        }
    }
}

/// Why vendor attestation evidence was refused. See [`AttestationError::reason_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// No trust configuration for the evidence's vendor.
    #[error("unknown vendor {vendor:?}")]
    UnknownVendor {
        /// The vendor id from the evidence.
        vendor: String,
    },
    /// A device type or hardware revision that is empty or not one printable line.
    #[error("evidence field {field} must be 1-128 printable characters")]
    EvidenceMalformed {
        /// The field name.
        field: &'static str,
    },
    /// The certificate chain has no certificate.
    #[error("device certificate chain is empty")]
    ChainEmpty,
    /// More certificates than a device chain may have, or a path deeper than webpki builds.
    #[error("device certificate chain too long: {detail}")]
    ChainTooLong {
        /// What limit was hit.
        detail: String,
    },
    /// A certificate that does not parse (or is not acceptable DER).
    #[error("{} is malformed: {detail}", chain_index(*.index))]
    CertificateMalformed {
        /// Chain index of the certificate (`None` when webpki did not say which).
        index: Option<usize>,
        /// What is wrong.
        detail: String,
    },
    /// A certificate uses something webpki refuses to process (an unknown critical
    /// extension, a v1/v2 certificate, an unsupported name type).
    #[error("certificate uses an unsupported feature: {detail}")]
    UnsupportedCertificateFeature {
        /// What is unsupported.
        detail: String,
    },
    /// The chain does not lead to a configured root of the vendor: unknown issuer or a
    /// signature that does not verify.
    #[error("chain does not verify to a configured root of vendor {vendor:?}: {detail}")]
    UntrustedRoot {
        /// Vendor id.
        vendor: String,
        /// Unknown issuer, bad signature, …
        detail: &'static str,
    },
    /// A certificate is signed with an algorithm this crate does not accept.
    #[error("unsupported certificate signature algorithm: {detail}")]
    UnsupportedSignatureAlgorithm {
        /// What webpki reported.
        detail: String,
    },
    /// A certificate on the path had expired at the trusted time.
    #[error("{position} expired at {not_after} (checked at {at})")]
    CertificateExpired {
        /// Which certificate.
        position: CertPosition,
        /// Its notAfter (RFC 3339).
        not_after: String,
        /// The trusted time of the check (RFC 3339).
        at: String,
    },
    /// A certificate on the path was not yet valid at the trusted time.
    #[error("{position} is not valid before {not_before} (checked at {at})")]
    CertificateNotYetValid {
        /// Which certificate.
        position: CertPosition,
        /// Its notBefore (RFC 3339).
        not_before: String,
        /// The trusted time of the check (RFC 3339).
        at: String,
    },
    /// A certificate used as an issuer is not a CA (no basicConstraints cA=TRUE).
    #[error("{position} is used as an issuer but is not a CA (basicConstraints cA is not TRUE)")]
    NotACa {
        /// Which certificate.
        position: CertPosition,
    },
    /// The leaf certificate is a CA certificate.
    #[error("leaf certificate is a CA certificate (basicConstraints cA=TRUE)")]
    LeafIsCa,
    /// A CA's pathLenConstraint is smaller than the number of CAs below it.
    #[error("path length constraint exceeded: {detail}")]
    PathLengthExceeded {
        /// Which constraint.
        detail: String,
    },
    /// keyUsage does not allow the certificate's role.
    #[error("{position} key usage invalid: {detail}")]
    KeyUsageInvalid {
        /// Which certificate.
        position: CertPosition,
        /// What is missing.
        detail: &'static str,
    },
    /// extKeyUsage does not satisfy the vendor's EKU policy, or is malformed.
    #[error("extended key usage invalid: {detail}")]
    ExtendedKeyUsageInvalid {
        /// What is wrong.
        detail: String,
    },
    /// A name constraint on the path is violated.
    #[error("name constraint violated on the certificate path")]
    NameConstraintViolation,
    /// The supplied chain holds a certificate that is not on the verified path in order
    /// (leaf first, then each issuer; a copy of the root may close the chain).
    #[error(
        "certificate at chain index {index} is not the next certificate of the verified path (chain must be leaf first, each certificate followed by its issuer)"
    )]
    ChainNotAPath {
        /// Chain index of the first certificate out of place.
        index: usize,
    },
    /// The leaf certificate's key is not the key being registered.
    #[error("leaf certificate key does not match the registered key: {detail}")]
    LeafKeyMismatch {
        /// Algorithm or key differs.
        detail: String,
    },
    /// The leaf certificate's key is of a type a seal cannot have (only Ed25519, P-256, P-384),
    /// or is not a valid key of its type.
    #[error("unsupported leaf key: {detail}")]
    UnsupportedKeyAlgorithm {
        /// The key type found.
        detail: String,
    },
    /// The firmware measurement string does not parse.
    #[error("firmware measurement malformed: {0}")]
    FirmwareMeasurementMalformed(MeasurementError),
    /// The firmware measurement is not on the vendor's allowlist for this device type and
    /// hardware revision.
    #[error(
        "firmware {measurement} is not on the allowlist of vendor {vendor:?} for device type {device_type:?} revision {hardware_revision:?}"
    )]
    FirmwareNotAllowed {
        /// Vendor id.
        vendor: String,
        /// The measurement reported.
        measurement: String,
        /// Device type from the evidence.
        device_type: String,
        /// Hardware revision from the evidence.
        hardware_revision: String,
    },
    /// Any other refusal by the path validator (kept distinct so it is never mistaken for a
    /// more specific code).
    #[error("certificate chain rejected: {detail}")]
    CertificateRejected {
        /// What webpki reported.
        detail: String,
    },
    /// The chain is anchored on a retiring root whose rotation window has closed.
    #[error("the chain's root was rotated out at {until} (now {at}): outside the rotation window")]
    OutsideRotationWindow {
        /// End of the window.
        until: String,
        /// The trusted time of the check.
        at: String,
    },
    /// The vendor requires the CPHAR device-identity extension and the leaf has none.
    #[error("vendor {vendor:?} requires the device-identity extension; the leaf has none")]
    DeviceIdentityMissing {
        /// Vendor id.
        vendor: String,
    },
    /// A valid certificate for another product: its certified SKU is not the registered
    /// device type, or not one the vendor's trust entry allows (seed 001 "valid cert, wrong
    /// SKU").
    #[error("certificate certifies SKU {certified:?}, not {expected}")]
    WrongSku {
        /// The SKU in the certificate.
        certified: String,
        /// What was expected (the device type, or the allowed list).
        expected: String,
    },
}

fn chain_index(index: Option<usize>) -> String {
    match index {
        Some(i) => format!("certificate at chain index {i}"),
        None => "a chain certificate".to_owned(),
    }
}

/// Every reason code [`AttestationError::reason_code`] can return.
pub const REASON_CODES: &[&str] = &[
    "unknown_vendor",
    "evidence_malformed",
    "chain_empty",
    "chain_too_long",
    "certificate_malformed",
    "unsupported_certificate_feature",
    "untrusted_root",
    "unsupported_signature_algorithm",
    "certificate_expired",
    "certificate_not_yet_valid",
    "not_a_ca",
    "leaf_is_ca",
    "path_length_exceeded",
    "key_usage_invalid",
    "extended_key_usage_invalid",
    "name_constraint_violation",
    "chain_not_a_path",
    "leaf_key_mismatch",
    "unsupported_key_algorithm",
    "firmware_measurement_malformed",
    "firmware_not_allowed",
    "certificate_rejected",
    "device_identity_missing",
    "wrong_sku",
    "outside_rotation_window",
];

impl AttestationError {
    /// The stable, machine-readable reason code (`snake_case`, listed in [`REASON_CODES`]).
    pub fn reason_code(&self) -> &'static str {
        match self {
            Self::UnknownVendor { .. } => "unknown_vendor",
            Self::EvidenceMalformed { .. } => "evidence_malformed",
            Self::ChainEmpty => "chain_empty",
            Self::ChainTooLong { .. } => "chain_too_long",
            Self::CertificateMalformed { .. } => "certificate_malformed",
            Self::UnsupportedCertificateFeature { .. } => "unsupported_certificate_feature",
            Self::UntrustedRoot { .. } => "untrusted_root",
            Self::UnsupportedSignatureAlgorithm { .. } => "unsupported_signature_algorithm",
            Self::CertificateExpired { .. } => "certificate_expired",
            Self::CertificateNotYetValid { .. } => "certificate_not_yet_valid",
            Self::NotACa { .. } => "not_a_ca",
            Self::LeafIsCa => "leaf_is_ca",
            Self::PathLengthExceeded { .. } => "path_length_exceeded",
            Self::KeyUsageInvalid { .. } => "key_usage_invalid",
            Self::ExtendedKeyUsageInvalid { .. } => "extended_key_usage_invalid",
            Self::NameConstraintViolation => "name_constraint_violation",
            Self::ChainNotAPath { .. } => "chain_not_a_path",
            Self::LeafKeyMismatch { .. } => "leaf_key_mismatch",
            Self::UnsupportedKeyAlgorithm { .. } => "unsupported_key_algorithm",
            Self::FirmwareMeasurementMalformed(_) => "firmware_measurement_malformed",
            Self::FirmwareNotAllowed { .. } => "firmware_not_allowed",
            Self::CertificateRejected { .. } => "certificate_rejected",
            Self::DeviceIdentityMissing { .. } => "device_identity_missing",
            Self::WrongSku { .. } => "wrong_sku",
            Self::OutsideRotationWindow { .. } => "outside_rotation_window",
        }
    }
}
