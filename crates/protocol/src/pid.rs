//! The PUF Interface Descriptor (seed 002 Appendix A), REQUIRED for BAL-3 and BAL-4 bindings.
//!
//! Validation checks every required field and the types a clean-room verifier needs to build a
//! challenge from the PID alone (conformance C-07a). When the verifier was given the helper data
//! (it cannot fetch `helperData.uri` itself: this crate does no I/O), its hash is checked too.

use crate::fields::{self, FieldError};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// PID versions this implementation understands.
pub const SUPPORTED_PID_VERSIONS: &[&str] = &["1.0"];

/// Why a PID is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PidError {
    /// The binding method carries no PID.
    #[error("no PUF Interface Descriptor")]
    Missing,
    /// A required member is missing or malformed.
    #[error("PID {0}")]
    Field(#[from] FieldError),
    /// `pidVersion` is not supported.
    #[error("unsupported pidVersion '{0}'")]
    UnsupportedVersion(String),
    /// The helper data given to the verifier does not hash to `helperData.hash.value`.
    #[error("helper data does not match helperData.hash")]
    HelperDataMismatch,
}

/// A validated PID: the parts a verifier uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPid {
    /// `pidVersion`.
    pub version: String,
    /// `pufConstruction`.
    pub construction: String,
    /// `challengeConstruction.algorithm`.
    pub challenge_algorithm: String,
    /// `helperData.uri`.
    pub helper_data_uri: String,
    /// `helperData.hash.value` decoded.
    pub helper_data_hash: Vec<u8>,
}

/// Validates a PID. `helper_data` holds the helper data the verifier retrieved, by URI; when
/// it has the PID's `helperData.uri`, the hash must match.
pub fn validate(
    pid: Option<&Value>,
    helper_data: &HashMap<String, Vec<u8>>,
) -> Result<ValidPid, PidError> {
    let pid = pid.ok_or(PidError::Missing)?;
    let obj = fields::object(pid)?;
    let version = fields::req_str(obj, "pidVersion")?;
    if !SUPPORTED_PID_VERSIONS.contains(&version) {
        return Err(PidError::UnsupportedVersion(version.to_owned()));
    }
    let construction = non_empty(obj, "pufConstruction")?;

    let challenge = fields::req_object(obj, "challengeConstruction")?;
    let challenge_algorithm = non_empty(challenge, "algorithm")?;
    if challenge_algorithm != "sha256" {
        // The only construction whose challenge derivation is specified (Appendix A example):
        // anything else cannot be reproduced by a clean-room verifier.
        return Err(FieldError::Invalid("challengeConstruction.algorithm".into()).into());
    }

    let helper = fields::req_object(obj, "helperData")?;
    let helper_data_uri = non_empty(helper, "uri")?;
    non_empty(helper, "format")?;
    let hash = fields::req_object(helper, "hash")?;
    if fields::req_str(hash, "algorithm")? != "sha256" {
        return Err(FieldError::Invalid("helperData.hash.algorithm".into()).into());
    }
    let hash_hex = fields::req_str(hash, "value")?;
    let helper_data_hash =
        decode_hex(hash_hex).ok_or_else(|| FieldError::Invalid("helperData.hash.value".into()))?;
    if helper_data_hash.len() != 32 {
        return Err(FieldError::Invalid("helperData.hash.value".into()).into());
    }

    let extractor = fields::req_object(obj, "fuzzyExtractor")?;
    non_empty(extractor, "algorithm")?;

    let stats = fields::req_object(obj, "pufStatistics")?;
    for hd in ["interDeviceHD", "intraDeviceHD"] {
        let h = fields::req_object(stats, hd)?;
        let mean = fields::req_f64(h, "mean")?;
        if !(0.0..=1.0).contains(&mean) {
            return Err(FieldError::Invalid(format!("pufStatistics.{hd}.mean")).into());
        }
    }
    let sample = fields::req_f64(stats, "sampleSize")?;
    if sample < 1.0 || sample.fract() != 0.0 {
        return Err(FieldError::Invalid("pufStatistics.sampleSize".into()).into());
    }

    if let Some(data) = helper_data.get(&helper_data_uri) {
        let actual = cphar_crypto::sha256(data);
        if actual.as_slice() != helper_data_hash.as_slice() {
            return Err(PidError::HelperDataMismatch);
        }
    }
    Ok(ValidPid {
        version: version.to_owned(),
        construction,
        challenge_algorithm,
        helper_data_uri,
        helper_data_hash,
    })
}

