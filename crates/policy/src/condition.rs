//! Rule conditions ([`Condition`]): what each one tests and what it does with a missing fact.
//!
//! Conditions are built only by the loader ([`crate::PolicyEngine::from_toml`]), which has
//! validated every value, so matching cannot fail: it is a total, pure function of the input.

use std::collections::{BTreeSet, HashSet};

use cphar_protocol::{Bal, DeviceStatus};

use crate::input::{Fact, PolicyInput};

/// One test over a [`PolicyInput`].
///
/// # Missing facts
///
/// A missing fact is read as the value that makes restrictive conditions fire (fail closed)
/// and selecting conditions not fire:
///
/// | condition | missing fact reads as | so the condition |
/// | --- | --- | --- |
/// | `commodity`, `commodity_in` | no commodity | does not match |
/// | `bal_below` | a BAL below BAL-1 | **matches** |
/// | `attestation_age_over_seconds` | never attested (infinite age) | **matches** |
/// | `firmware_not_in` | a measurement on no allowlist | **matches** |
/// | `firmware_in` | a measurement on no allowlist | does not match |
/// | `offline_over_seconds` | online (0 s offline) | does not match |
/// | `downgrade_reason_in` | no reason | does not match |
/// | `device_status` | `operational` (absence implies it, seed 002) | matches only `operational` |
/// | `verifier_did` | no DID | does not match |
///
/// Because a missing fact is read as a value, `not` stays the exact negation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Condition {
    /// `commodity = "gold"`: the commodity equals this value.
    Commodity(String),
    /// `commodity_in = [...]`: the commodity is one of these.
    CommodityIn(BTreeSet<String>),
    /// `bal_below = "BAL-3"`: the BAL is strictly below this one (a missing BAL is).
    BalBelow(Bal),
    /// `attestation_age_over_seconds = N`: the last attestation is more than N seconds old
    /// (a missing age is).
    AttestationAgeOver(u64),
    /// `firmware_in = [...]`: the firmware measurement is one of these.
    FirmwareIn(BTreeSet<String>),
    /// `firmware_not_in = [...]`: the firmware measurement is not on this allowlist (a missing
    /// measurement is not).
    FirmwareNotIn(BTreeSet<String>),
    /// `offline_over_seconds = N`: offline for more than N seconds.
    OfflineOver(u64),
    /// `downgrade = true|false`: a downgrade happened (or not).
    Downgrade(bool),
    /// `downgrade_allowed = true|false`: the trust framework authorized the downgrade (or not).
    DowngradeAllowed(bool),
    /// `downgrade_reason_in = [...]`: the downgrade reason is one of these.
    DowngradeReasonIn(BTreeSet<String>),
    /// `device_status = "degraded"`: the device reports this status.
    DeviceStatus(DeviceStatus),
    /// `verifier_did = ["did:web:*.example"]`: the verifier DID matches one of these patterns;
    /// `*` stands for any run of characters, everything else is literal.
    VerifierDid(Vec<String>),
    /// `all = [...]`, or several keys in one table: every condition holds.
    All(Vec<Condition>),
    /// `any = [...]`: at least one condition holds.
    Any(Vec<Condition>),
    /// `not = {...}`: the condition does not hold.
    Not(Box<Condition>),
}

impl Condition {
    /// Whether the condition holds for `input`.
    pub fn matches(&self, input: &PolicyInput) -> bool {
        match self {
            Condition::Commodity(c) => input.commodity.as_deref() == Some(c.as_str()),
            Condition::CommodityIn(set) => in_set(set, input.commodity.as_deref()),
            Condition::BalBelow(min) => input.bal.is_none_or(|b| b < *min),
            Condition::AttestationAgeOver(max) => {
                input.attestation_age_seconds.is_none_or(|a| a > *max)
            }
            Condition::FirmwareIn(set) => in_set(set, input.firmware_measurement.as_deref()),
            Condition::FirmwareNotIn(set) => !in_set(set, input.firmware_measurement.as_deref()),
            Condition::OfflineOver(max) => input.offline_seconds.is_some_and(|o| o > *max),
            Condition::Downgrade(want) => input.downgrade == *want,
            Condition::DowngradeAllowed(want) => input.downgrade_allowed == *want,
            Condition::DowngradeReasonIn(set) => in_set(set, input.downgrade_reason.as_deref()),
            Condition::DeviceStatus(want) => {
                input.device_status.unwrap_or(DeviceStatus::Operational) == *want
            }
            Condition::VerifierDid(patterns) => input
                .verifier_did
                .as_deref()
                .is_some_and(|did| patterns.iter().any(|p| glob_match(p, did))),
            Condition::All(cs) => cs.iter().all(|c| c.matches(input)),
            Condition::Any(cs) => cs.iter().any(|c| c.matches(input)),
            Condition::Not(c) => !c.matches(input),
        }
    }

