//! The TSA's refusals: every bad request gets a rejection `TimeStampResp` (status 2) with the
//! right PKIFailureInfo bit, read back with our parser. No openssl needed (tests/openssl.rs
//! cross-checks several of these with `openssl ts -reply -text`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{OTHER_POLICY, POLICY, dev_chain, now, signer};
use cphar_crypto::Algorithm;
use cphar_tsa::{
    FailureInfo, HashAlg, MessageImprint, Oid, Outcome, PkiStatus, TsaConfig, TsaSigner, UnixTime,
    make_request, parse_response,
};

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 0x80);
    [&[tag, content.len() as u8][..], content].concat()
}

const SHA256_OID: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const MD5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05];
const SHA1_OID: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];

/// A hand-built TimeStampReq: version, imprint (algorithm OID with NULL parameters, digest),
/// then any further raw elements (policy, nonce, certReq, [0] extensions).
fn req(version: u8, alg_oid: &[u8], digest: &[u8], rest: &[Vec<u8>]) -> Vec<u8> {
    let alg = tlv(0x30, &[tlv(0x06, alg_oid), vec![0x05, 0x00]].concat());
    let imprint = tlv(0x30, &[alg, tlv(0x04, digest)].concat());
    let mut body = vec![tlv(0x02, &[version]), imprint];
    body.extend(rest.iter().cloned());
    tlv(0x30, &body.concat())
}

fn failure_of(resp: &[u8]) -> Vec<FailureInfo> {
    let parsed = parse_response(resp).unwrap();
    assert_eq!(parsed.status, PkiStatus::Rejection);
    assert!(parsed.token.is_none());
    assert!(!parsed.status_text.is_empty());
    parsed.failures
}

#[test]
fn each_bad_request_gets_its_failure_info() {
    let chain = dev_chain(Algorithm::EcdsaP256Sha256);
    let tsa = signer(&chain);
    let t = now();
    let good = req(1, SHA256_OID, &[0xab; 32], &[]);
    assert_eq!(
        parse_response(&tsa.issue(&good, 1, t)).unwrap().status,
        PkiStatus::Granted
    );

    let critical_ext = {
        // [0] IMPLICIT Extensions { Extension { 1.2.3.4, critical TRUE, OCTET STRING {} } }
        let ext = tlv(
            0x30,
            &[
                tlv(0x06, &[0x2a, 0x03, 0x04]),
                vec![0x01, 0x01, 0xff],
                tlv(0x04, &[]),
            ]
            .concat(),
        );
        tlv(0xa0, &ext)
    };
    let non_critical_ext = {
        let ext = tlv(
            0x30,
            &[tlv(0x06, &[0x2a, 0x03, 0x04]), tlv(0x04, &[])].concat(),
        );
        tlv(0xa0, &ext)
    };
    let negative_nonce = tlv(0x02, &[0xff, 0x01]);
    let unaccepted_policy = tlv(0x06, &[0x2a, 0x03, 0x04, 0x05]);

    let cases: Vec<(&str, Vec<u8>, FailureInfo)> = vec![
        ("empty input", vec![], FailureInfo::BadDataFormat),
        (
            "garbage",
            b"\x00\x01garbage bytes".to_vec(),
            FailureInfo::BadDataFormat,
        ),
        (
            "truncated",
            good[..good.len() - 3].to_vec(),
            FailureInfo::BadDataFormat,
        ),
        (
            "trailing bytes",
            [good.clone(), vec![0]].concat(),
            FailureInfo::BadDataFormat,
        ),
        (
            "BER long-form length",
            {
                let mut v = vec![0x30, 0x81, good.len() as u8 - 2];
                v.extend_from_slice(&good[2..]);
                v
            },
            FailureInfo::BadDataFormat,
        ),
        (
            "MD5 imprint",
            req(1, MD5_OID, &[1; 16], &[]),
            FailureInfo::BadAlg,
        ),
        (
            "SHA-1 imprint",
            req(1, SHA1_OID, &[1; 20], &[]),
            FailureInfo::BadAlg,
        ),
        (
            "SHA-256 OID, 31-byte digest",
            req(1, SHA256_OID, &[1; 31], &[]),
            FailureInfo::BadDataFormat,
        ),
        (
            "SHA-256 OID, 48-byte digest",
            req(1, SHA256_OID, &[1; 48], &[]),
            FailureInfo::BadDataFormat,
        ),
        (
            "version 2",
            req(2, SHA256_OID, &[1; 32], &[]),
            FailureInfo::BadRequest,
        ),
        (
            "unaccepted policy",
            req(1, SHA256_OID, &[1; 32], &[unaccepted_policy]),
            FailureInfo::UnacceptedPolicy,
        ),
        (
            "critical extension",
            req(1, SHA256_OID, &[1; 32], &[critical_ext]),
            FailureInfo::UnacceptedExtension,
        ),
        (
            "non-critical extension",
            req(1, SHA256_OID, &[1; 32], &[non_critical_ext]),
            FailureInfo::UnacceptedExtension,
        ),
        (
            "negative nonce",
            req(1, SHA256_OID, &[1; 32], &[negative_nonce]),
            FailureInfo::BadDataFormat,
        ),
    ];
    for (i, (name, request, expected)) in cases.into_iter().enumerate() {
        let issued = tsa.respond(&request, 10 + i as u128, t);
        assert_eq!(issued.outcome, Outcome::Rejected(expected), "{name}");
        assert_eq!(failure_of(&issued.response), vec![expected], "{name}");
    }
}

