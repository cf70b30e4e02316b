//! Our tokens through our verifier (no openssl): contents, refusals with their reason codes,
//! and the signer's construction-time checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{OTHER_POLICY, POLICY, dev_chain, now, signer};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_tsa::{
    Accuracy, HashAlg, MessageImprint, Oid, PkiStatus, TokenCheck, TrustAnchors, TsaConfig,
    TsaError, TsaSigner, UnixTime, certs_from_pem, make_request, parse_response, verify_token,
};
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    KeyPair, KeyUsagePurpose,
};

const DATA: &[u8] = b"reserve lot 7 sealed";

fn code<T>(r: Result<T, TsaError>) -> &'static str {
    r.map(|_| "accepted").unwrap_or_else(|e| e.reason_code())
}

#[test]
fn round_trip_every_key_and_hash() {
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::EcdsaP384Sha384] {
        let chain = dev_chain(alg);
        let tsa = signer(&chain);
        let anchors = TrustAnchors::from_pem(&chain.root_pem()).unwrap();
        for (i, hash) in [HashAlg::Sha256, HashAlg::Sha384, HashAlg::Sha512]
            .into_iter()
            .enumerate()
        {
            let imprint = MessageImprint::of_data(hash, DATA);
            let nonce = [0x80, 0, 0, 0, 0, 0, 0, 9];
            let req = make_request(&imprint, Some(&nonce), true, None).unwrap();
            let t = now();
            let serial = 1000 + i as u128;
            let resp = tsa.issue(&req, serial, t);
            let parsed = parse_response(&resp).unwrap();
            assert_eq!(parsed.status, PkiStatus::Granted);
            let token = parsed.token.unwrap();

            let check = TokenCheck::for_data(DATA)
                .nonce(&nonce)
                .policy(Oid::parse(POLICY).unwrap());
            let v = verify_token(&resp, &check, &anchors, t).unwrap();
            assert_eq!(v.serial_u128(), Some(serial));
            assert_eq!(u128::from_str_radix(&v.serial_hex(), 16).unwrap(), serial);
            assert_eq!(v.serial_hex().len() % 2, 0);
            assert_eq!(v.gen_time, t.truncated(0));
            assert_eq!(v.nonce.as_deref(), Some(&nonce[..]));
            assert_eq!(v.imprint, imprint);
            assert_eq!(v.policy.to_string(), POLICY);
            assert_eq!(v.accuracy, Some(Accuracy::seconds(1)));
            assert!(!v.ordering);
            assert_eq!(v.tsa_name.as_deref(), Some(v.signer_subject.as_str()));
            assert!(v.signer_subject.contains("CN=CPHAR Test Dev TSA"));
            assert_eq!(v.signer_cert, chain.leaf_der());
            assert_eq!(v.token, token);

            // The bare token and the imprint form verify the same way.
            let v2 = verify_token(&token, &TokenCheck::for_imprint(&imprint), &anchors, t).unwrap();
            assert_eq!(v2, v);
        }
    }
}

