//! Transparency for the audit log: an RFC 9162 Merkle tree whose leaves are the entries'
//! export lines (JCS bytes), C2SP `tlog-checkpoint` signed notes over it (Ed25519, signed by
//! the registry identity key; the key name is the log origin), and self-contained proof
//! bundles that a relying party checks offline with the identity public key alone.
//!
//! A checkpoint carries one extension line, `time <RFC 3339>`: when it was signed.

use cphar_crypto::{Algorithm, SigningKey, VerifyingKey};
use cphar_protocol::Timestamp;
use cphar_tlog::{
    Checkpoint, Hash, KeyId, MemoryTree, NoteSigner, NoteVerifier, SIG_TYPE_ED25519, SignerError,
    key_id, leaf_hash, open_checkpoint, sign_checkpoint, verify_consistency, verify_inclusion,
};
use serde_json::{Value, json};

/// Why a checkpoint or proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProofError {
    /// Stable reason code.
    pub code: &'static str,
    /// Details.
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> ProofError {
    ProofError {
        code,
        message: message.into(),
    }
}

/// The log origin for a registry host: `<host>/audit`.
pub fn origin(host: &str) -> String {
    format!("{host}/audit")
}

/// Signs notes with the identity key (Ed25519).
pub struct IdentityNoteSigner<'a> {
    name: String,
    id: KeyId,
    key: &'a SigningKey,
}

impl<'a> IdentityNoteSigner<'a> {
    /// A signer named `name` (the log origin).
    pub fn new(name: &str, key: &'a SigningKey) -> Result<Self, ProofError> {
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(err(
                "unsupported_key",
                "checkpoints are signed with an Ed25519 identity key",
            ));
        }
        let public = key.verifying_key().public_bytes();
        Ok(IdentityNoteSigner {
            name: name.to_owned(),
            id: key_id(name, SIG_TYPE_ED25519, &public),
            key,
        })
    }
}

impl NoteSigner for IdentityNoteSigner<'_> {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.key.sign(msg)?)
    }
}

/// Verifies notes signed by an identity key.
pub struct IdentityNoteVerifier {
    name: String,
    id: KeyId,
    key: VerifyingKey,
}

impl IdentityNoteVerifier {
    /// A verifier for `name` (the log origin) and `key`.
    pub fn new(name: &str, key: &VerifyingKey) -> Result<Self, ProofError> {
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(err(
                "unsupported_key",
                "checkpoints are signed with an Ed25519 identity key",
            ));
        }
        let id = key_id(name, SIG_TYPE_ED25519, &key.public_bytes());
        Ok(IdentityNoteVerifier {
            name: name.to_owned(),
            id,
            key: key.clone(),
        })
    }
}

impl NoteVerifier for IdentityNoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> KeyId {
        self.id
    }
    fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        self.key.verify(msg, signature).is_ok()
    }
}

/// The Merkle tree over export lines.
pub fn tree(lines: &[&[u8]]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for line in lines {
        tree.push(line);
    }
    tree
}

/// A signed checkpoint (note text) of a tree of `size` entries with `root`.
pub fn sign(
    origin: &str,
    size: u64,
    root: Hash,
    time: Timestamp,
    identity: &SigningKey,
) -> Result<String, ProofError> {
    let checkpoint = Checkpoint::new(origin, size, root)
        .and_then(|c| c.with_extensions(vec![format!("time {time}")]))
        .map_err(|e| err("invalid_checkpoint", e.to_string()))?;
    let signer = IdentityNoteSigner::new(origin, identity)?;
    sign_checkpoint(&checkpoint, &[&signer]).map_err(|e| err("signing_failed", e.to_string()))
}

/// A verified checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// Log origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// Signing time, from the `time` extension line.
    pub time: Option<String>,
}

/// Opens a signed checkpoint of `origin` with the identity key.
pub fn open(
    note: &str,
    origin: &str,
    identity: &VerifyingKey,
) -> Result<CheckpointInfo, ProofError> {
    let verifier = IdentityNoteVerifier::new(origin, identity)?;
    let verified = open_checkpoint(note.as_bytes(), origin, &[&verifier])
        .map_err(|e| err("bad_checkpoint", e.to_string()))?;
    let c = verified.checkpoint();
    let time = c
        .extensions()
        .iter()
        .find_map(|l| l.strip_prefix("time ").map(str::to_owned));
    Ok(CheckpointInfo {
        origin: c.origin().to_owned(),
        size: c.size(),
        root: *c.root_hash(),
        time,
    })
}

/// The origin a checkpoint note claims (its first line), to pick the verifier.
pub fn claimed_origin(note: &str) -> Option<&str> {
    note.lines().next()
}

fn b64(h: &Hash) -> String {
    cphar_crypto::b64::encode(h)
}

fn hashes(v: &Value, member: &str) -> Result<Vec<Hash>, ProofError> {
    v.get(member)
        .and_then(Value::as_array)
        .ok_or_else(|| err("malformed_proof", format!("missing {member}")))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|s| cphar_crypto::b64::decode(s).ok())
                .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                .ok_or_else(|| err("malformed_proof", format!("{member} holds a non-hash")))
        })
        .collect()
}

