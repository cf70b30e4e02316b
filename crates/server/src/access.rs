//! Who may read what: the registry is confidential by default.
//!
//! **Public** (no token): checkpoints, leaf hashes, inclusion proofs without the entry,
//! consistency proofs, revocation status, DID documents, the TSA, health, readiness, metrics,
//! the OpenAPI document, and the *public view* of the active reserve set: for each lot only
//! `lotId`, `did`, `didVersion`, `bindingId` and `attestation` (no commodity, quantity, grade,
//! container, location, owner or actor names).
//!
//! **Full view**: the auditor and the admin read every audit entry, lot and seal.
//!
//! **Own view**: an operator reads
//! * the audit entries it is the actor of (`eventData.actor` is its token's subject),
//! * the lots it bound (one of the lot's bindings has `boundBy` equal to its subject), and the
//!   seal currently bound to such a lot or inspected for it,
//! * the details of those lots in `/reserve/active` (other lots in their public view).
//!
//! A lot or seal that is not the operator's own answers exactly as a missing one
//! (`lot_not_found` / `seal_not_found`): its existence is not disclosed either. Other roles
//! (vendor, inspector, verifier) are refused (`role_not_allowed`) on the detail routes and get
//! the public view elsewhere.

use crate::auth::{self, Caller, Role};
use crate::problem::Problem;
use crate::schema::{Attestation, PublicLot};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use cphar_registry::{LotRecord, RefusalCode, SealRecord};
use std::sync::Arc;

/// What a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Everything (auditor, admin).
    Full,
    /// Its own records (operator; the subject).
    Own(String),
    /// The public view (no token, or a role without read rights).
    Public,
}

impl View {
    /// The view of an optional caller.
    pub fn of(caller: Option<&Caller>) -> View {
        match caller.map(|c| (c.role, c)) {
            Some((Role::Auditor | Role::Admin, _)) => View::Full,
            Some((Role::Operator, c)) => View::Own(c.subject.clone()),
            Some((Role::Vendor | Role::Inspector | Role::Verifier, _)) | None => View::Public,
        }
    }

    /// The view of a detail route: the public view is refused (`role_not_allowed`).
    pub fn detail(caller: &Caller) -> Result<View, Problem> {
        auth::require(caller, &[Role::Auditor, Role::Admin, Role::Operator])?;
        Ok(View::of(Some(caller)))
    }

    /// Whether an audit entry (one export line) is shown in this view.
    pub fn sees_entry(&self, line: &str) -> bool {
        match self {
            View::Full => true,
            View::Public => false,
            View::Own(subject) => serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| {
                    v.pointer("/eventData/actor")
                        .and_then(|a| a.as_str())
                        .map(|a| a == subject)
                })
                .unwrap_or(false),
        }
    }
}

/// Whether `view` may see lot `lot_id`'s details (reads its bindings for the own view).
pub async fn sees_lot(s: &AppState, view: &View, lot_id: &str) -> Result<bool, Problem> {
    Ok(match view {
        View::Full => true,
        View::Public => false,
        View::Own(subject) => match s.node.registry.bindings(lot_id).await {
            Ok(bindings) => bindings.iter().any(|b| &b.bound_by == subject),
            Err(cphar_registry::RegistryError::Refused(r))
                if r.kind() == RefusalCode::LotNotFound =>
            {
                false
            }
            Err(e) => return Err(e.into()),
        },
    })
}

/// Which lots of a listed page `view` sees in full, decided with at most one query for the
/// whole page (an operator's own lots), never one per listed lot.
pub struct PageView {
    all: bool,
    own: Vec<String>,
}

impl PageView {
    /// Whether the lot's full record is shown.
    pub fn sees(&self, lot_id: &str) -> bool {
        self.all || self.own.iter().any(|id| id == lot_id)
    }
}

