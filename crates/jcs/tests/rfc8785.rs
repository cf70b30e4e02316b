//! Examples written out in RFC 8785 itself.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cphar_jcs::{canonicalize, canonicalize_into, canonicalize_json, cmp_utf16};
use serde_json::{Number, Value, json};

fn canon(input: &str) -> String {
    String::from_utf8(canonicalize_json(input.as_bytes()).unwrap()).unwrap()
}

/// §3.2.2: the sample with numbers, literals and nested structures.
#[test]
fn section_3_2_2_sample() {
    assert_eq!(
        canon(r#"[56, {"d": true, "10": null, "1": []}]"#),
        r#"[56,{"1":[],"10":null,"d":true}]"#
    );
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    assert_eq!(
        canon(input),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
}

/// §3.2.3: sorting by UTF-16 code units, not code points or UTF-8 bytes.
#[test]
fn section_3_2_3_sorting() {
    let input = r#"{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = concat!(
        r#"{"\r":"Carriage Return","1":"One","#,
        "\"\u{80}\":\"Control\",",
        "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",",
        "\"\u{20ac}\":\"Euro Sign\",",
        "\"\u{1f600}\":\"Emoji: Grinning Face\",",
        "\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
    );
    assert_eq!(canon(input), expected);
}

/// Appendix B: IEEE-754 bit patterns and their ECMAScript serializations.
#[test]
fn appendix_b_numbers() {
    let table: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for &(bits, expected) in table {
        let v = Value::Number(Number::from_f64(f64::from_bits(bits)).unwrap());
        assert_eq!(
            String::from_utf8(canonicalize(&v).unwrap()).unwrap(),
            expected,
            "{bits:#018x}"
        );
    }
}

#[test]
fn integers_in_values_built_in_code() {
    let max = 1u64 << 53;
    assert_eq!(canonicalize(&json!(max)).unwrap(), b"9007199254740992");
    assert_eq!(
        canonicalize(&json!(-(max as i64))).unwrap(),
        b"-9007199254740992"
    );
    assert_eq!(
        canonicalize(&json!([0, -1, 12345])).unwrap(),
        b"[0,-1,12345]"
    );
    for v in [
        json!(max + 1),
        json!(-(max as i64) - 1),
        json!(u64::MAX),
        json!(i64::MIN),
    ] {
        assert_eq!(
            canonicalize(&v).unwrap_err().code(),
            "integer_out_of_range",
            "{v}"
        );
    }
}

#[test]
fn string_escapes() {
    let all_controls: String = (0u8..0x20).map(char::from).collect();
    let got = canonicalize(&Value::String(format!("{all_controls}\"\\/\u{7f}é"))).unwrap();
    assert_eq!(
        String::from_utf8(got).unwrap(),
        concat!(
            r#""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#,
            r#"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#,
            "\\\"\\\\/\u{7f}é\""
        )
    );
}

#[test]
fn utf16_order_matches_transcoding() {
    let samples = [
        "",
        "a",
        "ab",
        "\u{7f}",
        "\u{80}",
        "\u{d7ff}",
        "\u{e000}",
        "\u{fb33}",
        "\u{ffff}",
        "\u{10000}",
        "\u{1f600}",
        "\u{10ffff}",
        "a\u{ffff}",
        "a\u{10000}",
    ];
    for a in samples {
        for b in samples {
            assert_eq!(
                cmp_utf16(a, b),
                a.encode_utf16().cmp(b.encode_utf16()),
                "{a:?} {b:?}"
            );
        }
    }
}

#[test]
fn depth_limit_on_values_built_in_code() {
    let mut v = json!(null);
    for _ in 0..cphar_jcs::MAX_DEPTH {
        v = json!([v]);
    }
    assert!(canonicalize(&v).is_ok());
    let v = json!({ "a": v });
    assert_eq!(canonicalize(&v).unwrap_err().code(), "depth_exceeded");
}

#[test]
fn canonicalize_into_appends() {
    let mut out = b"prefix:".to_vec();
    canonicalize_into(&json!({"b": 1.0, "a": [true]}), &mut out).unwrap();
    assert_eq!(out, br#"prefix:{"a":[true],"b":1}"#);
}
