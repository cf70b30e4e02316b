//! Chains built with rcgen: each valid shape is accepted with the right record, and each defect
//! is refused with its exact reason code.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use cphar_vendor::{
    AttestationError, CertPosition, DeviceEvidence, FirmwareRule, PublicKeyBytes, REASON_CODES,
    UnixTime, VendorRegistry,
};
use rcgen::{
    BasicConstraints, CustomExtension, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    SignatureAlgorithm,
};
use time::macros::datetime;

fn code(r: Result<cphar_vendor::AcceptedDevice, AttestationError>) -> &'static str {
    match r {
        Ok(_) => "accepted",
        Err(e) => {
            // Every refusal must explain itself on one line.
            let text = e.to_string();
            assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
            e.reason_code()
        }
    }
}

fn valid_chain_accepted(alg: &'static SignatureAlgorithm, key_name: &str) {
    let pki = pki(alg);
    let registry = registry_for(&[&pki.root]);
    let ev = evidence(&[&pki.leaf, &pki.inter]);
    let accepted = registry.check(&ev, &pki.leaf.public_key(), AT).unwrap();

    assert_eq!(accepted.public_key().algorithm(), key_name);
    assert_eq!(accepted.leaf_serial_hex(), "01234567");
    assert_eq!(accepted.vendor(), VENDOR);
    assert_eq!(accepted.device_type(), DEVICE_TYPE);
    assert_eq!(accepted.hardware_revision(), HW_REV);
    assert_eq!(accepted.firmware().to_string(), firmware());
    assert_eq!(accepted.firmware_label(), Some("fw 4.2.1"));
    assert!(accepted.leaf_issuer_dn().contains("CN=Acme Device CA"));
    assert!(accepted.leaf_subject_dn().contains("CN=seal 0001"));
    assert!(accepted.root_subject_dn().contains("CN=Acme Root CA"));
    assert_eq!(
        accepted.leaf_fingerprint_sha256(),
        sha256_hex(&pki.leaf.der)
    );
    assert_eq!(
        accepted.chain_fingerprints(),
        vec![
            sha256_hex(&pki.leaf.der),
            sha256_hex(&pki.inter.der),
            sha256_hex(&pki.root.der)
        ]
    );
    assert_eq!(accepted.root_fingerprint(), sha256_hex(&pki.root.der));
    assert_eq!(accepted.not_before(), 1_735_689_600); // 2025-01-01
    assert_eq!(accepted.not_after(), 1_893_456_000); // 2030-01-01
    assert_eq!(accepted.verified_at(), AT);
    let key = accepted.clone_detection_key();
    let (issuer_hash, serial) = key.split_once(':').unwrap();
    assert_eq!(issuer_hash, sha256_hex(accepted.leaf_issuer_der()));
    assert_eq!(serial, "01234567");
}

#[test]
fn valid_ed25519_leaf() {
    valid_chain_accepted(&rcgen::PKCS_ED25519, "Ed25519");
}

#[test]
fn valid_p256_leaf() {
    valid_chain_accepted(&rcgen::PKCS_ECDSA_P256_SHA256, "P-256");
}

#[test]
fn valid_p384_leaf() {
    valid_chain_accepted(&rcgen::PKCS_ECDSA_P384_SHA384, "P-384");
}

#[test]
fn ed25519_ca_chain_and_root_copy_at_end() {
    let root = self_signed(ca_params("Ed Root"), key(&rcgen::PKCS_ED25519));
    let inter = issue(ca_params("Ed Device CA"), key(&rcgen::PKCS_ED25519), &root);
    let leaf = issue(
        leaf_params(&[0x7f]),
        key(&rcgen::PKCS_ECDSA_P256_SHA256),
        &inter,
    );
    let registry = registry_for(&[&root]);
    let accepted = registry
        .check(&evidence(&[&leaf, &inter, &root]), &leaf.public_key(), AT)
        .unwrap();
    assert_eq!(accepted.leaf_serial_hex(), "7f");
    assert_eq!(accepted.chain_fingerprints().len(), 3);
}

