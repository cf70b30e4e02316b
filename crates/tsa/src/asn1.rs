//! ASN.1 declarations (der 0.7 derive) of RFC 3161 and of the parts of RFC 5652 / RFC 5035
//! whose exact bytes matter, plus small infallible DER helpers.
//!
//! The TSP types are declared here rather than taken from `x509-tsp` 0.1 because that crate's
//! TSTInfo uses der's `GeneralizedTime`, which rejects fractional seconds. CMS `SignedData` and
//! `SignerInfo` are declared here because signature checks need the signed attributes exactly
//! as received ([`RawSet`]): der's `SetOfVec` re-sorts on decode, which would change the signed
//! bytes of a non-DER-sorted (BER) encoder.

use cms::content_info::CmsVersion;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::asn1::{BitString, Int, ObjectIdentifier, OctetString};
use der::{
    Any, Decode, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, SliceReader,
    Tag, Writer,
};
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::alg::OID_SHA256;
use crate::time::GenTime;

/// `MessageImprint` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct MessageImprintDer {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1). `version` is a plain INTEGER so that v2 requests are
/// told apart (badRequest) from undecodable ones (badDataFormat).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TimeStampReq {
    pub version: Int,
    pub message_imprint: MessageImprintDer,
    #[asn1(optional = "true")]
    pub req_policy: Option<RawOid>,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `Accuracy` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct AccuracyDer {
    #[asn1(optional = "true")]
    pub seconds: Option<u64>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// `TSTInfo` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TstInfo {
    pub version: Int,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprintDer,
    pub serial_number: Int,
    pub gen_time: GenTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<AccuracyDer>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `PKIStatusInfo` (RFC 3161 §2.4.2, from RFC 2510). `statusString` is a `PKIFreeText`
/// (SEQUENCE OF UTF8String).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct PkiStatusInfo {
    pub status: Int,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// `TimeStampResp`; the token is kept as raw TLV (it must be a SEQUENCE: a ContentInfo).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<Any>,
}

/// `SignedData` (RFC 5652 §5.1) with its SETs kept raw.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SignedData {
    pub version: CmsVersion,
    pub digest_algorithms: RawSet,
    pub encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub certificates: Option<RawSet>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub crls: Option<RawSet>,
    pub signer_infos: RawSet,
}

/// `SignerInfo` (RFC 5652 §5.3) with the signed attributes kept as received.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SignerInfo {
    pub version: CmsVersion,
    pub sid: SignerIdentifier,
    pub digest_alg: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub signed_attrs: Option<RawSet>,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: OctetString,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub unsigned_attrs: Option<RawSet>,
}

/// `Attribute` (RFC 5652 §5.3) with its value SET kept raw.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct AttributeDer {
    pub oid: ObjectIdentifier,
    pub values: RawSet,
}

