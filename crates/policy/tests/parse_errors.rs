//! Loading: every validation refuses what it should, with the right error, in TOML and JSON;
//! TOML and JSON forms of one policy load to the same engine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cphar_policy::{Effect, NO_RULE_MATCHED, PolicyEngine, PolicyError};

fn one_rule(id: &str, effect: &str, reason: &str, when: &str) -> String {
    format!(
        "policy_id = \"p\"\nversion = 1\n[[rules]]\nid = \"{id}\"\neffect = \"{effect}\"\n\
         reason_code = \"{reason}\"\nwhen = {when}\n"
    )
}

fn with_when(when: &str) -> Result<PolicyEngine, PolicyError> {
    PolicyEngine::from_toml(&one_rule("r", "deny", "x", when))
}

fn invalid_value(when: &str, want_field: &str) {
    match with_when(when) {
        Err(PolicyError::InvalidValue {
            rule,
            field,
            detail,
        }) => {
            assert_eq!(rule, "r");
            assert_eq!(field, want_field, "{when}: {detail}");
        }
        other => panic!("{when}: {other:?}"),
    }
}

#[test]
fn minimal_policies_load() {
    let e = PolicyEngine::from_toml("policy_id = \"p\"\nversion = 7\n").unwrap();
    assert_eq!((e.policy_id(), e.version(), e.rules().len()), ("p", 7, 0));
    assert_eq!(e.default_effect(), Effect::Allow);
    assert_eq!(e.default_reason_code(), NO_RULE_MATCHED);
    let e = PolicyEngine::from_json(r#"{"policy_id":"p","version":7}"#).unwrap();
    assert_eq!(e.version(), 7);
}

#[test]
fn unknown_fields_are_refused() {
    for text in [
        "policy_id = \"p\"\nversion = 1\nformat = \"x\"\n",
        "policy_id = \"p\"\nversion = 1\n[default]\neffect = \"deny\"\nreason_code = \"x\"\nextra = 1\n",
        "policy_id = \"p\"\nversion = 1\n[[rules]]\nid = \"r\"\neffect = \"deny\"\nreason_code = \"x\"\nwhen = { commodity = \"gold\" }\nprio = 1\n",
        &one_rule("r", "deny", "x", "{ comodity = \"gold\" }"),
        &one_rule("r", "deny", "x", "{ not = { bal_bellow = \"BAL-2\" } }"),
        "policy_id = \"p\"\nversion = 1\n[[rule]]\nid = \"r\"\n",
    ] {
        let err = PolicyEngine::from_toml(text).unwrap_err();
        assert!(matches!(err, PolicyError::Toml(_)), "{text}: {err}");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
    let err = PolicyEngine::from_json(r#"{"policy_id":"p","version":1,"Rules":[]}"#).unwrap_err();
    assert!(matches!(err, PolicyError::Json(_)) && err.to_string().contains("unknown field"));
}

#[test]
fn missing_and_mistyped_fields_are_refused() {
    for text in [
        "version = 1\n",
        "policy_id = \"p\"\n",
        "policy_id = \"p\"\nversion = \"1\"\n",
        "policy_id = \"p\"\nversion = -1\n",
        "policy_id = \"p\"\nversion = 1.5\n",
        "policy_id = \"p\"\nversion = 1\n[[rules]]\nid = \"r\"\neffect = \"deny\"\nreason_code = \"x\"\n",
        &one_rule("r", "deny", "x", "{ offline_over_seconds = -5 }"),
        &one_rule("r", "deny", "x", "{ downgrade = \"yes\" }"),
        &one_rule("r", "deny", "x", "{ commodity_in = \"gold\" }"),
    ] {
        assert!(
            matches!(PolicyEngine::from_toml(text), Err(PolicyError::Toml(_))),
            "{text}"
        );
    }
    // JSON refuses a repeated member rather than keeping one of them.
    let err = PolicyEngine::from_json(r#"{"policy_id":"p","version":1,"version":2}"#).unwrap_err();
    assert!(err.to_string().contains("duplicate field"), "{err}");
}

#[test]
fn policy_id_is_validated() {
    for bad in ["", " p", "p q", "-p", "p/q", "é", &"p".repeat(129)] {
        let text = format!("policy_id = {bad:?}\nversion = 1\n");
        match PolicyEngine::from_toml(&text) {
            Err(PolicyError::InvalidPolicyId(id)) => assert_eq!(id, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    for good in [
        "p",
        "cphar-default",
        "org.example:reserves_2",
        &"p".repeat(128),
    ] {
        let text = format!("policy_id = {good:?}\nversion = 1\n");
        assert!(PolicyEngine::from_toml(&text).is_ok(), "{good}");
    }
}

#[test]
fn version_zero_is_refused() {
    assert!(matches!(
        PolicyEngine::from_toml("policy_id = \"p\"\nversion = 0\n"),
        Err(PolicyError::InvalidVersion)
    ));
}

#[test]
fn rule_ids_are_validated_and_unique() {
    match PolicyEngine::from_toml(&one_rule("", "deny", "x", "{ downgrade = true }")) {
        Err(PolicyError::InvalidRuleId { index: 0, id }) => assert_eq!(id, ""),
        other => panic!("{other:?}"),
    }
    let long = "r".repeat(65);
    assert!(matches!(
        PolicyEngine::from_toml(&one_rule(&long, "deny", "x", "{ downgrade = true }")),
        Err(PolicyError::InvalidRuleId { .. })
    ));
    let text = "policy_id = \"p\"\nversion = 1\n\
        [[rules]]\nid = \"a\"\neffect = \"deny\"\nreason_code = \"x\"\nwhen = { downgrade = true }\n\
        [[rules]]\nid = \"b\"\neffect = \"deny\"\nreason_code = \"x\"\nwhen = { downgrade = true }\n\
        [[rules]]\nid = \"a\"\neffect = \"allow\"\nreason_code = \"y\"\nwhen = { downgrade = false }\n";
    match PolicyEngine::from_toml(text) {
        Err(PolicyError::DuplicateRuleId(id)) => assert_eq!(id, "a"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn effects_are_validated() {
    for bad in ["Allow", "DENY", "reject", "", "downgrade"] {
        match PolicyEngine::from_toml(&one_rule("r", bad, "x", "{ downgrade = true }")) {
            Err(PolicyError::InvalidEffect { rule, value }) => {
                assert_eq!((rule.as_str(), value.as_str()), ("r", bad));
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    let text =
        "policy_id = \"p\"\nversion = 1\n[default]\neffect = \"block\"\nreason_code = \"x\"\n";
    match PolicyEngine::from_toml(text) {
        Err(PolicyError::InvalidEffect { rule, .. }) => assert_eq!(rule, "default"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reason_codes_are_validated() {
    let long = "a".repeat(65);
    for bad in [
        "",
        "Insufficient",
        "insufficient-bal",
        "_x",
        "9x",
        "a b",
        "é",
        long.as_str(),
    ] {
        match PolicyEngine::from_toml(&one_rule("r", "deny", bad, "{ downgrade = true }")) {
            Err(PolicyError::InvalidReasonCode { rule, value }) => {
                assert_eq!((rule.as_str(), value.as_str()), ("r", bad));
            }
            other => panic!("{bad:?}: {other:?}"),
        }
        let text = format!(
            "policy_id = \"p\"\nversion = 1\n[default]\neffect = \"deny\"\nreason_code = {bad:?}\n"
        );
        assert!(
            matches!(PolicyEngine::from_toml(&text), Err(PolicyError::InvalidReasonCode { rule, .. }) if rule == "default"),
            "{bad:?}"
        );
    }
}

#[test]
fn empty_conditions_are_refused() {
    for when in [
        "{}",
        "{ all = [] }",
        "{ any = [] }",
        "{ not = {} }",
        "{ any = [{}] }",
    ] {
        match with_when(when) {
            Err(PolicyError::EmptyCondition { rule }) => assert_eq!(rule, "r"),
            other => panic!("{when}: {other:?}"),
        }
    }
}

#[test]
fn nesting_depth_is_bounded() {
    let nots = |n: usize| {
        format!(
            "{}{{ downgrade = true }}{}",
            "{ not = ".repeat(n),
            " }".repeat(n)
        )
    };
    assert!(with_when(&nots(8)).is_ok());
    assert!(matches!(
        with_when(&nots(9)),
        Err(PolicyError::TooDeep { .. })
    ));
    let alls = |n: usize| {
        format!(
            "{}{{ downgrade = true }}{}",
            "{ all = [".repeat(n),
            "] }".repeat(n)
        )
    };
    assert!(with_when(&alls(8)).is_ok());
    assert!(matches!(
        with_when(&alls(9)),
        Err(PolicyError::TooDeep { .. })
    ));
}

#[test]
fn condition_values_are_validated() {
    invalid_value(r#"{ bal_below = "BAL-5" }"#, "bal_below");
    invalid_value(r#"{ bal_below = "bal-2" }"#, "bal_below");
    invalid_value(r#"{ bal_below = "2" }"#, "bal_below");
    invalid_value(r#"{ device_status = "broken" }"#, "device_status");
    invalid_value(r#"{ device_status = "Degraded" }"#, "device_status");
    invalid_value(r#"{ commodity = "" }"#, "commodity");
    invalid_value(r#"{ commodity = " gold" }"#, "commodity");
    invalid_value("{ commodity = \"go\\nld\" }", "commodity");
    invalid_value(r#"{ commodity_in = [] }"#, "commodity_in");
    invalid_value(r#"{ commodity_in = ["gold", "gold"] }"#, "commodity_in");
    invalid_value(r#"{ firmware_not_in = [] }"#, "firmware_not_in");
    invalid_value(r#"{ firmware_not_in = ["deadbeef"] }"#, "firmware_not_in");
    invalid_value(r#"{ firmware_not_in = ["sha256:"] }"#, "firmware_not_in");
    invalid_value(r#"{ firmware_in = ["sha256:a b"] }"#, "firmware_in");
    invalid_value(
        r#"{ firmware_in = ["sha256:aa", "sha256:aa"] }"#,
        "firmware_in",
    );
    invalid_value(r#"{ downgrade_reason_in = [""] }"#, "downgrade_reason_in");
    invalid_value(r#"{ verifier_did = ["web:example"] }"#, "verifier_did");
    invalid_value(r#"{ verifier_did = ["did:web:a b"] }"#, "verifier_did");
    invalid_value(r#"{ verifier_did = [] }"#, "verifier_did");
    // Nested values are checked too, and the error still names the rule.
    invalid_value(
        r#"{ any = [{ downgrade = true }, { not = { bal_below = "BAL-0" } }] }"#,
        "bal_below",
    );
}

#[test]
fn descriptions_are_validated() {
    let text = "policy_id = \"p\"\nversion = 1\ndescription = \"a\\u0007b\"\n";
    assert!(matches!(
        PolicyEngine::from_toml(text),
        Err(PolicyError::InvalidDescription { rule }) if rule == "policy"
    ));
    let text = format!(
        "policy_id = \"p\"\nversion = 1\n[[rules]]\nid = \"r\"\ndescription = {:?}\neffect = \"deny\"\nreason_code = \"x\"\nwhen = {{ downgrade = true }}\n",
        "x".repeat(1025)
    );
    assert!(matches!(
        PolicyEngine::from_toml(&text),
        Err(PolicyError::InvalidDescription { rule }) if rule == "r"
    ));
    let ok = "policy_id = \"p\"\nversion = 1\ndescription = \"\"\"two\n\tlines\"\"\"\n";
    assert_eq!(
        PolicyEngine::from_toml(ok).unwrap().description(),
        Some("two\n\tlines")
    );
}

#[test]
fn errors_read_well() {
    let err = with_when(r#"{ bal_below = "BAL-5" }"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"rule "r": bal_below: "BAL-5" is not BAL-1, BAL-2, BAL-3 or BAL-4"#
    );
    let err = PolicyEngine::from_toml("policy_id = \"\"\nversion = 1\n").unwrap_err();
    assert!(
        err.to_string().starts_with("invalid policy_id \"\""),
        "{err}"
    );
}

#[test]
fn toml_and_json_load_the_same_engine() {
    let toml = r#"
        policy_id = "p"
        version = 4
        description = "d"
        [default]
        effect = "deny"
        reason_code = "no_rule_matched"
        [[rules]]
        id = "a"
        effect = "degrade"
        reason_code = "slow"
        when = { any = [{ offline_over_seconds = 10 }, { not = { device_status = "operational" } }], commodity_in = ["gold", "silver"] }
        [[rules]]
        id = "b"
        description = "allowlisted verifiers"
        effect = "allow"
        reason_code = "trusted_verifier"
        when = { verifier_did = ["did:web:*.example"] }
    "#;
    let json = r#"{
        "policy_id": "p", "version": 4, "description": "d",
        "default": {"effect": "deny", "reason_code": "no_rule_matched"},
        "rules": [
            {"id": "a", "effect": "degrade", "reason_code": "slow",
             "when": {"commodity_in": ["silver", "gold"],
                      "any": [{"offline_over_seconds": 10}, {"not": {"device_status": "operational"}}]}},
            {"id": "b", "description": "allowlisted verifiers", "effect": "allow",
             "reason_code": "trusted_verifier", "when": {"verifier_did": ["did:web:*.example"]}}
        ]
    }"#;
    let from_toml = PolicyEngine::from_toml(toml).unwrap();
    let from_json = PolicyEngine::from_json(json).unwrap();
    assert_eq!(from_toml, from_json);
    assert_eq!(
        from_toml.rules()[1].description(),
        Some("allowlisted verifiers")
    );
    assert_eq!(from_toml.rules()[0].effect(), Effect::Degrade);
}
