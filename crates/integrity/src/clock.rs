//! Trusted time (seed 003 §4 SS-5, §6.2; seed 001 "Trusted time").
//!
//! This module owns the time the process puts into signatures and audit entries. The
//! guarantees, and how they are kept:
//!
//! * **Never backwards.** Readings come from a monotonic source: `now = anchor_trusted +
//!   (monotonic − anchor_mono) − slew_absorbed`, and each reading is forced strictly above
//!   the previous one (+1 ns when needed). Stepping the system (wall) clock back moves no
//!   reading; the next validation reports it ([`ClockEvent::RollbackDetected`]).
//! * **Validated.** [`TrustedClock::validate`] runs once per validation period (default 1 s;
//!   [`TrustedClock::validation_due`] says when). It compares the wall clock (or, with
//!   [`TrustedClock::validate_against`], another reference such as an NTS sample) with the
//!   trusted reading: `drift = wall − trusted`.
//! * **Refusing when out of tolerance.** If `|drift| > tolerance` (default 100 ms), the clock
//!   reports [`ClockEvent::OutOfTolerance`] once and [`TrustedClock::now_for_signing`] refuses
//!   with `clock_out_of_tolerance`; readings for audit entries ([`TrustedClock::now`]) go on.
//!   It recovers by itself ([`ClockEvent::Recovered`]) when a later validation finds the
//!   drift within tolerance again. If the wall clock was *right* to jump, the trusted clock
//!   will not follow (adjustments are bounded): bringing it back takes an operator restart,
//!   which re-anchors on the wall clock in a new audit epoch. That is SS-5's point: nobody can
//!   move the clock faster than the tolerance per period.
//! * **Bounded, audited adjustments.** Within tolerance, the clock is corrected toward the
//!   reference. The correction `c` aims at the clock's *target* (its reading once any slew in
//!   progress has finished), so repeated validations do not double-count: `c = drift +
//!   pending_slew`, clamped so that the sum of `|c|` over a validation period never exceeds
//!   the tolerance (the rest waits for the next period); corrections below
//!   [`ClockConfig::min_adjustment`] (default 1 ms) are not made. Each correction is an
//!   [`Adjustment`] in a [`ClockEvent::Adjusted`] for the audit log.
//!   * `c > 0` (the clock is behind): first cancel pending slew, then **step** the reading
//!     forward by the rest — forward steps are always safe.
//!   * `c < 0` (the clock is ahead): **slew** — never step back. The pending slew grows by
//!     `|c|` and is taken back by running the clock slower: while slew is pending, the
//!     reading advances at `1 − tolerance/period` of real time (0.9 by default), so at most
//!     `tolerance` is taken back per period and a correction of up to one tolerance is
//!     absorbed within one period. The reading still increases throughout.
//!
//! Readings are taken under one mutex, so all threads observe one strictly increasing
//! sequence. The time source is injected ([`TimeSource`]): [`SystemTimeSource`] in
//! production, [`ManualTimeSource`] in tests.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cphar_protocol::Timestamp;
use parking_lot::Mutex;
use serde_json::{Map, Value};

use crate::state::reason;

/// Where readings come from.
pub trait TimeSource: Send + Sync {
    /// Wall-clock time in nanoseconds since the Unix epoch (may jump either way).
    fn wall(&self) -> i128;
    /// Monotonic nanoseconds since an arbitrary origin (never decreases).
    fn monotonic(&self) -> u128;
}

/// [`SystemTime`] for the wall clock and [`Instant`] for the monotonic one.
#[derive(Debug, Clone, Copy)]
pub struct SystemTimeSource {
    origin: Instant,
}

