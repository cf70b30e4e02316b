#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Power-on self-tests and the module state they drive.

use std::path::PathBuf;
use std::sync::Arc;

use cphar_integrity::clock::{ClockConfig, ManualTimeSource, TrustedClock};
use cphar_integrity::selftest::{
    Fault, IntegrityStatus, SelfTestOptions, measure_current_exe, measure_file,
    run_power_on_self_tests,
};
use cphar_integrity::state::{ModuleState, ModuleStatus, reason};
use cphar_integrity::{ModuleError, signing_time};

const NAMES: [&str; 8] = [
    "sha256_kat",
    "sha384_kat",
    "ed25519_kat",
    "ecdsa_p256_kat",
    "ecdsa_p384_kat",
    "aes_cmac_kat",
    "continuous_rng",
    "software_integrity",
];

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")
}

/// Options measuring a small file instead of the (large, debug) test binary.
fn small_binary() -> SelfTestOptions {
    SelfTestOptions {
        binary_path: Some(manifest()),
        ..SelfTestOptions::default()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn all_pass_without_expected_measurement_as_unverified() {
    let report = run_power_on_self_tests(&SelfTestOptions::default());
    assert!(report.passed, "{report:#?}");
    assert_eq!(report.failure(), None);
    let names: Vec<_> = report.results.iter().map(|r| r.name).collect();
    assert_eq!(names, NAMES);
    assert_eq!(report.software_integrity, IntegrityStatus::Unverified);
    let integrity = report.results.last().unwrap();
    assert!(integrity.passed);
    assert!(
        integrity
            .detail
            .as_deref()
            .unwrap()
            .starts_with("unverified")
    );
    // The running test binary was measured.
    let expected = hex(&measure_current_exe().unwrap());
    assert_eq!(
        report.binary_measurement.as_deref(),
        Some(expected.as_str())
    );
    assert_eq!(
        report.binary_measurement_tagged(),
        Some(format!("sha384:{expected}"))
    );
}

#[test]
fn report_json_shape() {
    let report = run_power_on_self_tests(&small_binary());
    let json = report.to_json();
    assert_eq!(json["passed"], true);
    assert_eq!(json["softwareIntegrity"], "unverified");
    assert_eq!(json["binaryMeasurement"].as_str().unwrap().len(), 96);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), NAMES.len());
    for (r, name) in results.iter().zip(NAMES) {
        assert_eq!(r["name"], name);
        assert_eq!(r["passed"], true);
        assert!(r.get("detail").is_some());
    }
    assert_eq!(results[0]["detail"], serde_json::Value::Null);
    // Exactly these members, camelCase.
    let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "passed",
            "softwareIntegrity",
            "binaryMeasurement",
            "results"
        ]
    );
}

#[test]
fn matching_expected_measurement_verifies() {
    let path = manifest();
    let m = measure_file(&path).unwrap();
    assert_eq!(
        m,
        cphar_crypto::sha384(&std::fs::read(&path).unwrap()),
        "measure_file is SHA-384 of the bytes"
    );
    let report = run_power_on_self_tests(&SelfTestOptions {
        expected_measurement: Some(m),
        binary_path: Some(path),
        inject: vec![],
    });
    assert!(report.passed);
    assert_eq!(report.software_integrity, IntegrityStatus::Verified);
    assert_eq!(report.binary_measurement, Some(hex(&m)));
}

#[test]
fn wrong_measurement_latches_software_integrity_failed() {
    let report = run_power_on_self_tests(&SelfTestOptions {
        expected_measurement: Some([0u8; 48]),
        binary_path: Some(manifest()),
        inject: vec![],
    });
    assert!(!report.passed);
    assert_eq!(report.software_integrity, IntegrityStatus::Failed);
    // The measurement is still reported, so the failure can be investigated.
    assert!(report.binary_measurement.is_some());
    let state = ModuleState::new();
    let err = state.complete_self_tests(&report).unwrap_err();
    assert_eq!(err.reason_code(), reason::SOFTWARE_INTEGRITY_FAILED);
    assert_eq!(
        state.ensure_operational().unwrap_err().reason_code(),
        "software_integrity_failed"
    );
}

