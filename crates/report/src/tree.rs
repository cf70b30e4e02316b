//! The Merkle sum tree, beside the plain RFC 9162 tree over the same leaves.
//!
//! **Shape.** Both trees have RFC 9162's shape: the leaves in order, each interior node
//! splitting its range at the largest power of two below its size (left-balanced). The same
//! index walk therefore verifies both paths.
//!
//! **Hashing** (SHA-256; every node of the sum tree is a hash *and* the exact sums of its
//! subtree per (commodity, unit)):
//!
//! - leaf: `SHA-256(0x00 ‖ JCS(leaf))`, the RFC 9162 leaf hash itself; its sums are the one
//!   entry (commodity, unit) → quantity read from the leaf, so the hash already commits to them;
//! - interior: `SHA-256(0x02 ‖ left ‖ right ‖ SUMS)`, 0x02 keeping it apart from RFC 9162
//!   leaves (0x00) and interior nodes (0x01);
//! - `SUMS = 0x03 ‖ u32be(k) ‖ k × (u16be(len c) ‖ c ‖ u16be(len u) ‖ u ‖ u128be(amount))`:
//!   the node's sums sorted by commodity then unit (bytewise UTF-8), `amount` in 10^-9 units;
//!   0x03 is the sums' own domain tag;
//! - the empty tree's root is `SHA-256("")` with no sums (as RFC 9162's).
//!
//! Each interior hash commits to the node's own sums, and each child hash to the child's, so
//! a prover cannot show one split of a total to one lot and another split to another (the flaw
//! of the first Merkle sum tree): the sums a verifier recomputes along any path are the ones
//! every other path sees.
//!
//! [`TreeBuilder`] folds leaves into both trees in O(log n) memory (the report itself); the
//! [`SumTree`] keeps every leaf to serve proofs.

use std::cmp::Ordering;
use std::collections::HashMap;

use cphar_tlog::{CompactRange, EMPTY_ROOT, Hash, leaf_hash};
use sha2::{Digest as _, Sha256};

use crate::amount::{Amount, AmountError};
use crate::leaf::{LeafError, LotLeaf};

/// Domain tag of sum-tree interior nodes.
pub const SUM_NODE_PREFIX: u8 = 0x02;
/// Domain tag of the sums encoding.
pub const SUMS_PREFIX: u8 = 0x03;

/// A (commodity, unit) pair: what quantities are summed by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SumKey {
    /// The commodity.
    pub commodity: String,
    /// The unit.
    pub unit: String,
}

impl SumKey {
    /// `u16be(len c) ‖ c ‖ u16be(len u) ‖ u` (both are at most 128 bytes).
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.commodity.len() + self.unit.len());
        for part in [&self.commodity, &self.unit] {
            let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// The sums of one node: (key, amount), sorted by key, keys unique.
pub type Sums = Vec<(SumKey, Amount)>;

/// A sum-tree node: its hash and the sums of its subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumNode {
    /// The node hash.
    pub hash: Hash,
    /// Sums per (commodity, unit), sorted by key.
    pub sums: Sums,
}

/// Interior hash from already encoded keys.
fn inner_hash<'a>(
    left: &Hash,
    right: &Hash,
    count: usize,
    entries: impl Iterator<Item = (&'a [u8], Amount)>,
) -> Hash {
    let mut h = Sha256::new();
    h.update([SUM_NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.update([SUMS_PREFIX]);
    h.update(u32::try_from(count).unwrap_or(u32::MAX).to_be_bytes());
    for (key, amount) in entries {
        h.update(key);
        h.update(amount.to_be_bytes());
    }
    h.finalize().into()
}

/// Merges two sorted sum lists, adding the amounts of equal keys (checked).
///
/// # Errors
/// [`AmountError::Overflow`].
pub fn merge_sums(left: &Sums, right: &Sums) -> Result<Sums, AmountError> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.iter().peekable(), right.iter().peekable());
    loop {
        let next = match (l.peek(), r.peek()) {
            (None, None) => break,
            (Some(_), None) => l.next().cloned(),
            (None, Some(_)) => r.next().cloned(),
            (Some(a), Some(b)) => match a.0.cmp(&b.0) {
                Ordering::Less => l.next().cloned(),
                Ordering::Greater => r.next().cloned(),
                Ordering::Equal => {
                    let sum = a.1.checked_add(b.1)?;
                    let key = a.0.clone();
                    l.next();
                    r.next();
                    Some((key, sum))
                }
            },
        };
        out.extend(next);
    }
    Ok(out)
}

