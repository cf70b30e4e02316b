//! Inclusion and consistency proofs, RFC 9162 §2.1.3 and §2.1.4.
//!
//! Generation follows the RFC's recursive definitions (`PATH`, `SUBPROOF`) over a "subtree
//! hash" oracle, so that the slice-based generators here and [`crate::MemoryTree`] share one
//! algorithm and differ only in how they obtain `MTH(D[lo:hi])`. Verification is the RFC's
//! bit-twiddling algorithm, step for step, so that proofs interoperate with every
//! Certificate Transparency implementation.
//!
//! What a proof does *not* bind: an inclusion proof checks `(leaf_index, tree_size)` only
//! through the shape of the path, and some other sizes share that shape. The tree size must
//! come from the signed checkpoint that also carries the root, never from the prover alone.

use thiserror::Error;

use crate::hash::{EMPTY_ROOT, Hash, root, split_point};

/// Why a proof could not be generated or did not verify.
///
/// Root hashes are public, so they are compared with ordinary equality.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    LeafIndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A tree size beyond the leaves the generator holds.
    #[error("tree size {size} exceeds the {available} leaves available")]
    TreeSizeOutOfRange {
        /// The requested tree size.
        size: u64,
        /// How many leaves are held.
        available: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("old tree size {size1} exceeds new tree size {size2}")]
    Size1ExceedsSize2 {
        /// The old (first) tree size.
        size1: u64,
        /// The new (second) tree size.
        size2: u64,
    },
    /// The proof does not have the number of hashes the tree sizes call for.
    #[error("proof has {actual} hashes where {expected} are required")]
    WrongProofLength {
        /// The length the tree sizes call for.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// The inclusion proof does not lead from the leaf to the expected root.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,
    /// The consistency proof does not reproduce the old root (or, for an empty old tree,
    /// the old root is not the empty-tree root).
    #[error("consistency proof does not reproduce the old root")]
    OldRootMismatch,
    /// The consistency proof does not reproduce the new root (or, for equal sizes, the two
    /// roots differ: the log forked).
    #[error("consistency proof does not reproduce the new root")]
    NewRootMismatch,
}

impl ProofError {
    /// Stable machine-readable code, for logs and API answers.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::LeafIndexOutOfRange { .. } => "leaf_index_out_of_range",
            Self::TreeSizeOutOfRange { .. } => "tree_size_out_of_range",
            Self::Size1ExceedsSize2 { .. } => "size1_exceeds_size2",
            Self::WrongProofLength { .. } => "wrong_proof_length",
            Self::RootMismatch => "root_mismatch",
            Self::OldRootMismatch => "old_root_mismatch",
            Self::NewRootMismatch => "new_root_mismatch",
        }
    }
}

/// Number of hashes in the inclusion proof of `leaf_index` in a tree of `tree_size` leaves
/// (0 when the index is out of range, which no proof can satisfy anyway).
///
/// Lets a decoder cap a received proof before reading it.
#[must_use]
pub fn inclusion_proof_len(leaf_index: u64, tree_size: u64) -> usize {
    if leaf_index >= tree_size {
        return 0;
    }
    // Levels below the point where the leaf's path leaves the last leaf's path all have a
    // sibling ("inner"); above it, only the levels where the path goes right do ("border").
    let inner = u64::BITS - (leaf_index ^ (tree_size - 1)).leading_zeros();
    // `inner` reaches 64 when the paths split at the top bit: nothing is left above it.
    let border = leaf_index.checked_shr(inner).unwrap_or(0).count_ones();
    // At most 64: `border` only counts bits above the `inner` ones.
    usize::try_from(inner + border).unwrap_or(usize::MAX)
}

/// Number of hashes in the consistency proof from `size1` to `size2` leaves
/// (0 when `size1` is 0, equals `size2`, or exceeds it).
#[must_use]
pub fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    if size1 == 0 || size1 >= size2 {
        return 0;
    }
    // The old tree's last perfect subtree sits at level `shift`; the proof is that node's
    // inclusion path in the new tree, plus the node itself unless the old tree is perfect
    // (then the verifier already holds it: it is root1).
    let shift = size1.trailing_zeros();
    let node_index = (size1 - 1) >> shift;
    let level_size = ((size2 - 1) >> shift) + 1;
    let own = usize::from(!size1.is_power_of_two());
    inclusion_proof_len(node_index, level_size) + own
}

