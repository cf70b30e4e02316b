//! Token verification: what a relying party (and the signer's own self-test) checks before it
//! believes a genTime.
//!
//! Order of checks, first failure wins (cryptographic integrity before meaning):
//! 1. a `TimeStampResp` must be granted (`not_granted`); a bare token is accepted as is;
//! 2. CMS shape: one SignerInfo, eContentType id-ct-TSTInfo, signed attributes present,
//!    each attribute type once (`malformed`, `content_type_mismatch`);
//! 3. the signer certificate is found by issuer and serial (or subject key identifier) among
//!    the token's certificates and the caller's extra ones (`signer_not_found`);
//! 4. the signature over the signed attributes as received (`bad_signature`), then
//!    messageDigest = hash(eContent) (`message_digest_mismatch`);
//! 5. ESS signingCertificateV2 names the signer certificate (`missing_ess_cert_id`,
//!    `ess_cert_id_mismatch`; ESS v1 only when the caller allows it);
//! 6. the signer certificate: critical EKU with only id-kp-timeStamping (`eku_invalid`),
//!    keyUsage (`key_usage_invalid`), a path to a trust anchor at the verification time via
//!    rustls-webpki (`untrusted_signer`, `cert_expired`), genTime inside its validity
//!    (`gen_time_outside_cert_validity`);
//! 7. TSTInfo: version 1, no unknown critical extension, `tsa` name = signer subject;
//! 8. the caller's expectations: imprint, nonce, policy.

use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use cms::content_info::ContentInfo;
use cms::signed_data::SignerIdentifier;
use der::asn1::ObjectIdentifier;
use der::{Decode as _, Header, Reader as _, SliceReader, Tag, Tagged as _};
use rustls_pki_types::{CertificateDer, TrustAnchor};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::TsaError;
use crate::alg::{
    HashAlg, MessageImprint, OID_ATTR_CONTENT_TYPE, OID_ATTR_MESSAGE_DIGEST,
    OID_ATTR_SIGNING_CERT_V1, OID_ATTR_SIGNING_CERT_V2, OID_CT_TSTINFO, OID_EC_PUBLIC_KEY,
    OID_ECDSA_SHA256, OID_ECDSA_SHA384, OID_ECDSA_SHA512, OID_P256, OID_P384, OID_RSA_ENCRYPTION,
    OID_RSA_SHA256, OID_RSA_SHA384, OID_RSA_SHA512, OID_SIGNED_DATA, Oid,
};
use crate::asn1::{
    AttributeDer, IssuerSerial, SignedData, SignerInfo, SigningCertificateV1, SigningCertificateV2,
    TstInfo, int_magnitude,
};
use crate::cert::{ParsedCert, certs_from_pem};
use crate::error::malformed;
use crate::response::parse_response;
use crate::time::{Accuracy, UnixTime};

/// Algorithms webpki accepts on the certificate path.
static PATH_ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::ED25519,
];

const KP_TIME_STAMPING: [usize; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 8];
const ANY_EKU: [usize; 5] = [2, 5, 29, 37, 0];
/// Content octets of the id-kp-timeStamping OID.
const KP_TIME_STAMPING_DER: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// EKU rule handed to webpki, which applies it to every certificate of the path: a
/// certificate without EKU passes; one with EKU must allow timeStamping (or anyExtendedKeyUsage).
/// The leaf's stricter RFC 3161 rule is checked separately.
struct TimeStampingIfPresent;

impl webpki::ExtendedKeyUsageValidator for TimeStampingIfPresent {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut present = Vec::new();
        for purpose in iter {
            present.push(purpose?.to_decoded_oid());
        }
        let ok = present.is_empty()
            || present
                .iter()
                .any(|oid| *oid == KP_TIME_STAMPING || *oid == ANY_EKU);
        if ok {
            Ok(())
        } else {
            Err(webpki::Error::RequiredEkuNotFoundContext(
                webpki::RequiredEkuNotFoundContext {
                    required: webpki::KeyUsage::required_if_present(KP_TIME_STAMPING_DER),
                    present,
                },
            ))
        }
    }
}

