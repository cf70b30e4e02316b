//! Bulk seal registration: a vendor's manifest of seals (JSON Lines, one registration per
//! line) registered in one operation, audited by ONE event instead of one signed entry per
//! seal.
//!
//! Every line is checked exactly as a single registration: [`Registry::check_seal`] (members,
//! key, vendor chain, firmware allowlist) and [`decide::register`] (duplicate UID, clone
//! detection) — the duplicates it compares against are the stored seals *and* the lines
//! accepted before it in the same manifest. The operation reads once (every stored seal
//! matching any UID, key or certificate of the manifest), decides in pure code
//! ([`decide_batch`]) and writes once:
//!
//! * **partial** (default): accepted lines are registered, refused lines are reported with
//!   their line number and reason code and nothing of them is written;
//! * **atomic**: any refused line refuses the whole manifest; nothing is registered.
//!
//! The accepted seals become the leaves of an RFC 9162 Merkle tree: leaf `i` is the JCS text
//! of `{"batchId", "index", "line", "seal"}` (the seal record as first written). One audited
//! `seal_batch_registered` event (subject `seal-batch:<id>`) states the batch id, the number
//! of lines, the tree size and root, and every refused line with its code — clone
//! suspicions included, with the same details a single registration records. The items are
//! stored beside the batch; [`Registry::seal_batch_proof`] proves one against the root, and
//! the event's audit entry proves the root against the signed log.

use crate::codes::RefusalCode;
use crate::decide::{self, Ctx, Existing, Refused, RegisterSeal};
use crate::error::{Refusal, invalid};
use crate::event::{EventType, RegistryEvent, StoredEvent};
use crate::model::SealRecord;
use crate::service::{CheckedSeal, Registry, RegistryError, new_id};
use crate::store::{ChangeSet, SealBatch, SealBatchItem, SealKeys, Store, StoreError};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Most registrations in one manifest.
pub const MAX_BATCH_LINES: usize = 10_000;

/// Most bytes of one manifest line (the single registration's body limit).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How many times a batch is re-decided after a concurrent change before giving up.
const MAX_ATTEMPTS: usize = 8;

/// What to do with the accepted lines when some are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchMode {
    /// Accepted lines are registered; refused ones are reported.
    #[default]
    Partial,
    /// One refused line refuses the whole manifest.
    Atomic,
}

/// A line that was refused: nothing of it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRefusal {
    /// Line number in the manifest (1-based).
    pub line: u64,
    /// The device UID the line named, when it could be read.
    pub uid: Option<String>,
    /// Why.
    pub refusal: Refusal,
}

/// A registered line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedLine {
    /// Line number in the manifest (1-based).
    pub line: u64,
    /// Leaf index in the batch's Merkle tree.
    pub index: u64,
    /// The device UID.
    pub uid: String,
}

/// The answer to a bulk registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// The batch id, when an audited batch event was written (seals registered, or clone
    /// suspicions recorded).
    pub batch_id: Option<String>,
    /// Registrations in the manifest (blank lines not counted).
    pub lines: u64,
    /// Registered lines (empty when nothing was registered).
    pub accepted: Vec<AcceptedLine>,
    /// Refused lines.
    pub refused: Vec<LineRefusal>,
    /// The Merkle root over the registered items (base64url), when any were registered.
    pub root: Option<String>,
    /// Audit event sequence number of the batch event, when one was written.
    pub event_sequence: Option<u64>,
}

/// One item of a batch with its inclusion proof against the batch's root.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItemProof {
    /// The batch.
    pub batch_id: String,
    /// Leaf index.
    pub index: u64,
    /// Tree size (items in the batch).
    pub tree_size: u64,
    /// The leaf: JCS text of the item.
    pub item: String,
    /// RFC 9162 inclusion proof, base64url hashes.
    pub proof: Vec<String>,
    /// The root (base64url), as stated by the audited event.
    pub root: String,
    /// The audited `seal_batch_registered` event (its sequence is the audit entry to prove).
    pub event: Option<StoredEvent>,
}

