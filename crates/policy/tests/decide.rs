//! Deciding: first match wins, the default, evidence, the telemetry JSON, and determinism
//! (same input → identical decision and identical JSON bytes), also over random inputs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cphar_policy::{Bal, DeviceStatus, Effect, PolicyEngine, PolicyInput, is_reason_code};
use proptest::prelude::*;
use serde_json::json;

const ORDERED: &str = r#"
policy_id = "ordered"
version = 2

[[rules]]
id = "first"
effect = "deny"
reason_code = "first_hit"
when = { commodity = "gold", bal_below = "BAL-2" }

[[rules]]
id = "second"
effect = "degrade"
reason_code = "second_hit"
when = { commodity = "gold" }

[[rules]]
id = "third"
effect = "allow"
reason_code = "third_hit"
when = { bal_below = "BAL-4" }
"#;

fn gold(bal: Bal) -> PolicyInput {
    PolicyInput {
        commodity: Some("gold".into()),
        bal: Some(bal),
        ..Default::default()
    }
}

#[test]
fn first_matching_rule_wins() {
    let e = PolicyEngine::from_toml(ORDERED).unwrap();
    // gold/BAL-1 matches all three rules; the first decides.
    let d = e.decide(&gold(Bal::Bal1));
    assert_eq!(
        (
            d.effect,
            d.matched_rule_id.as_deref(),
            d.reason_code.as_str()
        ),
        (Effect::Deny, Some("first"), "first_hit")
    );
    // gold/BAL-3 matches second and third.
    let d = e.decide(&gold(Bal::Bal3));
    assert_eq!(
        (d.effect, d.matched_rule_id.as_deref()),
        (Effect::Degrade, Some("second"))
    );
    // grain/BAL-3 only the third.
    let grain = PolicyInput {
        commodity: Some("grain".into()),
        ..gold(Bal::Bal3)
    };
    let d = e.decide(&grain);
    assert_eq!(
        (d.effect, d.matched_rule_id.as_deref()),
        (Effect::Allow, Some("third"))
    );

    // Reversing the file reverses the winner.
    let mut rules: Vec<&str> = ORDERED.split("[[rules]]").collect();
    let head = rules.remove(0);
    rules.reverse();
    let reversed = format!("{head}[[rules]]{}", rules.join("[[rules]]"));
    let r = PolicyEngine::from_toml(&reversed).unwrap();
    assert_eq!(r.rules()[0].id(), "third");
    assert_eq!(
        r.decide(&gold(Bal::Bal1)).matched_rule_id.as_deref(),
        Some("third")
    );
}

#[test]
fn default_applies_when_nothing_matches() {
    let e = PolicyEngine::from_toml(ORDERED).unwrap();
    let grain4 = PolicyInput {
        commodity: Some("grain".into()),
        ..gold(Bal::Bal4)
    };
    let d = e.decide(&grain4);
    assert_eq!(d.effect, Effect::Allow);
    assert_eq!(d.matched_rule_id, None);
    assert_eq!(d.reason_code, "no_rule_matched");
    assert_eq!((d.policy_id.as_str(), d.policy_version), ("ordered", 2));
    // The default's evidence is every fact any rule reads.
    assert_eq!(d.evidence, json!({"bal": "BAL-4", "commodity": "grain"}));

    // Fail closed when the policy says so.
    let closed = ORDERED.replace(
        "version = 2\n",
        "version = 2\n[default]\neffect = \"deny\"\nreason_code = \"not_recognised\"\n",
    );
    let d = PolicyEngine::from_toml(&closed).unwrap().decide(&grain4);
    assert_eq!(
        (d.effect, d.reason_code.as_str(), d.matched_rule_id),
        (Effect::Deny, "not_recognised", None)
    );

    // No rules at all: always the default, with empty evidence.
    let d = PolicyEngine::from_toml("policy_id = \"p\"\nversion = 1\n")
        .unwrap()
        .decide(&grain4);
    assert_eq!((d.effect, d.evidence.clone()), (Effect::Allow, json!({})));
}

#[test]
fn evidence_holds_the_facts_the_matched_rule_read() {
    let text = r#"
        policy_id = "p"
        version = 1
        [[rules]]
        id = "r"
        effect = "deny"
        reason_code = "x"
        when = { any = [{ offline_over_seconds = 10 }, { not = { device_status = "operational" } }], verifier_did = ["did:web:*"] }
    "#;
    let e = PolicyEngine::from_toml(text).unwrap();
    let input = PolicyInput {
        offline_seconds: Some(11),
        verifier_did: Some("did:web:v.example".into()),
        commodity: Some("gold".into()),
        bal: Some(Bal::Bal2),
        ..Default::default()
    };
    let d = e.decide(&input);
    assert_eq!(d.matched_rule_id.as_deref(), Some("r"));
    // commodity and bal are not read by the rule, so they are not evidence; a missing device
    // status is shown as null.
    assert_eq!(
        d.evidence,
        json!({"device_status": null, "offline_seconds": 11, "verifier_did": "did:web:v.example"})
    );
}