struct Anchor {
    anchor: TrustAnchor<'static>,
    not_before: u64,
    not_after: u64,
}

/// Root certificates a verifier trusts, parsed once.
pub struct TrustAnchors {
    anchors: Vec<Anchor>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("count", &self.anchors.len())
            .finish()
    }
}

impl TrustAnchors {
    /// Trust anchors from DER root certificates. Their own validity is checked at
    /// verification time (webpki keeps only a root's name and key).
    ///
    /// # Errors
    /// [`TsaError::Malformed`] for a certificate that does not parse; [`TsaError::InvalidInput`]
    /// for an empty list.
    pub fn from_der<C: AsRef<[u8]>>(roots: &[C]) -> Result<Self, TsaError> {
        if roots.is_empty() {
            return Err(TsaError::InvalidInput("no trust anchor".into()));
        }
        let mut anchors = Vec::with_capacity(roots.len());
        for der in roots {
            let parsed = ParsedCert::parse(der.as_ref())?;
            let (not_before, not_after) = parsed.validity_secs();
            let cert_der = CertificateDer::from(der.as_ref());
            let anchor = webpki::anchor_from_trusted_cert(&cert_der)
                .map_err(|e| TsaError::Malformed(format!("trust anchor: {e}")))?
                .to_owned();
            anchors.push(Anchor {
                anchor,
                not_before,
                not_after,
            });
        }
        Ok(TrustAnchors { anchors })
    }

    /// Trust anchors from the `CERTIFICATE` blocks of a PEM text.
    ///
    /// # Errors
    /// As [`certs_from_pem`] and [`TrustAnchors::from_der`].
    pub fn from_pem(text: &str) -> Result<Self, TsaError> {
        Self::from_der(&certs_from_pem(text)?)
    }

    /// The number of anchors.
    #[must_use]
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there is no anchor (never true for a constructed value).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

#[derive(Clone, Copy, Debug)]
enum Expected<'a> {
    Data(&'a [u8]),
    Imprint(&'a MessageImprint),
}

/// What the caller expects of a token besides a trusted signature.
#[derive(Clone, Copy, Debug)]
pub struct TokenCheck<'a> {
    expected: Expected<'a>,
    nonce: Option<&'a [u8]>,
    policy: Option<Oid>,
    extra_certs: &'a [Vec<u8>],
    accept_ess_v1: bool,
}

impl<'a> TokenCheck<'a> {
    /// The token must time-stamp `data` (hashed with the token's imprint algorithm).
    #[must_use]
    pub fn for_data(data: &'a [u8]) -> Self {
        Self::new(Expected::Data(data))
    }

    /// The token must carry exactly this imprint (algorithm and digest).
    #[must_use]
    pub fn for_imprint(imprint: &'a MessageImprint) -> Self {
        Self::new(Expected::Imprint(imprint))
    }

    fn new(expected: Expected<'a>) -> Self {
        TokenCheck {
            expected,
            nonce: None,
            policy: None,
            extra_certs: &[],
            accept_ess_v1: false,
        }
    }

