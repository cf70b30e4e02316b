//! The crate's error type and its stable reason codes.
//!
//! Every refusal of a token, a configuration or an argument is a [`TsaError`]; callers (the CLI,
//! the server's logs, tests) match on [`TsaError::reason_code`], never on the message text.

use crate::FailureInfo;

/// Why a token was refused, or why a signer, request or certificate could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TsaError {
    /// The input is not the expected DER structure (or violates RFC 3161 / RFC 5652 shape rules).
    #[error("malformed: {0}")]
    Malformed(String),
    /// A `TimeStampResp` whose status is not granted / grantedWithMods, or that has no token.
    #[error("time-stamp not granted (status {status}{})", failure_suffix(.failures))]
    NotGranted {
        /// PKIStatus value (2 = rejection, 3 = waiting, ...).
        status: u32,
        /// The failInfo bits that this crate knows.
        failures: Vec<FailureInfo>,
    },
    /// A hash or signature algorithm this crate does not accept.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The CMS signature over the signed attributes does not verify with the signer's key.
    #[error("signature does not verify")]
    BadSignature,
    /// The messageDigest signed attribute is not the digest of the encapsulated TSTInfo.
    #[error("messageDigest attribute does not match the TSTInfo")]
    MessageDigestMismatch,
    /// The eContentType or the contentType signed attribute is not id-ct-TSTInfo.
    #[error("content type mismatch: {0}")]
    ContentTypeMismatch(String),
    /// The token's messageImprint is not the expected data or digest.
    #[error("message imprint does not match the data")]
    ImprintMismatch,
    /// The token's nonce is absent or differs from the request's.
    #[error("nonce does not match")]
    NonceMismatch,
    /// The token's policy differs from the required one.
    #[error("policy {found} is not the required {expected}")]
    PolicyMismatch {
        /// The policy the caller required.
        expected: String,
        /// The policy in the token.
        found: String,
    },
    /// No certificate (in the token or supplied by the caller) matches the signer identifier.
    #[error("signer certificate not found")]
    SignerNotFound,
    /// The signer certificate does not chain to a trust anchor.
    #[error("untrusted signer: {0}")]
    UntrustedSigner(String),
    /// A certificate of the path (or its root) is not valid at the verification time.
    #[error("certificate not valid at the verification time: {0}")]
    CertificateExpired(String),
    /// The signer certificate lacks a critical extendedKeyUsage with only id-kp-timeStamping.
    #[error("extendedKeyUsage: {0}")]
    EkuInvalid(String),
    /// The signer certificate's keyUsage allows neither digitalSignature nor nonRepudiation.
    #[error("keyUsage does not allow signing")]
    KeyUsageInvalid,
    /// The token has no ESS signing-certificate(-v2) signed attribute.
    #[error("no ESS signing-certificate-v2 attribute")]
    MissingEssCertId,
    /// The ESS certificate identifier does not name the signer certificate.
    #[error("ESS certificate identifier does not match the signer certificate")]
    EssCertIdMismatch,
    /// The TSTInfo `tsa` name is not the signer certificate's subject.
    #[error("TSTInfo tsa name is not the signer's subject")]
    TsaNameMismatch,
    /// genTime lies outside the signer certificate's validity period.
    #[error("genTime is outside the signer certificate's validity")]
    GenTimeOutsideCertValidity,
    /// The TSTInfo carries a critical extension this crate does not know.
    #[error("unsupported critical extension {0}")]
    UnsupportedCriticalExtension(String),
    /// The signer configuration is unusable (bad chain, policy, accuracy, precision).
    #[error("invalid TSA configuration: {0}")]
    InvalidConfig(String),
    /// The private key does not belong to the TSA certificate.
    #[error("the TSA key does not match the TSA certificate")]
    KeyCertMismatch,
    /// The signer's power-on self-test failed: it must not be used.
    #[error("TSA self-test failed: {0}")]
    SelfTestFailed(String),
    /// A caller-supplied argument is out of range (digest length, nonce, time).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Key generation, certificate generation or another cryptographic operation failed.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
}

fn failure_suffix(failures: &[FailureInfo]) -> String {
    if failures.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = failures.iter().map(|f| f.as_str()).collect();
    format!(", failInfo {}", names.join(","))
}

impl TsaError {
    /// A stable, machine-readable code for this error (snake_case, never renamed).
    #[must_use]
    pub fn reason_code(&self) -> &'static str {
        match self {
            TsaError::Malformed(_) => "malformed",
            TsaError::NotGranted { .. } => "not_granted",
            TsaError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            TsaError::BadSignature => "bad_signature",
            TsaError::MessageDigestMismatch => "message_digest_mismatch",
            TsaError::ContentTypeMismatch(_) => "content_type_mismatch",
            TsaError::ImprintMismatch => "imprint_mismatch",
            TsaError::NonceMismatch => "nonce_mismatch",
            TsaError::PolicyMismatch { .. } => "policy_mismatch",
            TsaError::SignerNotFound => "signer_not_found",
            TsaError::UntrustedSigner(_) => "untrusted_signer",
            TsaError::CertificateExpired(_) => "cert_expired",
            TsaError::EkuInvalid(_) => "eku_invalid",
            TsaError::KeyUsageInvalid => "key_usage_invalid",
            TsaError::MissingEssCertId => "missing_ess_cert_id",
            TsaError::EssCertIdMismatch => "ess_cert_id_mismatch",
            TsaError::TsaNameMismatch => "tsa_name_mismatch",
            TsaError::GenTimeOutsideCertValidity => "gen_time_outside_cert_validity",
            TsaError::UnsupportedCriticalExtension(_) => "unsupported_critical_extension",
            TsaError::InvalidConfig(_) => "invalid_config",
            TsaError::KeyCertMismatch => "key_cert_mismatch",
            TsaError::SelfTestFailed(_) => "self_test_failed",
            TsaError::InvalidInput(_) => "invalid_input",
            TsaError::Crypto(_) => "crypto_error",
        }
    }
}

/// Maps a DER decoding failure to [`TsaError::Malformed`] with some context.
pub(crate) fn malformed(what: &str) -> impl FnOnce(der::Error) -> TsaError + '_ {
    move |e| TsaError::Malformed(format!("{what}: {e}"))
}
