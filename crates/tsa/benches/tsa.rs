//! RFC 3161 throughput: tokens issued per second (P-256 vs P-384 TSA key) and tokens verified
//! per second (full `verify_token`: CMS signature, ESS, webpki path, imprint, nonce).
//!
//! Run: `cargo bench -p cphar-tsa --bench tsa`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::SystemTime;

use cphar_crypto::Algorithm;
use cphar_tsa::{
    DevChainParams, HashAlg, MessageImprint, Oid, TokenCheck, TrustAnchors, TsaConfig, TsaSigner,
    UnixTime, dev_tsa_chain, make_request, parse_request, verify_token,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn tsa(c: &mut Criterion) {
    let now = UnixTime::from_system_time(SystemTime::now()).unwrap();
    let mut g = c.benchmark_group("tsa");
    g.throughput(Throughput::Elements(1));
    for (name, alg) in [
        ("p256", Algorithm::EcdsaP256Sha256),
        ("p384", Algorithm::EcdsaP384Sha384),
    ] {
        let chain = dev_tsa_chain(&DevChainParams {
            algorithm: alg,
            organization: "Bench",
            not_before: UnixTime::from_secs(now.secs() - 3600).unwrap(),
            not_after: UnixTime::from_secs(now.secs() + 86_400).unwrap(),
        })
        .unwrap();
        let mut config = TsaConfig::new(
            vec![chain.leaf_der().to_vec()],
            Oid::parse("1.3.6.1.4.1.99999.7.1").unwrap(),
        );
        // The bench reuses one serial and time.
        config.enforce_monotonic = false;
        let signer = TsaSigner::new(&chain.key_pkcs8_der, config).unwrap();
        let imprint = MessageImprint::of_data(HashAlg::Sha256, b"bench document");
        let nonce = [0x42; 8];
        let request = make_request(&imprint, Some(&nonce), true, None).unwrap();

        g.bench_function(format!("{name}/issue"), |b| {
            b.iter(|| signer.issue(black_box(&request), 1, now));
        });

        let response = signer.issue(&request, 1, now);
        let anchors = TrustAnchors::from_der(&[chain.root_der()]).unwrap();
        let check = TokenCheck::for_imprint(&imprint).nonce(&nonce);
        g.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| verify_token(black_box(&response), &check, &anchors, now).unwrap());
        });
    }
    let request = make_request(
        &MessageImprint::of_data(HashAlg::Sha256, b"x"),
        Some(&[1; 8]),
        true,
        None,
    )
    .unwrap();
    g.bench_function("parse_request", |b| {
        b.iter(|| parse_request(black_box(&request)).unwrap());
    });
    g.finish();
}

criterion_group!(benches, tsa);
criterion_main!(benches);
