//! The loaded policy ([`PolicyEngine`], [`Rule`]) and what it returns ([`Decision`]).
//!
//! # Evaluation order
//!
//! Rules are tried in file order; the first rule whose `when` holds decides, and later rules
//! are not consulted. Within one `when` table every key must hold (keys are ANDed; their order
//! in the file does not matter). If no rule matches, the policy's default applies and
//! `matched_rule_id` is `None`.
//!
//! [`PolicyEngine::decide`] is a pure function of the engine and the input: no clock, no
//! randomness, no hash-map iteration, so identical inputs give identical decisions and
//! identical JSON bytes.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::codes::Effect;
use crate::condition::Condition;
use crate::error::PolicyError;
use crate::file;
use crate::input::{Fact, PolicyInput};

/// One rule: when `condition` holds, decide `effect` with `reason_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    id: String,
    description: Option<String>,
    condition: Condition,
    effect: Effect,
    reason_code: String,
    facts: BTreeSet<Fact>,
}

impl Rule {
    pub(crate) fn new(
        id: String,
        description: Option<String>,
        condition: Condition,
        effect: Effect,
        reason_code: String,
    ) -> Self {
        let mut facts = BTreeSet::new();
        condition.facts(&mut facts);
        Rule {
            id,
            description,
            condition,
            effect,
            reason_code,
            facts,
        }
    }

    /// The rule id: the `matched_rule_id` of decisions this rule makes.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The author's description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The condition (`when`).
    pub fn condition(&self) -> &Condition {
        &self.condition
    }

    /// The effect when the condition holds.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The stable reason code of decisions this rule makes.
    pub fn reason_code(&self) -> &str {
        &self.reason_code
    }

    /// The facts the condition reads, in [`Fact`] order.
    pub fn facts(&self) -> &BTreeSet<Fact> {
        &self.facts
    }
}

/// A validated, versioned policy ready to decide. Two engines are equal when they decide
/// alike: the JSON form they were read from may differ in member order.
#[derive(Debug, Clone)]
pub struct PolicyEngine {
    policy_id: String,
    version: u64,
    description: Option<String>,
    rules: Vec<Rule>,
    default_effect: Effect,
    default_reason_code: String,
    /// Every fact any rule reads: the evidence of a default decision.
    all_facts: BTreeSet<Fact>,
    /// The JSON form of the policy file it was compiled from.
    pub(crate) document: String,
}

impl PartialEq for PolicyEngine {
    fn eq(&self, other: &Self) -> bool {
        self.policy_id == other.policy_id
            && self.version == other.version
            && self.description == other.description
            && self.rules == other.rules
            && self.default_effect == other.default_effect
            && self.default_reason_code == other.default_reason_code
    }
}

impl Eq for PolicyEngine {}

impl PolicyEngine {
    pub(crate) fn new(
        policy_id: String,
        version: u64,
        description: Option<String>,
        rules: Vec<Rule>,
        default_effect: Effect,
        default_reason_code: String,
    ) -> Self {
        let all_facts = rules.iter().flat_map(|r| r.facts.iter().copied()).collect();
        PolicyEngine {
            policy_id,
            version,
            description,
            rules,
            default_effect,
            default_reason_code,
            all_facts,
            document: String::new(),
        }
    }

    /// The policy document in its JSON form (the same fields as the file): what the registry
    /// stores, so that the policy in force survives restarts and is shared by every server.
    pub fn document_json(&self) -> &str {
        &self.document
    }

    /// Loads and validates a TOML policy (format in the crate docs).
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        file::from_toml(text)
    }

    /// Loads and validates a JSON policy: the same fields as TOML.
    pub fn from_json(text: &str) -> Result<Self, PolicyError> {
        file::from_json(text)
    }

    /// The policy id (`policy_id` in telemetry).
    pub fn policy_id(&self) -> &str {
        &self.policy_id
    }

    /// The policy version (greater is newer).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The author's description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The rules, in evaluation order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The effect when no rule matches.
    pub fn default_effect(&self) -> Effect {
        self.default_effect
    }

    /// The reason code when no rule matches.
    pub fn default_reason_code(&self) -> &str {
        &self.default_reason_code
    }

    /// Decides on `input`: the first matching rule, else the default (see the module docs).
    pub fn decide(&self, input: &PolicyInput) -> Decision {
        let (effect, matched_rule_id, reason_code, facts) =
            match self.rules.iter().find(|r| r.condition.matches(input)) {
                Some(rule) => (
                    rule.effect,
                    Some(rule.id.clone()),
                    rule.reason_code.clone(),
                    &rule.facts,
                ),
                None => (
                    self.default_effect,
                    None,
                    self.default_reason_code.clone(),
                    &self.all_facts,
                ),
            };
        let evidence: Map<String, Value> = facts
            .iter()
            .map(|f| (f.as_str().to_owned(), f.value(input)))
            .collect();
        Decision {
            effect,
            policy_id: self.policy_id.clone(),
            policy_version: self.version,
            matched_rule_id,
            reason_code,
            evidence: Value::Object(evidence),
        }
    }
}

/// The outcome of [`PolicyEngine::decide`]: what to do, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allow, degrade or deny.
    pub effect: Effect,
    /// The deciding policy.
    pub policy_id: String,
    /// Its version.
    pub policy_version: u64,
    /// The rule that matched; `None` when the default applied.
    pub matched_rule_id: Option<String>,
    /// The stable reason code.
    pub reason_code: String,
    /// The input facts that mattered: an object mapping [`Fact`] names to their values
    /// (`null` when missing), in [`Fact`] order. For a rule, the facts its condition reads;
    /// for the default, every fact any rule reads (all of them were found not to match).
    pub evidence: Value,
}

impl Decision {
    /// Whether the effect is [`Effect::Allow`].
    pub fn is_allow(&self) -> bool {
        self.effect == Effect::Allow
    }

    /// The decision with seed 001's telemetry field names: `decision`, `evidence`,
    /// `matched_rule_id` (`null` for the default), `policy_id`, `policy_version`,
    /// `reason_code` — inserted in that (alphabetical) order.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("decision".into(), self.effect.as_str().into());
        m.insert("evidence".into(), self.evidence.clone());
        m.insert(
            "matched_rule_id".into(),
            self.matched_rule_id
                .clone()
                .map_or(Value::Null, Value::String),
        );
        m.insert("policy_id".into(), self.policy_id.clone().into());
        m.insert("policy_version".into(), self.policy_version.into());
        m.insert("reason_code".into(), self.reason_code.clone().into());
        Value::Object(m)
    }
}
