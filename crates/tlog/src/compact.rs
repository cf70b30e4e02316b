//! [`CompactRange`]: an append-only Merkle tree in O(log n) memory.
//!
//! The audit log appends millions of entries and must produce a checkpoint root after any of
//! them without keeping the leaves. The tree of `n` leaves is a sequence of perfect subtrees,
//! one per set bit of `n` (largest and leftmost first); holding just their roots (the
//! "frontier", at most 64 hashes) is enough to append a leaf and to compute the root.
//! The frontier is also what a restarted log persists and reloads ([`CompactRange::from_parts`]).

use thiserror::Error;

use crate::hash::{Hash, fold_frontier, leaf_hash, push_leaf};

/// Why a [`CompactRange`] could not be built or grown.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CompactRangeError {
    /// The tree already holds `u64::MAX` leaves.
    #[error("the tree is full")]
    TreeFull,
    /// A persisted frontier whose hash count does not match its size (one hash per set bit).
    #[error("a tree of {size} leaves has {expected} frontier hashes, not {actual}")]
    FrontierLengthMismatch {
        /// The claimed tree size.
        size: u64,
        /// `size.count_ones()`.
        expected: usize,
        /// The number of hashes supplied.
        actual: usize,
    },
}

impl CompactRangeError {
    /// Stable machine-readable code, for logs and API answers.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::TreeFull => "tree_full",
            Self::FrontierLengthMismatch { .. } => "frontier_length_mismatch",
        }
    }
}

/// An append-only RFC 9162 tree that keeps only the roots of its perfect subtrees.
///
/// Invariant: `hashes.len() == size.count_ones()`, `hashes[i]` being the root of the `i`-th
/// perfect subtree from the left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a range from a persisted size and frontier ([`Self::size`], [`Self::hashes`]).
    ///
    /// The hashes themselves cannot be checked here; a restarted log should compare the
    /// resulting [`Self::root`] with its last signed checkpoint.
    ///
    /// # Errors
    /// [`CompactRangeError::FrontierLengthMismatch`] unless there is one hash per set bit.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, CompactRangeError> {
        let expected = usize::try_from(size.count_ones()).unwrap_or(usize::MAX);
        if hashes.len() != expected {
            return Err(CompactRangeError::FrontierLengthMismatch {
                size,
                expected,
                actual: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// Number of leaves appended so far.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frontier: roots of the perfect subtrees, leftmost (largest) first.
    #[must_use]
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends a leaf by its data (hashed with [`leaf_hash`]) and returns its index.
    ///
    /// # Errors
    /// [`CompactRangeError::TreeFull`] after `u64::MAX` leaves.
    pub fn append(&mut self, data: &[u8]) -> Result<u64, CompactRangeError> {
        self.append_leaf_hash(leaf_hash(data))
    }

    /// Appends an already computed leaf hash and returns its index. O(log n) worst case,
    /// O(1) amortized.
    ///
    /// # Errors
    /// [`CompactRangeError::TreeFull`] after `u64::MAX` leaves.
    pub fn append_leaf_hash(&mut self, leaf_hash: Hash) -> Result<u64, CompactRangeError> {
        let index = self.size;
        let next = index.checked_add(1).ok_or(CompactRangeError::TreeFull)?;
        push_leaf(&mut self.hashes, index, leaf_hash);
        self.size = next;
        Ok(index)
    }

    /// The Merkle Tree Hash of all leaves appended so far ([`crate::EMPTY_ROOT`] when none).
    #[must_use]
    pub fn root(&self) -> Hash {
        fold_frontier(&self.hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::root;

    #[test]
    fn frontier_has_one_hash_per_set_bit_and_matches_root() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut range = CompactRange::new();
        assert_eq!(range.root(), crate::EMPTY_ROOT);
        for (i, leaf) in leaves.iter().enumerate() {
            assert_eq!(range.append_leaf_hash(*leaf).unwrap(), i as u64);
            assert_eq!(range.hashes().len() as u32, range.size().count_ones());
            assert_eq!(range.root(), root(&leaves[..=i]));
        }
    }

    #[test]
    fn reloaded_frontier_continues_identically() {
        let mut a = CompactRange::new();
        for i in 0u32..37 {
            a.append(&i.to_be_bytes()).unwrap();
        }
        let mut b = CompactRange::from_parts(a.size(), a.hashes().to_vec()).unwrap();
        for i in 37u32..100 {
            a.append(&i.to_be_bytes()).unwrap();
            b.append(&i.to_be_bytes()).unwrap();
        }
        assert_eq!(a, b);
    }

    #[test]
    fn truncated_persisted_frontier_is_rejected() {
        let mut a = CompactRange::new();
        for i in 0u32..7 {
            a.append(&i.to_be_bytes()).unwrap();
        }
        let mut hashes = a.hashes().to_vec();
        hashes.pop();
        let err = CompactRange::from_parts(7, hashes).unwrap_err();
        assert_eq!(err.code(), "frontier_length_mismatch");
    }

    #[test]
    fn full_tree_refuses_to_wrap_around() {
        // u64::MAX has 64 set bits: 64 (arbitrary) frontier hashes make a valid full range.
        let mut full = CompactRange::from_parts(u64::MAX, vec![[7u8; 32]; 64]).unwrap();
        let before = full.clone();
        assert_eq!(full.append(b"x"), Err(CompactRangeError::TreeFull));
        assert_eq!(full, before);
    }
}
