//! The PUF Interface Descriptor (seed 002 Appendix A) of a simulated PUF seal, built from
//! *measured* statistics (the JSON of [`crate::characterize::Characterization::to_json`])
//! and the enrolled device's helper data. [`build`] runs `cphar_protocol::pid::validate` on
//! its result, so every PID it returns passes the verifier's step 5.

use crate::extractor::{BCH_M, FuzzyExtractor, HELPER_VERSION, HelperData, KEY_LEN};
use crate::sram::RESPONSE_BITS;
use cphar_protocol::pid::{self, PidError};
use serde_json::{Value, json};
use std::collections::HashMap;

/// `pufConstruction` of the simulated device.
pub const PUF_CONSTRUCTION: &str = "SRAM-PUF";
/// `helperData.format`.
pub const HELPER_FORMAT: &str = "cphar-puf-code-offset";

/// Why no PID could be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PidBuildError {
    /// The statistics lack `pufStatistics` or `keyRederivation` (not a characterization).
    #[error("the statistics are not the output of a PUF characterization")]
    NotCharacterization,
    /// The statistics were measured with another code than the extractor's.
    #[error("the statistics were measured with another BCH code")]
    CodeMismatch,
    /// The assembled PID fails validation.
    #[error("the PID is invalid: {0}")]
    Invalid(#[from] PidError),
}

/// The PID for a device enrolled with `helper`, whose helper data is served at
/// `helper_data_uri`, with the measured `statistics`.
///
/// # Errors
/// [`PidBuildError`].
pub fn build(
    helper: &HelperData,
    helper_data_uri: &str,
    extractor: &FuzzyExtractor,
    statistics: &Value,
) -> Result<Value, PidBuildError> {
    let code = extractor.code();
    let puf_statistics = statistics
        .get("pufStatistics")
        .filter(|v| v.is_object())
        .ok_or(PidBuildError::NotCharacterization)?;
    let failure = statistics
        .get("keyRederivation")
        .filter(|v| v.is_object())
        .ok_or(PidBuildError::NotCharacterization)?;
    let measured_code = statistics.get("code");
    let expected_code = json!({"codewordLength": code.n(), "messageLength": code.k(),
                               "errorCorrectionCapability": code.t()});
    if measured_code != Some(&expected_code) {
        return Err(PidBuildError::CodeMismatch);
    }
    let pid = json!({
        "pidVersion": "1.0",
        "pufConstruction": PUF_CONSTRUCTION,
        "pufVendor": "CPHAR simulation (development only, not a physical PUF)",
        "pufPartNumber": format!("SIM-SRAM-{RESPONSE_BITS}"),
        "challengeConstruction": {
            "algorithm": "sha256",
            "inputFormat": "utf8-string",
            "description": "The SRAM PUF has a single challenge, the power-up read of its \
                enrolled block; the key re-derived from it on every ChallengeRequest signs \
                JCS(request), whose nonce the verifier chooses."
        },
        "helperData": {
            "uri": helper_data_uri,
            "hash": {"algorithm": "sha256", "value": cphar_crypto::hex(&helper.sha256())},
            "format": HELPER_FORMAT,
            "formatVersion": HELPER_VERSION.to_string(),
            "description": "'CPHARPUF' || version || m || t || 0x00 || salt (32) || code offset \
                r XOR c (1023 bits LSB-first, 128 bytes) || tag SHA-256('CPHAR-PUF-helper-tag/v1' \
                || 0x00 || preceding bytes || r)"
        },
        "fuzzyExtractor": {
            "algorithm": "BCH",
            "parameters": {
                "codewordLength": code.n(),
                "messageLength": code.k(),
                "errorCorrectionCapability": code.t(),
                "fieldDegree": BCH_M,
                "primitivePolynomial": "x^10 + x^3 + 1"
            },
            "implementation": "code-offset secure sketch (Dodis et al. 2008) over binary \
                narrow-sense BCH per Lin & Costello; HKDF-SHA-256 strong extractor; SHA-256 \
                key check over helper data and response",
            "derivedKeyLength": KEY_LEN * 8,
            "keyRederivation": failure
        },
        "pufStatistics": puf_statistics
    });
    pid::validate(
        Some(&pid),
        &HashMap::from([(helper_data_uri.to_owned(), helper.to_bytes())]),
    )?;
    Ok(pid)
}