/// Checks an item proof: the item's leaf hash, the inclusion proof and the root.
///
/// # Errors
/// A refusal (`invalid_input`) naming what does not verify.
pub fn verify_item_proof(p: &BatchItemProof) -> Result<(), Refusal> {
    let root = b64_hash(&p.root)?;
    let path = p
        .proof
        .iter()
        .map(|h| b64_hash(h))
        .collect::<Result<Vec<_>, _>>()?;
    cphar_tlog::verify_inclusion(
        p.index,
        p.tree_size,
        &cphar_tlog::leaf_hash(p.item.as_bytes()),
        &path,
        &root,
    )
    .map_err(|e| invalid(format!("batch item proof does not verify: {e}")))
}

fn b64_hash(text: &str) -> Result<cphar_tlog::Hash, Refusal> {
    let bytes = cphar_crypto::b64::decode(text).map_err(|e| invalid(format!("hash: {e}")))?;
    cphar_tlog::Hash::try_from(bytes.as_slice()).map_err(|_| invalid("hash: not 32 bytes"))
}

/// `seal-batch:<id>`.
pub fn batch_subject(id: &str) -> String {
    format!("seal-batch:{id}")
}

/// A manifest line after parsing and [`Registry::check_seal`].
pub(crate) struct CheckedLine {
    line: u64,
    cmd: RegisterSeal,
    checked: CheckedSeal,
}

/// Splits a manifest into its lines: `(line number, bytes)` for each non-blank line.
///
/// # Errors
/// `batch_too_large` beyond [`MAX_BATCH_LINES`] registrations, `invalid_input` for an empty
/// manifest.
pub fn manifest_lines(body: &[u8]) -> Result<Vec<(u64, &[u8])>, Refusal> {
    let mut lines = Vec::new();
    for (n, raw) in body.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if lines.len() == MAX_BATCH_LINES {
            return Err(Refusal::new(
                RefusalCode::BatchTooLarge,
                format!("a manifest holds at most {MAX_BATCH_LINES} registrations"),
            ));
        }
        lines.push((n as u64 + 1, raw));
    }
    if lines.is_empty() {
        return Err(invalid("the manifest holds no registration"));
    }
    Ok(lines)
}

/// Parses one line strictly (size, I-JSON, a registration object with known members only).
fn parse_line(raw: &[u8]) -> Result<RegisterSeal, (Option<String>, Refusal)> {
    if raw.len() > MAX_LINE_BYTES {
        return Err((
            None,
            invalid(format!("the line exceeds {MAX_LINE_BYTES} bytes")),
        ));
    }
    let value = cphar_jcs::parse(raw)
        .map_err(|e| (None, invalid(format!("the line is not I-JSON: {e}"))))?;
    let uid = value.get("uid").and_then(Value::as_str).map(str::to_owned);
    if !value.is_object() {
        return Err((None, invalid("the line must be a JSON object")));
    }
    serde_json::from_value(value).map_err(|e| (uid, invalid(e.to_string())))
}

/// The decision over a checked manifest.
pub(crate) struct BatchDecision {
    changes: Option<ChangeSet>,
    outcome: BatchOutcome,
}

