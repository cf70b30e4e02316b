//! Property tests: canonicalization is a fixed point and means what it says.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cphar_jcs::{
    MAX_SAFE_INTEGER, canonicalize, canonicalize_json, cmp_utf16, has_unsafe_integral_double, parse,
};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

const SAFE: i64 = MAX_SAFE_INTEGER as i64;

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        (-SAFE..=SAFE).prop_map(Number::from),
        (0..1000i64).prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        (-1e6..1e6f64).prop_filter_map("finite", Number::from_f64),
        any::<i32>().prop_filter_map("finite", |i| Number::from_f64(f64::from(i) / 8.0)),
        // Integral doubles that RFC 8785 writes as (unsafe) integer literals.
        (1u64 << 53..u64::MAX).prop_filter_map("finite", |u| Number::from_f64(u as f64)),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,4}",
        any::<String>(),
        // Controls, escapes and the UTF-16/code-point order hot spots.
        proptest::collection::vec(
            prop_oneof![
                Just('\0'),
                Just('\u{1f}'),
                Just('"'),
                Just('\\'),
                Just('/'),
                Just('\u{7f}'),
                Just('\u{e000}'),
                Just('\u{ffff}'),
                Just('\u{10000}'),
                Just('\u{1f600}'),
                Just('a'),
                Just('é'),
            ],
            0..6
        )
        .prop_map(|cs| cs.into_iter().collect()),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((string(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Equality with numbers compared as doubles (`56.0` and `56` are one JCS number) and
/// members compared regardless of order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn canonicalization_is_idempotent(v in value()) {
        let canonical = canonicalize(&v).unwrap();
        match parse(&canonical) {
            Ok(back) => {
                prop_assert!(same(&v, &back));
                prop_assert_eq!(&canonicalize(&back).unwrap(), &canonical);
                prop_assert_eq!(&canonicalize_json(&canonical).unwrap(), &canonical);
            }
            Err(e) => {
                // Only an integral double in (2^53 - 1, 1e21) is written as an integer
                // literal that I-JSON refuses.
                prop_assert_eq!(e.code(), "integer_out_of_range");
                prop_assert!(has_unsafe_integral_double(&v));
            }
        }
    }

    #[test]
    fn canonical_output_means_the_same_to_serde_json(v in value()) {
        let canonical = canonicalize(&v).unwrap();
        let theirs: Value = serde_json::from_slice(&canonical).unwrap();
        prop_assert!(same(&v, &theirs), "{} vs {}", v, theirs);
    }

    #[test]
    fn serde_json_output_canonicalizes_like_the_value(v in value()) {
        // serde_json's own (non-canonical) text, pretty-printed and in insertion order,
        // parses strictly back to a value with the same canonical form.
        let text = serde_json::to_vec_pretty(&v).unwrap();
        if !has_unsafe_integral_double(&v) {
            prop_assert_eq!(canonicalize_json(&text).unwrap(), canonicalize(&v).unwrap());
        }
    }

    #[test]
    fn utf16_order(a in string(), b in string()) {
        prop_assert_eq!(cmp_utf16(&a, &b), a.encode_utf16().cmp(b.encode_utf16()));
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(v) = parse(&bytes) {
            let canonical = canonicalize(&v).unwrap();
            prop_assert!(parse(&canonical).is_ok() || has_unsafe_integral_double(&v));
        }
    }
}
