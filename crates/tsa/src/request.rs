//! `TimeStampReq`: building one (the client side, `cphar ts request`) and the TSA's checks of a
//! received one, each refusal mapped to the PKIFailureInfo RFC 3161 (and `openssl ts -reply`)
//! uses for it.

use der::asn1::{Int, OctetString};
use der::{Decode as _, Encode as _};

use crate::alg::{HashAlg, MessageImprint, Oid};
use crate::asn1::{MessageImprintDer, RawOid, TimeStampReq, int_magnitude, uint_content};
use crate::{FailureInfo, TsaError};

/// Largest nonce accepted, in bytes (RFC 3161 asks for a large random number; openssl sends 8).
pub const MAX_NONCE_LEN: usize = 64;

/// The policy a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestedPolicy {
    /// A policy OID.
    Oid(Oid),
    /// A well-formed OID too short for this crate's OID type (fewer than 3 content octets, such
    /// as `1.2.3`): never an accepted policy.
    Unsupported,
}

/// A received `TimeStampReq` that passed the format checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeStampRequest {
    /// The message imprint to time-stamp.
    pub imprint: MessageImprint,
    /// The nonce as an unsigned big-endian magnitude (leading zeros stripped).
    pub nonce: Option<Vec<u8>>,
    /// Whether the client asked for the TSA certificate in the token.
    pub cert_req: bool,
    /// The requested TSA policy.
    pub policy: Option<RequestedPolicy>,
    /// The request's messageImprint as encoded (copied into the TSTInfo unchanged).
    pub(crate) imprint_der: MessageImprintDer,
    /// The request's nonce INTEGER (echoed unchanged).
    pub(crate) nonce_int: Option<Int>,
}

/// Builds a DER `TimeStampReq` (version 1).
///
/// `nonce` is an unsigned big-endian number (e.g. 8 random bytes), at most [`MAX_NONCE_LEN`]
/// bytes after leading zeros are stripped.
///
/// # Errors
/// [`TsaError::InvalidInput`] for an oversized nonce.
pub fn make_request(
    imprint: &MessageImprint,
    nonce: Option<&[u8]>,
    cert_req: bool,
    policy: Option<&Oid>,
) -> Result<Vec<u8>, TsaError> {
    let nonce = match nonce {
        None => None,
        Some(n) => {
            let content = uint_content(n);
            if content.len() > MAX_NONCE_LEN + 1 {
                return Err(TsaError::InvalidInput(format!(
                    "nonce longer than {MAX_NONCE_LEN} bytes"
                )));
            }
            Some(Int::new(&content).map_err(|e| TsaError::InvalidInput(e.to_string()))?)
        }
    };
    let req = TimeStampReq {
        version: Int::new(&[1]).map_err(|e| TsaError::InvalidInput(e.to_string()))?,
        message_imprint: MessageImprintDer {
            hash_algorithm: imprint.alg().algorithm_identifier(),
            hashed_message: OctetString::new(imprint.digest())
                .map_err(|e| TsaError::InvalidInput(e.to_string()))?,
        },
        req_policy: policy.map(|p| RawOid::from_oid(&p.0)),
        nonce,
        cert_req,
        extensions: None,
    };
    req.to_der()
        .map_err(|e| TsaError::InvalidInput(format!("encoding TimeStampReq: {e}")))
}

/// Parses and checks a DER `TimeStampReq` as a TSA does, before policy and time checks.
///
/// | problem | failInfo |
/// | --- | --- |
/// | not DER, trailing bytes, negative or oversized nonce, empty extensions | `badDataFormat` |
/// | version other than 1 | `badRequest` |
/// | imprint algorithm not SHA-256/384/512 (MD5, SHA-1, unknown, odd parameters) | `badAlg` |
/// | digest length not the algorithm's output length | `badDataFormat` (as `openssl ts -reply`) |
/// | any extension (none is supported; RFC 3161 §2.4.1 says refuse even non-critical ones) | `unacceptedExtension` |
///
/// # Errors
/// The [`FailureInfo`] to return in the rejection.
pub fn parse_request(der: &[u8]) -> Result<TimeStampRequest, FailureInfo> {
    let req = TimeStampReq::from_der(der).map_err(|_| FailureInfo::BadDataFormat)?;
    if req.version.as_bytes() != [1] {
        return Err(FailureInfo::BadRequest);
    }
    let alg = HashAlg::from_algorithm_identifier(&req.message_imprint.hash_algorithm)
        .ok_or(FailureInfo::BadAlg)?;
    let imprint = MessageImprint::from_digest(alg, req.message_imprint.hashed_message.as_bytes())
        .map_err(|_| FailureInfo::BadDataFormat)?;
    let nonce = match &req.nonce {
        None => None,
        Some(n) => {
            let magnitude = int_magnitude(n).ok_or(FailureInfo::BadDataFormat)?;
            if magnitude.len() > MAX_NONCE_LEN {
                return Err(FailureInfo::BadDataFormat);
            }
            Some(magnitude)
        }
    };
    match &req.extensions {
        None => {}
        Some(exts) if exts.is_empty() => return Err(FailureInfo::BadDataFormat),
        Some(_) => return Err(FailureInfo::UnacceptedExtension),
    }
    Ok(TimeStampRequest {
        imprint,
        nonce,
        cert_req: req.cert_req,
        policy: req.req_policy.map(|p| {
            p.to_oid().map_or(RequestedPolicy::Unsupported, |o| {
                RequestedPolicy::Oid(Oid(o))
            })
        }),
        imprint_der: req.message_imprint,
        nonce_int: req.nonce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let imprint = MessageImprint::of_data(HashAlg::Sha384, b"hello");
        let policy = Oid::parse("1.2.3.4").unwrap();
        let der = make_request(&imprint, Some(&[0x00, 0x80, 1]), true, Some(&policy)).unwrap();
        let req = parse_request(&der).unwrap();
        assert_eq!(req.imprint, imprint);
        assert_eq!(req.nonce, Some(vec![0x80, 1]));
        assert!(req.cert_req);
        assert_eq!(req.policy, Some(RequestedPolicy::Oid(policy)));
        assert_eq!(
            parse_request(&der[..der.len() - 1]),
            Err(FailureInfo::BadDataFormat)
        );
    }
}
