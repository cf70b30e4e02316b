//! Fuzz-style properties: random and mutated bytes never make `issue`, `verify_token` or the
//! parsers panic, and `issue` always returns a parseable `TimeStampResp`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::OnceLock;

use common::{dev_chain, now};
use cphar_crypto::Algorithm;
use cphar_tsa::{
    DevTsaChain, HashAlg, MessageImprint, Oid, PkiStatus, TokenCheck, TrustAnchors, TsaConfig,
    TsaSigner, UnixTime, make_request, parse_request, parse_response, verify_token,
};
use proptest::prelude::*;

struct Fixture {
    chain: DevTsaChain,
    tsa: TsaSigner,
    anchors: TrustAnchors,
    request: Vec<u8>,
    response: Vec<u8>,
    at: UnixTime,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let chain = dev_chain(Algorithm::EcdsaP256Sha256);
        let mut config = TsaConfig::new(
            vec![chain.leaf_der().to_vec(), chain.root_der().to_vec()],
            Oid::parse(common::POLICY).unwrap(),
        );
        // Fuzz cases reuse serials and times.
        config.enforce_monotonic = false;
        config.fraction_digits = 3;
        let tsa = TsaSigner::new(&chain.key_pkcs8_der, config).unwrap();
        let anchors = TrustAnchors::from_der(&[chain.root_der()]).unwrap();
        let request = make_request(
            &MessageImprint::of_data(HashAlg::Sha256, b"fuzz"),
            Some(&[9; 8]),
            true,
            None,
        )
        .unwrap();
        let at = now();
        let response = tsa.issue(&request, 77, at);
        Fixture {
            chain,
            tsa,
            anchors,
            request,
            response,
            at,
        }
    })
}

fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(pos, kind, byte) in edits {
        if v.is_empty() {
            v.push(byte);
            continue;
        }
        let i = pos % v.len();
        match kind % 4 {
            0 => v[i] ^= byte | 1,
            1 => v[i] = byte,
            2 => v.truncate(i),
            _ => v.insert(i, byte),
        }
    }
    v
}

fn check_all(bytes: &[u8]) {
    let f = fixture();
    let resp = f.tsa.issue(bytes, 1, f.at);
    let parsed = parse_response(&resp).expect("issue always returns a TimeStampResp");
    assert!(matches!(
        parsed.status,
        PkiStatus::Granted | PkiStatus::Rejection
    ));
    let _ = parse_request(bytes);
    let _ = parse_response(bytes);
    let extra = [f.chain.leaf_der().to_vec()];
    let check = TokenCheck::for_data(b"fuzz")
        .nonce(&[9; 8])
        .extra_certs(&extra);
    let _ = verify_token(bytes, &check, &f.anchors, f.at);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_all(&bytes);
    }

    #[test]
    fn mutated_requests_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)
    ) {
        check_all(&mutate(&fixture().request, &edits));
    }

    #[test]
    fn mutated_responses_never_panic_and_never_verify_wrongly(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4)
    ) {
        let f = fixture();
        let bytes = mutate(&f.response, &edits);
        check_all(&bytes);
        // A mutation that still verifies must not have changed what the token asserts.
        let check = TokenCheck::for_data(b"fuzz").nonce(&[9; 8]);
        if let Ok(v) = verify_token(&bytes, &check, &f.anchors, f.at) {
            prop_assert_eq!(v.serial_u128(), Some(77));
            prop_assert_eq!(v.gen_time, f.at.truncated(3));
        }
    }
}

#[test]
fn the_unmutated_fixture_verifies() {
    let f = fixture();
    let check = TokenCheck::for_data(b"fuzz").nonce(&[9; 8]);
    let v = verify_token(&f.response, &check, &f.anchors, f.at).unwrap();
    assert_eq!(v.serial_u128(), Some(77));
}