#[test]
fn unreadable_binary_fails() {
    let report = run_power_on_self_tests(&SelfTestOptions {
        expected_measurement: None,
        binary_path: Some(PathBuf::from("/nonexistent/cphar-binary")),
        inject: vec![],
    });
    assert!(!report.passed);
    assert_eq!(report.software_integrity, IntegrityStatus::Failed);
    assert_eq!(report.binary_measurement, None);
    assert_eq!(report.failure().unwrap().0, "software_integrity_failed");
}

#[test]
fn each_injected_fault_fails_exactly_its_test_and_latches_the_right_code() {
    for fault in Fault::ALL {
        let report = run_power_on_self_tests(&SelfTestOptions {
            expected_measurement: None,
            binary_path: Some(manifest()),
            inject: vec![fault],
        });
        assert!(!report.passed, "{fault:?}");
        for r in &report.results {
            assert_eq!(r.passed, r.name != fault.test_name(), "{fault:?}: {r:?}");
        }
        let expected_code = match fault {
            Fault::SoftwareIntegrity => "software_integrity_failed",
            Fault::ContinuousRng => "rng_failure",
            _ => "self_test_failed",
        };
        let (code, detail) = report.failure().unwrap();
        assert_eq!(code, expected_code);
        assert!(detail.starts_with(fault.test_name()), "{detail}");

        let state = ModuleState::new();
        assert!(!state.is_ready());
        let err = state.complete_self_tests(&report).unwrap_err();
        assert_eq!(err.reason_code(), expected_code);
        assert!(!state.is_ready());
        let refused = state.ensure_operational().unwrap_err();
        assert_eq!(refused.reason_code(), expected_code);
        assert!(matches!(refused, ModuleError::Error { .. }));
    }
    // Drills leave the process-wide RNG test healthy.
    assert!(cphar_crypto::rng_healthy());
}

#[test]
fn error_state_never_returns_to_operational() {
    let state = ModuleState::new();
    let failed = run_power_on_self_tests(&SelfTestOptions {
        expected_measurement: None,
        binary_path: Some(manifest()),
        inject: vec![Fault::EcdsaP384Kat],
    });
    assert!(state.complete_self_tests(&failed).is_err());
    // A passing report afterwards does not clear the latch, nor does a clone.
    let passing = run_power_on_self_tests(&small_binary());
    assert!(passing.passed);
    let clone = state.clone();
    let err = clone.complete_self_tests(&passing).unwrap_err();
    assert_eq!(err.reason_code(), "self_test_failed");
    assert!(!clone.enter_error(reason::RNG_FAILURE, "later"));
    match state.status() {
        ModuleStatus::Error {
            reason_code,
            detail,
        } => {
            assert_eq!(reason_code, "self_test_failed");
            assert!(detail.starts_with("ecdsa_p384_kat"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    for _ in 0..100 {
        assert!(state.ensure_operational().is_err());
    }
}

#[test]
fn operational_after_passing_and_error_refuses_signing_time() {
    let state = ModuleState::new();
    let source = Arc::new(ManualTimeSource::new(1_700_000_000_000_000_000, 0));
    let clock = TrustedClock::new(source, ClockConfig::default()).unwrap();
    assert_eq!(
        signing_time(&state, &clock).unwrap_err().reason_code(),
        "self_test_in_progress"
    );
    let report = run_power_on_self_tests(&small_binary());
    state.complete_self_tests(&report).unwrap();
    assert!(state.is_ready());
    assert_eq!(state.status(), ModuleStatus::Operational);
    let t1 = signing_time(&state, &clock).unwrap();
    let t2 = signing_time(&state, &clock).unwrap();
    assert!(t2 > t1);

    // A failure found later (e.g. a conditional test) latches the error state.
    assert!(state.enter_error(reason::SELF_TEST_FAILED, "conditional test failed"));
    let err = signing_time(&state, &clock).unwrap_err();
    assert_eq!(err.reason_code(), "self_test_failed");
    assert!(!state.is_ready());
    // Audit timestamps are still available for recording the error.
    assert!(clock.now().unwrap() > t2);
}

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ModuleState>();
    assert_send_sync::<TrustedClock>();
    let state = ModuleState::new();
    let clone = state.clone();
    std::thread::spawn(move || clone.enter_error(reason::RNG_FAILURE, "from another thread"))
        .join()
        .unwrap();
    assert_eq!(
        state.ensure_operational().unwrap_err().reason_code(),
        "rng_failure"
    );
}
