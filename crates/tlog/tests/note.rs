//! Signed notes: the published examples of the Go reference implementation
//! (golang.org/x/mod/sumdb/note, `note_test.go` and its package documentation) and of the C2SP
//! signed-note spec, then one negative fixture per attack on the framing.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use base64ct::{Base64, Encoding};
use common::{Ed25519NoteKey, Ed25519NoteVerifier, FailingSigner};
use cphar_tlog::note::{MAX_NOTE_SIZE, MAX_SIGNATURES, is_valid_key_name};
use cphar_tlog::{
    Note, NoteError, NoteSignature, NoteSigner, NoteVerifier, SIG_TYPE_ED25519, VerifierKey,
    key_id, open_note, sign_note,
};

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn verifier(vkey: &str) -> Ed25519NoteVerifier {
    let key = VerifierKey::parse(vkey).unwrap();
    assert_eq!(key.signature_type(), SIG_TYPE_ED25519);
    Ed25519NoteVerifier::new(key.name(), key.public_key().try_into().unwrap())
}

fn peter_signer() -> Ed25519NoteKey {
    // PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ 32-byte seed)
    let encoded = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
    let blob = Base64::decode_vec(encoded).unwrap();
    assert_eq!(blob[0], SIG_TYPE_ED25519);
    Ed25519NoteKey::from_seed("PeterNeumann", blob[1..].try_into().unwrap())
}

fn note(sigs: &[&str]) -> Vec<u8> {
    let mut s = format!("{TEXT}\n");
    for sig in sigs {
        s.push_str(sig);
    }
    s.into_bytes()
}

fn code<T: std::fmt::Debug>(r: Result<T, NoteError>) -> &'static str {
    r.unwrap_err().code()
}

// ---- Known answers ----

