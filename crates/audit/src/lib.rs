//! The audit log of seed 003 §5.4 in the export format of PROTOCOL.md ("Audit log export"):
//! gapless sequence numbers, a SHA-384 hash chain over the JCS of whole entries, and one ECDSA
//! P-384 signature per entry by the audit key of the process that appended it.
//!
//! * [`entry`] — the entry, its signing input and chain hash, and [`entry::EntrySigner`] which
//!   seals new entries (used by the storage backends inside their write transactions);
//! * [`epoch`] — `audit_key_epoch` entries: each process start publishes its fresh audit key,
//!   its self-test results and binary measurement, countersigned by the registry's long-term
//!   identity key, so a verifier can follow keys across restarts;
//! * [`verify`] — offline verification of an export, naming the first bad sequence number;
//! * [`transparency`] — RFC 9162 Merkle tree over the entries, C2SP signed checkpoints, and
//!   inclusion / consistency proof bundles checked offline.
//!
//! Several processes may append to one log (PostgreSQL): every non-epoch entry names the
//! epoch whose key signed it in `eventData.auditEpoch`.
#![forbid(unsafe_code)]

pub mod entry;
pub mod epoch;
pub mod transparency;
pub mod verify;

pub use entry::{AuditEntry, AuditKey, EntrySigner, GENESIS_HASH, chain_hash};
pub use epoch::{EPOCH_EVENT_TYPE, EpochInfo, EpochStart, epoch_event_data, open_epoch};
pub use verify::{Failure, FailureReason, Report, verify_entries, verify_export};
