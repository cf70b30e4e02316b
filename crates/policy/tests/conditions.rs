//! Every condition key, matching and not matching, including what it does with a missing fact,
//! and the `all` / `any` / `not` combinators.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cphar_policy::{Bal, DeviceStatus, PolicyEngine, PolicyInput};

/// Whether a one-rule policy with this `when` (TOML inline table) matches `input`.
fn hits(when: &str, input: &PolicyInput) -> bool {
    let text = format!(
        "policy_id = \"t\"\nversion = 1\n[[rules]]\nid = \"r\"\neffect = \"deny\"\n\
         reason_code = \"hit\"\nwhen = {when}\n"
    );
    let engine = PolicyEngine::from_toml(&text).unwrap_or_else(|e| panic!("{when}: {e}"));
    let d = engine.decide(input);
    assert_eq!(d.matched_rule_id.is_some(), d.reason_code == "hit");
    d.matched_rule_id.is_some()
}

fn none() -> PolicyInput {
    PolicyInput::default()
}

#[test]
fn commodity_equals() {
    let w = r#"{ commodity = "gold" }"#;
    let gold = PolicyInput {
        commodity: Some("gold".into()),
        ..none()
    };
    let silver = PolicyInput {
        commodity: Some("silver".into()),
        ..none()
    };
    let upper = PolicyInput {
        commodity: Some("Gold".into()),
        ..none()
    };
    assert!(hits(w, &gold));
    assert!(!hits(w, &silver));
    assert!(!hits(w, &upper), "exact comparison");
    assert!(!hits(w, &none()), "missing commodity matches nothing");
}

#[test]
fn commodity_in_list() {
    let w = r#"{ commodity_in = ["gold", "silver"] }"#;
    for (c, want) in [("gold", true), ("silver", true), ("grain", false)] {
        let input = PolicyInput {
            commodity: Some(c.into()),
            ..none()
        };
        assert_eq!(hits(w, &input), want, "{c}");
    }
    assert!(!hits(w, &none()));
}

#[test]
fn bal_below() {
    let w = r#"{ bal_below = "BAL-3" }"#;
    for (bal, want) in [
        (Bal::Bal1, true),
        (Bal::Bal2, true),
        (Bal::Bal3, false),
        (Bal::Bal4, false),
    ] {
        let input = PolicyInput {
            bal: Some(bal),
            ..none()
        };
        assert_eq!(hits(w, &input), want, "{bal}");
    }
    assert!(
        hits(w, &none()),
        "fail closed: unknown BAL is below any minimum"
    );
    // BAL-1 is the floor: only an unknown BAL is below it.
    let floor = r#"{ bal_below = "BAL-1" }"#;
    assert!(!hits(
        floor,
        &PolicyInput {
            bal: Some(Bal::Bal1),
            ..none()
        }
    ));
    assert!(hits(floor, &none()));
}

#[test]
fn attestation_age_over() {
    let w = "{ attestation_age_over_seconds = 86400 }";
    for (age, want) in [
        (0, false),
        (86_400, false),
        (86_401, true),
        (u64::MAX, true),
    ] {
        let input = PolicyInput {
            attestation_age_seconds: Some(age),
            ..none()
        };
        assert_eq!(hits(w, &input), want, "{age}");
    }
    assert!(hits(w, &none()), "fail closed: never attested is overdue");
}

const FW_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const FW_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