#[test]
fn leaf_directly_under_root() {
    let root = self_signed(ca_params("Root"), key(&rcgen::PKCS_ECDSA_P256_SHA256));
    let leaf = issue(leaf_params(&[0x80]), key(&rcgen::PKCS_ED25519), &root);
    let registry = registry_for(&[&root]);
    let accepted = registry
        .check(&evidence(&[&leaf]), &leaf.public_key(), AT)
        .unwrap();
    // 0x80 is DER-encoded as 00 80; the sign padding is not part of the serial.
    assert_eq!(accepted.leaf_serial_hex(), "80");
    assert_eq!(accepted.chain_fingerprints().len(), 2);
}

#[test]
fn pem_bundle_input() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_with(&[], |b| b.root(pki.root.pem.as_bytes()));
    let bundle = format!("{}{}", pki.leaf.pem, pki.inter.pem);
    let chain = DeviceEvidence::chain_from_bytes(bundle.as_bytes()).unwrap();
    assert_eq!(chain, vec![pki.leaf.der.clone(), pki.inter.der.clone()]);
    let concatenated = [pki.leaf.der.clone(), pki.inter.der.clone()].concat();
    assert_eq!(
        DeviceEvidence::chain_from_bytes(&concatenated).unwrap(),
        chain
    );
    let mut ev = evidence(&[]);
    ev.chain = chain;
    assert!(registry.check(&ev, &pki.leaf.public_key(), AT).is_ok());
}

#[test]
fn second_configured_root_is_used() {
    let other = pki(&rcgen::PKCS_ED25519);
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&other.root, &pki.root]);
    let accepted = registry
        .check(
            &evidence(&[&pki.leaf, &pki.inter]),
            &pki.leaf.public_key(),
            AT,
        )
        .unwrap();
    assert_eq!(accepted.root_fingerprint(), sha256_hex(&pki.root.der));
}

