//! Known answers from the RFC 6962 reference test data (the eight leaves of
//! github.com/transparency-dev/merkle `testonly/constants.go` and the proofs of its
//! `proof/verify_test.go`), with that suite's corruption probes.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{H, h, hex};
use cphar_tlog::{
    CompactRange, EMPTY_ROOT, MemoryTree, ProofError, consistency_proof, inclusion_proof,
    leaf_hash, root, verify_consistency, verify_inclusion,
};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the trees of the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Complete-subtree hashes by level (level 0 = leaf hashes).
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// (leaf index, tree size, proof) — the reference suite numbers leaves from 1; these are
/// 0-based.
const INCLUSION: [(u64, u64, &[&str]); 4] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (size1, size2, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

fn leaf_hashes() -> Vec<H> {
    LEAVES.iter().map(|l| leaf_hash(&hex(l))).collect()
}

fn root_of(size: u64) -> H {
    if size == 0 {
        EMPTY_ROOT
    } else {
        h(ROOTS[size as usize - 1])
    }
}

fn hashes(list: &[&str]) -> Vec<H> {
    list.iter().map(|s| h(s)).collect()
}

#[test]
fn empty_tree_root_is_the_reference_constant() {
    assert_eq!(
        EMPTY_ROOT,
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(root(&[]), EMPTY_ROOT);
    assert_eq!(MemoryTree::new().root(), EMPTY_ROOT);
    assert_eq!(CompactRange::new().root(), EMPTY_ROOT);
}

#[test]
fn leaf_hashes_match_reference() {
    assert_eq!(leaf_hashes(), hashes(NODES[0]));
}

#[test]
fn roots_of_every_prefix_match_reference() {
    let leaves = leaf_hashes();
    let tree = MemoryTree::from_leaf_hashes(leaves.clone());
    let mut range = CompactRange::new();
    for size in 1..=8u64 {
        range.append(&hex(LEAVES[size as usize - 1])).unwrap();
        let want = root_of(size);
        assert_eq!(root(&leaves[..size as usize]), want, "root() size {size}");
        assert_eq!(tree.root_at(size).unwrap(), want, "MemoryTree size {size}");
        assert_eq!(range.root(), want, "CompactRange size {size}");
    }
}

#[test]
fn compact_range_frontiers_match_reference_subtrees() {
    // The reference `CompactTrees()`: frontier of each tree size, by (level, index).
    let node = |level: usize, index: usize| h(NODES[level][index]);
    let want: [Vec<H>; 9] = [
        vec![],
        vec![node(0, 0)],
        vec![node(1, 0)],
        vec![node(1, 0), node(0, 2)],
        vec![node(2, 0)],
        vec![node(2, 0), node(0, 4)],
        vec![node(2, 0), node(1, 2)],
        vec![node(2, 0), node(1, 2), node(0, 6)],
        vec![node(3, 0)],
    ];
    let mut range = CompactRange::new();
    assert_eq!(range.hashes(), want[0].as_slice());
    for (size, leaf) in LEAVES.iter().enumerate() {
        range.append(&hex(leaf)).unwrap();
        assert_eq!(
            range.hashes(),
            want[size + 1].as_slice(),
            "size {}",
            size + 1
        );
    }
}

#[test]
fn inclusion_proofs_match_reference_and_verify() {
    let leaves = leaf_hashes();
    let tree = MemoryTree::from_leaf_hashes(leaves.clone());
    for (index, size, proof) in INCLUSION {
        let want = hashes(proof);
        assert_eq!(
            inclusion_proof(&leaves[..size as usize], index).unwrap(),
            want
        );
        assert_eq!(tree.inclusion_proof(index, size).unwrap(), want);
        verify_inclusion(index, size, &leaves[index as usize], &want, &root_of(size)).unwrap();
    }
    // A one-leaf tree: empty proof, root = leaf hash.
    verify_inclusion(0, 1, &leaves[0], &[], &root_of(1)).unwrap();
}

#[test]
fn inclusion_corruption_probes_are_rejected() {
    let leaves = leaf_hashes();
    for (index, size, proof) in INCLUSION {
        let proof = hashes(proof);
        let leaf = leaves[index as usize];
        let root = root_of(size);
        let rejects = |i: u64, s: u64, l: &H, p: &[H], r: &H, what: &str| {
            assert!(
                verify_inclusion(i, s, l, p, r).is_err(),
                "({index}, {size}) accepted {what}"
            );
        };
        if index > 0 {
            rejects(index - 1, size, &leaf, &proof, &root, "index - 1");
        }
        rejects(index + 1, size, &leaf, &proof, &root, "index + 1");
        rejects(index ^ 2, size, &leaf, &proof, &root, "index ^ 2");
        rejects(index, size * 2, &leaf, &proof, &root, "size * 2");
        rejects(index, size / 2, &leaf, &proof, &root, "size / 2");
        rejects(index, size, &h(SOME_HASH), &proof, &root, "wrong leaf");
        rejects(index, size, &leaf, &proof, &EMPTY_ROOT, "empty root");
        rejects(index, size, &leaf, &proof, &h(SOME_HASH), "random root");
        let with = |front: Option<H>, back: Option<H>| {
            front
                .into_iter()
                .chain(proof.iter().copied())
                .chain(back)
                .collect::<Vec<_>>()
        };
        rejects(
            index,
            size,
            &leaf,
            &with(None, Some([0; 32])),
            &root,
            "trailing zeros",
        );
        rejects(
            index,
            size,
            &leaf,
            &with(None, Some(root)),
            &root,
            "trailing root",
        );
        rejects(
            index,
            size,
            &leaf,
            &with(Some([0; 32]), None),
            &root,
            "preceding zeros",
        );
        rejects(
            index,
            size,
            &leaf,
            &with(Some(root), None),
            &root,
            "preceding root",
        );
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][0] ^= 8;
            rejects(index, size, &leaf, &p, &root, "flipped bit");
        }
        rejects(
            index,
            size,
            &leaf,
            &proof[..proof.len() - 1],
            &root,
            "removed component",
        );
        if proof.len() > 1 {
            let mut p = proof.clone();
            p.insert(1, h(SOME_HASH));
            rejects(index, size, &leaf, &p, &root, "inserted component");
        }
    }
}