    /// The token must echo this nonce (unsigned big-endian; leading zeros do not matter).
    #[must_use]
    pub fn nonce(mut self, nonce: &'a [u8]) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// The token's policy must be this one.
    #[must_use]
    pub fn policy(mut self, policy: Oid) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Certificates (DER) to search for the signer and intermediates besides the token's own:
    /// needed for tokens requested with certReq false (like `openssl ts -verify -untrusted`).
    #[must_use]
    pub fn extra_certs(mut self, certs: &'a [Vec<u8>]) -> Self {
        self.extra_certs = certs;
        self
    }

    /// Also accept the ESS signingCertificate v1 attribute (SHA-1 certificate hash), which
    /// older TSAs and `openssl ts -reply` with its default `ess_cert_id_alg` emit. Off by
    /// default.
    #[must_use]
    pub fn accept_ess_v1(mut self, yes: bool) -> Self {
        self.accept_ess_v1 = yes;
        self
    }
}

/// A verified time-stamp: what the token asserts, once every check passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// The TSA's genTime.
    pub gen_time: UnixTime,
    /// The serial number, unsigned big-endian without leading zeros (empty for zero).
    pub serial: Vec<u8>,
    /// The TSA policy under which the token was issued.
    pub policy: Oid,
    /// The nonce, unsigned big-endian without leading zeros.
    pub nonce: Option<Vec<u8>>,
    /// The time-stamped imprint.
    pub imprint: MessageImprint,
    /// The accuracy, if stated.
    pub accuracy: Option<Accuracy>,
    /// The ordering flag.
    pub ordering: bool,
    /// The TSTInfo `tsa` name (RFC 4514 text for a directory name), if present.
    pub tsa_name: Option<String>,
    /// The signer certificate's subject (RFC 4514 text).
    pub signer_subject: String,
    /// The signer certificate (DER).
    pub signer_cert: Vec<u8>,
    /// The bare TimeStampToken (DER), also when a TimeStampResp was given.
    pub token: Vec<u8>,
}

impl VerifiedTimestamp {
    /// The serial as a number, if it fits in 128 bits.
    #[must_use]
    pub fn serial_u128(&self) -> Option<u128> {
        if self.serial.len() > 16 {
            return None;
        }
        Some(
            self.serial
                .iter()
                .fold(0u128, |acc, b| (acc << 8) | u128::from(*b)),
        )
    }