    /// Adds every fact this condition reads to `out`.
    pub fn facts(&self, out: &mut BTreeSet<Fact>) {
        let fact = match self {
            Condition::Commodity(_) | Condition::CommodityIn(_) => Fact::Commodity,
            Condition::BalBelow(_) => Fact::Bal,
            Condition::AttestationAgeOver(_) => Fact::AttestationAgeSeconds,
            Condition::FirmwareIn(_) | Condition::FirmwareNotIn(_) => Fact::FirmwareMeasurement,
            Condition::OfflineOver(_) => Fact::OfflineSeconds,
            Condition::Downgrade(_) => Fact::Downgrade,
            Condition::DowngradeAllowed(_) => Fact::DowngradeAllowed,
            Condition::DowngradeReasonIn(_) => Fact::DowngradeReason,
            Condition::DeviceStatus(_) => Fact::DeviceStatus,
            Condition::VerifierDid(_) => Fact::VerifierDid,
            Condition::All(cs) | Condition::Any(cs) => {
                cs.iter().for_each(|c| c.facts(out));
                return;
            }
            Condition::Not(c) => return c.facts(out),
        };
        out.insert(fact);
    }
}

fn in_set(set: &BTreeSet<String>, value: Option<&str>) -> bool {
    value.is_some_and(|v| set.contains(v))
}

/// Matches `text` against `pattern`, where `*` matches any (possibly empty) run of bytes and
/// every other byte matches itself.
///
/// Dynamic programming over pattern positions: O(len(pattern) × len(text)) time, no recursion,
/// so a hostile pattern or DID cannot blow the stack or run exponentially.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern = pattern.as_bytes();
    // `reach` holds the pattern positions reachable after consuming the text so far.
    let mut reach: HashSet<usize> = HashSet::new();
    let close = |mut set: HashSet<usize>| {
        // A `*` may match nothing: from position i at a `*`, i + 1 is reachable too.
        let mut stack: Vec<usize> = set.iter().copied().collect();
        while let Some(i) = stack.pop() {
            if pattern.get(i) == Some(&b'*') && set.insert(i + 1) {
                stack.push(i + 1);
            }
        }
        set
    };
    reach.insert(0);
    reach = close(reach);
    for &b in text.as_bytes() {
        let mut next = HashSet::new();
        for &i in &reach {
            match pattern.get(i) {
                Some(b'*') => {
                    next.insert(i);
                }
                Some(&p) if p == b => {
                    next.insert(i + 1);
                }
                _ => {}
            }
        }
        if next.is_empty() {
            return false;
        }
        reach = close(next);
    }
    reach.contains(&pattern.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("did:web:a", "did:web:a"));
        assert!(!glob_match("did:web:a", "did:web:ab"));
        assert!(glob_match("did:web:*", "did:web:"));
        assert!(glob_match(
            "did:web:*.example.com",
            "did:web:v1.example.com"
        ));
        assert!(!glob_match("did:web:*.example.com", "did:web:example.com"));
        assert!(glob_match("did:*:x*y", "did:key:xxyy"));
        assert!(glob_match("*", ""));
        assert!(glob_match("**a**", "a"));
        assert!(!glob_match("a*b", "ba"));
        // Pathological pattern stays polynomial.
        let pattern = "*a".repeat(50) + "b";
        assert!(!glob_match(&pattern, &"a".repeat(200)));
    }
}
