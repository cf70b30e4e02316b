//! Certificate reading: PEM/DER input handling and the facts this crate needs from each
//! certificate that webpki does not expose (key usage, EKU, DNs, serial, SPKI, validity).
//!
//! Everything here is a strict reading: an extension this crate relies on that is present but
//! does not parse, or is present twice, makes the whole certificate malformed.

use rustls_pki_types::pem::{PemObject, SectionKind};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_SIG_ED25519,
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE,
};
use x509_parser::prelude::FromDer;

use crate::hex;
use crate::key::CertKey;

/// Largest certificate accepted, in DER bytes. Device certificates are around 0.5–1 KiB; the
/// cap bounds parsing work on hostile input.
pub const MAX_CERT_BYTES: usize = 16 * 1024;

/// Key usage bits (RFC 5280 §4.2.1.3) as x509-parser numbers them.
const KU_DIGITAL_SIGNATURE: u16 = 1;
const KU_KEY_CERT_SIGN: u16 = 1 << 5;

/// anyExtendedKeyUsage (RFC 5280 §4.2.1.12).
pub(crate) const ANY_EKU: &str = "2.5.29.37.0";

/// What this crate reads out of one certificate.
#[derive(Debug, Clone)]
pub(crate) struct CertFacts {
    pub(crate) serial: Vec<u8>,
    pub(crate) subject_dn: String,
    pub(crate) issuer_dn: String,
    pub(crate) issuer_raw: Vec<u8>,
    pub(crate) subject_raw: Vec<u8>,
    pub(crate) spki_raw: Vec<u8>,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    /// `Some((cA, pathLenConstraint))` when the extension is present.
    pub(crate) basic_constraints: Option<(bool, Option<u32>)>,
    /// Key usage bits when the extension is present.
    pub(crate) key_usage: Option<u16>,
    /// EKU purposes as dotted OIDs when the extension is present.
    pub(crate) eku: Option<Vec<String>>,
    pub(crate) key: CertKey,
    /// The CPHAR device-identity extension, when present.
    pub(crate) device_identity: Option<crate::identity::DeviceIdentity>,
}

impl CertFacts {
    /// Parses one DER certificate; the error is a one-line reason.
    pub(crate) fn parse(der: &[u8]) -> Result<Self, String> {
        if der.len() > MAX_CERT_BYTES {
            return Err(format!(
                "certificate is {} bytes, more than the {MAX_CERT_BYTES}-byte limit",
                der.len()
            ));
        }
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("not a DER certificate: {e}"))?;
        if !rest.is_empty() {
            return Err(format!("{} bytes after the certificate", rest.len()));
        }
        let tbs = &cert.tbs_certificate;
        Ok(Self {
            serial: tbs.raw_serial().to_vec(),
            subject_dn: tbs.subject.to_string(),
            issuer_dn: tbs.issuer.to_string(),
            issuer_raw: tbs.issuer.as_raw().to_vec(),
            subject_raw: tbs.subject.as_raw().to_vec(),
            spki_raw: tbs.subject_pki.raw.to_vec(),
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            basic_constraints: basic_constraints(&cert)?,
            key_usage: key_usage(&cert)?,
            eku: extended_key_usage(&cert)?,
            key: cert_key(&cert),
            device_identity: device_identity(&cert)?,
        })
    }

    pub(crate) fn has_digital_signature(&self) -> bool {
        self.key_usage
            .is_some_and(|ku| ku & KU_DIGITAL_SIGNATURE != 0)
    }

    pub(crate) fn has_key_cert_sign(&self) -> bool {
        self.key_usage.is_some_and(|ku| ku & KU_KEY_CERT_SIGN != 0)
    }

    pub(crate) fn is_ca(&self) -> bool {
        matches!(self.basic_constraints, Some((true, _)))
    }

    pub(crate) fn path_len(&self) -> Option<u32> {
        self.basic_constraints.and_then(|(_, len)| len)
    }

    /// The serial as a lowercase hex integer (no sign padding), if it is a conforming serial:
    /// positive, minimally encoded, at most 20 octets (RFC 5280 §4.1.2.2).
    pub(crate) fn conforming_serial_hex(&self) -> Result<String, &'static str> {
        let serial = self.serial.as_slice();
        let (first, rest) = serial.split_first().ok_or("empty serial number")?;
        if serial.len() > 21 || (serial.len() == 21 && *first != 0) {
            return Err("serial number longer than 20 octets");
        }
        if first & 0x80 != 0 {
            return Err("negative serial number");
        }
        let magnitude = match (first, rest.first()) {
            (0, Some(next)) if next & 0x80 != 0 => rest,
            (0, Some(_)) => return Err("serial number is not minimally encoded"),
            (0, None) => return Err("zero serial number"),
            _ => serial,
        };
        Ok(hex::encode(magnitude))
    }
}