#[test]
fn expired_leaf() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let mut p = leaf_params(&LEAF_SERIAL);
    p.not_before = datetime!(2020-01-01 0:00 UTC);
    p.not_after = datetime!(2025-01-01 0:00 UTC);
    let leaf = issue(p, key(&rcgen::PKCS_ED25519), &pki.inter);
    let registry = registry_for(&[&pki.root]);
    let err = registry
        .check(&evidence(&[&leaf, &pki.inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_expired");
    assert!(matches!(
        err,
        AttestationError::CertificateExpired {
            position: CertPosition::Leaf,
            ..
        }
    ));
    assert!(err.to_string().contains("2025-01-01T00:00:00Z"), "{err}");
}

#[test]
fn validity_bounds_are_inclusive() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    let ev = evidence(&[&pki.leaf, &pki.inter]);
    let key = pki.leaf.public_key();
    let not_before = 1_735_689_600;
    let not_after = 1_893_456_000;
    assert_eq!(
        code(registry.check(&ev, &key, UnixTime::from_secs(not_before))),
        "accepted"
    );
    assert_eq!(
        code(registry.check(&ev, &key, UnixTime::from_secs(not_after))),
        "accepted"
    );
    assert_eq!(
        code(registry.check(&ev, &key, UnixTime::from_secs(not_before - 1))),
        "certificate_not_yet_valid"
    );
    assert_eq!(
        code(registry.check(&ev, &key, UnixTime::from_secs(not_after + 1))),
        "certificate_expired"
    );
}

#[test]
fn not_yet_valid_leaf() {
    let pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let mut p = leaf_params(&LEAF_SERIAL);
    p.not_before = datetime!(2027-01-01 0:00 UTC);
    let leaf = issue(p, key(&rcgen::PKCS_ECDSA_P256_SHA256), &pki.inter);
    let registry = registry_for(&[&pki.root]);
    let err = registry
        .check(&evidence(&[&leaf, &pki.inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_not_yet_valid");
    assert!(matches!(
        err,
        AttestationError::CertificateNotYetValid {
            position: CertPosition::Leaf,
            ..
        }
    ));
}

#[test]
fn expired_intermediate() {
    let root = self_signed(ca_params("Root"), key(&rcgen::PKCS_ECDSA_P256_SHA256));
    let mut p = ca_params("Old Device CA");
    p.not_before = datetime!(2020-01-01 0:00 UTC);
    p.not_after = datetime!(2026-01-01 0:00 UTC);
    let inter = issue(p, key(&rcgen::PKCS_ECDSA_P256_SHA256), &root);
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &inter);
    let err = registry_for(&[&root])
        .check(&evidence(&[&leaf, &inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_expired");
    assert!(matches!(
        err,
        AttestationError::CertificateExpired {
            position: CertPosition::Intermediate(1),
            ..
        }
    ));
}

#[test]
fn expired_root() {
    // webpki does not look at a trust anchor's validity; this crate does.
    let mut p = ca_params("Short Root");
    p.not_before = datetime!(2020-01-01 0:00 UTC);
    p.not_after = datetime!(2026-01-01 0:00 UTC);
    let root = self_signed(p, key(&rcgen::PKCS_ECDSA_P256_SHA256));
    let inter = issue(ca_params("CA"), key(&rcgen::PKCS_ECDSA_P256_SHA256), &root);
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &inter);
    let err = registry_for(&[&root])
        .check(&evidence(&[&leaf, &inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_expired");
    assert!(matches!(
        err,
        AttestationError::CertificateExpired {
            position: CertPosition::Root,
            ..
        }
    ));
}

#[test]
fn reissued_root_with_same_key_is_accepted() {
    // Same name and key, one copy expired and one current: the current copy anchors the path.
    let root_key = key(&rcgen::PKCS_ECDSA_P256_SHA256);
    let mut old = ca_params("Rotating Root");
    old.not_before = datetime!(2016-01-01 0:00 UTC);
    old.not_after = datetime!(2026-01-01 0:00 UTC);
    let old_cert = old.self_signed(&root_key).unwrap();
    let current = self_signed(ca_params("Rotating Root"), root_key);
    let inter = issue(
        ca_params("CA"),
        key(&rcgen::PKCS_ECDSA_P256_SHA256),
        &current,
    );
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &inter);
    let registry = registry_with(&[], |b| b.root(old_cert.der()).root(&current.der));
    let accepted = registry
        .check(&evidence(&[&leaf, &inter]), &leaf.public_key(), AT)
        .unwrap();
    assert_eq!(accepted.root_fingerprint(), sha256_hex(&current.der));
    // The device may close its chain with either copy of the root.
    let mut ev = evidence(&[&leaf, &inter]);
    ev.chain.push(old_cert.der().to_vec());
    let accepted = registry.check(&ev, &leaf.public_key(), AT).unwrap();
    assert_eq!(accepted.root_fingerprint(), sha256_hex(&current.der));
    // Only the expired copy configured: the root's dates are the reason.
    let only_old = registry_with(&[], |b| b.root(old_cert.der()));
    let err = only_old
        .check(&evidence(&[&leaf, &inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert!(matches!(
        err,
        AttestationError::CertificateExpired {
            position: CertPosition::Root,
            ..
        }
    ));
}

#[test]
fn root_not_yet_valid() {
    let mut p = ca_params("Future Root");
    p.not_before = datetime!(2027-01-01 0:00 UTC);
    let root = self_signed(p, key(&rcgen::PKCS_ECDSA_P256_SHA256));
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &root);
    let err = registry_for(&[&root])
        .check(&evidence(&[&leaf]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_not_yet_valid");
    assert!(matches!(
        err,
        AttestationError::CertificateNotYetValid {
            position: CertPosition::Root,
            ..
        }
    ));
}

#[test]
fn wrong_root_different_name() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let stranger = self_signed(
        ca_params("Other Root CA"),
        key(&rcgen::PKCS_ECDSA_P256_SHA256),
    );
    let registry = registry_for(&[&stranger]);
    let err = registry
        .check(
            &evidence(&[&pki.leaf, &pki.inter]),
            &pki.leaf.public_key(),
            AT,
        )
        .unwrap_err();
    assert_eq!(err.reason_code(), "untrusted_root");
}

#[test]
fn wrong_root_same_name() {
    // An attacker's root with the configured root's exact name: the signature check decides.
    let pki = pki(&rcgen::PKCS_ED25519);
    let impostor = pki_with_root_name("Acme Root CA");
    let registry = registry_for(&[&pki.root]);
    let err = registry
        .check(
            &evidence(&[&impostor.leaf, &impostor.inter]),
            &impostor.leaf.public_key(),
            AT,
        )
        .unwrap_err();
    assert_eq!(err.reason_code(), "untrusted_root");
    assert!(err.to_string().contains("signature"), "{err}");
}

fn pki_with_root_name(cn: &str) -> Pki {
    let root = self_signed(ca_params(cn), key(&rcgen::PKCS_ECDSA_P384_SHA384));
    let inter = issue(
        ca_params("Acme Device CA"),
        key(&rcgen::PKCS_ECDSA_P256_SHA256),
        &root,
    );
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &inter);
    Pki { root, inter, leaf }
}

#[test]
fn tampered_leaf_signature_and_body() {
    let pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let registry = registry_for(&[&pki.root]);
    let key = pki.leaf.public_key();

    // Last byte of the signature is a content byte of the DER INTEGER s: still well-formed,
    // no longer valid.
    let mut ev = evidence(&[&pki.leaf, &pki.inter]);
    let last = ev.chain[0].len() - 1;
    ev.chain[0][last] ^= 0x01;
    let err = registry.check(&ev, &key, AT).unwrap_err();
    assert_eq!(err.reason_code(), "untrusted_root");
    assert!(err.to_string().contains("signature"), "{err}");

    // A signed field changed: "seal 0001" becomes "seal 0002" in the subject.
    let mut ev = evidence(&[&pki.leaf, &pki.inter]);
    let at = ev.chain[0]
        .windows(9)
        .position(|w| w == b"seal 0001")
        .unwrap();
    ev.chain[0][at + 8] = b'2';
    assert_eq!(code(registry.check(&ev, &key, AT)), "untrusted_root");
}

#[test]
fn wrong_key_same_algorithm() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let other = key(&rcgen::PKCS_ED25519);
    let other_key = PublicKeyBytes::ed25519(other.public_key_raw()).unwrap();
    let err = registry_for(&[&pki.root])
        .check(&evidence(&[&pki.leaf, &pki.inter]), &other_key, AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "leaf_key_mismatch");
}

#[test]
fn wrong_key_p256_and_p384() {
    for alg in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
    ] {
        let pki = pki(alg);
        let other = self_signed(ca_params("unused"), key(alg)).public_key();
        let err = registry_for(&[&pki.root])
            .check(&evidence(&[&pki.leaf, &pki.inter]), &other, AT)
            .unwrap_err();
        assert_eq!(err.reason_code(), "leaf_key_mismatch");
    }
}

#[test]
fn wrong_key_algorithm() {
    let pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let ed = PublicKeyBytes::ed25519(key(&rcgen::PKCS_ED25519).public_key_raw()).unwrap();
    let err = registry_for(&[&pki.root])
        .check(&evidence(&[&pki.leaf, &pki.inter]), &ed, AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "leaf_key_mismatch");
    assert!(err.to_string().contains("P-256"), "{err}");
}

#[test]
fn non_ca_intermediate() {
    for is_ca in [IsCa::ExplicitNoCa, IsCa::NoCa] {
        let root = self_signed(ca_params("Root"), key(&rcgen::PKCS_ECDSA_P256_SHA256));
        let mut p = ca_params("Not A CA");
        p.is_ca = is_ca;
        let inter = issue(p, key(&rcgen::PKCS_ECDSA_P256_SHA256), &root);
        let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &inter);
        let err = registry_for(&[&root])
            .check(&evidence(&[&leaf, &inter]), &leaf.public_key(), AT)
            .unwrap_err();
        assert_eq!(err.reason_code(), "not_a_ca");
        assert!(matches!(
            err,
            AttestationError::NotACa {
                position: CertPosition::Intermediate(1)
            }
        ));
    }
}

#[test]
fn leaf_that_is_a_ca() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let mut p = leaf_params(&LEAF_SERIAL);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    let leaf = issue(p, key(&rcgen::PKCS_ED25519), &pki.inter);
    let err = registry_for(&[&pki.root])
        .check(&evidence(&[&leaf, &pki.inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "leaf_is_ca");
}

#[test]
fn leaf_key_usage_without_digital_signature() {
    let pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    for usages in [vec![KeyUsagePurpose::KeyAgreement], vec![]] {
        let mut p = leaf_params(&LEAF_SERIAL);
        p.key_usages = usages;
        let leaf = issue(p, key(&rcgen::PKCS_ECDSA_P256_SHA256), &pki.inter);
        let err = registry_for(&[&pki.root])
            .check(&evidence(&[&leaf, &pki.inter]), &leaf.public_key(), AT)
            .unwrap_err();
        assert_eq!(err.reason_code(), "key_usage_invalid");
        assert!(matches!(
            err,
            AttestationError::KeyUsageInvalid {
                position: CertPosition::Leaf,
                ..
            }
        ));
    }
}

#[test]
fn intermediate_key_usage_without_key_cert_sign() {
    let root = self_signed(ca_params("Root"), key(&rcgen::PKCS_ECDSA_P256_SHA256));
    for usages in [vec![KeyUsagePurpose::CrlSign], vec![]] {
        let mut p = ca_params("CA");
        p.key_usages = usages;
        let inter = issue(p, key(&rcgen::PKCS_ECDSA_P256_SHA256), &root);
        let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &inter);
        let err = registry_for(&[&root])
            .check(&evidence(&[&leaf, &inter]), &leaf.public_key(), AT)
            .unwrap_err();
        assert_eq!(err.reason_code(), "key_usage_invalid");
        assert!(matches!(
            err,
            AttestationError::KeyUsageInvalid {
                position: CertPosition::Intermediate(1),
                ..
            }
        ));
    }
}

#[test]
fn path_length_exceeded_at_intermediate() {
    // root → CA1 (pathlen 0) → CA2 → leaf: CA1 may not have a CA below it.
    let root = self_signed(ca_params("Root"), key(&rcgen::PKCS_ECDSA_P256_SHA256));
    let mut p1 = ca_params("CA1");
    p1.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca1 = issue(p1, key(&rcgen::PKCS_ECDSA_P256_SHA256), &root);
    let ca2 = issue(ca_params("CA2"), key(&rcgen::PKCS_ECDSA_P256_SHA256), &ca1);
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &ca2);
    let registry = registry_for(&[&root]);
    let err = registry
        .check(&evidence(&[&leaf, &ca2, &ca1]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "path_length_exceeded");

    // The same depth with pathlen 1 is fine.
    let mut p1 = ca_params("CA1");
    p1.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    let ca1 = issue(p1, key(&rcgen::PKCS_ECDSA_P256_SHA256), &root);
    let ca2 = issue(ca_params("CA2"), key(&rcgen::PKCS_ECDSA_P256_SHA256), &ca1);
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &ca2);
    assert_eq!(
        code(registry.check(&evidence(&[&leaf, &ca2, &ca1]), &leaf.public_key(), AT)),
        "accepted"
    );
}

#[test]
fn path_length_exceeded_at_root() {
    // The root's own pathLenConstraint 0 forbids any intermediate (webpki ignores it).
    let mut rp = ca_params("Root");
    rp.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let root = self_signed(rp, key(&rcgen::PKCS_ECDSA_P256_SHA256));
    let inter = issue(ca_params("CA"), key(&rcgen::PKCS_ECDSA_P256_SHA256), &root);
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &inter);
    let registry = registry_for(&[&root]);
    let err = registry
        .check(&evidence(&[&leaf, &inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "path_length_exceeded");
    assert!(err.to_string().contains("vendor root"), "{err}");

    // A leaf directly under that root is within the constraint.
    let direct = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &root);
    assert_eq!(
        code(registry.check(&evidence(&[&direct]), &direct.public_key(), AT)),
        "accepted"
    );
}

#[test]
fn garbage_der() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    let key = pki.leaf.public_key();
    let truncated = pki.leaf.der[..pki.leaf.der.len() - 10].to_vec();
    let mut trailing = pki.leaf.der.clone();
    trailing.push(0);
    for (i, chain) in [
        vec![b"not a certificate".to_vec()],
        vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]],
        vec![truncated],
        vec![trailing],
        vec![pki.leaf.der.clone(), vec![0xff; 40]],
        vec![pki.leaf.der.clone(), vec![]],
        vec![vec![0x30; 20_000]],
        vec![pki.leaf.pem.clone().into_bytes()],
    ]
    .into_iter()
    .enumerate()
    {
        let mut ev = evidence(&[]);
        ev.chain = chain;
        assert_eq!(
            code(registry.check(&ev, &key, AT)),
            "certificate_malformed",
            "case {i}"
        );
    }
}

#[test]
fn empty_chain() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let ev = evidence(&[]);
    let err = registry_for(&[&pki.root])
        .check(&ev, &pki.leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "chain_empty");
}

#[test]
fn chain_too_long() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let mut chain = vec![&pki.leaf];
    chain.extend(std::iter::repeat_n(&pki.inter, 8));
    let err = registry_for(&[&pki.root])
        .check(&evidence(&chain), &pki.leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "chain_too_long");
}

