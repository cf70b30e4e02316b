//! The policy file format (TOML or JSON, same fields) and its validation.
//!
//! This module owns the serde shapes of the file (private) and turns them into a checked
//! [`PolicyEngine`]. Nothing half-valid gets out: every refusal is a [`PolicyError`].

use std::collections::{BTreeSet, HashSet};

use cphar_protocol::{Bal, DeviceStatus};
use serde::{Deserialize, Serialize};

use crate::codes::{Effect, NO_RULE_MATCHED, is_reason_code};
use crate::condition::Condition;
use crate::engine::{PolicyEngine, Rule};
use crate::error::PolicyError;
use crate::{MAX_CONDITION_DEPTH, MAX_POLICY_BYTES};

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    policy_id: String,
    version: u64,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    default: Option<DefaultFile>,
    #[serde(default)]
    rules: Vec<RuleFile>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DefaultFile {
    effect: String,
    reason_code: String,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    #[serde(default)]
    description: Option<String>,
    when: WhenFile,
    effect: String,
    reason_code: String,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct WhenFile {
    commodity: Option<String>,
    commodity_in: Option<Vec<String>>,
    bal_below: Option<String>,
    attestation_age_over_seconds: Option<u64>,
    firmware_in: Option<Vec<String>>,
    firmware_not_in: Option<Vec<String>>,
    offline_over_seconds: Option<u64>,
    downgrade: Option<bool>,
    downgrade_allowed: Option<bool>,
    downgrade_reason_in: Option<Vec<String>>,
    device_status: Option<String>,
    verifier_did: Option<Vec<String>>,
    all: Option<Vec<WhenFile>>,
    any: Option<Vec<WhenFile>>,
    not: Option<Box<WhenFile>>,
}

pub(crate) fn from_toml(text: &str) -> Result<PolicyEngine, PolicyError> {
    check_size(text)?;
    with_document(toml::from_str(text)?)
}

pub(crate) fn from_json(text: &str) -> Result<PolicyEngine, PolicyError> {
    check_size(text)?;
    with_document(serde_json::from_str(text)?)
}

/// Compiles `file` and keeps its JSON form (what the registry stores and serves), whichever
/// format it was read from.
fn with_document(file: PolicyFile) -> Result<PolicyEngine, PolicyError> {
    let document = serde_json::to_string(&file)?;
    let mut engine = compile(file)?;
    engine.document = document;
    Ok(engine)
}

fn check_size(text: &str) -> Result<(), PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge(text.len()));
    }
    Ok(())
}

fn compile(file: PolicyFile) -> Result<PolicyEngine, PolicyError> {
    if !is_identifier(&file.policy_id, 128) {
        return Err(PolicyError::InvalidPolicyId(file.policy_id));
    }
    if file.version == 0 {
        return Err(PolicyError::InvalidVersion);
    }
    check_description(file.description.as_deref(), "policy")?;
    let (default_effect, default_reason) = match file.default {
        Some(d) => (
            effect(&d.effect, "default")?,
            reason_code(d.reason_code, "default")?,
        ),
        None => (Effect::Allow, NO_RULE_MATCHED.to_owned()),
    };
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(file.rules.len());
    for (index, rule) in file.rules.into_iter().enumerate() {
        if !is_identifier(&rule.id, 64) {
            return Err(PolicyError::InvalidRuleId { index, id: rule.id });
        }
        if !seen.insert(rule.id.clone()) {
            return Err(PolicyError::DuplicateRuleId(rule.id));
        }
        let id = rule.id;
        check_description(rule.description.as_deref(), &id)?;
        let effect = effect(&rule.effect, &id)?;
        let reason_code = reason_code(rule.reason_code, &id)?;
        let condition = condition(rule.when, &id, 0)?;
        rules.push(Rule::new(
            id,
            rule.description,
            condition,
            effect,
            reason_code,
        ));
    }
    Ok(PolicyEngine::new(
        file.policy_id,
        file.version,
        file.description,
        rules,
        default_effect,
        default_reason,
    ))
}

fn effect(value: &str, rule: &str) -> Result<Effect, PolicyError> {
    value.parse().map_err(|_| PolicyError::InvalidEffect {
        rule: rule.to_owned(),
        value: value.to_owned(),
    })
}

fn reason_code(value: String, rule: &str) -> Result<String, PolicyError> {
    if is_reason_code(&value) {
        Ok(value)
    } else {
        Err(PolicyError::InvalidReasonCode {
            rule: rule.to_owned(),
            value,
        })
    }
}

/// `[A-Za-z0-9][A-Za-z0-9._:-]{0,max-1}`.
fn is_identifier(s: &str, max: usize) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.len() <= max
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn check_description(d: Option<&str>, rule: &str) -> Result<(), PolicyError> {
    let ok = d.is_none_or(|d| {
        d.chars().count() <= 1024 && d.chars().all(|c| !c.is_control() || c == '\n' || c == '\t')
    });
    if ok {
        Ok(())
    } else {
        Err(PolicyError::InvalidDescription {
            rule: rule.to_owned(),
        })
    }
}

