//! The storage interface. Backends (SQLite, PostgreSQL) live in `cphar-store`; this is what
//! the registry needs from them, nothing more.
//!
//! Writes go through [`Store::apply`]: one [`ChangeSet`] is one transaction. Records carry a
//! `version`; a record with `version == 1` is inserted, any other replaces the stored record
//! whose version is `version - 1`. If any check fails the whole change set is rolled back and
//! [`StoreError::Conflict`] returned, so a change computed from stale reads never lands.

use crate::event::{RegistryEvent, StoredEvent};
use crate::model::{
    AuthorityRecord, BindingRecord, CustodyRecord, InspectionRecord, LotRecord, SealRecord,
};
use serde_json::Value;
use std::future::Future;

/// A lot DID document version.
#[derive(Debug, Clone, PartialEq)]
pub struct DidDocumentVersion {
    /// The lot.
    pub lot_id: String,
    /// `versionId`.
    pub version: u64,
    /// The document.
    pub document: Value,
}

/// A lot with its current binding (if any) and that binding's seal.
pub type LotWithCurrent = (LotRecord, Option<(BindingRecord, Option<SealRecord>)>);

/// A challenge a verifier was given (stored until answered or expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Challenge id.
    pub id: String,
    /// The nonce (base64url), unique across all challenges.
    pub nonce: String,
    /// The challenged lot.
    pub lot_id: String,
    /// The verifier DID.
    pub verifier: String,
    /// The ChallengeRequest as issued (JSON text).
    pub request: String,
    /// When it was issued (t0, Unix nanoseconds).
    pub issued_ns: i64,
    /// After this it is refused.
    pub expires_ns: i64,
}

/// Spends a challenge: the change set applies only if the challenge is unused and unexpired
/// at `now_ns`, and marks it used — so an answer is recorded at most once, atomically with
/// what it changes, across every process sharing the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendChallenge {
    /// Challenge id.
    pub id: String,
    /// The time of the answer (Unix nanoseconds).
    pub now_ns: i64,
}

/// Everything one registry command changes, applied atomically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    /// Seals to insert (version 1) or update.
    pub seals: Vec<SealRecord>,
    /// Lots to insert or update.
    pub lots: Vec<LotRecord>,
    /// Bindings to insert or update.
    pub bindings: Vec<BindingRecord>,
    /// Authority keys to insert or update.
    pub authorities: Vec<AuthorityRecord>,
    /// Inspections to insert.
    pub inspections: Vec<InspectionRecord>,
    /// Custody records to insert.
    pub custody: Vec<CustodyRecord>,
    /// DID document versions to insert.
    pub did_documents: Vec<DidDocumentVersion>,
    /// Events to append, in order.
    pub events: Vec<RegistryEvent>,
    /// Challenges to store.
    pub challenges_issued: Vec<Challenge>,
    /// Challenges to spend (preconditions: refused with [`StoreError::ChallengeSpent`]).
    pub challenges_spent: Vec<SpendChallenge>,
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record changed since it was read (or a unique key is taken): nothing was written.
    #[error("concurrent change or duplicate key: {0}")]
    Conflict(String),
    /// A stored record could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
    /// No audit epoch is open in this process: nothing with events can be written.
    #[error("no audit epoch is open: events cannot be sealed")]
    NoAuditEpoch,
    /// An audit entry could not be sealed.
    #[error("audit log: {0}")]
    Audit(String),
    /// A challenge to spend was already used, has expired, or does not exist.
    #[error("the challenge was already answered, has expired, or does not exist")]
    ChallengeSpent,
    /// Signing is refused (the module is in its error state).
    #[error("signing refused: {0}")]
    Refused(String),
}

/// The registry's storage. Implementations must make [`Store::apply`] atomic and durable.
pub trait Store: Send + Sync {
    /// A seal by device UID.
    fn seal(
        &self,
        uid: &str,
    ) -> impl Future<Output = Result<Option<SealRecord>, StoreError>> + Send;
    /// The seal holding a key (by RFC 7638 thumbprint).
    fn seal_by_key(
        &self,
        thumbprint: &str,
    ) -> impl Future<Output = Result<Option<SealRecord>, StoreError>> + Send;
    /// The seal holding a device certificate (issuer DN and serial).
    fn seal_by_certificate(
        &self,
        issuer: &str,
        serial: &str,
    ) -> impl Future<Output = Result<Option<SealRecord>, StoreError>> + Send;
    /// A lot by id.
    fn lot(
        &self,
        lot_id: &str,
    ) -> impl Future<Output = Result<Option<LotRecord>, StoreError>> + Send;
    /// A lot with its current binding and that binding's seal, in one read.
    fn lot_current(
        &self,
        lot_id: &str,
    ) -> impl Future<Output = Result<Option<LotWithCurrent>, StoreError>> + Send;
    /// A binding by id.
    fn binding(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<BindingRecord>, StoreError>> + Send;
    /// Every binding a lot ever had, oldest first.
    fn bindings_of_lot(
        &self,
        lot_id: &str,
    ) -> impl Future<Output = Result<Vec<BindingRecord>, StoreError>> + Send;
    /// Live bindings whose current BEA was signed by an authority key.
    fn bindings_by_authority(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Vec<BindingRecord>, StoreError>> + Send;
    /// Bindings waiting for re-enrollment (TFP-1 §B.2).
    fn suspended_bindings(
        &self,
    ) -> impl Future<Output = Result<Vec<BindingRecord>, StoreError>> + Send;
    /// An authority key.
    fn authority(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Option<AuthorityRecord>, StoreError>> + Send;
    /// Every authority key, oldest first.
    fn authorities(&self) -> impl Future<Output = Result<Vec<AuthorityRecord>, StoreError>> + Send;
    /// A lot's inspections, oldest first.
    fn inspections(
        &self,
        lot_id: &str,
    ) -> impl Future<Output = Result<Vec<InspectionRecord>, StoreError>> + Send;
    /// A lot's custody records, oldest first.
    fn custody(
        &self,
        lot_id: &str,
    ) -> impl Future<Output = Result<Vec<CustodyRecord>, StoreError>> + Send;
    /// A DID document version (`None` = the latest).
    fn did_document(
        &self,
        lot_id: &str,
        version: Option<u64>,
    ) -> impl Future<Output = Result<Option<Value>, StoreError>> + Send;
    /// Events about one subject, oldest first.
    fn events_for(
        &self,
        subject: &str,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;
    /// Events from `from` on, at most `limit`.
    fn events(
        &self,
        from: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;
    /// Lots in the active reserve set, by id, after `after`, at most `limit`.
    fn active_lots(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LotRecord>, StoreError>> + Send;
    /// All lots by id, after `after`, at most `limit`.
    fn lots(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LotRecord>, StoreError>> + Send;
    /// Applies one change set atomically; returns the sequence numbers given to its events.
    fn apply(
        &self,
        changes: ChangeSet,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;
    /// Applies many independent change sets in one transaction (bulk loading); all or none.
    fn apply_batch(
        &self,
        changes: Vec<ChangeSet>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
