//! Firmware measurements: the `"<algorithm>:<lowercase hex digest>"` text form and its parser.
//!
//! This module owns [`FirmwareMeasurement`] and [`DigestAlgorithm`]. The same text form is used
//! in registration evidence and in the vendor allowlist file, so a measurement has exactly one
//! spelling and equal measurements compare equal as text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hex;

/// The hash algorithm of a firmware measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    /// SHA-256, 32-byte digest.
    Sha256,
    /// SHA-384, 48-byte digest.
    Sha384,
}

impl DigestAlgorithm {
    /// The algorithm's name in the text form: `"sha256"` or `"sha384"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }
}

/// A firmware measurement: a digest of the firmware image the device reports running.
///
/// Text form: `sha256:<64 lowercase hex>` or `sha384:<96 lowercase hex>`. Upper-case hex, other
/// algorithms, and wrong lengths are refused rather than normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FirmwareMeasurement {
    algorithm: DigestAlgorithm,
    digest: Vec<u8>,
}

/// Why a measurement string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeasurementError {
    /// No `:` between algorithm and digest.
    #[error("measurement must be \"<algorithm>:<hex digest>\"")]
    MissingSeparator,
    /// Algorithm other than `sha256` / `sha384`.
    #[error("unsupported measurement algorithm (expected sha256 or sha384)")]
    UnsupportedAlgorithm,
    /// Digest is not lowercase hex.
    #[error("measurement digest must be lowercase hexadecimal")]
    NotLowercaseHex,
    /// Digest length does not match the algorithm.
    #[error("{algorithm} digest must be {expected} bytes, got {got}")]
    WrongLength {
        /// Algorithm name.
        algorithm: &'static str,
        /// Required length in bytes.
        expected: usize,
        /// Given length in bytes.
        got: usize,
    },
}

impl FirmwareMeasurement {
    /// A measurement from an algorithm and raw digest bytes.
    pub fn new(algorithm: DigestAlgorithm, digest: &[u8]) -> Result<Self, MeasurementError> {
        if digest.len() != algorithm.digest_len() {
            return Err(MeasurementError::WrongLength {
                algorithm: algorithm.name(),
                expected: algorithm.digest_len(),
                got: digest.len(),
            });
        }
        Ok(Self {
            algorithm,
            digest: digest.to_vec(),
        })
    }

    /// The hash algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The raw digest.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }
}

impl FromStr for FirmwareMeasurement {
    type Err = MeasurementError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (alg, digest_hex) = s
            .split_once(':')
            .ok_or(MeasurementError::MissingSeparator)?;
        let algorithm = match alg {
            "sha256" => DigestAlgorithm::Sha256,
            "sha384" => DigestAlgorithm::Sha384,
            _ => return Err(MeasurementError::UnsupportedAlgorithm),
        };
        let digest = hex::decode_lower(digest_hex).ok_or(MeasurementError::NotLowercaseHex)?;
        Self::new(algorithm, &digest)
    }
}

impl fmt::Display for FirmwareMeasurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), hex::encode(&self.digest))
    }
}

impl Serialize for FirmwareMeasurement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FirmwareMeasurement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonical_form() {
        let text = format!("sha256:{}", "ab".repeat(32));
        let m: FirmwareMeasurement = text.parse().unwrap();
        assert_eq!(m.to_string(), text);
        assert_eq!(m.algorithm(), DigestAlgorithm::Sha256);
        let text = format!("sha384:{}", "01".repeat(48));
        assert_eq!(
            text.parse::<FirmwareMeasurement>().unwrap().to_string(),
            text
        );
    }

    #[test]
    fn refuses_other_spellings() {
        let cases = [
            ("ab".repeat(32), MeasurementError::MissingSeparator),
            (
                format!("sha512:{}", "ab".repeat(64)),
                MeasurementError::UnsupportedAlgorithm,
            ),
            (
                format!("SHA256:{}", "ab".repeat(32)),
                MeasurementError::UnsupportedAlgorithm,
            ),
            (
                format!("sha256:{}", "AB".repeat(32)),
                MeasurementError::NotLowercaseHex,
            ),
            (
                format!("sha256:{}", "ab".repeat(48)),
                MeasurementError::WrongLength {
                    algorithm: "sha256",
                    expected: 32,
                    got: 48,
                },
            ),
            (
                "sha256:".to_owned(),
                MeasurementError::WrongLength {
                    algorithm: "sha256",
                    expected: 32,
                    got: 0,
                },
            ),
            (
                format!("sha256: {}", "ab".repeat(32)),
                MeasurementError::NotLowercaseHex,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<FirmwareMeasurement>(), Err(want), "{text}");
        }
    }
}
