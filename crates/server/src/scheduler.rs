//! Background work of a running server.
//!
//! The maintenance loop, once per second:
//! * validates the trusted clock and records every adjustment, rollback and tolerance breach
//!   in the audit log (SS-5);
//! * forgets expired challenges;
//!
//! and every `scheduler_interval_seconds` (on by default; 0 turns it off):
//! * closes the attestation cycle of seals whose last good attestation is older than the
//!   cadence (Attested → Sealed);
//! * takes lots whose evidence is older than the cadence plus its grace out of the active
//!   reserve set (the registry's [`cphar_registry::Registry::lapse_stale_lots`]);
//! * revokes bindings whose TFP-1 re-enrollment window has closed.
//!
//! The attestation loop, apart from it so that slow seals never delay the clock, challenges
//! the seals that expose a network transport when their attestation is due, with bounded
//! parallelism ([`crate::agent`]).
//!
//! The report loop (only with `report_interval_seconds` > 0; off by default) publishes a
//! reserve report when the latest one is at least that old, so servers sharing a database do
//! not each publish one per interval.
//!
//! A job that fails is logged and counted (`cphar_decisions_total{kind="scheduler"}`), never
//! silently dropped; the next round tries again.

use crate::state::AppState;
use cphar_integrity::ClockEvent;
use cphar_protocol::Timestamp;
use cphar_registry::{ClockFact, SealState, ServiceEvent};
use std::sync::Arc;
use std::time::Duration;

/// Runs the maintenance loop until aborted.
pub async fn run(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seconds: u64 = 0;
    let mut error_marked = false;
    loop {
        ticker.tick().await;
        seconds += 1;
        // In its error state the process signs nothing, so it cannot write the log itself:
        // it leaves a marker that the next healthy start records as `module_error`.
        if !error_marked && state.node.module.ensure_operational().is_err() {
            crate::node::leave_module_error_marker(
                &state.node.config.data_dir,
                &state.node.module.status().to_json(),
            );
            error_marked = true;
        }
        let events = if state.node.clock.validation_due() {
            state.node.clock.validate()
        } else {
            Vec::new()
        };
        // Also retries facts left by a failed write.
        record_clock_events(&state, events).await;
        if state.now().is_err() {
            continue;
        }
        report(
            &state,
            "purge_challenges",
            state.node.registry.purge_expired_challenges().await,
        );
        let every = state.config.scheduler_interval_seconds;
        if every > 0 && seconds.is_multiple_of(every) {
            if let Ok(now) = state.now() {
                report(
                    &state,
                    "close_cycles",
                    close_overdue_cycles(&state, now).await,
                );
            }
            report(
                &state,
                "lapse_stale_lots",
                state
                    .node
                    .registry
                    .lapse_stale_lots(&state.attestation, "scheduler")
                    .await,
            );
            report(
                &state,
                "expire_reenrollments",
                state.node.registry.expire_reenrollments("scheduler").await,
            );
        }
    }
}

/// Runs the attestation loop until aborted (nothing when the scheduler is off).
pub async fn run_attestations(state: Arc<AppState>) {
    let every = state.config.scheduler_interval_seconds;
    if every == 0 {
        return;
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(every));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match crate::agent::attest_due(&state).await {
            Ok((_, 0)) => {}
            Ok((tried, failed)) => {
                state.metrics.decision("scheduler", "attest_seal_failed");
                tracing::warn!(target: "cphar::scheduler", tried, failed, "seal attestations not recorded");
            }
            Err(e) => report::<()>(&state, "attest_seals", Err(e.detail)),
        }
    }
}

/// Runs the report loop until aborted (nothing when `report_interval_seconds` is 0).
pub async fn run_reports(state: Arc<AppState>) {
    let every = state.config.report_interval_seconds;
    if every == 0 {
        return;
    }
    let interval = i64::try_from(every).unwrap_or(i64::MAX);
    // Checked every minute at most, so a restart or a peer's report is noticed in time.
    let mut ticker = tokio::time::interval(Duration::from_secs(every.min(60)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Ok(now) = state.now() else { continue };
        let latest = cphar_registry::Store::report(state.node.registry.store(), None).await;
        let due = match &latest {
            Ok(None) => true,
            Ok(Some(r)) => {
                now.unix_nanos().saturating_sub(i128::from(r.generated_ns))
                    >= i128::from(interval).saturating_mul(1_000_000_000)
            }
            Err(_) => false,
        };
        if let Err(e) = latest {
            report::<()>(&state, "publish_report", Err(e));
        } else if due {
            report(
                &state,
                "publish_report",
                crate::reports::publish(&state, "scheduler")
                    .await
                    .map_err(|p| format!("{}: {}", p.code.as_str(), p.detail)),
            );
        }
    }
}

/// Logs and counts a failed job.
fn report<T>(state: &AppState, job: &str, result: Result<T, impl std::fmt::Display>) {
    if let Err(e) = result {
        state
            .metrics
            .decision("scheduler", &format!("{job}_failed"));
        tracing::warn!(target: "cphar::scheduler", job, error = %e, "scheduled job failed");
    }
}

/// Appends the clock's events to the audit log, after any fact still waiting from a failed
/// write. A breach of the tolerance is recorded as it is detected, dated by the trusted
/// reading at detection (the registry records facts that carry their own time while the clock
/// is out of tolerance); a failed write is retried every tick, counted, and fails `/ready`.
pub async fn record_clock_events(state: &AppState, events: Vec<ClockEvent>) -> bool {
    let facts: Vec<ServiceEvent> = events
        .iter()
        .map(|e| {
            let fact = match e {
                ClockEvent::Adjusted(_) => ClockFact::Adjusted,
                ClockEvent::RollbackDetected { .. } => ClockFact::RollbackDetected,
                ClockEvent::OutOfTolerance { .. } => ClockFact::OutOfTolerance,
                ClockEvent::Recovered { .. } => ClockFact::Recovered,
            };
            let at = Timestamp::from_unix_nanos(e.at_nanos()).unwrap_or_else(Timestamp::now_utc);
            ServiceEvent::Clock {
                fact,
                at,
                data: e.to_json(),
            }
        })
        .collect();
    state.record_facts(facts).await
}

/// Closes the cycle of every Attested seal not attested within the cadence.
pub async fn close_overdue_cycles(state: &AppState, now: Timestamp) -> Result<u64, String> {
    let cadence = time::Duration::seconds(
        i64::try_from(state.config.attestation_cadence_seconds).unwrap_or(i64::MAX),
    );
    let store = state.node.registry.store();
    let mut after: Option<String> = None;
    let mut closed = 0;
    loop {
        let page = store
            .seals_in_state(SealState::Attested.as_str(), after.as_deref(), 500)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = Some(last.uid.clone());
        for seal in &page {
            let overdue = seal.last_attested_at.is_none_or(|t| now.since(t) > cadence);
            if let (true, Some(lot)) = (overdue, &seal.lot_id)
                && state
                    .node
                    .registry
                    .close_cycle(lot, "scheduler")
                    .await
                    .is_ok()
            {
                closed += 1;
            }
        }
    }
    Ok(closed)
}