/// Decides a manifest: each checked line through [`decide::register`] against the stored
/// seals (`stored`) and the lines accepted before it; `refused` are the lines already refused
/// by parsing or [`Registry::check_seal`]. Pure: the batch id and time are arguments.
pub(crate) fn decide_batch(
    lines: u64,
    checked: &[CheckedLine],
    mut refused: Vec<LineRefusal>,
    stored: &[SealRecord],
    mode: BatchMode,
    batch_id: &str,
    ctx: Ctx<'_>,
) -> Result<BatchDecision, Refusal> {
    // What a line is compared with: stored seals, then accepted lines (by position).
    let mut by_uid: HashMap<&str, &SealRecord> = HashMap::new();
    let mut by_key: HashMap<&str, &SealRecord> = HashMap::new();
    let mut by_cert: HashMap<(&str, &str), &SealRecord> = HashMap::new();
    for s in stored {
        by_uid.insert(&s.uid, s);
        by_key.insert(&s.key_thumbprint, s);
        by_cert.insert((&s.certificate.issuer, &s.certificate.serial), s);
    }
    let mut accepted: Vec<(u64, SealRecord)> = Vec::new();
    let mut clones = Vec::new();
    // The lines accepted so far, by position in `accepted`.
    let mut acc_uid: HashMap<String, usize> = HashMap::new();
    let mut acc_key: HashMap<String, usize> = HashMap::new();
    let mut acc_cert: HashMap<(String, String), usize> = HashMap::new();
    for line in checked {
        let cert = (
            line.checked.certificate.issuer.clone(),
            line.checked.certificate.serial.clone(),
        );
        let decision = {
            let earlier = |i: Option<&usize>| i.and_then(|i| accepted.get(*i)).map(|(_, s)| s);
            let existing = Existing {
                by_uid: by_uid
                    .get(line.cmd.uid.as_str())
                    .copied()
                    .or_else(|| earlier(acc_uid.get(&line.cmd.uid))),
                by_key: by_key
                    .get(line.checked.thumbprint.as_str())
                    .copied()
                    .or_else(|| earlier(acc_key.get(&line.checked.thumbprint))),
                by_certificate: by_cert
                    .get(&(cert.0.as_str(), cert.1.as_str()))
                    .copied()
                    .or_else(|| earlier(acc_cert.get(&cert))),
            };
            decide::register(
                &line.cmd,
                line.checked.bal,
                &line.checked.jwk,
                line.checked.certificate.clone(),
                &existing,
                ctx,
            )
        };
        match decision {
            Ok(changes) => {
                let seal = changes
                    .seals
                    .into_iter()
                    .next()
                    .ok_or_else(|| invalid("internal: no seal in a registration"))?;
                let at = accepted.len();
                acc_uid.insert(seal.uid.clone(), at);
                acc_key.insert(seal.key_thumbprint.clone(), at);
                acc_cert.insert(cert, at);
                accepted.push((line.line, seal));
            }
            Err(Refused { refusal, record }) => {
                // A clone suspicion is recorded as a single registration records it, inside
                // the batch event.
                if let Some(record) = record {
                    for e in record.events {
                        clones.push(json!({"line": line.line, "details": e.data}));
                    }
                }
                refused.push(LineRefusal {
                    line: line.line,
                    uid: Some(line.cmd.uid.clone()),
                    refusal,
                });
            }
        }
    }
    refused.sort_by_key(|r| r.line);
    if mode == BatchMode::Atomic && !refused.is_empty() {
        accepted.clear();
    }
    let mut outcome = BatchOutcome {
        batch_id: None,
        lines,
        accepted: Vec::new(),
        refused,
        root: None,
        event_sequence: None,
    };
    if accepted.is_empty() && clones.is_empty() {
        return Ok(BatchDecision {
            changes: None,
            outcome,
        });
    }
    let mut items = Vec::with_capacity(accepted.len());
    let mut leaves = Vec::with_capacity(accepted.len());
    for (index, (line, seal)) in accepted.iter().enumerate() {
        let index = index as u64;
        let value = json!({"batchId": batch_id, "index": index, "line": line, "seal": seal});
        let canonical = cphar_jcs::canonicalize(&value)
            .map_err(|e| invalid(format!("internal: item not canonical: {e}")))?;
        leaves.push(cphar_tlog::leaf_hash(&canonical));
        let item =
            String::from_utf8(canonical).map_err(|_| invalid("internal: item is not UTF-8"))?;
        items.push(SealBatchItem {
            index,
            line: *line,
            uid: seal.uid.clone(),
            item,
        });
        outcome.accepted.push(AcceptedLine {
            line: *line,
            index,
            uid: seal.uid.clone(),
        });
    }
    let root = cphar_crypto::b64::encode(&cphar_tlog::root(&leaves));
    let refused_data: Vec<Value> = outcome
        .refused
        .iter()
        .map(|r| json!({"line": r.line, "uid": r.uid, "reasonCode": r.refusal.code()}))
        .collect();
    let event = RegistryEvent {
        event_type: EventType::SealBatchRegistered,
        subject: batch_subject(batch_id),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: None,
        data: json!({
            "batchId": batch_id,
            "mode": match mode { BatchMode::Partial => "partial", BatchMode::Atomic => "atomic" },
            "lines": lines,
            "treeSize": items.len(),
            "merkleRoot": root,
            "refused": refused_data,
            "cloneSuspicions": clones,
        }),
    };
    let at_ns =
        i64::try_from(ctx.now.unix_nanos()).map_err(|_| invalid("internal: time out of range"))?;
    let changes = ChangeSet {
        seals: accepted.into_iter().map(|(_, s)| s).collect(),
        events: vec![event],
        seal_batches: vec![SealBatch {
            id: batch_id.to_owned(),
            actor: ctx.actor.to_owned(),
            at_ns,
            root: root.clone(),
            items,
        }],
        ..ChangeSet::default()
    };
    outcome.batch_id = Some(batch_id.to_owned());
    outcome.root = (!outcome.accepted.is_empty()).then_some(root);
    Ok(BatchDecision {
        changes: Some(changes),
        outcome,
    })
}

