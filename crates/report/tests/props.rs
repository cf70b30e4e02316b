//! Property tests on random trees: every inclusion and non-inclusion proof verifies, any
//! changed sibling breaks it, the RFC 9162 root and paths are `cphar-tlog`'s, the sum root is
//! the one a from-the-spec recursive implementation computes, and the fast JCS writer is
//! byte-identical to `cphar-jcs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use cphar_report::{
    Amount, LotLeaf, Proof, ProofOutcome, Snapshot, SumTree, VerifyOptions, build_report,
    verify_leaves, verify_proof, verify_report,
};
use cphar_tlog::{Hash, leaf_hash};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

const KEYS: [(&str, &str); 4] = [
    ("gold", "kg"),
    ("gold", "troy_oz"),
    ("silver", "kg"),
    ("wh\"eat\\", "t"),
];

fn arb_leaves() -> impl Strategy<Value = Vec<LotLeaf>> {
    prop::collection::btree_map(
        "[A-Za-z0-9._-]{1,8}",
        (0usize..4, 0u64..1_000_000_000_000, 0u32..4),
        0..48,
    )
    .prop_map(|m: BTreeMap<String, (usize, u64, u32)>| {
        // BTreeMap<String> orders bytewise, as the report does.
        m.into_iter()
            .enumerate()
            .map(|(i, (id, (k, nanos, digits)))| {
                let (commodity, unit) = KEYS[k];
                let mut l = leaf(i as u64);
                l.lot_id = id;
                l.commodity = commodity.into();
                l.unit = unit.into();
                let text = Amount::from_nanos(u128::from(nanos)).to_string();
                // Sometimes with trailing zeros, which leaves allow.
                l.quantity = if digits > 0 && !text.contains('.') {
                    format!("{text}.{}", "0".repeat(digits as usize))
                } else {
                    text
                };
                l
            })
            .collect()
    })
}

/// The sum-tree root straight from the documented bytes, recursively (RFC 9162 split).
fn spec_root(leaves: &[LotLeaf]) -> (Hash, BTreeMap<(String, String), u128>) {
    match leaves.len() {
        0 => (Sha256::digest(b"").into(), BTreeMap::new()),
        1 => {
            let l = &leaves[0];
            let amount = Amount::parse_quantity(&l.quantity).unwrap().nanos();
            (
                leaf_hash(&cphar_jcs::canonicalize(&l.to_json()).unwrap()),
                BTreeMap::from([((l.commodity.clone(), l.unit.clone()), amount)]),
            )
        }
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            let (lh, ls) = spec_root(&leaves[..k]);
            let (rh, rs) = spec_root(&leaves[k..]);
            let mut sums = ls;
            for (key, a) in rs {
                *sums.entry(key).or_insert(0) += a;
            }
            let mut h = Sha256::new();
            h.update([0x02]);
            h.update(lh);
            h.update(rh);
            h.update([0x03]);
            h.update((sums.len() as u32).to_be_bytes());
            for ((c, u), a) in &sums {
                h.update((c.len() as u16).to_be_bytes());
                h.update(c.as_bytes());
                h.update((u.len() as u16).to_be_bytes());
                h.update(u.as_bytes());
                h.update(a.to_be_bytes());
            }
            (h.finalize().into(), sums)
        }
    }
}

