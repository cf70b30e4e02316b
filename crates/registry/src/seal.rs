//! The seal lifecycle of seed 000, exactly its state diagram:
//!
//! ```text
//! Manufactured --vendor attestation accepted--> Registered
//! Registered   --inspector verifies lot-------> Inspected
//! Inspected    --seal attached, binding-------> Sealed
//! Sealed       --challenge-response success---> Attested
//! Attested     --next challenge cycle---------> Sealed
//! Sealed       --tamper detected--------------> Broken     (terminal)
//! Attested     --tamper detected--------------> Broken     (terminal)
//! Sealed       --operator decommission--------> Retired    (terminal)
//! ```
//!
//! `Manufactured` exists only before registration: the registry first sees a seal when its
//! vendor attestation is accepted, so every stored seal starts in `Registered`.

use crate::codes::RefusalCode;
use crate::error::Refusal;

cphar_protocol::wire_enum! {
    /// Where a seal is in its life.
    SealState {
        /// Provisioned by the vendor; not yet known to the registry.
        Manufactured => "manufactured",
        /// Vendor attestation accepted; no lot yet.
        Registered => "registered",
        /// Presented with an inspected lot; waiting to be attached and bound.
        Inspected => "inspected",
        /// Attached and bound; no attestation in the current cycle.
        Sealed => "sealed",
        /// Answered a challenge correctly in the current cycle.
        Attested => "attested",
        /// Tamper detected; the key is destroyed or disabled. Terminal.
        Broken => "broken",
        /// Decommissioned by the operator. Terminal.
        Retired => "retired",
    }
}

cphar_protocol::wire_enum! {
    /// What happens to a seal: the labels of the seed 000 state diagram.
    SealEvent {
        /// The vendor's attestation evidence was accepted at registration.
        VendorAttestationAccepted => "vendor_attestation_accepted",
        /// An inspector verified the lot the seal is to close.
        LotInspected => "lot_inspected",
        /// The seal was attached and the registry bound it to the lot.
        Bound => "bound",
        /// A challenge-response succeeded.
        ChallengeSucceeded => "challenge_succeeded",
        /// The attestation cycle ended; the next challenge is due.
        CycleClosed => "cycle_closed",
        /// Tamper was detected (or the key is otherwise lost).
        TamperDetected => "tamper_detected",
        /// The operator decommissioned the seal.
        Decommissioned => "decommissioned",
    }
}

impl SealState {
    /// The state after `event`, or a refusal if the diagram has no such edge.
    ///
    /// Consumes the old state: the only way to a new state is through this table.
    pub fn on(self, event: SealEvent) -> Result<SealState, Refusal> {
        use SealEvent as E;
        use SealState as S;
        match (self, event) {
            (S::Manufactured, E::VendorAttestationAccepted) => Ok(S::Registered),
            (S::Registered, E::LotInspected) => Ok(S::Inspected),
            (S::Inspected, E::Bound) => Ok(S::Sealed),
            (S::Sealed, E::ChallengeSucceeded) => Ok(S::Attested),
            (S::Attested, E::CycleClosed) => Ok(S::Sealed),
            (S::Sealed | S::Attested, E::TamperDetected) => Ok(S::Broken),
            (S::Sealed, E::Decommissioned) => Ok(S::Retired),
            (from, event) => Err(Refusal::new(
                RefusalCode::InvalidSealTransition,
                format!("a seal in state {from} cannot take event {event}"),
            )),
        }
    }

    /// Terminal states admit no event.
    pub fn is_terminal(self) -> bool {
        matches!(self, SealState::Broken | SealState::Retired)
    }

    /// Whether a seal in this state can vouch for its lot (seed 000: Sealed or Attested).
    pub fn is_intact(self) -> bool {
        matches!(self, SealState::Sealed | SealState::Attested)
    }
}