#[test]
fn refusals_of_our_tokens() {
    let chain = dev_chain(Algorithm::EcdsaP256Sha256);
    let tsa = signer(&chain);
    let anchors = TrustAnchors::from_der(&[chain.root_der()]).unwrap();
    let t = now();
    let imprint = MessageImprint::of_data(HashAlg::Sha256, DATA);
    let req = make_request(&imprint, Some(&[1, 2, 3, 4]), true, None).unwrap();
    let resp = tsa.issue(&req, 1, t);
    let data = TokenCheck::for_data(DATA);
    assert_eq!(code(verify_token(&resp, &data, &anchors, t)), "accepted");

    let mut bad_sig = resp.clone();
    *bad_sig.last_mut().unwrap() ^= 1;
    assert_eq!(
        code(verify_token(&bad_sig, &data, &anchors, t)),
        "bad_signature"
    );

    let pos = resp
        .windows(32)
        .position(|w| w == imprint.digest())
        .unwrap();
    let mut bad_tst = resp.clone();
    bad_tst[pos] ^= 1;
    assert_eq!(
        code(verify_token(&bad_tst, &data, &anchors, t)),
        "message_digest_mismatch"
    );

    assert_eq!(
        code(verify_token(
            &resp,
            &TokenCheck::for_data(b"x"),
            &anchors,
            t
        )),
        "imprint_mismatch"
    );
    let other = MessageImprint::of_data(HashAlg::Sha384, DATA);
    assert_eq!(
        code(verify_token(
            &resp,
            &TokenCheck::for_imprint(&other),
            &anchors,
            t
        )),
        "imprint_mismatch"
    );
    assert_eq!(
        code(verify_token(
            &resp,
            &TokenCheck::for_data(DATA).nonce(&[1, 2, 3, 5]),
            &anchors,
            t
        )),
        "nonce_mismatch"
    );
    // Leading zeros of the expected nonce do not matter.
    assert_eq!(
        code(verify_token(
            &resp,
            &TokenCheck::for_data(DATA).nonce(&[0, 1, 2, 3, 4]),
            &anchors,
            t
        )),
        "accepted"
    );
    assert_eq!(
        code(verify_token(
            &resp,
            &TokenCheck::for_data(DATA).policy(Oid::parse(OTHER_POLICY).unwrap()),
            &anchors,
            t
        )),
        "policy_mismatch"
    );

    let stranger = dev_chain(Algorithm::EcdsaP256Sha256);
    let wrong = TrustAnchors::from_der(&[stranger.root_der()]).unwrap();
    assert_eq!(
        code(verify_token(&resp, &data, &wrong, t)),
        "untrusted_signer"
    );
    let both = TrustAnchors::from_der(&[stranger.root_der(), chain.root_der()]).unwrap();
    assert_eq!(code(verify_token(&resp, &data, &both, t)), "accepted");

    let later = UnixTime::from_secs(t.secs() + 60 * 86_400).unwrap();
    assert_eq!(
        code(verify_token(&resp, &data, &anchors, later)),
        "cert_expired"
    );
    let earlier = UnixTime::from_secs(t.secs() - 3 * 86_400).unwrap();
    assert_eq!(
        code(verify_token(&resp, &data, &anchors, earlier)),
        "cert_expired"
    );

    // certReq false: the signer must come from the caller.
    let req_nocert = make_request(&imprint, None, false, None).unwrap();
    let resp_nocert = tsa.issue(&req_nocert, 2, t);
    assert_eq!(
        code(verify_token(&resp_nocert, &data, &anchors, t)),
        "signer_not_found"
    );
    let extra = certs_from_pem(&chain.leaf_pem()).unwrap();
    assert_eq!(
        code(verify_token(
            &resp_nocert,
            &TokenCheck::for_data(DATA).extra_certs(&extra),
            &anchors,
            t
        )),
        "accepted"
    );

    // A rejection is not a token.
    let rejected = tsa.issue(b"junk", 3, t);
    assert_eq!(
        code(verify_token(&rejected, &data, &anchors, t)),
        "not_granted"
    );
    let err = verify_token(&rejected, &data, &anchors, t).unwrap_err();
    assert!(err.to_string().contains("badDataFormat"), "{err}");

    for junk in [
        &b""[..],
        b"\x30\x00",
        b"\x04\x02ab",
        b"\x30\x03\x02\x01\x00",
    ] {
        assert_eq!(
            code(verify_token(junk, &data, &anchors, t)),
            "malformed",
            "{junk:?}"
        );
    }
}

#[test]
fn fractional_precision() {
    let chain = dev_chain(Algorithm::EcdsaP384Sha384);
    let mut config = TsaConfig::new(vec![chain.leaf_der().to_vec()], Oid::parse(POLICY).unwrap());
    config.fraction_digits = 6;
    config.accuracy = Some(Accuracy {
        seconds: 0,
        millis: 5,
        micros: 0,
    });
    config.signing_time = false;
    config.tsa_name = false;
    let tsa = TsaSigner::new(&chain.key_pkcs8_der, config).unwrap();
    let anchors = TrustAnchors::from_der(&[chain.root_der()]).unwrap();
    let t = UnixTime::new(now().secs(), 987_654_321).unwrap();
    let req = make_request(
        &MessageImprint::of_data(HashAlg::Sha256, DATA),
        None,
        true,
        None,
    )
    .unwrap();
    let v = verify_token(
        &tsa.issue(&req, 1, t),
        &TokenCheck::for_data(DATA),
        &anchors,
        t,
    )
    .unwrap();
    assert_eq!(v.gen_time.subsec_nanos(), 987_654_000);
    assert_eq!(
        v.accuracy,
        Some(Accuracy {
            seconds: 0,
            millis: 5,
            micros: 0
        })
    );
    assert_eq!(v.tsa_name, None);
}

/// A leaf certificate made directly with rcgen, signed by a fresh root.
fn custom_leaf(
    key: &SigningKey,
    eku: Option<(bool, Vec<ExtendedKeyUsagePurpose>)>,
    key_usages: Vec<KeyUsagePurpose>,
) -> Vec<u8> {
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut root = CertificateParams::default();
    root.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::from_params(&root, &root_key);
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let leaf_key = KeyPair::try_from(pkcs8.as_slice()).unwrap();
    let mut leaf = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "custom TSA");
    leaf.distinguished_name = dn;
    leaf.key_usages = key_usages;
    match eku {
        Some((false, purposes)) => leaf.extended_key_usages = purposes,
        Some((true, _)) => {
            // critical EKU { serverAuth, timeStamping }
            let der = vec![
                0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01, 0x06, 0x08,
                0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
            ];
            let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 37], der);
            ext.set_criticality(true);
            leaf.custom_extensions = vec![ext];
        }
        None => {}
    }
    leaf.signed_by(&leaf_key, &issuer).unwrap().der().to_vec()
}