fn verified(fx_key: &cphar_crypto::SigningKey, leaves: &[LotLeaf]) -> cphar_report::VerifiedReport {
    let snap = Snapshot {
        leaves: leaves.to_vec(),
        ..snapshot(&[], vec![])
    };
    let report = build_report(snap, None, fx_key, ts(T0)).unwrap();
    let key = fx_key.verifying_key();
    let options = VerifyOptions {
        report_key: &key,
        tsa_roots: None,
        now: unix(T0),
    };
    verify_report(&report.to_jcs(), &options).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn proofs_verify_on_random_trees(leaves in arb_leaves(), probes in prop::collection::vec("[A-Za-z0-9._-]{1,8}", 1..6)) {
        let key = cphar_crypto::SigningKey::generate(cphar_crypto::Algorithm::Ed25519).unwrap();
        let report = verified(&key, &leaves);
        verify_leaves(&report, leaves.clone()).unwrap();
        let tree = SumTree::new(leaves.clone()).unwrap();

        // Cross-checks: RFC 9162 via cphar-tlog, sum tree via the spec.
        let leaf_hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(&l.to_jcs())).collect();
        prop_assert_eq!(report.rfc9162_root(), cphar_tlog::root(&leaf_hashes));
        let (spec_hash, spec_sums) = spec_root(&leaves);
        prop_assert_eq!(report.sum_root(), spec_hash);
        let totals: BTreeMap<(String, String), u128> = report.totals().iter()
            .map(|(k, a)| ((k.commodity.clone(), k.unit.clone()), a.nanos())).collect();
        prop_assert_eq!(totals, spec_sums);

        for (i, l) in leaves.iter().enumerate() {
            prop_assert_eq!(l.to_jcs(), cphar_jcs::canonicalize(&l.to_json()).unwrap());
            let proof = tree.prove(1, &l.lot_id).unwrap();
            let Proof::Inclusion { proof: inclusion, .. } = &proof else { panic!("not inclusion") };
            prop_assert_eq!(&inclusion.audit_path, &cphar_tlog::inclusion_proof(&leaf_hashes, i as u64).unwrap());
            prop_assert_eq!(verify_proof(&report, &proof, Some(&l.lot_id)).unwrap(), ProofOutcome::Included(l.clone()));
            // Any sibling changed, in hash or in sums, breaks the sum path.
            for j in 0..inclusion.sum_path.len() {
                let mut bad = inclusion.clone();
                bad.sum_path[j].hash[0] ^= 1;
                let p = Proof::Inclusion { report_number: 1, proof: bad };
                prop_assert!(verify_proof(&report, &p, None).is_err());
                let mut bad = inclusion.clone();
                let entry = &mut bad.sum_path[j].sums[0].1;
                *entry = Amount::from_nanos(entry.nanos() + 1);
                let p = Proof::Inclusion { report_number: 1, proof: bad };
                prop_assert!(verify_proof(&report, &p, None).is_err());
            }
        }
        let present: BTreeSet<&str> = leaves.iter().map(|l| l.lot_id.as_str()).collect();
        for probe in &probes {
            let proof = tree.prove(1, probe).unwrap();
            let outcome = verify_proof(&report, &proof, Some(probe)).unwrap();
            if present.contains(probe.as_str()) {
                prop_assert!(matches!(outcome, ProofOutcome::Included(_)));
            } else {
                prop_assert_eq!(outcome, ProofOutcome::Absent(probe.clone()));
            }
        }
    }

    #[test]
    fn the_leaf_writer_is_jcs(commodity in "\\PC{1,20}", grade in "[ -~\u{80}-\u{10ffff}]{1,20}") {
        let mut l = leaf(1);
        l.commodity = commodity;
        l.grade = grade;
        prop_assert_eq!(l.to_jcs(), cphar_jcs::canonicalize(&l.to_json()).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random byte flips in a report, a proof and a leaf never panic and never verify.
    #[test]
    fn corrupted_inputs_are_refused_without_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
        let key = cphar_crypto::SigningKey::generate(cphar_crypto::Algorithm::Ed25519).unwrap();
        let leaves = common::leaves(9);
        let snap = Snapshot { leaves: leaves.clone(), ..snapshot(&[], vec![]) };
        let report = build_report(snap, None, &key, ts(T0)).unwrap();
        let public = key.verifying_key();
        let options = VerifyOptions { report_key: &public, tsa_roots: None, now: unix(T0) };
        let verified = verify_report(&report.to_jcs(), &options).unwrap();
        let proof = SumTree::new(leaves.clone()).unwrap().prove(1, "LOT-000004").unwrap();
        let proof_bytes = serde_json::to_vec(&proof.to_json()).unwrap();
        let leaf_bytes = leaves[3].to_jcs();

        let flip = |bytes: &[u8]| {
            let mut b = bytes.to_vec();
            for (at, x) in &flips {
                let i = at.index(b.len());
                b[i] ^= x;
            }
            b
        };
        prop_assert!(verify_report(&flip(&report.to_jcs()), &options).is_err());
        let outcome = Proof::from_json_bytes(&flip(&proof_bytes)).and_then(|p| verify_proof(&verified, &p, Some("LOT-000004")));
        prop_assert!(outcome.is_err());
        let leaf = cphar_report::parse_leaf(&flip(&leaf_bytes), 3);
        if let Ok(leaf) = leaf {
            let mut all = leaves.clone();
            all[3] = leaf;
            prop_assert!(verify_leaves(&verified, all).is_err());
        }
    }
}
