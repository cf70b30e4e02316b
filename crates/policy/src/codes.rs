//! The stable codes this crate owns: the decision [`Effect`], the engine's own reason codes,
//! the store's refusal codes, and the reason-code syntax every policy file must follow.
//!
//! Reason codes of rules are chosen by the policy author; the engine only checks their syntax
//! ([`is_reason_code`]). The few codes the engine itself emits are constants here.

cphar_protocol::wire_enum! {
    /// What a decision does with the request (seed 001: `decision = allow | deny | degrade`).
    ///
    /// Declared in order of severity, so `Allow < Degrade < Deny`.
    Effect {
        /// Proceed normally.
        Allow => "allow",
        /// Proceed with reduced trust; the decision is logged with its reason.
        Degrade => "degrade",
        /// Refuse.
        Deny => "deny",
    }
}

/// The reason code of the default decision when no file sets one (`[default]` omitted).
pub const NO_RULE_MATCHED: &str = "no_rule_matched";

/// The longest reason code accepted.
pub const MAX_REASON_CODE_LEN: usize = 64;

/// Whether `code` is a valid reason code: `[a-z][a-z0-9_]*`, at most
/// [`MAX_REASON_CODE_LEN`] bytes.
pub fn is_reason_code(code: &str) -> bool {
    let mut bytes = code.bytes();
    match bytes.next() {
        Some(b'a'..=b'z') => {}
        _ => return false,
    }
    code.len() <= MAX_REASON_CODE_LEN
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_code_syntax() {
        for ok in ["a", "no_rule_matched", "bal2_floor", "x_"] {
            assert!(is_reason_code(ok), "{ok}");
        }
        let long = "a".repeat(MAX_REASON_CODE_LEN + 1);
        for bad in ["", "_a", "1a", "Deny", "no-rule", "a b", "é", long.as_str()] {
            assert!(!is_reason_code(bad), "{bad}");
        }
    }

    #[test]
    fn effects_round_trip_and_order_by_severity() {
        for e in Effect::ALL {
            assert_eq!(e.as_str().parse::<Effect>(), Ok(*e));
        }
        assert!(Effect::Allow < Effect::Degrade && Effect::Degrade < Effect::Deny);
        assert!("Allow".parse::<Effect>().is_err());
    }
}
