//! Module integrity for the CPHAR signing process (seed 003 §1.5, §4 SS-5, §6; seed 001
//! "Trusted time"):
//!
//! * [`selftest`]: FIPS 140-3 power-on self-tests — known-answer tests run through
//!   `cphar-crypto` itself, the continuous RNG test's health, and the software integrity
//!   check (SHA-384 of the running binary against an expected measurement).
//! * [`state`]: the module state of FIPS 140-3 §9.4 — self-testing, operational, or a latched
//!   error state in which every signing operation is refused until the process restarts.
//! * [`clock`]: trusted time — a clock that never goes backwards, validated against the wall
//!   clock once per period, adjusted by at most the tolerance per period, refusing to date
//!   signatures while out of tolerance, and reporting every adjustment as an audit event.
//!
//! Everything is sans-I/O except two small, named functions ([`selftest::measure_file`],
//! [`selftest::measure_current_exe`]) and the default [`clock::SystemTimeSource`]; tests
//! inject a [`clock::ManualTimeSource`] and [`selftest::Fault`]s.
//!
//! A signing operation asks [`signing_time`] for its time: it refuses in the error state, while
//! self-testing, and while the clock is out of tolerance.
//!
//! ```
//! use cphar_integrity::clock::{ClockConfig, ManualTimeSource, TrustedClock};
//! use cphar_integrity::selftest::{SelfTestOptions, run_power_on_self_tests};
//! use cphar_integrity::state::ModuleState;
//! use std::sync::Arc;
//!
//! let state = ModuleState::new();
//! let report = run_power_on_self_tests(&SelfTestOptions::default());
//! state.complete_self_tests(&report)?;
//! let source = Arc::new(ManualTimeSource::new(1_700_000_000_000_000_000, 0));
//! let clock = TrustedClock::new(source, ClockConfig::default())?;
//! let genesis = cphar_integrity::signing_time(&state, &clock)?;
//! assert!(cphar_integrity::signing_time(&state, &clock)? > genesis);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod clock;
pub mod selftest;
pub mod state;

use cphar_protocol::Timestamp;

pub use crate::clock::{ClockError, ClockEvent, TrustedClock};
pub use crate::selftest::{SelfTestReport, run_power_on_self_tests};
pub use crate::state::{ModuleError, ModuleState, ModuleStatus};

/// The trusted time for a signature, or why no signature may be made now: the module is
/// self-testing or in its error state, or the clock is out of tolerance.
///
/// # Errors
/// [`ModuleError`]; its [`ModuleError::reason_code`] is what the refusal reports.
pub fn signing_time(state: &ModuleState, clock: &TrustedClock) -> Result<Timestamp, ModuleError> {
    state.ensure_operational()?;
    Ok(clock.now_for_signing()?)
}

pub(crate) use cphar_crypto::hex;

/// Decodes lower- or upper-case hex; `None` for odd length or a non-hex digit.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(""), Some(vec![]));
    }
}