#[test]
fn chain_must_be_the_path() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let stranger = pki_with_root_name("Elsewhere");
    let registry = registry_for(&[&pki.root]);
    let key = pki.leaf.public_key();
    // An unrelated certificate appended.
    assert_eq!(
        code(registry.check(
            &evidence(&[&pki.leaf, &pki.inter, &stranger.inter]),
            &key,
            AT
        )),
        "chain_not_a_path"
    );
    // Out of order: root copy before the intermediate.
    assert_eq!(
        code(registry.check(&evidence(&[&pki.leaf, &pki.root, &pki.inter]), &key, AT)),
        "chain_not_a_path"
    );
    // Intermediate repeated.
    assert_eq!(
        code(registry.check(&evidence(&[&pki.leaf, &pki.inter, &pki.inter]), &key, AT)),
        "chain_not_a_path"
    );
}

#[test]
fn missing_intermediate_is_untrusted() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let err = registry_for(&[&pki.root])
        .check(&evidence(&[&pki.leaf]), &pki.leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "untrusted_root");
}

#[test]
fn firmware_not_on_allowlist() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    let mut ev = evidence(&[&pki.leaf, &pki.inter]);
    ev.firmware_measurement = other_firmware();
    let err = registry.check(&ev, &pki.leaf.public_key(), AT).unwrap_err();
    assert_eq!(err.reason_code(), "firmware_not_allowed");
    // Same digest under another algorithm name is another measurement.
    ev.firmware_measurement = format!("sha384:{}", "a1".repeat(48));
    assert_eq!(
        code(registry.check(&ev, &pki.leaf.public_key(), AT)),
        "firmware_not_allowed"
    );
}

