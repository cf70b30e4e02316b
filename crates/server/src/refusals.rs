//! Refused RFC 3161 queries, aggregated. `POST /tsa` is anonymous: writing one audit entry per
//! refused query would let anyone grow the audit log at line rate. Refusals are counted in
//! `/metrics` (`cphar_decisions_total{kind="tsa"}`) and in a tally here, and the tally is
//! written as **one** `timestamp_refused` entry per period ([`PERIOD`]) with the counts by
//! failure code (`{"from", "to", "total", "counts": {"badDataFormat": 12, …}}`). Granted
//! tokens are still audited one by one, before they leave.
//!
//! A failed write puts the counts back, so they are written with the next period's.

use crate::state::AppState;
use cphar_protocol::Timestamp;
use cphar_registry::event::{EventType, RegistryEvent};
use cphar_registry::{ChangeSet, Store};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How often the tally is written (when it is not empty).
pub const PERIOD: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Default)]
struct Tally {
    since: Option<Timestamp>,
    counts: BTreeMap<String, u64>,
}

/// Refusals counted since the last audit entry.
#[derive(Default)]
pub struct RefusalTally {
    inner: Mutex<Tally>,
}

impl RefusalTally {
    /// Counts one refusal with failure code `code` (the trusted clock's reading, which works
    /// out of tolerance too, dates the first of a period).
    pub fn count(&self, code: &str, clock: &cphar_integrity::TrustedClock) {
        let mut t = self.inner.lock();
        if t.since.is_none() {
            t.since = Some(clock.now().unwrap_or_else(|_| Timestamp::now_utc()));
        }
        let n = t.counts.entry(code.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
    }

    fn take(&self) -> Option<(Timestamp, BTreeMap<String, u64>)> {
        let mut t = self.inner.lock();
        let since = t.since.take()?;
        Some((since, std::mem::take(&mut t.counts)))
    }

    fn restore(&self, since: Timestamp, counts: BTreeMap<String, u64>) {
        let mut t = self.inner.lock();
        t.since = Some(t.since.map_or(since, |s| s.min(since)));
        for (code, n) in counts {
            let c = t.counts.entry(code).or_insert(0);
            *c = c.saturating_add(n);
        }
    }
}

/// The `eventData` of an aggregated entry.
fn data(since: Timestamp, to: Timestamp, counts: &BTreeMap<String, u64>) -> Value {
    let total: u64 = counts.values().fold(0, |a, n| a.saturating_add(*n));
    json!({"from": since.to_string(), "to": to.to_string(), "total": total, "counts": counts})
}

/// Writes the tally as one `timestamp_refused` entry, if anything was refused. Without a
/// trusted time, or when the write fails, the counts stay for the next attempt.
pub async fn flush(s: &AppState) -> Result<bool, crate::problem::Problem> {
    let Some((since, counts)) = s.tsa_refusals.take() else {
        return Ok(false);
    };
    let at = match s.now() {
        Ok(at) => at,
        Err(p) => {
            s.tsa_refusals.restore(since, counts);
            return Err(p);
        }
    };
    let event = RegistryEvent {
        event_type: EventType::TimestampRefused,
        subject: "tsa".into(),
        actor: "tsa".into(),
        at,
        reason_code: None,
        data: data(since, at, &counts),
    };
    let result = s
        .node
        .registry
        .store()
        .apply(ChangeSet {
            events: vec![event],
            ..ChangeSet::default()
        })
        .await;
    if let Err(e) = result {
        s.tsa_refusals.restore(since, counts);
        return Err(e.into());
    }
    Ok(true)
}

/// Writes the tally every [`PERIOD`] until the task is aborted.
pub async fn run(s: std::sync::Arc<AppState>) {
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        // A failure is counted and retried at the next tick (the counts are kept).
        if flush(&s).await.is_err() {
            s.metrics.audit_write_failures.inc();
        }
    }
}
