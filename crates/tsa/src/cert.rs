//! Certificate facts shared by the signer (it refuses to run with a certificate `openssl ts
//! -verify` would refuse) and the verifier: the RFC 3161 §2.3 extendedKeyUsage rule, keyUsage,
//! validity, subject key identifier, and PEM certificate lists.

use der::Decode as _;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier};

use crate::TsaError;
use crate::alg::{
    OID_CE_EXT_KEY_USAGE, OID_CE_KEY_USAGE, OID_CE_SUBJECT_KEY_ID, OID_KP_TIME_STAMPING,
};

/// A parsed certificate together with its exact DER.
#[derive(Clone, Debug)]
pub(crate) struct ParsedCert {
    pub der: Vec<u8>,
    pub cert: Certificate,
}

impl ParsedCert {
    pub fn parse(der: &[u8]) -> Result<Self, TsaError> {
        let cert = Certificate::from_der(der)
            .map_err(|e| TsaError::Malformed(format!("certificate: {e}")))?;
        Ok(ParsedCert {
            der: der.to_vec(),
            cert,
        })
    }

    /// notBefore and notAfter in seconds since the epoch.
    pub fn validity_secs(&self) -> (u64, u64) {
        let v = &self.cert.tbs_certificate.validity;
        (
            v.not_before.to_unix_duration().as_secs(),
            v.not_after.to_unix_duration().as_secs(),
        )
    }

    pub fn subject_text(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// The subjectPublicKey bits (an EC point or an RSAPublicKey).
    pub fn public_key_bytes(&self) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .as_bytes()
    }

    fn extensions(&self) -> &[x509_cert::ext::Extension] {
        self.cert
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or_default()
    }

    /// The one extension with `oid`; an error if it appears twice (RFC 5280 §4.2).
    fn unique_extension(
        &self,
        oid: &der::asn1::ObjectIdentifier,
    ) -> Result<Option<&x509_cert::ext::Extension>, TsaError> {
        let mut found = self.extensions().iter().filter(|e| e.extn_id == *oid);
        let first = found.next();
        if found.next().is_some() {
            return Err(TsaError::Malformed(format!(
                "certificate has extension {oid} twice"
            )));
        }
        Ok(first)
    }

    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        let ext = self.unique_extension(&OID_CE_SUBJECT_KEY_ID).ok()??;
        let ski = SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok()?;
        Some(ski.0.as_bytes().to_vec())
    }

    /// RFC 3161 §2.3: exactly one extendedKeyUsage extension, critical, whose only purpose is
    /// id-kp-timeStamping.
    pub fn check_tsa_eku(&self) -> Result<(), TsaError> {
        let ext = self
            .unique_extension(&OID_CE_EXT_KEY_USAGE)
            .map_err(|_| TsaError::EkuInvalid("present twice".into()))?
            .ok_or_else(|| TsaError::EkuInvalid("absent".into()))?;
        if !ext.critical {
            return Err(TsaError::EkuInvalid("not critical".into()));
        }
        let eku = ExtendedKeyUsage::from_der(ext.extn_value.as_bytes())
            .map_err(|_| TsaError::EkuInvalid("does not parse".into()))?;
        if eku.0 != [OID_KP_TIME_STAMPING] {
            let list: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
            return Err(TsaError::EkuInvalid(format!(
                "must be only id-kp-timeStamping, found [{}]",
                list.join(", ")
            )));
        }
        Ok(())
    }

    /// keyUsage, when present, must allow digitalSignature or nonRepudiation.
    pub fn check_signing_key_usage(&self) -> Result<(), TsaError> {
        let Some(ext) = self
            .unique_extension(&OID_CE_KEY_USAGE)
            .map_err(|_| TsaError::KeyUsageInvalid)?
        else {
            return Ok(());
        };
        let ku =
            KeyUsage::from_der(ext.extn_value.as_bytes()).map_err(|_| TsaError::KeyUsageInvalid)?;
        if ku.0.contains(KeyUsages::DigitalSignature) || ku.0.contains(KeyUsages::NonRepudiation) {
            Ok(())
        } else {
            Err(TsaError::KeyUsageInvalid)
        }
    }
}

/// Reads every `CERTIFICATE` block of a PEM text, in order, as DER (other blocks are skipped).
///
/// # Errors
/// [`TsaError::Malformed`] for a block that is not valid PEM or a certificate that does not
/// parse.
pub fn certs_from_pem(text: &str) -> Result<Vec<Vec<u8>>, TsaError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = rest.get(start..).unwrap_or_default();
        let end = after
            .find(END)
            .ok_or_else(|| TsaError::Malformed("unterminated PEM certificate".into()))?;
        let block_end = end + END.len();
        let block = after.get(..block_end).unwrap_or_default();
        let (label, der) = der::pem::decode_vec(block.as_bytes())
            .map_err(|e| TsaError::Malformed(format!("PEM: {e}")))?;
        if label != "CERTIFICATE" {
            return Err(TsaError::Malformed(format!("unexpected PEM label {label}")));
        }
        ParsedCert::parse(&der)?;
        out.push(der);
        rest = after.get(block_end..).unwrap_or_default();
    }
    Ok(out)
}

/// PEM text (`CERTIFICATE`) of DER certificates, one block each.
#[must_use]
pub fn certs_to_pem<C: AsRef<[u8]>>(ders: &[C]) -> String {
    ders.iter()
        .filter_map(|d| {
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, d.as_ref()).ok()
        })
        .collect()
}
