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

/// A stored API token. The secret itself is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenRow {
    /// Public token id (the part before the secret).
    pub id: String,
    /// Lower-case hex SHA-256 of the secret.
    pub secret_hash: String,
    /// Role name.
    pub role: String,
    /// The identity the token acts as.
    pub subject: String,
    /// The verifier DID a verifier token acts for (bound when the token is made).
    #[serde(default)]
    pub verifier_did: Option<String>,
    /// Creation time (Unix nanoseconds).
    pub created_ns: i64,
    /// Expiry (Unix nanoseconds), if any.
    pub expires_ns: Option<i64>,
    /// Revoked.
    pub revoked: bool,
}

/// A change to the token table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenWrite {
    /// A new token.
    Insert(TokenRow),
    /// Revoke an unrevoked token by id (refused with [`StoreError::Conflict`] otherwise).
    Revoke(String),
}

/// A policy version installed as the one in force. Applies only if the policy in force is
/// still the one the decision read (`replaces`), and no version of `policy_id` at or above
/// `version` was ever installed (anti-rollback, across restarts and processes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInstall {
    /// The policy id.
    pub policy_id: String,
    /// Its version.
    pub version: u64,
    /// The policy document (its JSON form).
    pub document: String,
    /// When it was installed (Unix nanoseconds).
    pub installed_ns: i64,
    /// The revision of the policy in force this replaces (0: none yet).
    pub replaces: u64,
}

/// One item of a seal batch: a registered seal's record as first written, in the JCS form
/// its Merkle leaf hashes (see [`crate::batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealBatchItem {
    /// Position in the batch's Merkle tree (0-based, in manifest order of the accepted lines).
    pub index: u64,
    /// The manifest line it came from (1-based).
    pub line: u64,
    /// The seal's device UID.
    pub uid: String,
    /// The leaf: JCS text of `{"batchId", "index", "line", "seal"}`.
    pub item: String,
}

/// A bulk registration as stored: its items and the Merkle root the audited
/// `seal_batch_registered` event commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealBatch {
    /// Batch id (`batch-…`).
    pub id: String,
    /// Who submitted it.
    pub actor: String,
    /// When it was decided (Unix nanoseconds).
    pub at_ns: i64,
    /// RFC 9162 root over the items' JCS texts (base64url).
    pub root: String,
    /// The items, by index.
    pub items: Vec<SealBatchItem>,
}

/// Keys a bulk registration checks in one read: a stored seal matching any of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealKeys {
    /// Device UIDs.
    pub uids: Vec<String>,
    /// RFC 7638 key thumbprints.
    pub thumbprints: Vec<String>,
    /// Device certificates (issuer DN, serial).
    pub certificates: Vec<(String, String)>,
}

/// What answering a challenge needs, read at once.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationInputs {
    /// The unanswered challenge.
    pub challenge: Challenge,
    /// Its lot.
    pub lot: Option<LotRecord>,
    /// The lot's current binding.
    pub binding: Option<BindingRecord>,
    /// That binding's seal.
    pub seal: Option<SealRecord>,
    /// The lot's current DID document, as stored (JSON text).
    pub document: Option<String>,
    /// The policy in force.
    pub policy: Option<PolicyInForce>,
}

/// The policy in force, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInForce {
    /// Its id.
    pub policy_id: String,
    /// Its version.
    pub version: u64,
    /// How many times a policy was put in force (optimistic concurrency).
    pub revision: u64,
    /// The policy document (JSON form).
    pub document: String,
}

/// What the registry knows about policies: the one in force and, per policy id, the highest
/// version ever installed (the anti-rollback mark).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyState {
    /// The policy in force, if any.
    pub in_force: Option<PolicyInForce>,
    /// `(policy id, highest version)`.
    pub high_water: Vec<(String, u64)>,
}

/// The report key, certified once in the audit log (`report_key_certified`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportKeyRecord {
    /// RFC 7638 thumbprint (base64url) of the public JWK: the reports' `reportKey.kid`.
    pub kid: String,
    /// The public key (JWK, JSON text).
    pub public_jwk: String,
    /// When it was certified (Unix nanoseconds).
    pub certified_ns: i64,
}

