//! The identifier grammar, defined once: lot ids, seal device UIDs and subjects (the actor
//! names of tokens and registry events). Every command, the CLI's `--actor` and `POST /tokens`
//! go through here.
//!
//! | kind | grammar | case |
//! | --- | --- | --- |
//! | lot id | 1–64 of `[A-Za-z0-9._-]`, not `.` or `..` | kept (did:web path segment) |
//! | seal UID | 1–128 of `[A-Za-z0-9._:-]`, not `.` or `..` | kept |
//! | subject | 1–64 of `[a-z0-9._@-]`, starting with `[a-z0-9]` | folded to lower case |
//!
//! Lot ids become a did:web path segment (`did:web:host:lots:ID` → `/lots/ID/did.json`) and
//! seal UIDs a URL path segment: `.` and `..` would be resolved away by any client, so they
//! are refused. Subjects are compared by the separation-of-duties rules, so one person must
//! have exactly one spelling: [`normalize_subject`] trims surrounding ASCII white space and
//! folds ASCII letters to lower case, then the strict ASCII grammar applies (anything else —
//! inner spaces, zero-width or other non-ASCII characters — is refused, not silently
//! dropped). A stored subject is always in this canonical form ([`check_subject`]); the
//! actor of a registry command is such a subject or a DID (a verifier, [`check_actor`]).

use crate::codes::RefusalCode;
use crate::error::Refusal;

/// Longest lot id.
pub const LOT_ID_MAX: usize = 64;
/// Longest seal UID.
pub const SEAL_UID_MAX: usize = 128;
/// Longest subject.
pub const SUBJECT_MAX: usize = 64;

fn dot_segment(s: &str) -> bool {
    s == "." || s == ".."
}

/// Checks a lot id.
pub fn check_lot_id(id: &str) -> Result<(), Refusal> {
    let ok = !id.is_empty()
        && id.len() <= LOT_ID_MAX
        && !dot_segment(id)
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        return Ok(());
    }
    Err(Refusal::new(
        RefusalCode::InvalidLotId,
        format!("lot id {id:?} must be 1-{LOT_ID_MAX} characters of [A-Za-z0-9._-], not . or .."),
    ))
}

/// Checks a seal device UID.
pub fn check_seal_uid(uid: &str) -> Result<(), Refusal> {
    let ok = !uid.is_empty()
        && uid.len() <= SEAL_UID_MAX
        && !dot_segment(uid)
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        return Ok(());
    }
    Err(Refusal::new(
        RefusalCode::InvalidSealUid,
        format!(
            "seal uid {uid:?} must be 1-{SEAL_UID_MAX} characters of [A-Za-z0-9._:-], not . or .."
        ),
    ))
}

fn subject_refusal(subject: &str) -> Refusal {
    Refusal::new(
        RefusalCode::InvalidSubject,
        format!(
            "subject {subject:?} must be 1-{SUBJECT_MAX} characters of [a-z0-9._@-] starting \
             with a letter or digit (surrounding spaces are trimmed, letters folded to lower case)"
        ),
    )
}

/// Checks that `subject` is a subject in canonical form (what [`normalize_subject`] returns).
pub fn check_subject(subject: &str) -> Result<(), Refusal> {
    let mut bytes = subject.bytes();
    let ok = subject.len() <= SUBJECT_MAX
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'@' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(subject_refusal(subject))
    }
}

/// Checks the actor of a registry command: a subject in canonical form, or a DID (a
/// verifier acting under its DID: compared by the DID rules, never a person's name).
pub fn check_actor(actor: &str) -> Result<(), Refusal> {
    if let Some(rest) = actor.strip_prefix("did:") {
        if !rest.is_empty() && actor.len() <= 512 && actor.bytes().all(|b| b.is_ascii_graphic()) {
            return Ok(());
        }
        return Err(subject_refusal(actor));
    }
    check_subject(actor)
}

/// The canonical form of a subject as typed: trimmed of ASCII white space, ASCII letters in
/// lower case, then checked against the grammar.
pub fn normalize_subject(raw: &str) -> Result<String, Refusal> {
    let canonical = raw
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_ascii_lowercase();
    check_subject(&canonical).map_err(|_| subject_refusal(raw))?;
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lot_ids() {
        for ok in ["LOT-7", "a", "lot.v2", "A_b-c.d", "...", &"x".repeat(64)] {
            assert!(check_lot_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "lot%2F",
            "lot:7",
            "l\u{200b}",
            &"x".repeat(65),
        ] {
            let e = check_lot_id(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_lot_id", "{bad:?}");
        }
    }

    #[test]
    fn seal_uids() {
        for ok in ["SEAL-1", "urn:dev:42", "a.b_c"] {
            assert!(check_seal_uid(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a?b", "a#b", "é", &"x".repeat(129)] {
            assert_eq!(
                check_seal_uid(bad).unwrap_err().code(),
                "invalid_seal_uid",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn subjects_have_one_spelling() {
        for same in ["operator-x", "operator-x ", " Operator-X", "\toperator-x\n"] {
            assert_eq!(normalize_subject(same).unwrap(), "operator-x", "{same:?}");
        }
        for bad in [
            "",
            "   ",
            "operator\u{200b}-x",
            "operator x",
            "opérateur",
            "-x",
            ".x",
            "a\u{7}b",
            "ｏperator-x",
            &"x".repeat(65),
        ] {
            assert_eq!(
                normalize_subject(bad).unwrap_err().code(),
                "invalid_subject",
                "{bad:?}"
            );
        }
        assert!(check_subject("alice@example.com").is_ok());
        assert!(check_subject("Alice").is_err());
        assert!(check_subject("alice ").is_err());
    }
}
