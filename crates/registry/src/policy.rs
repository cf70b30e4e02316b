//! The policy in force (seed 001's policy engine) as registry state.
//!
//! Every policy version ever installed, the one in force and, per policy id, the highest
//! version ever installed (the anti-rollback mark) live in the database: a restart cannot
//! revert the policy, and every server sharing the database decides with the same one. A
//! policy is put in force only if its version is above its id's mark, so switching to
//! another policy id and back cannot bring an old version back either.

use crate::codes::RefusalCode;
use crate::decide::Ctx;
use crate::error::Refusal;
use crate::event::{EventType, RegistryEvent};
use crate::store::{ChangeSet, PolicyInstall, PolicyState};
use cphar_policy::PolicyEngine;
use serde_json::json;

/// A policy id and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    /// The policy id.
    pub policy_id: String,
    /// Its version.
    pub version: u64,
}

/// A policy put in force, and the one it replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    /// The policy in force before (none at the first installation).
    pub old: Option<PolicyRef>,
    /// The policy in force now.
    pub new: PolicyRef,
}

impl PolicyChange {
    /// The seed 001 telemetry fields of the change.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "new_policy_id": self.new.policy_id,
            "new_policy_version": self.new.version,
            "old_policy_id": self.old.as_ref().map(|o| o.policy_id.clone()),
            "old_policy_version": self.old.as_ref().map(|o| o.version),
        })
    }
}

/// Decides putting `engine` in force over `state`: refused unless its version is above
/// every version of its id ever installed.
pub fn install(
    state: &PolicyState,
    engine: &PolicyEngine,
    ctx: Ctx<'_>,
) -> Result<(ChangeSet, PolicyChange), Refusal> {
    let new = PolicyRef {
        policy_id: engine.policy_id().to_owned(),
        version: engine.version(),
    };
    if let Some((_, mark)) = state.high_water.iter().find(|(id, _)| *id == new.policy_id)
        && *mark >= new.version
    {
        return Err(Refusal::new(
            RefusalCode::PolicyVersionNotNewer,
            format!(
                "policy {} version {} refused: version {mark} was already in force",
                new.policy_id, new.version
            ),
        ));
    }
    let old = state.in_force.as_ref().map(|p| PolicyRef {
        policy_id: p.policy_id.clone(),
        version: p.version,
    });
    let change = PolicyChange { old, new };
    let installed_ns = i64::try_from(ctx.now.unix_nanos()).unwrap_or(i64::MAX);
    let changes = ChangeSet {
        policy: Some(PolicyInstall {
            policy_id: change.new.policy_id.clone(),
            version: change.new.version,
            document: engine.document_json().to_owned(),
            installed_ns,
            replaces: state.in_force.as_ref().map_or(0, |p| p.revision),
        }),
        events: vec![RegistryEvent {
            event_type: EventType::PolicyChanged,
            subject: "policy".into(),
            actor: ctx.actor.to_owned(),
            at: ctx.now,
            reason_code: None,
            data: change.to_json(),
        }],
        ..ChangeSet::default()
    };
    Ok((changes, change))
}

/// What to do with the policy a server is started with, given the one in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPolicy {
    /// Put the configured policy in force (none is, or it is newer than every version).
    Install,
    /// The configured policy is already in force.
    AlreadyInForce,
    /// The database holds a policy at least as new: it stays in force (a restart with an
    /// older file never rolls the policy back).
    KeepInForce(PolicyRef),
}

/// Decides what a server started with `configured` does with it.
pub fn at_startup(state: &PolicyState, configured: &PolicyEngine) -> StartupPolicy {
    let in_force = state.in_force.as_ref().map(|p| PolicyRef {
        policy_id: p.policy_id.clone(),
        version: p.version,
    });
    let mark = state
        .high_water
        .iter()
        .find(|(id, _)| id == configured.policy_id())
        .map(|(_, v)| *v);
    match (in_force, mark) {
        (Some(p), _)
            if p.policy_id == configured.policy_id() && p.version == configured.version() =>
        {
            StartupPolicy::AlreadyInForce
        }
        (None, None) => StartupPolicy::Install,
        (_, Some(m)) if m >= configured.version() => match state.in_force.as_ref() {
            Some(p) => StartupPolicy::KeepInForce(PolicyRef {
                policy_id: p.policy_id.clone(),
                version: p.version,
            }),
            None => StartupPolicy::Install,
        },
        _ => StartupPolicy::Install,
    }
}