#[test]
fn firmware_not_in_allowlist() {
    let w = format!(r#"{{ firmware_not_in = ["{FW_A}"] }}"#);
    let a = PolicyInput {
        firmware_measurement: Some(FW_A.into()),
        ..none()
    };
    let b = PolicyInput {
        firmware_measurement: Some(FW_B.into()),
        ..none()
    };
    assert!(!hits(&w, &a));
    assert!(hits(&w, &b));
    assert!(
        hits(&w, &none()),
        "fail closed: unknown firmware is not allowlisted"
    );
}

#[test]
fn firmware_in_list() {
    let w = format!(r#"{{ firmware_in = ["{FW_A}"] }}"#);
    let a = PolicyInput {
        firmware_measurement: Some(FW_A.into()),
        ..none()
    };
    let b = PolicyInput {
        firmware_measurement: Some(FW_B.into()),
        ..none()
    };
    assert!(hits(&w, &a));
    assert!(!hits(&w, &b));
    assert!(!hits(&w, &none()));
}

#[test]
fn offline_over() {
    let w = "{ offline_over_seconds = 3600 }";
    for (s, want) in [(0, false), (3600, false), (3601, true)] {
        let input = PolicyInput {
            offline_seconds: Some(s),
            ..none()
        };
        assert_eq!(hits(w, &input), want, "{s}");
    }
    assert!(!hits(w, &none()), "missing offline duration means online");
}

#[test]
fn downgrade_and_permission() {
    let w = "{ downgrade = true, downgrade_allowed = false }";
    let unauthorized = PolicyInput {
        downgrade: true,
        ..none()
    };
    let authorized = PolicyInput {
        downgrade: true,
        downgrade_allowed: true,
        ..none()
    };
    assert!(hits(w, &unauthorized));
    assert!(!hits(w, &authorized));
    assert!(!hits(w, &none()));
    assert!(hits("{ downgrade = false }", &none()));
    assert!(!hits("{ downgrade = false }", &unauthorized));
    assert!(hits("{ downgrade_allowed = true }", &authorized));
}

#[test]
fn downgrade_reason_in() {
    let w = r#"{ downgrade_reason_in = ["battery_depleted"] }"#;
    let ok = PolicyInput {
        downgrade_reason: Some("battery_depleted".into()),
        ..none()
    };
    let other = PolicyInput {
        downgrade_reason: Some("convenience".into()),
        ..none()
    };
    assert!(hits(w, &ok));
    assert!(!hits(w, &other));
    assert!(!hits(w, &none()));
}

#[test]
fn device_status() {
    let w = r#"{ device_status = "degraded" }"#;
    let degraded = PolicyInput {
        device_status: Some(DeviceStatus::Degraded),
        ..none()
    };
    let operational = PolicyInput {
        device_status: Some(DeviceStatus::Operational),
        ..none()
    };
    assert!(hits(w, &degraded));
    assert!(!hits(w, &operational));
    assert!(!hits(w, &none()));
    // Absence implies operational (seed 002 §4.3.2).
    assert!(hits(r#"{ device_status = "operational" }"#, &none()));
    let tampered = PolicyInput {
        device_status: Some(DeviceStatus::Tampered),
        ..none()
    };
    assert!(hits(r#"{ device_status = "tampered" }"#, &tampered));
}

#[test]
fn verifier_did_patterns() {
    let w = r#"{ verifier_did = ["did:web:*.bank.example", "did:key:z6Mk1"] }"#;
    for (did, want) in [
        ("did:web:audit.bank.example", true),
        ("did:key:z6Mk1", true),
        ("did:key:z6Mk12", false),
        ("did:web:bank.example", false),
        ("did:web:evil.example", false),
    ] {
        let input = PolicyInput {
            verifier_did: Some(did.into()),
            ..none()
        };
        assert_eq!(hits(w, &input), want, "{did}");
    }
    assert!(!hits(w, &none()));
    assert!(
        !hits(r#"{ verifier_did = ["did:*"] }"#, &none()),
        "a missing DID matches no pattern"
    );
}

#[test]
fn combinators() {
    let gold1 = PolicyInput {
        commodity: Some("gold".into()),
        bal: Some(Bal::Bal1),
        ..none()
    };
    let gold3 = PolicyInput {
        commodity: Some("gold".into()),
        bal: Some(Bal::Bal3),
        ..none()
    };
    let grain1 = PolicyInput {
        commodity: Some("grain".into()),
        bal: Some(Bal::Bal1),
        ..none()
    };

    let all = r#"{ all = [{ commodity = "gold" }, { bal_below = "BAL-2" }] }"#;
    assert!(hits(all, &gold1));
    assert!(!hits(all, &gold3));
    assert!(!hits(all, &grain1));

    let any = r#"{ any = [{ commodity = "grain" }, { bal_below = "BAL-2" }] }"#;
    assert!(hits(any, &gold1));
    assert!(!hits(any, &gold3));
    assert!(hits(any, &grain1));

    let not = r#"{ not = { commodity = "gold" } }"#;
    assert!(!hits(not, &gold1));
    assert!(hits(not, &grain1));
    assert!(hits(not, &none()));

    // `not` is the exact negation, also on missing facts.
    let not_bal = r#"{ not = { bal_below = "BAL-2" } }"#;
    assert!(!hits(not_bal, &none()));
    assert!(hits(not_bal, &gold3));

    // Keys of one table are ANDed, also beside combinators.
    let mixed = r#"{ commodity = "gold", not = { bal_below = "BAL-3" } }"#;
    assert!(hits(mixed, &gold3));
    assert!(!hits(mixed, &gold1));

    let nested = r#"{ any = [{ all = [{ commodity = "gold" }, { not = { bal_below = "BAL-3" } }] }, { offline_over_seconds = 5 }] }"#;
    assert!(hits(nested, &gold3));
    assert!(!hits(nested, &gold1));
    assert!(hits(
        nested,
        &PolicyInput {
            offline_seconds: Some(6),
            ..gold1
        }
    ));
}
