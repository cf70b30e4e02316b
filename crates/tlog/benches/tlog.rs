//! Merkle costs at audit-log scale: one million leaves.
//!
//! `cargo bench -p cphar-tlog` (add `-- --quick` for a fast pass).

#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;

use cphar_tlog::{
    CompactRange, Hash, MemoryTree, leaf_hash, root, verify_consistency, verify_inclusion,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const LEAVES: u64 = 1_000_000;

fn leaf_hashes() -> Vec<Hash> {
    (0..LEAVES).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn build(c: &mut Criterion) {
    let leaves = leaf_hashes();
    let mut group = c.benchmark_group("build_1m");
    group.sample_size(10);
    group.bench_function("leaf_hash", |b| {
        b.iter(|| {
            (0..LEAVES)
                .map(|i| leaf_hash(&i.to_be_bytes()))
                .fold(0u8, |acc, h| acc ^ h[0])
        });
    });
    group.bench_function("root", |b| b.iter(|| root(black_box(&leaves))));
    group.bench_function("memory_tree", |b| {
        b.iter_batched(
            || leaves.clone(),
            |l| MemoryTree::from_leaf_hashes(black_box(l)),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("compact_range_append", |b| {
        b.iter(|| {
            let mut range = CompactRange::new();
            for leaf in &leaves {
                let _ = range.append_leaf_hash(*leaf);
            }
            range.root()
        });
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let tree = MemoryTree::from_leaf_hashes(leaf_hashes());
    let size = tree.size();
    let root = tree.root();
    let old_size = size / 3 + 12_345;
    let old_root = tree.root_at(old_size).unwrap_or_default();
    let mut group = c.benchmark_group("proofs_1m");

    let mut index = 0u64;
    group.bench_function("inclusion_generate", |b| {
        b.iter(|| {
            index = (index + 7919) % size;
            tree.inclusion_proof(black_box(index), size)
        });
    });
    let (leaf, proof) = (
        tree.leaf_hash(654_321).unwrap_or_default(),
        tree.inclusion_proof(654_321, size).unwrap_or_default(),
    );
    group.bench_function("inclusion_verify", |b| {
        b.iter(|| verify_inclusion(654_321, size, black_box(&leaf), black_box(&proof), &root));
    });
    group.bench_function("inclusion_generate_and_verify", |b| {
        b.iter(|| {
            index = (index + 7919) % size;
            let proof = tree.inclusion_proof(index, size).unwrap_or_default();
            let leaf = tree.leaf_hash(index).unwrap_or_default();
            verify_inclusion(index, size, &leaf, &proof, &root)
        });
    });

    let consistency = tree.consistency_proof(old_size, size).unwrap_or_default();
    group.bench_function("consistency_generate", |b| {
        b.iter(|| tree.consistency_proof(black_box(old_size), size));
    });
    group.bench_function("consistency_verify", |b| {
        b.iter(|| verify_consistency(old_size, size, &old_root, &root, black_box(&consistency)));
    });
    group.bench_function("root_at", |b| b.iter(|| tree.root_at(black_box(old_size))));
    group.finish();
}

criterion_group!(benches, build, proofs);
criterion_main!(benches);
