//! Development TSA chains: a root CA and a TSA leaf certificate made with rcgen, for tests and
//! for the server's dev mode (a local TSA chain created at first start).
//!
//! The leaf has what RFC 3161 §2.3 and `openssl ts -verify` require: a critical
//! extendedKeyUsage with only id-kp-timeStamping (rcgen writes EKU non-critical, so it is added
//! as a custom extension) and a critical keyUsage digitalSignature. The root's private key is
//! dropped once the leaf is signed: a dev chain cannot be extended, only replaced.

use cphar_crypto::{Algorithm, SigningKey};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SerialNumber,
};
use zeroize::Zeroizing;

use crate::TsaError;
use crate::cert::certs_to_pem;
use crate::time::{UnixTime, to_offset_datetime};

/// DER of `ExtKeyUsageSyntax ::= SEQUENCE { id-kp-timeStamping }`.
const EKU_TIME_STAMPING_DER: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
];
const OID_EXT_KEY_USAGE: [u64; 4] = [2, 5, 29, 37];

/// What a dev chain is made of.
#[derive(Clone, Copy, Debug)]
pub struct DevChainParams<'a> {
    /// The TSA key's algorithm: [`Algorithm::EcdsaP256Sha256`] or
    /// [`Algorithm::EcdsaP384Sha384`]. The root is always P-384.
    pub algorithm: Algorithm,
    /// Organization name put in both subjects (CN "`<org>` Dev TSA Root" / "`<org>` Dev TSA").
    pub organization: &'a str,
    /// Start of validity of both certificates (from the caller's clock: nothing here reads one).
    pub not_before: UnixTime,
    /// End of validity of both certificates.
    pub not_after: UnixTime,
}

/// A generated dev chain and the TSA key.
pub struct DevTsaChain {
    /// `[tsa_leaf, root]`, DER.
    pub chain_der: Vec<Vec<u8>>,
    /// The TSA leaf's private key, unencrypted PKCS#8 DER.
    pub key_pkcs8_der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for DevTsaChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTsaChain")
            .field("certificates", &self.chain_der.len())
            .finish_non_exhaustive()
    }
}

impl DevTsaChain {
    /// The TSA certificate (DER).
    #[must_use]
    pub fn leaf_der(&self) -> &[u8] {
        self.chain_der
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The root certificate (DER): the trust anchor for verifiers.
    #[must_use]
    pub fn root_der(&self) -> &[u8] {
        self.chain_der.last().map(Vec::as_slice).unwrap_or_default()
    }

    /// The TSA certificate as PEM.
    #[must_use]
    pub fn leaf_pem(&self) -> String {
        certs_to_pem(&[self.leaf_der()])
    }

    /// The root certificate as PEM.
    #[must_use]
    pub fn root_pem(&self) -> String {
        certs_to_pem(&[self.root_der()])
    }

    /// The TSA key as PKCS#8 PEM (`PRIVATE KEY`).
    #[must_use]
    pub fn key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(
            der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &self.key_pkcs8_der)
                .unwrap_or_default(),
        )
    }
}

/// Generates a root CA and a TSA leaf certificate (see the module documentation).
///
/// # Errors
/// [`TsaError::UnsupportedAlgorithm`] for a key algorithm other than ECDSA P-256/P-384,
/// [`TsaError::InvalidInput`] for an empty or inverted validity, [`TsaError::Crypto`] if key
/// or certificate generation fails.
pub fn dev_tsa_chain(params: &DevChainParams<'_>) -> Result<DevTsaChain, TsaError> {
    let leaf_alg = match params.algorithm {
        Algorithm::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        Algorithm::EcdsaP384Sha384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        other => {
            return Err(TsaError::UnsupportedAlgorithm(format!(
                "TSA key {other}: only ECDSA P-256 and P-384"
            )));
        }
    };
    if params.not_before >= params.not_after {
        return Err(TsaError::InvalidInput(
            "not_before must be before not_after".into(),
        ));
    }
    let crypto = |e: rcgen::Error| TsaError::Crypto(format!("certificate generation: {e}"));
    let not_before = to_offset_datetime(params.not_before)?;
    let not_after = to_offset_datetime(params.not_after)?;

    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(crypto)?;
    let mut root = CertificateParams::default();
    root.distinguished_name = name(params.organization, "Dev TSA Root");
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.not_before = not_before;
    root.not_after = not_after;
    root.serial_number = Some(random_serial()?);
    let root_cert = root.self_signed(&root_key).map_err(crypto)?;

    // The TSA key is made (and self-tested) by cphar-crypto, then handed to rcgen to certify.
    let tsa_key = SigningKey::generate(params.algorithm)
        .map_err(|e| TsaError::Crypto(format!("TSA key generation: {e}")))?;
    let pkcs8 = tsa_key
        .to_pkcs8_der()
        .map_err(|e| TsaError::Crypto(format!("TSA key export: {e}")))?;
    drop(tsa_key);
    let leaf_key = KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_slice()),
        leaf_alg,
    )
    .map_err(crypto)?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = name(params.organization, "Dev TSA");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let mut eku =
        CustomExtension::from_oid_content(&OID_EXT_KEY_USAGE, EKU_TIME_STAMPING_DER.to_vec());
    eku.set_criticality(true);
    leaf.custom_extensions = vec![eku];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    leaf.serial_number = Some(random_serial()?);
    let issuer = Issuer::from_params(&root, &root_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(crypto)?;

    Ok(DevTsaChain {
        chain_der: vec![leaf_cert.der().to_vec(), root_cert.der().to_vec()],
        key_pkcs8_der: Zeroizing::new(pkcs8.to_vec()),
    })
}

fn name(org: &str, role: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, format!("{org} {role}"));
    dn
}

/// A random positive 16-byte certificate serial (RFC 5280 §4.1.2.2: at most 20 octets).
fn random_serial() -> Result<SerialNumber, TsaError> {
    let mut bytes =
        cphar_crypto::random_bytes::<16>().map_err(|e| TsaError::Crypto(format!("serial: {e}")))?;
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7f) | 0x40;
    }
    Ok(SerialNumber::from_slice(&bytes))
}
