//! Bitstring Status Lists: bit order, bounds, signatures, and a list that inflates too far.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::Timestamp;
use cphar_registry::RegistryNames;
use cphar_registry::status_list::{self, LIST_SIZE, StatusListError, StatusSlot};
use serde_json::{Value, json};
use std::io::Read;

const VM: &str = "did:web:reg.example#ea-1";

fn now() -> Timestamp {
    Timestamp::parse("2026-12-01T10:00:00Z").unwrap()
}

fn bitstring(list: &Value) -> Vec<u8> {
    let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
    let gz = cphar_crypto::b64::decode(encoded.strip_prefix('u').unwrap()).unwrap();
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut bits)
        .unwrap();
    bits
}

#[test]
fn index_zero_is_the_first_bytes_most_significant_bit() {
    let names = RegistryNames::new("reg.example%3A8443");
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let list = status_list::build(&names, 0, &[0, 9, LIST_SIZE - 1], &key, VM, now()).unwrap();
    assert_eq!(list["id"], "https://reg.example:8443/status/revocations/0");
    let bits = bitstring(&list);
    assert_eq!(bits.len() as u64, LIST_SIZE / 8);
    assert_eq!((bits[0], bits[1], bits[bits.len() - 1]), (0x80, 0x40, 0x01));
    assert_eq!(bits.iter().map(|b| b.count_ones()).sum::<u32>(), 3);
    let verified = status_list::verify(&list, &key.verifying_key(), VM).unwrap();
    for (bit, set) in [(0, true), (1, false), (9, true), (LIST_SIZE - 1, true)] {
        assert_eq!(verified.is_set(bit).unwrap(), set, "bit {bit}");
    }
    assert!(verified.is_set(LIST_SIZE).is_err());
}

#[test]
fn slots_span_lists_and_an_index_of_another_list_is_refused() {
    assert_eq!(
        StatusSlot::of(LIST_SIZE + 5),
        StatusSlot { list: 1, bit: 5 }
    );
    let names = RegistryNames::new("reg.example");
    let entry = status_list::credential_status(&names, LIST_SIZE + 5);
    assert_eq!(entry["statusListIndex"], "5");
    assert_eq!(
        entry["statusListCredential"],
        "https://reg.example/status/revocations/1"
    );
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    assert_eq!(
        status_list::build(&names, 0, &[LIST_SIZE + 5], &key, VM, now()).unwrap_err(),
        StatusListError::OutOfList(LIST_SIZE + 5)
    );
    let list = status_list::build(&names, 1, &[LIST_SIZE + 5], &key, VM, now()).unwrap();
    let verified = status_list::verify(&list, &key.verifying_key(), VM).unwrap();
    assert!(verified.is_set(5).unwrap());
}

/// Re-signs `list` after `edit`, as a hostile issuer holding the key could.
fn resigned(list: &Value, key: &SigningKey, edit: impl FnOnce(&mut Value)) -> Value {
    let mut unsigned = list.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    edit(&mut unsigned);
    cphar_registry::bea::sign(unsigned, key, VM, now()).unwrap()
}

#[test]
fn lists_of_the_wrong_size_purpose_or_type_are_refused_even_when_signed() {
    let names = RegistryNames::new("reg.example");
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let public = key.verifying_key();
    let list = status_list::build(&names, 0, &[], &key, VM, now()).unwrap();
    let gz = |bytes: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        format!("u{}", cphar_crypto::b64::encode(&e.finish().unwrap()))
    };
    // 64 MiB of zeros: the reader stops at the list's size instead of inflating all of it.
    let bomb = resigned(&list, &key, |v| {
        v["credentialSubject"]["encodedList"] = json!(gz(&vec![0u8; 64 << 20]));
    });
    let short = resigned(&list, &key, |v| {
        v["credentialSubject"]["encodedList"] = json!(gz(&[0u8; 16]));
    });
    let not_gzip = resigned(&list, &key, |v| {
        v["credentialSubject"]["encodedList"] = json!("uAAAA");
    });
    let suspension = resigned(&list, &key, |v| {
        v["credentialSubject"]["statusPurpose"] = json!("suspension");
    });
    let not_a_list = resigned(&list, &key, |v| {
        v["type"] = json!(["VerifiableCredential"]);
    });
    for (what, candidate) in [
        ("bomb", bomb),
        ("short", short),
        ("not gzip", not_gzip),
        ("suspension", suspension),
        ("not a list", not_a_list),
    ] {
        assert!(
            matches!(
                status_list::verify(&candidate, &public, VM),
                Err(StatusListError::Malformed(_))
            ),
            "{what}"
        );
    }
    // And an unsigned change is a proof failure.
    let mut changed = list.clone();
    changed["validFrom"] = json!("2030-01-01T00:00:00Z");
    assert!(matches!(
        status_list::verify(&changed, &public, VM),
        Err(StatusListError::Proof(_))
    ));
}