#[test]
fn telemetry_json_uses_the_seed_field_names() {
    let e = PolicyEngine::from_toml(ORDERED).unwrap();
    let d = e.decide(&gold(Bal::Bal1));
    assert_eq!(
        serde_json::to_string(&d.to_json()).unwrap(),
        r#"{"decision":"deny","evidence":{"bal":"BAL-1","commodity":"gold"},"matched_rule_id":"first","policy_id":"ordered","policy_version":2,"reason_code":"first_hit"}"#
    );
    let d = e.decide(&PolicyInput {
        commodity: Some("x".into()),
        bal: Some(Bal::Bal4),
        ..Default::default()
    });
    assert_eq!(d.to_json()["matched_rule_id"], serde_json::Value::Null);
    assert_eq!(d.to_json()["decision"], "allow");
}

#[test]
fn same_input_same_decision_and_bytes() {
    let e = PolicyEngine::from_toml(ORDERED).unwrap();
    let reloaded = PolicyEngine::from_toml(ORDERED).unwrap();
    let input = gold(Bal::Bal1);
    let first = e.decide(&input);
    let bytes = serde_json::to_vec(&first.to_json()).unwrap();
    for _ in 0..100 {
        for engine in [&e, &reloaded] {
            let again = engine.decide(&input.clone());
            assert_eq!(again, first);
            assert_eq!(serde_json::to_vec(&again.to_json()).unwrap(), bytes);
        }
    }
}

const EXAMPLE: &str = include_str!("../examples/default-policy.toml");

const FW_OK: &str = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn arb_input() -> impl Strategy<Value = PolicyInput> {
    let commodity = prop::option::of(
        prop::sample::select(vec!["gold", "pharmaceuticals", "grain", ""]).prop_map(String::from),
    );
    let bal = prop::option::of(prop::sample::select(Bal::ALL.to_vec()));
    let secs = || prop::option::of(prop_oneof![0..200_000u64, any::<u64>()]);
    let firmware = prop::option::of(prop_oneof![Just(FW_OK.to_owned()), "[a-z0-9:]{0,20}"]);
    let status = prop::option::of(prop::sample::select(DeviceStatus::ALL.to_vec()));
    let text = || prop::option::of("\\PC{0,16}");
    (
        commodity,
        bal,
        secs(),
        firmware,
        secs(),
        any::<(bool, bool)>(),
        text(),
        status,
        text(),
    )
        .prop_map(
            |(
                commodity,
                bal,
                attestation_age_seconds,
                firmware_measurement,
                offline_seconds,
                (downgrade, downgrade_allowed),
                downgrade_reason,
                device_status,
                verifier_did,
            )| PolicyInput {
                commodity,
                bal,
                attestation_age_seconds,
                firmware_measurement,
                offline_seconds,
                downgrade,
                downgrade_allowed,
                downgrade_reason,
                device_status,
                verifier_did,
            },
        )
}

proptest! {
    #[test]
    fn decisions_are_deterministic_and_first_match(input in arb_input()) {
        let e = PolicyEngine::from_toml(EXAMPLE).unwrap();
        let reloaded = PolicyEngine::from_toml(EXAMPLE).unwrap();
        let d = e.decide(&input);
        let d2 = reloaded.decide(&input.clone());
        prop_assert_eq!(&d, &d2);
        prop_assert_eq!(
            serde_json::to_vec(&d.to_json()).unwrap(),
            serde_json::to_vec(&d2.to_json()).unwrap()
        );
        // The decision is the first rule whose condition holds, else the default.
        match e.rules().iter().find(|r| r.condition().matches(&input)) {
            Some(rule) => {
                prop_assert_eq!(d.matched_rule_id.as_deref(), Some(rule.id()));
                prop_assert_eq!(d.effect, rule.effect());
                prop_assert_eq!(d.reason_code.as_str(), rule.reason_code());
                let keys: Vec<String> = d.evidence.as_object().unwrap().keys().cloned().collect();
                let facts: Vec<String> = rule.facts().iter().map(|f| f.as_str().to_owned()).collect();
                prop_assert_eq!(keys, facts);
            }
            None => {
                prop_assert_eq!(d.matched_rule_id, None);
                prop_assert_eq!(d.effect, e.default_effect());
            }
        }
        prop_assert!(is_reason_code(&d.reason_code));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = PolicyEngine::from_toml(&text);
        let _ = PolicyEngine::from_json(&text);
    }

    #[test]
    fn arbitrary_conditions_never_panic(
        key in prop::sample::select(vec![
            "commodity", "commodity_in", "bal_below", "attestation_age_over_seconds", "firmware_in",
            "firmware_not_in", "offline_over_seconds", "downgrade", "downgrade_allowed",
            "downgrade_reason_in", "device_status", "verifier_did", "all", "any", "not",
        ]),
        value in prop_oneof![
            "\"\\PC{0,12}\"",
            "\\[(\"[a-z0-9:*]{0,8}\", ?){0,3}\\]",
            "-?[0-9]{1,21}",
            Just("true".to_owned()),
            Just("{}".to_owned()),
            Just("[{ downgrade = true }]".to_owned()),
        ],
        input in arb_input(),
    ) {
        let text = format!("policy_id = \"p\"\nversion = 1\n[[rules]]\nid = \"r\"\neffect = \"deny\"\nreason_code = \"x\"\nwhen = {{ {key} = {value} }}\n");
        if let Ok(e) = PolicyEngine::from_toml(&text) {
            let d = e.decide(&input);
            prop_assert_eq!(d, e.decide(&input));
        }
    }
}
