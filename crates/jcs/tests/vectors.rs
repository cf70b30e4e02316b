//! The shared RFC 8785 vectors: the six input/output files and the 100 000 number lines.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;

use cphar_jcs::{MAX_SAFE_INTEGER, canonicalize, canonicalize_json, parse};
use serde_json::{Number, Value};

#[test]
fn input_output_pairs() {
    let Some(dir) = cphar_testdata::shared_testdata("jcs") else {
        return;
    };
    let mut names: Vec<_> = fs::read_dir(dir.join("input"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for name in &names {
        let input = fs::read(dir.join("input").join(name)).unwrap();
        let expected = fs::read(dir.join("output").join(name)).unwrap();
        let got = canonicalize_json(&input).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{name:?}"
        );
        assert_eq!(got, expected, "{name:?}");
        // The canonical form is a fixed point.
        assert_eq!(canonicalize_json(&got).unwrap(), expected, "{name:?}");
    }
}

#[test]
fn number_lines() {
    let Some(dir) = cphar_testdata::shared_testdata("jcs") else {
        return;
    };
    let text = fs::read_to_string(dir.join("numbers.txt")).unwrap();
    let (mut lines, mut reparsed, mut refused_as_integers) = (0, 0, 0);
    for line in text.lines() {
        lines += 1;
        let (hex, expected) = line.split_once(',').unwrap();
        let bits = u64::from_str_radix(hex, 16).unwrap();
        let f = f64::from_bits(bits);
        assert!(f.is_finite(), "{line}");
        let got = canonicalize(&Value::Number(Number::from_f64(f).unwrap())).unwrap();
        assert_eq!(std::str::from_utf8(&got).unwrap(), expected, "{line}");

        // Back through the strict parser: the bits must survive, except that an integral
        // double beyond 2^53 - 1 written without exponent is an integer literal that I-JSON
        // refuses.
        let is_integer_literal = !expected.contains(['.', 'e']);
        if is_integer_literal && f.abs() > MAX_SAFE_INTEGER as f64 {
            assert_eq!(
                parse(expected.as_bytes()).unwrap_err().code(),
                "integer_out_of_range"
            );
            refused_as_integers += 1;
            continue;
        }
        let back = parse(expected.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
        let back = back.as_f64().unwrap();
        // -0 canonicalizes to 0, which reads back as +0.
        let want = if f == 0.0 { 0.0f64 } else { f };
        assert_eq!(back.to_bits(), want.to_bits(), "{line}");
        reparsed += 1;
    }
    assert_eq!(lines, 100_000);
    assert_eq!(reparsed + refused_as_integers, lines);
    eprintln!(
        "numbers.txt: {reparsed} re-parsed exactly, {refused_as_integers} refused as unsafe integer literals"
    );
}
