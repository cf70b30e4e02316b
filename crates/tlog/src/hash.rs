//! RFC 9162 §2.1 hashing: the one place that decides which bytes go into SHA-256.
//!
//! Leaves and interior nodes are domain-separated by a one-byte prefix (0x00 / 0x01) so that
//! an interior node can never be passed off as a leaf (the second-preimage attack on plain
//! Merkle trees). Everything else in the crate hashes through [`leaf_hash`] and [`node_hash`].

use sha2::{Digest, Sha256};

/// Size in bytes of every hash in the tree (SHA-256).
pub const HASH_SIZE: usize = 32;

/// A SHA-256 Merkle tree hash: a leaf hash, an interior node hash or a root.
pub type Hash = [u8; HASH_SIZE];

/// Domain-separation prefix of leaf hashes (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;

/// Domain-separation prefix of interior node hashes (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// Root of the empty tree: `MTH({}) = SHA-256()`, the hash of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Hash of one leaf's data: `SHA-256(0x00 ‖ data)`.
#[must_use]
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// Hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The Merkle Tree Hash (RFC 9162 §2.1.1) of a list of leaf hashes; [`EMPTY_ROOT`] for none.
///
/// Runs in O(n) time and O(log n) memory: the leaves are folded into a frontier of perfect
/// subtrees exactly as [`crate::CompactRange`] does, which yields the same root as the
/// RFC's recursive split at the largest power of two below `n`.
#[must_use]
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    let mut frontier = Vec::with_capacity(64);
    for (index, leaf) in (0u64..).zip(leaf_hashes) {
        push_leaf(&mut frontier, index, *leaf);
    }
    fold_frontier(&frontier)
}

/// Appends the leaf with index `index` to `frontier`, the roots of the perfect subtrees of the
/// first `index` leaves, largest (leftmost) first.
///
/// Invariant (kept by every caller): `frontier.len() == index.count_ones()`. The new leaf
/// completes one subtree per trailing one bit of `index`; those are the last entries.
pub(crate) fn push_leaf(frontier: &mut Vec<Hash>, index: u64, leaf: Hash) {
    let mut node = leaf;
    for _ in 0..index.trailing_ones() {
        // Cannot be empty under the invariant above; stopping early would only be reachable
        // through a broken invariant, never through input.
        let Some(left) = frontier.pop() else { break };
        node = node_hash(&left, &node);
    }
    frontier.push(node);
}

/// Root of the tree whose perfect-subtree roots (largest first) are `frontier`.
///
/// The MTH of a tree whose size has set bits `2^a > 2^b > …` is
/// `H(P_a, H(P_b, … ))`: the RFC's split at the largest power of two below `n` peels off
/// the leftmost perfect subtree each time.
pub(crate) fn fold_frontier(frontier: &[Hash]) -> Hash {
    let mut rest = frontier.iter().rev();
    let Some(last) = rest.next() else {
        return EMPTY_ROOT;
    };
    rest.fold(*last, |acc, left| node_hash(left, &acc))
}

/// The largest power of two strictly below `n`, for `n >= 2` (the RFC's `k`).
///
/// For `n < 2` there is none; callers never ask, and 1 is returned so that no caller can
/// loop forever on a zero split.
pub(crate) fn split_point(n: u64) -> u64 {
    if n < 2 {
        return 1;
    }
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_empty_string() {
        let computed: Hash = Sha256::digest(b"").into();
        assert_eq!(EMPTY_ROOT, computed);
        assert_eq!(root(&[]), EMPTY_ROOT);
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        for n in 2u64..=1025 {
            let k = split_point(n);
            assert!(
                k.is_power_of_two() && k < n && 2 * k >= n,
                "n = {n}, k = {k}"
            );
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut concat = Vec::new();
        concat.extend_from_slice(&a);
        concat.extend_from_slice(&b);
        // A leaf whose data is the concatenation of two hashes must not collide with the node.
        assert_ne!(leaf_hash(&concat), node_hash(&a, &b));
    }
}
