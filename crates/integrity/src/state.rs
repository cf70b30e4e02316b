//! The module state of FIPS 140-3 §9.4 (seed 003 §1.5, §6.1 step 2).
//!
//! This module owns the one question every signing operation asks first: may the module sign
//! at all? A process starts [`ModuleStatus::SelfTesting`]; passing the power-on self-tests
//! makes it [`ModuleStatus::Operational`]; any failure — a self-test, the software integrity
//! check, the continuous RNG test — latches [`ModuleStatus::Error`]. The error state is
//! one-way: nothing in the process clears it, only a restart (which reruns the self-tests and,
//! by seed 003 §5, starts a new audit key epoch). The first error wins, so the recorded reason
//! is the root cause rather than a later symptom.
//!
//! [`ModuleState`] is a cheap shared handle (an `Arc` inside): clone it into every component
//! that signs.

use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::clock::ClockError;
use crate::selftest::SelfTestReport;

/// Stable reason codes of refusals and of the error state.
pub mod reason {
    /// A power-on known-answer test failed.
    pub const SELF_TEST_FAILED: &str = "self_test_failed";
    /// The continuous RNG test failed (seed 003 §1.5, conditional test).
    pub const RNG_FAILURE: &str = "rng_failure";
    /// The trusted clock is out of tolerance (transient: see [`crate::clock`]).
    pub const CLOCK_OUT_OF_TOLERANCE: &str = "clock_out_of_tolerance";
    /// The running binary does not match its expected measurement.
    pub const SOFTWARE_INTEGRITY_FAILED: &str = "software_integrity_failed";
    /// The power-on self-tests have not completed yet.
    pub const SELF_TEST_IN_PROGRESS: &str = "self_test_in_progress";
}

/// Where the module is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleStatus {
    /// Power-on self-tests have not completed; nothing may be signed.
    SelfTesting,
    /// Self-tests passed; signing is allowed.
    Operational,
    /// Latched error state: every signing operation is refused until restart.
    Error {
        /// Stable reason code (see [`reason`]).
        reason_code: &'static str,
        /// Human-readable detail for the audit log and operators.
        detail: String,
    },
}

impl ModuleStatus {
    /// A stable name: `self_testing`, `operational`, `error`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            ModuleStatus::SelfTesting => "self_testing",
            ModuleStatus::Operational => "operational",
            ModuleStatus::Error { .. } => "error",
        }
    }

    /// `{"state": name}` plus `reasonCode` and `detail` in the error state, for state
    /// transition audit entries (seed 003 §5.3).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ModuleStatus::Error {
                reason_code,
                detail,
            } => serde_json::json!({
                "state": self.name(),
                "reasonCode": reason_code,
                "detail": detail,
            }),
            ModuleStatus::SelfTesting | ModuleStatus::Operational => {
                serde_json::json!({ "state": self.name() })
            }
        }
    }
}

/// Why the module refuses an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// The power-on self-tests have not completed.
    #[error("the module is still running its power-on self-tests")]
    SelfTesting,
    /// The module is in its latched error state.
    #[error("the module is in its error state ({reason_code}): {detail}")]
    Error {
        /// Stable reason code (see [`reason`]).
        reason_code: &'static str,
        /// Detail recorded when the error was latched.
        detail: String,
    },
    /// The trusted clock refuses to date a signature (transient).
    #[error(transparent)]
    Clock(#[from] ClockError),
}

impl ModuleError {
    /// The stable reason code, e.g. `self_test_failed`, `rng_failure`,
    /// `clock_out_of_tolerance`, `software_integrity_failed`, `self_test_in_progress`.
    #[must_use]
    pub fn reason_code(&self) -> &'static str {
        match self {
            ModuleError::SelfTesting => reason::SELF_TEST_IN_PROGRESS,
            ModuleError::Error { reason_code, .. } => reason_code,
            ModuleError::Clock(e) => e.reason_code(),
        }
    }
}

/// The shared module state. Clones share one state.
#[derive(Clone)]
pub struct ModuleState {
    inner: Arc<Inner>,
}

struct Inner {
    status: RwLock<ModuleStatus>,
    /// The continuous RNG test's health, polled by every [`ModuleState::ensure_operational`].
    rng_probe: fn() -> bool,
}

impl Default for ModuleState {
    fn default() -> Self {
        Self::new()
    }
}

impl ModuleState {
    /// A module in [`ModuleStatus::SelfTesting`] that polls the process-wide continuous RNG
    /// test ([`cphar_crypto::rng_healthy`]) on every operation.
    #[must_use]
    pub fn new() -> Self {
        Self::with_rng_probe(cphar_crypto::rng_healthy)
    }

    /// As [`ModuleState::new`] with another RNG health probe (tests and drills).
    #[must_use]
    pub fn with_rng_probe(rng_probe: fn() -> bool) -> Self {
        ModuleState {
            inner: Arc::new(Inner {
                status: RwLock::new(ModuleStatus::SelfTesting),
                rng_probe,
            }),
        }
    }

    /// The current status.
    #[must_use]
    pub fn status(&self) -> ModuleStatus {
        self.inner.status.read().clone()
    }