    /// The serial in lowercase hex ("0" for zero).
    #[must_use]
    pub fn serial_hex(&self) -> String {
        if self.serial.is_empty() {
            return "0".into();
        }
        self.serial.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Verifies a `TimeStampResp` or a bare `TimeStampToken` (DER) against the caller's
/// expectations and trust anchors, at the verification time `at` (the caller's trusted "now";
/// certificate validity is checked at `at`, and genTime must fall inside the signer
/// certificate's validity).
///
/// # Errors
/// The first failed check, as a [`TsaError`] with a stable `reason_code()` (see the module
/// documentation for the order).
pub fn verify_token(
    der: &[u8],
    check: &TokenCheck<'_>,
    anchors: &TrustAnchors,
    at: UnixTime,
) -> Result<VerifiedTimestamp, TsaError> {
    let token = unwrap_token(der)?;
    let core = verify_core(&token, check.extra_certs, check.accept_ess_v1)?;
    let signer = &core.signer;

    signer.check_tsa_eku()?;
    signer.check_signing_key_usage()?;
    check_path(&core, anchors, at)?;

    let gen_time = core.tst.gen_time.0;
    let (not_before, not_after) = signer.validity_secs();
    if gen_time.secs() < not_before || gen_time.secs() > not_after {
        return Err(TsaError::GenTimeOutsideCertValidity);
    }

    let tst = &core.tst;
    if let Some(critical) = tst.extensions.iter().flatten().find(|e| e.critical) {
        return Err(TsaError::UnsupportedCriticalExtension(
            critical.extn_id.to_string(),
        ));
    }
    let tsa_name = match &tst.tsa {
        None => None,
        Some(GeneralName::DirectoryName(name)) => {
            if *name != signer.cert.tbs_certificate.subject {
                return Err(TsaError::TsaNameMismatch);
            }
            Some(name.to_string())
        }
        // Other name forms (DNS, URI...) are reported but not matched against the certificate.
        Some(other) => Some(format!("{other:?}")),
    };

    match check.expected {
        Expected::Data(data) => {
            if core.imprint.alg().digest(data) != core.imprint.digest() {
                return Err(TsaError::ImprintMismatch);
            }
        }
        Expected::Imprint(imprint) => {
            if *imprint != core.imprint {
                return Err(TsaError::ImprintMismatch);
            }
        }
    }

    let nonce = match &tst.nonce {
        None => None,
        Some(n) => {
            Some(int_magnitude(n).ok_or_else(|| TsaError::Malformed("negative nonce".into()))?)
        }
    };
    if let Some(expected) = check.nonce {
        let skip = expected.iter().take_while(|b| **b == 0).count();
        let expected = expected.get(skip..).unwrap_or_default();
        if nonce.as_deref() != Some(expected) {
            return Err(TsaError::NonceMismatch);
        }
    }
    let policy = Oid(tst.policy);
    if let Some(required) = check.policy.filter(|r| *r != policy) {
        return Err(TsaError::PolicyMismatch {
            expected: required.to_string(),
            found: policy.to_string(),
        });
    }

    Ok(VerifiedTimestamp {
        gen_time,
        serial: core.serial.clone(),
        policy,
        nonce,
        imprint: core.imprint.clone(),
        accuracy: core.accuracy,
        ordering: tst.ordering,
        tsa_name,
        signer_subject: signer.subject_text(),
        signer_cert: signer.der.clone(),
        token,
    })
}

/// A response must be granted; its token is returned. A bare token is returned as is.
fn unwrap_token(der: &[u8]) -> Result<Vec<u8>, TsaError> {
    let mut reader = SliceReader::new(der).map_err(malformed("input"))?;
    let header = Header::decode(&mut reader).map_err(malformed("input"))?;
    if header.tag != Tag::Sequence {
        return Err(TsaError::Malformed("input is not a SEQUENCE".into()));
    }
    match reader.peek_tag().map_err(malformed("input"))? {
        Tag::ObjectIdentifier => Ok(der.to_vec()),
        Tag::Sequence => {
            let resp = parse_response(der)?;
            match resp.token {
                Some(token) if resp.is_granted() => Ok(token),
                _ => Err(TsaError::NotGranted {
                    status: resp.status.value(),
                    failures: resp.failures,
                }),
            }
        }
        other => Err(TsaError::Malformed(format!(
            "neither a TimeStampResp nor a ContentInfo (first element {other})"
        ))),
    }
}

/// What [`verify_core`] established: the signature, messageDigest and ESS binding hold.
pub(crate) struct TokenCore {
    pub tst: TstInfo,
    pub imprint: MessageImprint,
    pub serial: Vec<u8>,
    pub accuracy: Option<Accuracy>,
    pub signer: ParsedCert,
    pub others: Vec<ParsedCert>,
}

/// Structure, signer lookup, signature, messageDigest and ESS checks: everything that does not
/// need trust anchors or the caller's expectations. The signer's self-test runs this too.
pub(crate) fn verify_core(
    token: &[u8],
    extra_certs: &[Vec<u8>],
    accept_ess_v1: bool,
) -> Result<TokenCore, TsaError> {
    let ci = ContentInfo::from_der(token).map_err(malformed("ContentInfo"))?;
    if ci.content_type != OID_SIGNED_DATA {
        return Err(TsaError::ContentTypeMismatch(format!(
            "ContentInfo type {} is not signedData",
            ci.content_type
        )));
    }
    let sd: SignedData = ci.content.decode_as().map_err(malformed("SignedData"))?;
    if sd.encap_content_info.econtent_type != OID_CT_TSTINFO {
        return Err(TsaError::ContentTypeMismatch(format!(
            "eContentType {} is not id-ct-TSTInfo",
            sd.encap_content_info.econtent_type
        )));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| TsaError::Malformed("no eContent".into()))?;
    if econtent.tag() != Tag::OctetString {
        return Err(TsaError::Malformed(
            "eContent is not a primitive OCTET STRING".into(),
        ));
    }
    let tst_bytes = econtent.value();
    let tst = TstInfo::from_der(tst_bytes).map_err(malformed("TSTInfo"))?;
    if tst.version.as_bytes() != [1] {
        return Err(TsaError::Malformed("TSTInfo version is not 1".into()));
    }
    let imprint_alg = HashAlg::from_algorithm_identifier(&tst.message_imprint.hash_algorithm)
        .ok_or_else(|| {
            TsaError::UnsupportedAlgorithm(format!(
                "imprint algorithm {}",
                tst.message_imprint.hash_algorithm.oid
            ))
        })?;
    let imprint =
        MessageImprint::from_digest(imprint_alg, tst.message_imprint.hashed_message.as_bytes())
            .map_err(|_| TsaError::Malformed("imprint length does not match algorithm".into()))?;
    let serial = int_magnitude(&tst.serial_number)
        .ok_or_else(|| TsaError::Malformed("negative serial number".into()))?;
    let accuracy = match &tst.accuracy {
        None => None,
        Some(a) => Some(
            Accuracy::from_der_struct(a)
                .ok_or_else(|| TsaError::Malformed("accuracy out of range".into()))?,
        ),
    };

    let signer_infos = sd
        .signer_infos
        .raw_elements()
        .map_err(malformed("signerInfos"))?;
    let [si_der] = signer_infos.as_slice() else {
        return Err(TsaError::Malformed(format!(
            "a time-stamp token has exactly one SignerInfo, found {}",
            signer_infos.len()
        )));
    };
    let si = SignerInfo::from_der(si_der).map_err(malformed("SignerInfo"))?;

    let mut certs = Vec::new();
    if let Some(set) = &sd.certificates {
        for raw in set.raw_elements().map_err(malformed("certificates"))? {
            // Only plain certificates (CertificateChoices' untagged arm) are candidates.
            if raw.first() == Some(&0x30) {
                certs.push(ParsedCert::parse(raw)?);
            }
        }
    }
    for der in extra_certs {
        certs.push(ParsedCert::parse(der)?);
    }
    let signer_index = certs
        .iter()
        .position(|c| matches_sid(c, &si.sid))
        .ok_or(TsaError::SignerNotFound)?;
    let signer = certs.swap_remove(signer_index);

    let attrs_set = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| TsaError::Malformed("no signed attributes".into()))?;
    let attrs: Vec<AttributeDer> = attrs_set.elements().map_err(malformed("signedAttrs"))?;
    for (i, a) in attrs.iter().enumerate() {
        if attrs.iter().skip(i + 1).any(|b| b.oid == a.oid) {
            return Err(TsaError::Malformed(format!(
                "signed attribute {} twice",
                a.oid
            )));
        }
    }
    let single = |oid: ObjectIdentifier| -> Result<Option<&[u8]>, TsaError> {
        let Some(attr) = attrs.iter().find(|a| a.oid == oid) else {
            return Ok(None);
        };
        let values = attr
            .values
            .raw_elements()
            .map_err(malformed("attribute values"))?;
        match values.as_slice() {
            [one] => Ok(Some(*one)),
            _ => Err(TsaError::Malformed(format!(
                "attribute {oid} is not single-valued"
            ))),
        }
    };

    let digest_alg = HashAlg::from_algorithm_identifier(&si.digest_alg).ok_or_else(|| {
        TsaError::UnsupportedAlgorithm(format!("digest algorithm {}", si.digest_alg.oid))
    })?;
    verify_signature(
        &signer,
        &si.signature_algorithm,
        digest_alg,
        &attrs_set.to_set_der(),
        si.signature.as_bytes(),
    )?;

    let content_type = single(OID_ATTR_CONTENT_TYPE)?
        .ok_or_else(|| TsaError::Malformed("no contentType attribute".into()))?;
    let content_type =
        ObjectIdentifier::from_der(content_type).map_err(malformed("contentType attribute"))?;
    if content_type != OID_CT_TSTINFO {
        return Err(TsaError::ContentTypeMismatch(format!(
            "contentType attribute {content_type}"
        )));
    }
    let md = single(OID_ATTR_MESSAGE_DIGEST)?
        .ok_or_else(|| TsaError::Malformed("no messageDigest attribute".into()))?;
    let md = der::asn1::OctetString::from_der(md).map_err(malformed("messageDigest"))?;
    if md.as_bytes() != digest_alg.digest(tst_bytes).as_slice() {
        return Err(TsaError::MessageDigestMismatch);
    }

    if let Some(v2) = single(OID_ATTR_SIGNING_CERT_V2)? {
        let sc = SigningCertificateV2::from_der(v2).map_err(malformed("signingCertificateV2"))?;
        let first = sc.certs.first().ok_or(TsaError::MissingEssCertId)?;
        let hash_alg = first.hash_algorithm();
        let alg = HashAlg::from_algorithm_identifier(&hash_alg).ok_or_else(|| {
            TsaError::UnsupportedAlgorithm(format!("ESS certificate hash {}", hash_alg.oid))
        })?;
        if first.cert_hash.as_bytes() != alg.digest(&signer.der).as_slice() {
            return Err(TsaError::EssCertIdMismatch);
        }
        check_issuer_serial(first.issuer_serial.as_ref(), &signer)?;
    } else if let (true, Some(v1)) = (accept_ess_v1, single(OID_ATTR_SIGNING_CERT_V1)?) {
        let sc = SigningCertificateV1::from_der(v1).map_err(malformed("signingCertificate"))?;
        let first = sc.certs.first().ok_or(TsaError::MissingEssCertId)?;
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &signer.der);
        if first.cert_hash.as_bytes() != sha1.as_ref() {
            return Err(TsaError::EssCertIdMismatch);
        }
        check_issuer_serial(first.issuer_serial.as_ref(), &signer)?;
    } else {
        return Err(TsaError::MissingEssCertId);
    }