#[test]
fn firmware_scopes() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let scoped = other_firmware().parse().unwrap();
    let registry = registry_with(&[&pki.root], |b| {
        b.allow_firmware(
            FirmwareRule::new(scoped)
                .device_type(DEVICE_TYPE)
                .hardware_revision("C"),
        )
    });
    let key = pki.leaf.public_key();
    let mut ev = evidence(&[&pki.leaf, &pki.inter]);
    ev.firmware_measurement = other_firmware();
    assert_eq!(code(registry.check(&ev, &key, AT)), "firmware_not_allowed");
    ev.hardware_revision = "C".to_owned();
    let accepted = registry.check(&ev, &key, AT).unwrap();
    assert_eq!(accepted.firmware_label(), None);
    ev.device_type = "seal-x2".to_owned();
    assert_eq!(code(registry.check(&ev, &key, AT)), "firmware_not_allowed");
    // The unscoped entry applies to any type and revision.
    ev.firmware_measurement = firmware();
    assert_eq!(code(registry.check(&ev, &key, AT)), "accepted");
}

#[test]
fn firmware_measurement_malformed() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    for bad in [
        String::new(),
        "a1".repeat(32),
        format!("sha256:{}", "A1".repeat(32)),
        format!("sha256:{}", "a1".repeat(31)),
        format!("md5:{}", "a1".repeat(16)),
    ] {
        let mut ev = evidence(&[&pki.leaf, &pki.inter]);
        ev.firmware_measurement = bad.clone();
        assert_eq!(
            code(registry.check(&ev, &pki.leaf.public_key(), AT)),
            "firmware_measurement_malformed",
            "{bad:?}"
        );
    }
}

