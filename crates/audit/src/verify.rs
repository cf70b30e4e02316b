//! Offline verification of an audit log export (JSON Lines). Checks, for every entry: strict
//! I-JSON and the six members; gapless order; the SHA-384 chain; the epoch that signed it; its
//! P-384 signature; for epoch entries the identity countersignature; and that timestamps never
//! go backwards (beyond [`MAX_BACKWARDS`], the slack of concurrent writers and servers). Reports
//! the first bad `sequenceNumber` and why.
//!
//! Parsing, hashing and signature checks run in parallel over all cores; only the final
//! order and chain comparison (a few integer and string compares per entry) is sequential.

use crate::entry::{GENESIS_HASH, chain_hash};
use crate::epoch::{EPOCH_EVENT_TYPE, EpochInfo, identity_signing_input};
use cphar_crypto::{Algorithm, Jwk, VerifyingKey};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// How far an entry's timestamp may lie before the latest earlier one. Entries are dated
/// when they are decided and sealed in commit order, so concurrent writers (and several
/// servers, whose clocks agree within their tolerance) may commit a few milliseconds out of
/// time order; a larger step back is a clock set back or a tampered log.
pub const MAX_BACKWARDS: std::time::Duration = std::time::Duration::from_secs(1);

/// Why an export failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// A line is not an entry (not I-JSON, missing or extra members, bad types).
    MalformedEntry,
    /// A sequence number is missing.
    SequenceGap,
    /// Entries are out of order.
    SequenceReordered,
    /// A sequence number appears twice.
    SequenceDuplicated,
    /// `previousHash` is not the hash of the previous entry.
    BrokenChain,
    /// The entry's signature does not verify with its epoch's audit key.
    BadSignature,
    /// The entry names no epoch, or one that is not an earlier epoch entry.
    UnknownEpochKey,
    /// An epoch entry's identity countersignature does not verify.
    BadIdentitySignature,
    /// An epoch is countersigned by another identity key than the log's.
    IdentityMismatch,
    /// Entry 0 is not an `audit_key_epoch` entry.
    FirstEntryNotEpoch,
    /// The export is empty.
    Empty,
    /// An entry's timestamp is earlier than an earlier entry's by more than [`MAX_BACKWARDS`].
    TimestampBackwards,
}

impl FailureReason {
    /// Stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            FailureReason::MalformedEntry => "malformed_entry",
            FailureReason::SequenceGap => "sequence_gap",
            FailureReason::SequenceReordered => "sequence_reordered",
            FailureReason::SequenceDuplicated => "sequence_duplicated",
            FailureReason::BrokenChain => "broken_chain",
            FailureReason::BadSignature => "bad_signature",
            FailureReason::UnknownEpochKey => "unknown_epoch_key",
            FailureReason::BadIdentitySignature => "bad_identity_signature",
            FailureReason::IdentityMismatch => "identity_mismatch",
            FailureReason::FirstEntryNotEpoch => "first_entry_not_epoch",
            FailureReason::Empty => "empty_log",
            FailureReason::TimestampBackwards => "timestamp_backwards",
        }
    }
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The first bad sequence number (the position where it was expected).
    pub sequence_number: u64,
    /// Why.
    pub reason: FailureReason,
    /// Details for people.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sequenceNumber {}: {} ({})",
            self.sequence_number,
            self.reason.code(),
            self.message
        )
    }
}

impl std::error::Error for Failure {}

/// A verified export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Number of entries.
    pub entries: u64,
    /// The epochs, in order.
    pub epochs: Vec<EpochInfo>,
    /// Chain hash of the last entry.
    pub head_hash: String,
    /// RFC 7638 thumbprint of the identity key that countersigned every epoch.
    pub identity_key_thumbprint: String,
}

/// What the parallel pass learns about one entry.
struct Facts {
    sequence: u64,
    /// `timestamp`, Unix nanoseconds.
    time: i128,
    previous_hash: String,
    hash: String,
}

struct Epoch {
    key: VerifyingKey,
    info: EpochInfo,
    identity: Jwk,
}

/// Verifies an export (JSON Lines, one entry per line). `identity`, when given, is the
/// registry identity key every epoch must be countersigned by; otherwise the first epoch's
/// identity key is taken and all later epochs must match it.
pub fn verify_export(export: &[u8], identity: Option<&VerifyingKey>) -> Result<Report, Failure> {
    let mut lines: Vec<&[u8]> = export.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    verify_entries(&lines, identity)
}