impl SystemTimeSource {
    /// A source whose monotonic origin is now.
    #[must_use]
    pub fn new() -> Self {
        SystemTimeSource {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemTimeSource {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeSource for SystemTimeSource {
    fn wall(&self) -> i128 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
            Err(e) => i128::try_from(e.duration().as_nanos()).map_or(i128::MIN, |n| -n),
        }
    }

    fn monotonic(&self) -> u128 {
        self.origin.elapsed().as_nanos()
    }
}

/// A time source moved by hand (tests, drills, simulations).
#[derive(Debug)]
pub struct ManualTimeSource {
    /// (wall, monotonic)
    now: Mutex<(i128, u128)>,
}

impl ManualTimeSource {
    /// A source reading `wall` and `monotonic` until moved.
    #[must_use]
    pub fn new(wall: i128, monotonic: u128) -> Self {
        ManualTimeSource {
            now: Mutex::new((wall, monotonic)),
        }
    }

    /// Lets `d` pass on both clocks.
    pub fn advance(&self, d: Duration) {
        let n = d.as_nanos();
        let mut now = self.now.lock();
        now.0 = now.0.saturating_add(i128::try_from(n).unwrap_or(i128::MAX));
        now.1 = now.1.saturating_add(n);
    }

    /// Lets `d` pass on the monotonic clock only (the wall clock falls behind).
    pub fn advance_monotonic(&self, d: Duration) {
        let mut now = self.now.lock();
        now.1 = now.1.saturating_add(d.as_nanos());
    }

    /// Steps the wall clock by `delta` nanoseconds (negative: backwards).
    pub fn step_wall(&self, delta: i128) {
        let mut now = self.now.lock();
        now.0 = now.0.saturating_add(delta);
    }

    /// Sets the wall clock.
    pub fn set_wall(&self, wall: i128) {
        self.now.lock().0 = wall;
    }
}

impl TimeSource for ManualTimeSource {
    fn wall(&self) -> i128 {
        self.now.lock().0
    }

    fn monotonic(&self) -> u128 {
        self.now.lock().1
    }
}

/// Validation period and drift tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockConfig {
    /// How often [`TrustedClock::validate`] is meant to run; also the window of the
    /// adjustment budget.
    pub validation_period: Duration,
    /// Largest accepted `|wall − trusted|`, and the largest total adjustment per period.
    /// Must be shorter than the period.
    pub tolerance: Duration,
    /// Corrections smaller than this are not made (dead band), so that the audit log does not
    /// get a `clock_adjusted` entry every period for nanoseconds of jitter. At most the
    /// tolerance.
    pub min_adjustment: Duration,
}

impl Default for ClockConfig {
    /// 1 s period, 100 ms tolerance (seed 003 §7: "default 100ms"), 1 ms dead band.
    fn default() -> Self {
        ClockConfig {
            validation_period: Duration::from_secs(1),
            tolerance: Duration::from_millis(100),
            min_adjustment: Duration::from_millis(1),
        }
    }
}

/// Why the clock gives no time for a signature, or cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The last validation found `|drift|` above the tolerance.
    #[error("trusted clock out of tolerance: drift {drift_nanos} ns exceeds {tolerance_nanos} ns")]
    OutOfTolerance {
        /// `wall − trusted` at that validation.
        drift_nanos: i128,
        /// The configured tolerance.
        tolerance_nanos: i128,
    },
    /// The configuration is unusable.
    #[error("invalid clock configuration: {0}")]
    InvalidConfig(&'static str),
    /// A time outside what [`Timestamp`] represents.
    #[error("time {0} ns since the Unix epoch is out of range")]
    OutOfRange(i128),
}

impl ClockError {
    /// `clock_out_of_tolerance`, `clock_invalid_config` or `clock_out_of_range`.
    #[must_use]
    pub const fn reason_code(&self) -> &'static str {
        match self {
            ClockError::OutOfTolerance { .. } => reason::CLOCK_OUT_OF_TOLERANCE,
            ClockError::InvalidConfig(_) => "clock_invalid_config",
            ClockError::OutOfRange(_) => "clock_out_of_range",
        }
    }
}

/// How an adjustment takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustMethod {
    /// The reading jumped forward by [`Adjustment::step_nanos`] at once.
    Step,
    /// Only the rate changed: pending slew grew or shrank.
    Slew,
}

impl AdjustMethod {
    /// `step` or `slew`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AdjustMethod::Step => "step",
            AdjustMethod::Slew => "slew",
        }
    }
}

