//! Transparency-log math for CPHAR, and nothing else.
//!
//! The audit log and the reserve reports commit to their entries with RFC 9162 Merkle trees
//! so that any Certificate Transparency tool can check the proofs, and publish their tree
//! heads as C2SP `tlog-checkpoint` signed notes. This crate owns exactly that math and those
//! text formats:
//!
//! - [`hash`]: RFC 9162 §2.1 leaf/node hashing and the Merkle Tree Hash of a list of leaves;
//! - [`proof`]: inclusion (§2.1.3) and consistency (§2.1.4) proof generation and verification;
//! - [`compact`]: [`CompactRange`], an append-only tree in O(log n) memory that yields roots;
//! - [`memory`]: [`MemoryTree`], every leaf hash plus the complete interior levels, serving
//!   O(log n) proofs for any historical tree size;
//! - [`note`]: C2SP `signed-note` framing, key IDs and verifier keys, with the signature
//!   algorithms kept behind the [`NoteSigner`] / [`NoteVerifier`] traits;
//! - [`checkpoint`]: the C2SP `tlog-checkpoint` note body.
//!
//! It is pure: no I/O, no clock, no randomness and no signing keys. The crypto crate plugs
//! real signature algorithms into the note traits; storage and HTTP live further up.
//!
//! Tree sizes and leaf indices are `u64` everywhere (a log outlives `u32`, and the wire
//! formats are 64-bit); hashes are SHA-256, [`Hash`](type@Hash) = `[u8; 32]`.
//!
//! ```
//! use cphar_tlog::{CompactRange, MemoryTree, leaf_hash, verify_consistency, verify_inclusion};
//!
//! // The log keeps only a frontier; a proof server keeps the whole tree.
//! let (mut frontier, mut tree) = (CompactRange::new(), MemoryTree::new());
//! for entry in [&b"entry 0"[..], b"entry 1", b"entry 2"] {
//!     frontier.append(entry)?;
//!     tree.push(entry);
//! }
//! let root = frontier.root();
//! assert_eq!(root, tree.root());
//!
//! let proof = tree.inclusion_proof(1, 3)?;
//! verify_inclusion(1, 3, &leaf_hash(b"entry 1"), &proof, &root)?;
//! let proof = tree.consistency_proof(2, 3)?;
//! verify_consistency(2, 3, &tree.root_at(2)?, &root, &proof)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod compact;
pub mod hash;
pub mod memory;
pub mod note;
pub mod proof;

pub use checkpoint::{
    Checkpoint, CheckpointError, VerifiedCheckpoint, open_checkpoint, sign_checkpoint,
};
pub use compact::{CompactRange, CompactRangeError};
pub use hash::{EMPTY_ROOT, HASH_SIZE, Hash, leaf_hash, node_hash, root};
pub use memory::MemoryTree;
pub use note::{
    KeyId, Note, NoteError, NoteSignature, NoteSigner, NoteVerifier, SIG_TYPE_ED25519, SignerError,
    VerifiedNote, VerifierKey, key_id, open_note, sign_note,
};
pub use proof::{
    ProofError, consistency_proof, consistency_proof_len, inclusion_proof, inclusion_proof_len,
    verify_consistency, verify_inclusion,
};
