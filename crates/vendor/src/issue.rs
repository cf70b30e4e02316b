//! Issuing device certificates that carry the CPHAR device-identity extension (with rcgen):
//! the vendor side of [`crate::identity`], used by `cphar vendor` (the provisioning line and
//! the development helpers) and by tests that need real device certificates.
//!
//! rcgen writes OID arcs as `u64`; the extension's `2.25.<UUID>` arc needs 128 bits. So the
//! certificate is built with a placeholder OID of exactly the same DER length, the issuer's
//! signer ([`IdentitySigner`]) substitutes the real OID bytes in the TBSCertificate before
//! signing, and the same substitution in the finished certificate makes its bytes those that
//! were signed. Callers verify the result like any other device certificate.

use crate::identity::{DeviceIdentity, IdentityError};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The identity extension cannot be encoded.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// rcgen refused.
    #[error("certificate issuance: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// A stand-in OID for the device-identity extension while rcgen builds the certificate (see
/// the module docs): its DER content has exactly the length of the real OID's.
const PLACEHOLDER_ARCS: [u64; 5] = [2, 25, 0x4c50_4841_525f_4f49, 0x445f_504c_4143_4548, 0x1234];

/// DER content octets of an OID given as arcs (first two arcs combined).
fn oid_content(arcs: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |mut n: u64| {
        let mut chunk = vec![u8::try_from(n & 0x7f).unwrap_or(0)];
        n >>= 7;
        while n > 0 {
            chunk.insert(0, 0x80 | u8::try_from(n & 0x7f).unwrap_or(0));
            n >>= 7;
        }
        out.extend(chunk);
    };
    if let [a, b, rest @ ..] = arcs {
        put(a * 40 + b);
        for arc in rest {
            put(*arc);
        }
    }
    out
}

/// `der` with the placeholder OID TLV replaced by the device-identity OID TLV (unchanged when
/// the placeholder is absent). More than one occurrence is refused.
fn substitute_identity_oid(der: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
    let real = crate::identity::DEVICE_IDENTITY_OID_DER;
    let mut needle = vec![0x06, u8::try_from(real.len()).unwrap_or(0)];
    needle.extend(oid_content(&PLACEHOLDER_ARCS));
    let hits: Vec<usize> = der
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle.as_slice())
        .map(|(i, _)| i)
        .collect();
    let mut out = der.to_vec();
    match hits.as_slice() {
        [] => {}
        [at] => {
            let start = at + 2;
            if let Some(slot) = out.get_mut(start..start + real.len()) {
                slot.copy_from_slice(&real);
            }
        }
        _ => return Err(rcgen::Error::CouldNotParseCertificate),
    }
    Ok(out)
}

/// The issuer's key, substituting the device-identity OID in what it signs.
pub struct IdentitySigner<'a>(pub &'a KeyPair);

impl rcgen::PublicKeyData for IdentitySigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.der_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.0.algorithm()
    }
}

impl rcgen::SigningKey for IdentitySigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(&substitute_identity_oid(msg)?)
    }
}

/// Device certificate parameters: subject `O=<org>, CN=<uid>`, end entity, digitalSignature,
/// valid from a day ago for five years, with the device-identity extension.
///
/// # Errors
/// [`IssueError::Identity`] when the identity cannot be encoded.
pub fn device_params(
    org: &str,
    uid: &str,
    serial: &[u8],
    identity: &DeviceIdentity,
) -> Result<CertificateParams, IssueError> {
    let mut p = CertificateParams::default();
    let mut d = DistinguishedName::new();
    d.push(DnType::OrganizationName, org);
    d.push(DnType::CommonName, uid);
    p.distinguished_name = d;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.serial_number = Some(SerialNumber::from_slice(serial));
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(1825);
    let content = identity.to_der()?;
    p.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &PLACEHOLDER_ARCS,
        content,
    )];
    Ok(p)
}

/// Issues the certificate `params` describes for `subject` (a key pair or a CSR's public key),
/// signed by `issuer` (whose key must be wrapped in [`IdentitySigner`]); returns the
/// certificate PEM.
///
/// # Errors
/// [`IssueError::Rcgen`].
pub fn issue(
    params: &CertificateParams,
    subject: &impl rcgen::PublicKeyData,
    issuer: &Issuer<'_, impl rcgen::SigningKey>,
) -> Result<String, IssueError> {
    let cert = params.signed_by(subject, issuer)?;
    let der = substitute_identity_oid(cert.der())?;
    Ok(certificate_pem(&der))
}

/// One certificate as PEM (RFC 7468: base64 in 64-character lines).
#[must_use]
pub fn certificate_pem(der: &[u8]) -> String {
    use base64ct::Encoding;
    let b64 = base64ct::Base64::encode_string(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_has_the_identity_oid_length() {
        assert_eq!(
            oid_content(&PLACEHOLDER_ARCS).len(),
            crate::identity::DEVICE_IDENTITY_OID_DER.len()
        );
    }
}