/// The parent of two sum-tree nodes.
///
/// # Errors
/// [`AmountError::Overflow`].
pub fn parent(left: &SumNode, right: &SumNode) -> Result<SumNode, AmountError> {
    let sums = merge_sums(&left.sums, &right.sums)?;
    let encoded: Vec<(Vec<u8>, Amount)> = sums.iter().map(|(k, a)| (k.encode(), *a)).collect();
    let hash = inner_hash(
        &left.hash,
        &right.hash,
        encoded.len(),
        encoded.iter().map(|(k, a)| (k.as_slice(), *a)),
    );
    Ok(SumNode { hash, sums })
}

/// The sum-tree leaf node of a validated leaf with quantity `amount`.
#[must_use]
pub fn leaf_node(leaf: &LotLeaf, amount: Amount) -> SumNode {
    SumNode {
        hash: leaf_hash(&leaf.to_jcs()),
        sums: vec![(
            SumKey {
                commodity: leaf.commodity.clone(),
                unit: leaf.unit.clone(),
            },
            amount,
        )],
    }
}

/// Why leaves could not be folded into a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// A leaf breaks a field rule.
    #[error("leaf {index}: {error}")]
    Leaf {
        /// Position of the leaf.
        index: u64,
        /// The rule broken.
        error: LeafError,
    },
    /// A lot id not strictly above the previous one (unsorted or duplicate).
    #[error(
        "leaf {index}: lot id {lot_id:?} is not above the previous one (unsorted or duplicate)"
    )]
    Order {
        /// Position of the leaf.
        index: u64,
        /// Its lot id.
        lot_id: String,
    },
    /// A sum overflowed (impossible with valid leaves below 2^64 of them).
    #[error("sum overflow")]
    Overflow,
}

impl TreeError {
    /// Stable machine-readable code.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            TreeError::Leaf { .. } => "leaf_invalid",
            TreeError::Order { .. } => "leaves_not_sorted",
            TreeError::Overflow => "amount_overflow",
        }
    }
}

/// Interned sum keys: the builder keeps sums as (key id, amount) and hashes pre-encoded keys.
#[derive(Debug, Default)]
struct KeyTable {
    ids: HashMap<SumKey, u32>,
    keys: Vec<SumKey>,
    encoded: Vec<Vec<u8>>,
}

/// Up to this many keys, lookups scan the table instead of hashing (no allocation per leaf;
/// a reserve holds a handful of (commodity, unit) pairs).
const LINEAR_SCAN_KEYS: usize = 32;

impl KeyTable {
    fn intern(&mut self, commodity: &str, unit: &str) -> u32 {
        if self.keys.len() <= LINEAR_SCAN_KEYS
            && let Some(id) = (0u32..)
                .zip(&self.keys)
                .find(|(_, k)| k.commodity == commodity && k.unit == unit)
                .map(|(id, _)| id)
        {
            return id;
        }
        let probe = SumKey {
            commodity: commodity.to_owned(),
            unit: unit.to_owned(),
        };
        if let Some(id) = self.ids.get(&probe) {
            return *id;
        }
        let id = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.encoded.push(probe.encode());
        self.keys.push(probe.clone());
        self.ids.insert(probe, id);
        id
    }

    fn key(&self, id: u32) -> Option<&SumKey> {
        self.keys.get(id as usize)
    }

    fn cmp(&self, a: u32, b: u32) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        self.key(a).cmp(&self.key(b))
    }

    fn encoded(&self, id: u32) -> &[u8] {
        self.encoded.get(id as usize).map_or(&[], Vec::as_slice)
    }
}

/// Sums of a builder node: a leaf's single entry inline (no allocation per leaf), else a
/// sorted list.
#[derive(Debug, Clone)]
enum FastSums {
    One([(u32, Amount); 1]),
    Many(Vec<(u32, Amount)>),
}

