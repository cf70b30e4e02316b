//! RFC 8785 serialization of a [`serde_json::Value`].

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use crate::error::CanonError;
use crate::{MAX_CANONICAL_INTEGER, MAX_DEPTH};

/// The RFC 8785 canonical form of `value`.
///
/// # Errors
/// [`CanonError::IntegerOutOfRange`] for an integer beyond ±2^53 (possible only in a value
/// built in code: [`parse`](crate::parse) refuses them), [`CanonError::DepthExceeded`] for
/// nesting deeper than [`MAX_DEPTH`].
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, CanonError> {
    let mut out = Vec::new();
    canonicalize_into(value, &mut out)?;
    Ok(out)
}

/// Appends the RFC 8785 canonical form of `value` to `out`.
///
/// # Errors
/// As [`canonicalize`]; on error `out` may hold a partial serialization.
pub fn canonicalize_into(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonError> {
    write_value(value, out, 0)
}

/// Orders two strings by their UTF-16 code units (RFC 8785 §3.2.3), without transcoding.
///
/// UTF-8 byte order is code-point order, which differs from UTF-16 order only between
/// U+E000..=U+FFFF (lead bytes `EE`, `EF`) and supplementary characters (lead bytes
/// `F0`..=`F4`, surrogates `D800`..=`DFFF` in UTF-16): there the order flips. The first
/// differing byte decides, because the strings agree up to the character holding it.
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).find(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some((&x, &y)) => {
            if x >= 0xEE && y >= 0xEE && (x >= 0xF0) != (y >= 0xF0) {
                y.cmp(&x)
            } else {
                x.cmp(&y)
            }
        }
    }
}

fn write_value(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), CanonError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(CanonError::DepthExceeded);
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out, depth + 1)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            if depth >= MAX_DEPTH {
                return Err(CanonError::DepthExceeded);
            }
            write_object(map, out, depth)?;
        }
    }
    Ok(())
}

fn write_object(
    map: &Map<String, Value>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), CanonError> {
    out.push(b'{');
    // Objects that arrive already in canonical order (the common case for signed
    // messages) need no scratch vector.
    if map
        .keys()
        .is_sorted_by(|a, b| cmp_utf16(a, b) == Ordering::Less)
    {
        write_members(map.iter(), out, depth)?;
    } else {
        let mut members: Vec<(&String, &Value)> = map.iter().collect();
        members.sort_unstable_by(|a, b| cmp_utf16(a.0, b.0));
        write_members(members.into_iter(), out, depth)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_members<'a>(
    members: impl Iterator<Item = (&'a String, &'a Value)>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), CanonError> {
    for (i, (name, value)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(name, out);
        out.push(b':');
        write_value(value, out, depth + 1)?;
    }
    Ok(())
}

/// ECMAScript `Number.prototype.toString` (RFC 8785 §3.2.2.3), via `ryu_js`.
#[allow(clippy::cast_precision_loss)] // magnitudes are checked to be at most 2^53: exact
fn write_number(n: &Number, out: &mut Vec<u8>) -> Result<(), CanonError> {
    let double = if let Some(u) = n.as_u64() {
        if u > MAX_CANONICAL_INTEGER {
            return Err(CanonError::IntegerOutOfRange(n.clone()));
        }
        u as f64
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_CANONICAL_INTEGER {
            return Err(CanonError::IntegerOutOfRange(n.clone()));
        }
        i as f64
    } else {
        // Without `arbitrary_precision` a Number is u64, i64 or a finite f64.
        n.as_f64().unwrap_or_default()
    };
    let mut buf = ryu_js::Buffer::new();
    out.extend_from_slice(buf.format(double).as_bytes());
    Ok(())
}

/// RFC 8785 §3.2.2.2: escape only `"`, `\` and controls; short forms where JSON has them,
/// otherwise `\u00xx` in lowercase hex. Everything else is copied as UTF-8.
fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0C => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0..0x20 => 0,
            _ => continue,
        };
        out.extend_from_slice(bytes.get(run..i).unwrap_or_default());
        run = i + 1;
        if short == 0 {
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0');
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
    out.push(b'"');
}