/// Inclusion proof (RFC 9162 §2.1.3.1, `PATH(m, D[n])`) of leaf `leaf_index` in the tree of
/// all of `leaf_hashes`.
///
/// Costs O(n) hashing per proof: a reference implementation for small trees and tests. Use
/// [`crate::MemoryTree`] to serve many proofs from a large tree.
///
/// # Errors
/// [`ProofError::LeafIndexOutOfRange`] when `leaf_index >= leaf_hashes.len()`.
pub fn inclusion_proof(leaf_hashes: &[Hash], leaf_index: u64) -> Result<Vec<Hash>, ProofError> {
    let size = slice_len(leaf_hashes);
    inclusion_path(leaf_index, size, |lo, hi| slice_mth(leaf_hashes, lo, hi))
}

/// Consistency proof (RFC 9162 §2.1.4.1, `PROOF(m, D[n])`) from the tree of the first
/// `size1` leaves to the tree of all of `leaf_hashes`.
///
/// Empty when `size1` is 0 or equals the tree size. O(n) hashing, like [`inclusion_proof`].
///
/// # Errors
/// [`ProofError::Size1ExceedsSize2`] when `size1 > leaf_hashes.len()`.
pub fn consistency_proof(leaf_hashes: &[Hash], size1: u64) -> Result<Vec<Hash>, ProofError> {
    let size2 = slice_len(leaf_hashes);
    consistency_path(size1, size2, |lo, hi| slice_mth(leaf_hashes, lo, hi))
}