#[test]
fn unknown_vendor() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let mut ev = evidence(&[&pki.leaf, &pki.inter]);
    ev.vendor = "globex\n".to_owned();
    let err = registry_for(&[&pki.root])
        .check(&ev, &pki.leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "unknown_vendor");
    assert_eq!(
        code(VendorRegistry::new().check(&evidence(&[&pki.leaf]), &pki.leaf.public_key(), AT)),
        "unknown_vendor"
    );
}

#[test]
fn evidence_fields_malformed() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    for (device_type, revision) in [("", "B"), ("seal", ""), ("seal\u{0}", "B"), ("seal", "B\n")] {
        let mut ev = evidence(&[&pki.leaf, &pki.inter]);
        ev.device_type = device_type.to_owned();
        ev.hardware_revision = revision.to_owned();
        assert_eq!(
            code(registry.check(&ev, &pki.leaf.public_key(), AT)),
            "evidence_malformed"
        );
    }
}

const DEVICE_EKU: &[u64] = &[1, 3, 6, 1, 4, 1, 99999, 1];
const DEVICE_EKU_TEXT: &str = "1.3.6.1.4.1.99999.1";

fn eku_leaf(inter: &Node, ekus: Vec<ExtendedKeyUsagePurpose>) -> Node {
    let mut p = leaf_params(&LEAF_SERIAL);
    p.extended_key_usages = ekus;
    issue(p, key(&rcgen::PKCS_ED25519), inter)
}

