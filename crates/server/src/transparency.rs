//! Checkpoints and proofs served over HTTP. The server keeps the Merkle tree of the audit log
//! in memory and extends it with the entries appended since it last looked (by any process).
//!
//! A served checkpoint is recorded as a `checkpoint_signed` entry (tree size and root), but
//! only when the log grew since the last one this process recorded by more than that record
//! itself: anonymous GETs of an unchanged log add nothing.

use crate::problem::{ApiCode, Code, Problem};
use crate::state::AppState;
use cphar_audit::transparency;
use cphar_tlog::MemoryTree;
use serde_json::Value;

/// The in-memory tree, shared by the handlers.
#[derive(Default)]
pub struct TreeCache {
    tree: tokio::sync::Mutex<MemoryTree>,
    /// Tree size of the last checkpoint recorded as `checkpoint_signed` (0: none yet).
    recorded: std::sync::atomic::AtomicU64,
}

/// A signed checkpoint: the note, the tree size and root it commits to.
struct Signed {
    note: String,
    size: u64,
    root: cphar_tlog::Hash,
}

/// Records `signed` as `checkpoint_signed` unless the log only grew by the previous record.
async fn record(s: &AppState, signed: &Signed) -> Result<(), Problem> {
    use std::sync::atomic::Ordering;
    let last = s.tree.recorded.load(Ordering::Acquire);
    if last != 0 && signed.size <= last.saturating_add(1) {
        return Ok(());
    }
    let fact = cphar_registry::ServiceEvent::CheckpointSigned {
        tree_size: signed.size,
        root_hash: cphar_crypto::b64::encode(&signed.root),
    };
    s.node.registry.record(&[fact], "registry").await?;
    s.tree.recorded.fetch_max(signed.size, Ordering::AcqRel);
    Ok(())
}

/// Brings the tree up to the log's current size and runs `f` on it.
async fn with_tree<T>(
    s: &AppState,
    f: impl FnOnce(&MemoryTree) -> Result<T, Problem>,
) -> Result<T, Problem> {
    let mut tree = s.tree.tree.lock().await;
    loop {
        let page = s
            .node
            .registry
            .store()
            .audit_entries(tree.size(), 10_000)
            .await?;
        if page.is_empty() {
            break;
        }
        for (seq, line) in page {
            if seq != tree.size() {
                return Err(Problem::unavailable(
                    ApiCode::AuditLogInconsistent,
                    format!("entry {seq} out of order"),
                ));
            }
            tree.push(line.as_bytes());
        }
    }
    f(&tree)
}

fn sign(s: &AppState, tree: &MemoryTree) -> Result<Signed, Problem> {
    let identity = s
        .node
        .identity
        .as_ref()
        .ok_or_else(|| Problem::new(ApiCode::IdentityUnavailable, "no identity key"))?;
    let now = s.now()?;
    let note = transparency::sign(
        &transparency::origin(&s.host),
        tree.size(),
        tree.root(),
        now,
        identity,
    )
    .map_err(|e| Problem::unavailable(ApiCode::CheckpointUnavailable, e))?;
    Ok(Signed {
        note,
        size: tree.size(),
        root: tree.root(),
    })
}

/// A signed checkpoint of the whole log.
pub async fn checkpoint(s: &AppState) -> Result<(String, u64), Problem> {
    s.ensure_operational()?;
    let signed = with_tree(s, |tree| sign(s, tree)).await?;
    record(s, &signed).await?;
    Ok((signed.note, signed.size))
}

/// An inclusion proof bundle for entry `seq`.
pub async fn inclusion(s: &AppState, seq: u64) -> Result<Value, Problem> {
    s.ensure_operational()?;
    let line = s
        .node
        .registry
        .store()
        .audit_entries(seq, 1)
        .await?
        .into_iter()
        .find(|(n, _)| *n == seq)
        .map(|(_, l)| l)
        .ok_or_else(|| Problem::new(ApiCode::NoSuchEntry, format!("the log has no entry {seq}")))?;
    let (bundle, signed) = with_tree(s, |tree| {
        let signed = sign(s, tree)?;
        transparency::inclusion_bundle(tree, seq, signed.size, &line, &signed.note)
            .map(|b| (b, signed))
            .map_err(|e| Problem::new(Code::Proof(e.code), e.message))
    })
    .await?;
    record(s, &signed).await?;
    Ok(bundle)
}

/// A consistency proof bundle from `old` entries to now.
pub async fn consistency(s: &AppState, old: u64) -> Result<Value, Problem> {
    s.ensure_operational()?;
    let (bundle, signed) = with_tree(s, |tree| {
        let signed = sign(s, tree)?;
        transparency::consistency_bundle(tree, old, signed.size, &signed.note)
            .map(|b| (b, signed))
            .map_err(|e| Problem::new(Code::Proof(e.code), e.message))
    })
    .await?;
    record(s, &signed).await?;
    Ok(bundle)
}