/// An inclusion proof bundle for entry `index` (export line `line`) in `tree`, against the
/// signed `checkpoint` of size `tree.size()`. It names the leaf by its RFC 9162 hash
/// (`leafHash`) and carries the entry (`entry`); a server may drop `entry` for readers who may
/// not see it: the bundle still proves that the leaf hash is in the log.
pub fn inclusion_bundle(
    tree: &MemoryTree,
    index: u64,
    size: u64,
    line: &str,
    checkpoint: &str,
) -> Result<Value, ProofError> {
    let proof = tree
        .inclusion_proof(index, size)
        .map_err(|e| err("no_proof", e.to_string()))?;
    Ok(json!({
        "type": "inclusion",
        "leafIndex": index,
        "treeSize": size,
        "leafHash": b64(&leaf_hash(line.as_bytes())),
        "entry": line,
        "proof": proof.iter().map(b64).collect::<Vec<_>>(),
        "checkpoint": checkpoint,
    }))
}

/// A consistency proof bundle between sizes `old` and `new` of `tree`, with the signed
/// checkpoint of size `new`.
pub fn consistency_bundle(
    tree: &MemoryTree,
    old: u64,
    new: u64,
    checkpoint: &str,
) -> Result<Value, ProofError> {
    let proof = tree
        .consistency_proof(old, new)
        .map_err(|e| err("no_proof", e.to_string()))?;
    let old_root = tree
        .root_at(old)
        .map_err(|e| err("no_proof", e.to_string()))?;
    Ok(json!({
        "type": "consistency",
        "oldSize": old,
        "oldRoot": b64(&old_root),
        "newSize": new,
        "proof": proof.iter().map(b64).collect::<Vec<_>>(),
        "checkpoint": checkpoint,
    }))
}

/// What a checked bundle proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proven {
    /// The entry at this index is in the log the checkpoint commits to.
    Included {
        /// Leaf index (= sequence number).
        index: u64,
        /// The checkpoint.
        checkpoint: CheckpointInfo,
    },
    /// The log of `old_size` entries with `old_root` is a prefix of the checkpoint's log.
    Consistent {
        /// Old size.
        old_size: u64,
        /// The checkpoint of the newer log.
        checkpoint: CheckpointInfo,
    },
}

/// Checks a proof bundle offline with the identity key. For consistency bundles, the old
/// checkpoint the relying party holds (`old_checkpoint`) is checked against the bundle too.
pub fn check_bundle(
    bundle: &Value,
    identity: &VerifyingKey,
    old_checkpoint: Option<&str>,
) -> Result<Proven, ProofError> {
    let note = bundle
        .get("checkpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| err("malformed_proof", "no checkpoint"))?;
    let origin = claimed_origin(note).ok_or_else(|| err("bad_checkpoint", "empty checkpoint"))?;
    let checkpoint = open(note, origin, identity)?;
    let num = |m: &str| {
        bundle
            .get(m)
            .and_then(Value::as_u64)
            .ok_or_else(|| err("malformed_proof", format!("missing {m}")))
    };
    match bundle.get("type").and_then(Value::as_str) {
        Some("inclusion") => {
            let (index, size) = (num("leafIndex")?, num("treeSize")?);
            if size != checkpoint.size {
                return Err(err(
                    "size_mismatch",
                    "the proof is for another tree size than the checkpoint",
                ));
            }
            let named = match bundle.get("leafHash") {
                None => None,
                Some(h) => Some(
                    h.as_str()
                        .and_then(|s| cphar_crypto::b64::decode(s).ok())
                        .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                        .ok_or_else(|| err("malformed_proof", "leafHash is not a hash"))?,
                ),
            };
            // With the entry, the leaf is the entry's hash (and must be the one named); without
            // it (a public bundle), the named leaf hash is what is proven.
            let leaf = match bundle.get("entry") {
                Some(entry) => {
                    let entry = entry
                        .as_str()
                        .ok_or_else(|| err("malformed_proof", "entry is not a string"))?;
                    let seq = serde_json::from_str::<Value>(entry)
                        .ok()
                        .and_then(|v| v.get("sequenceNumber").and_then(Value::as_u64));
                    if seq != Some(index) {
                        return Err(err(
                            "index_mismatch",
                            "the entry's sequenceNumber is not the leaf index",
                        ));
                    }
                    let leaf = leaf_hash(entry.as_bytes());
                    if named.is_some_and(|n| n != leaf) {
                        return Err(err(
                            "leaf_mismatch",
                            "the entry does not hash to the named leaf",
                        ));
                    }
                    leaf
                }
                None => named.ok_or_else(|| err("malformed_proof", "no entry and no leafHash"))?,
            };
            verify_inclusion(
                index,
                size,
                &leaf,
                &hashes(bundle, "proof")?,
                &checkpoint.root,
            )
            .map_err(|e| err("bad_proof", e.to_string()))?;
            Ok(Proven::Included { index, checkpoint })
        }
        Some("consistency") => {
            let (old, new) = (num("oldSize")?, num("newSize")?);
            if new != checkpoint.size {
                return Err(err(
                    "size_mismatch",
                    "the proof is for another tree size than the checkpoint",
                ));
            }
            let old_root = bundle
                .get("oldRoot")
                .and_then(Value::as_str)
                .and_then(|s| cphar_crypto::b64::decode(s).ok())
                .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                .ok_or_else(|| err("malformed_proof", "no oldRoot"))?;
            if let Some(held) = old_checkpoint {
                let held = open(held, origin, identity)?;
                if held.size != old || held.root != old_root {
                    return Err(err(
                        "old_checkpoint_mismatch",
                        "the bundle does not start from the checkpoint held",
                    ));
                }
            }
            verify_consistency(
                old,
                new,
                &old_root,
                &checkpoint.root,
                &hashes(bundle, "proof")?,
            )
            .map_err(|e| err("bad_proof", e.to_string()))?;
            Ok(Proven::Consistent {
                old_size: old,
                checkpoint,
            })
        }
        _ => Err(err(
            "malformed_proof",
            "type must be inclusion or consistency",
        )),
    }
}
