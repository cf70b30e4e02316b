//! `TimeStampResp`: PKIStatus / PKIFailureInfo values, the infallible encoders the signer uses
//! (a response is always produced, whatever went wrong) and a parser for clients.

use der::asn1::BitString;
use der::{Decode as _, Tagged as _};

use crate::TsaError;
use crate::asn1::{TimeStampResp, tlv};
use crate::error::malformed;

/// `PKIStatus` values (RFC 3161 §2.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PkiStatus {
    /// 0: a token is present.
    Granted,
    /// 1: a token is present, with modifications.
    GrantedWithMods,
    /// 2: refused; failInfo says why.
    Rejection,
    /// 3: not yet processed.
    Waiting,
    /// 4: a revocation is imminent.
    RevocationWarning,
    /// 5: a revocation has occurred.
    RevocationNotification,
    /// Any other value.
    Other(u32),
}

impl PkiStatus {
    /// The INTEGER value.
    #[must_use]
    pub const fn value(self) -> u32 {
        match self {
            PkiStatus::Granted => 0,
            PkiStatus::GrantedWithMods => 1,
            PkiStatus::Rejection => 2,
            PkiStatus::Waiting => 3,
            PkiStatus::RevocationWarning => 4,
            PkiStatus::RevocationNotification => 5,
            PkiStatus::Other(v) => v,
        }
    }

    const fn from_value(v: u32) -> Self {
        match v {
            0 => PkiStatus::Granted,
            1 => PkiStatus::GrantedWithMods,
            2 => PkiStatus::Rejection,
            3 => PkiStatus::Waiting,
            4 => PkiStatus::RevocationWarning,
            5 => PkiStatus::RevocationNotification,
            v => PkiStatus::Other(v),
        }
    }
}

/// `PKIFailureInfo` bits a TSA may return (RFC 3161 §2.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureInfo {
    /// Bit 0: unrecognized or unsupported (MD5, SHA-1, ...) imprint algorithm.
    BadAlg,
    /// Bit 2: transaction not permitted or supported (e.g. a request version other than 1).
    BadRequest,
    /// Bit 5: the data submitted has the wrong format (not DER, wrong digest length, ...).
    BadDataFormat,
    /// Bit 14: the TSA's time source is not available.
    TimeNotAvailable,
    /// Bit 15: the requested TSA policy is not supported.
    UnacceptedPolicy,
    /// Bit 16: the requested extension is not supported.
    UnacceptedExtension,
    /// Bit 17: the additional information requested could not be understood or is not
    /// available.
    AddInfoNotAvailable,
    /// Bit 25: the request cannot be handled due to system failure.
    SystemFailure,
}

impl FailureInfo {
    const ALL: [FailureInfo; 8] = [
        FailureInfo::BadAlg,
        FailureInfo::BadRequest,
        FailureInfo::BadDataFormat,
        FailureInfo::TimeNotAvailable,
        FailureInfo::UnacceptedPolicy,
        FailureInfo::UnacceptedExtension,
        FailureInfo::AddInfoNotAvailable,
        FailureInfo::SystemFailure,
    ];

    /// The bit number in the failInfo BIT STRING.
    #[must_use]
    pub const fn bit(self) -> u8 {
        match self {
            FailureInfo::BadAlg => 0,
            FailureInfo::BadRequest => 2,
            FailureInfo::BadDataFormat => 5,
            FailureInfo::TimeNotAvailable => 14,
            FailureInfo::UnacceptedPolicy => 15,
            FailureInfo::UnacceptedExtension => 16,
            FailureInfo::AddInfoNotAvailable => 17,
            FailureInfo::SystemFailure => 25,
        }
    }

    /// The RFC 3161 name (`badAlg`, `timeNotAvailable`, ...): stable, usable as a log code.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureInfo::BadAlg => "badAlg",
            FailureInfo::BadRequest => "badRequest",
            FailureInfo::BadDataFormat => "badDataFormat",
            FailureInfo::TimeNotAvailable => "timeNotAvailable",
            FailureInfo::UnacceptedPolicy => "unacceptedPolicy",
            FailureInfo::UnacceptedExtension => "unacceptedExtension",
            FailureInfo::AddInfoNotAvailable => "addInfoNotAvailable",
            FailureInfo::SystemFailure => "systemFailure",
        }
    }

    /// The statusString sent with a rejection (fixed text: never echoes request content).
    const fn status_text(self) -> &'static str {
        match self {
            FailureInfo::BadAlg => "unsupported message imprint algorithm",
            FailureInfo::BadRequest => "unsupported request",
            FailureInfo::BadDataFormat => "malformed request",
            FailureInfo::TimeNotAvailable => "trusted time not available",
            FailureInfo::UnacceptedPolicy => "policy not accepted",
            FailureInfo::UnacceptedExtension => "extension not accepted",
            FailureInfo::AddInfoNotAvailable => "additional information not available",
            FailureInfo::SystemFailure => "system failure",
        }
    }

    fn from_bit(bit: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|f| usize::from(f.bit()) == bit)
    }
}

