//! Facts about the service itself that belong in the audit log — timestamps issued or refused,
//! the trusted clock's adjustments and breaches, the module entering its error state, signed
//! checkpoints, API tokens made and revoked — and the pure decisions that turn them into
//! change sets. The server and the CLI report these facts as typed values; only this module
//! decides the event type, subject, reason code and data each one is recorded with.

use crate::decide::Ctx;
use crate::event::{EventType, RegistryEvent};
use crate::store::{ChangeSet, TokenRow, TokenWrite};
use cphar_protocol::Timestamp;
use serde_json::{Value, json};

/// What the trusted clock reported (seed 003, SS-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockFact {
    /// Adjusted within its tolerance.
    Adjusted,
    /// The system clock stepped back; trusted time did not.
    RollbackDetected,
    /// Beyond its tolerance: signing and timestamping are refused until it recovers.
    OutOfTolerance,
    /// Back within tolerance.
    Recovered,
}

/// A fact about the service, recorded as one audit event.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceEvent {
    /// An RFC 3161 token was issued.
    TimestampIssued {
        /// The token's serial number (hex).
        serial: String,
        /// Its `genTime` (RFC 3339, as the token carries it).
        gen_time: String,
    },
    /// RFC 3161 requests refused during a period, counted by failure code (unauthenticated
    /// input is recorded in aggregate, never one entry per request).
    TimestampsRefused {
        /// Start of the period.
        since: Timestamp,
        /// `(PKIFailureInfo code, count)`, each code once.
        counts: Vec<(String, u64)>,
    },
    /// The trusted clock reported something; `at` is when it happened (the clock may be
    /// unusable when it is recorded) and `data` its details.
    Clock {
        /// What.
        fact: ClockFact,
        /// When it happened.
        at: Timestamp,
        /// Details (offsets, bounds).
        data: Value,
    },
    /// The module entered its error state (a self-test failed).
    ModuleError {
        /// When it happened.
        at: Timestamp,
        /// The stable reason code of the failure.
        reason_code: String,
        /// Details (which test, what it saw).
        data: Value,
    },
    /// A checkpoint of the audit log was signed and published.
    CheckpointSigned {
        /// Tree size it commits to.
        tree_size: u64,
        /// Root hash (base64url).
        root_hash: String,
    },
}

impl ServiceEvent {
    /// When the fact happened, if it carries its own time (the others are dated by the
    /// registry's trusted clock when recorded).
    pub fn own_time(&self) -> Option<Timestamp> {
        match self {
            ServiceEvent::Clock { at, .. } | ServiceEvent::ModuleError { at, .. } => Some(*at),
            ServiceEvent::TimestampIssued { .. }
            | ServiceEvent::TimestampsRefused { .. }
            | ServiceEvent::CheckpointSigned { .. } => None,
        }
    }
}

/// The audit event recording `fact`, decided by `ctx.actor` at `ctx.now` (or at the fact's
/// own time).
pub fn event(fact: &ServiceEvent, ctx: Ctx<'_>) -> RegistryEvent {
    let at = fact.own_time().unwrap_or(ctx.now);
    let (event_type, subject, reason_code, data) = match fact {
        ServiceEvent::TimestampIssued { serial, gen_time } => (
            EventType::TimestampIssued,
            "tsa",
            None,
            json!({"serial": serial, "genTime": gen_time}),
        ),
        ServiceEvent::TimestampsRefused { since, counts } => {
            let by_code: serde_json::Map<String, Value> = counts
                .iter()
                .map(|(code, n)| (code.clone(), json!(n)))
                .collect();
            (
                EventType::TimestampRefused,
                "tsa",
                None,
                json!({"since": since.to_string(), "until": ctx.now.to_string(), "refused": by_code}),
            )
        }
        ServiceEvent::Clock { fact, data, .. } => {
            let (kind, reason) = match fact {
                ClockFact::Adjusted => (EventType::ClockAdjusted, None),
                ClockFact::RollbackDetected => (EventType::ClockRollbackDetected, None),
                ClockFact::OutOfTolerance => (
                    EventType::ClockOutOfTolerance,
                    Some("clock_out_of_tolerance".to_owned()),
                ),
                ClockFact::Recovered => (EventType::ClockRecovered, None),
            };
            (kind, "clock", reason, data.clone())
        }
        ServiceEvent::ModuleError {
            reason_code, data, ..
        } => (
            EventType::ModuleError,
            "module",
            Some(reason_code.clone()),
            data.clone(),
        ),
        ServiceEvent::CheckpointSigned {
            tree_size,
            root_hash,
        } => (
            EventType::CheckpointSigned,
            "audit",
            None,
            json!({"treeSize": tree_size, "rootHash": root_hash}),
        ),
    };
    RegistryEvent {
        event_type,
        subject: subject.to_owned(),
        actor: ctx.actor.to_owned(),
        at,
        reason_code,
        data,
    }
}

/// Records `facts`, in order, in one change set.
pub fn record(facts: &[ServiceEvent], ctx: Ctx<'_>) -> ChangeSet {
    ChangeSet {
        events: facts.iter().map(|f| event(f, ctx)).collect(),
        ..ChangeSet::default()
    }
}

/// A new API token, with its `token_created` event (the secret is never part of either).
pub fn create_token(row: TokenRow, ctx: Ctx<'_>) -> ChangeSet {
    let expires = row
        .expires_ns
        .and_then(|n| Timestamp::from_unix_nanos(i128::from(n)))
        .map(|t| t.to_string());
    let event = RegistryEvent {
        event_type: EventType::TokenCreated,
        subject: format!("token:{}", row.id),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: None,
        data: json!({
            "tokenId": row.id,
            "role": row.role,
            "subject": row.subject,
            "verifierDid": row.verifier_did,
            "expiresAt": expires,
        }),
    };
    ChangeSet {
        tokens: vec![TokenWrite::Insert(row)],
        events: vec![event],
        ..ChangeSet::default()
    }
}

/// Revokes token `id` (refused by the store if it does not exist or is already revoked).
pub fn revoke_token(id: &str, ctx: Ctx<'_>) -> ChangeSet {
    let event = RegistryEvent {
        event_type: EventType::TokenRevoked,
        subject: format!("token:{id}"),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: None,
        data: json!({"tokenId": id}),
    };
    ChangeSet {
        tokens: vec![TokenWrite::Revoke(id.to_owned())],
        events: vec![event],
        ..ChangeSet::default()
    }
}