#[test]
fn verifier_keys_yield_the_published_key_ids() {
    let peter = VerifierKey::parse(PETER_VKEY).unwrap();
    assert_eq!(peter.name(), "PeterNeumann");
    assert_eq!(peter.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(
        key_id("PeterNeumann", SIG_TYPE_ED25519, peter.public_key()),
        [0xc7, 0x4f, 0x20, 0xa3]
    );
    assert_eq!(peter.encode(), PETER_VKEY);
    let enoch = VerifierKey::parse(ENOCH_VKEY).unwrap();
    assert_eq!(enoch.key_id(), [0xaf, 0x0c, 0xfe, 0x78]);
    assert_eq!(enoch.encode(), ENOCH_VKEY);
    // The Go suite's "unknown algorithm, with adjusted key hash": its ID is consistent (the
    // algorithm is the crypto crate's call, not the string form's).
    let other =
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap();
    assert_eq!(other.signature_type(), 0x65);
}

#[test]
fn signing_reproduces_the_published_go_note_byte_for_byte() {
    let signer = peter_signer();
    assert_eq!(
        signer.public(),
        VerifierKey::parse(PETER_VKEY).unwrap().public_key()
    );
    assert_eq!(signer.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    let signed = sign_note(TEXT, &[&signer]).unwrap();
    assert_eq!(signed.as_bytes(), note(&[PETER_SIG]));
}

#[test]
fn published_doubly_signed_note_opens_with_both_keys() {
    let (peter, enoch) = (verifier(PETER_VKEY), verifier(ENOCH_VKEY));
    let opened = open_note(&note(&[PETER_SIG, ENOCH_SIG]), &[&peter, &enoch]).unwrap();
    assert_eq!(opened.text(), TEXT);
    let names: Vec<_> = opened
        .verified_signatures()
        .iter()
        .map(NoteSignature::name)
        .collect();
    assert_eq!(names, ["PeterNeumann", "EnochRoot"]);
    assert!(opened.unverified_signatures().is_empty());
}

#[test]
fn unknown_cosigner_is_ignored_not_trusted() {
    let peter = verifier(PETER_VKEY);
    let opened = open_note(&note(&[PETER_SIG, ENOCH_SIG]), &[&peter]).unwrap();
    assert_eq!(opened.verified_signatures().len(), 1);
    assert_eq!(opened.verified_signatures()[0].name(), "PeterNeumann");
    assert_eq!(opened.unverified_signatures().len(), 1);
    assert_eq!(
        opened.unverified_signatures()[0].key_id(),
        [0xaf, 0x0c, 0xfe, 0x78]
    );
}

#[test]
fn c2sp_spec_example_splits_at_the_last_blank_line() {
    let example = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let parsed = Note::parse(example.as_bytes()).unwrap();
    assert_eq!(
        parsed.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n"
    );
    assert_eq!(parsed.signatures().len(), 1);
    assert_eq!(parsed.signatures()[0].name(), "quasimodo.example/salvatore");
    assert_eq!(parsed.signatures()[0].signature().len(), 64);
    assert_eq!(parsed.encode(), example);
    // Nobody here holds that key.
    assert_eq!(code(open_note(example.as_bytes(), &[])), "note_unverified");
}

// ---- Signature semantics ----

#[test]
fn forged_text_under_a_valid_signature_is_rejected() {
    let peter = verifier(PETER_VKEY);
    let forged = String::from_utf8(note(&[PETER_SIG]))
        .unwrap()
        .replace("cryptography", "cryptographY");
    assert!(matches!(
        open_note(forged.as_bytes(), &[&peter]),
        Err(NoteError::InvalidSignature { ref name, key_id: [0xc7, 0x4f, 0x20, 0xa3] }) if name == "PeterNeumann"
    ));
}

#[test]
fn bad_signature_by_a_known_key_rejects_the_note_despite_another_valid_one() {
    let (peter, enoch) = (verifier(PETER_VKEY), verifier(ENOCH_VKEY));
    // The Go suite's corruption: "ABCD" spliced into the base64 (still valid base64).
    let corrupted = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let result = open_note(&note(&[&corrupted, ENOCH_SIG]), &[&peter, &enoch]);
    assert_eq!(code(result), "note_invalid_signature");
}

#[test]
fn note_signed_only_by_unknown_keys_is_rejected() {
    assert_eq!(
        code(open_note(&note(&[PETER_SIG, ENOCH_SIG]), &[])),
        "note_unverified"
    );
    let enoch = verifier(ENOCH_VKEY);
    assert_eq!(
        code(open_note(&note(&[PETER_SIG]), &[&enoch])),
        "note_unverified"
    );
}

#[test]
fn signature_matching_a_known_key_by_name_only_or_id_only_is_ignored() {
    let peter = verifier(PETER_VKEY);
    // Same ID and signature bytes, another name: not Peter's key, so not checked at all.
    let renamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego");
    assert_eq!(
        code(open_note(&note(&[&renamed]), &[&peter])),
        "note_unverified"
    );
    // Same name, another key ID (first base64 chars changed): an unknown key of that name.
    let rekeyed = PETER_SIG.replace("x08g", "xxxx");
    let opened = open_note(&note(&[&rekeyed, PETER_SIG]), &[&peter]).unwrap();
    assert_eq!(opened.verified_signatures().len(), 1);
    assert_eq!(opened.unverified_signatures().len(), 1);
    assert_eq!(opened.unverified_signatures()[0].name(), "PeterNeumann");
}

#[test]
fn duplicate_signature_lines_are_rejected() {
    let peter = verifier(PETER_VKEY);
    for sigs in [
        vec![PETER_SIG, PETER_SIG],
        vec![ENOCH_SIG, PETER_SIG, ENOCH_SIG],
    ] {
        let r = open_note(&note(&sigs), &[&peter]);
        assert!(
            matches!(r, Err(NoteError::DuplicateSignature { .. })),
            "{r:?}"
        );
    }
    // Same key, two different signatures (a second, valid-looking line): still a duplicate.
    let other_bytes = PETER_SIG.replace("JnAM=", "JnAA=");
    assert_eq!(
        code(Note::parse(&note(&[PETER_SIG, &other_bytes]))),
        "note_duplicate_signature"
    );
}

#[test]
fn ambiguous_verifier_list_is_refused() {
    let (peter, enoch) = (verifier(PETER_VKEY), verifier(ENOCH_VKEY));
    let r = open_note(&note(&[PETER_SIG]), &[&enoch, &peter, &enoch]);
    assert_eq!(code(r), "note_duplicate_verifier");
}

// ---- Framing attacks ----

#[test]
fn malformed_framing_is_rejected() {
    let signed = String::from_utf8(note(&[PETER_SIG])).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (TEXT.as_bytes().to_vec(), "note_missing_signatures"),
        (note(&[]), "note_missing_signatures"),
        (
            note(&[PETER_SIG.trim_end_matches('\n')]),
            "note_malformed_signature_line",
        ),
        (
            format!("\x01{signed}").into_bytes(),
            "note_control_character",
        ),
        (
            [b"\xff".as_slice(), signed.as_bytes()].concat(),
            "note_not_utf8",
        ),
        (
            note(&[
                "\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            ]),
            "note_invalid_signature_encoding",
        ),
        (
            note(&[PETER_SIG, "Unexpected line.\n"]),
            "note_malformed_signature_line",
        ),
        (
            note(&["\u{2014} PeterNeumann\n"]),
            "note_malformed_signature_line",
        ),
        (
            note(&[
                "\u{2014}  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            ]),
            "note_invalid_key_name",
        ),
        (
            format!("{signed}\n").into_bytes(),
            "note_missing_signatures",
        ),
    ];
    let peter = verifier(PETER_VKEY);
    for (input, want) in cases {
        assert_eq!(
            code(open_note(&input, &[&peter])),
            want,
            "{:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

#[test]
fn signature_line_with_lookalike_dash_is_rejected() {
    let peter = verifier(PETER_VKEY);
    for dash in ["-", "--", "\u{2013}", "\u{2212}", "\u{2014}\u{2014}"] {
        let line = PETER_SIG.replacen('\u{2014}', dash, 1);
        assert_eq!(
            code(open_note(&note(&[&line]), &[&peter])),
            "note_malformed_signature_line",
            "{dash}"
        );
    }
}

#[test]
fn carriage_return_line_endings_are_rejected() {
    let crlf = String::from_utf8(note(&[PETER_SIG]))
        .unwrap()
        .replace('\n', "\r\n");
    assert_eq!(code(Note::parse(crlf.as_bytes())), "note_control_character");
}

#[test]
fn control_character_smuggled_in_text_is_rejected() {
    for c in ['\0', '\t', '\x1b', '\x0b'] {
        let text = TEXT.replacen(' ', &c.to_string(), 1);
        let input = format!("{text}\n{PETER_SIG}");
        assert_eq!(
            code(Note::parse(input.as_bytes())),
            "note_control_character"
        );
        assert_eq!(
            code(sign_note(&text, &[&peter_signer()])),
            "note_control_character"
        );
    }
}

#[test]
fn non_canonical_base64_signature_is_rejected() {
    // 'M' and 'N' differ only in padding bits: both decode to the same bytes, so accepting
    // 'N' would make signature lines malleable.
    let malleable = PETER_SIG.replace("JnAM=", "JnAN=");
    assert_eq!(
        code(Note::parse(&note(&[&malleable]))),
        "note_invalid_signature_encoding"
    );
    let unpadded = PETER_SIG.replace("JnAM=", "JnAM");
    assert_eq!(
        code(Note::parse(&note(&[&unpadded]))),
        "note_invalid_signature_encoding"
    );
    let url_alphabet = PETER_SIG.replace('/', "_");
    assert_eq!(
        code(Note::parse(&note(&[&url_alphabet]))),
        "note_invalid_signature_encoding"
    );
    let spaced = PETER_SIG.replace("x08go/", "x08go /");
    assert_eq!(
        code(Note::parse(&note(&[&spaced]))),
        "note_invalid_signature_encoding"
    );
}

#[test]
fn signature_without_bytes_after_the_key_id_is_rejected() {
    // Exactly 4 bytes: a key ID and an empty signature.
    let line = format!(
        "\u{2014} PeterNeumann {}\n",
        Base64::encode_string(&[0xc7, 0x4f, 0x20, 0xa3])
    );
    assert_eq!(
        code(Note::parse(&note(&[&line]))),
        "note_invalid_signature_encoding"
    );
    let short = "\u{2014} PeterNeumann AAA=\n";
    assert_eq!(
        code(Note::parse(&note(&[short]))),
        "note_invalid_signature_encoding"
    );
}

#[test]
fn key_names_with_plus_or_unicode_space_are_rejected() {
    for name in [
        "Peter+Neumann",
        "Peter\u{a0}Neumann",
        "Peter\u{2003}Neumann",
        "Peter\u{85}Neumann",
    ] {
        assert!(!is_valid_key_name(name), "{name:?}");
        let line = PETER_SIG.replace("PeterNeumann", name);
        assert_eq!(
            code(Note::parse(&note(&[&line]))),
            "note_invalid_key_name",
            "{name:?}"
        );
    }
    assert!(is_valid_key_name("example.com/log42"));
    assert!(is_valid_key_name("\u{65e5}\u{672c}.example"));
}

#[test]
fn too_many_signatures_are_rejected_before_any_check() {
    let line = |i: usize| format!("\u{2014} signer{i} {}\n", Base64::encode_string(&[0u8; 68]));
    let at_limit: Vec<String> = (0..MAX_SIGNATURES).map(line).collect();
    let at_limit_refs: Vec<&str> = at_limit.iter().map(String::as_str).collect();
    assert_eq!(
        Note::parse(&note(&at_limit_refs))
            .unwrap()
            .signatures()
            .len(),
        MAX_SIGNATURES
    );
    let over: Vec<String> = (0..=MAX_SIGNATURES).map(line).collect();
    let over_refs: Vec<&str> = over.iter().map(String::as_str).collect();
    assert_eq!(
        code(Note::parse(&note(&over_refs))),
        "note_too_many_signatures"
    );
}

#[test]
fn oversized_note_is_rejected() {
    let big_text = format!("{}\n", "a".repeat(MAX_NOTE_SIZE));
    let input = format!("{big_text}\n{PETER_SIG}");
    assert!(matches!(
        Note::parse(input.as_bytes()),
        Err(NoteError::TooLarge {
            max: MAX_NOTE_SIZE,
            ..
        })
    ));
    assert_eq!(
        code(sign_note(&big_text, &[&peter_signer()])),
        "note_too_large"
    );
    // Just under the limit the text fits, but the signature line pushes the note over it.
    let edge = format!("{}\n", "a".repeat(MAX_NOTE_SIZE - 10));
    assert_eq!(code(sign_note(&edge, &[&peter_signer()])), "note_too_large");
}

// ---- Producing notes ----

#[test]
fn signed_notes_round_trip_through_parse_and_open() {
    let a = Ed25519NoteKey::from_seed("log.example/a", [1; 32]);
    let b = Ed25519NoteKey::from_seed("witness.example/b", [2; 32]);
    let text = "line one\n\nline three after a blank line\n";
    let signed = sign_note(text, &[&a, &b]).unwrap();
    let parsed = Note::parse(signed.as_bytes()).unwrap();
    assert_eq!(parsed.text(), text);
    assert_eq!(parsed.encode(), signed);
    let opened = open_note(signed.as_bytes(), &[&a.verifier()]).unwrap();
    assert_eq!(opened.text(), text);
    assert_eq!(
        opened.unverified_signatures()[0].name(),
        "witness.example/b"
    );
    // Cosigning: keep the log's line, add the witness's.
    let cosigned = Note::new(
        parsed.text(),
        vec![
            parsed.signatures()[0].clone(),
            NoteSignature::new("w2.example", [9, 9, 9, 9], vec![1, 2, 3]).unwrap(),
        ],
    )
    .unwrap();
    assert_eq!(Note::parse(cosigned.encode().as_bytes()).unwrap(), cosigned);
}

#[test]
fn signing_refuses_what_could_not_be_parsed_back() {
    let a = Ed25519NoteKey::from_seed("log.example/a", [1; 32]);
    assert_eq!(code(sign_note("", &[&a])), "note_malformed_text");
    assert_eq!(
        code(sign_note("no final newline", &[&a])),
        "note_malformed_text"
    );
    assert_eq!(code(sign_note("text\n", &[])), "note_no_signers");
    assert_eq!(
        code(sign_note("text\n", &[&a, &a])),
        "note_duplicate_signature"
    );
    let spaced = Ed25519NoteKey::from_seed("log example", [1; 32]);
    assert_eq!(
        code(sign_note("text\n", &[&spaced])),
        "note_invalid_key_name"
    );
    let failed = sign_note("text\n", &[&a, &FailingSigner]).unwrap_err();
    assert_eq!(failed.code(), "note_signer_failed");
    assert_eq!(
        std::error::Error::source(&failed)
            .map(ToString::to_string)
            .as_deref(),
        Some("device unreachable")
    );
    assert_eq!(code(Note::new("text\n", vec![])), "note_missing_signatures");
    assert_eq!(
        code(NoteSignature::new("a", [0; 4], vec![])),
        "note_empty_signature"
    );
}

#[test]
fn mangled_verifier_keys_are_rejected() {
    // As the Go suite does: every proper substring, and every single-byte increment.
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if (i, j) != (0, bytes.len()) {
                let s = std::str::from_utf8(&bytes[i..j]).unwrap();
                assert!(VerifierKey::parse(s).is_err(), "{s}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] += 1;
        let s = String::from_utf8(b).unwrap();
        assert!(VerifierKey::parse(&s).is_err(), "{s}");
    }
    // Wrong-length Ed25519 key, with its key ID adjusted (from the Go suite).
    assert_eq!(
        VerifierKey::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .unwrap_err()
        .code(),
        "note_invalid_verifier_key"
    );
    assert_eq!(
        VerifierKey::parse(&PETER_VKEY.replace("c74f20a3", "C74F20A3"))
            .unwrap_err()
            .code(),
        "note_invalid_verifier_key"
    );
    assert_eq!(
        VerifierKey::parse(&PETER_VKEY.replace("c74f20a3", "c74f20a4"))
            .unwrap_err()
            .code(),
        "note_verifier_key_id_mismatch"
    );
}

#[test]
fn every_error_code_is_distinct() {
    let codes = [
        NoteError::TooLarge { size: 0, max: 0 }.code(),
        NoteError::NotUtf8.code(),
        NoteError::ControlCharacter.code(),
        NoteError::MalformedText.code(),
        NoteError::MissingSignatures.code(),
        NoteError::MalformedSignatureLine { line: 1 }.code(),
        NoteError::InvalidKeyName { line: 1 }.code(),
        NoteError::InvalidSignatureEncoding { line: 1 }.code(),
        NoteError::EmptySignature {
            name: String::new(),
        }
        .code(),
        NoteError::TooManySignatures { max: 0 }.code(),
        NoteError::DuplicateSignature {
            name: String::new(),
            key_id: [0; 4],
        }
        .code(),
        NoteError::DuplicateVerifier {
            name: String::new(),
            key_id: [0; 4],
        }
        .code(),
        NoteError::InvalidSignature {
            name: String::new(),
            key_id: [0; 4],
        }
        .code(),
        NoteError::NoVerifiedSignature.code(),
        NoteError::NoSigners.code(),
        NoteError::SignerFailed {
            name: String::new(),
            source: "x".into(),
        }
        .code(),
        NoteError::InvalidVerifierKey.code(),
        NoteError::VerifierKeyIdMismatch.code(),
    ];
    let mut sorted = codes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), codes.len());
    // Error messages name keys as name+hexid, like verifier keys do.
    let e = NoteError::InvalidSignature {
        name: "PeterNeumann".into(),
        key_id: [0xc7, 0x4f, 0x20, 0xa3],
    };
    assert_eq!(
        e.to_string(),
        "signature by known key PeterNeumann+c74f20a3 does not verify"
    );
}

#[test]
fn verifier_trait_objects_compose() {
    // A verifier that accepts everything must still only be consulted for its own key.
    struct AcceptAll;
    impl NoteVerifier for AcceptAll {
        fn name(&self) -> &str {
            "EnochRoot"
        }
        fn key_id(&self) -> [u8; 4] {
            [0, 0, 0, 0]
        }
        fn verify(&self, _: &[u8], _: &[u8]) -> bool {
            true
        }
    }
    assert_eq!(
        code(open_note(&note(&[ENOCH_SIG]), &[&AcceptAll])),
        "note_unverified"
    );
}