/// One correction decided by a validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjustment {
    /// Signed change of the clock's target (`|by| ≤ tolerance`).
    pub by_nanos: i128,
    /// Step or slew.
    pub method: AdjustMethod,
    /// Forward jump of the reading made now (≥ 0; 0 for a slew).
    pub step_nanos: i128,
    /// Slew still to take back after this decision (≥ 0).
    pub pending_slew_nanos: i128,
    /// `wall − trusted` that prompted it.
    pub drift_nanos: i128,
    /// Sum of `|by|` in the current validation period, this one included (≤ tolerance).
    pub period_total_nanos: i128,
    /// The configured tolerance.
    pub tolerance_nanos: i128,
    /// The reference (wall) reading.
    pub wall_nanos: i128,
    /// The trusted reading when it was decided (before the step).
    pub at_nanos: i128,
}

/// A clock event for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockEvent {
    /// `clock_adjusted`.
    Adjusted(Adjustment),
    /// `clock_rollback_detected`: the wall clock read earlier than at the previous validation.
    RollbackDetected {
        /// The previous wall reading.
        previous_wall_nanos: i128,
        /// The new, earlier wall reading.
        wall_nanos: i128,
        /// The trusted reading.
        at_nanos: i128,
    },
    /// `clock_out_of_tolerance`: signing is refused from now on.
    OutOfTolerance {
        /// `wall − trusted`.
        drift_nanos: i128,
        /// The configured tolerance.
        tolerance_nanos: i128,
        /// The wall reading.
        wall_nanos: i128,
        /// The trusted reading.
        at_nanos: i128,
    },
    /// `clock_recovered`: the drift is within tolerance again; signing resumes.
    Recovered {
        /// `wall − trusted`.
        drift_nanos: i128,
        /// The configured tolerance.
        tolerance_nanos: i128,
        /// The wall reading.
        wall_nanos: i128,
        /// The trusted reading.
        at_nanos: i128,
    },
}

/// Largest integer I-JSON carries exactly (2^53 − 1).
const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// A nanosecond quantity as a JSON integer, saturated to ±(2^53 − 1) (about 104 days) so
/// that the audit log's I-JSON canonicalization accepts it; the RFC 3339 time points beside
/// it stay exact.
fn json_nanos(n: i128) -> Value {
    let clamped = n.clamp(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER);
    i64::try_from(clamped).map_or(Value::Null, Value::from)
}

/// A time point as RFC 3339 UTC with nanoseconds, or `null` when not representable.
fn json_time(n: i128) -> Value {
    use std::fmt::Write as _;
    let Some(ts) = Timestamp::from_unix_nanos(n) else {
        return Value::Null;
    };
    let mut s = String::new();
    // Formatting fails (rather than panicking, as `to_string` would) outside years 0–9999.
    match write!(s, "{ts}") {
        Ok(()) => Value::String(s),
        Err(_) => Value::Null,
    }
}