impl FastSums {
    fn as_slice(&self) -> &[(u32, Amount)] {
        match self {
            FastSums::One(one) => one,
            FastSums::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone)]
struct FastNode {
    hash: Hash,
    sums: FastSums,
}

/// Merges `right` into `left` (both sorted by key), adding equal keys' amounts.
fn merge_fast(keys: &KeyTable, left: FastSums, right: &FastSums) -> Result<FastSums, TreeError> {
    let add = |a: Amount, b: Amount| a.checked_add(b).map_err(|_| TreeError::Overflow);
    match (left, right) {
        (FastSums::One([(a, x)]), FastSums::One([(b, y)])) if a == *b => {
            Ok(FastSums::One([(a, add(x, *y)?)]))
        }
        (FastSums::Many(mut v), r) if same_keys(&v, r.as_slice()) => {
            for (slot, (_, y)) in v.iter_mut().zip(r.as_slice()) {
                slot.1 = add(slot.1, *y)?;
            }
            Ok(FastSums::Many(v))
        }
        (l, r) => {
            let (l, r) = (l.as_slice(), r.as_slice());
            let mut out = Vec::with_capacity(l.len() + r.len());
            let (mut i, mut j) = (l.iter().peekable(), r.iter().peekable());
            loop {
                let next = match (i.peek(), j.peek()) {
                    (None, None) => break,
                    (Some(_), None) => i.next().copied(),
                    (None, Some(_)) => j.next().copied(),
                    (Some(a), Some(b)) => match keys.cmp(a.0, b.0) {
                        Ordering::Less => i.next().copied(),
                        Ordering::Greater => j.next().copied(),
                        Ordering::Equal => {
                            let sum = add(a.1, b.1)?;
                            let id = a.0;
                            i.next();
                            j.next();
                            Some((id, sum))
                        }
                    },
                };
                out.extend(next);
            }
            Ok(FastSums::Many(out))
        }
    }
}

fn same_keys(a: &[(u32, Amount)], b: &[(u32, Amount)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0)
}

fn fast_parent(keys: &KeyTable, left: FastNode, right: &FastNode) -> Result<FastNode, TreeError> {
    let sums = merge_fast(keys, left.sums, &right.sums)?;
    let entries = sums.as_slice();
    let hash = inner_hash(
        &left.hash,
        &right.hash,
        entries.len(),
        entries.iter().map(|(id, a)| (keys.encoded(*id), *a)),
    );
    Ok(FastNode { hash, sums })
}

/// One total of a finished tree: a key, its exact sum and how many lots it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTotal {
    /// The (commodity, unit).
    pub key: SumKey,
    /// The exact sum.
    pub amount: Amount,
    /// Lots counted.
    pub lots: u64,
}

/// What a finished [`TreeBuilder`] commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeSummary {
    /// Number of leaves.
    pub size: u64,
    /// The sum-tree root hash.
    pub sum_root: Hash,
    /// The RFC 9162 Merkle Tree Hash of the same leaves.
    pub rfc9162_root: Hash,
    /// Totals per key, sorted by key (the root's sums).
    pub totals: Vec<KeyTotal>,
    /// The last (largest) lot id, if any.
    pub last_lot_id: Option<String>,
}

/// Folds leaves, in lot-id order, into the sum tree and the RFC 9162 tree in O(log n) memory
/// (plus one entry per distinct key): each leaf is validated, encoded once into a reused
/// buffer, hashed once, and dropped.
#[derive(Debug, Default)]
pub struct TreeBuilder {
    keys: KeyTable,
    lots_per_key: Vec<u64>,
    frontier: Vec<FastNode>,
    rfc: CompactRange,
    last_lot_id: Option<String>,
    buf: Vec<u8>,
}

