//! Checkpoints and proofs served over HTTP. The server keeps the Merkle tree of the audit log
//! in memory and extends it with the entries appended since it last looked (by any process).

use crate::problem::{ApiCode, Code, Problem};
use crate::state::AppState;
use cphar_audit::transparency;
use cphar_tlog::MemoryTree;
use serde_json::Value;

/// The in-memory tree, shared by the handlers.
#[derive(Default)]
pub struct TreeCache {
    tree: tokio::sync::Mutex<MemoryTree>,
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

fn sign(s: &AppState, tree: &MemoryTree) -> Result<(String, u64), Problem> {
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
    Ok((note, tree.size()))
}

/// A signed checkpoint of the whole log.
pub async fn checkpoint(s: &AppState) -> Result<(String, u64), Problem> {
    s.ensure_operational()?;
    with_tree(s, |tree| sign(s, tree)).await
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
    with_tree(s, |tree| {
        let (note, size) = sign(s, tree)?;
        transparency::inclusion_bundle(tree, seq, size, &line, &note)
            .map_err(|e| Problem::new(Code::Proof(e.code), e.message))
    })
    .await
}

/// A consistency proof bundle from `old` entries to now.
pub async fn consistency(s: &AppState, old: u64) -> Result<Value, Problem> {
    s.ensure_operational()?;
    with_tree(s, |tree| {
        let (note, size) = sign(s, tree)?;
        transparency::consistency_bundle(tree, old, size, &note)
            .map_err(|e| Problem::new(Code::Proof(e.code), e.message))
    })
    .await
}