/// `IssuerSerial` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// `ESSCertIDv2` (RFC 5035 §4). hashAlgorithm is DEFAULT id-sha256: DER omits it, so the
/// signer writes `None` for SHA-256 and readers take `None` as SHA-256 (der 0.7's `default`
/// derive does not compile for non-`Copy` fields).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificateV2` (RFC 5035 §3); policies are not interpreted.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// `ESSCertID` (RFC 2634 §5.4.1): SHA-1 certificate hash.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertId {
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificate` (RFC 2634 §5.4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV1 {
    pub certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// An OBJECT IDENTIFIER kept as content octets. const-oid 0.9 cannot decode OIDs whose
/// encoding is shorter than 3 bytes (e.g. `1.2.3`); a request naming such a policy must still
/// get `unacceptedPolicy`, not `badDataFormat`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct RawOid {
    pub value: Vec<u8>,
}

impl RawOid {
    pub fn from_oid(oid: &ObjectIdentifier) -> Self {
        RawOid {
            value: oid.as_bytes().to_vec(),
        }
    }

    /// The OID, if const-oid can represent it.
    pub fn to_oid(&self) -> Option<ObjectIdentifier> {
        ObjectIdentifier::from_bytes(&self.value).ok()
    }
}

impl FixedTag for RawOid {
    const TAG: Tag = Tag::ObjectIdentifier;
}

impl<'a> DecodeValue<'a> for RawOid {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let value = reader.read_vec(header.length)?;
        // X.690 §8.19: at least one subidentifier, the last octet ends a subidentifier, and no
        // subidentifier starts with 0x80 (non-minimal).
        let well_formed = value.last().is_some_and(|b| b & 0x80 == 0)
            && value.iter().enumerate().all(|(i, b)| {
                *b != 0x80 || (i > 0 && value.get(i - 1).is_some_and(|p| p & 0x80 != 0))
            });
        if !well_formed {
            return Err(Self::TAG.value_error());
        }
        Ok(RawOid { value })
    }
}

impl EncodeValue for RawOid {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.value.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.value)
    }
}

/// A SET (or an IMPLICIT-tagged SET) whose content octets are kept exactly as received.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub(crate) struct RawSet {
    pub value: Vec<u8>,
}

impl EssCertIdV2 {
    /// The hash algorithm identifier, with the DEFAULT applied.
    pub fn hash_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.hash_algorithm
            .clone()
            .unwrap_or(AlgorithmIdentifierOwned {
                oid: OID_SHA256,
                parameters: None,
            })
    }
}

impl RawSet {
    /// A SET of already-encoded elements, sorted as DER requires for SET OF (X.690 §11.6).
    pub fn sorted(mut elements: Vec<Vec<u8>>) -> Self {
        elements.sort_by(|a, b| der_set_order(a, b));
        RawSet {
            value: elements.concat(),
        }
    }

    /// The full DER of this SET with the universal SET tag (what a signature covers for
    /// signed attributes, RFC 5652 §5.4).
    pub fn to_set_der(&self) -> Vec<u8> {
        tlv(0x31, &self.value)
    }

    /// Decodes every element.
    pub fn elements<'a, T: Decode<'a>>(&'a self) -> der::Result<Vec<T>> {
        decode_all(&self.value)
    }

    /// Splits the content into the raw TLV of each element.
    pub fn raw_elements(&self) -> der::Result<Vec<&[u8]>> {
        let mut reader = SliceReader::new(&self.value)?;
        let mut out = Vec::new();
        while !reader.is_finished() {
            out.push(reader.tlv_bytes()?);
        }
        Ok(out)
    }
}

impl FixedTag for RawSet {
    const TAG: Tag = Tag::Set;
}

impl<'a> DecodeValue<'a> for RawSet {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        Ok(RawSet {
            value: reader.read_vec(header.length)?,
        })
    }
}

impl EncodeValue for RawSet {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.value.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.value)
    }
}

/// Decodes a concatenation of `T` encodings.
pub(crate) fn decode_all<'a, T: Decode<'a>>(bytes: &'a [u8]) -> der::Result<Vec<T>> {
    let mut reader = SliceReader::new(bytes)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(T::decode(&mut reader)?);
    }
    Ok(out)
}

/// X.690 §11.6 order: compare as octet strings, the shorter padded with trailing zeros.
fn der_set_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    let pad = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| pad(a, i).cmp(&pad(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// One DER TLV with a single-byte tag; infallible (definite length, long form as needed).
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        // Fits in the short form.
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// The content octets of a non-negative DER INTEGER holding `value` (minimal, with a leading
/// zero when the top bit is set).
pub(crate) fn uint_content(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let trimmed = magnitude.get(skip..).unwrap_or_default();
    match trimmed.first() {
        None => vec![0],
        Some(b) if b & 0x80 != 0 => [&[0u8][..], trimmed].concat(),
        Some(_) => trimmed.to_vec(),
    }
}

/// The magnitude of a non-negative INTEGER (leading zeros stripped, empty for zero); `None`
/// for a negative one.
pub(crate) fn int_magnitude(value: &Int) -> Option<Vec<u8>> {
    let bytes = value.as_bytes();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    Some(bytes.get(skip..).unwrap_or_default().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_lengths() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
    }

    #[test]
    fn integers() {
        assert_eq!(uint_content(&[]), vec![0]);
        assert_eq!(uint_content(&[0, 0, 5]), vec![5]);
        assert_eq!(uint_content(&[0x80]), vec![0, 0x80]);
        let i = Int::new(&[0x00, 0x80]).unwrap();
        assert_eq!(int_magnitude(&i), Some(vec![0x80]));
        let neg = Int::new(&[0xff]).unwrap();
        assert_eq!(int_magnitude(&neg), None);
    }

    #[test]
    fn set_order() {
        let s = RawSet::sorted(vec![vec![0x31, 1, 2], vec![0x30, 9], vec![0x31, 1]]);
        assert_eq!(s.value, vec![0x30, 9, 0x31, 1, 0x31, 1, 2]);
    }
}
