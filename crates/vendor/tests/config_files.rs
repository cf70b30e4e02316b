//! The `cphar-vendor-trust/1` file format: valid JSON and TOML load and verify chains; every
//! defect (malformed hex, wrong digest length, duplicates, unusable roots, unknown fields) is
//! refused when loading.

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
use cphar_vendor::{ConfigError, FirmwareMeasurement, FirmwareRule, VendorRegistry, VendorTrust};
use rcgen::{IsCa, KeyUsagePurpose};

fn fw(byte: &str) -> String {
    format!("sha256:{}", byte.repeat(32))
}

fn json_doc(root_pem: &str, firmware: &str) -> String {
    format!(
        r#"{{
  "format": "cphar-vendor-trust/1",
  "vendors": [
    {{
      "id": "{VENDOR}",
      "roots": [{root}],
      "firmware": [{firmware}]
    }}
  ]
}}"#,
        root = serde_json::to_string(root_pem).unwrap(),
    )
}

fn load_json_firmware(firmware: &str) -> Result<VendorRegistry, ConfigError> {
    let pki = pki(&rcgen::PKCS_ED25519);
    VendorRegistry::from_json(&json_doc(&pki.root.pem, firmware))
}

#[test]
fn json_loads_and_verifies() {
    let pki = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
    let firmware = format!(
        r#"{{"measurement": "{}", "label": "fw 4.2.1"}},
           {{"measurement": "sha384:{}", "device_type": "{DEVICE_TYPE}", "hardware_revision": "C"}}"#,
        firmware(),
        "0f".repeat(48)
    );
    let registry = VendorRegistry::from_json(&json_doc(&pki.root.pem, &firmware)).unwrap();
    assert_eq!(registry.vendor_ids().collect::<Vec<_>>(), vec![VENDOR]);
    let vendor = registry.vendor(VENDOR).unwrap();
    assert_eq!(vendor.firmware().len(), 2);
    assert_eq!(vendor.firmware()[1].device_type_scope(), Some(DEVICE_TYPE));
    assert_eq!(vendor.firmware()[1].hardware_revision_scope(), Some("C"));
    assert_eq!(vendor.root_fingerprints(), vec![sha256_hex(&pki.root.der)]);
    assert_eq!(vendor.leaf_eku(), None);
    let accepted = registry
        .check(
            &evidence(&[&pki.leaf, &pki.inter]),
            &pki.leaf.public_key(),
            AT,
        )
        .unwrap();
    assert_eq!(accepted.firmware_label(), Some("fw 4.2.1"));
}

#[test]
fn toml_loads_and_verifies() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let other = pki_second_vendor();
    let doc = format!(
        r#"format = "cphar-vendor-trust/1"

[[vendors]]
id = "{VENDOR}"
roots = ['''
{root}''']
leaf_eku = "1.3.6.1.4.1.99999.1"

[[vendors.firmware]]
measurement = "{fw}"
device_type = "{DEVICE_TYPE}"
label = "fw 4.2.1"

[[vendors]]
id = "globex"
roots = ['''{other}''']
"#,
        root = pki.root.pem,
        other = other,
        fw = firmware(),
    );
    let registry = VendorRegistry::from_toml(&doc).unwrap();
    assert_eq!(
        registry.vendor_ids().collect::<Vec<_>>(),
        vec![VENDOR, "globex"]
    );
    assert_eq!(
        registry.vendor(VENDOR).unwrap().leaf_eku(),
        Some("1.3.6.1.4.1.99999.1")
    );
    assert!(registry.vendor("globex").unwrap().firmware().is_empty());
    // leaf_eku is configured and the rcgen leaf has no EKU: the policy is live.
    let err = registry
        .check(
            &evidence(&[&pki.leaf, &pki.inter]),
            &pki.leaf.public_key(),
            AT,
        )
        .unwrap_err();
    assert_eq!(err.reason_code(), "extended_key_usage_invalid");
}

fn pki_second_vendor() -> String {
    self_signed(ca_params("Globex Root"), key(&rcgen::PKCS_ED25519)).pem
}

