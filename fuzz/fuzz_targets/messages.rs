//! The message parsers and the whole verification procedure never panic, whatever the bytes.
//! The input is split into request, response and DID document by two leading u16 (LE) lengths.

#![no_main]

use cphar_protocol::{ChallengeRequest, ChallengeResponse, DidDocument, Timestamp, VerifierPolicy, verify_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a0, a1, b0, b1, rest @ ..] = data else { return };
    let (a, b) = (usize::from(u16::from_le_bytes([*a0, *a1])), usize::from(u16::from_le_bytes([*b0, *b1])));
    let (request, rest) = rest.split_at(a.min(rest.len()));
    let (response, document) = rest.split_at(b.min(rest.len()));
    let _ = ChallengeRequest::from_json(request);
    let _ = ChallengeResponse::from_json(response);
    let _ = DidDocument::from_json(document);
    let now = Timestamp::parse("2026-11-23T10:00:02Z").expect("constant time parses");
    let outcome = verify_json(request, response, document, &VerifierPolicy::default(), now, None);
    // A valid outcome always names the method and BAL it was verified at.
    if outcome.result == cphar_protocol::ResultCode::Valid {
        assert!(outcome.binding_method.is_some() && outcome.bal.is_some(), "valid without a method");
    }
});
