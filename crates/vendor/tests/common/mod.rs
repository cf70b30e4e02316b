//! Test PKI built with rcgen: roots, intermediates and device certificates with exactly the
//! properties each test needs.

// Helpers on fixed test data; a panic here is a test failure, which is what we want.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cphar_vendor::{
    DeviceEvidence, FirmwareMeasurement, FirmwareRule, PublicKeyBytes, UnixTime, VendorRegistry,
    VendorTrust,
};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber, SignatureAlgorithm,
};
use time::macros::datetime;

pub const VENDOR: &str = "acme-seals";
pub const DEVICE_TYPE: &str = "seal-x1";
pub const HW_REV: &str = "B";

/// 2026-06-01T00:00:00Z: inside every default validity period below.
pub const AT: UnixTime = UnixTime::from_secs(1_780_272_000);

pub fn firmware() -> String {
    format!("sha256:{}", "a1".repeat(32))
}

pub fn other_firmware() -> String {
    format!("sha256:{}", "b2".repeat(32))
}

/// A certificate and its key, plus the parameters needed to issue under it.
pub struct Node {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub der: Vec<u8>,
    pub pem: String,
}

impl Node {
    pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// The key as the registry would state it.
    pub fn public_key(&self) -> PublicKeyBytes {
        let raw = self.key.public_key_raw();
        match raw.len() {
            32 => PublicKeyBytes::ed25519(raw).unwrap(),
            65 => PublicKeyBytes::p256_sec1(raw).unwrap(),
            97 => PublicKeyBytes::p384_sec1(raw).unwrap(),
            n => panic!("unexpected raw key length {n}"),
        }
    }
}

pub fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Acme Seals");
    dn.push(DnType::CommonName, cn);
    dn
}

pub fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = datetime!(2024-01-01 0:00 UTC);
    p.not_after = datetime!(2034-01-01 0:00 UTC);
    p
}

pub fn leaf_params(serial: &[u8]) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name("seal 0001");
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.serial_number = Some(SerialNumber::from_slice(serial));
    p.not_before = datetime!(2025-01-01 0:00 UTC);
    p.not_after = datetime!(2030-01-01 0:00 UTC);
    p
}

pub fn key(alg: &'static SignatureAlgorithm) -> KeyPair {
    KeyPair::generate_for(alg).unwrap()
}

pub fn self_signed(params: CertificateParams, key: KeyPair) -> Node {
    let cert = params.self_signed(&key).unwrap();
    Node {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        key,
    }
}

pub fn issue(params: CertificateParams, key: KeyPair, issuer: &Node) -> Node {
    let cert = params.signed_by(&key, &issuer.issuer()).unwrap();
    Node {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        key,
    }
}

/// root (P-384) → intermediate (P-256) → leaf with the given key algorithm.
pub struct Pki {
    pub root: Node,
    pub inter: Node,
    pub leaf: Node,
}

pub const LEAF_SERIAL: [u8; 4] = [0x01, 0x23, 0x45, 0x67];

pub fn pki(leaf_alg: &'static SignatureAlgorithm) -> Pki {
    let root = self_signed(
        ca_params("Acme Root CA"),
        key(&rcgen::PKCS_ECDSA_P384_SHA384),
    );
    let inter = issue(
        ca_params("Acme Device CA"),
        key(&rcgen::PKCS_ECDSA_P256_SHA256),
        &root,
    );
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(leaf_alg), &inter);
    Pki { root, inter, leaf }
}

pub fn registry_for(roots: &[&Node]) -> VendorRegistry {
    registry_with(roots, |b| b)
}

pub fn registry_with(
    roots: &[&Node],
    tweak: impl FnOnce(cphar_vendor::VendorTrustBuilder) -> cphar_vendor::VendorTrustBuilder,
) -> VendorRegistry {
    let mut builder = VendorTrust::builder(VENDOR);
    for r in roots {
        builder = builder.root(&r.der);
    }
    builder = builder.allow_firmware(
        FirmwareRule::new(firmware().parse::<FirmwareMeasurement>().unwrap()).label("fw 4.2.1"),
    );
    let mut registry = VendorRegistry::new();
    registry.insert(tweak(builder).build().unwrap()).unwrap();
    registry
}

pub fn evidence(chain: &[&Node]) -> DeviceEvidence {
    DeviceEvidence {
        vendor: VENDOR.to_owned(),
        device_type: DEVICE_TYPE.to_owned(),
        hardware_revision: HW_REV.to_owned(),
        chain: chain.iter().map(|n| n.der.clone()).collect(),
        firmware_measurement: firmware(),
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