fn non_empty(obj: &Map<String, Value>, name: &str) -> Result<String, FieldError> {
    let s = fields::req_str(obj, name)?;
    if s.is_empty() {
        Err(FieldError::Invalid(name.to_owned()))
    } else {
        Ok(s.to_owned())
    }
}

/// Lower- or upper-case hex, even length.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The Appendix A example, trimmed of optional members.
    pub(crate) fn example_pid() -> Value {
        json!({
            "pidVersion": "1.0",
            "pufConstruction": "SRAM-PUF",
            "challengeConstruction": {"algorithm": "sha256", "inputFormat": "utf8-string"},
            "helperData": {
                "uri": "https://vendor.example/helper-data/device123.bin",
                "hash": {"algorithm": "sha256",
                         "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                "format": "bch-params"
            },
            "fuzzyExtractor": {"algorithm": "BCH"},
            "pufStatistics": {
                "interDeviceHD": {"mean": 0.49, "stddev": 0.02},
                "intraDeviceHD": {"mean": 0.04, "stddev": 0.01},
                "sampleSize": 5000
            }
        })
    }

    #[test]
    fn appendix_a_example_is_valid_and_helper_data_is_checked() {
        let pid = example_pid();
        let none = HashMap::new();
        let v = validate(Some(&pid), &none).unwrap();
        assert_eq!(v.construction, "SRAM-PUF");
        // The example's hash is SHA-256 of the empty string.
        let uri = v.helper_data_uri.clone();
        let good = HashMap::from([(uri.clone(), Vec::new())]);
        assert!(validate(Some(&pid), &good).is_ok());
        let bad = HashMap::from([(uri, b"tampered helper data".to_vec())]);
        assert_eq!(
            validate(Some(&pid), &bad),
            Err(PidError::HelperDataMismatch)
        );
    }

    #[test]
    fn every_required_field_is_required() {
        let paths: &[&[&str]] = &[
            &["pidVersion"],
            &["pufConstruction"],
            &["challengeConstruction"],
            &["challengeConstruction", "algorithm"],
            &["helperData"],
            &["helperData", "uri"],
            &["helperData", "hash"],
            &["helperData", "hash", "value"],
            &["helperData", "format"],
            &["fuzzyExtractor"],
            &["fuzzyExtractor", "algorithm"],
            &["pufStatistics"],
            &["pufStatistics", "interDeviceHD"],
            &["pufStatistics", "intraDeviceHD"],
            &["pufStatistics", "sampleSize"],
        ];
        for path in paths {
            let mut pid = example_pid();
            let (last, parents) = path.split_last().unwrap();
            let mut cur = &mut pid;
            for p in parents {
                cur = cur.get_mut(*p).unwrap();
            }
            cur.as_object_mut().unwrap().remove(*last).unwrap();
            assert!(
                validate(Some(&pid), &HashMap::new()).is_err(),
                "{path:?} removed"
            );
        }
        assert_eq!(validate(None, &HashMap::new()), Err(PidError::Missing));
    }

    #[test]
    fn invalid_values_are_rejected() {
        let cases: &[(&[&str], Value)] = &[
            (&["pidVersion"], json!("2.0")),
            (&["pidVersion"], json!(1.0)),
            (&["helperData", "hash", "value"], json!("zz")),
            (&["helperData", "hash", "value"], json!("abcd")),
            (&["pufStatistics", "sampleSize"], json!(0)),
            (&["pufStatistics", "sampleSize"], json!(1.5)),
            (&["pufStatistics", "interDeviceHD", "mean"], json!(1.5)),
            (
                &["challengeConstruction", "algorithm"],
                json!("proprietary"),
            ),
        ];
        for (path, value) in cases {
            let mut pid = example_pid();
            let (last, parents) = path.split_last().unwrap();
            let mut cur = &mut pid;
            for p in parents {
                cur = cur.get_mut(*p).unwrap();
            }
            cur[*last] = value.clone();
            assert!(
                validate(Some(&pid), &HashMap::new()).is_err(),
                "{path:?} = {value}"
            );
        }
    }
}
