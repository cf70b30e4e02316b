//! Registry storage backends behind [`cphar_registry::Store`]:
//!
//! * **SQLite** (bundled, WAL, `synchronous=FULL`): the default, one file in a data directory.
//!   Writes go through a single connection and `BEGIN IMMEDIATE`, so several processes on one
//!   file serialize instead of failing on lock upgrades.
//! * **PostgreSQL** (selected by a `postgres://` URL): several stateless servers share one
//!   database. Each write transaction first locks the single `event_head` row, so event
//!   sequence numbers are gapless and writers never deadlock on each other.
//!
//! Both run the same SQL (`$N` placeholders work on both) through one macro-generated
//! implementation; only connection set-up, migrations and the transaction start differ.
//! Optimistic concurrency: an update names the version it replaces; if any row was changed
//! meanwhile, the whole transaction rolls back with [`StoreError::Conflict`].

mod backend;
mod commit;
mod migrate;
mod plan;
mod service;

pub use backend::{PgStore, SqliteStore, redact_url};
pub use commit::{EpochJob, SigningGuard};
pub use migrate::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Migration};
pub use service::{ChallengeRow, TokenRow, TokenWrite};

use cphar_registry::event::StoredEvent;
use cphar_registry::model::{
    AuthorityRecord, BindingRecord, CustodyRecord, InspectionRecord, LotRecord, SealRecord,
};
use cphar_registry::store::{
    ChangeSet, ReportInputs, ReportKeyRecord, Store, StoreError, StoredReport,
};
use serde_json::Value;
use std::path::Path;

/// Either backend, chosen at run time from a URL or a data directory.
pub enum AnyStore {
    /// Embedded SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

/// The setting naming the did:web host the installation's DIDs live under.
pub const SETTING_DID_HOST: &str = "did_web_host";

/// The SQLite file name inside a data directory.
pub const SQLITE_FILE: &str = "registry.sqlite3";

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => {
                s.count_call();
                s.$method($($arg),*).await
            }
            AnyStore::Postgres(s) => {
                s.count_call();
                s.$method($($arg),*).await
            }
        }
    };
}