#[test]
fn consistency_proofs_match_reference_and_verify() {
    let leaves = leaf_hashes();
    let tree = MemoryTree::from_leaf_hashes(leaves.clone());
    for (size1, size2, proof) in CONSISTENCY {
        let want = hashes(proof);
        assert_eq!(
            consistency_proof(&leaves[..size2 as usize], size1).unwrap(),
            want
        );
        assert_eq!(tree.consistency_proof(size1, size2).unwrap(), want);
        verify_consistency(size1, size2, &root_of(size1), &root_of(size2), &want).unwrap();
    }
}

#[test]
fn consistency_corruption_probes_are_rejected() {
    for (size1, size2, proof) in CONSISTENCY.into_iter().filter(|(_, _, p)| !p.is_empty()) {
        let proof = hashes(proof);
        let (root1, root2) = (root_of(size1), root_of(size2));
        let rejects = |s1: u64, s2: u64, r1: &H, r2: &H, p: &[H], what: &str| {
            assert!(
                verify_consistency(s1, s2, r1, r2, p).is_err(),
                "({size1}, {size2}) accepted {what}"
            );
        };
        rejects(size1 - 1, size2, &root1, &root2, &proof, "size1 - 1");
        rejects(size1 + 1, size2, &root1, &root2, &proof, "size1 + 1");
        rejects(size1 ^ 2, size2, &root1, &root2, &proof, "size1 ^ 2");
        rejects(size1, size2 * 2, &root1, &root2, &proof, "size2 * 2");
        rejects(size1, size2 / 2, &root1, &root2, &proof, "size2 / 2");
        rejects(size1, size2, &h(SOME_HASH), &root2, &proof, "wrong root1");
        rejects(size1, size2, &root1, &h(SOME_HASH), &proof, "wrong root2");
        rejects(size1, size2, &root2, &root1, &proof, "swapped roots");
        rejects(size1, size2, &root1, &root2, &[], "empty proof");
        let with = |front: Option<H>, back: Option<H>| {
            front
                .into_iter()
                .chain(proof.iter().copied())
                .chain(back)
                .collect::<Vec<_>>()
        };
        rejects(
            size1,
            size2,
            &root1,
            &root2,
            &with(None, Some([0; 32])),
            "trailing zeros",
        );
        rejects(
            size1,
            size2,
            &root1,
            &root2,
            &with(None, Some(root1)),
            "trailing root1",
        );
        rejects(
            size1,
            size2,
            &root1,
            &root2,
            &with(None, Some(root2)),
            "trailing root2",
        );
        rejects(
            size1,
            size2,
            &root1,
            &root2,
            &with(Some([0; 32]), None),
            "preceding zeros",
        );
        rejects(
            size1,
            size2,
            &root1,
            &root2,
            &with(Some(root1), None),
            "preceding root1",
        );
        rejects(
            size1,
            size2,
            &root1,
            &root2,
            &with(Some(root2), None),
            "preceding root2",
        );
        rejects(
            size1,
            size2,
            &root1,
            &root2,
            &with(Some(proof[0]), None),
            "preceding proof[0]",
        );
        rejects(
            size1,
            size2,
            &root1,
            &root2,
            &proof[..proof.len() - 1],
            "truncated proof",
        );
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][0] ^= 16;
            rejects(size1, size2, &root1, &root2, &p, "flipped bit");
        }
    }
}

#[test]
fn trivial_consistency_cases_follow_the_documented_rules() {
    let some = h(SOME_HASH);
    // Equal sizes: empty proof and equal roots.
    verify_consistency(1, 1, &root_of(1), &root_of(1), &[]).unwrap();
    assert_eq!(
        verify_consistency(1, 1, &root_of(1), &some, &[]),
        Err(ProofError::NewRootMismatch)
    );
    assert!(matches!(
        verify_consistency(1, 1, &EMPTY_ROOT, &EMPTY_ROOT, &[EMPTY_ROOT]),
        Err(ProofError::WrongProofLength {
            expected: 0,
            actual: 1
        })
    ));
    // The empty tree is extended by everything, with an empty proof, but only under its
    // one true root.
    verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
    verify_consistency(0, 8, &EMPTY_ROOT, &root_of(8), &[]).unwrap();
    assert_eq!(
        verify_consistency(0, 8, &some, &root_of(8), &[]),
        Err(ProofError::OldRootMismatch)
    );
    assert!(matches!(
        verify_consistency(0, 1, &EMPTY_ROOT, &root_of(1), &[EMPTY_ROOT]),
        Err(ProofError::WrongProofLength { .. })
    ));
    // Time travel.
    assert_eq!(
        verify_consistency(2, 1, &root_of(2), &root_of(1), &[]),
        Err(ProofError::Size1ExceedsSize2 { size1: 2, size2: 1 })
    );
    // 0 < size1 < size2 with no proof.
    assert!(matches!(
        verify_consistency(1, 2, &root_of(1), &root_of(2), &[]),
        Err(ProofError::WrongProofLength { .. })
    ));
}