impl<S: Store> Registry<S> {
    /// Registers a manifest of seals (JSON Lines, see the module documentation): every line
    /// checked as a single registration, refusals reported per line, the batch audited as one
    /// event committing to its items.
    ///
    /// # Errors
    /// A refusal of the whole manifest (`batch_too_large`, an empty manifest, a bad actor, no
    /// trusted time) or a storage failure; per-line refusals are in the outcome.
    pub async fn register_batch(
        &self,
        manifest: &[u8],
        mode: BatchMode,
        actor: &str,
    ) -> Result<BatchOutcome, RegistryError> {
        let ctx = self.ctx(actor)?;
        let raw_lines = manifest_lines(manifest)?;
        let lines = raw_lines.len() as u64;
        let mut checked = Vec::with_capacity(raw_lines.len());
        let mut refused = Vec::new();
        for (line, raw) in raw_lines {
            let result = match parse_line(raw) {
                Err(refused) => Err(refused),
                Ok(cmd) => match self.check_seal(&cmd, ctx).await {
                    Ok(checked) => Ok(CheckedLine {
                        line,
                        cmd: cmd.clone(),
                        checked,
                    }),
                    Err(RegistryError::Refused(r)) => Err((Some(cmd.uid.clone()), r)),
                    // Storage failures end the whole manifest, nothing written.
                    Err(e) => return Err(e),
                },
            };
            match result {
                Ok(c) => checked.push(c),
                Err((uid, refusal)) => refused.push(LineRefusal { line, uid, refusal }),
            }
        }
        let keys = SealKeys {
            uids: checked.iter().map(|c| c.cmd.uid.clone()).collect(),
            thumbprints: checked
                .iter()
                .map(|c| c.checked.thumbprint.clone())
                .collect(),
            certificates: checked
                .iter()
                .map(|c| {
                    (
                        c.checked.certificate.issuer.clone(),
                        c.checked.certificate.serial.clone(),
                    )
                })
                .collect(),
        };
        let batch_id = new_id("batch")?;
        for _ in 0..MAX_ATTEMPTS {
            let stored = if checked.is_empty() {
                Vec::new()
            } else {
                self.store.seals_matching(&keys).await?
            };
            let BatchDecision {
                changes,
                mut outcome,
            } = decide_batch(
                lines,
                &checked,
                refused.clone(),
                &stored,
                mode,
                &batch_id,
                ctx,
            )?;
            let Some(changes) = changes else {
                return Ok(outcome);
            };
            match self.store.apply(changes).await {
                Ok(seqs) => {
                    outcome.event_sequence = seqs.first().copied();
                    return Ok(outcome);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refusal::new(
            RefusalCode::Conflict,
            "the batch raced with other registrations; retry",
        )
        .into())
    }

    /// A batch's items (uid, line, index) and its audited event.
    ///
    /// # Errors
    /// `batch_not_found`, or a storage failure.
    pub async fn seal_batch(
        &self,
        id: &str,
    ) -> Result<(SealBatch, Option<StoredEvent>), RegistryError> {
        let batch = self.store.seal_batch(id).await?.ok_or_else(|| {
            Refusal::new(RefusalCode::BatchNotFound, format!("no seal batch {id}"))
        })?;
        let event = self
            .store
            .events_for(&batch_subject(id))
            .await?
            .into_iter()
            .find(|e| e.event.event_type == EventType::SealBatchRegistered);
        Ok((batch, event))
    }

    /// Item `index` of a batch with its inclusion proof against the batch's root.
    ///
    /// # Errors
    /// `batch_not_found` (no such batch or item), or a storage failure.
    pub async fn seal_batch_proof(
        &self,
        id: &str,
        index: u64,
    ) -> Result<BatchItemProof, RegistryError> {
        let (batch, event) = self.seal_batch(id).await?;
        let item = usize::try_from(index)
            .ok()
            .and_then(|i| batch.items.get(i))
            .ok_or_else(|| {
                Refusal::new(
                    RefusalCode::BatchNotFound,
                    format!("seal batch {id} has no item {index}"),
                )
            })?;
        let leaves: Vec<cphar_tlog::Hash> = batch
            .items
            .iter()
            .map(|i| cphar_tlog::leaf_hash(i.item.as_bytes()))
            .collect();
        let proof = cphar_tlog::inclusion_proof(&leaves, index)
            .map_err(|e| StoreError::Corrupt(format!("batch {id}: {e}")))?;
        Ok(BatchItemProof {
            batch_id: batch.id.clone(),
            index,
            tree_size: leaves.len() as u64,
            item: item.item.clone(),
            proof: proof.iter().map(|h| cphar_crypto::b64::encode(h)).collect(),
            root: batch.root.clone(),
            event,
        })
    }
}

impl BatchOutcome {
    /// The wire form (HTTP answer and `cphar registry import --json`): `{"batchId",
    /// "committed", "lines", "registered": [{"line", "index", "uid"}], "refused": [{"line",
    /// "uid", "reasonCode", "detail"}], "merkleRoot", "eventSequence"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "batchId": self.batch_id,
            "committed": !self.accepted.is_empty(),
            "lines": self.lines,
            "registered": self.accepted.iter().map(|a| json!({"line": a.line, "index": a.index, "uid": a.uid})).collect::<Vec<_>>(),
            "refused": self.refused.iter().map(|r| json!({
                "line": r.line,
                "uid": r.uid,
                "reasonCode": r.refusal.code(),
                "detail": r.refusal.message(),
            })).collect::<Vec<_>>(),
            "merkleRoot": self.root,
            "eventSequence": self.event_sequence,
        })
    }
}

impl BatchItemProof {
    /// The wire form: `{"batchId", "index", "treeSize", "item" (the leaf: JCS text),
    /// "inclusionProof", "merkleRoot", "event"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "batchId": self.batch_id,
            "index": self.index,
            "treeSize": self.tree_size,
            "item": self.item,
            "inclusionProof": self.proof,
            "merkleRoot": self.root,
            "event": self.event,
        })
    }
}

/// The wire form of a stored batch: `{"batchId", "actor", "at", "treeSize", "merkleRoot",
/// "items": [{"index", "line", "uid"}], "event"}`.
pub fn batch_json(batch: &SealBatch, event: Option<&StoredEvent>) -> Value {
    let at =
        cphar_protocol::Timestamp::from_unix_nanos(i128::from(batch.at_ns)).map(|t| t.to_string());
    json!({
        "batchId": batch.id,
        "actor": batch.actor,
        "at": at,
        "treeSize": batch.items.len(),
        "merkleRoot": batch.root,
        "items": batch.items.iter().map(|i| json!({"index": i.index, "line": i.line, "uid": i.uid})).collect::<Vec<_>>(),
        "event": event,
    })
}
