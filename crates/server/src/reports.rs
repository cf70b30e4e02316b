//! Reserve reports in the server: the in-process TSA as the registry's report timestamper,
//! publishing (for `POST /reports` and the scheduler), and the proof trees of recent reports.
//!
//! Proofs need the whole sum tree of a report. The trees of the last [`CACHED_TREES`] reports
//! asked about are kept in memory; any other is built from its stored leaves (publishing
//! keeps no copy of them: the report's leaves are moved into its write), one build at a
//! time, each charged to the caller's allowance ([`AppState::limit_client`]) on top of the
//! request itself, and checked against the report's stored `sumRoot` before it serves
//! anything.

use crate::problem::{ApiCode, Problem};
use crate::state::AppState;
use cphar_registry::reports::{IssuedTimestamp, PublishedReport, ReportTimestamper};
use cphar_registry::{Refusal, RefusalCode, ServiceEvent};
use cphar_report::SumTree;
use cphar_tsa::{FailureInfo, HashAlg, MessageImprint, make_request, parse_response};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

/// Sum trees kept in memory.
pub const CACHED_TREES: usize = 4;

/// Leaves read per page when a tree is rebuilt.
const LEAF_PAGE: u32 = 10_000;

/// The sum trees of recent reports.
#[derive(Default)]
pub struct ReportCache {
    trees: Mutex<VecDeque<(u64, Arc<SumTree>)>>,
    /// One rebuild at a time.
    rebuild: tokio::sync::Mutex<()>,
}

impl ReportCache {
    /// The tree of report `number`, if cached.
    pub fn get(&self, number: u64) -> Option<Arc<SumTree>> {
        self.trees
            .lock()
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, t)| Arc::clone(t))
    }

    /// Caches the tree of report `number` (the oldest one leaves).
    pub fn insert(&self, number: u64, tree: Arc<SumTree>) {
        let mut trees = self.trees.lock();
        trees.retain(|(n, _)| *n != number);
        trees.push_back((number, tree));
        while trees.len() > CACHED_TREES {
            trees.pop_front();
        }
    }
}

/// The in-process TSA, asked for a token over a report's imprint exactly as `POST /tsa` would
/// be (same signer, serials, trusted clock, refusals in the error state or without time).
pub struct ReportTsa<'a>(pub &'a AppState);

impl ReportTimestamper for ReportTsa<'_> {
    fn timestamp(&self, imprint: &[u8; 32]) -> Result<IssuedTimestamp, Refusal> {
        let s = self.0;
        let fail = |what: String| Refusal::new(RefusalCode::ReportTimestampUnavailable, what);
        let imprint = MessageImprint::from_digest(HashAlg::Sha256, imprint)
            .map_err(|e| fail(e.to_string()))?;
        let request = make_request(&imprint, None, true, None).map_err(|e| fail(e.to_string()))?;
        let now = match (
            s.node.module.ensure_operational(),
            s.node.clock.now_nanos_for_signing(),
        ) {
            (Err(_), _) => Err(FailureInfo::SystemFailure),
            (_, Err(_)) => Err(FailureInfo::TimeNotAvailable),
            (Ok(()), Ok(n)) => Ok(n),
        };
        let issued = s
            .tsa
            .answer(&request, now)
            .map_err(|_| fail("the TSA has no trusted time or is in its error state".into()))?;
        let cphar_tsa::Outcome::Granted { serial, gen_time } = issued.outcome else {
            return Err(fail(
                "the TSA refused the report's timestamp request".into(),
            ));
        };
        let token = parse_response(&issued.response)
            .ok()
            .and_then(|r| r.token)
            .ok_or_else(|| fail("the TSA answer carries no token".into()))?;
        s.metrics.decision("tsa", "granted");
        Ok(IssuedTimestamp {
            token_der: token,
            fact: ServiceEvent::TimestampIssued {
                serial: format!("{serial:x}"),
                gen_time: gen_time.to_string(),
            },
        })
    }
}

/// Publishes the next report as `actor` and caches its proof tree.
pub async fn publish(s: &Arc<AppState>, actor: &str) -> Result<PublishedReport, Problem> {
    s.ensure_operational()?;
    let published = s
        .node
        .registry
        .publish_report(
            s.report_key.as_ref(),
            &ReportTsa(s),
            &s.config.report_settings(),
            actor,
        )
        .await
        .map_err(|e| {
            s.metrics.decision("report", e.code());
            let mut p = Problem::from(e);
            if p.code.as_str() == RefusalCode::ReportTooSoon.as_str() {
                p.retry_after = Some(1);
            }
            p
        })?;
    s.metrics.decision("report", "published");
    Ok(published)
}

/// The sum tree of stored report `number` (cached, or rebuilt from its leaves and checked).
pub async fn tree(
    s: &AppState,
    number: u64,
    sum_root: &str,
    peer: Option<std::net::SocketAddr>,
) -> Result<Arc<SumTree>, Problem> {
    if let Some(tree) = s.reports.get(number) {
        return Ok(tree);
    }
    s.limit_client(peer)?;
    let _one = s.reports.rebuild.lock().await;
    if let Some(tree) = s.reports.get(number) {
        return Ok(tree);
    }
    let store = s.node.registry.store();
    let mut leaves = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = cphar_registry::Store::report_leaves(store, number, after.as_deref(), LEAF_PAGE)
            .await?;
        let full = page.len() == LEAF_PAGE as usize;
        for (lot_id, text) in page {
            let leaf = cphar_report::parse_leaf(text.as_bytes(), leaves.len() as u64)
                .map_err(|e| Problem::unavailable(ApiCode::StorageError, e))?;
            leaves.push(leaf);
            after = Some(lot_id);
        }
        if !full {
            break;
        }
    }
    let tree = tokio::task::spawn_blocking(move || SumTree::new(leaves))
        .await
        .map_err(|e| Problem::unavailable(ApiCode::StorageError, e))?
        .map_err(|e| Problem::unavailable(ApiCode::StorageError, e))?;
    if cphar_crypto::hex(&tree.summary().sum_root) != sum_root {
        return Err(Problem::unavailable(
            ApiCode::StorageError,
            format!("the stored leaves of report {number} do not give its sum root"),
        ));
    }
    let tree = Arc::new(tree);
    s.reports.insert(number, Arc::clone(&tree));
    Ok(tree)
}
