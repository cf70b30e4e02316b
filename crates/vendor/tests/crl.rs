//! Vendor CRLs: accepted only from a CA of a configured vendor, with a valid signature and a
//! nextUpdate; status lookups for good, revoked and stale.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_vendor::{CertificateStatus, CrlSet, UnixTime, VendorRegistry, VendorTrust};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use time::{Duration, OffsetDateTime};

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

fn ca(cn: &str, usages: Vec<KeyUsagePurpose>, parent: Option<&Ca>) -> Ca {
    ca_with(
        cn,
        usages,
        parent,
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
    )
}

fn ca_with(cn: &str, usages: Vec<KeyUsagePurpose>, parent: Option<&Ca>, key: KeyPair) -> Ca {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = usages;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(365);
    let cert = match parent {
        None => params.self_signed(&key).unwrap(),
        Some(p) => params
            .signed_by(&key, &Issuer::from_params(&p.params, &p.key))
            .unwrap(),
    };
    Ca {
        der: cert.der().to_vec(),
        params,
        key,
    }
}

fn crl(by: &Ca, revoked: &[u8], this_ago: Duration, next_in: Duration) -> Vec<u8> {
    let now = OffsetDateTime::now_utc();
    CertificateRevocationListParams {
        this_update: now - this_ago,
        next_update: now + next_in,
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(revoked),
            revocation_time: now - this_ago,
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&Issuer::from_params(&by.params, &by.key))
    .unwrap()
    .der()
    .to_vec()
}

fn now() -> (UnixTime, i64) {
    let secs = OffsetDateTime::now_utc().unix_timestamp();
    (UnixTime::from_secs(u64::try_from(secs).unwrap()), secs)
}

#[test]
fn crls_are_verified_then_looked_up() {
    let sign = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root = ca("Root", sign.clone(), None);
    let device_ca = ca("Device CA", sign.clone(), Some(&root));
    let stranger = ca("Stranger CA", sign.clone(), None);
    // The same CA name and key certified twice, once without cRLSign.
    let no_crl_sign = ca_with(
        "Device CA",
        vec![KeyUsagePurpose::KeyCertSign],
        Some(&root),
        KeyPair::from_pem(&device_ca.key.serialize_pem()).unwrap(),
    );
    let mut registry = VendorRegistry::new();
    registry
        .insert(
            VendorTrust::builder("acme")
                .root(&root.der)
                .build()
                .unwrap(),
        )
        .unwrap();
    let (at, secs) = now();

    // Good CRL from the issuing CA.
    let good = crl(&device_ca, &[0x42], Duration::hours(1), Duration::days(1));
    let verified = registry.verify_crl(&good, &device_ca.der, at).unwrap();
    assert_eq!(verified.vendor(), "acme");
    assert_eq!(verified.revoked_count(), 1);

    // Signed by a CA no configured vendor trusts.
    let foreign = crl(&stranger, &[0x42], Duration::hours(1), Duration::days(1));
    assert_eq!(
        registry
            .verify_crl(&foreign, &stranger.der, at)
            .unwrap_err()
            .reason_code(),
        "crl_issuer_untrusted"
    );
    // Claimed for the device CA but signed by the stranger.
    assert_eq!(
        registry
            .verify_crl(&foreign, &device_ca.der, at)
            .unwrap_err()
            .reason_code(),
        "crl_signature_invalid"
    );
    // A CA without cRLSign.
    assert_eq!(
        registry
            .verify_crl(&good, &no_crl_sign.der, at)
            .unwrap_err()
            .reason_code(),
        "crl_issuer_untrusted"
    );
    // Not a CRL.
    assert_eq!(
        registry
            .verify_crl(b"junk", &device_ca.der, at)
            .unwrap_err()
            .reason_code(),
        "crl_malformed"
    );

    let issuer = verified.issuer_dn().to_owned();
    let mut set = CrlSet::new(Some(86_400));
    assert_eq!(set.status(&issuer, "42", secs), CertificateStatus::NoCrl);
    set.insert(verified);
    assert!(matches!(
        set.status(&issuer, "42", secs),
        CertificateStatus::Revoked { .. }
    ));
    assert_eq!(set.status(&issuer, "43", secs), CertificateStatus::Good);
    // Past nextUpdate, or older than the maximum age: stale, whatever it lists.
    assert!(matches!(
        set.status(&issuer, "43", secs + 2 * 86_400),
        CertificateStatus::CrlStale { .. }
    ));
    let old = crl(&device_ca, &[0x42], Duration::days(3), Duration::days(10));
    let mut strict = CrlSet::new(Some(86_400));
    strict.insert(registry.verify_crl(&old, &device_ca.der, at).unwrap());
    assert!(matches!(
        strict.status(&issuer, "43", secs),
        CertificateStatus::CrlStale { .. }
    ));
    // A newer CRL replaces an older one; an older one does not replace a newer one.
    let newer = crl(&device_ca, &[0x43], Duration::minutes(1), Duration::days(1));
    strict.insert(registry.verify_crl(&newer, &device_ca.der, at).unwrap());
    assert_eq!(strict.status(&issuer, "42", secs), CertificateStatus::Good);
    strict.insert(registry.verify_crl(&old, &device_ca.der, at).unwrap());
    assert!(matches!(
        strict.status(&issuer, "43", secs),
        CertificateStatus::Revoked { .. }
    ));
}