/// Verifies entries given one per slice.
pub fn verify_entries(lines: &[&[u8]], identity: Option<&VerifyingKey>) -> Result<Report, Failure> {
    if lines.is_empty() {
        return Err(Failure {
            sequence_number: 0,
            reason: FailureReason::Empty,
            message: "no entries".into(),
        });
    }
    let mut failures: Vec<Failure> = Vec::new();

    // Pass 1 (sequential, cheap): epoch entries, found by their canonical event type text.
    let marker = format!("\"eventType\":\"{EPOCH_EVENT_TYPE}\"");
    let mut epochs: BTreeMap<u64, Epoch> = BTreeMap::new();
    let mut identity_jwk: Option<Jwk> = identity.map(VerifyingKey::to_jwk);
    for (position, line) in lines.iter().enumerate() {
        if !contains(line, marker.as_bytes()) {
            continue;
        }
        match read_epoch(line) {
            Ok(epoch) => {
                let expected_identity = identity_jwk.get_or_insert_with(|| epoch.identity.clone());
                if &epoch.identity != expected_identity {
                    failures.push(Failure {
                        sequence_number: epoch.info.sequence_number,
                        reason: FailureReason::IdentityMismatch,
                        message: "epoch countersigned by another identity key".into(),
                    });
                }
                epochs.insert(epoch.info.sequence_number, epoch);
            }
            Err((reason, message)) => failures.push(Failure {
                sequence_number: position as u64,
                reason,
                message,
            }),
        }
    }

    // Pass 2 (parallel): parse, canonicalize, hash, verify each entry's signature.
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .max(1);
    let chunk = lines.len().div_ceil(threads).max(1);
    let results: Vec<Vec<Result<Facts, Failure>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let epochs = &epochs;
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, line)| check_entry(line, (c * chunk + i) as u64, epochs))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Err(Failure {
                        sequence_number: 0,
                        reason: FailureReason::MalformedEntry,
                        message: "verifier thread failed".into(),
                    })]
                })
            })
            .collect()
    });

    // Pass 3 (sequential): order and chain.
    let all: Vec<&Result<Facts, Failure>> = results.iter().flatten().collect();
    let present: HashMap<u64, usize> = all
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|f| (f.sequence, i)))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut previous = GENESIS_HASH.to_owned();
    let mut head = String::new();
    let slack = i128::try_from(MAX_BACKWARDS.as_nanos()).unwrap_or(i128::MAX);
    let mut latest: Option<(i128, u64)> = None;
    for (position, result) in all.iter().enumerate() {
        let expected = position as u64;
        let facts = match result {
            Ok(f) => f,
            Err(e) => {
                failures.push(e.clone());
                break;
            }
        };
        if position == 0 && !epochs.contains_key(&facts.sequence) {
            failures.push(Failure {
                sequence_number: 0,
                reason: FailureReason::FirstEntryNotEpoch,
                message: "the log must open with an audit_key_epoch entry".into(),
            });
            break;
        }
        if facts.sequence != expected {
            let reason = if seen.contains(&facts.sequence) {
                FailureReason::SequenceDuplicated
            } else if facts.sequence < expected || present.contains_key(&expected) {
                FailureReason::SequenceReordered
            } else {
                FailureReason::SequenceGap
            };
            failures.push(Failure {
                sequence_number: expected,
                reason,
                message: format!(
                    "expected sequenceNumber {expected}, found {}",
                    facts.sequence
                ),
            });
            break;
        }
        seen.insert(facts.sequence);
        if facts.previous_hash != previous {
            failures.push(Failure {
                sequence_number: expected,
                reason: FailureReason::BrokenChain,
                message: "previousHash is not the SHA-384 of the previous entry".into(),
            });
            break;
        }
        if let Some((time, at)) = latest
            && facts.time < time.saturating_sub(slack)
        {
            failures.push(Failure {
                sequence_number: expected,
                reason: FailureReason::TimestampBackwards,
                message: format!(
                    "timestamp is {} ms earlier than entry {at}'s",
                    (time - facts.time) / 1_000_000
                ),
            });
            break;
        }
        if latest.is_none_or(|(time, _)| facts.time > time) {
            latest = Some((facts.time, facts.sequence));
        }
        previous.clone_from(&facts.hash);
        head.clone_from(&facts.hash);
    }

    if let Some(first) = failures.into_iter().min_by_key(|f| f.sequence_number) {
        return Err(first);
    }
    let identity_key_thumbprint = identity_jwk
        .and_then(|j| j.thumbprint_b64().ok())
        .unwrap_or_default();
    Ok(Report {
        entries: lines.len() as u64,
        epochs: epochs.into_values().map(|e| e.info).collect(),
        head_hash: head,
        identity_key_thumbprint,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

type Problem = (FailureReason, String);

fn malformed(message: impl Into<String>) -> Problem {
    (FailureReason::MalformedEntry, message.into())
}

/// The six members of an entry.
struct Parsed {
    value: Map<String, Value>,
    sequence: u64,
    time: i128,
    event_type: String,
    previous_hash: String,
    signature: Vec<u8>,
}

fn parse_entry(line: &[u8]) -> Result<Parsed, Problem> {
    let value = cphar_jcs::parse(line).map_err(|e| malformed(format!("not I-JSON: {e}")))?;
    let Value::Object(value) = value else {
        return Err(malformed("not an object"));
    };
    const MEMBERS: [&str; 6] = [
        "sequenceNumber",
        "timestamp",
        "eventType",
        "eventData",
        "previousHash",
        "signature",
    ];
    if value.len() != MEMBERS.len() || !MEMBERS.iter().all(|m| value.contains_key(*m)) {
        return Err(malformed("an entry has exactly the members of PROTOCOL.md"));
    }
    let sequence = value
        .get("sequenceNumber")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed("sequenceNumber is not a non-negative integer"))?;
    let timestamp = value
        .get("timestamp")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("timestamp"))?;
    let time = cphar_protocol::Timestamp::parse(timestamp)
        .map_err(|_| malformed("timestamp is not RFC 3339 UTC"))?
        .unix_nanos();
    let event_type = value
        .get("eventType")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("eventType"))?
        .to_owned();
    if !value.get("eventData").is_some_and(Value::is_object) {
        return Err(malformed("eventData is not an object"));
    }
    let previous_hash = value
        .get("previousHash")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("previousHash"))?
        .to_owned();
    if previous_hash.len() != 96
        || !previous_hash
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(malformed("previousHash is not 96 lower-case hex digits"));
    }
    let signature = value
        .get("signature")
        .and_then(Value::as_str)
        .and_then(|s| cphar_crypto::b64::decode(s).ok())
        .ok_or_else(|| malformed("signature is not base64url"))?;
    Ok(Parsed {
        value,
        sequence,
        time,
        event_type,
        previous_hash,
        signature,
    })
}