/// A published reserve report as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    /// `reportNumber` (1, 2, 3…, unique).
    pub number: u64,
    /// The report exactly as published (JCS, with its timestamp token).
    pub jcs: String,
    /// `generatedAt` (Unix nanoseconds).
    pub generated_ns: i64,
    /// `sumRoot` (hex).
    pub sum_root: String,
    /// `rfc9162Root` (hex).
    pub rfc9162_root: String,
    /// SHA-256 (hex) of the report without `timestampToken`: the next report's
    /// `previous.reportDigest`.
    pub digest: String,
    /// `lotCount`.
    pub lot_count: u64,
    /// `totals` (JSON text of the array).
    pub totals: String,
}

/// What listing reports shows of each: everything but the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportHeader {
    /// `reportNumber`.
    pub number: u64,
    /// `generatedAt` (Unix nanoseconds).
    pub generated_ns: i64,
    /// `sumRoot` (hex).
    pub sum_root: String,
    /// `rfc9162Root` (hex).
    pub rfc9162_root: String,
    /// `lotCount`.
    pub lot_count: u64,
    /// `totals` (JSON text of the array).
    pub totals: String,
}

/// A report to store, with its leaves so that proofs can be served later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportWrite {
    /// The report row (its number must be unused: a concurrent publish conflicts).
    pub report: StoredReport,
    /// The leaves, sorted by lot id (each stored as its JCS).
    pub leaves: Vec<cphar_report::LotLeaf>,
}

/// One lot of the active reserve set, with what its leaf needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveLotRow {
    /// The lot.
    pub lot: LotRecord,
    /// Its current binding's seal.
    pub seal_uid: Option<String>,
    /// Its latest DID document version, and that document as stored.
    pub did_document: Option<(u64, String)>,
    /// The audit entry (JCS line) of its seal's latest `seal_attested` event.
    pub attestation_entry: Option<String>,
}

/// A lot of the previous report that is no longer in the active set.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartedRow {
    /// The lot (always stored: lots are never deleted).
    pub lot: LotRecord,
    /// Its current binding.
    pub binding: Option<BindingRecord>,
    /// That binding's seal.
    pub seal: Option<SealRecord>,
}

/// What publishing a reserve report needs besides the active lots (which
/// [`Store::report_inputs`] hands over one by one), read in the same read transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportInputs {
    /// All lots by lot state (`(state, count)`).
    pub lots_by_state: Vec<(String, u64)>,
    /// The policy in force.
    pub policy: Option<PolicyInForce>,
    /// The latest published report.
    pub previous: Option<StoredReport>,
    /// Lots of the previous report that left the active set since, sorted by lot id.
    pub departed: Vec<DepartedRow>,
    /// The certified report key.
    pub report_key: Option<ReportKeyRecord>,
}

/// Everything one registry command changes, applied atomically.
///
/// Only `cphar-registry` builds change sets (its fields are private and it has no public
/// constructor): whatever a store writes was decided by a registry operation. Stores read
/// them through the accessors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    pub(crate) seals: Vec<SealRecord>,
    pub(crate) lots: Vec<LotRecord>,
    pub(crate) bindings: Vec<BindingRecord>,
    pub(crate) authorities: Vec<AuthorityRecord>,
    pub(crate) inspections: Vec<InspectionRecord>,
    pub(crate) custody: Vec<CustodyRecord>,
    pub(crate) did_documents: Vec<DidDocumentVersion>,
    pub(crate) events: Vec<RegistryEvent>,
    pub(crate) challenges_issued: Vec<Challenge>,
    pub(crate) challenges_spent: Vec<SpendChallenge>,
    pub(crate) tokens: Vec<TokenWrite>,
    pub(crate) policy: Option<PolicyInstall>,
    pub(crate) report_key: Option<ReportKeyRecord>,
    pub(crate) reports: Vec<ReportWrite>,
    pub(crate) seal_batches: Vec<SealBatch>,
}

