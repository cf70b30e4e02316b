//! The binding lifecycle of seed 002 §7 and how it moves with the seal lifecycle.
//!
//! ```text
//! (none)     --BEA issued----------------------> Enrolled
//! Enrolled   --first successful challenge------> Active
//! Enrolled   --revocation (pre-operational)----> Revoked
//! Active     --device reports degraded---------> Degraded
//! Active     --successful challenge------------> Active
//! Active     --revocation----------------------> Revoked
//! Degraded   --device recovers-----------------> Active
//! Degraded   --successful challenge, degraded--> Degraded
//! Degraded   --revocation----------------------> Revoked
//! Enrolled | Active | Degraded --lot decommissioned--> Decommissioned (terminal)
//! ```
//! `Revoked → Enrolled (new device)` of the seed is a *new* binding (rebinding, §4.5): the old
//! binding stays Revoked in the lot's history and the lot keeps its DID.
//!
//! The one mapping between the two machines (the registry applies both in one change):
//!
//! | registry operation            | seal (seed 000)              | binding (seed 002 §7)       |
//! |-------------------------------|------------------------------|-----------------------------|
//! | bind (BEA issued)             | Inspected → Sealed           | → Enrolled                  |
//! | attestation, status operational | Sealed → Attested          | Enrolled/Active/Degraded → Active |
//! | attestation, status degraded  | Sealed → Attested            | Enrolled/Active → Degraded  |
//! | attestation cycle closes      | Attested → Sealed            | unchanged                   |
//! | revoke `tamper_detected`, `device_failure`, `key_compromise` | Sealed/Attested → Broken | → Revoked(reason) |
//! | retire `device_replacement`, `binding_upgraded`, `authority_revoked` | (Attested → Sealed →) Retired | → Revoked(reason) |
//! | decommission lot (`object_decommissioned`) | (Attested → Sealed →) Retired | → Decommissioned |

use crate::codes::RefusalCode;
use crate::error::Refusal;
use cphar_protocol::{DeviceStatus, RevocationReason};

cphar_protocol::wire_enum! {
    /// Where a binding is in its life (seed 002 §7).
    BindingState {
        /// BEA issued, method published; no successful challenge yet.
        Enrolled => "enrolled",
        /// Operational: challenge-response succeeds.
        Active => "active",
        /// The device reports degraded status.
        Degraded => "degraded",
        /// Revoked; the method is marked revoked in the DID document. Terminal for this binding.
        Revoked => "revoked",
        /// The object reached end of life. Terminal.
        Decommissioned => "decommissioned",
    }
}

/// What happens to a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingEvent {
    /// A challenge-response succeeded with this reported device status.
    ChallengeSucceeded(DeviceStatus),
    /// The binding is revoked for this reason.
    Revoke(RevocationReason),
    /// The object is decommissioned.
    Decommission,
}

impl std::fmt::Display for BindingEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindingEvent::ChallengeSucceeded(status) => write!(f, "challenge_succeeded({status})"),
            BindingEvent::Revoke(reason) => write!(f, "revoke({reason})"),
            BindingEvent::Decommission => f.write_str("decommission"),
        }
    }
}

impl BindingState {
    /// The state after `event`, or a refusal if seed 002 §7 has no such transition.
    pub fn on(self, event: BindingEvent) -> Result<BindingState, Refusal> {
        use BindingEvent as E;
        use BindingState as S;
        match (self, event) {
            (
                S::Enrolled | S::Active | S::Degraded,
                E::ChallengeSucceeded(DeviceStatus::Operational),
            ) => Ok(S::Active),
            (
                S::Enrolled | S::Active | S::Degraded,
                E::ChallengeSucceeded(DeviceStatus::Degraded),
            ) => Ok(S::Degraded),
            (S::Enrolled | S::Active | S::Degraded, E::Revoke(_)) => Ok(S::Revoked),
            (S::Enrolled | S::Active | S::Degraded, E::Decommission) => Ok(S::Decommissioned),
            (from, event) => Err(Refusal::new(
                RefusalCode::InvalidBindingTransition,
                format!("a binding in state {from} cannot take event {event}"),
            )),
        }
    }

    /// Whether the binding can still vouch for its lot.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            BindingState::Enrolled | BindingState::Active | BindingState::Degraded
        )
    }
}

/// What a revocation does to the seal: reasons that mean the key is gone or untrustworthy
/// break the seal; the others retire it cleanly.
pub fn seal_event_for(reason: RevocationReason) -> SealOutcome {
    match reason {
        RevocationReason::TamperDetected
        | RevocationReason::DeviceFailure
        | RevocationReason::KeyCompromise => SealOutcome::Broken,
        RevocationReason::DeviceReplacement
        | RevocationReason::BindingUpgraded
        | RevocationReason::AuthorityRevoked
        | RevocationReason::ObjectDecommissioned => SealOutcome::Retired,
    }
}

/// The seal's end after its binding is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealOutcome {
    /// Seal → Broken (tamper detected).
    Broken,
    /// Seal → Retired (operator decommission).
    Retired,
}