fn req_with_policy(oid: &[u8]) -> Vec<u8> {
    req(1, SHA256_OID, &[1; 32], &[tlv(0x06, oid)])
}

#[test]
fn caller_decided_refusals() {
    let chain = dev_chain(Algorithm::EcdsaP256Sha256);
    let tsa = signer(&chain);
    assert_eq!(
        failure_of(&tsa.reject(FailureInfo::TimeNotAvailable)),
        vec![FailureInfo::TimeNotAvailable]
    );
    assert_eq!(
        failure_of(&tsa.reject(FailureInfo::SystemFailure)),
        vec![FailureInfo::SystemFailure]
    );
}

#[test]
fn policies() {
    let chain = dev_chain(Algorithm::EcdsaP256Sha256);
    let tsa = signer(&chain);
    let imprint = MessageImprint::of_data(HashAlg::Sha512, b"x");
    let t = now();
    for (serial, policy) in [(1, None), (2, Some(POLICY)), (3, Some(OTHER_POLICY))] {
        let p = policy.map(|p| Oid::parse(p).unwrap());
        let req = make_request(&imprint, None, false, p.as_ref()).unwrap();
        let issued = tsa.respond(&req, serial, t);
        assert!(
            matches!(issued.outcome, Outcome::Granted { .. }),
            "{policy:?}"
        );
    }
    let req = make_request(&imprint, None, false, Some(&Oid::parse("1.2.3.4").unwrap())).unwrap();
    assert_eq!(
        tsa.respond(&req, 4, t).outcome,
        Outcome::Rejected(FailureInfo::UnacceptedPolicy)
    );
    // `1.2.3` (two content octets) cannot be an Oid here, but a request naming it is still
    // an unaccepted policy, not bad data.
    assert!(Oid::parse("1.2.3").is_err());
    let short = req_with_policy(&[0x2a, 0x03]);
    assert_eq!(
        tsa.respond(&short, 5, t).outcome,
        Outcome::Rejected(FailureInfo::UnacceptedPolicy)
    );
}

#[test]
fn gen_time_outside_certificate_validity_is_system_failure() {
    let chain = dev_chain(Algorithm::EcdsaP256Sha256);
    let tsa = signer(&chain);
    let req = make_request(
        &MessageImprint::of_data(HashAlg::Sha256, b"x"),
        None,
        false,
        None,
    )
    .unwrap();
    let past = UnixTime::from_secs(now().secs() - 2 * 86_400).unwrap();
    assert_eq!(
        tsa.respond(&req, 1, past).outcome,
        Outcome::Rejected(FailureInfo::SystemFailure)
    );
    let future = UnixTime::from_secs(now().secs() + 60 * 86_400).unwrap();
    assert_eq!(
        tsa.respond(&req, 2, future).outcome,
        Outcome::Rejected(FailureInfo::SystemFailure)
    );
}

#[test]
fn monotonic_serial_and_time() {
    let chain = dev_chain(Algorithm::EcdsaP384Sha384);
    let tsa = signer(&chain);
    let req = make_request(
        &MessageImprint::of_data(HashAlg::Sha256, b"x"),
        None,
        false,
        None,
    )
    .unwrap();
    let t = now();
    let later = UnixTime::from_secs(t.secs() + 10).unwrap();
    assert!(matches!(
        tsa.respond(&req, 5, later).outcome,
        Outcome::Granted { serial: 5, .. }
    ));
    // Serial reused or lower: systemFailure.
    assert_eq!(
        tsa.respond(&req, 5, later).outcome,
        Outcome::Rejected(FailureInfo::SystemFailure)
    );
    assert_eq!(
        tsa.respond(&req, 4, later).outcome,
        Outcome::Rejected(FailureInfo::SystemFailure)
    );
    // Clock gone backwards: timeNotAvailable.
    assert_eq!(
        tsa.respond(&req, 6, t).outcome,
        Outcome::Rejected(FailureInfo::TimeNotAvailable)
    );
    // Same second, next serial: fine.
    assert!(matches!(
        tsa.respond(&req, 7, later).outcome,
        Outcome::Granted { serial: 7, .. }
    ));

    // Without enforcement both pass.
    let mut config = TsaConfig::new(vec![chain.leaf_der().to_vec()], Oid::parse(POLICY).unwrap());
    config.enforce_monotonic = false;
    let free = TsaSigner::new(&chain.key_pkcs8_der, config).unwrap();
    assert!(matches!(
        free.respond(&req, 5, later).outcome,
        Outcome::Granted { .. }
    ));
    assert!(matches!(
        free.respond(&req, 5, t).outcome,
        Outcome::Granted { .. }
    ));
}
