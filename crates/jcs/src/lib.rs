//! Strict I-JSON parsing and RFC 8785 (JCS) canonicalization for CPHAR.
//!
//! Everything that is signed or verified goes through this crate:
//!
//! - [`parse`] reads RFC 8259 JSON under the I-JSON (RFC 7493) restrictions and **rejects**,
//!   rather than resolves, anything two parsers could read differently: duplicate member
//!   names, lone surrogates, integer literals outside the exact-double range, numbers that
//!   overflow to infinity, a byte order mark, invalid UTF-8, trailing data, and nesting
//!   deeper than [`MAX_DEPTH`].
//! - [`canonicalize`] / [`canonicalize_into`] write the RFC 8785 canonical form of a
//!   [`serde_json::Value`]: members sorted by UTF-16 code units, minimal string escaping,
//!   numbers as ECMAScript `Number.prototype.toString` writes them.
//! - [`canonicalize_json`] does both.
//!
//! # Numbers
//!
//! A number literal without fraction and exponent is an integer and must lie in the I-JSON
//! safe range `[-(2^53 - 1), 2^53 - 1]` ([`MAX_SAFE_INTEGER`]); `2^53` itself is refused,
//! because `2^53 + 1` would round to it. It becomes an integer [`serde_json::Number`]
//! (`-0` becomes `0`, which is also its canonical form). A literal with a fraction or an
//! exponent is an IEEE-754 double, correctly rounded; one that overflows to infinity is
//! refused, one that underflows becomes (signed) zero as IEEE-754 rounding says.
//!
//! RFC 8785 writes integral doubles below `1e21` without an exponent, so the canonical form
//! of a *double* such as `1e20` is the integer literal `100000000000000000000`, which
//! [`parse`] refuses as out of range. That is the I-JSON rule working as intended (such a
//! literal is ambiguous to other parsers); canonical bytes are hashed and signed, not
//! re-parsed. See [`has_unsafe_integral_double`].
//!
//! ```
//! let canonical = cphar_jcs::canonicalize_json(br#"{"b": [1.50, 1e3], "a": "\u00e9"}"#)?;
//! assert_eq!(canonical, r#"{"a":"é","b":[1.5,1000]}"#.as_bytes());
//!
//! let err = cphar_jcs::parse(br#"{"a": 1, "\u0061": 2}"#).unwrap_err();
//! assert_eq!(err.code(), "duplicate_member");
//! # Ok::<(), cphar_jcs::ParseError>(())
//! ```

mod canon;
mod error;
mod parse;

pub use canon::{canonicalize, canonicalize_into, cmp_utf16};
pub use error::{CanonError, ParseError, ParseErrorKind};
pub use parse::parse;

use serde_json::Value;

/// Deepest nesting of arrays and objects accepted by [`parse`] and [`canonicalize`]: a
/// top-level array is depth 1. Bounds recursion (and so stack use) on hostile input.
pub const MAX_DEPTH: usize = 128;

/// Largest integer magnitude [`parse`] accepts as an integer literal: `2^53 - 1`, the
/// I-JSON (RFC 7493 §2.2) safe range.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Largest integer magnitude [`canonicalize`] accepts in a [`Value`]: `2^53`. Beyond it
/// an integer may have no exact IEEE-754 double, which is all RFC 8785 can write.
pub const MAX_CANONICAL_INTEGER: u64 = 1 << 53;

/// Strictly parses `bytes` (see [`parse`]) and returns their RFC 8785 canonical form.
///
/// # Errors
/// Every [`ParseError`] of [`parse`]. A value that parsed always canonicalizes; the
/// [`ParseErrorKind::Canonicalization`] variant exists only so that this cannot panic.
pub fn canonicalize_json(bytes: &[u8]) -> Result<Vec<u8>, ParseError> {
    let value = parse(bytes)?;
    let mut out = Vec::with_capacity(bytes.len());
    canonicalize_into(&value, &mut out)
        .map_err(|_| ParseError::new(ParseErrorKind::Canonicalization, 0))?;
    Ok(out)
}

/// Whether `value` holds a double that is integral with magnitude above
/// [`MAX_SAFE_INTEGER`] and below `1e21`: RFC 8785 writes such a number as a plain integer
/// literal, which [`parse`] then refuses. Exactly these values have a canonical form that
/// does not parse back.
pub fn has_unsafe_integral_double(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64() && n.as_f64().is_some_and(is_unsafe_integral),
        Value::Array(items) => items.iter().any(has_unsafe_integral_double),
        Value::Object(map) => map.values().any(has_unsafe_integral_double),
        Value::Null | Value::Bool(_) | Value::String(_) => false,
    }
}

/// See [`has_unsafe_integral_double`]; `f64` comparisons are exact at these magnitudes.
#[allow(clippy::cast_precision_loss)] // 2^53 - 1 converts exactly
fn is_unsafe_integral(f: f64) -> bool {
    let a = f.abs();
    a.fract() == 0.0 && a > MAX_SAFE_INTEGER as f64 && a < 1e21
}
