//! Strict parsing never panics, and whatever it accepts canonicalizes to a fixed point.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = cphar_jcs::parse(data) else {
        return;
    };
    let canonical = cphar_jcs::canonicalize(&value).expect("a parsed value canonicalizes");
    match cphar_jcs::parse(&canonical) {
        Ok(back) => {
            let again = cphar_jcs::canonicalize(&back).expect("re-parsed value canonicalizes");
            assert_eq!(canonical, again, "canonical form is not a fixed point");
        }
        // RFC 8785 writes an integral double in (2^53 - 1, 1e21) as an integer literal,
        // which I-JSON refuses: the one documented way the canonical form may not re-parse.
        Err(e) => assert!(
            e.code() == "integer_out_of_range" && cphar_jcs::has_unsafe_integral_double(&value),
            "canonical form {:?} does not re-parse: {e}",
            String::from_utf8_lossy(&canonical)
        ),
    }
});
