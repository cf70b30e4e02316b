//! Strict parse + RFC 8785 canonicalization of a ChallengeRequest-sized message.
//!
//! `cargo bench -p cphar-jcs` (add `-- --quick` for a fast pass). The verifier does this
//! once per message; the target is at least 200 000 messages per second on one core.

#![allow(clippy::unwrap_used)] // a failing setup should stop the benchmark
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// About 350 bytes, members deliberately out of canonical order.
const MESSAGE: &str = r#"{
  "type": "ChallengeRequest",
  "requestId": "urn:uuid:6f1c2b9e-3d4a-4e8f-9b2a-1c5d7e9f0a3b",
  "verifierDid": "did:web:verifier.example",
  "targetDid": "did:web:reg.example:lots:LOT-7",
  "nonce": "q3Xl9vJ0mKp2Rz8tYw4bNc6dFh1sLgEa",
  "timestamp": "2026-11-23T10:00:00Z",
  "requestPbac": true,
  "bal": "BAL-2",
  "maxResponseMs": 1500
}"#;

fn parse_and_canonicalize(c: &mut Criterion) {
    let message = MESSAGE.as_bytes();
    let canonical = cphar_jcs::canonicalize_json(message).unwrap();
    let value = cphar_jcs::parse(message).unwrap();

    let mut group = c.benchmark_group("challenge_request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_canonicalize", |b| {
        b.iter(|| cphar_jcs::canonicalize_json(black_box(message)).unwrap());
    });
    group.bench_function("parse_canonicalize_canonical_input", |b| {
        b.iter(|| cphar_jcs::canonicalize_json(black_box(&canonical)).unwrap());
    });
    group.bench_function("parse", |b| {
        b.iter(|| cphar_jcs::parse(black_box(message)).unwrap());
    });
    group.bench_function("canonicalize", |b| {
        b.iter(|| cphar_jcs::canonicalize(black_box(&value)).unwrap());
    });
    group.bench_function("serde_json_from_slice_baseline", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(message)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, parse_and_canonicalize);
criterion_main!(benches);
