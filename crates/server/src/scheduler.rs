//! Background maintenance of a running server, once per second:
//!
//! * validates the trusted clock and records every adjustment, rollback and tolerance breach
//!   in the audit log (SS-5);
//! * challenges seals that expose a network transport when their attestation is due;
//! * closes the attestation cycle of seals whose last good attestation is older than the
//!   cadence (Attested → Sealed: the lot is then reported `attestation_overdue`);
//! * revokes bindings whose TFP-1 re-enrollment window has closed;
//! * forgets expired challenges.

use crate::state::AppState;
use cphar_integrity::ClockEvent;
use cphar_protocol::Timestamp;
use cphar_registry::event::{EventType, RegistryEvent};
use cphar_registry::{ChangeSet, SealState, Store};
use std::sync::Arc;
use std::time::Duration;

/// Runs until aborted.
pub async fn run(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seconds: u64 = 0;
    loop {
        ticker.tick().await;
        seconds += 1;
        if state.node.clock.validation_due() {
            record_clock_events(&state, state.node.clock.validate()).await;
        }
        let Ok(now) = state.now() else { continue };
        let _ = state
            .node
            .registry
            .store()
            .purge_challenges(nanos(now))
            .await;
        let every = state.config.scheduler_interval_seconds;
        if every > 0 && seconds.is_multiple_of(every) {
            let _ = crate::agent::attest_due(&state).await;
            let _ = close_overdue_cycles(&state, now).await;
            let _ = state.node.registry.expire_reenrollments("scheduler").await;
        }
    }
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

/// Appends the clock's events to the audit log.
pub async fn record_clock_events(state: &AppState, events: Vec<ClockEvent>) {
    if events.is_empty() {
        return;
    }
    let records: Vec<RegistryEvent> = events
        .iter()
        .map(|e| {
            let kind = match e {
                ClockEvent::Adjusted(_) => EventType::ClockAdjusted,
                ClockEvent::RollbackDetected { .. } => EventType::ClockRollbackDetected,
                ClockEvent::OutOfTolerance { .. } => EventType::ClockOutOfTolerance,
                ClockEvent::Recovered { .. } => EventType::ClockRecovered,
            };
            let at = Timestamp::from_unix_nanos(e.at_nanos()).unwrap_or_else(Timestamp::now_utc);
            RegistryEvent {
                event_type: kind,
                subject: "clock".into(),
                actor: "registry".into(),
                at,
                reason_code: matches!(e, ClockEvent::OutOfTolerance { .. })
                    .then(|| "clock_out_of_tolerance".to_owned()),
                data: e.to_json(),
            }
        })
        .collect();
    // Out of tolerance, the signing guard refuses: the breach is recorded once the clock is
    // back (the Recovered event follows it in the same change set then).
    let _ = state
        .node
        .registry
        .store()
        .apply(ChangeSet {
            events: records,
            ..ChangeSet::default()
        })
        .await;
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