impl AnyStore {
    /// Opens (and migrates) the database at `url`: `postgres://…`/`postgresql://…`, or
    /// `sqlite://PATH` / a plain path to a SQLite file.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyStore::Postgres(PgStore::open(url).await?))
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            Ok(AnyStore::Sqlite(SqliteStore::open(Path::new(path)).await?))
        }
    }

    /// Opens (creating if needed) the SQLite database in `data_dir`.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Database(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        Ok(AnyStore::Sqlite(
            SqliteStore::open(&data_dir.join(SQLITE_FILE)).await?,
        ))
    }

    /// Which backend this is (`sqlite` / `postgres`).
    pub fn backend_name(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// Every row of every table, rendered as text, in a stable order: lets tests prove a
    /// refused command changed nothing.
    pub async fn snapshot(&self) -> Result<Vec<String>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.snapshot().await,
            AnyStore::Postgres(s) => s.snapshot().await,
        }
    }

    /// Opens this process's audit epoch: the `audit_key_epoch` entry introducing `audit_key`
    /// (countersigned by the identity key) is appended, and every later event this process
    /// writes is sealed with that key. Writes with events are refused until an epoch is open.
    pub async fn open_epoch(&self, epoch: EpochJob) -> Result<u64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.open_epoch(epoch).await,
            AnyStore::Postgres(s) => s.open_epoch(epoch).await,
        }
    }

    /// Like [`AnyStore::open_epoch`], but the epoch entry is appended only just before this
    /// process's first write with events: a process that appends nothing (a read, a refused
    /// command) leaves no epoch behind. Writes without events (issued challenges) do not open
    /// it.
    pub async fn defer_epoch(&self, epoch: EpochJob) {
        dispatch!(self.defer_epoch(epoch))
    }

    /// Store calls served so far (each is one query or one transaction).
    pub fn calls(&self) -> u64 {
        match self {
            AnyStore::Sqlite(s) => s.calls(),
            AnyStore::Postgres(s) => s.calls(),
        }
    }

    /// Which of `lot_ids` have a binding made by `subject`, in one query.
    pub async fn lots_bound_by(
        &self,
        subject: &str,
        lot_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self.lots_bound_by(subject, lot_ids))
    }

    /// An installation setting recorded at the first start (e.g. [`SETTING_DID_HOST`]).
    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self.setting(name))
    }

    /// Records `value` for `name` unless a value is recorded already; returns the recorded
    /// value (the first writer's, when processes start together). Settings are never changed.
    pub async fn init_setting(&self, name: &str, value: &str) -> Result<String, StoreError> {
        dispatch!(self.init_setting(name, value))
    }

    /// Installs the check every audit signature must pass (refuse signing in the error state).
    pub fn set_signing_guard(&self, guard: SigningGuard) {
        match self {
            AnyStore::Sqlite(s) => s.set_signing_guard(guard),
            AnyStore::Postgres(s) => s.set_signing_guard(guard),
        }
    }

    /// Audit log entries (export lines, JCS) from `from`, at most `limit`, with their numbers.
    pub async fn audit_entries(
        &self,
        from: u64,
        limit: u32,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.audit_entries(from, limit).await,
            AnyStore::Postgres(s) => s.audit_entries(from, limit).await,
        }
    }

    /// The number of audit entries and the chain hash of the last.
    pub async fn audit_head(&self) -> Result<(u64, String), StoreError> {
        dispatch!(self.audit_head())
    }

    /// Number of API tokens.
    pub async fn token_count(&self) -> Result<u64, StoreError> {
        dispatch!(self.token_count())
    }

    /// Seals in a lifecycle state, by UID.
    pub async fn seals_in_state(
        &self,
        state: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SealRecord>, StoreError> {
        dispatch!(self.seals_in_state(state, after, limit))
    }

    /// Benchmark baseline: `n` single-row durable transactions in a scratch table.
    pub async fn bare_durable_inserts(&self, n: u64) -> Result<std::time::Duration, StoreError> {
        dispatch!(self.bare_durable_inserts(n))
    }

    /// Revoked and decommissioned bindings, by id, after `after`, at most `limit`.
    pub async fn ended_bindings(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<BindingRecord>, StoreError> {
        dispatch!(self.ended_bindings(after, limit))
    }

    /// Closes the connections.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

impl Store for AnyStore {
    async fn seal(&self, uid: &str) -> Result<Option<SealRecord>, StoreError> {
        dispatch!(self.seal(uid))
    }
    async fn seals_matching(
        &self,
        keys: &cphar_registry::store::SealKeys,
    ) -> Result<Vec<SealRecord>, StoreError> {
        dispatch!(self.seals_matching(keys))
    }
    async fn seal_batch(
        &self,
        id: &str,
    ) -> Result<Option<cphar_registry::store::SealBatch>, StoreError> {
        dispatch!(self.seal_batch(id))
    }
    async fn seal_by_key(&self, thumbprint: &str) -> Result<Option<SealRecord>, StoreError> {
        dispatch!(self.seal_by_key(thumbprint))
    }
    async fn seal_by_certificate(
        &self,
        issuer: &str,
        serial: &str,
    ) -> Result<Option<SealRecord>, StoreError> {
        dispatch!(self.seal_by_certificate(issuer, serial))
    }
    async fn lot(&self, lot_id: &str) -> Result<Option<LotRecord>, StoreError> {
        dispatch!(self.lot(lot_id))
    }
    async fn lot_current(
        &self,
        lot_id: &str,
    ) -> Result<Option<cphar_registry::store::LotWithCurrent>, StoreError> {
        dispatch!(self.lot_current(lot_id))
    }
    async fn binding(&self, id: &str) -> Result<Option<BindingRecord>, StoreError> {
        dispatch!(self.binding(id))
    }
    async fn bindings_of_lot(&self, lot_id: &str) -> Result<Vec<BindingRecord>, StoreError> {
        dispatch!(self.bindings_of_lot(lot_id))
    }
    async fn bindings_by_authority(&self, key_id: &str) -> Result<Vec<BindingRecord>, StoreError> {
        dispatch!(self.bindings_by_authority(key_id))
    }
    async fn next_status_index(&self) -> Result<u64, StoreError> {
        dispatch!(self.next_status_index())
    }
    async fn ended_status_indices(&self, from: u64, to: u64) -> Result<Vec<u64>, StoreError> {
        dispatch!(self.ended_status_indices(from, to))
    }
    async fn suspended_bindings(&self) -> Result<Vec<BindingRecord>, StoreError> {
        dispatch!(self.suspended_bindings())
    }
    async fn authority(&self, key_id: &str) -> Result<Option<AuthorityRecord>, StoreError> {
        dispatch!(self.authority(key_id))
    }
    async fn authorities(&self) -> Result<Vec<AuthorityRecord>, StoreError> {
        dispatch!(self.authorities())
    }
    async fn inspections(&self, lot_id: &str) -> Result<Vec<InspectionRecord>, StoreError> {
        dispatch!(self.inspections(lot_id))
    }
    async fn custody(&self, lot_id: &str) -> Result<Vec<CustodyRecord>, StoreError> {
        dispatch!(self.custody(lot_id))
    }
    async fn did_document(
        &self,
        lot_id: &str,
        version: Option<u64>,
    ) -> Result<Option<Value>, StoreError> {
        dispatch!(self.did_document(lot_id, version))
    }
    async fn events_for(&self, subject: &str) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self.events_for(subject))
    }
    async fn events(&self, from: u64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        dispatch!(self.events(from, limit))
    }
    async fn active_lots(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LotRecord>, StoreError> {
        dispatch!(self.active_lots(after, limit))
    }
    async fn lots(&self, after: Option<&str>, limit: u32) -> Result<Vec<LotRecord>, StoreError> {
        dispatch!(self.lots(after, limit))
    }
    async fn token(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
        dispatch!(self.token(id))
    }
    async fn challenge(&self, id: &str) -> Result<Option<ChallengeRow>, StoreError> {
        dispatch!(self.challenge(id))
    }
    async fn purge_challenges(&self, now_ns: i64) -> Result<u64, StoreError> {
        dispatch!(self.purge_challenges(now_ns))
    }
    async fn attestation_inputs(
        &self,
        id: &str,
    ) -> Result<Option<cphar_registry::store::AttestationInputs>, StoreError> {
        dispatch!(self.attestation_inputs(id))
    }
    async fn lots_with_stale_evidence(
        &self,
        before_ns: i64,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<cphar_registry::store::LotWithCurrent>, StoreError> {
        dispatch!(self.lots_with_stale_evidence(before_ns, after, limit))
    }
    async fn policy_state(&self) -> Result<cphar_registry::store::PolicyState, StoreError> {
        dispatch!(self.policy_state())
    }
    async fn report_inputs(
        &self,
        active: &mut (dyn FnMut(cphar_registry::store::ActiveLotRow) + Send),
    ) -> Result<ReportInputs, StoreError> {
        dispatch!(self.report_inputs(active))
    }
    async fn report_key(&self) -> Result<Option<ReportKeyRecord>, StoreError> {
        dispatch!(self.report_key())
    }
    async fn reports(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<cphar_registry::store::ReportHeader>, StoreError> {
        dispatch!(self.reports(after, limit))
    }
    async fn report(&self, number: Option<u64>) -> Result<Option<StoredReport>, StoreError> {
        dispatch!(self.report(number))
    }
    async fn report_leaves(
        &self,
        number: u64,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self.report_leaves(number, after, limit))
    }
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<u64>, StoreError> {
        dispatch!(self.apply(changes))
    }
    async fn apply_batch(&self, changes: Vec<ChangeSet>) -> Result<(), StoreError> {
        dispatch!(self.apply_batch(changes))
    }
}
