//! Refused RFC 3161 queries, aggregated. `POST /tsa` is anonymous: writing one audit entry per
//! refused query would let anyone grow the audit log at line rate. Refusals are counted in
//! `/metrics` (`cphar_decisions_total{kind="tsa"}`) and in a tally here, and the tally is
//! written as **one** `timestamp_refused` entry per period ([`PERIOD`]) with the counts by
//! failure code (`{"since", "until", "refused": {"badDataFormat": 12, …}}`). Granted tokens
//! are still audited one by one, before they leave.
//!
//! A failed write puts the counts back, so they are written with the next period's.

use crate::state::AppState;
use cphar_protocol::Timestamp;
use cphar_registry::service_event::ServiceEvent;
use parking_lot::Mutex;
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

/// Writes the tally as one `timestamp_refused` entry, if anything was refused. Without a
/// trusted time, or when the write fails, the counts stay for the next attempt.
pub async fn flush(s: &AppState) -> Result<bool, crate::problem::Problem> {
    let Some((since, counts)) = s.tsa_refusals.take() else {
        return Ok(false);
    };
    let fact = ServiceEvent::TimestampsRefused {
        since,
        counts: counts.iter().map(|(c, n)| (c.clone(), *n)).collect(),
    };
    if let Err(e) = s.node.registry.record(&[fact], "tsa").await {
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