#[test]
fn eku_policy_with_vendor_device_eku() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_with(&[&pki.root], |b| b.leaf_eku(DEVICE_EKU_TEXT));
    let check = |leaf: &Node, inter: &Node| {
        code(registry.check(&evidence(&[leaf, inter]), &leaf.public_key(), AT))
    };

    let good = eku_leaf(
        &pki.inter,
        vec![ExtendedKeyUsagePurpose::Other(DEVICE_EKU.to_vec())],
    );
    assert_eq!(check(&good, &pki.inter), "accepted");
    // No EKU at all: the explicit leaf check refuses it (webpki's required_if_present would not).
    assert_eq!(check(&pki.leaf, &pki.inter), "extended_key_usage_invalid");
    let tls = eku_leaf(&pki.inter, vec![ExtendedKeyUsagePurpose::ServerAuth]);
    assert_eq!(check(&tls, &pki.inter), "extended_key_usage_invalid");
    let any = eku_leaf(&pki.inter, vec![ExtendedKeyUsagePurpose::Any]);
    assert_eq!(check(&any, &pki.inter), "extended_key_usage_invalid");

    // An intermediate restricted to TLS cannot issue device certificates.
    let mut p = ca_params("TLS CA");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let tls_ca = issue(p, key(&rcgen::PKCS_ECDSA_P256_SHA256), &pki.root);
    let leaf = eku_leaf(
        &tls_ca,
        vec![ExtendedKeyUsagePurpose::Other(DEVICE_EKU.to_vec())],
    );
    assert_eq!(check(&leaf, &tls_ca), "extended_key_usage_invalid");
    // One that lists the device EKU can.
    let mut p = ca_params("Device CA");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(DEVICE_EKU.to_vec())];
    let dev_ca = issue(p, key(&rcgen::PKCS_ECDSA_P256_SHA256), &pki.root);
    let leaf = eku_leaf(
        &dev_ca,
        vec![ExtendedKeyUsagePurpose::Other(DEVICE_EKU.to_vec())],
    );
    assert_eq!(check(&leaf, &dev_ca), "accepted");
}

#[test]
fn eku_not_evaluated_without_vendor_policy() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    let leaf = eku_leaf(&pki.inter, vec![ExtendedKeyUsagePurpose::ClientAuth]);
    assert_eq!(
        code(registry.check(&evidence(&[&leaf, &pki.inter]), &leaf.public_key(), AT)),
        "accepted"
    );
}

