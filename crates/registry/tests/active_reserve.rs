//! The active reserve set rule, clause by clause.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use cphar_protocol::{Bal, RevocationReason, Timestamp};
use cphar_registry::model::{
    BindingRecord, Lapse, LapseReason, RevocationMark, SignOff, in_active_reserve,
};
use cphar_registry::{BindingState, SealState};
use serde_json::json;

fn binding() -> BindingRecord {
    let t = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
    BindingRecord {
        id: "did:web:r:lots:L#seal-1".into(),
        number: 1,
        lot_id: "L".into(),
        seal_uid: "S".into(),
        public_jwk: json!({}),
        state: BindingState::Active,
        bal: Bal::Bal2,
        bound_by: "operator".into(),
        inspection_id: "insp-1".into(),
        sign_off: Some(SignOff {
            auditor: "auditor".into(),
            at: t,
        }),
        revocation: None,
        authority_key_id: "did:web:r#ea-1".into(),
        bea: json!({}),
        reenroll_deadline: None,
        enrolled_at: t,
        status_index: None,
        version: 1,
    }
}

#[test]
fn active_exactly_when_signed_off_live_unrevoked_intact_and_fresh() {
    let t = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
    let lapses = [
        None,
        Some(Lapse {
            reason: LapseReason::AttestationOverdue,
            since: t,
        }),
        Some(Lapse {
            reason: LapseReason::DeviceUnreachable,
            since: t,
        }),
    ];
    for lapse in &lapses {
        for &seal in SealState::ALL {
            for &state in BindingState::ALL {
                for signed in [false, true] {
                    for revoked in [false, true] {
                        for suspended in [false, true] {
                            let mut b = binding();
                            b.state = state;
                            if !signed {
                                b.sign_off = None;
                            }
                            if revoked {
                                b.revocation = Some(RevocationMark {
                                    reason: RevocationReason::TamperDetected,
                                    at: t,
                                });
                            }
                            if suspended {
                                b.reenroll_deadline = Some(t);
                            }
                            let want = signed
                                && lapse.is_none()
                                && !revoked
                                && !suspended
                                && matches!(
                                    state,
                                    BindingState::Enrolled
                                        | BindingState::Active
                                        | BindingState::Degraded
                                )
                                && matches!(seal, SealState::Sealed | SealState::Attested);
                            assert_eq!(
                                in_active_reserve(Some(&b), Some(seal), lapse.as_ref()),
                                want,
                                "{seal} {state} {signed} {revoked} {suspended} {lapse:?}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(!in_active_reserve(None, Some(SealState::Sealed), None));
    assert!(!in_active_reserve(Some(&binding()), None, None));
}