/// The [`PageView`] of `lots` for `view`.
pub async fn own_lots(s: &AppState, view: &View, lots: &[LotRecord]) -> Result<PageView, Problem> {
    Ok(match view {
        View::Full => PageView {
            all: true,
            own: Vec::new(),
        },
        View::Public => PageView {
            all: false,
            own: Vec::new(),
        },
        View::Own(subject) => {
            let ids: Vec<String> = lots.iter().map(|l| l.lot_id.clone()).collect();
            let own = s.node.registry.store().lots_bound_by(subject, &ids).await?;
            PageView { all: false, own }
        }
    })
}

/// The lot, if `view` may see it; else the same answer as for a missing lot.
pub async fn lot(s: &AppState, view: &View, lot_id: &str) -> Result<LotRecord, Problem> {
    let lot = s.node.registry.lot(lot_id).await?;
    if sees_lot(s, view, lot_id).await? {
        Ok(lot)
    } else {
        Err(Problem::new(
            RefusalCode::LotNotFound,
            format!("no lot has id {lot_id}"),
        ))
    }
}

/// The seal, if `view` may see it (an operator: a seal bound to or inspected for one of its
/// lots); else the same answer as for a missing seal.
pub async fn seal(s: &AppState, view: &View, uid: &str) -> Result<SealRecord, Problem> {
    let seal = s.node.registry.seal(uid).await?;
    let visible = match (&view, &seal.lot_id) {
        (View::Full, _) => true,
        (View::Own(_), Some(lot_id)) => sees_lot(s, view, lot_id).await?,
        _ => false,
    };
    if visible {
        Ok(seal)
    } else {
        Err(Problem::new(
            RefusalCode::SealNotFound,
            format!("no seal has device uid {uid}"),
        ))
    }
}

/// An optional caller: no `Authorization` header is the public view; a header that does not
/// authenticate is refused (401) rather than silently downgraded.
pub struct MaybeAuth(pub Option<Caller>);

impl FromRequestParts<Arc<AppState>> for MaybeAuth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Problem> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(MaybeAuth(None));
        }
        let now = state.now()?;
        auth::authenticate(
            &parts.headers,
            state.node.registry.store(),
            &state.tokens,
            now,
            || state.limit_client(crate::extract::peer_of(parts)),
        )
        .await
        .map(|c| MaybeAuth(Some(c)))
    }
}

/// The public view of a listed lot (the active reserve set).
pub fn public_lot(lot: &LotRecord, attestation: Attestation) -> PublicLot {
    PublicLot {
        lot_id: lot.lot_id.clone(),
        did: lot.did.clone(),
        did_version: lot.did_version,
        binding_id: lot.binding_id.clone(),
        attestation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            token_id: "0".into(),
            role,
            subject: "op-1".into(),
            verifier_did: None,
        }
    }

    #[test]
    fn views_by_role() {
        assert_eq!(View::of(None), View::Public);
        assert_eq!(View::of(Some(&caller(Role::Auditor))), View::Full);
        assert_eq!(View::of(Some(&caller(Role::Admin))), View::Full);
        assert_eq!(
            View::of(Some(&caller(Role::Operator))),
            View::Own("op-1".into())
        );
        for role in [Role::Vendor, Role::Inspector, Role::Verifier] {
            assert_eq!(View::of(Some(&caller(role))), View::Public);
            assert!(View::detail(&caller(role)).is_err());
        }
    }

    #[test]
    fn own_entries_are_those_the_operator_is_the_actor_of() {
        let own = View::Own("op-1".into());
        assert!(own.sees_entry(r#"{"eventData":{"actor":"op-1"}}"#));
        assert!(!own.sees_entry(r#"{"eventData":{"actor":"op-2"}}"#));
        assert!(!own.sees_entry(r#"{"eventData":{}}"#));
        assert!(!own.sees_entry("not json"));
        assert!(View::Full.sees_entry("anything"));
        assert!(!View::Public.sees_entry(r#"{"eventData":{"actor":"op-1"}}"#));
    }
}