#[test]
fn signer_refuses_unfit_configuration() {
    let policy = Oid::parse(POLICY).unwrap();
    let new =
        |key: &[u8], chain: Vec<Vec<u8>>| code(TsaSigner::new(key, TsaConfig::new(chain, policy)));
    let chain = dev_chain(Algorithm::EcdsaP256Sha256);
    let other = dev_chain(Algorithm::EcdsaP256Sha256);
    assert_eq!(
        new(&chain.key_pkcs8_der, vec![chain.leaf_der().to_vec()]),
        "accepted"
    );
    assert_eq!(
        new(&other.key_pkcs8_der, vec![chain.leaf_der().to_vec()]),
        "key_cert_mismatch"
    );
    assert_eq!(new(&chain.key_pkcs8_der, vec![]), "invalid_config");
    assert_eq!(
        new(&chain.key_pkcs8_der, vec![b"junk".to_vec()]),
        "malformed"
    );
    assert_eq!(
        new(b"not a key", vec![chain.leaf_der().to_vec()]),
        "crypto_error"
    );

    let ed = SigningKey::generate(Algorithm::Ed25519).unwrap();
    assert_eq!(
        new(&ed.to_pkcs8_der().unwrap(), vec![chain.leaf_der().to_vec()]),
        "unsupported_algorithm"
    );

    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let pkcs8 = key.to_pkcs8_der().unwrap();
    let ds = vec![KeyUsagePurpose::DigitalSignature];
    // EKU timeStamping but not critical (rcgen's default) — openssl would refuse it too.
    let leaf = custom_leaf(
        &key,
        Some((false, vec![ExtendedKeyUsagePurpose::TimeStamping])),
        ds.clone(),
    );
    assert_eq!(new(&pkcs8, vec![leaf]), "eku_invalid");
    let leaf = custom_leaf(&key, Some((true, vec![])), ds.clone());
    assert_eq!(new(&pkcs8, vec![leaf]), "eku_invalid");
    let leaf = custom_leaf(&key, None, ds);
    assert_eq!(new(&pkcs8, vec![leaf]), "eku_invalid");

    let mut config = TsaConfig::new(vec![chain.leaf_der().to_vec()], policy);
    config.fraction_digits = 7;
    assert_eq!(
        code(TsaSigner::new(&chain.key_pkcs8_der, config.clone())),
        "invalid_config"
    );
    config.fraction_digits = 0;
    config.accuracy = Some(Accuracy {
        seconds: 1,
        millis: 1000,
        micros: 0,
    });
    assert_eq!(
        code(TsaSigner::new(&chain.key_pkcs8_der, config)),
        "invalid_config"
    );

    // PEM key input works too.
    let pem = chain.key_pem();
    let config = TsaConfig::new(vec![chain.leaf_der().to_vec()], policy);
    let tsa = TsaSigner::from_pkcs8_pem(&pem, config).unwrap();
    assert_eq!(tsa.algorithm(), Algorithm::EcdsaP256Sha256);
    assert_eq!(tsa.certificate_chain(), &[chain.leaf_der().to_vec()]);
}

#[test]
fn dev_chain_shape() {
    let chain = dev_chain(Algorithm::EcdsaP384Sha384);
    assert_eq!(chain.chain_der.len(), 2);
    let pem = format!("{}{}", chain.leaf_pem(), chain.root_pem());
    assert_eq!(certs_from_pem(&pem).unwrap(), chain.chain_der);
    let t = now();
    assert_eq!(
        code(cphar_tsa::dev_tsa_chain(&cphar_tsa::DevChainParams {
            algorithm: Algorithm::Ed25519,
            organization: "x",
            not_before: t,
            not_after: UnixTime::from_secs(t.secs() + 1).unwrap(),
        })),
        "unsupported_algorithm"
    );
    assert_eq!(
        code(cphar_tsa::dev_tsa_chain(&cphar_tsa::DevChainParams {
            algorithm: Algorithm::EcdsaP256Sha256,
            organization: "x",
            not_before: t,
            not_after: t,
        })),
        "invalid_input"
    );
}

/// The server shares one signer and one anchor set across threads.
#[test]
fn shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TsaSigner>();
    assert_send_sync::<TrustAnchors>();
}
