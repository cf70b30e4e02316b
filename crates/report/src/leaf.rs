//! Leaves: one active lot as it stood at the report's snapshot, and its exact bytes.
//!
//! A leaf's bytes are the RFC 8785 (JCS) form of this object (member order is JCS order):
//!
//! ```json
//! {"commodity":"gold","didDocumentHash":"sha256:<64 hex>","didVersionId":"3","grade":"LBMA good delivery",
//!  "lastAttestation":{"at":"2026-11-23T10:00:00Z","hash":"sha256:<64 hex>"},"lotId":"LOT-7",
//!  "quantity":"400.000","sealUid":"SEAL-1","unit":"kg"}
//! ```
//!
//! `lastAttestation` is `null` for a lot whose seal has not answered a challenge yet. Field
//! rules are in [`LotLeaf::validate`]. The writer here is a fixed-schema JCS encoder (the
//! report over ten million lots cannot afford a `serde_json::Value` per leaf); the tests check
//! it byte for byte against `cphar-jcs` on random leaves, and [`LotLeaf::from_json`] parses
//! leaves strictly through `cphar-jcs`.

use cphar_protocol::Timestamp;
use serde_json::{Map, Value};

use crate::amount::{Amount, AmountError};

/// Largest lot id: `[A-Za-z0-9._-]`, 1–64 characters (it is also the last part of the lot DID).
pub const MAX_LOT_ID_LEN: usize = 64;
/// Largest text field (commodity, grade, unit, seal uid), in bytes.
pub const MAX_TEXT_LEN: usize = 128;

/// The last valid attestation of a lot's seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastAttestation {
    /// When it was verified (RFC 3339 UTC, as the registry wrote it).
    pub at: String,
    /// `sha256:<64 lower-case hex>` of the attestation record.
    pub hash: String,
}

/// One lot of the active reserve set: the leaf of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotLeaf {
    /// Lot id, `[A-Za-z0-9._-]{1,64}`; leaves are sorted by it (bytewise), without duplicates.
    pub lot_id: String,
    /// Commodity (text, 1–128 bytes, no control characters).
    pub commodity: String,
    /// Grade (text, 1–128 bytes, no control characters).
    pub grade: String,
    /// Quantity: a leaf quantity (see [`crate::amount`]).
    pub quantity: String,
    /// Unit: 1–128 printable ASCII characters without spaces (`kg`, `troy_oz`).
    pub unit: String,
    /// The bound seal's uid: 1–128 printable ASCII characters without spaces.
    pub seal_uid: String,
    /// The lot DID document's current `versionId`.
    pub did_version_id: u64,
    /// `sha256:<64 lower-case hex>` of JCS of that DID document.
    pub did_document_hash: String,
    /// The last valid attestation, if any.
    pub last_attestation: Option<LastAttestation>,
}

/// Which leaf rule was broken (the field is named in [`LeafError::field`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("leaf field {field}: {problem}")]
pub struct LeafError {
    /// The JSON member name.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

fn bad(field: &'static str, problem: impl Into<String>) -> LeafError {
    LeafError {
        field,
        problem: problem.into(),
    }
}

impl LotLeaf {
    /// Checks every field rule and returns the parsed quantity.
    ///
    /// # Errors
    /// [`LeafError`] naming the first field that breaks its rule.
    pub fn validate(&self) -> Result<Amount, LeafError> {
        if self.lot_id.is_empty()
            || self.lot_id.len() > MAX_LOT_ID_LEN
            || !self
                .lot_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(bad("lotId", "must be 1-64 characters of [A-Za-z0-9._-]"));
        }
        check_text("commodity", &self.commodity)?;
        check_text("grade", &self.grade)?;
        check_token("unit", &self.unit)?;
        check_token("sealUid", &self.seal_uid)?;
        if self.did_version_id == 0 || self.did_version_id > cphar_jcs::MAX_SAFE_INTEGER {
            return Err(bad("didVersionId", "must be 1..2^53-1"));
        }
        check_digest("didDocumentHash", &self.did_document_hash)?;
        if let Some(att) = &self.last_attestation {
            Timestamp::parse(&att.at)
                .map_err(|e| bad("lastAttestation.at", format!("{} ({})", e, e.code())))?;
            check_digest("lastAttestation.hash", &att.hash)?;
        }
        Amount::parse_quantity(&self.quantity)
            .map_err(|e: AmountError| bad("quantity", format!("{e} ({})", e.code())))
    }