impl std::fmt::Display for FailureInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// DER of a rejection `TimeStampResp` (status 2, statusString, failInfo with one bit).
/// Hand-assembled so that it cannot fail.
#[must_use]
pub fn rejection_response(failure: FailureInfo) -> Vec<u8> {
    let status = [0x02, 0x01, 0x02];
    let text = tlv(0x30, &tlv(0x0c, failure.status_text().as_bytes()));
    // Named-bit BIT STRING in DER: trailing zero bits removed, so the set bit is the last one.
    let bit = usize::from(failure.bit());
    let n_bytes = bit / 8 + 1;
    let mut bits = vec![0u8; n_bytes];
    if let Some(last) = bits.last_mut() {
        *last = 0x80 >> (bit % 8);
    }
    let unused = 7 - (bit % 8) as u8;
    let fail_info = tlv(0x03, &[&[unused][..], &bits].concat());
    let status_info = tlv(0x30, &[&status[..], &text, &fail_info].concat());
    tlv(0x30, &status_info)
}

/// DER of a granted `TimeStampResp` around an encoded token (a ContentInfo).
pub(crate) fn granted_response(token: &[u8]) -> Vec<u8> {
    let status_info = [0x30, 0x03, 0x02, 0x01, 0x00];
    tlv(0x30, &[&status_info[..], token].concat())
}

/// A parsed `TimeStampResp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampResponse {
    /// The PKIStatus.
    pub status: PkiStatus,
    /// The failInfo bits this crate knows, in bit order.
    pub failures: Vec<FailureInfo>,
    /// The statusString texts, if any.
    pub status_text: Vec<String>,
    /// The DER `TimeStampToken` (a CMS ContentInfo), if present.
    pub token: Option<Vec<u8>>,
}

impl TimeStampResponse {
    /// Whether the status is granted or grantedWithMods and a token is present.
    #[must_use]
    pub fn is_granted(&self) -> bool {
        matches!(self.status, PkiStatus::Granted | PkiStatus::GrantedWithMods)
            && self.token.is_some()
    }
}

/// Parses a DER `TimeStampResp`. Does not verify the token: see [`crate::verify_token`].
///
/// # Errors
/// [`TsaError::Malformed`] if the bytes are not a DER `TimeStampResp`.
pub fn parse_response(der: &[u8]) -> Result<TimeStampResponse, TsaError> {
    let resp = TimeStampResp::from_der(der).map_err(malformed("TimeStampResp"))?;
    let status_bytes = resp.status.status.as_bytes();
    let status = if status_bytes.len() > 4 || status_bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(TsaError::Malformed("PKIStatus out of range".into()));
    } else {
        status_bytes
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
    };
    let failures = resp
        .status
        .fail_info
        .as_ref()
        .map(known_failures)
        .unwrap_or_default();
    let token = match resp.time_stamp_token {
        None => None,
        Some(any) => {
            if any.tag() != der::Tag::Sequence {
                return Err(TsaError::Malformed(
                    "timeStampToken is not a SEQUENCE".into(),
                ));
            }
            Some(der::Encode::to_der(&any).map_err(malformed("timeStampToken"))?)
        }
    };
    Ok(TimeStampResponse {
        status: PkiStatus::from_value(status),
        failures,
        status_text: resp.status.status_string.unwrap_or_default(),
        token,
    })
}

fn known_failures(bits: &BitString) -> Vec<FailureInfo> {
    bits.bits()
        .enumerate()
        .filter(|(_, set)| *set)
        .filter_map(|(i, _)| FailureInfo::from_bit(i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_parse_back() {
        for f in FailureInfo::ALL {
            let der = rejection_response(f);
            let parsed = parse_response(&der).unwrap();
            assert_eq!(parsed.status, PkiStatus::Rejection);
            assert_eq!(parsed.failures, vec![f]);
            assert!(parsed.token.is_none());
            assert!(!parsed.is_granted());
        }
    }
}
