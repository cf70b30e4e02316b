//! Every file in `examples/` parses exactly as the registry or the server parses it (unknown
//! fields are refused there, so a stale example fails here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

mod common;

use cphar_registry::decide::{RecordCustody, RecordInspection, RegisterSeal};

fn example(name: &str) -> String {
    std::fs::read_to_string(common::repo_root().join("examples").join(name)).unwrap()
}

#[test]
fn the_json_requests_parse_as_the_registry_reads_them() {
    let seal: RegisterSeal = serde_json::from_str(&example("seal.json")).unwrap();
    cphar_registry::decide::check_registration(&seal).unwrap();
    let inspection: RecordInspection = serde_json::from_str(&example("inspection.json")).unwrap();
    assert_eq!(inspection.seal_uid, seal.uid);
    let custody: RecordCustody = serde_json::from_str(&example("custody.json")).unwrap();
    assert_eq!(custody.lot_id, inspection.lot_id);
}

#[test]
fn the_server_config_and_policy_load() {
    let config = cphar_server::ServerConfig::from_toml(&example("cphar.toml")).unwrap();
    let default = cphar_server::ServerConfig::default();
    // The file claims to show the defaults: it must.
    assert_eq!(config.listen, default.listen);
    assert_eq!(config.data_dir, default.data_dir);
    assert_eq!(config.host, None);
    assert_eq!(config.skew_seconds, default.skew_seconds);
    assert_eq!(config.body_limit_bytes, default.body_limit_bytes);
    assert_eq!(
        config.attestation_cadence_seconds,
        default.attestation_cadence_seconds
    );
    assert_eq!(config.clock_tolerance_ms, default.clock_tolerance_ms);
    cphar_policy::PolicyEngine::from_toml(&example("policy.toml")).unwrap();
}

#[test]
fn the_vendor_trust_file_loads_once_it_holds_a_root() {
    let text = example("vendors.toml");
    // The placeholder is the only thing a user must replace.
    assert!(cphar_vendor::VendorRegistry::from_toml(&text).is_err());
    let start = text.find("-----BEGIN CERTIFICATE-----").unwrap();
    let end = text.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let root = params.self_signed(&key).unwrap().pem();
    let filled = format!("{}{}{}", &text[..start], root.trim_end(), &text[end..]);
    cphar_vendor::VendorRegistry::from_toml(&filled).unwrap();
}
