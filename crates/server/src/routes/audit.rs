//! The audit log's routes: entries (confidential), leaf hashes, checkpoints, inclusion and
//! consistency proofs (public). Proofs stay checkable without the entries: the leaf hashes
//! and the public inclusion bundles carry the RFC 9162 leaf hash instead of the entry (see
//! [`crate::access`] for who reads what).

use crate::access::{MaybeAuth, View};
use crate::extract::{ApiPath, ApiQuery, Auth, Position};
use crate::schema::{Leaf, Leaves};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{ApiResult, S, ok};

/// `?from=&limit=`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    from: Option<Position>,
    limit: Option<u32>,
}

/// `GET /audit/entries?from=&limit=` (auditor, admin; an operator sees the entries it is the
/// actor of): the entries with sequence numbers `from .. from+limit` the caller may read, as
/// JSON Lines. Page on by the sequence numbers (`from` = last range end), not by line counts.
pub async fn audit_entries(
    State(s): S,
    Auth(c): Auth,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> ApiResult {
    let view = View::detail(&c)?;
    let entries = s
        .node
        .registry
        .store()
        .audit_entries(
            q.from.map_or(0, Position::get),
            q.limit.unwrap_or(1000).clamp(1, 10_000),
        )
        .await?;
    let mut body = String::new();
    for (_, line) in entries {
        if view.sees_entry(&line) {
            body.push_str(&line);
            body.push('\n');
        }
    }
    Ok(([(header::CONTENT_TYPE, "application/jsonl")], body).into_response())
}

/// `GET /audit/leaves?from=&limit=` (public): sequence numbers and RFC 9162 leaf hashes
/// (SHA-256 of `0x00 ‖ entry line`, base64url like the proof hashes) of the log's entries.
pub async fn audit_leaves(State(s): S, ApiQuery(q): ApiQuery<EntriesQuery>) -> ApiResult {
    let from = q.from.map_or(0, Position::get);
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let entries = s.node.registry.store().audit_entries(from, limit).await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|(seq, _)| seq.saturating_add(1)))
        .flatten();
    let leaves = entries
        .iter()
        .map(|(seq, line)| Leaf {
            sequence_number: *seq,
            leaf_hash: cphar_crypto::b64::encode(&cphar_tlog::leaf_hash(line.as_bytes())),
        })
        .collect();
    ok(json!(Leaves { leaves, next }))
}

/// `GET /audit/checkpoint`: a checkpoint of the current log signed by the identity key.
pub async fn audit_checkpoint(State(s): S) -> ApiResult {
    let (note, _) = crate::transparency::checkpoint(&s).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// `GET /audit/proof/{seq}`: an inclusion proof bundle against a fresh checkpoint. It names
/// the entry by its leaf hash; the entry itself is included only for a caller who may read it.
pub async fn audit_proof(
    State(s): S,
    MaybeAuth(c): MaybeAuth,
    ApiPath(seq): ApiPath<Position>,
) -> ApiResult {
    let mut bundle = crate::transparency::inclusion(&s, seq.get()).await?;
    let view = View::of(c.as_ref());
    let shown = bundle
        .get("entry")
        .and_then(|e| e.as_str())
        .is_some_and(|line| view.sees_entry(line));
    if !shown && let Some(obj) = bundle.as_object_mut() {
        obj.remove("entry");
    }
    ok(bundle)
}

/// `?from=`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: Position,
}

/// `GET /audit/consistency?from=M`: a consistency proof bundle from size M to now.
pub async fn audit_consistency(State(s): S, ApiQuery(q): ApiQuery<ConsistencyQuery>) -> ApiResult {
    ok(crate::transparency::consistency(&s, q.from.get()).await?)
}