impl TreeBuilder {
    /// An empty builder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves folded so far.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.rfc.size()
    }

    /// Validates and appends the next leaf; returns its quantity.
    ///
    /// # Errors
    /// [`TreeError`]: an invalid leaf or a lot id not above the previous one (the builder is
    /// then unchanged), or an overflow (then the builder must be dropped; unreachable below
    /// 3·10^9 leaves of the largest quantity).
    pub fn push(&mut self, leaf: &LotLeaf) -> Result<Amount, TreeError> {
        let index = self.size();
        let amount = leaf
            .validate()
            .map_err(|error| TreeError::Leaf { index, error })?;
        if self
            .last_lot_id
            .as_deref()
            .is_some_and(|last| last.as_bytes() >= leaf.lot_id.as_bytes())
        {
            return Err(TreeError::Order {
                index,
                lot_id: leaf.lot_id.clone(),
            });
        }
        self.buf.clear();
        leaf.write_jcs(&mut self.buf);
        let hash = leaf_hash(&self.buf);
        let id = self.keys.intern(&leaf.commodity, &leaf.unit);
        self.rfc
            .append_leaf_hash(hash)
            .map_err(|_| TreeError::Overflow)?;
        // The new leaf completes one perfect subtree per trailing one bit of its index.
        let mut node = FastNode {
            hash,
            sums: FastSums::One([(id, amount)]),
        };
        for _ in 0..index.trailing_ones() {
            let Some(left) = self.frontier.pop() else {
                break;
            };
            node = fast_parent(&self.keys, left, &node)?;
        }
        self.frontier.push(node);
        match self.lots_per_key.get_mut(id as usize) {
            Some(n) => *n = n.saturating_add(1),
            None => self.lots_per_key.push(1),
        }
        match &mut self.last_lot_id {
            Some(last) => last.clone_from(&leaf.lot_id),
            None => self.last_lot_id = Some(leaf.lot_id.clone()),
        }
        Ok(amount)
    }

    /// The roots and totals of the leaves pushed.
    ///
    /// # Errors
    /// [`TreeError::Overflow`].
    pub fn finish(self) -> Result<TreeSummary, TreeError> {
        let mut rest = self.frontier.into_iter().rev();
        let root = match rest.next() {
            None => FastNode {
                hash: EMPTY_ROOT,
                sums: FastSums::Many(Vec::new()),
            },
            Some(last) => {
                let mut acc = last;
                for left in rest {
                    acc = fast_parent(&self.keys, left, &acc)?;
                }
                acc
            }
        };
        let mut totals = Vec::with_capacity(root.sums.as_slice().len());
        for &(id, amount) in root.sums.as_slice() {
            if let Some(key) = self.keys.key(id) {
                totals.push(KeyTotal {
                    key: key.clone(),
                    amount,
                    lots: self.lots_per_key.get(id as usize).copied().unwrap_or(0),
                });
            }
        }
        Ok(TreeSummary {
            size: self.rfc.size(),
            sum_root: root.hash,
            rfc9162_root: self.rfc.root(),
            totals,
            last_lot_id: self.last_lot_id,
        })
    }
}

/// Perfect subtrees of at least 2^`CACHED_LEVEL` leaves are kept by [`SumTree`]; smaller
/// siblings are recomputed from the leaves. A proof then costs at most `CACHED_LEVEL` subtree
/// computations of under 2^`CACHED_LEVEL` leaves each, for about n / 2^(`CACHED_LEVEL` − 1)
/// cached nodes.
const CACHED_LEVEL: u32 = 8;

/// Every leaf of a report, kept to serve inclusion and non-inclusion proofs.
///
/// Keeps the leaves, their hashes and (key, amount), and the sum-tree nodes of aligned perfect
/// subtrees of 2^8 leaves and more; a proof recomputes only the small siblings.
#[derive(Debug, Clone)]
pub struct SumTree {
    leaves: Vec<LotLeaf>,
    leaf_hashes: Vec<Hash>,
    leaf_sums: Vec<(usize, Amount)>,
    keys: Vec<SumKey>,
    /// `levels[i][j]`: the node over leaves `[j·2^(CACHED_LEVEL+i), (j+1)·2^(CACHED_LEVEL+i))`.
    levels: Vec<Vec<SumNode>>,
    summary: TreeSummary,
}

impl SumTree {
    /// Builds the tree over `leaves` (sorted by lot id, each valid).
    ///
    /// # Errors
    /// As [`TreeBuilder::push`].
    pub fn new(leaves: Vec<LotLeaf>) -> Result<Self, TreeError> {
        let mut builder = TreeBuilder::new();
        let mut leaf_hashes = Vec::with_capacity(leaves.len());
        let mut leaf_sums = Vec::with_capacity(leaves.len());
        let mut keys: Vec<SumKey> = Vec::new();
        let mut ids: std::collections::BTreeMap<SumKey, usize> = std::collections::BTreeMap::new();
        for leaf in &leaves {
            let amount = builder.push(leaf)?;
            leaf_hashes.push(leaf_hash(&leaf.to_jcs()));
            let key = SumKey {
                commodity: leaf.commodity.clone(),
                unit: leaf.unit.clone(),
            };
            let id = *ids.entry(key.clone()).or_insert_with(|| {
                keys.push(key);
                keys.len() - 1
            });
            leaf_sums.push((id, amount));
        }
        let mut tree = SumTree {
            leaves,
            leaf_hashes,
            leaf_sums,
            keys,
            levels: Vec::new(),
            summary: builder.finish()?,
        };
        let block = 1usize << CACHED_LEVEL;
        let mut level = (0..tree.leaves.len() / block)
            .map(|j| tree.subtree(j * block, (j + 1) * block))
            .collect::<Result<Vec<_>, _>>()?;
        while !level.is_empty() {
            let next = level
                .chunks_exact(2)
                .map(|pair| match pair {
                    [l, r] => parent(l, r).map_err(|_| TreeError::Overflow),
                    _ => Err(TreeError::Overflow),
                })
                .collect::<Result<Vec<_>, _>>()?;
            tree.levels.push(level);
            level = next;
        }
        Ok(tree)
    }

