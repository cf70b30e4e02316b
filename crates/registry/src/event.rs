//! Registry events: the record of every state change (and of every clone suspicion), written
//! in the same transaction as the change itself.

use crate::wire;
use cphar_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

cphar_protocol::wire_enum! {
    /// What happened.
    EventType {
        /// A seal's vendor attestation was accepted (Manufactured → Registered).
        SealRegistered => "seal_registered",
        /// A key or device certificate was presented under a second device UID; refused.
        CloneSuspected => "clone_suspected",
        /// A lot was inspected with the seal that will close it.
        LotInspected => "lot_inspected",
        /// A chain-of-custody event.
        CustodyRecorded => "custody_recorded",
        /// A seal was bound to a lot and a BEA issued.
        SealBound => "seal_bound",
        /// An independent auditor signed a binding off.
        BindingSignedOff => "binding_signed_off",
        /// A verified challenge-response was recorded.
        SealAttested => "seal_attested",
        /// An attestation cycle closed (Attested → Sealed).
        AttestationCycleClosed => "attestation_cycle_closed",
        /// A binding was revoked (the seal broke or retired).
        BindingRevoked => "binding_revoked",
        /// A lot reached end of life.
        LotDecommissioned => "lot_decommissioned",
        /// A new lot DID document version was published.
        DidDocumentPublished => "did_document_published",
        /// An Enrollment Authority key was created.
        AuthorityCreated => "authority_created",
        /// An Enrollment Authority credential was revoked.
        AuthorityRevoked => "authority_revoked",
        /// A binding's BEA was invalidated by an authority revocation; re-enrollment is due.
        BindingSuspended => "binding_suspended",
        /// A binding was re-enrolled with a valid authority.
        BindingReenrolled => "binding_reenrolled",
        /// A process opened an audit epoch (its audit key, self-tests, measurement).
        AuditKeyEpoch => "audit_key_epoch",
        /// The trusted clock was adjusted within its tolerance.
        ClockAdjusted => "clock_adjusted",
        /// The system clock stepped back; trusted time did not.
        ClockRollbackDetected => "clock_rollback_detected",
        /// The clock drifted beyond its tolerance: signing and timestamping refused.
        ClockOutOfTolerance => "clock_out_of_tolerance",
        /// The clock is back within tolerance.
        ClockRecovered => "clock_recovered",
        /// An RFC 3161 timestamp token was issued.
        TimestampIssued => "timestamp_issued",
        /// A timestamp request was refused.
        TimestampRefused => "timestamp_refused",
        /// A signed checkpoint of the audit log was published.
        CheckpointSigned => "checkpoint_signed",
        /// An API token was created.
        TokenCreated => "token_created",
        /// An API token was revoked.
        TokenRevoked => "token_revoked",
        /// A challenge-response was verified (any result; the valid ones also change state).
        VerificationRecorded => "verification_recorded",
        /// A policy decision that denied or degraded.
        PolicyDecision => "policy_decision",
        /// The active policy was replaced.
        PolicyChanged => "policy_changed",
        /// The module entered its error state.
        ModuleError => "module_error",
        /// A lot left the active reserve set: its evidence lapsed (no valid attestation
        /// within the cadence and its grace, or a seal that stopped answering).
        LotLapsed => "lot_lapsed",
        /// A lapsed lot returned to the active reserve set after a valid attestation.
        LotRestored => "lot_restored",
        /// The report key was introduced: its JWK and thumbprint, once per registry.
        ReportKeyCertified => "report_key_certified",
        /// A signed, timestamped reserve report was published (number, digest, roots, totals).
        ReportPublished => "report_published",
        /// A manifest of seals was registered in bulk: one event committing (Merkle root) to
        /// the registered seals, listing the refused lines.
        SealBatchRegistered => "seal_batch_registered",
    }
}

/// One registry event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryEvent {
    /// What happened.
    #[serde(with = "wire")]
    pub event_type: EventType,
    /// What it happened to: `seal:<uid>`, `lot:<id>`, `authority:<key id>`.
    pub subject: String,
    /// Who did it (an identity; `registry` for the registry's own actions).
    pub actor: String,
    /// When.
    #[serde(with = "wire")]
    pub at: Timestamp,
    /// The reason code, when the event has one (revocations, refusals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Event details (state transitions, ids, evidence references).
    pub data: Value,
}

/// An event as stored, with its position in the registry's event sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// Gapless position, from 0.
    pub sequence: u64,
    /// The event.
    #[serde(flatten)]
    pub event: RegistryEvent,
}

/// `seal:<uid>`.
pub fn seal_subject(uid: &str) -> String {
    format!("seal:{uid}")
}

/// `lot:<id>`.
pub fn lot_subject(id: &str) -> String {
    format!("lot:{id}")
}
