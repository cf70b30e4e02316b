//! `examples/default-policy.toml` parses and gives the decisions its header documents.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cphar_policy::{Bal, DeviceStatus, Effect, PolicyEngine, PolicyInput};

const EXAMPLE: &str = include_str!("../examples/default-policy.toml");
const FW_OK: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const FW_OK2: &str = "sha256:f9e8d7c6b5a40392817f6e5d4c3b2a190f9e8d7c6b5a40392817f6e5d4c3b2a1";
const FW_BAD: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A healthy gold lot: allowlisted firmware, BAL-2, attested an hour ago, online.
fn healthy() -> PolicyInput {
    PolicyInput {
        commodity: Some("gold".into()),
        bal: Some(Bal::Bal2),
        attestation_age_seconds: Some(3600),
        firmware_measurement: Some(FW_OK.into()),
        ..Default::default()
    }
}

#[test]
fn example_loads() {
    let e = PolicyEngine::from_toml(EXAMPLE).unwrap();
    assert_eq!((e.policy_id(), e.version()), ("cphar-default", 1));
    assert_eq!(e.rules().len(), 9);
    assert_eq!(e.default_effect(), Effect::Allow);
}

#[test]
fn example_decisions() {
    let e = PolicyEngine::from_toml(EXAMPLE).unwrap();
    let h = healthy;
    let table: Vec<(&str, PolicyInput, Effect, Option<&str>, &str)> = vec![
        ("healthy gold", h(), Effect::Allow, None, "no_rule_matched"),
        (
            "second allowlisted firmware",
            PolicyInput {
                firmware_measurement: Some(FW_OK2.into()),
                ..h()
            },
            Effect::Allow,
            None,
            "no_rule_matched",
        ),
        (
            "gold at BAL-4",
            PolicyInput {
                bal: Some(Bal::Bal4),
                ..h()
            },
            Effect::Allow,
            None,
            "no_rule_matched",
        ),
        (
            "gold at BAL-1",
            PolicyInput {
                bal: Some(Bal::Bal1),
                ..h()
            },
            Effect::Deny,
            Some("gold-min-bal"),
            "insufficient_bal",
        ),
        (
            "gold, BAL unknown",
            PolicyInput { bal: None, ..h() },
            Effect::Deny,
            Some("gold-min-bal"),
            "insufficient_bal",
        ),
        (
            "pharmaceuticals at BAL-2",
            PolicyInput {
                commodity: Some("pharmaceuticals".into()),
                ..h()
            },
            Effect::Deny,
            Some("pharmaceuticals-min-bal"),
            "insufficient_bal",
        ),
        (
            "pharmaceuticals at BAL-3",
            PolicyInput {
                commodity: Some("pharmaceuticals".into()),
                bal: Some(Bal::Bal3),
                ..h()
            },
            Effect::Allow,
            None,
            "no_rule_matched",
        ),
        (
            "grain at BAL-1 (no minimum)",
            PolicyInput {
                commodity: Some("grain".into()),
                bal: Some(Bal::Bal1),
                ..h()
            },
            Effect::Allow,
            None,
            "no_rule_matched",
        ),
        (
            "unknown firmware",
            PolicyInput {
                firmware_measurement: Some(FW_BAD.into()),
                ..h()
            },
            Effect::Deny,
            Some("firmware-allowlist"),
            "firmware_not_allowed",
        ),
        (
            "firmware not reported",
            PolicyInput {
                firmware_measurement: None,
                ..h()
            },
            Effect::Deny,
            Some("firmware-allowlist"),
            "firmware_not_allowed",
        ),
        (
            "attestation exactly 86400 s old",
            PolicyInput {
                attestation_age_seconds: Some(86_400),
                ..h()
            },
            Effect::Allow,
            None,
            "no_rule_matched",
        ),
        (
            "attestation 86401 s old",
            PolicyInput {
                attestation_age_seconds: Some(86_401),
                ..h()
            },
            Effect::Degrade,
            Some("attestation-overdue"),
            "attestation_overdue",
        ),
        (
            "never attested",
            PolicyInput {
                attestation_age_seconds: None,
                ..h()
            },
            Effect::Degrade,
            Some("attestation-overdue"),
            "attestation_overdue",
        ),
        (
            "offline 1 day",
            PolicyInput {
                offline_seconds: Some(86_400),
                ..h()
            },
            Effect::Allow,
            None,
            "no_rule_matched",
        ),
        (
            "offline 2 days",
            PolicyInput {
                offline_seconds: Some(172_800),
                ..h()
            },
            Effect::Degrade,
            Some("offline-tolerance"),
            "offline_tolerance_exceeded",
        ),
        (
            "offline 8 days",
            PolicyInput {
                offline_seconds: Some(691_200),
                ..h()
            },
            Effect::Deny,
            Some("offline-limit"),
            "offline_limit_exceeded",
        ),
        (
            "downgrade not authorized",
            PolicyInput {
                downgrade: true,
                ..h()
            },
            Effect::Deny,
            Some("downgrade-not-permitted"),
            "downgrade_not_permitted",
        ),
        (
            "downgrade authorized",
            PolicyInput {
                downgrade: true,
                downgrade_allowed: true,
                downgrade_reason: Some("battery_depleted".into()),
                ..h()
            },
            Effect::Degrade,
            Some("downgrade-permitted"),
            "downgrade_permitted",
        ),
        (
            "device degraded",
            PolicyInput {
                device_status: Some(DeviceStatus::Degraded),
                ..h()
            },
            Effect::Degrade,
            Some("device-degraded"),
            "device_degraded",
        ),
        (
            "device operational",
            PolicyInput {
                device_status: Some(DeviceStatus::Operational),
                ..h()
            },
            Effect::Allow,
            None,
            "no_rule_matched",
        ),
        // Order: the earliest applicable rule decides.
        (
            "gold BAL-1 and bad firmware",
            PolicyInput {
                bal: Some(Bal::Bal1),
                firmware_measurement: Some(FW_BAD.into()),
                ..h()
            },
            Effect::Deny,
            Some("firmware-allowlist"),
            "firmware_not_allowed",
        ),
        (
            "unauthorized downgrade and bad firmware",
            PolicyInput {
                downgrade: true,
                firmware_measurement: Some(FW_BAD.into()),
                ..h()
            },
            Effect::Deny,
            Some("downgrade-not-permitted"),
            "downgrade_not_permitted",
        ),
        (
            "degraded, overdue and offline 2 days",
            PolicyInput {
                device_status: Some(DeviceStatus::Degraded),
                attestation_age_seconds: Some(100_000),
                offline_seconds: Some(172_800),
                ..h()
            },
            Effect::Degrade,
            Some("offline-tolerance"),
            "offline_tolerance_exceeded",
        ),
        (
            "nothing known",
            PolicyInput::default(),
            Effect::Deny,
            Some("firmware-allowlist"),
            "firmware_not_allowed",
        ),
    ];
    for (name, input, effect, rule, reason) in table {
        let d = e.decide(&input);
        assert_eq!(
            (
                d.effect,
                d.matched_rule_id.as_deref(),
                d.reason_code.as_str()
            ),
            (effect, rule, reason),
            "{name}"
        );
        assert_eq!(
            (d.policy_id.as_str(), d.policy_version),
            ("cphar-default", 1),
            "{name}"
        );
        assert_eq!(d.to_json()["decision"], effect.as_str(), "{name}");
    }
}

#[test]
fn example_evidence() {
    let e = PolicyEngine::from_toml(EXAMPLE).unwrap();
    let d = e.decide(&PolicyInput {
        bal: Some(Bal::Bal1),
        ..healthy()
    });
    assert_eq!(
        d.evidence,
        serde_json::json!({"bal": "BAL-1", "commodity": "gold"})
    );
    let d = e.decide(&healthy());
    // Default: every fact any rule reads.
    assert_eq!(
        d.evidence
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        vec![
            "attestation_age_seconds",
            "bal",
            "commodity",
            "device_status",
            "downgrade",
            "downgrade_allowed",
            "firmware_measurement",
            "offline_seconds"
        ]
    );
}
