//! The facts a decision is made on ([`PolicyInput`]) and their names ([`Fact`]).
//!
//! The caller (the server) gathers the facts at decision time — from the verification outcome,
//! the registry and the trusted clock — and passes them in; the engine reads nothing else.
//! Every fact is optional except the two downgrade flags: a fact the caller does not know is
//! `None`, and each condition says what it does with a missing fact (see [`crate::Condition`]).

use cphar_protocol::{Bal, DeviceStatus};
use serde_json::Value;

/// The facts known at decision time.
///
/// Build it with struct update syntax: `PolicyInput { bal: Some(Bal::Bal2), ..Default::default() }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PolicyInput {
    /// The commodity of the lot (`gold`, `pharmaceuticals`, …), compared exactly.
    pub commodity: Option<String>,
    /// The BAL the binding was verified at.
    pub bal: Option<Bal>,
    /// Seconds since the seal last produced a valid attestation.
    pub attestation_age_seconds: Option<u64>,
    /// The seal's firmware measurement as recorded at registration (`sha256:<hex>`).
    pub firmware_measurement: Option<String>,
    /// Seconds the verifier has been without fresh revocation status; `None` when online.
    pub offline_seconds: Option<u64>,
    /// A lower-BAL binding method was used although a higher one was available (seed 002
    /// §4.3.5).
    pub downgrade: bool,
    /// The trust framework explicitly authorizes this downgrade.
    pub downgrade_allowed: bool,
    /// The documented operational reason given for the downgrade (e.g. `battery_depleted`).
    pub downgrade_reason: Option<String>,
    /// The device's self-reported status; `None` means operational (seed 002 §4.3.2).
    pub device_status: Option<DeviceStatus>,
    /// The DID of the verifier asking.
    pub verifier_did: Option<String>,
}

cphar_protocol::wire_enum! {
    /// The name of one [`PolicyInput`] fact, as it appears in a decision's `evidence`.
    ///
    /// Declared in alphabetical order so that evidence objects list facts in the same order
    /// whether or not `serde_json` preserves insertion order.
    Fact {
        /// [`PolicyInput::attestation_age_seconds`].
        AttestationAgeSeconds => "attestation_age_seconds",
        /// [`PolicyInput::bal`].
        Bal => "bal",
        /// [`PolicyInput::commodity`].
        Commodity => "commodity",
        /// [`PolicyInput::device_status`].
        DeviceStatus => "device_status",
        /// [`PolicyInput::downgrade`].
        Downgrade => "downgrade",
        /// [`PolicyInput::downgrade_allowed`].
        DowngradeAllowed => "downgrade_allowed",
        /// [`PolicyInput::downgrade_reason`].
        DowngradeReason => "downgrade_reason",
        /// [`PolicyInput::firmware_measurement`].
        FirmwareMeasurement => "firmware_measurement",
        /// [`PolicyInput::offline_seconds`].
        OfflineSeconds => "offline_seconds",
        /// [`PolicyInput::verifier_did`].
        VerifierDid => "verifier_did",
    }
}

impl Fact {
    /// This fact's value in `input` as JSON; `null` when the fact is missing.
    pub fn value(self, input: &PolicyInput) -> Value {
        fn text(v: Option<&str>) -> Value {
            v.map_or(Value::Null, |s| Value::String(s.to_owned()))
        }
        match self {
            Fact::AttestationAgeSeconds => input
                .attestation_age_seconds
                .map_or(Value::Null, Value::from),
            Fact::Bal => text(input.bal.map(Bal::as_str)),
            Fact::Commodity => text(input.commodity.as_deref()),
            Fact::DeviceStatus => text(input.device_status.map(DeviceStatus::as_str)),
            Fact::Downgrade => Value::Bool(input.downgrade),
            Fact::DowngradeAllowed => Value::Bool(input.downgrade_allowed),
            Fact::DowngradeReason => text(input.downgrade_reason.as_deref()),
            Fact::FirmwareMeasurement => text(input.firmware_measurement.as_deref()),
            Fact::OfflineSeconds => input.offline_seconds.map_or(Value::Null, Value::from),
            Fact::VerifierDid => text(input.verifier_did.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_declared_alphabetically() {
        let names: Vec<&str> = Fact::ALL.iter().map(|f| f.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn missing_facts_are_null() {
        let input = PolicyInput::default();
        for fact in Fact::ALL {
            let v = fact.value(&input);
            match fact {
                Fact::Downgrade | Fact::DowngradeAllowed => assert_eq!(v, Value::Bool(false)),
                _ => assert_eq!(v, Value::Null, "{fact}"),
            }
        }
    }
}