fn read_epoch(line: &[u8]) -> Result<Epoch, Problem> {
    let parsed = parse_entry(line)?;
    if parsed.event_type != EPOCH_EVENT_TYPE {
        return Err(malformed("not an epoch entry"));
    }
    let data = parsed
        .value
        .get("eventData")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("eventData"))?;
    let jwk = |name: &str| {
        data.get(name)
            .ok_or_else(|| malformed(format!("epoch without {name}")))
            .and_then(|v| Jwk::from_json(v).map_err(|e| malformed(format!("{name}: {e}"))))
    };
    let audit_jwk = jwk("auditKey")?;
    let identity_jwk = jwk("identityKey")?;
    let key =
        VerifyingKey::from_jwk(&audit_jwk).map_err(|e| malformed(format!("auditKey: {e}")))?;
    if key.algorithm() != Algorithm::EcdsaP384Sha384 {
        return Err(malformed("auditKey is not ECDSA P-384"));
    }
    let identity = VerifyingKey::from_jwk(&identity_jwk)
        .map_err(|e| malformed(format!("identityKey: {e}")))?;
    let countersignature = data
        .get("identitySignature")
        .and_then(Value::as_str)
        .and_then(|s| cphar_crypto::b64::decode(s).ok())
        .ok_or_else(|| malformed("identitySignature is not base64url"))?;
    let input = identity_signing_input(data).map_err(|e| malformed(e.to_string()))?;
    identity.verify(&input, &countersignature).map_err(|_| {
        (
            FailureReason::BadIdentitySignature,
            "the identity key did not sign this audit key".to_owned(),
        )
    })?;
    let info = EpochInfo {
        sequence_number: parsed.sequence,
        audit_key_thumbprint: audit_jwk.thumbprint_b64().unwrap_or_default(),
        identity_key_thumbprint: identity_jwk.thumbprint_b64().unwrap_or_default(),
        started_at: data
            .get("startedAt")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    };
    Ok(Epoch {
        key,
        info,
        identity: identity_jwk,
    })
}

fn check_entry(
    line: &[u8],
    position: u64,
    epochs: &BTreeMap<u64, Epoch>,
) -> Result<Facts, Failure> {
    let fail = |(reason, message): Problem| Failure {
        sequence_number: position,
        reason,
        message,
    };
    let parsed = parse_entry(line).map_err(fail)?;
    let epoch = if parsed.event_type == EPOCH_EVENT_TYPE {
        epochs.get(&parsed.sequence)
    } else {
        parsed
            .value
            .get("eventData")
            .and_then(|d| d.get("auditEpoch"))
            .and_then(Value::as_u64)
            .filter(|e| *e < parsed.sequence)
            .and_then(|e| epochs.get(&e))
    };
    let Some(epoch) = epoch else {
        return Err(fail((
            FailureReason::UnknownEpochKey,
            "no earlier epoch entry holds the key of this entry".into(),
        )));
    };
    let mut unsigned = parsed.value.clone();
    unsigned.shift_remove("signature");
    let input = cphar_jcs::canonicalize(&Value::Object(unsigned))
        .map_err(|e| fail(malformed(e.to_string())))?;
    epoch.key.verify(&input, &parsed.signature).map_err(|_| {
        fail((
            FailureReason::BadSignature,
            format!(
                "not signed by the audit key of epoch {}",
                epoch.info.sequence_number
            ),
        ))
    })?;
    let canonical = cphar_jcs::canonicalize(&Value::Object(parsed.value))
        .map_err(|e| fail(malformed(e.to_string())))?;
    Ok(Facts {
        sequence: parsed.sequence,
        time: parsed.time,
        previous_hash: parsed.previous_hash,
        hash: chain_hash(&canonical),
    })
}