/// Verifies that `leaf_hash` is leaf `leaf_index` of the tree of `tree_size` leaves whose
/// root is `root`, with the algorithm of RFC 9162 §2.1.3.2 as written.
///
/// # Errors
/// [`ProofError::LeafIndexOutOfRange`], [`ProofError::WrongProofLength`] (the RFC's two
/// `sn` checks: a proof too long or too short for the tree shape) or
/// [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let wrong_length = || ProofError::WrongProofLength {
        expected: inclusion_proof_len(leaf_index, tree_size),
        actual: proof.len(),
    };
    // 1.
    if leaf_index >= tree_size {
        return Err(ProofError::LeafIndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    // 2. (tree_size >= 1 here, as leaf_index < tree_size.)
    let mut f_n = leaf_index;
    let mut s_n = tree_size - 1;
    // 3.
    let mut r = *leaf_hash;
    // 4.
    for p in proof {
        // 4a.
        if s_n == 0 {
            return Err(wrong_length());
        }
        // 4b.
        if f_n & 1 == 1 || f_n == s_n {
            r = crate::hash::node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = crate::hash::node_hash(&r, p);
        }
        // 4c.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 5.
    if s_n != 0 {
        return Err(wrong_length());
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1`
/// leaves with root `root1`, with the algorithm of RFC 9162 §2.1.4.2 as written for
/// `0 < size1 < size2`.
///
/// The RFC leaves the trivial cases to the caller; they are settled here, strictly:
/// `size1 == size2` needs an empty proof and `root1 == root2`; `size1 == 0` needs an empty
/// proof and `root1` equal to [`EMPTY_ROOT`] (any larger tree extends the empty one, but a
/// size-0 tree head with another root is a false claim).
///
/// # Errors
/// [`ProofError::Size1ExceedsSize2`], [`ProofError::WrongProofLength`],
/// [`ProofError::OldRootMismatch`] or [`ProofError::NewRootMismatch`].
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let wrong_length = || ProofError::WrongProofLength {
        expected: consistency_proof_len(size1, size2),
        actual: proof.len(),
    };
    if size1 > size2 {
        return Err(ProofError::Size1ExceedsSize2 { size1, size2 });
    }
    if size1 == 0 || size1 == size2 {
        if !proof.is_empty() {
            return Err(wrong_length());
        }
        if size1 == 0 && *root1 != EMPTY_ROOT {
            return Err(ProofError::OldRootMismatch);
        }
        if size1 == size2 && root1 != root2 {
            return Err(ProofError::NewRootMismatch);
        }
        return Ok(());
    }
    // 0 < size1 < size2 from here on.
    // 1.
    if proof.is_empty() {
        return Err(wrong_length());
    }
    // 2. The verifier already holds a perfect old tree's root; the proof omits it.
    let prefix = size1.is_power_of_two().then_some(root1);
    let mut path = prefix.into_iter().chain(proof);
    // 3.
    let mut f_n = size1 - 1;
    let mut s_n = size2 - 1;
    // 4.
    if f_n & 1 == 1 {
        while f_n & 1 == 1 {
            f_n >>= 1;
            s_n >>= 1;
        }
    }
    // 5. (Non-empty: the proof is.)
    let Some(first) = path.next() else {
        return Err(wrong_length());
    };
    let mut f_r = *first;
    let mut s_r = *first;
    // 6.
    for c in path {
        // 6a.
        if s_n == 0 {
            return Err(wrong_length());
        }
        // 6b.
        if f_n & 1 == 1 || f_n == s_n {
            f_r = crate::hash::node_hash(c, &f_r);
            s_r = crate::hash::node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = crate::hash::node_hash(&s_r, c);
        }
        // 6c.
        f_n >>= 1;
        s_n >>= 1;
    }
    // 7.
    if s_n != 0 {
        return Err(wrong_length());
    }
    if f_r != *root1 {
        return Err(ProofError::OldRootMismatch);
    }
    if s_r != *root2 {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

/// `PATH(m, D[n])` over a subtree-hash oracle `mth(lo, hi) = MTH(D[lo:hi])`.
///
/// The recursion is unrolled top-down; the RFC lists the path bottom-up, hence the reverse.
pub(crate) fn inclusion_path<F>(
    leaf_index: u64,
    tree_size: u64,
    mut mth: F,
) -> Result<Vec<Hash>, ProofError>
where
    F: FnMut(u64, u64) -> Result<Hash, ProofError>,
{
    if leaf_index >= tree_size {
        return Err(ProofError::LeafIndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    let mut path = Vec::with_capacity(inclusion_proof_len(leaf_index, tree_size));
    let (mut lo, mut hi) = (0u64, tree_size);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if leaf_index < mid {
            // PATH(m, D[0:k]) : MTH(D[k:n])
            path.push(mth(mid, hi)?);
            hi = mid;
        } else {
            // PATH(m - k, D[k:n]) : MTH(D[0:k])
            path.push(mth(lo, mid)?);
            lo = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// `PROOF(m, D[n]) = SUBPROOF(m, D[n], true)` over a subtree-hash oracle.
pub(crate) fn consistency_path<F>(
    size1: u64,
    size2: u64,
    mut mth: F,
) -> Result<Vec<Hash>, ProofError>
where
    F: FnMut(u64, u64) -> Result<Hash, ProofError>,
{
    if size1 > size2 {
        return Err(ProofError::Size1ExceedsSize2 { size1, size2 });
    }
    if size1 == 0 || size1 == size2 {
        return Ok(Vec::new());
    }
    // Siblings collected top-down; SUBPROOF appends each one after the deeper part.
    let mut siblings = Vec::with_capacity(consistency_proof_len(size1, size2));
    let (mut lo, mut hi) = (0u64, size2);
    // `m` is the old tree's end, absolute; `complete` is the RFC's `b`.
    let m = size1;
    let mut complete = true;
    while m != hi {
        let mid = lo + split_point(hi - lo);
        if m <= mid {
            // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            siblings.push(mth(mid, hi)?);
            hi = mid;
        } else {
            // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            siblings.push(mth(lo, mid)?);
            lo = mid;
            complete = false;
        }
    }
    // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
    let mut proof = Vec::with_capacity(siblings.len() + 1);
    if !complete {
        proof.push(mth(lo, hi)?);
    }
    proof.extend(siblings.into_iter().rev());
    Ok(proof)
}

/// `MTH(leaf_hashes[lo..hi])`, or `TreeSizeOutOfRange` when the range is not held.
fn slice_mth(leaf_hashes: &[Hash], lo: u64, hi: u64) -> Result<Hash, ProofError> {
    let out_of_range = || ProofError::TreeSizeOutOfRange {
        size: hi,
        available: slice_len(leaf_hashes),
    };
    let lo = usize::try_from(lo).map_err(|_| out_of_range())?;
    let hi = usize::try_from(hi).map_err(|_| out_of_range())?;
    leaf_hashes.get(lo..hi).map(root).ok_or_else(out_of_range)
}

/// A slice length as a tree size (lossless: usize is at most 64 bits on every target Rust
/// supports; saturating keeps this total anyway).
pub(crate) fn slice_len<T>(s: &[T]) -> u64 {
    u64::try_from(s.len()).unwrap_or(u64::MAX)
}