fn unique_extension<'a, 'b>(
    cert: &'b X509Certificate<'a>,
    oid: &x509_parser::der_parser::oid::Oid<'_>,
    name: &str,
) -> Result<Option<&'b ParsedExtension<'a>>, String> {
    let ext = cert
        .tbs_certificate
        .get_extension_unique(oid)
        .map_err(|_| format!("{name} extension appears more than once"))?;
    match ext.map(|e| e.parsed_extension()) {
        Some(ParsedExtension::ParseError { .. }) => Err(format!("{name} extension does not parse")),
        other => Ok(other),
    }
}

fn basic_constraints(cert: &X509Certificate<'_>) -> Result<Option<(bool, Option<u32>)>, String> {
    match unique_extension(cert, &OID_X509_EXT_BASIC_CONSTRAINTS, "basicConstraints")? {
        None => Ok(None),
        Some(ParsedExtension::BasicConstraints(bc)) => Ok(Some((bc.ca, bc.path_len_constraint))),
        Some(_) => Err("basicConstraints extension does not parse".to_owned()),
    }
}

fn key_usage(cert: &X509Certificate<'_>) -> Result<Option<u16>, String> {
    match unique_extension(cert, &OID_X509_EXT_KEY_USAGE, "keyUsage")? {
        None => Ok(None),
        Some(ParsedExtension::KeyUsage(ku)) => Ok(Some(ku.flags)),
        Some(_) => Err("keyUsage extension does not parse".to_owned()),
    }
}

fn extended_key_usage(cert: &X509Certificate<'_>) -> Result<Option<Vec<String>>, String> {
    let eku = match unique_extension(cert, &OID_X509_EXT_EXTENDED_KEY_USAGE, "extKeyUsage")? {
        None => return Ok(None),
        Some(ParsedExtension::ExtendedKeyUsage(eku)) => eku,
        Some(_) => return Err("extKeyUsage extension does not parse".to_owned()),
    };
    // x509-parser splits well-known purposes into flags; rebuild the full OID list.
    let known = [
        (eku.any, ANY_EKU),
        (eku.server_auth, "1.3.6.1.5.5.7.3.1"),
        (eku.client_auth, "1.3.6.1.5.5.7.3.2"),
        (eku.code_signing, "1.3.6.1.5.5.7.3.3"),
        (eku.email_protection, "1.3.6.1.5.5.7.3.4"),
        (eku.time_stamping, "1.3.6.1.5.5.7.3.8"),
        (eku.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
    ];
    let mut oids: Vec<String> = known
        .iter()
        .filter(|(present, _)| *present)
        .map(|(_, oid)| (*oid).to_owned())
        .collect();
    oids.extend(eku.other.iter().map(|oid| oid.to_id_string()));
    Ok(Some(oids))
}

fn device_identity(
    cert: &X509Certificate<'_>,
) -> Result<Option<crate::identity::DeviceIdentity>, String> {
    let mut found = cert
        .extensions()
        .iter()
        .filter(|e| e.oid.as_bytes() == crate::identity::DEVICE_IDENTITY_OID_DER);
    let Some(ext) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err("device identity extension appears more than once".to_owned());
    }
    crate::identity::DeviceIdentity::from_der(ext.value)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn cert_key(cert: &X509Certificate<'_>) -> CertKey {
    let spki = &cert.tbs_certificate.subject_pki;
    let alg = &spki.algorithm;
    let bits = &spki.subject_public_key;
    // A BIT STRING with unused bits cannot hold a key; report it as unsupported, not as a key.
    if bits.unused_bits != 0 {
        return CertKey::Other("public key BIT STRING has unused bits".to_owned());
    }
    let data = bits.data.to_vec();
    if alg.algorithm == OID_SIG_ED25519 {
        // RFC 8410: parameters MUST be absent.
        if alg.parameters.is_some() {
            return CertKey::Other("Ed25519 key with algorithm parameters".to_owned());
        }
        return CertKey::Ed25519(data);
    }
    if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = alg.parameters.as_ref().and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_EC_P256 => CertKey::P256(data),
            Some(c) if c == OID_NIST_EC_P384 => CertKey::P384(data),
            Some(c) => CertKey::Other(format!("EC key on curve {}", c.to_id_string())),
            None => CertKey::Other("EC key without a named curve".to_owned()),
        };
    }
    CertKey::Other(format!("key algorithm {}", alg.algorithm.to_id_string()))
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    // SHA-256 output is always 32 bytes; the copy cannot fail to fill `out`.
    for (o, d) in out.iter_mut().zip(digest.as_ref()) {
        *o = *d;
    }
    out
}

