//! Hostile documents: deep nesting, huge inputs, garbage. Every one is an error, never a panic
//! or a stack overflow.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cphar_policy::{PolicyEngine, PolicyError};

const HEAD: &str = "policy_id = \"t\"\nversion = 1\n[[rules]]\nid = \"r\"\neffect = \"deny\"\nreason_code = \"x\"\n";

#[test]
fn deep_dotted_keys() {
    let nested =
        |depth: usize| format!("{HEAD}when.{}commodity = \"gold\"\n", "not.".repeat(depth));
    assert!(PolicyEngine::from_toml(&nested(8)).is_ok());
    assert!(matches!(
        PolicyEngine::from_toml(&nested(9)),
        Err(PolicyError::TooDeep { .. })
    ));
    for depth in [100, 10_000, 100_000] {
        assert!(
            PolicyEngine::from_toml(&nested(depth)).is_err(),
            "depth {depth}"
        );
    }
}

#[test]
fn deep_inline_tables() {
    for depth in [9, 100, 10_000, 100_000] {
        let text = format!(
            "{HEAD}when = {}commodity = \"gold\"{}\n",
            "{ not = ".repeat(depth),
            " }".repeat(depth)
        );
        assert!(PolicyEngine::from_toml(&text).is_err(), "depth {depth}");
    }
}

#[test]
fn deep_arrays() {
    for depth in [100, 100_000] {
        let text = format!(
            "{HEAD}when = {{ all = {}{} }}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(PolicyEngine::from_toml(&text).is_err(), "depth {depth}");
        let json = format!(
            "{{\"policy_id\":\"t\",\"version\":1,\"x\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(PolicyEngine::from_json(&json).is_err(), "depth {depth}");
    }
}

#[test]
fn deep_json() {
    for depth in [9, 100, 100_000] {
        let text = format!(
            "{{\"policy_id\":\"t\",\"version\":1,\"rules\":[{{\"id\":\"r\",\"effect\":\"deny\",\"reason_code\":\"x\",\"when\":{}{{\"commodity\":\"gold\"}}{}}}]}}",
            "{\"not\":".repeat(depth),
            "}".repeat(depth)
        );
        assert!(PolicyEngine::from_json(&text).is_err(), "depth {depth}");
    }
}

#[test]
fn oversized() {
    let text = format!(
        "{HEAD}when = {{ commodity = \"gold\" }}\n#{}",
        "x".repeat(1 << 20)
    );
    assert!(matches!(
        PolicyEngine::from_toml(&text),
        Err(PolicyError::TooLarge(_))
    ));
    assert!(matches!(
        PolicyEngine::from_json(&text),
        Err(PolicyError::TooLarge(_))
    ));
}

#[test]
fn garbage_and_truncations_are_errors() {
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/default-policy.toml"
    ))
    .unwrap();
    assert!(PolicyEngine::from_toml(&good).is_ok());
    // Every prefix either loads (a shorter valid policy) or is an error; none panics.
    let mut cut = 0;
    while cut < good.len() {
        if good.is_char_boundary(cut) {
            let _ = PolicyEngine::from_toml(&good[..cut]);
        }
        cut += 7;
    }
    for junk in [
        "",
        "\0",
        "[[rules]]",
        "policy_id = 1",
        "{}",
        "null",
        "[]",
        "\u{feff}x = 1",
    ] {
        assert!(PolicyEngine::from_toml(junk).is_err(), "{junk:?}");
        assert!(PolicyEngine::from_json(junk).is_err(), "{junk:?}");
    }
}
