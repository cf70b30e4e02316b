//! Typed access to the members of a received JSON object.
//!
//! Messages are kept as the `serde_json::Value` that was received (the signature covers it,
//! unknown members included); these helpers pull out the members the protocol reads and say
//! precisely which one was missing or of the wrong type.

use crate::timestamp::Timestamp;
use serde_json::{Map, Value};
use std::str::FromStr;

/// What is wrong with one member of an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The input is not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// A REQUIRED member is absent.
    #[error("missing required member '{0}'")]
    Missing(String),
    /// The member has the wrong JSON type.
    #[error("member '{0}' has the wrong type")]
    WrongType(String),
    /// The member has the right type but an invalid value.
    #[error("member '{0}' has an invalid value")]
    Invalid(String),
}

/// Views `value` as an object.
pub(crate) fn object(value: &Value) -> Result<&Map<String, Value>, FieldError> {
    value.as_object().ok_or(FieldError::NotAnObject)
}

/// A REQUIRED string member.
pub(crate) fn req_str<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, FieldError> {
    opt_str(obj, name)?.ok_or_else(|| FieldError::Missing(name.to_owned()))
}

/// An OPTIONAL string member.
pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, FieldError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(FieldError::WrongType(name.to_owned())),
    }
}

/// An OPTIONAL boolean member.
pub(crate) fn opt_bool(obj: &Map<String, Value>, name: &str) -> Result<Option<bool>, FieldError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(FieldError::WrongType(name.to_owned())),
    }
}

/// A REQUIRED boolean member.
pub(crate) fn req_bool(obj: &Map<String, Value>, name: &str) -> Result<bool, FieldError> {
    opt_bool(obj, name)?.ok_or_else(|| FieldError::Missing(name.to_owned()))
}

/// A REQUIRED finite number member.
pub(crate) fn req_f64(obj: &Map<String, Value>, name: &str) -> Result<f64, FieldError> {
    match obj.get(name) {
        None => Err(FieldError::Missing(name.to_owned())),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| FieldError::Invalid(name.to_owned())),
        Some(_) => Err(FieldError::WrongType(name.to_owned())),
    }
}

/// An OPTIONAL object member.
pub(crate) fn opt_object<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, FieldError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(FieldError::WrongType(name.to_owned())),
    }
}

/// A REQUIRED object member.
pub(crate) fn req_object<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Map<String, Value>, FieldError> {
    opt_object(obj, name)?.ok_or_else(|| FieldError::Missing(name.to_owned()))
}

/// A REQUIRED RFC 3339 UTC timestamp member.
pub(crate) fn req_time(obj: &Map<String, Value>, name: &str) -> Result<Timestamp, FieldError> {
    let s = req_str(obj, name)?;
    Timestamp::parse(s).map_err(|_| FieldError::Invalid(name.to_owned()))
}

/// An OPTIONAL RFC 3339 UTC timestamp member.
pub(crate) fn opt_time(
    obj: &Map<String, Value>,
    name: &str,
) -> Result<Option<Timestamp>, FieldError> {
    opt_str(obj, name)?
        .map(|s| Timestamp::parse(s).map_err(|_| FieldError::Invalid(name.to_owned())))
        .transpose()
}

/// An OPTIONAL member holding one of a code enum's wire values.
pub(crate) fn opt_code<T: FromStr>(
    obj: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, FieldError> {
    opt_str(obj, name)?
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| FieldError::Invalid(name.to_owned()))
        })
        .transpose()
}

/// A REQUIRED member holding one of a code enum's wire values.
pub(crate) fn req_code<T: FromStr>(obj: &Map<String, Value>, name: &str) -> Result<T, FieldError> {
    opt_code(obj, name)?.ok_or_else(|| FieldError::Missing(name.to_owned()))
}

/// A REQUIRED member that is a DID (`did:<method>:<method-specific-id>`).
pub(crate) fn req_did<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, FieldError> {
    let s = req_str(obj, name)?;
    if is_did(s) {
        Ok(s)
    } else {
        Err(FieldError::Invalid(name.to_owned()))
    }
}

/// A REQUIRED member holding unpadded base64url, decoded.
pub(crate) fn req_b64(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, FieldError> {
    let s = req_str(obj, name)?;
    cphar_crypto::b64::decode(s).map_err(|_| FieldError::Invalid(name.to_owned()))
}

/// DID syntax (W3C DID Core §3.1), checked to the level a verifier needs: `did:`, a method
/// name of lower-case letters and digits, and a non-empty method-specific id of allowed
/// characters (`idchar` = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded, segments joined by `:`).
pub fn is_did(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("did:") else {
        return false;
    };
    let Some((method, id)) = rest.split_once(':') else {
        return false;
    };
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return false;
    }
    if id.is_empty() || id.ends_with(':') {
        return false;
    }
    let bytes = id.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = |j: usize| bytes.get(j).is_some_and(|c| c.is_ascii_hexdigit());
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':') => i += 1,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_did;

    #[test]
    fn did_syntax() {
        for good in [
            "did:web:reg.example:lots:LOT-7",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "did:example:a%20b",
        ] {
            assert!(is_did(good), "{good}");
        }
        for bad in [
            "",
            "did:",
            "did:web",
            "did:web:",
            "did:Web:x",
            "DID:web:x",
            "did:web:x:",
            "did:web:a b",
            "did:web:%2",
            "did:web:x#frag",
            "urn:web:x",
        ] {
            assert!(!is_did(bad), "{bad}");
        }
    }
}
