#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The trusted clock against an injected time source.

use std::sync::Arc;
use std::time::Duration;

use cphar_integrity::clock::{
    AdjustMethod, Adjustment, ClockConfig, ClockError, ClockEvent, ManualTimeSource, TrustedClock,
};
use cphar_integrity::selftest::SelfTestOptions;
use cphar_integrity::state::ModuleState;
use cphar_integrity::{ModuleError, signing_time};
use proptest::prelude::*;

/// 2023-11-14T22:13:20Z.
const T0: i128 = 1_700_000_000_000_000_000;
const MS: i128 = 1_000_000;
const SEC: i128 = 1_000_000_000;
const TOL: i128 = 100 * MS;

fn setup() -> (Arc<ManualTimeSource>, TrustedClock) {
    let source = Arc::new(ManualTimeSource::new(T0, 5_000));
    let clock = TrustedClock::new(source.clone(), ClockConfig::default()).unwrap();
    (source, clock)
}

fn adjustments(events: &[ClockEvent]) -> Vec<Adjustment> {
    events
        .iter()
        .filter_map(|e| match e {
            ClockEvent::Adjusted(a) => Some(*a),
            _ => None,
        })
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn starts_at_the_wall_clock_and_follows_the_monotonic_clock() {
    let (source, clock) = setup();
    assert_eq!(clock.now_nanos(), T0);
    source.advance(secs(1));
    assert_eq!(clock.now_nanos(), T0 + SEC);
    // Frozen source: strictly increasing by 1 ns.
    assert_eq!(clock.now_nanos(), T0 + SEC + 1);
    assert_eq!(clock.now().unwrap().unix_nanos(), T0 + SEC + 2);
    // The +1 ns bumps are not drift.
    assert!(clock.validate().is_empty());
    assert_eq!(clock.status().last_drift_nanos, Some(0));
}

#[test]
fn system_clock_stepping_back_10s_never_moves_readings_back() {
    let (source, clock) = setup();
    source.advance(secs(1));
    assert!(adjustments(&clock.validate()).is_empty());
    let before = clock.now_nanos();

    source.step_wall(-10 * SEC);
    source.advance(Duration::from_millis(1));
    let after = clock.now_nanos();
    assert!(after > before);
    assert_eq!(after, before + MS, "readings follow the monotonic clock");

    let events = clock.validate();
    assert_eq!(events.len(), 2, "{events:?}");
    match events[0] {
        ClockEvent::RollbackDetected {
            previous_wall_nanos,
            wall_nanos,
            ..
        } => assert_eq!(previous_wall_nanos - wall_nanos, 10 * SEC - MS),
        other => panic!("{other:?}"),
    }
    assert!(matches!(events[1], ClockEvent::OutOfTolerance { .. }));
    assert_eq!(events[0].to_json()["type"], "clock_rollback_detected");
    // No adjustment follows a wall clock that is out of tolerance.
    assert!(adjustments(&events).is_empty());
    let mut last = clock.now_nanos();
    for _ in 0..1000 {
        source.advance(Duration::from_micros(10));
        let t = clock.now_nanos();
        assert!(t > last);
        last = t;
    }
}

#[test]
fn small_backward_drift_is_slewed_not_stepped() {
    let (source, clock) = setup();
    source.advance(secs(1));
    clock.validate();
    source.step_wall(-50 * MS);
    let before = clock.now_nanos();
    let events = clock.validate();
    assert!(matches!(events[0], ClockEvent::RollbackDetected { .. }));
    let adj = adjustments(&events);
    assert_eq!(adj.len(), 1);
    assert_eq!(adj[0].method, AdjustMethod::Slew);
    assert_eq!(adj[0].by_nanos, -50 * MS);
    assert_eq!(adj[0].step_nanos, 0);
    assert_eq!(adj[0].pending_slew_nanos, 50 * MS);
    assert!(adj[0].at_nanos >= before);
    assert!(
        clock.now_for_signing().is_ok(),
        "within tolerance: signing goes on"
    );

    // While slewing, the clock runs at 0.9 of real time: 250 ms real → 225 ms trusted.
    let mut last = clock.now_nanos();
    for _ in 0..250 {
        source.advance(Duration::from_millis(1));
        let t = clock.now_nanos();
        assert!(t > last, "never backwards while slewing");
        last = t;
    }
    assert_eq!(last, T0 + SEC + 225 * MS);
    assert_eq!(clock.status().pending_slew_nanos, 25 * MS);
    // After the remaining 25 ms are absorbed, the clock agrees with the wall clock again.
    source.advance(Duration::from_millis(250));
    assert_eq!(clock.status().pending_slew_nanos, 0);
    source.advance(secs(1));
    let events = clock.validate();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(clock.status().last_drift_nanos, Some(0));
}

#[test]
fn repeated_validation_during_a_slew_does_not_double_count() {
    let (source, clock) = setup();
    source.step_wall(-80 * MS);
    let adj = adjustments(&clock.validate());
    assert_eq!(adj[0].by_nanos, -80 * MS);
    for _ in 0..9 {
        source.advance(Duration::from_millis(100));
        // The target already accounts for the pending slew: nothing new to adjust.
        assert!(adjustments(&clock.validate()).is_empty());
    }
    assert_eq!(clock.status().last_drift_nanos, Some(0));
}

#[test]
fn small_forward_drift_is_stepped() {
    let (source, clock) = setup();
    source.advance(secs(1));
    source.step_wall(30 * MS);
    let before = clock.now_nanos();
    let events = clock.validate();
    let adj = adjustments(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(adj[0].method, AdjustMethod::Step);
    assert_eq!(adj[0].by_nanos, 30 * MS);
    assert_eq!(adj[0].step_nanos, 30 * MS);
    assert_eq!(adj[0].drift_nanos, 30 * MS);
    assert_eq!(adj[0].period_total_nanos, 30 * MS);
    let after = clock.now_nanos();
    assert_eq!(after, T0 + SEC + 30 * MS);
    assert!(after > before + 30 * MS - 1);
    let json = events[0].to_json();
    assert_eq!(json["type"], "clock_adjusted");
    assert_eq!(json["method"], "step");
    assert_eq!(json["byNanos"], 30_000_000);
    assert_eq!(json["toleranceNanos"], 100_000_000);
    assert_eq!(json["wall"], "2023-11-14T22:13:21.03Z");
    assert_eq!(json["at"], "2023-11-14T22:13:21Z");
}

#[test]
fn adjustments_are_bounded_per_validation_period() {
    let (source, clock) = setup();
    source.step_wall(80 * MS);
    assert_eq!(adjustments(&clock.validate())[0].by_nanos, 80 * MS);
    // Same period: only 20 ms of budget left.
    source.step_wall(80 * MS);
    let adj = adjustments(&clock.validate());
    assert_eq!(adj[0].by_nanos, 20 * MS);
    assert_eq!(adj[0].period_total_nanos, TOL);
    // Budget exhausted: no adjustment at all, the drift stays.
    source.advance(Duration::from_millis(10));
    assert!(clock.validate().is_empty());
    assert_eq!(clock.status().last_drift_nanos, Some(60 * MS));
    assert_eq!(clock.status().period_used_nanos, TOL);
    // Next period: the rest.
    source.advance(secs(1));
    let adj = adjustments(&clock.validate());
    assert_eq!(adj[0].by_nanos, 60 * MS);
    assert_eq!(adj[0].period_total_nanos, 60 * MS);
    source.advance(secs(1));
    assert!(clock.validate().is_empty());
    assert_eq!(clock.status().last_drift_nanos, Some(0));
}

#[test]
fn large_forward_jump_refuses_signing_until_recovered() {
    let (source, clock) = setup();
    let state = ModuleState::new();
    let options = SelfTestOptions {
        binary_path: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").into()),
        ..SelfTestOptions::default()
    };
    let report = cphar_integrity::run_power_on_self_tests(&options);
    state.complete_self_tests(&report).unwrap();
    source.advance(secs(1));
    assert!(signing_time(&state, &clock).is_ok());

    source.step_wall(10 * SEC);
    let before = clock.now_nanos();
    let events = clock.validate();
    assert_eq!(events.len(), 1);
    match events[0] {
        ClockEvent::OutOfTolerance {
            drift_nanos,
            tolerance_nanos,
            ..
        } => {
            assert!(drift_nanos > 9 * SEC);
            assert_eq!(tolerance_nanos, TOL);
        }
        other => panic!("{other:?}"),
    }
    let err = clock.now_for_signing().unwrap_err();
    assert_eq!(err.reason_code(), "clock_out_of_tolerance");
    assert!(matches!(err, ClockError::OutOfTolerance { .. }));
    let err = signing_time(&state, &clock).unwrap_err();
    assert_eq!(err.reason_code(), "clock_out_of_tolerance");
    assert!(matches!(err, ModuleError::Clock(_)));
    assert!(clock.now_nanos_for_signing().is_err());
    assert!(clock.status().out_of_tolerance);
    // The trusted clock did not follow the jump.
    assert!(clock.now_nanos() < before + SEC);
    // Still out: no repeated event, still refusing.
    source.advance(secs(1));
    assert!(clock.validate().is_empty());
    assert!(clock.now_for_signing().is_err());

    // The wall clock comes back: recovered, signing resumes; the module state is untouched.
    source.step_wall(-10 * SEC);
    let events = clock.validate();
    let types: Vec<_> = events.iter().map(ClockEvent::event_type).collect();
    assert_eq!(types, ["clock_rollback_detected", "clock_recovered"]);
    assert!(!clock.status().out_of_tolerance);
    assert!(clock.now_for_signing().is_ok());
    assert!(signing_time(&state, &clock).is_ok());
    assert!(state.is_ready());
}

#[test]
fn large_backward_jump_refuses() {
    let (source, clock) = setup();
    source.advance(secs(3));
    source.step_wall(-TOL - 1);
    let types: Vec<_> = clock
        .validate()
        .iter()
        .map(ClockEvent::event_type)
        .collect();
    // The wall clock moved forward overall (3 s), so this is not a rollback, only drift.
    assert_eq!(types, ["clock_out_of_tolerance"]);
    assert_eq!(
        clock.now_for_signing().unwrap_err().reason_code(),
        "clock_out_of_tolerance"
    );
    // Exactly at the tolerance is within it.
    source.step_wall(1);
    let types: Vec<_> = clock
        .validate()
        .iter()
        .map(ClockEvent::event_type)
        .collect();
    assert_eq!(types, ["clock_recovered", "clock_adjusted"]);
}

#[test]
fn slow_wall_clock_is_followed_by_slewing_within_tolerance() {
    let (source, clock) = setup();
    let mut last = clock.now_nanos();
    for _ in 0..30 {
        // The wall clock runs 5 % slow.
        source.advance(Duration::from_millis(950));
        source.advance_monotonic(Duration::from_millis(50));
        for a in adjustments(&clock.validate()) {
            assert_eq!(a.method, AdjustMethod::Slew);
            assert!(a.by_nanos.abs() <= TOL);
            assert!(a.period_total_nanos <= TOL);
        }
        assert!(clock.now_for_signing().is_ok());
        let t = clock.now_nanos();
        assert!(t > last);
        last = t;
    }
}

#[test]
fn strictly_monotonic_over_a_million_calls() {
    let (_source, clock) = setup();
    let mut last = clock.now_nanos();
    for _ in 0..1_000_000 {
        let t = clock.now_nanos();
        assert!(t > last);
        last = t;
    }
    let clock = TrustedClock::system(ClockConfig::default()).unwrap();
    let mut last = clock.now_nanos();
    for _ in 0..1_000_000 {
        let t = clock.now_nanos();
        assert!(t > last);
        last = t;
    }
}

#[test]
fn strictly_increasing_across_eight_threads() {
    let clock = Arc::new(TrustedClock::system(ClockConfig::default()).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let clock = Arc::clone(&clock);
            std::thread::spawn(move || {
                let mut seen = Vec::with_capacity(100_000);
                for i in 0..100_000 {
                    if i % 10_000 == 0 {
                        clock.validate();
                    }
                    seen.push(clock.now_nanos());
                }
                seen
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        let seen = h.join().unwrap();
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "per-thread order");
        all.extend(seen);
    }
    // One total order: no value was handed out twice.
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n);
    assert!(clock.now_nanos() > *all.last().unwrap());
}

#[test]
fn validate_against_an_external_reference() {
    let (source, clock) = setup();
    source.advance(secs(1));
    let adj = adjustments(&clock.validate_against(T0 + SEC + 40 * MS));
    assert_eq!(adj[0].by_nanos, 40 * MS);
    assert_eq!(adj[0].wall_nanos, T0 + SEC + 40 * MS);
    let events = clock.validate_against(T0);
    assert_eq!(events[0].event_type(), "clock_rollback_detected");
    assert_eq!(events[1].event_type(), "clock_out_of_tolerance");
}

#[test]
fn validation_due_once_per_period() {
    let (source, clock) = setup();
    assert!(!clock.validation_due());
    source.advance(Duration::from_millis(999));
    assert!(!clock.validation_due());
    source.advance(Duration::from_millis(1));
    assert!(clock.validation_due());
    clock.validate();
    assert!(!clock.validation_due());
}

#[test]
fn invalid_configurations_are_refused() {
    let source = Arc::new(ManualTimeSource::new(T0, 0));
    let zero = ClockConfig {
        validation_period: Duration::ZERO,
        tolerance: Duration::ZERO,
        min_adjustment: Duration::ZERO,
    };
    let err = TrustedClock::new(source.clone(), zero).unwrap_err();
    assert_eq!(err.reason_code(), "clock_invalid_config");
    let wide = ClockConfig {
        validation_period: secs(1),
        tolerance: secs(1),
        min_adjustment: Duration::ZERO,
    };
    assert!(matches!(
        TrustedClock::new(source.clone(), wide),
        Err(ClockError::InvalidConfig(_))
    ));
    let dead = ClockConfig {
        min_adjustment: secs(1),
        ..ClockConfig::default()
    };
    assert!(matches!(
        TrustedClock::new(source, dead),
        Err(ClockError::InvalidConfig(_))
    ));
    let out = Arc::new(ManualTimeSource::new(i128::MAX, 0));
    assert_eq!(
        TrustedClock::new(out, ClockConfig::default())
            .unwrap_err()
            .reason_code(),
        "clock_out_of_range"
    );
}

#[test]
fn event_json_is_i_json_safe() {
    let (source, clock) = setup();
    // A year forward: the drift does not fit 2^53 ns and is saturated; time points stay exact.
    source.step_wall(365 * 86_400 * SEC);
    let events = clock.validate();
    let json = events[0].to_json();
    assert_eq!(json["type"], "clock_out_of_tolerance");
    assert_eq!(json["driftNanos"], 9_007_199_254_740_991_i64);
    assert_eq!(json["wall"], "2024-11-13T22:13:20Z");
    assert_eq!(json["at"], "2023-11-14T22:13:20Z");
    source.step_wall(-365 * 86_400 * SEC);
    let events = clock.validate();
    let json = events[0].to_json();
    assert_eq!(json["type"], "clock_rollback_detected");
    assert_eq!(json["backwardsByNanos"], 9_007_199_254_740_991_i64);
    assert_eq!(json["previousWall"], "2024-11-13T22:13:20Z");
    assert_eq!(events[1].to_json()["type"], "clock_recovered");
    assert_eq!(events[1].to_json()["driftNanos"], 0);
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    AdvanceMonotonic(u64),
    StepWall(i64),
    Validate,
    Now,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..2_000_000_000).prop_map(Op::Advance),
        (0u64..200_000_000).prop_map(Op::AdvanceMonotonic),
        (-300_000_000i64..300_000_000).prop_map(Op::StepWall),
        Just(Op::Validate),
        Just(Op::Now),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the wall clock does: readings strictly increase, every adjustment and every
    /// period's total stay within the tolerance, forward steps are the only jumps, and signing
    /// is refused exactly while the last validation was out of tolerance.
    #[test]
    fn invariants_hold(ops in proptest::collection::vec(op(), 1..200)) {
        let (source, clock) = setup();
        let mut last = clock.now_nanos();
        let mut refusing = false;
        for op in ops {
            match op {
                Op::Advance(n) => source.advance(Duration::from_nanos(n)),
                Op::AdvanceMonotonic(n) => source.advance_monotonic(Duration::from_nanos(n)),
                Op::StepWall(d) => source.step_wall(i128::from(d)),
                Op::Validate => {
                    for e in clock.validate() {
                        match e {
                            ClockEvent::Adjusted(a) => {
                                prop_assert!(a.by_nanos.abs() <= TOL);
                                prop_assert!(a.period_total_nanos <= TOL);
                                prop_assert!(a.step_nanos >= 0 && a.step_nanos <= a.by_nanos.max(0));
                                prop_assert!(a.pending_slew_nanos >= 0);
                            }
                            ClockEvent::OutOfTolerance { drift_nanos, .. } => {
                                prop_assert!(drift_nanos.abs() > TOL);
                                refusing = true;
                            }
                            ClockEvent::Recovered { drift_nanos, .. } => {
                                prop_assert!(drift_nanos.abs() <= TOL);
                                refusing = false;
                            }
                            ClockEvent::RollbackDetected { previous_wall_nanos, wall_nanos, .. } => {
                                prop_assert!(wall_nanos < previous_wall_nanos);
                            }
                        }
                    }
                }
                Op::Now => {}
            }
            prop_assert_eq!(clock.status().out_of_tolerance, refusing);
            match clock.now_nanos_for_signing() {
                Ok(t) => {
                    prop_assert!(!refusing);
                    prop_assert!(t > last);
                    last = t;
                }
                Err(e) => {
                    prop_assert!(refusing);
                    prop_assert_eq!(e.reason_code(), "clock_out_of_tolerance");
                }
            }
            let t = clock.now_nanos();
            prop_assert!(t > last);
            last = t;
        }
    }
}

#[test]
fn corrections_below_the_dead_band_are_not_made() {
    let (source, clock) = setup();
    source.advance(secs(1));
    source.step_wall(MS / 2);
    assert!(clock.validate().is_empty());
    assert_eq!(clock.status().last_drift_nanos, Some(MS / 2));
    source.step_wall(MS);
    let adj = adjustments(&clock.validate());
    assert_eq!(adj[0].by_nanos, 3 * MS / 2);
}