fn condition(when: WhenFile, rule: &str, depth: usize) -> Result<Condition, PolicyError> {
    if depth > MAX_CONDITION_DEPTH {
        return Err(PolicyError::TooDeep {
            rule: rule.to_owned(),
        });
    }
    let bad = |field: &'static str, detail: String| PolicyError::InvalidValue {
        rule: rule.to_owned(),
        field,
        detail,
    };
    // Keys are compiled in a fixed order, whatever their order in the file.
    let mut out = Vec::new();
    if let Some(c) = when.commodity {
        out.push(Condition::Commodity(
            text(c, "commodity", 128).map_err(|d| bad("commodity", d))?,
        ));
    }
    if let Some(list) = when.commodity_in {
        out.push(Condition::CommodityIn(
            text_set(list, 128).map_err(|d| bad("commodity_in", d))?,
        ));
    }
    if let Some(b) = when.bal_below {
        let bal: Bal = b.parse().map_err(|_| {
            bad(
                "bal_below",
                format!("{b:?} is not BAL-1, BAL-2, BAL-3 or BAL-4"),
            )
        })?;
        out.push(Condition::BalBelow(bal));
    }
    if let Some(n) = when.attestation_age_over_seconds {
        out.push(Condition::AttestationAgeOver(n));
    }
    if let Some(list) = when.firmware_in {
        out.push(Condition::FirmwareIn(
            measurement_set(list).map_err(|d| bad("firmware_in", d))?,
        ));
    }
    if let Some(list) = when.firmware_not_in {
        out.push(Condition::FirmwareNotIn(
            measurement_set(list).map_err(|d| bad("firmware_not_in", d))?,
        ));
    }
    if let Some(n) = when.offline_over_seconds {
        out.push(Condition::OfflineOver(n));
    }
    if let Some(b) = when.downgrade {
        out.push(Condition::Downgrade(b));
    }
    if let Some(b) = when.downgrade_allowed {
        out.push(Condition::DowngradeAllowed(b));
    }
    if let Some(list) = when.downgrade_reason_in {
        out.push(Condition::DowngradeReasonIn(
            text_set(list, 128).map_err(|d| bad("downgrade_reason_in", d))?,
        ));
    }
    if let Some(s) = when.device_status {
        let status: DeviceStatus = s.parse().map_err(|_| {
            bad(
                "device_status",
                format!("{s:?} is not operational, degraded or tampered"),
            )
        })?;
        out.push(Condition::DeviceStatus(status));
    }
    if let Some(list) = when.verifier_did {
        out.push(Condition::VerifierDid(
            did_patterns(list).map_err(|d| bad("verifier_did", d))?,
        ));
    }
    if let Some(list) = when.all {
        out.push(Condition::All(conditions(list, rule, depth)?));
    }
    if let Some(list) = when.any {
        out.push(Condition::Any(conditions(list, rule, depth)?));
    }
    if let Some(inner) = when.not {
        out.push(Condition::Not(Box::new(condition(
            *inner,
            rule,
            depth + 1,
        )?)));
    }
    let mut out = out.into_iter();
    match (out.next(), out.len()) {
        (None, _) => Err(PolicyError::EmptyCondition {
            rule: rule.to_owned(),
        }),
        (Some(only), 0) => Ok(only),
        (Some(first), _) => Ok(Condition::All(std::iter::once(first).chain(out).collect())),
    }
}

fn conditions(
    list: Vec<WhenFile>,
    rule: &str,
    depth: usize,
) -> Result<Vec<Condition>, PolicyError> {
    if list.is_empty() {
        return Err(PolicyError::EmptyCondition {
            rule: rule.to_owned(),
        });
    }
    list.into_iter()
        .map(|w| condition(w, rule, depth + 1))
        .collect()
}

/// A single line of 1..=max characters, no control characters, no surrounding whitespace.
fn text(s: String, what: &str, max: usize) -> Result<String, String> {
    if s.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if s.chars().count() > max {
        return Err(format!("{what} longer than {max} characters"));
    }
    if s.chars().any(char::is_control) || s.trim() != s {
        return Err(format!(
            "{s:?}: control characters or surrounding whitespace"
        ));
    }
    Ok(s)
}

fn text_set(list: Vec<String>, max: usize) -> Result<BTreeSet<String>, String> {
    if list.is_empty() {
        return Err("list must not be empty".to_owned());
    }
    let mut set = BTreeSet::new();
    for s in list {
        let s = text(s, "entry", max)?;
        if let Some(dup) = set.replace(s) {
            return Err(format!("{dup:?} listed twice"));
        }
    }
    Ok(set)
}

/// Measurements are compared exactly; they must look like `<alg>:<value>` in printable ASCII
/// (the vendor allowlist format is `sha256:<64 lowercase hex>`).
fn measurement_set(list: Vec<String>) -> Result<BTreeSet<String>, String> {
    let set = text_set(list, 256)?;
    for m in &set {
        let well_formed = m.bytes().all(|b| b.is_ascii_graphic())
            && m.split_once(':')
                .is_some_and(|(alg, v)| !alg.is_empty() && !v.is_empty());
        if !well_formed {
            return Err(format!("{m:?} is not <alg>:<value> in printable ASCII"));
        }
    }
    Ok(set)
}

/// DID patterns: `did:` then printable ASCII; `*` is the only wildcard.
fn did_patterns(list: Vec<String>) -> Result<Vec<String>, String> {
    let set = text_set(list, 256)?;
    for p in &set {
        if !p.starts_with("did:") || !p.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("{p:?} is not a did: pattern in printable ASCII"));
        }
    }
    Ok(set.into_iter().collect())
}