#[test]
fn unknown_critical_extension() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let mut p = leaf_params(&LEAF_SERIAL);
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 7], vec![0x05, 0x00]);
    ext.set_criticality(true);
    p.custom_extensions = vec![ext];
    let leaf = issue(p, key(&rcgen::PKCS_ED25519), &pki.inter);
    let err = registry_for(&[&pki.root])
        .check(&evidence(&[&leaf, &pki.inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "unsupported_certificate_feature");
}

#[test]
fn rsa_intermediate_signature_unsupported() {
    let root = self_signed(ca_params("Root"), key(&rcgen::PKCS_ECDSA_P256_SHA256));
    let inter = issue(ca_params("RSA CA"), key(&rcgen::PKCS_RSA_SHA256), &root);
    let leaf = issue(leaf_params(&LEAF_SERIAL), key(&rcgen::PKCS_ED25519), &inter);
    let err = registry_for(&[&root])
        .check(&evidence(&[&leaf, &inter]), &leaf.public_key(), AT)
        .unwrap_err();
    assert_eq!(err.reason_code(), "unsupported_signature_algorithm");
}

#[test]
fn unsupported_leaf_key_algorithm() {
    let pki = pki(&rcgen::PKCS_ED25519);
    for alg in [&rcgen::PKCS_ECDSA_P521_SHA512, &rcgen::PKCS_RSA_SHA256] {
        let leaf = issue(leaf_params(&LEAF_SERIAL), key(alg), &pki.inter);
        let err = registry_for(&[&pki.root])
            .check(&evidence(&[&leaf, &pki.inter]), &pki.leaf.public_key(), AT)
            .unwrap_err();
        assert_eq!(err.reason_code(), "unsupported_key_algorithm");
    }
}

#[test]
fn nonconforming_leaf_serials() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    // rcgen encodes the bytes as a positive integer, so a 21-byte magnitude is too long.
    let leaf = issue(
        leaf_params(&[0x11; 21]),
        key(&rcgen::PKCS_ED25519),
        &pki.inter,
    );
    assert_eq!(
        code(registry.check(&evidence(&[&leaf, &pki.inter]), &leaf.public_key(), AT)),
        "certificate_malformed"
    );
    let leaf = issue(
        leaf_params(&[0x11; 20]),
        key(&rcgen::PKCS_ED25519),
        &pki.inter,
    );
    assert_eq!(
        code(registry.check(&evidence(&[&leaf, &pki.inter]), &leaf.public_key(), AT)),
        "accepted"
    );
}

#[test]
fn reason_codes_are_unique_snake_case() {
    let mut seen = std::collections::BTreeSet::new();
    for c in REASON_CODES {
        assert!(seen.insert(*c), "duplicate {c}");
        assert!(
            c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{c}"
        );
    }
}

#[test]
fn every_single_bit_flip_and_truncation_is_refused() {
    // No panic on any input, and no corrupted certificate is ever accepted.
    let pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let registry = registry_for(&[&pki.root]);
    let key = pki.leaf.public_key();
    let base = evidence(&[&pki.leaf, &pki.inter]);
    for cert in 0..2 {
        let len = base.chain[cert].len();
        for pos in 0..len {
            for bit in [0x01u8, 0x80] {
                let mut ev = base.clone();
                ev.chain[cert][pos] ^= bit;
                assert!(
                    registry.check(&ev, &key, AT).is_err(),
                    "cert {cert} byte {pos} bit {bit:#x} accepted"
                );
            }
        }
        for cut in 0..len {
            let mut ev = base.clone();
            ev.chain[cert].truncate(cut);
            assert!(registry.check(&ev, &key, AT).is_err());
        }
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    let key = pki.leaf.public_key();
    // xorshift: deterministic, dependency-free noise.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2000 {
        let len = (next() % 600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 && !bytes.is_empty() {
            bytes[0] = 0x30; // look like a SEQUENCE to get past the first byte
        }
        if round % 3 == 0 {
            // Splice noise into a real certificate.
            let mut real = pki.leaf.der.clone();
            let at = (next() as usize) % real.len();
            real.splice(
                at..(at + bytes.len().min(8)).min(real.len()),
                bytes.iter().copied().take(8),
            );
            bytes = real;
        }
        if bytes == pki.leaf.der {
            continue; // an empty splice leaves the real certificate intact
        }
        let _ = DeviceEvidence::chain_from_bytes(&bytes);
        let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
        pem.extend(bytes.iter().map(|b| b"ABCD+/=\n-"[(*b % 9) as usize]));
        let _ = DeviceEvidence::chain_from_bytes(&pem);
        let mut ev = evidence(&[]);
        ev.chain = vec![bytes.clone(), pki.inter.der.clone()];
        assert!(registry.check(&ev, &key, AT).is_err());
        ev.chain = vec![pki.leaf.der.clone(), bytes];
        assert!(registry.check(&ev, &key, AT).is_err());
    }
}

#[test]
fn extreme_check_times() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let registry = registry_for(&[&pki.root]);
    let ev = evidence(&[&pki.leaf, &pki.inter]);
    let key = pki.leaf.public_key();
    assert_eq!(
        code(registry.check(&ev, &key, UnixTime::from_secs(0))),
        "certificate_not_yet_valid"
    );
    assert_eq!(
        code(registry.check(&ev, &key, UnixTime::from_secs(u64::MAX))),
        "certificate_expired"
    );
}