impl ClockEvent {
    /// The audit event type: `clock_adjusted`, `clock_rollback_detected`,
    /// `clock_out_of_tolerance`, `clock_recovered`.
    #[must_use]
    pub const fn event_type(&self) -> &'static str {
        match self {
            ClockEvent::Adjusted(_) => "clock_adjusted",
            ClockEvent::RollbackDetected { .. } => "clock_rollback_detected",
            ClockEvent::OutOfTolerance { .. } => "clock_out_of_tolerance",
            ClockEvent::Recovered { .. } => "clock_recovered",
        }
    }

    /// The trusted reading at the event.
    #[must_use]
    pub const fn at_nanos(&self) -> i128 {
        match self {
            ClockEvent::Adjusted(a) => a.at_nanos,
            ClockEvent::RollbackDetected { at_nanos, .. }
            | ClockEvent::OutOfTolerance { at_nanos, .. }
            | ClockEvent::Recovered { at_nanos, .. } => *at_nanos,
        }
    }

    /// The event as a JSON object for the audit log's `eventData`: `type` (the
    /// [`ClockEvent::event_type`]), time points as RFC 3339 strings (`at`, `wall`,
    /// `previousWall`), durations as integer nanoseconds (`…Nanos`).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("type".into(), Value::from(self.event_type()));
        match *self {
            ClockEvent::Adjusted(a) => {
                o.insert("method".into(), Value::from(a.method.as_str()));
                o.insert("byNanos".into(), json_nanos(a.by_nanos));
                o.insert("stepNanos".into(), json_nanos(a.step_nanos));
                o.insert("pendingSlewNanos".into(), json_nanos(a.pending_slew_nanos));
                o.insert("driftNanos".into(), json_nanos(a.drift_nanos));
                o.insert("periodTotalNanos".into(), json_nanos(a.period_total_nanos));
                o.insert("toleranceNanos".into(), json_nanos(a.tolerance_nanos));
                o.insert("wall".into(), json_time(a.wall_nanos));
                o.insert("at".into(), json_time(a.at_nanos));
            }
            ClockEvent::RollbackDetected {
                previous_wall_nanos,
                wall_nanos,
                at_nanos,
            } => {
                o.insert(
                    "backwardsByNanos".into(),
                    json_nanos(previous_wall_nanos.saturating_sub(wall_nanos)),
                );
                o.insert("previousWall".into(), json_time(previous_wall_nanos));
                o.insert("wall".into(), json_time(wall_nanos));
                o.insert("at".into(), json_time(at_nanos));
            }
            ClockEvent::OutOfTolerance {
                drift_nanos,
                tolerance_nanos,
                wall_nanos,
                at_nanos,
            }
            | ClockEvent::Recovered {
                drift_nanos,
                tolerance_nanos,
                wall_nanos,
                at_nanos,
            } => {
                o.insert("driftNanos".into(), json_nanos(drift_nanos));
                o.insert("toleranceNanos".into(), json_nanos(tolerance_nanos));
                o.insert("wall".into(), json_time(wall_nanos));
                o.insert("at".into(), json_time(at_nanos));
            }
        }
        Value::Object(o)
    }
}

/// A snapshot of the clock's validation state (metrics, readiness, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStatus {
    /// Whether signing is refused.
    pub out_of_tolerance: bool,
    /// `wall − trusted` at the last validation, if any.
    pub last_drift_nanos: Option<i128>,
    /// Slew still to take back now.
    pub pending_slew_nanos: i128,
    /// Sum of `|adjustments|` in the current validation period.
    pub period_used_nanos: i128,
}

/// The trusted clock. Share it in an `Arc`; every method takes `&self`.
pub struct TrustedClock {
    source: Arc<dyn TimeSource>,
    config: ClockConfig,
    tolerance: i128,
    period: i128,
    min_adjustment: i128,
    state: Mutex<State>,
}

struct State {
    /// Trusted time at `anchor_mono`.
    anchor_trusted: i128,
    anchor_mono: u128,
    /// Slew to take back from the anchor on, at `tolerance/period` of elapsed time.
    slew: i128,
    /// The last value handed out (strict monotonicity).
    last_issued: Option<i128>,
    /// The reference reading of the last validation (or of construction).
    last_wall: i128,
    /// Start of the current adjustment-budget window, and what it has used.
    period_start: u128,
    period_used: i128,
    /// Set by an out-of-tolerance validation: the drift then.
    out_of_tolerance: Option<i128>,
    last_drift: Option<i128>,
    last_validation: Option<u128>,
}

fn nanos(d: Duration) -> i128 {
    i128::try_from(d.as_nanos()).unwrap_or(i128::MAX)
}

impl TrustedClock {
    /// A clock anchored on `source`'s wall clock now.
    ///
    /// # Errors
    /// [`ClockError::InvalidConfig`] for a zero period or a tolerance not shorter than the
    /// period; [`ClockError::OutOfRange`] if the wall clock reads outside [`Timestamp`]'s range.
    pub fn new(source: Arc<dyn TimeSource>, config: ClockConfig) -> Result<Self, ClockError> {
        if config.validation_period.is_zero() {
            return Err(ClockError::InvalidConfig(
                "validation period must be positive",
            ));
        }
        if config.tolerance >= config.validation_period {
            return Err(ClockError::InvalidConfig(
                "tolerance must be shorter than the validation period",
            ));
        }
        if config.min_adjustment > config.tolerance {
            return Err(ClockError::InvalidConfig(
                "minimum adjustment must not exceed the tolerance",
            ));
        }
        let mono = source.monotonic();
        let wall = source.wall();
        if Timestamp::from_unix_nanos(wall).is_none() {
            return Err(ClockError::OutOfRange(wall));
        }
        Ok(TrustedClock {
            source,
            config,
            tolerance: nanos(config.tolerance),
            period: nanos(config.validation_period),
            min_adjustment: nanos(config.min_adjustment),
            state: Mutex::new(State {
                anchor_trusted: wall,
                anchor_mono: mono,
                slew: 0,
                last_issued: None,
                last_wall: wall,
                period_start: mono,
                period_used: 0,
                out_of_tolerance: None,
                last_drift: None,
                last_validation: None,
            }),
        })
    }

