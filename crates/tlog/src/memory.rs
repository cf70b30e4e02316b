//! [`MemoryTree`]: all leaf hashes plus every complete interior node, for serving proofs.
//!
//! A proof generator that recomputed subtree hashes from the leaves would cost O(n) per proof.
//! Keeping every *complete* node (the root of each aligned perfect subtree) costs about one
//! extra hash per leaf and makes any `MTH(D[lo:hi])` that a proof needs O(log n): perfect
//! subtrees are a lookup, and at most one ragged right edge per proof is folded from them.
//! Because only complete nodes are stored, nothing is ever recomputed when the tree grows,
//! and every historical tree size can still be proven against.

use std::fmt;

use crate::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash, split_point};
use crate::proof::{ProofError, consistency_path, inclusion_path, slice_len};

/// An in-memory RFC 9162 tree that generates inclusion and consistency proofs.
///
/// Invariant: `levels[l]` holds the complete nodes of level `l + 1`, i.e. node `j` is the
/// root of leaves `[j·2^(l+1), (j+1)·2^(l+1))`, and `levels[l].len()` is half the length of
/// the level below, rounded down.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    leaves: Vec<Hash>,
    levels: Vec<Vec<Hash>>,
}

impl fmt::Debug for MemoryTree {
    // A million hashes in a debug line helps nobody.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTree")
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

impl MemoryTree {
    /// The empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the tree of `leaf_hashes` in one pass per level (about n node hashes).
    #[must_use]
    pub fn from_leaf_hashes(leaf_hashes: Vec<Hash>) -> Self {
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        loop {
            let below: &[Hash] = levels.last().map_or(leaf_hashes.as_slice(), Vec::as_slice);
            let (pairs, _) = below.as_chunks::<2>();
            if pairs.is_empty() {
                break;
            }
            let level: Vec<Hash> = pairs.iter().map(|[l, r]| node_hash(l, r)).collect();
            levels.push(level);
        }
        Self {
            leaves: leaf_hashes,
            levels,
        }
    }

    /// Appends a leaf by its data (hashed with [`leaf_hash`]); returns its index.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(data))
    }

    /// Appends an already computed leaf hash; returns its index. O(1) amortized.
    pub fn push_leaf_hash(&mut self, hash: Hash) -> u64 {
        let index = self.size();
        self.leaves.push(hash);
        // Each level whose length just became even completed a pair: add its parent.
        let mut level = 0;
        while let Some(below) = self.level(level) {
            let (pairs, rest) = below.as_chunks::<2>();
            let (Some([l, r]), true) = (pairs.last(), rest.is_empty()) else {
                break;
            };
            let parent = node_hash(l, r);
            let Ok(slot) = usize::try_from(level) else {
                break;
            };
            match self.levels.get_mut(slot) {
                Some(above) => above.push(parent),
                None => self.levels.push(vec![parent]),
            }
            level += 1;
        }
        index
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        slice_len(&self.leaves)
    }

    /// Whether the tree has no leaves.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// All leaf hashes, in order.
    #[must_use]
    pub fn leaf_hashes(&self) -> &[Hash] {
        &self.leaves
    }

