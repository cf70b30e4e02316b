//! The two lifecycles as tables: every (state, event) pair is either exactly an edge of the
//! seed's diagram or refused with its stable code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_protocol::{DeviceStatus, RevocationReason};
use cphar_registry::binding::{BindingEvent, SealOutcome, seal_event_for};
use cphar_registry::seal::{SealEvent, SealState};
use cphar_registry::{BindingState, RefusalCode};

/// Seed 000's state diagram, edge by edge.
const SEAL_EDGES: &[(SealState, SealEvent, SealState)] = &[
    (
        SealState::Manufactured,
        SealEvent::VendorAttestationAccepted,
        SealState::Registered,
    ),
    (
        SealState::Registered,
        SealEvent::LotInspected,
        SealState::Inspected,
    ),
    (SealState::Inspected, SealEvent::Bound, SealState::Sealed),
    (
        SealState::Sealed,
        SealEvent::ChallengeSucceeded,
        SealState::Attested,
    ),
    (
        SealState::Attested,
        SealEvent::CycleClosed,
        SealState::Sealed,
    ),
    (
        SealState::Sealed,
        SealEvent::TamperDetected,
        SealState::Broken,
    ),
    (
        SealState::Attested,
        SealEvent::TamperDetected,
        SealState::Broken,
    ),
    (
        SealState::Sealed,
        SealEvent::Decommissioned,
        SealState::Retired,
    ),
];

#[test]
fn seal_lifecycle_is_exactly_the_seed_diagram() {
    let mut allowed = 0;
    for &from in SealState::ALL {
        for &event in SealEvent::ALL {
            let expected = SEAL_EDGES
                .iter()
                .find(|(f, e, _)| *f == from && *e == event)
                .map(|(_, _, to)| *to);
            match (from.on(event), expected) {
                (Ok(to), Some(want)) => {
                    assert_eq!(to, want, "{from} --{event}-->");
                    allowed += 1;
                }
                (Err(refusal), None) => {
                    assert_eq!(refusal.kind(), RefusalCode::InvalidSealTransition);
                    assert_eq!(refusal.code(), "invalid_seal_transition");
                    assert!(
                        refusal.message().contains(from.as_str()),
                        "{}",
                        refusal.message()
                    );
                }
                (got, want) => panic!("{from} --{event}--> gave {got:?}, diagram says {want:?}"),
            }
        }
    }
    assert_eq!(allowed, SEAL_EDGES.len());
    assert_eq!(
        SealState::ALL.len() * SealEvent::ALL.len() - allowed,
        41,
        "refused pairs"
    );
}

#[test]
fn terminal_and_intact_seal_states() {
    for &s in SealState::ALL {
        assert_eq!(
            s.is_terminal(),
            matches!(s, SealState::Broken | SealState::Retired),
            "{s}"
        );
        assert_eq!(
            s.is_intact(),
            matches!(s, SealState::Sealed | SealState::Attested),
            "{s}"
        );
        if s.is_terminal() {
            assert!(
                SealEvent::ALL.iter().all(|&e| s.on(e).is_err()),
                "{s} must admit no event"
            );
        }
    }
}

fn binding_events() -> Vec<BindingEvent> {
    let mut events = vec![
        BindingEvent::ChallengeSucceeded(DeviceStatus::Operational),
        BindingEvent::ChallengeSucceeded(DeviceStatus::Degraded),
        BindingEvent::ChallengeSucceeded(DeviceStatus::Tampered),
        BindingEvent::Decommission,
    ];
    events.extend(
        RevocationReason::ALL
            .iter()
            .map(|&r| BindingEvent::Revoke(r)),
    );
    events
}

/// Seed 002 §7, as the registry applies it.
fn binding_edge(from: BindingState, event: BindingEvent) -> Option<BindingState> {
    use BindingState as S;
    let live = matches!(from, S::Enrolled | S::Active | S::Degraded);
    match event {
        BindingEvent::ChallengeSucceeded(DeviceStatus::Operational) if live => Some(S::Active),
        BindingEvent::ChallengeSucceeded(DeviceStatus::Degraded) if live => Some(S::Degraded),
        BindingEvent::Revoke(_) if live => Some(S::Revoked),
        BindingEvent::Decommission if live => Some(S::Decommissioned),
        _ => None,
    }
}

#[test]
fn binding_lifecycle_follows_seed_002_section_7() {
    for &from in BindingState::ALL {
        for event in binding_events() {
            match (from.on(event), binding_edge(from, event)) {
                (Ok(to), Some(want)) => assert_eq!(to, want, "{from} --{event}-->"),
                (Err(refusal), None) => assert_eq!(refusal.code(), "invalid_binding_transition"),
                (got, want) => panic!("{from} --{event}--> gave {got:?}, expected {want:?}"),
            }
        }
    }
    // The named edges of the seed's table.
    use BindingState as S;
    assert_eq!(
        S::Enrolled
            .on(BindingEvent::ChallengeSucceeded(DeviceStatus::Operational))
            .ok(),
        Some(S::Active)
    );
    assert_eq!(
        S::Active
            .on(BindingEvent::ChallengeSucceeded(DeviceStatus::Degraded))
            .ok(),
        Some(S::Degraded)
    );
    assert_eq!(
        S::Degraded
            .on(BindingEvent::ChallengeSucceeded(DeviceStatus::Operational))
            .ok(),
        Some(S::Active)
    );
    assert_eq!(
        S::Enrolled
            .on(BindingEvent::Revoke(RevocationReason::KeyCompromise))
            .ok(),
        Some(S::Revoked),
        "pre-operational compromise"
    );
    // A tampered device never counts as a successful challenge.
    assert!(
        S::Active
            .on(BindingEvent::ChallengeSucceeded(DeviceStatus::Tampered))
            .is_err()
    );
}

#[test]
fn every_revocation_reason_has_one_seal_outcome() {
    for &reason in RevocationReason::ALL {
        let want = match reason {
            RevocationReason::TamperDetected
            | RevocationReason::DeviceFailure
            | RevocationReason::KeyCompromise => SealOutcome::Broken,
            _ => SealOutcome::Retired,
        };
        assert_eq!(seal_event_for(reason), want, "{reason}");
    }
    assert_eq!(RevocationReason::ALL.len(), 7);
}