    /// A clock on the system clocks ([`SystemTimeSource`]).
    ///
    /// # Errors
    /// As [`TrustedClock::new`].
    pub fn system(config: ClockConfig) -> Result<Self, ClockError> {
        Self::new(Arc::new(SystemTimeSource::new()), config)
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> ClockConfig {
        self.config
    }

    /// Slew absorbed `elapsed` nanoseconds after the anchor.
    fn absorbed(&self, s: &State, elapsed: i128) -> i128 {
        if s.slew <= 0 {
            return 0;
        }
        // tolerance < period, so this is < elapsed: the reading keeps increasing.
        let rate_limited = elapsed.saturating_mul(self.tolerance) / self.period;
        rate_limited.min(s.slew)
    }

    /// The reading at monotonic `mono`, before strictness.
    fn reading(&self, s: &State, mono: u128) -> (i128, i128) {
        let elapsed = i128::try_from(mono.saturating_sub(s.anchor_mono)).unwrap_or(i128::MAX);
        let absorbed = self.absorbed(s, elapsed);
        let reading = s
            .anchor_trusted
            .saturating_add(elapsed)
            .saturating_sub(absorbed);
        (reading, s.slew.saturating_sub(absorbed))
    }

    /// The current value: the reading, or one above the last value handed out.
    fn current(&self, s: &State, mono: u128) -> (i128, i128) {
        let (reading, pending) = self.reading(s, mono);
        let floor = s.last_issued.map_or(i128::MIN, |l| l.saturating_add(1));
        (reading.max(floor), pending)
    }

    fn issue(&self, s: &mut State) -> i128 {
        let (t, _) = self.current(s, self.source.monotonic());
        s.last_issued = Some(t);
        t
    }

    /// Trusted time in nanoseconds since the Unix epoch; strictly greater than every value
    /// this clock returned before. Works while out of tolerance (audit entries need a time).
    pub fn now_nanos(&self) -> i128 {
        self.issue(&mut self.state.lock())
    }

    /// [`TrustedClock::now_nanos`] as a [`Timestamp`].
    ///
    /// # Errors
    /// [`ClockError::OutOfRange`] outside [`Timestamp`]'s range (years −9999..=9999).
    pub fn now(&self) -> Result<Timestamp, ClockError> {
        let n = self.now_nanos();
        Timestamp::from_unix_nanos(n).ok_or(ClockError::OutOfRange(n))
    }

    /// Trusted time for a signature.
    ///
    /// # Errors
    /// [`ClockError::OutOfTolerance`] while the last validation found the drift out of
    /// tolerance (no value is consumed then).
    pub fn now_nanos_for_signing(&self) -> Result<i128, ClockError> {
        let mut s = self.state.lock();
        if let Some(drift_nanos) = s.out_of_tolerance {
            return Err(ClockError::OutOfTolerance {
                drift_nanos,
                tolerance_nanos: self.tolerance,
            });
        }
        Ok(self.issue(&mut s))
    }

    /// [`TrustedClock::now_nanos_for_signing`] as a [`Timestamp`].
    ///
    /// # Errors
    /// As [`TrustedClock::now_nanos_for_signing`], and [`ClockError::OutOfRange`].
    pub fn now_for_signing(&self) -> Result<Timestamp, ClockError> {
        let n = self.now_nanos_for_signing()?;
        Timestamp::from_unix_nanos(n).ok_or(ClockError::OutOfRange(n))
    }

    /// Whether a validation period has passed since the last validation (or construction).
    #[must_use]
    pub fn validation_due(&self) -> bool {
        let s = self.state.lock();
        let since = s.last_validation.unwrap_or(s.period_start);
        let elapsed = self.source.monotonic().saturating_sub(since);
        i128::try_from(elapsed).unwrap_or(i128::MAX) >= self.period
    }

    /// Validates against the source's wall clock; see the module documentation. Returns the
    /// events to append to the audit log, in order.
    pub fn validate(&self) -> Vec<ClockEvent> {
        let mut s = self.state.lock();
        let mono = self.source.monotonic();
        let wall = self.source.wall();
        self.validate_locked(&mut s, mono, wall)
    }

    /// Validates against an external reference reading (e.g. an NTS sample), in nanoseconds
    /// since the Unix epoch, taken now.
    pub fn validate_against(&self, reference_nanos: i128) -> Vec<ClockEvent> {
        let mut s = self.state.lock();
        let mono = self.source.monotonic();
        self.validate_locked(&mut s, mono, reference_nanos)
    }

    fn validate_locked(&self, s: &mut State, mono: u128, wall: i128) -> Vec<ClockEvent> {
        let mut events = Vec::new();
        // The raw reading, not the strictness floor: the +1 ns bumps are an artefact of
        // calls faster than the source's resolution, not drift.
        let (trusted, pending) = self.reading(s, mono);
        let tolerance_nanos = self.tolerance;
        s.last_validation = Some(mono);

        if wall < s.last_wall {
            events.push(ClockEvent::RollbackDetected {
                previous_wall_nanos: s.last_wall,
                wall_nanos: wall,
                at_nanos: trusted,
            });
        }
        s.last_wall = wall;

        if i128::try_from(mono.saturating_sub(s.period_start)).unwrap_or(i128::MAX) >= self.period {
            s.period_start = mono;
            s.period_used = 0;
        }

        let drift = wall.saturating_sub(trusted);
        s.last_drift = Some(drift);
        if drift.unsigned_abs() > tolerance_nanos.unsigned_abs() {
            if s.out_of_tolerance.is_none() {
                events.push(ClockEvent::OutOfTolerance {
                    drift_nanos: drift,
                    tolerance_nanos,
                    wall_nanos: wall,
                    at_nanos: trusted,
                });
            }
            s.out_of_tolerance = Some(drift);
            return events;
        }
        if s.out_of_tolerance.take().is_some() {
            events.push(ClockEvent::Recovered {
                drift_nanos: drift,
                tolerance_nanos,
                wall_nanos: wall,
                at_nanos: trusted,
            });
        }

        // Correct toward the reference from the target (the reading once pending slew is
        // done), within what is left of this period's budget.
        let wanted = drift.saturating_add(pending);
        if wanted.unsigned_abs() < self.min_adjustment.unsigned_abs() {
            return events;
        }
        let budget = (tolerance_nanos - s.period_used).max(0);
        let by = wanted.clamp(-budget, budget);
        if by == 0 {
            return events;
        }
        let (step, new_pending) = if by > 0 {
            // Cancel slew first; step forward by whatever remains.
            let cancelled = by.min(pending);
            (by - cancelled, pending - cancelled)
        } else {
            (0, pending.saturating_add(by.saturating_neg()))
        };
        s.anchor_trusted = trusted.saturating_add(step);
        s.anchor_mono = mono;
        s.slew = new_pending;
        s.period_used = s.period_used.saturating_add(by.saturating_abs());
        events.push(ClockEvent::Adjusted(Adjustment {
            by_nanos: by,
            method: if step > 0 {
                AdjustMethod::Step
            } else {
                AdjustMethod::Slew
            },
            step_nanos: step,
            pending_slew_nanos: new_pending,
            drift_nanos: drift,
            period_total_nanos: s.period_used,
            tolerance_nanos,
            wall_nanos: wall,
            at_nanos: trusted,
        }));
        events
    }

    /// A snapshot of the validation state.
    #[must_use]
    pub fn status(&self) -> ClockStatus {
        let s = self.state.lock();
        let (_, pending) = self.reading(&s, self.source.monotonic());
        ClockStatus {
            out_of_tolerance: s.out_of_tolerance.is_some(),
            last_drift_nanos: s.last_drift,
            pending_slew_nanos: pending,
            period_used_nanos: s.period_used,
        }
    }
}

impl std::fmt::Debug for TrustedClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedClock")
            .field("config", &self.config)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}