#[test]
fn empty_vendor_list_is_allowed() {
    let registry = VendorRegistry::from_json(r#"{"format": "cphar-vendor-trust/1"}"#).unwrap();
    assert_eq!(registry.vendor_ids().count(), 0);
    let registry = VendorRegistry::from_toml("format = \"cphar-vendor-trust/1\"\n").unwrap();
    assert_eq!(registry.vendor_ids().count(), 0);
}

#[test]
fn malformed_hex() {
    for bad in [
        fw("A1"),                               // upper case
        fw("g1"),                               // not hex
        format!("sha256:{}a", "a1".repeat(31)), // odd digit count
        format!("sha256: {}", "a1".repeat(32)), // space
    ] {
        let err = load_json_firmware(&format!(r#"{{"measurement": "{bad}"}}"#)).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::BadMeasurement {
                    index: 0,
                    source: cphar_vendor::MeasurementError::NotLowercaseHex,
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
}

#[test]
fn wrong_length_for_algorithm() {
    for (bad, expected, got) in [
        (format!("sha256:{}", "a1".repeat(48)), 32, 48),
        (format!("sha384:{}", "a1".repeat(32)), 48, 32),
        (format!("sha256:{}", "a1".repeat(33)), 32, 33),
    ] {
        let err = load_json_firmware(&format!(r#"{{"measurement": "{bad}"}}"#)).unwrap_err();
        match err {
            ConfigError::BadMeasurement {
                source:
                    cphar_vendor::MeasurementError::WrongLength {
                        expected: e,
                        got: g,
                        ..
                    },
                ..
            } => assert_eq!((e, g), (expected, got), "{bad}"),
            other => panic!("{bad}: {other}"),
        }
    }
}

#[test]
fn unsupported_algorithm_and_missing_separator() {
    let err = load_json_firmware(&format!(
        r#"{{"measurement": "sha512:{}"}}"#,
        "a1".repeat(64)
    ))
    .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::BadMeasurement {
            source: cphar_vendor::MeasurementError::UnsupportedAlgorithm,
            ..
        }
    ));
    let err =
        load_json_firmware(&format!(r#"{{"measurement": "{}"}}"#, "a1".repeat(32))).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::BadMeasurement {
            source: cphar_vendor::MeasurementError::MissingSeparator,
            ..
        }
    ));
}

#[test]
fn duplicate_firmware_entries() {
    let a = fw("a1");
    let err = load_json_firmware(&format!(
        r#"{{"measurement": "{a}"}}, {{"measurement": "{a}", "label": "again"}}"#
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::DuplicateFirmware {
                index: 1,
                first: 0,
                ..
            }
        ),
        "{err}"
    );
    let err = load_json_firmware(&format!(
        r#"{{"measurement": "{a}", "device_type": "x", "hardware_revision": "1"}},
           {{"measurement": "{a}", "device_type": "x", "hardware_revision": "1"}}"#
    ))
    .unwrap_err();
    assert!(
        matches!(err, ConfigError::DuplicateFirmware { .. }),
        "{err}"
    );
    // Same measurement, different scopes: not duplicates.
    load_json_firmware(&format!(
        r#"{{"measurement": "{a}", "device_type": "x"}},
           {{"measurement": "{a}", "device_type": "y"}},
           {{"measurement": "{a}"}}"#
    ))
    .unwrap();
}

#[test]
fn duplicate_vendor_and_root() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let root = serde_json::to_string(&pki.root.pem).unwrap();
    let doc = format!(
        r#"{{"format": "cphar-vendor-trust/1", "vendors": [
            {{"id": "a", "roots": [{root}]}}, {{"id": "a", "roots": [{root}]}}]}}"#
    );
    assert!(matches!(
        VendorRegistry::from_json(&doc).unwrap_err(),
        ConfigError::DuplicateVendor(v) if v == "a"
    ));
    let doc = format!(
        r#"{{"format": "cphar-vendor-trust/1", "vendors": [{{"id": "a", "roots": [{root}, {root}]}}]}}"#
    );
    assert!(matches!(
        VendorRegistry::from_json(&doc).unwrap_err(),
        ConfigError::DuplicateRoot { index: 1, .. }
    ));
    // Duplicate JSON member names are refused, not last-one-wins.
    let doc = format!(
        r#"{{"format": "cphar-vendor-trust/1", "vendors": [{{"id": "a", "id": "b", "roots": [{root}]}}]}}"#
    );
    assert!(matches!(
        VendorRegistry::from_json(&doc).unwrap_err(),
        ConfigError::Json(_)
    ));
    let doc = format!(
        "format = \"cphar-vendor-trust/1\"\n[[vendors]]\nid = \"a\"\nid = \"b\"\nroots = [{root}]\n"
    );
    assert!(matches!(
        VendorRegistry::from_toml(&doc).unwrap_err(),
        ConfigError::Toml(_)
    ));
}

