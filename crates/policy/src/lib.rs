//! The CPHAR policy engine: versioned rules that turn the facts known at decision time into
//! `allow`, `degrade` or `deny`, each decision carrying the `policy_id`, the `matched_rule_id`
//! and a stable `reason_code` (seed 001, "Policy engine"; seed 002 §4.3.5 for downgrades).
//!
//! Pure and deterministic: the only input is the policy text and a [`PolicyInput`]; no clock,
//! file, socket or randomness. The same policy and input always give the same [`Decision`]
//! and the same JSON bytes.
//!
//! - [`codes`]: [`Effect`], the engine's own codes, reason-code syntax.
//! - [`input`]: [`PolicyInput`], the facts, and [`Fact`], their names in evidence.
//! - [`condition`]: [`Condition`], what each test matches, including on missing facts.
//! - [`engine`]: [`PolicyEngine`] (load, [`PolicyEngine::decide`]) and [`Decision`].
//!
//! # Policy file
//!
//! TOML, or JSON with the same fields. Unknown fields are errors, and so is anything invalid
//! (see [`PolicyError`]); a policy either loads whole or not at all.
//!
//! ```toml
//! policy_id = "cphar-default"   # [A-Za-z0-9][A-Za-z0-9._:-]{0,127}
//! version = 3                   # integer >= 1; the registry only accepts increasing versions
//! description = "optional"
//!
//! [default]                     # optional; omitted = allow / "no_rule_matched"
//! effect = "deny"               # fail closed: deny what no rule recognises
//! reason_code = "no_rule_matched"
//!
//! [[rules]]                     # tried in order; the first match decides
//! id = "gold-min-bal"           # [A-Za-z0-9][A-Za-z0-9._:-]{0,63}, unique: matched_rule_id
//! description = "optional"
//! effect = "deny"               # allow | deny | degrade
//! reason_code = "insufficient_bal"   # [a-z][a-z0-9_]*, at most 64 bytes
//! when = { commodity = "gold", bal_below = "BAL-2" }   # every key must hold
//! ```
//!
//! Condition keys (semantics and missing-fact behaviour: [`Condition`]):
//!
//! | key | value | holds when |
//! | --- | --- | --- |
//! | `commodity` | string | the commodity is exactly this |
//! | `commodity_in` | list of strings | the commodity is one of these |
//! | `bal_below` | `"BAL-1"`…`"BAL-4"` | the BAL is strictly lower (or unknown) |
//! | `attestation_age_over_seconds` | integer | the last attestation is older (or unknown) |
//! | `firmware_in` | list of `alg:value` | the firmware measurement is listed |
//! | `firmware_not_in` | list of `alg:value` | the measurement is not listed (or unknown) |
//! | `offline_over_seconds` | integer | offline for longer than this |
//! | `downgrade` | bool | a BAL downgrade happened / did not |
//! | `downgrade_allowed` | bool | the trust framework authorized it / did not |
//! | `downgrade_reason_in` | list of strings | the downgrade reason is listed |
//! | `device_status` | `operational` \| `degraded` \| `tampered` | the device reports it |
//! | `verifier_did` | list of `did:` patterns, `*` wildcard | the verifier DID matches one |
//! | `all` | list of condition tables | every one holds |
//! | `any` | list of condition tables | at least one holds |
//! | `not` | condition table | it does not hold |
//!
//! Lists must be non-empty and without duplicates; condition tables must be non-empty;
//! `all`/`any`/`not` nest at most [`MAX_CONDITION_DEPTH`] deep.
//!
//! # Default decision
//!
//! Rules describe the cases that need action, so an omitted `[default]` means `allow` with
//! reason `no_rule_matched` and `matched_rule_id` absent. A deployment that wants to fail
//! closed sets `[default] effect = "deny"`. Missing facts are handled per condition, failing
//! closed where a condition guards against a bad state (see [`Condition`]).
//!
//! `crates/policy/examples/default-policy.toml` is a documented example.
//!
//! # Use
//!
//! ```
//! use cphar_policy::{Bal, Effect, PolicyEngine, PolicyInput};
//!
//! let engine = PolicyEngine::from_toml(r#"
//!     policy_id = "reserves"
//!     version = 1
//!     [[rules]]
//!     id = "gold-min-bal"
//!     effect = "deny"
//!     reason_code = "insufficient_bal"
//!     when = { commodity = "gold", bal_below = "BAL-2" }
//! "#)?;
//! let input = PolicyInput {
//!     commodity: Some("gold".into()),
//!     bal: Some(Bal::Bal1),
//!     ..Default::default()
//! };
//! let decision = engine.decide(&input);
//! assert_eq!(decision.effect, Effect::Deny);
//! assert_eq!(decision.matched_rule_id.as_deref(), Some("gold-min-bal"));
//! assert_eq!(
//!     decision.to_json().to_string(),
//!     r#"{"decision":"deny","evidence":{"bal":"BAL-1","commodity":"gold"},"matched_rule_id":"gold-min-bal","policy_id":"reserves","policy_version":1,"reason_code":"insufficient_bal"}"#
//! );
//! # Ok::<(), cphar_policy::PolicyError>(())
//! ```

pub mod codes;
pub mod condition;
pub mod engine;
mod error;
mod file;
pub mod input;

/// Re-exported: the types of [`PolicyInput::bal`] and [`PolicyInput::device_status`].
pub use cphar_protocol::{Bal, DeviceStatus};

pub use codes::{Effect, NO_RULE_MATCHED, is_reason_code};
pub use condition::Condition;
pub use engine::{Decision, PolicyEngine, Rule};
pub use error::PolicyError;
pub use input::{Fact, PolicyInput};

/// The largest policy document accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// How deep `all` / `any` / `not` may nest.
pub const MAX_CONDITION_DEPTH: usize = 8;
