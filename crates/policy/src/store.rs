//! The active policy of a running server ([`PolicyStore`]): atomic replacement, change reports
//! for the audit log, and anti-rollback.
//!
//! Readers take an `Arc` of the active engine and decide without holding the lock, so a
//! replacement never blocks or tears a decision in progress: a decision is made wholly by the
//! old policy or wholly by the new one.
//!
//! Anti-rollback keeps a high-water mark per `policy_id`: the highest version ever active in
//! this store. A policy is refused unless its version is greater than its id's mark, so
//! switching to another policy id and back cannot bring an old version back either. The server
//! persists [`PolicyStore::high_water_marks`] and hands them to
//! [`PolicyStore::with_high_water_marks`] on restart.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::{Map, Value};

use crate::codes::ChangeRefusal;
use crate::engine::{Decision, PolicyEngine};
use crate::input::PolicyInput;

struct State {
    active: Arc<PolicyEngine>,
    high_water: BTreeMap<String, u64>,
}

/// Holds the active [`PolicyEngine`]; safe to share between threads.
pub struct PolicyStore {
    state: RwLock<State>,
}

impl std::fmt::Debug for PolicyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.read();
        f.debug_struct("PolicyStore")
            .field("policy_id", &state.active.policy_id())
            .field("version", &state.active.version())
            .field("high_water", &state.high_water)
            .finish()
    }
}

/// A policy as named in change reports and refusals.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyRef {
    /// `policy_id`.
    pub policy_id: String,
    /// `version`.
    pub version: u64,
}

impl PolicyRef {
    fn of(engine: &PolicyEngine) -> Self {
        PolicyRef {
            policy_id: engine.policy_id().to_owned(),
            version: engine.version(),
        }
    }
}

/// A completed policy replacement, to be written to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChange {
    /// The policy that was active before.
    pub old: PolicyRef,
    /// The policy active now.
    pub new: PolicyRef,
}

impl PolicyChange {
    /// `{"new_policy_id", "new_policy_version", "old_policy_id", "old_policy_version"}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("new_policy_id".into(), self.new.policy_id.clone().into());
        m.insert("new_policy_version".into(), self.new.version.into());
        m.insert("old_policy_id".into(), self.old.policy_id.clone().into());
        m.insert("old_policy_version".into(), self.old.version.into());
        Value::Object(m)
    }
}

/// Why a policy was not activated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyChangeError {
    /// Anti-rollback: `offered` is not greater than `stored`, the highest version of this
    /// policy id ever active here.
    #[error(
        "policy {policy_id:?} version {offered} refused: version {stored} was already active \
         ({code})",
        code = ChangeRefusal::VersionNotNewer
    )]
    VersionNotNewer {
        /// The policy id.
        policy_id: String,
        /// The version offered (`rc_seen`).
        offered: u64,
        /// The high-water mark (`rc_stored`).
        stored: u64,
    },
}

impl PolicyChangeError {
    /// The stable code of this refusal.
    pub fn code(&self) -> ChangeRefusal {
        match self {
            PolicyChangeError::VersionNotNewer { .. } => ChangeRefusal::VersionNotNewer,
        }
    }

    /// The refusal with seed 001's anti-rollback field names: `policy_id`, `rc_seen`,
    /// `rc_stored`, `reason_code` (alphabetical order).
    pub fn to_json(&self) -> Value {
        let PolicyChangeError::VersionNotNewer {
            policy_id,
            offered,
            stored,
        } = self;
        let mut m = Map::new();
        m.insert("policy_id".into(), policy_id.clone().into());
        m.insert("rc_seen".into(), (*offered).into());
        m.insert("rc_stored".into(), (*stored).into());
        m.insert("reason_code".into(), self.code().as_str().into());
        Value::Object(m)
    }
}

impl PolicyStore {
    /// A store whose active policy is `initial`.
    pub fn new(initial: PolicyEngine) -> Self {
        let high_water = BTreeMap::from([(initial.policy_id().to_owned(), initial.version())]);
        PolicyStore {
            state: RwLock::new(State {
                active: Arc::new(initial),
                high_water,
            }),
        }
    }

    /// A store restored after a restart: `marks` are the persisted high-water marks. Refuses
    /// an `initial` policy whose version is below its id's mark; the marked version itself is
    /// accepted (it is the policy that was active before the restart).
    pub fn with_high_water_marks(
        initial: PolicyEngine,
        marks: impl IntoIterator<Item = (String, u64)>,
    ) -> Result<Self, PolicyChangeError> {
        let mut high_water: BTreeMap<String, u64> = BTreeMap::new();
        for (id, version) in marks {
            let mark = high_water.entry(id).or_insert(version);
            *mark = (*mark).max(version);
        }
        let id = initial.policy_id().to_owned();
        let version = initial.version();
        match high_water.get(&id) {
            Some(&stored) if version < stored => {
                return Err(PolicyChangeError::VersionNotNewer {
                    policy_id: id,
                    offered: version,
                    stored,
                });
            }
            _ => {
                high_water.insert(id, version);
            }
        }
        Ok(PolicyStore {
            state: RwLock::new(State {
                active: Arc::new(initial),
                high_water,
            }),
        })
    }

    /// The active policy. Cheap; hold it for as long as one decision takes.
    pub fn active(&self) -> Arc<PolicyEngine> {
        Arc::clone(&self.state.read().active)
    }

    /// Decides with the active policy.
    pub fn decide(&self, input: &PolicyInput) -> Decision {
        self.active().decide(input)
    }

    /// Makes `new` the active policy, atomically, unless its version is not greater than the
    /// high-water mark of its `policy_id`. Returns the change to audit.
    pub fn replace(&self, new: PolicyEngine) -> Result<PolicyChange, PolicyChangeError> {
        let mut state = self.state.write();
        let new_ref = PolicyRef::of(&new);
        if let Some(&stored) = state.high_water.get(&new_ref.policy_id)
            && new_ref.version <= stored
        {
            return Err(PolicyChangeError::VersionNotNewer {
                policy_id: new_ref.policy_id,
                offered: new_ref.version,
                stored,
            });
        }
        let old = PolicyRef::of(&state.active);
        state
            .high_water
            .insert(new_ref.policy_id.clone(), new_ref.version);
        state.active = Arc::new(new);
        Ok(PolicyChange { old, new: new_ref })
    }

    /// The highest version ever active, per policy id (persist these across restarts).
    pub fn high_water_marks(&self) -> BTreeMap<String, u64> {
        self.state.read().high_water.clone()
    }
}