/// Why certificate input bytes could not be split into DER certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertInputError {
    /// The PEM text is malformed (bad armour or base64).
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// A PEM section other than CERTIFICATE (a private key, a CSR…) was found.
    #[error("PEM section {index} is not a CERTIFICATE")]
    NotACertificate {
        /// Zero-based section number.
        index: usize,
    },
    /// No certificate was found.
    #[error("no certificate found")]
    Empty,
    /// DER input that does not split into whole certificates.
    #[error("DER input is not a sequence of certificates")]
    BadDer,
    /// More certificates than a chain may hold.
    #[error("more than {max} certificates")]
    TooMany {
        /// The limit.
        max: usize,
    },
}

/// True when `bytes` (after leading whitespace) starts a PEM armour line.
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes
        .get(start..)
        .is_some_and(|rest| rest.starts_with(b"-----BEGIN "))
}

/// Splits certificate input into DER certificates, in input order.
///
/// Accepts either PEM text (CERTIFICATE sections only; explanatory text between sections is
/// ignored as RFC 7468 allows, any other known section kind such as a private key is an error)
/// or one or more DER certificates concatenated. At most `max` certificates are read.
pub fn split_certificates(bytes: &[u8], max: usize) -> Result<Vec<Vec<u8>>, CertInputError> {
    let mut out = Vec::new();
    if looks_like_pem(bytes) {
        for (index, item) in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes).enumerate() {
            let (kind, der) = item.map_err(|e| CertInputError::Pem(e.to_string()))?;
            if kind != SectionKind::Certificate {
                return Err(CertInputError::NotACertificate { index });
            }
            if out.len() == max {
                return Err(CertInputError::TooMany { max });
            }
            out.push(der);
        }
    } else {
        let mut rest = bytes;
        while !rest.is_empty() {
            let len = der_sequence_len(rest).ok_or(CertInputError::BadDer)?;
            let (one, tail) = rest.split_at_checked(len).ok_or(CertInputError::BadDer)?;
            if out.len() == max {
                return Err(CertInputError::TooMany { max });
            }
            out.push(one.to_vec());
            rest = tail;
        }
    }
    if out.is_empty() {
        return Err(CertInputError::Empty);
    }
    Ok(out)
}

/// Total length (header + content) of the DER SEQUENCE at the start of `input`, definite
/// length only. Content is not inspected here; the certificate parser does that.
fn der_sequence_len(input: &[u8]) -> Option<usize> {
    let (&tag, rest) = input.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    // 0x80 is BER indefinite length; more than 4 length octets is beyond any certificate.
    if n == 0 || n > 4 {
        return None;
    }
    let len_bytes = rest.get(..n)?;
    let mut len: usize = 0;
    for b in len_bytes {
        len = len.checked_mul(256)?.checked_add(usize::from(*b))?;
    }
    len.checked_add(2 + n)
}

/// Reads one certificate given as PEM (exactly one CERTIFICATE section) or DER.
pub(crate) fn single_certificate(bytes: &[u8]) -> Result<Vec<u8>, CertInputError> {
    let mut certs = split_certificates(bytes, 1)?;
    certs.pop().ok_or(CertInputError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_length_header() {
        assert_eq!(der_sequence_len(&[0x30, 0x03, 1, 2, 3]), Some(5));
        assert_eq!(der_sequence_len(&[0x30, 0x82, 0x01, 0x00]), Some(260));
        assert_eq!(der_sequence_len(&[0x30, 0x80]), None);
        assert_eq!(der_sequence_len(&[0x31, 0x00]), None);
        assert_eq!(der_sequence_len(&[0x30]), None);
        assert!(der_sequence_len(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_some());
    }

    #[test]
    fn split_refuses_junk_and_keys() {
        assert_eq!(split_certificates(b"", 8), Err(CertInputError::Empty));
        assert_eq!(
            split_certificates(&[0x30, 0x05, 1], 8),
            Err(CertInputError::BadDer)
        );
        let key =
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            split_certificates(key, 8),
            Err(CertInputError::NotACertificate { index: 0 })
        );
    }
}
