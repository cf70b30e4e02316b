//! Everything I-JSON and RFC 8259 refuse is refused, with its code and offset.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cphar_jcs::{MAX_DEPTH, ParseError, ParseErrorKind, parse};
use serde_json::json;

fn refused(input: &[u8]) -> ParseError {
    match parse(input) {
        Ok(v) => panic!("{:?} parsed as {v}", String::from_utf8_lossy(input)),
        Err(e) => e,
    }
}

fn code(input: &[u8]) -> &'static str {
    refused(input).code()
}

#[test]
fn duplicate_members() {
    assert_eq!(code(br#"{"a":1,"a":2}"#), "duplicate_member");
    assert_eq!(code(br#"{"a":1,"a":1}"#), "duplicate_member");
    assert_eq!(
        code(br#"{"x":{"b":true,"c":0,"b":false}}"#),
        "duplicate_member"
    );
    assert_eq!(code(br#"[{}, [{"k":null,"k":null}]]"#), "duplicate_member");
    // Equal after unescaping.
    assert_eq!(code(br#"{"a":1,"\u0061":2}"#), "duplicate_member");
    assert_eq!(code(br#"{"\u00e9":1,"\u00E9":2}"#), "duplicate_member");
    assert_eq!(
        code("{\"\\u00e9\":1,\"\u{e9}\":2}".as_bytes()),
        "duplicate_member"
    );
    assert_eq!(
        code(br#"{"\ud83d\ude00":1,"\uD83D\uDE00":2}"#),
        "duplicate_member"
    );
    assert_eq!(code(br#"{"\/":1,"/":2}"#), "duplicate_member");
    // The offset points at the second name.
    let e = refused(br#"{"a":1, "a":2}"#);
    assert_eq!((e.kind(), e.offset()), (ParseErrorKind::DuplicateMember, 8));
    assert!(
        e.to_string().contains("duplicate_member") && e.to_string().contains("byte 8"),
        "{e}"
    );
    // Same name in sibling objects is fine; "A" and "a" differ.
    assert!(parse(br#"[{"a":1},{"a":2},{"A":3,"a":4}]"#).is_ok());
}

#[test]
fn lone_surrogates() {
    for input in [
        &br#""\ud800""#[..],
        br#""\uDBFF""#,
        br#""\udc00""#,
        br#""\uDFFF x""#,
        br#""\ud800\u0041""#,
        br#""\ud800\ud800""#,
        br#""\ud800\n""#,
        br#""\ud800x""#,
        br#""\ude00\ud83d""#,
        br#"{"\ud800":1}"#,
    ] {
        assert_eq!(
            code(input),
            "lone_surrogate",
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(parse(br#""\ud83d\ude00""#).unwrap(), json!("\u{1f600}"));
    assert_eq!(parse(br#""\uDBFF\uDFFF""#).unwrap(), json!("\u{10ffff}"));
    assert_eq!(
        parse(br#""\ud7ff\ue000""#).unwrap(),
        json!("\u{d7ff}\u{e000}")
    );
    // Unpaired surrogates encoded directly are not UTF-8 at all.
    assert_eq!(code(b"\"\xED\xA0\x80\""), "invalid_utf8");
}

#[test]
fn integer_range() {
    assert_eq!(
        parse(b"9007199254740991").unwrap(),
        json!(9007199254740991u64)
    );
    assert_eq!(
        parse(b"-9007199254740991").unwrap(),
        json!(-9007199254740991i64)
    );
    for input in [
        &b"9007199254740992"[..],
        b"-9007199254740992",
        b"9007199254740993",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"100000000000000000000000000000000000",
        b"[1,9007199254740992]",
    ] {
        assert_eq!(
            code(input),
            "integer_out_of_range",
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(refused(b"[1, 9007199254740992]").offset(), 4);
    // With a fraction or an exponent a number is a double, whatever its size.
    assert_eq!(
        parse(b"9007199254740993.0").unwrap().as_f64(),
        Some(9007199254740992.0)
    );
    assert_eq!(
        parse(b"9007199254740992e0").unwrap().as_f64(),
        Some(9007199254740992.0)
    );
    assert_eq!(parse(b"1e300").unwrap().as_f64(), Some(1e300));
    assert_eq!(parse(b"-1E+300").unwrap().as_f64(), Some(-1e300));
    // -0 is 0.
    assert_eq!(parse(b"-0").unwrap(), json!(0));
    assert_eq!(
        cphar_jcs::canonicalize_json(b"[-0,-0.0,0e5]").unwrap(),
        b"[0,0,0]"
    );
}

#[test]
fn number_overflow_and_underflow() {
    for input in [&b"1e400"[..], b"-1e400", b"1.8e308", b"[0.1, 1e309]"] {
        assert_eq!(
            code(input),
            "number_overflow",
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(
        parse(b"1.7976931348623157e308").unwrap().as_f64(),
        Some(f64::MAX)
    );
    // Underflow rounds to zero, as IEEE-754 says.
    assert_eq!(parse(b"1e-400").unwrap().as_f64(), Some(0.0));
    assert_eq!(parse(b"5e-324").unwrap().as_f64(), Some(5e-324));
}

#[test]
fn number_grammar() {
    for input in [
        &b"01"[..],
        b"-01",
        b"00",
        b"1.",
        b"1.e5",
        b".5",
        b"-",
        b"-a",
        b"1e",
        b"1e+",
        b"1.5e-x",
        b"[+1]",
        b"[0x10]",
        b"[1.]",
    ] {
        let e = refused(input);
        assert!(
            matches!(e.code(), "invalid_number" | "syntax" | "unexpected_end"),
            "{}: {e}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(code(b"01"), "invalid_number");
    assert_eq!(code(b"1."), "unexpected_end");
    assert_eq!(code(b"[1.]"), "invalid_number");
    assert_eq!(code(b"NaN"), "syntax");
    assert_eq!(code(b"Infinity"), "syntax");
    assert_eq!(code(b"-Infinity"), "invalid_number");
}

#[test]
fn bom_utf8_and_trailing_data() {
    assert_eq!(code(b"\xEF\xBB\xBF{}"), "bom");
    assert_eq!(code(b"\xEF\xBB\xBF"), "bom");
    assert_eq!(code(b"\xFF\xFE{\x00}\x00"), "invalid_utf8");
    let e = refused(b"[\"ab\xC3\x28\"]");
    assert_eq!((e.code(), e.offset()), ("invalid_utf8", 4));
    assert_eq!(code(b"\"\xC0\xAF\""), "invalid_utf8"); // overlong '/'
    assert_eq!(code(b"\"\xF4\x90\x80\x80\""), "invalid_utf8"); // beyond U+10FFFF
    assert_eq!(code(b"\"\xE2\x82\""), "invalid_utf8"); // truncated
    for input in [
        &b"{} {}"[..],
        b"1 2",
        b"[]]",
        b"null,",
        b"\"a\"x",
        b"{}\x00",
        b"true false",
    ] {
        assert_eq!(
            code(input),
            "trailing_data",
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    let e = refused(b"{}  x");
    assert_eq!(e.offset(), 4);
    assert!(parse(b" \t\r\n{} \t\r\n").is_ok());
}

#[test]
fn depth_limit() {
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(parse(nested(MAX_DEPTH).as_bytes()).is_ok());
    let e = refused(nested(MAX_DEPTH + 1).as_bytes());
    assert_eq!((e.code(), e.offset()), ("depth_exceeded", MAX_DEPTH));
    let objects = format!(
        "{}1{}",
        r#"{"a":"#.repeat(MAX_DEPTH + 1),
        "}".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(code(objects.as_bytes()), "depth_exceeded");
    // Far beyond the limit: refused without exhausting the stack.
    assert_eq!(code("[".repeat(1_000_000).as_bytes()), "depth_exceeded");
}

#[test]
fn strings() {
    assert_eq!(code(b"\"a\nb\""), "control_character");
    assert_eq!(code(b"\"a\x00b\""), "control_character");
    assert_eq!(code(b"\"\x1f\""), "control_character");
    assert!(parse(b"\"\x7f\"").is_ok());
    for input in [
        &br#""\x""#[..],
        br#""\u12""#,
        br#""\u12g4""#,
        br#""\U0041""#,
        br#""\'""#,
    ] {
        assert_eq!(
            code(input),
            "invalid_escape",
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    for input in [&b"\"abc"[..], b"\"\\", b"\"\\u00", b"\"\\ud83d\\u"] {
        assert_eq!(
            code(input),
            "unexpected_end",
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(code(b"'a'"), "syntax");
    assert_eq!(
        parse(br#""\"\\\/\b\f\n\r\t\u0000\u00e9\u20AC""#).unwrap(),
        json!("\"\\/\u{8}\u{c}\n\r\t\u{0}é€")
    );
}

#[test]
fn structure_grammar() {
    for input in [
        &b""[..],
        b" ",
        b"[",
        b"{",
        b"[1",
        b"[1,",
        b"{\"a\"",
        b"{\"a\":",
        b"{\"a\":1",
        b"{\"a\":1,",
        b"tru",
        b"nul",
    ] {
        assert_eq!(
            code(input),
            "unexpected_end",
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    for input in [
        &b"[1,]"[..],
        b"[,1]",
        b"[1 2]",
        b"{,}",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{a:1}",
        b"{1:1}",
        b"{\"a\":1 \"b\":2}",
        b"[1;2]",
        b"True",
        b"nulL",
        b"[\x0c]",
        b"\xc2\xa0[]",
        b"//\n[]",
    ] {
        assert_eq!(code(input), "syntax", "{}", String::from_utf8_lossy(input));
    }
}

#[test]
fn scalars_and_order() {
    assert_eq!(parse(b"null").unwrap(), json!(null));
    assert_eq!(parse(b" true ").unwrap(), json!(true));
    assert_eq!(parse(b"\"\"").unwrap(), json!(""));
    let v = parse(br#"{"z":1,"a":2,"m":3}"#).unwrap();
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["z", "a", "m"], "members keep their input order");
}

#[test]
fn errors_are_send_sync_static() {
    fn check<T: std::error::Error + Send + Sync + 'static>() {}
    check::<cphar_jcs::ParseError>();
    check::<cphar_jcs::CanonError>();
}