    Ok(TokenCore {
        tst,
        imprint,
        serial,
        accuracy,
        signer,
        others: certs,
    })
}

fn matches_sid(cert: &ParsedCert, sid: &SignerIdentifier) -> bool {
    let tbs = &cert.cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            isn.issuer == tbs.issuer && isn.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            cert.subject_key_id().as_deref() == Some(ski.0.as_bytes())
        }
    }
}

fn check_issuer_serial(is: Option<&IssuerSerial>, signer: &ParsedCert) -> Result<(), TsaError> {
    let Some(is) = is else {
        return Ok(());
    };
    let tbs = &signer.cert.tbs_certificate;
    let issuer_ok = is
        .issuer
        .iter()
        .any(|g| matches!(g, GeneralName::DirectoryName(n) if *n == tbs.issuer));
    if issuer_ok && is.serial_number == tbs.serial_number {
        Ok(())
    } else {
        Err(TsaError::EssCertIdMismatch)
    }
}

/// Verifies the CMS signature (ECDSA P-256/P-384 or RSA PKCS#1 v1.5) with the signer's key.
/// The signature algorithm's hash, when it names one, must be the SignerInfo digest algorithm.
fn verify_signature(
    signer: &ParsedCert,
    sig_alg: &AlgorithmIdentifierOwned,
    digest_alg: HashAlg,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), TsaError> {
    let spki = &signer.cert.tbs_certificate.subject_public_key_info;
    let key = signer
        .public_key_bytes()
        .ok_or_else(|| TsaError::Malformed("public key bit string".into()))?;
    let unsupported = || {
        TsaError::UnsupportedAlgorithm(format!(
            "signature {} with key {} and digest {digest_alg}",
            sig_alg.oid, spki.algorithm.oid
        ))
    };
    let named_hash = match sig_alg.oid {
        o if o == OID_ECDSA_SHA256 || o == OID_RSA_SHA256 => Some(HashAlg::Sha256),
        o if o == OID_ECDSA_SHA384 || o == OID_RSA_SHA384 => Some(HashAlg::Sha384),
        o if o == OID_ECDSA_SHA512 || o == OID_RSA_SHA512 => Some(HashAlg::Sha512),
        // Bare key OIDs as signature algorithm (older CMS producers): the digest decides.
        o if o == OID_EC_PUBLIC_KEY || o == OID_RSA_ENCRYPTION => None,
        _ => return Err(unsupported()),
    };
    if named_hash.is_some_and(|h| h != digest_alg) {
        return Err(unsupported());
    }
    let is_ec_sig = [
        OID_ECDSA_SHA256,
        OID_ECDSA_SHA384,
        OID_ECDSA_SHA512,
        OID_EC_PUBLIC_KEY,
    ]
    .contains(&sig_alg.oid);
    let alg: &'static dyn VerificationAlgorithm =
        if spki.algorithm.oid == OID_EC_PUBLIC_KEY && is_ec_sig {
            let curve: ObjectIdentifier = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as().ok())
                .ok_or_else(unsupported)?;
            match (curve, digest_alg) {
                (c, HashAlg::Sha256) if c == OID_P256 => &signature::ECDSA_P256_SHA256_ASN1,
                (c, HashAlg::Sha384) if c == OID_P256 => &signature::ECDSA_P256_SHA384_ASN1,
                (c, HashAlg::Sha512) if c == OID_P256 => &signature::ECDSA_P256_SHA512_ASN1,
                (c, HashAlg::Sha256) if c == OID_P384 => &signature::ECDSA_P384_SHA256_ASN1,
                (c, HashAlg::Sha384) if c == OID_P384 => &signature::ECDSA_P384_SHA384_ASN1,
                (c, HashAlg::Sha512) if c == OID_P384 => &signature::ECDSA_P384_SHA512_ASN1,
                _ => return Err(unsupported()),
            }
        } else if spki.algorithm.oid == OID_RSA_ENCRYPTION && !is_ec_sig {
            match digest_alg {
                HashAlg::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                HashAlg::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                HashAlg::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            }
        } else {
            return Err(unsupported());
        };
    UnparsedPublicKey::new(alg, key)
        .verify(msg, sig)
        .map_err(|_| TsaError::BadSignature)
}