    /// Whether the module may sign now (readiness probe). Does not latch anything.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        matches!(*self.inner.status.read(), ModuleStatus::Operational) && (self.inner.rng_probe)()
    }

    /// Called by every signing operation before it signs. A failed continuous RNG test found
    /// here latches the error state ([`reason::RNG_FAILURE`]).
    ///
    /// # Errors
    /// [`ModuleError::SelfTesting`] before the self-tests complete, [`ModuleError::Error`] in
    /// the error state.
    pub fn ensure_operational(&self) -> Result<(), ModuleError> {
        match &*self.inner.status.read() {
            ModuleStatus::Operational => {}
            ModuleStatus::SelfTesting => return Err(ModuleError::SelfTesting),
            ModuleStatus::Error {
                reason_code,
                detail,
            } => {
                return Err(ModuleError::Error {
                    reason_code,
                    detail: detail.clone(),
                });
            }
        }
        if !(self.inner.rng_probe)() {
            self.enter_error(reason::RNG_FAILURE, "continuous RNG test failed");
            return Err(self.latched_error());
        }
        Ok(())
    }

    /// Latches the error state. One-way: returns `true` if this call entered it, `false` if
    /// the module was already in error (the first reason is kept).
    pub fn enter_error(&self, reason_code: &'static str, detail: impl Into<String>) -> bool {
        let mut status = self.inner.status.write();
        if matches!(*status, ModuleStatus::Error { .. }) {
            return false;
        }
        *status = ModuleStatus::Error {
            reason_code,
            detail: detail.into(),
        };
        true
    }

    /// Ends the self-testing phase with `report`: operational if it passed, otherwise the
    /// error state with the first failure's reason.
    ///
    /// # Errors
    /// The [`ModuleError::Error`] the module is in afterwards if the report failed or the
    /// module was already in error (a passing report never clears it).
    pub fn complete_self_tests(&self, report: &SelfTestReport) -> Result<(), ModuleError> {
        if let Some((reason_code, detail)) = report.failure() {
            self.enter_error(reason_code, detail);
            return Err(self.latched_error());
        }
        let mut status = self.inner.status.write();
        match &*status {
            ModuleStatus::Error {
                reason_code,
                detail,
            } => Err(ModuleError::Error {
                reason_code,
                detail: detail.clone(),
            }),
            ModuleStatus::SelfTesting | ModuleStatus::Operational => {
                *status = ModuleStatus::Operational;
                Ok(())
            }
        }
    }

    fn latched_error(&self) -> ModuleError {
        match &*self.inner.status.read() {
            ModuleStatus::Error {
                reason_code,
                detail,
            } => ModuleError::Error {
                reason_code,
                detail: detail.clone(),
            },
            // Unreachable in practice: callers latch first and the error state is one-way.
            ModuleStatus::SelfTesting | ModuleStatus::Operational => ModuleError::Error {
                reason_code: reason::SELF_TEST_FAILED,
                detail: "error state expected".to_owned(),
            },
        }
    }
}

impl fmt::Debug for ModuleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleState")
            .field("status", &*self.inner.status.read())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> bool {
        true
    }

    fn broken() -> bool {
        false
    }

    #[test]
    fn starts_self_testing_and_refuses() {
        let state = ModuleState::with_rng_probe(healthy);
        assert_eq!(state.status(), ModuleStatus::SelfTesting);
        assert!(!state.is_ready());
        let err = state.ensure_operational().unwrap_err();
        assert_eq!(err.reason_code(), reason::SELF_TEST_IN_PROGRESS);
    }

    #[test]
    fn error_is_latched_and_first_reason_wins() {
        let state = ModuleState::with_rng_probe(healthy);
        let other = state.clone();
        assert!(state.enter_error(reason::SOFTWARE_INTEGRITY_FAILED, "mismatch"));
        assert!(!other.enter_error(reason::SELF_TEST_FAILED, "later"));
        let err = other.ensure_operational().unwrap_err();
        assert_eq!(err.reason_code(), reason::SOFTWARE_INTEGRITY_FAILED);
        assert!(!state.is_ready());
        assert_eq!(state.status().name(), "error");
    }

    #[test]
    fn rng_failure_latches_the_error_state() {
        let state = ModuleState::with_rng_probe(broken);
        // Operational status, but the RNG probe fails.
        *state.inner.status.write() = ModuleStatus::Operational;
        assert!(!state.is_ready());
        let err = state.ensure_operational().unwrap_err();
        assert_eq!(err.reason_code(), reason::RNG_FAILURE);
        assert!(matches!(state.status(), ModuleStatus::Error { .. }));
    }

    #[test]
    fn status_json() {
        let s = ModuleStatus::Error {
            reason_code: reason::RNG_FAILURE,
            detail: "x".into(),
        };
        assert_eq!(
            s.to_json(),
            serde_json::json!({"state": "error", "reasonCode": "rng_failure", "detail": "x"})
        );
        assert_eq!(
            ModuleStatus::Operational.to_json(),
            serde_json::json!({"state": "operational"})
        );
    }
}
