//! Why a policy file was refused ([`PolicyError`]).

/// Why a policy document was refused. Every variant names the rule (by id, or by position
/// when the id itself is the problem) so the author can find the mistake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The document is larger than [`crate::MAX_POLICY_BYTES`].
    #[error("policy document is {0} bytes; the limit is {max}", max = crate::MAX_POLICY_BYTES)]
    TooLarge(usize),
    /// The TOML does not parse or does not have the expected shape (including unknown fields,
    /// missing fields and wrong types).
    #[error("policy TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// The JSON does not parse or does not have the expected shape (including unknown fields,
    /// duplicate fields, missing fields and wrong types).
    #[error("policy JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `policy_id` is empty or outside `[A-Za-z0-9][A-Za-z0-9._:-]{0,127}`.
    #[error("invalid policy_id {0:?}: expected [A-Za-z0-9][A-Za-z0-9._:-]{{0,127}}")]
    InvalidPolicyId(String),
    /// `version` is 0; versions start at 1 so that every policy is newer than "none".
    #[error("invalid policy version 0: versions start at 1")]
    InvalidVersion,
    /// A rule id that is empty or outside `[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`.
    #[error("rule {index}: invalid id {id:?}: expected [A-Za-z0-9][A-Za-z0-9._:-]{{0,63}}")]
    InvalidRuleId {
        /// Zero-based position of the rule.
        index: usize,
        /// The id as written.
        id: String,
    },
    /// Two rules with the same id: `matched_rule_id` must name one rule.
    #[error("rule id {0:?} is used twice")]
    DuplicateRuleId(String),
    /// An `effect` other than `allow`, `deny`, `degrade`.
    #[error("{rule}: invalid effect {value:?}: expected allow, deny or degrade")]
    InvalidEffect {
        /// The rule id, or `default`.
        rule: String,
        /// The effect as written.
        value: String,
    },
    /// A `reason_code` outside `[a-z][a-z0-9_]*` (at most 64 bytes).
    #[error("{rule}: invalid reason_code {value:?}: expected [a-z][a-z0-9_]*, at most 64 bytes")]
    InvalidReasonCode {
        /// The rule id, or `default`.
        rule: String,
        /// The code as written.
        value: String,
    },
    /// A condition table with no condition in it (`when = {}`, `not = {}`, `all = []`…).
    #[error(
        "rule {rule:?}: empty condition (a rule needs at least one test; use [default] for a catch-all)"
    )]
    EmptyCondition {
        /// The rule id.
        rule: String,
    },
    /// `all` / `any` / `not` nested deeper than [`crate::MAX_CONDITION_DEPTH`].
    #[error("rule {rule:?}: conditions nested deeper than {max}", max = crate::MAX_CONDITION_DEPTH)]
    TooDeep {
        /// The rule id.
        rule: String,
    },
    /// A condition value that is not acceptable: an unknown BAL or device status, an empty list
    /// or string, a duplicate list entry, a DID pattern not starting with `did:`, control
    /// characters, over-long text.
    #[error("rule {rule:?}: {field}: {detail}")]
    InvalidValue {
        /// The rule id.
        rule: String,
        /// The condition key, e.g. `bal_below`.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A `description` that is too long or contains control characters other than newline
    /// and tab.
    #[error("{rule}: description must be at most 1024 characters without control characters")]
    InvalidDescription {
        /// The rule id, or `policy`.
        rule: String,
    },
}
