//! The audit log's routes: entries, checkpoints, inclusion and consistency proofs.

use crate::extract::{ApiPath, ApiQuery, Position};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::{ApiResult, S, ok};

/// `?from=&limit=`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    from: Option<Position>,
    limit: Option<u32>,
}

/// `GET /audit/entries?from=&limit=`: the audit log as JSON Lines.
pub async fn audit_entries(State(s): S, ApiQuery(q): ApiQuery<EntriesQuery>) -> ApiResult {
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
        body.push_str(&line);
        body.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/jsonl")], body).into_response())
}

/// `GET /audit/checkpoint`: a checkpoint of the current log signed by the identity key.
pub async fn audit_checkpoint(State(s): S) -> ApiResult {
    let (note, _) = crate::transparency::checkpoint(&s).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// `GET /audit/proof/{seq}`: an inclusion proof bundle against a fresh checkpoint.
pub async fn audit_proof(State(s): S, ApiPath(seq): ApiPath<Position>) -> ApiResult {
    ok(crate::transparency::inclusion(&s, seq.get()).await?)
}

/// `?from=`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: Position,
}

/// `GET /audit/consistency?from=M`: a consistency proof bundle from size M to now.
pub async fn audit_consistency(State(s): S, ApiQuery(q): ApiQuery<ConsistencyQuery>) -> ApiResult {
    ok(crate::transparency::consistency(&s, q.from.get()).await?)
}