#[test]
fn unknown_fields_and_wrong_format() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let root = serde_json::to_string(&pki.root.pem).unwrap();
    for doc in [
        format!(
            r#"{{"format": "cphar-vendor-trust/1", "vendors": [{{"id": "a", "roots": [{root}], "leaf_ekus": "1.2"}}]}}"#
        ),
        format!(
            r#"{{"format": "cphar-vendor-trust/1", "vendors": [{{"id": "a", "roots": [{root}], "firmware": [{{"measurement": "{}", "device": "x"}}]}}]}}"#,
            fw("a1")
        ),
        r#"{"format": "cphar-vendor-trust/1", "trust": []}"#.to_owned(),
        r#"{"vendors": []}"#.to_owned(),
        "[]".to_owned(),
        "not json".to_owned(),
    ] {
        assert!(
            matches!(
                VendorRegistry::from_json(&doc).unwrap_err(),
                ConfigError::Json(_)
            ),
            "{doc}"
        );
    }
    assert!(matches!(
        VendorRegistry::from_json(r#"{"format": "cphar-vendor-trust/2"}"#).unwrap_err(),
        ConfigError::UnsupportedFormat { found } if found == "cphar-vendor-trust/2"
    ));
}

#[test]
fn bad_vendor_id_scope_and_eku() {
    let pki = pki(&rcgen::PKCS_ED25519);
    let build = |id: &str| VendorTrust::builder(id).root(&pki.root.der).build();
    assert!(matches!(
        build("Acme"),
        Err(ConfigError::InvalidVendorId(_))
    ));
    assert!(matches!(build(""), Err(ConfigError::InvalidVendorId(_))));
    assert!(build("acme").is_ok());
    assert!(matches!(
        VendorTrust::builder("acme").build(),
        Err(ConfigError::NoRoots(_))
    ));
    let m: FirmwareMeasurement = fw("a1").parse().unwrap();
    for rule in [
        FirmwareRule::new(m.clone()).device_type(""),
        FirmwareRule::new(m.clone()).hardware_revision("B\n"),
        FirmwareRule::new(m.clone()).label("x".repeat(129)),
    ] {
        let err = VendorTrust::builder("acme")
            .root(&pki.root.der)
            .allow_firmware(rule)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, ConfigError::BadScope { index: 0, .. }),
            "{err}"
        );
    }
    for oid in ["", "clientAuth", "1", "1.2.", "7.1", "1.02"] {
        let err = VendorTrust::builder("acme")
            .root(&pki.root.der)
            .leaf_eku(oid)
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::BadEku { .. }), "{oid}");
    }
}

fn root_error(root: &[u8]) -> String {
    match VendorTrust::builder("acme").root(root).build() {
        Err(ConfigError::BadRoot { detail, .. }) => detail,
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("root accepted"),
    }
}

#[test]
fn unusable_roots() {
    // Not a CA.
    let mut p = ca_params("Leafy Root");
    p.is_ca = IsCa::ExplicitNoCa;
    let not_ca = self_signed(p, key(&rcgen::PKCS_ECDSA_P256_SHA256));
    assert!(root_error(&not_ca.der).contains("not a CA"));
    // keyUsage without keyCertSign.
    let mut p = ca_params("CRL-only Root");
    p.key_usages = vec![KeyUsagePurpose::CrlSign];
    let crl_only = self_signed(p, key(&rcgen::PKCS_ECDSA_P256_SHA256));
    assert!(root_error(&crl_only.der).contains("keyCertSign"));
    // A root without keyUsage is accepted (trust anchors are configuration, RFC 5280 §6.1.1).
    let mut p = ca_params("Old Root");
    p.key_usages = vec![];
    let no_ku = self_signed(p, key(&rcgen::PKCS_ECDSA_P256_SHA256));
    assert!(
        VendorTrust::builder("acme")
            .root(&no_ku.der)
            .build()
            .is_ok()
    );
    // RSA root: this crate verifies Ed25519 / P-256 / P-384 signatures only.
    let rsa = self_signed(ca_params("RSA Root"), key(&rcgen::PKCS_RSA_SHA256));
    assert!(root_error(&rsa.der).contains("unsupported root key"));
    // Garbage, two certificates in one entry, a private key.
    assert!(root_error(b"garbage").contains("DER"));
    let two = format!("{}{}", not_ca.pem, no_ku.pem);
    assert!(root_error(two.as_bytes()).contains("more than one"));
    let key_pem = key(&rcgen::PKCS_ED25519).serialize_pem();
    assert!(root_error(key_pem.as_bytes()).contains("not a CERTIFICATE"));
}

#[test]
fn error_messages_are_one_line() {
    let err = load_json_firmware(&format!(r#"{{"measurement": "{}"}}"#, fw("A1"))).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "{text}");
    assert!(text.contains(VENDOR) && text.contains("entry 0"), "{text}");
}