    /// The roots and totals.
    #[must_use]
    pub fn summary(&self) -> &TreeSummary {
        &self.summary
    }

    /// The leaves, in order.
    #[must_use]
    pub fn leaves(&self) -> &[LotLeaf] {
        &self.leaves
    }

    /// Where `lot_id` is (`Ok(index)`) or would be inserted (`Err(index)`).
    pub fn search(&self, lot_id: &str) -> Result<usize, usize> {
        self.leaves
            .binary_search_by(|l| l.lot_id.as_bytes().cmp(lot_id.as_bytes()))
    }

    fn leaf_node(&self, i: usize) -> Result<SumNode, TreeError> {
        let (Some(hash), Some((id, amount))) = (self.leaf_hashes.get(i), self.leaf_sums.get(i))
        else {
            return Err(TreeError::Overflow);
        };
        let key = self.keys.get(*id).ok_or(TreeError::Overflow)?;
        Ok(SumNode {
            hash: *hash,
            sums: vec![(key.clone(), *amount)],
        })
    }

    /// The sum-tree node over leaves `[lo, hi)` (`lo < hi`), by RFC 9162's split; aligned
    /// perfect subtrees of 2^`CACHED_LEVEL` leaves or more come from the cache.
    fn subtree(&self, lo: usize, hi: usize) -> Result<SumNode, TreeError> {
        let n = hi.saturating_sub(lo);
        if n <= 1 {
            return self.leaf_node(lo);
        }
        if n.is_power_of_two() && n.trailing_zeros() >= CACHED_LEVEL && lo.is_multiple_of(n) {
            let level = (n.trailing_zeros() - CACHED_LEVEL) as usize;
            if let Some(node) = self.levels.get(level).and_then(|l| l.get(lo / n)) {
                return Ok(node.clone());
            }
        }
        let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
        let left = self.subtree(lo, lo + k)?;
        let right = self.subtree(lo + k, hi)?;
        parent(&left, &right).map_err(|_| TreeError::Overflow)
    }

    /// RFC 9162 PATH(m, D[lo:hi]) for the sum tree: siblings from the leaf upwards.
    fn sum_path(
        &self,
        m: usize,
        lo: usize,
        hi: usize,
        out: &mut Vec<SumNode>,
    ) -> Result<(), TreeError> {
        let n = hi - lo;
        if n <= 1 {
            return Ok(());
        }
        let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
        if m < k {
            self.sum_path(m, lo, lo + k, out)?;
            out.push(self.subtree(lo + k, hi)?);
        } else {
            self.sum_path(m - k, lo + k, hi, out)?;
            out.push(self.subtree(lo, lo + k)?);
        }
        Ok(())
    }

    /// The inclusion proof of the leaf at `index`, or `None` past the end.
    ///
    /// # Errors
    /// [`TreeError::Overflow`] (not reachable for a tree that was built).
    pub fn inclusion_proof(
        &self,
        index: usize,
    ) -> Result<Option<crate::proof::InclusionProof>, TreeError> {
        let Some(leaf) = self.leaves.get(index) else {
            return Ok(None);
        };
        let mut sum_path = Vec::new();
        self.sum_path(index, 0, self.leaves.len(), &mut sum_path)?;
        let audit_path = cphar_tlog::inclusion_proof(&self.leaf_hashes, index as u64)
            .map_err(|_| TreeError::Overflow)?;
        Ok(Some(crate::proof::InclusionProof {
            leaf_index: index as u64,
            tree_size: self.leaves.len() as u64,
            leaf: leaf.clone(),
            sum_path,
            audit_path,
        }))
    }
}

/// Walks an inclusion path as RFC 9162 §2.1.3.2 does, combining with `combine(left, right)`;
/// returns the computed root, or `None` if the path length does not fit (`index`, `size`).
pub(crate) fn walk_path<T, E>(
    index: u64,
    size: u64,
    leaf: T,
    path: &[T],
    mut combine: impl FnMut(&T, &T) -> Result<T, E>,
) -> Result<Option<T>, E> {
    if index >= size {
        return Ok(None);
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = leaf;
    for p in path {
        if sn == 0 {
            return Ok(None);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = combine(p, &r)?;
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = combine(&r, p)?;
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    Ok(if sn == 0 { Some(r) } else { None })
}
