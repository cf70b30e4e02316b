//! Structured telemetry with the fixed field names of seed 001's telemetry contract
//! (`device_uid`, `device_cert_serial`, `decision`, `reason_code`, `matched_rule_id`,
//! `policy_id`, `revocation_state`, `evidence_ref_id`, `retry_count`, `window_ms`,
//! `cooldown_ms`, `rc_seen`, `rc_stored`). Values are ids, codes and counters: never a key,
//! a token or a nonce. `cphar serve` writes them as JSON lines (`CPHAR_LOG` sets the filter).

/// A verification decision (every outcome: allow, and every deny/degrade with its reason).
#[allow(clippy::too_many_arguments)]
pub fn attestation_decision(
    device_uid: Option<&str>,
    device_cert_serial: Option<&str>,
    lot_id: &str,
    decision: &str,
    reason_code: &str,
    policy_id: Option<&str>,
    matched_rule_id: Option<&str>,
    evidence_ref_id: &str,
) {
    tracing::info!(
        target: "cphar::decision",
        device_uid = device_uid.unwrap_or("-"),
        device_cert_serial = device_cert_serial.unwrap_or("-"),
        lot_id,
        decision,
        reason_code,
        policy_id = policy_id.unwrap_or("-"),
        matched_rule_id = matched_rule_id.unwrap_or("-"),
        evidence_ref_id,
        "attestation decision"
    );
}

/// A registry command refused (deny), with its stable code.
pub fn refusal(route: &str, reason_code: &str, status: u16) {
    tracing::info!(target: "cphar::decision", route, decision = "deny", reason_code, status, "request refused");
}

/// A rate limit engaged (storm control).
pub fn rate_limited(key_kind: &str, retry_count: u32, window_ms: u64, cooldown_ms: u64) {
    tracing::warn!(
        target: "cphar::storm",
        key_kind,
        retry_count,
        window_ms,
        cooldown_ms,
        reason_code = "rate_limited",
        "rate limit engaged"
    );
}

/// The active policy changed (anti-rollback fields).
pub fn policy_changed(policy_id: &str, rc_seen: u64, rc_stored: u64) {
    tracing::info!(target: "cphar::policy", policy_id, rc_seen, rc_stored, "policy replaced");
}

/// An internal failure (details stay in the log, never in the answer).
pub fn internal(reason_code: &str, detail: &dyn std::fmt::Display) {
    tracing::error!(target: "cphar::internal", reason_code, detail = %detail, "internal failure");
}