impl ChangeSet {
    /// Appends the changes of `next` (also decided by the registry), to be applied after
    /// these in the same transaction.
    pub fn append(&mut self, next: ChangeSet) {
        self.seals.extend(next.seals);
        self.lots.extend(next.lots);
        self.bindings.extend(next.bindings);
        self.authorities.extend(next.authorities);
        self.inspections.extend(next.inspections);
        self.custody.extend(next.custody);
        self.did_documents.extend(next.did_documents);
        self.events.extend(next.events);
        self.challenges_issued.extend(next.challenges_issued);
        self.challenges_spent.extend(next.challenges_spent);
        self.tokens.extend(next.tokens);
        if next.policy.is_some() {
            self.policy = next.policy;
        }
        if next.report_key.is_some() {
            self.report_key = next.report_key;
        }
        self.reports.extend(next.reports);
        self.seal_batches.extend(next.seal_batches);
    }

    /// Seals to insert (version 1) or update.
    pub fn seals(&self) -> &[SealRecord] {
        &self.seals
    }
    /// Lots to insert or update.
    pub fn lots(&self) -> &[LotRecord] {
        &self.lots
    }
    /// Bindings to insert or update.
    pub fn bindings(&self) -> &[BindingRecord] {
        &self.bindings
    }
    /// Authority keys to insert or update.
    pub fn authorities(&self) -> &[AuthorityRecord] {
        &self.authorities
    }
    /// Inspections to insert.
    pub fn inspections(&self) -> &[InspectionRecord] {
        &self.inspections
    }
    /// Custody records to insert.
    pub fn custody(&self) -> &[CustodyRecord] {
        &self.custody
    }
    /// DID document versions to insert.
    pub fn did_documents(&self) -> &[DidDocumentVersion] {
        &self.did_documents
    }
    /// Events to append, in order.
    pub fn events(&self) -> &[RegistryEvent] {
        &self.events
    }
    /// Challenges to store.
    pub fn challenges_issued(&self) -> &[Challenge] {
        &self.challenges_issued
    }
    /// Challenges to spend (preconditions: refused with [`StoreError::ChallengeSpent`]).
    pub fn challenges_spent(&self) -> &[SpendChallenge] {
        &self.challenges_spent
    }
    /// API token changes.
    pub fn tokens(&self) -> &[TokenWrite] {
        &self.tokens
    }
    /// A policy to put in force.
    pub fn policy(&self) -> Option<&PolicyInstall> {
        self.policy.as_ref()
    }
    /// The report key to certify (refused with a conflict if one is certified already).
    pub fn report_key(&self) -> Option<&ReportKeyRecord> {
        self.report_key.as_ref()
    }
    /// Reserve reports to store (a taken number is a conflict).
    pub fn reports(&self) -> &[ReportWrite] {
        &self.reports
    }
    /// Seal batches (bulk registrations) to insert with their items.
    pub fn seal_batches(&self) -> &[SealBatch] {
        &self.seal_batches
    }
}

/// Raw change sets for tests of the storage layer itself (feature `test-support`): they
/// bypass every registry decision, so nothing but a storage test may build one.
#[cfg(feature = "test-support")]
pub mod unchecked {
    use super::*;

    /// The members of a [`ChangeSet`], public.
    #[derive(Debug, Clone, Default, PartialEq)]
    #[allow(missing_docs)]
    pub struct Parts {
        pub seals: Vec<SealRecord>,
        pub lots: Vec<LotRecord>,
        pub bindings: Vec<BindingRecord>,
        pub authorities: Vec<AuthorityRecord>,
        pub inspections: Vec<InspectionRecord>,
        pub custody: Vec<CustodyRecord>,
        pub did_documents: Vec<DidDocumentVersion>,
        pub events: Vec<RegistryEvent>,
        pub challenges_issued: Vec<Challenge>,
        pub challenges_spent: Vec<SpendChallenge>,
        pub tokens: Vec<TokenWrite>,
        pub policy: Option<PolicyInstall>,
        pub report_key: Option<ReportKeyRecord>,
        pub reports: Vec<ReportWrite>,
        pub seal_batches: Vec<SealBatch>,
    }