    /// Appends the leaf's JCS bytes to `out` (the caller validated the leaf).
    pub fn write_jcs(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"commodity\":");
        write_string(out, &self.commodity);
        out.extend_from_slice(b",\"didDocumentHash\":");
        write_string(out, &self.did_document_hash);
        out.extend_from_slice(b",\"didVersionId\":\"");
        out.extend_from_slice(self.did_version_id.to_string().as_bytes());
        out.extend_from_slice(b"\",\"grade\":");
        write_string(out, &self.grade);
        out.extend_from_slice(b",\"lastAttestation\":");
        match &self.last_attestation {
            None => out.extend_from_slice(b"null"),
            Some(att) => {
                out.extend_from_slice(b"{\"at\":");
                write_string(out, &att.at);
                out.extend_from_slice(b",\"hash\":");
                write_string(out, &att.hash);
                out.push(b'}');
            }
        }
        out.extend_from_slice(b",\"lotId\":");
        write_string(out, &self.lot_id);
        out.extend_from_slice(b",\"quantity\":");
        write_string(out, &self.quantity);
        out.extend_from_slice(b",\"sealUid\":");
        write_string(out, &self.seal_uid);
        out.extend_from_slice(b",\"unit\":");
        write_string(out, &self.unit);
        out.push(b'}');
    }

    /// The leaf's JCS bytes.
    #[must_use]
    pub fn to_jcs(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(320);
        self.write_jcs(&mut out);
        out
    }

    /// The leaf as a JSON value (for proofs and leaves files).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("commodity".into(), self.commodity.clone().into());
        m.insert(
            "didDocumentHash".into(),
            self.did_document_hash.clone().into(),
        );
        m.insert(
            "didVersionId".into(),
            self.did_version_id.to_string().into(),
        );
        m.insert("grade".into(), self.grade.clone().into());
        m.insert(
            "lastAttestation".into(),
            match &self.last_attestation {
                None => Value::Null,
                Some(att) => {
                    let mut a = Map::new();
                    a.insert("at".into(), att.at.clone().into());
                    a.insert("hash".into(), att.hash.clone().into());
                    Value::Object(a)
                }
            },
        );
        m.insert("lotId".into(), self.lot_id.clone().into());
        m.insert("quantity".into(), self.quantity.clone().into());
        m.insert("sealUid".into(), self.seal_uid.clone().into());
        m.insert("unit".into(), self.unit.clone().into());
        Value::Object(m)
    }

    /// Reads a leaf from a JSON value (exactly these members, all strings except
    /// `lastAttestation`), then [`LotLeaf::validate`]s it.
    ///
    /// # Errors
    /// [`LeafError`] naming the missing, extra or invalid member.
    pub fn from_json(value: &Value) -> Result<(LotLeaf, Amount), LeafError> {
        let obj = value
            .as_object()
            .ok_or_else(|| bad("(leaf)", "not a JSON object"))?;
        const FIELDS: [&str; 9] = [
            "commodity",
            "didDocumentHash",
            "didVersionId",
            "grade",
            "lastAttestation",
            "lotId",
            "quantity",
            "sealUid",
            "unit",
        ];
        if let Some(extra) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(bad("(leaf)", format!("unknown member {extra:?}")));
        }
        let text = |field: &'static str| -> Result<String, LeafError> {
            obj.get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(field, "missing or not a string"))
        };
        let version_text = text("didVersionId")?;
        let did_version_id = parse_decimal_u64(&version_text)
            .ok_or_else(|| bad("didVersionId", "not a decimal integer without leading zero"))?;
        let last_attestation = match obj.get("lastAttestation") {
            Some(Value::Null) => None,
            Some(Value::Object(a)) => {
                if a.len() != 2 {
                    return Err(bad("lastAttestation", "must have exactly at and hash"));
                }
                let get = |field: &'static str, name: &str| {
                    a.get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| bad(field, "missing or not a string"))
                };
                Some(LastAttestation {
                    at: get("lastAttestation.at", "at")?,
                    hash: get("lastAttestation.hash", "hash")?,
                })
            }
            _ => return Err(bad("lastAttestation", "missing, or not an object or null")),
        };
        let leaf = LotLeaf {
            lot_id: text("lotId")?,
            commodity: text("commodity")?,
            grade: text("grade")?,
            quantity: text("quantity")?,
            unit: text("unit")?,
            seal_uid: text("sealUid")?,
            did_version_id,
            did_document_hash: text("didDocumentHash")?,
            last_attestation,
        };
        let amount = leaf.validate()?;
        Ok((leaf, amount))
    }
}

/// A decimal `u64` without sign or leading zero (`"0"` alone allowed).
pub(crate) fn parse_decimal_u64(text: &str) -> Option<u64> {
    if text.is_empty()
        || (text.len() > 1 && text.starts_with('0'))
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

fn check_text(field: &'static str, value: &str) -> Result<(), LeafError> {
    if value.is_empty() || value.len() > MAX_TEXT_LEN || value.chars().any(char::is_control) {
        return Err(bad(
            field,
            "must be 1-128 bytes of text without control characters",
        ));
    }
    Ok(())
}

fn check_token(field: &'static str, value: &str) -> Result<(), LeafError> {
    if value.is_empty()
        || value.len() > MAX_TEXT_LEN
        || !value.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad(
            field,
            "must be 1-128 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

/// `sha256:` followed by 64 lower-case hex digits.
pub(crate) fn check_digest(field: &'static str, value: &str) -> Result<(), LeafError> {
    let ok = value.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if ok {
        Ok(())
    } else {
        Err(bad(field, "must be sha256: and 64 lower-case hex digits"))
    }
}

/// Writes `s` as an RFC 8785 string: `"` and `\` escaped, U+0000–U+001F as `\b \t \n \f \r`
/// or `\u00xx` (lower-case hex), everything else as UTF-8.
fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x00..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                for nibble in [b >> 4, b & 0x0f] {
                    if let Some(d) = HEX.get(usize::from(nibble)) {
                        out.push(*d);
                    }
                }
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_escaping_matches_cphar_jcs() {
        for s in [
            "plain",
            "q\"uote",
            "back\\slash",
            "\u{1}\u{8}\t\n\u{c}\r\u{1f}",
            "é€😀",
            "\u{7f}",
        ] {
            let mut ours = Vec::new();
            write_string(&mut ours, s);
            let theirs = cphar_jcs::canonicalize(&Value::String(s.into())).unwrap();
            assert_eq!(ours, theirs, "{s:?}");
        }
    }
}
