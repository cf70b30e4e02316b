//! Issuer rotation (seed 001 dual-certificate window): a retiring root keeps anchoring chains
//! in the `grace` state until its window closes, then they are refused
//! (`outside_rotation_window`); chains to the new root are `active`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_vendor::{
    DeviceEvidence, FirmwareRule, PublicKeyBytes, UnixTime, VendorRegistry, VendorTrust,
};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

const FIRMWARE: &str = "sha256:5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(365);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    }
    p
}

/// A root and a device leaf under it: (root PEM, leaf chain DER, leaf key).
fn pki(name: &str) -> (String, Vec<Vec<u8>>, PublicKeyBytes) {
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let root_params = params(name, true);
    let root = root_params.self_signed(&root_key).unwrap();
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let leaf = params("SEAL-1", false)
        .signed_by(&leaf_key, &Issuer::from_params(&root_params, &root_key))
        .unwrap();
    (
        root.pem(),
        vec![leaf.der().to_vec()],
        PublicKeyBytes::ed25519(leaf_key.public_key_raw()).unwrap(),
    )
}

fn check(
    registry: &VendorRegistry,
    chain: &[Vec<u8>],
    key: &PublicKeyBytes,
) -> Result<&'static str, &'static str> {
    let evidence = DeviceEvidence {
        vendor: "acme".into(),
        device_type: "AS-100".into(),
        hardware_revision: "C".into(),
        chain: chain.to_vec(),
        firmware_measurement: FIRMWARE.into(),
    };
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    registry
        .check(&evidence, key, UnixTime::from_secs(now))
        .map(|a| a.rotation_state())
        .map_err(|e| e.reason_code())
}

fn registry(new_root: &str, old_root: &str, until: OffsetDateTime) -> VendorRegistry {
    let mut r = VendorRegistry::new();
    r.insert(
        VendorTrust::builder("acme")
            .root(new_root)
            .retiring_root(old_root, until.unix_timestamp())
            .allow_firmware(FirmwareRule::new(FIRMWARE.parse().unwrap()))
            .build()
            .unwrap(),
    )
    .unwrap();
    r
}

#[test]
fn a_retiring_root_is_accepted_in_grace_until_its_window_closes() {
    let (new_root, new_chain, new_key) = pki("New Root");
    let (old_root, old_chain, old_key) = pki("Old Root");
    let now = OffsetDateTime::now_utc();

    let open = registry(&new_root, &old_root, now + Duration::days(30));
    assert_eq!(check(&open, &new_chain, &new_key), Ok("active"));
    assert_eq!(check(&open, &old_chain, &old_key), Ok("grace"));

    let closed = registry(&new_root, &old_root, now - Duration::days(1));
    assert_eq!(check(&closed, &new_chain, &new_key), Ok("active"));
    assert_eq!(
        check(&closed, &old_chain, &old_key),
        Err("outside_rotation_window")
    );

    // The same window in the file format.
    let toml = format!(
        "format = \"cphar-vendor-trust/1\"\n[[vendors]]\nid = \"acme\"\nroots = ['''\n{new_root}''']\n\
         retiring_roots = [{{ root = '''\n{old_root}''', until = \"2000-01-01T00:00:00Z\" }}]\n\
         [[vendors.firmware]]\nmeasurement = \"{FIRMWARE}\"\n"
    );
    let from_file = VendorRegistry::from_toml(&toml).unwrap();
    assert_eq!(
        check(&from_file, &old_chain, &old_key),
        Err("outside_rotation_window")
    );
}