/// Path validation of the signer certificate to an anchor valid at `at`.
fn check_path(core: &TokenCore, anchors: &TrustAnchors, at: UnixTime) -> Result<(), TsaError> {
    let ee_der = CertificateDer::from(core.signer.der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&ee_der)
        .map_err(|e| TsaError::UntrustedSigner(format!("signer certificate: {e}")))?;
    let intermediates: Vec<CertificateDer<'_>> = core
        .others
        .iter()
        .map(|c| CertificateDer::from(c.der.as_slice()))
        .collect();
    let time = rustls_pki_types::UnixTime::since_unix_epoch(Duration::from_secs(at.secs()));
    let verify = |set: &[TrustAnchor<'static>]| {
        ee.verify_for_usage(
            PATH_ALGS,
            set,
            &intermediates,
            time,
            TimeStampingIfPresent,
            None,
            None,
        )
        .map(|_| ())
    };
    let valid: Vec<TrustAnchor<'static>> = anchors
        .anchors
        .iter()
        .filter(|a| a.not_before <= at.secs() && at.secs() <= a.not_after)
        .map(|a| a.anchor.clone())
        .collect();
    match verify(&valid) {
        Ok(()) => Ok(()),
        Err(e @ (webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. })) => {
            Err(TsaError::CertificateExpired(e.to_string()))
        }
        Err(e) => {
            // Tell an expired root apart from an unknown one.
            let all: Vec<TrustAnchor<'static>> =
                anchors.anchors.iter().map(|a| a.anchor.clone()).collect();
            if valid.len() != all.len() && verify(&all).is_ok() {
                Err(TsaError::CertificateExpired(
                    "trust anchor not valid at the verification time".into(),
                ))
            } else {
                Err(TsaError::UntrustedSigner(e.to_string()))
            }
        }
    }
}
