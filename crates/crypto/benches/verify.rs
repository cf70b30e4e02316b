//! Throughput of the profile primitives: verify and sign per algorithm, CMAC, and the SHA-256
//! backends compared (the reason `digest.rs` uses `sha2`).
//!
//! Run: `cargo bench -p cphar-crypto --bench verify`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use cphar_crypto::{Algorithm, CmacAes128Key, Jwk, SigningKey, VerifyingKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// About the size of a canonical ChallengeRequest.
const MSG: &[u8; 346] = &[0x5a; 346];

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("signature");
    g.throughput(Throughput::Elements(1));
    for (name, alg) in [
        ("ed25519", Algorithm::Ed25519),
        ("p256", Algorithm::EcdsaP256Sha256),
        ("p384", Algorithm::EcdsaP384Sha384),
    ] {
        let key = SigningKey::generate(alg).unwrap();
        let public = key.verifying_key();
        let sig = key.sign(MSG).unwrap();
        g.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| public.verify(black_box(MSG), black_box(&sig)).unwrap());
        });
        g.bench_function(format!("{name}/sign"), |b| {
            b.iter(|| key.sign(black_box(MSG)).unwrap())
        });
        let jwk = public.to_jwk().to_json();
        g.bench_function(format!("{name}/parse_jwk"), |b| {
            b.iter(|| VerifyingKey::from_jwk(&Jwk::from_json(black_box(&jwk)).unwrap()).unwrap());
        });
    }
    let cmac = CmacAes128Key::from_slice(&[7; 16]).unwrap();
    let tag = cmac.mac(MSG);
    g.bench_function("cmac/verify", |b| {
        b.iter(|| cmac.verify(black_box(MSG), black_box(&tag)).unwrap())
    });
    g.bench_function("cmac/mac", |b| b.iter(|| cmac.mac(black_box(MSG))));
    g.finish();
}

fn digests(c: &mut Criterion) {
    let mut g = c.benchmark_group("sha256");
    for len in [32usize, 346, 65536] {
        let data = vec![0xa5u8; len];
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("sha2/{len}"), |b| {
            b.iter(|| cphar_crypto::sha256(black_box(&data)))
        });
        g.bench_function(format!("aws-lc/{len}"), |b| {
            b.iter(|| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, black_box(&data)))
        });
    }
    g.finish();
}

criterion_group!(benches, signatures, digests);
criterion_main!(benches);