    /// The hash of leaf `index`, if there is one.
    #[must_use]
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        self.leaves.get(usize::try_from(index).ok()?).copied()
    }

    /// Root of the whole tree ([`EMPTY_ROOT`] when empty).
    #[must_use]
    pub fn root(&self) -> Hash {
        self.subtree_hash(0, self.size()).unwrap_or(EMPTY_ROOT)
    }

    /// Root of the tree of the first `tree_size` leaves.
    ///
    /// # Errors
    /// [`ProofError::TreeSizeOutOfRange`] when `tree_size` exceeds [`Self::size`].
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, ProofError> {
        if tree_size == 0 {
            return Ok(EMPTY_ROOT);
        }
        self.mth(0, tree_size)
    }

    /// Inclusion proof of leaf `leaf_index` in the tree of the first `tree_size` leaves.
    /// O(log n).
    ///
    /// # Errors
    /// [`ProofError::TreeSizeOutOfRange`] or [`ProofError::LeafIndexOutOfRange`].
    pub fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, ProofError> {
        self.check_size(tree_size)?;
        inclusion_path(leaf_index, tree_size, |lo, hi| self.mth(lo, hi))
    }

    /// Consistency proof from the tree of the first `size1` leaves to that of the first
    /// `size2`. O(log n).
    ///
    /// # Errors
    /// [`ProofError::TreeSizeOutOfRange`] or [`ProofError::Size1ExceedsSize2`].
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size2)?;
        consistency_path(size1, size2, |lo, hi| self.mth(lo, hi))
    }

    fn check_size(&self, tree_size: u64) -> Result<(), ProofError> {
        if tree_size > self.size() {
            return Err(ProofError::TreeSizeOutOfRange {
                size: tree_size,
                available: self.size(),
            });
        }
        Ok(())
    }

    fn mth(&self, lo: u64, hi: u64) -> Result<Hash, ProofError> {
        self.subtree_hash(lo, hi)
            .ok_or(ProofError::TreeSizeOutOfRange {
                size: hi,
                available: self.size(),
            })
    }

    /// Level `level` of the tree: the leaves for 0, stored complete nodes above.
    fn level(&self, level: u32) -> Option<&[Hash]> {
        match level.checked_sub(1) {
            None => Some(&self.leaves),
            Some(above) => self
                .levels
                .get(usize::try_from(above).ok()?)
                .map(Vec::as_slice),
        }
    }

    /// `MTH(D[lo:hi])`, or `None` for an empty range or one beyond the leaves held.
    ///
    /// Aligned perfect ranges are a lookup; others split as the MTH definition does. For the
    /// ranges proofs ask for, the left part of every split is perfect, so this is O(log n).
    fn subtree_hash(&self, lo: u64, hi: u64) -> Option<Hash> {
        let n = hi.checked_sub(lo).filter(|&n| n > 0)?;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let level = n.trailing_zeros();
            let index = usize::try_from(lo >> level).ok()?;
            return self.level(level)?.get(index).copied();
        }
        let mid = lo + split_point(n);
        Some(node_hash(
            &self.subtree_hash(lo, mid)?,
            &self.subtree_hash(mid, hi)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::root;

    fn leaves(n: u32) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn pushing_builds_the_same_levels_as_bulk_construction() {
        let all = leaves(257);
        let mut pushed = MemoryTree::new();
        for (i, h) in all.iter().enumerate() {
            assert_eq!(pushed.push_leaf_hash(*h), i as u64);
            let bulk = MemoryTree::from_leaf_hashes(all[..=i].to_vec());
            assert_eq!(pushed, bulk, "after {} leaves", i + 1);
        }
    }

    #[test]
    fn historical_roots_match_the_reference_root() {
        let all = leaves(100);
        let tree = MemoryTree::from_leaf_hashes(all.clone());
        for size in 0..=100u64 {
            assert_eq!(tree.root_at(size).unwrap(), root(&all[..size as usize]));
        }
        assert_eq!(tree.root(), root(&all));
        assert_eq!(
            tree.root_at(101),
            Err(ProofError::TreeSizeOutOfRange {
                size: 101,
                available: 100
            })
        );
    }

    #[test]
    fn proofs_beyond_the_held_leaves_are_refused() {
        let tree = MemoryTree::from_leaf_hashes(leaves(10));
        assert_eq!(
            tree.inclusion_proof(3, 11).unwrap_err().code(),
            "tree_size_out_of_range"
        );
        assert_eq!(
            tree.consistency_proof(3, 11).unwrap_err().code(),
            "tree_size_out_of_range"
        );
        assert_eq!(
            tree.inclusion_proof(10, 10).unwrap_err().code(),
            "leaf_index_out_of_range"
        );
        assert_eq!(
            tree.consistency_proof(8, 5).unwrap_err().code(),
            "size1_exceeds_size2"
        );
    }
}