    /// A change set made of `parts`, decided by nobody.
    pub fn change_set(p: Parts) -> ChangeSet {
        ChangeSet {
            seals: p.seals,
            lots: p.lots,
            bindings: p.bindings,
            authorities: p.authorities,
            inspections: p.inspections,
            custody: p.custody,
            did_documents: p.did_documents,
            events: p.events,
            challenges_issued: p.challenges_issued,
            challenges_spent: p.challenges_spent,
            tokens: p.tokens,
            policy: p.policy,
            report_key: p.report_key,
            reports: p.reports,
            seal_batches: p.seal_batches,
        }
    }

    /// The parts of a change set.
    pub fn parts(c: ChangeSet) -> Parts {
        Parts {
            seals: c.seals,
            lots: c.lots,
            bindings: c.bindings,
            authorities: c.authorities,
            inspections: c.inspections,
            custody: c.custody,
            did_documents: c.did_documents,
            events: c.events,
            challenges_issued: c.challenges_issued,
            challenges_spent: c.challenges_spent,
            tokens: c.tokens,
            policy: c.policy,
            report_key: c.report_key,
            reports: c.reports,
            seal_batches: c.seal_batches,
        }
    }
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
    /// Every seal matching any of `keys` (UID, key thumbprint or device certificate), in one
    /// read: what a bulk registration's clone checks need.
    fn seals_matching(
        &self,
        keys: &SealKeys,
    ) -> impl Future<Output = Result<Vec<SealRecord>, StoreError>> + Send;
    /// A seal batch with its items (`None`: no such batch).
    fn seal_batch(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SealBatch>, StoreError>> + Send;
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
    /// The lowest revocation status index no binding has ([`crate::status_list`]).
    fn next_status_index(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Status indices in `[from, to)` of revoked or decommissioned bindings.
    fn ended_status_indices(
        &self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;
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
    /// An API token by id.
    fn token(&self, id: &str) -> impl Future<Output = Result<Option<TokenRow>, StoreError>> + Send;
    /// An unanswered challenge by id, without taking it.
    fn challenge(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Challenge>, StoreError>> + Send;
    /// Deletes challenges that expired before `now_ns`; returns how many.
    fn purge_challenges(&self, now_ns: i64)
    -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// What answering challenge `id` needs, in one read (`None`: no such unanswered challenge).
    fn attestation_inputs(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<AttestationInputs>, StoreError>> + Send;
    /// Active lots whose latest evidence is older than `before_ns`, by lot id.
    fn lots_with_stale_evidence(
        &self,
        before_ns: i64,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LotWithCurrent>, StoreError>> + Send;
    /// The policy in force and the anti-rollback marks.
    fn policy_state(&self) -> impl Future<Output = Result<PolicyState, StoreError>> + Send;
    /// What a reserve report needs, read in ONE read transaction (a consistent snapshot): each
    /// lot of the active reserve set goes to `active` as it is read, in lot id order (bytewise),
    /// so the caller keeps only what it makes of it; the rest is returned.
    fn report_inputs(
        &self,
        active: &mut (dyn FnMut(ActiveLotRow) + Send),
    ) -> impl Future<Output = Result<ReportInputs, StoreError>> + Send;
    /// The certified report key.
    fn report_key(
        &self,
    ) -> impl Future<Output = Result<Option<ReportKeyRecord>, StoreError>> + Send;
    /// Reports numbered above `after`, ascending, at most `limit` (without their documents).
    fn reports(
        &self,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ReportHeader>, StoreError>> + Send;
    /// Report `number` (`None`: the latest).
    fn report(
        &self,
        number: Option<u64>,
    ) -> impl Future<Output = Result<Option<StoredReport>, StoreError>> + Send;
    /// Leaf JCS texts of report `number`, by lot id after `after`, at most `limit`.
    fn report_leaves(
        &self,
        number: u64,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
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
