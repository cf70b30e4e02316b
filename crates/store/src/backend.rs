//! The two backends. One macro writes the shared implementation for each pool type.

use crate::commit::{
    AuditState, Committer, EpochJob, Job, SigningGuard, Work, audit_data, fail_all, finish,
};
use crate::migrate::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Migration, checksum};
use crate::plan::Plan;
use crate::service::{ChallengeRow, TokenRow, TokenWrite};
use cphar_audit::{AuditEntry, EntrySigner};
use cphar_registry::event::StoredEvent;
use cphar_registry::event::{EventType, RegistryEvent};
use cphar_registry::model::{
    AuthorityRecord, BindingRecord, CustodyRecord, InspectionRecord, LotRecord, SealRecord,
};
use cphar_registry::store::{
    ActiveLotRow, AttestationInputs, ChangeSet, DepartedRow, PolicyInForce, PolicyInstall,
    ReportHeader, ReportInputs, ReportKeyRecord, SealBatch, SealBatchItem, SealKeys, StoreError,
    StoredReport,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Embedded SQLite store.
pub struct SqliteStore {
    /// The single writer connection (SQLite has one writer; queuing here is cheaper than
    /// retrying on SQLITE_BUSY). Only the committer task writes through it.
    write: SqlitePool,
    /// Readers (WAL lets them run beside the writer).
    read: SqlitePool,
    committer: Committer,
    calls: CallCounter,
}

/// PostgreSQL store.
pub struct PgStore {
    write: PgPool,
    read: PgPool,
    committer: Committer,
    calls: CallCounter,
}

/// How many store calls a backend has served: exported as a metric, and what the tests that
/// hold a listing to a fixed number of queries (no N+1) count.
#[derive(Default)]
struct CallCounter(std::sync::atomic::AtomicU64);

impl CallCounter {
    fn count(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Rows per multi-row INSERT: well under both backends' bound-parameter limits (9 per row).
const INSERT_CHUNK: usize = 500;

/// Active lots read per statement while reading a report's snapshot (all in one transaction).
const REPORT_PAGE: i64 = 10_000;

/// `SELECT` of a stored report's columns, in [`report_from_row`]'s order, and `$rest`.
macro_rules! select_report {
    ($rest:literal) => {
        concat!(
            "SELECT number, generated_ns, sum_root, rfc9162_root, digest, lot_count, totals, document FROM reports ",
            $rest
        )
    };
}

type ReportRow = (i64, i64, String, String, String, i64, String, String);

fn report_from_row(row: ReportRow) -> Result<StoredReport, StoreError> {
    let (number, generated_ns, sum_root, rfc9162_root, digest, lot_count, totals, jcs) = row;
    Ok(StoredReport {
        number: uint(number)?,
        jcs,
        generated_ns,
        sum_root,
        rfc9162_root,
        digest,
        lot_count: uint(lot_count)?,
        totals,
    })
}

type CurrentRow = (String, Option<String>, Option<String>);

fn departed_from_row((lot, binding, seal): CurrentRow) -> Result<DepartedRow, StoreError> {
    Ok(DepartedRow {
        lot: decode(&lot)?,
        binding: binding.map(|b| decode(&b)).transpose()?,
        seal: seal.map(|s| decode(&s)).transpose()?,
    })
}

fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        // unique_violation, serialization_failure and deadlock_detected mean "someone else
        // changed this first": the caller recomputes.
        if d.is_unique_violation() || matches!(d.code().as_deref(), Some("40001" | "40P01")) {
            return StoreError::Conflict(d.message().to_owned());
        }
    }
    StoreError::Database(e.to_string())
}

fn encode<T: Serialize>(record: &T) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode record: {e}")))
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("cannot decode record: {e}")))
}

fn int(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n)
        .map_err(|_| StoreError::Corrupt(format!("{n} does not fit the database integer")))
}

fn uint(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative counter {n}")))
}

fn conflict(what: &str, key: &str) -> StoreError {
    StoreError::Conflict(format!("{what} {key} changed concurrently"))
}

fn nanos(t: cphar_protocol::Timestamp) -> Result<i64, StoreError> {
    i64::try_from(t.unix_nanos()).map_err(|_| StoreError::Corrupt("time out of range".into()))
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the SQLite file at `path`.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is durable once acknowledged, also across power loss.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db)?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(db)?;
        {
            let mut tx = write.begin_with(SQLITE_BEGIN).await.map_err(db)?;
            sqlx::raw_sql(MIGRATION_TABLE)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            apply_migrations_sqlite(&mut tx, MIGRATIONS_SQLITE).await?;
            tx.commit().await.map_err(db)?;
        }
        let committer = Committer::start(write.clone(), SqliteStore::run_group);
        Ok(SqliteStore {
            write,
            read,
            committer,
            calls: CallCounter::default(),
        })
    }
}

impl PgStore {
    /// Connects to `url` and migrates the schema (under an advisory lock, so servers starting
    /// together do not race).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(db)?;
        // One bounded first connection, so an unreachable or silent server is reported in
        // seconds, naming what was tried; the pool itself keeps sqlx's patient defaults.
        let unreachable = |why: String| {
            StoreError::Database(format!(
                "cannot connect to PostgreSQL at {}: {why}",
                redact_url(url)
            ))
        };
        match tokio::time::timeout(
            PG_CONNECT_TIMEOUT,
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&options),
        )
        .await
        {
            Ok(Ok(probe)) => {
                let _ = sqlx::Connection::close(probe).await;
            }
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    PG_CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let write = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options.clone())
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let read = write.clone();
        let mut tx = write.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock(7364519826)")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::raw_sql(MIGRATION_TABLE)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        apply_migrations_pg(&mut tx, MIGRATIONS_POSTGRES).await?;
        tx.commit().await.map_err(db)?;
        let committer = Committer::start(write.clone(), PgStore::run_group);
        Ok(PgStore {
            write,
            read,
            committer,
            calls: CallCounter::default(),
        })
    }
}

/// How long a PostgreSQL connection may take: an unreachable server is reported in seconds,
/// not after sqlx's default 30 s.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `url` without its password (`postgres://user:***@host/db`), for error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The authority ends at the first '/', '?' or '#'; credentials end at its last '@'.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// SQLite write transactions take the write lock up front: no deadlock-prone upgrade later.
const SQLITE_BEGIN: &str = "BEGIN IMMEDIATE";

const MIGRATION_TABLE: &str = "CREATE TABLE IF NOT EXISTS cphar_migrations (
    version  BIGINT PRIMARY KEY,
    name     TEXT NOT NULL,
    checksum BIGINT NOT NULL
)";

macro_rules! migrations_fn {
    ($fn_name:ident, $db:ty) => {
        async fn $fn_name(
            tx: &mut sqlx::Transaction<'static, $db>,
            migrations: &[Migration],
        ) -> Result<(), StoreError> {
            let applied: Vec<(i64, i64)> =
                sqlx::query_as("SELECT version, checksum FROM cphar_migrations ORDER BY version")
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db)?;
            for m in migrations {
                match applied.iter().find(|(v, _)| *v == m.version) {
                    Some((_, sum)) if *sum == checksum(m.sql) => continue,
                    Some(_) => {
                        return Err(StoreError::Database(format!(
                            "migration {} ({}) differs from the one applied to this database",
                            m.version, m.name
                        )));
                    }
                    None => {}
                }
                sqlx::raw_sql(m.sql).execute(&mut **tx).await.map_err(db)?;
                sqlx::query(
                    "INSERT INTO cphar_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                )
                .bind(m.version)
                .bind(m.name)
                .bind(checksum(m.sql))
                .execute(&mut **tx)
                .await
                .map_err(db)?;
            }
            if let Some((newest, _)) = applied.last()
                && migrations.iter().all(|m| m.version < *newest)
            {
                return Err(StoreError::Database(format!(
                    "the database schema (version {newest}) is newer than this binary"
                )));
            }
            Ok(())
        }
    };
}

migrations_fn!(apply_migrations_sqlite, sqlx::Sqlite);
migrations_fn!(apply_migrations_pg, sqlx::Postgres);

macro_rules! store_impl {
    ($store:ident, $db:ty, $begin:expr, $begin_read:expr, $lock_head:literal) => {
        impl $store {
            /// Counts one store call (see [`CallCounter`]).
            pub(crate) fn count_call(&self) {
                self.calls.count();
            }

            /// Store calls made so far.
            pub fn calls(&self) -> u64 {
                self.calls.get()
            }

            /// Which of `lot_ids` have a binding made by `subject`, in one query.
            pub async fn lots_bound_by(&self, subject: &str, lot_ids: &[String]) -> Result<Vec<String>, StoreError> {
                if lot_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = sqlx::QueryBuilder::<$db>::new("SELECT lot_id, record FROM bindings WHERE lot_id IN (");
                let mut list = query.separated(", ");
                for id in lot_ids {
                    list.push_bind(id.as_str());
                }
                query.push(")");
                let rows: Vec<(String, String)> = query.build_query_as().fetch_all(&self.read).await.map_err(db)?;
                let mut bound = Vec::new();
                for (lot_id, text) in &rows {
                    let binding: BindingRecord = decode(text)?;
                    if binding.bound_by == subject && !bound.contains(lot_id) {
                        bound.push(lot_id.clone());
                    }
                }
                Ok(bound)
            }

            /// What a reserve report needs, in ONE read transaction (each active lot handed to
            /// `on_active` as it is read, the rest returned): on SQLite (WAL) a
            /// transaction's reads all see the snapshot of its first read; on PostgreSQL it is
            /// REPEATABLE READ. Active lots are read in pages of [`REPORT_PAGE`] by lot id,
            /// each page one statement joining binding, latest DID document and the seal's
            /// last `seal_attested` entry (no per-lot queries).
            pub async fn report_inputs(
                &self,
                on_active: &mut (dyn FnMut(ActiveLotRow) + Send),
            ) -> Result<ReportInputs, StoreError> {
                let mut tx = self.read.begin_with($begin_read).await.map_err(db)?;
                let report_key: Option<(String, String, i64)> =
                    sqlx::query_as("SELECT kid, public_jwk, certified_ns FROM report_key WHERE singleton = 1")
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                let previous: Option<ReportRow> = sqlx::query_as(select_report!("ORDER BY number DESC LIMIT 1"))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let policy: Option<(String, i64, i64, String)> = sqlx::query_as(
                    "SELECT f.policy_id, f.version, f.revision, p.document FROM policy_in_force f \
                     JOIN policies p ON p.policy_id = f.policy_id AND p.version = f.version WHERE f.singleton = 1",
                )
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let counts: Vec<(String, i64)> =
                    sqlx::query_as("SELECT state, COUNT(*) FROM lots GROUP BY state ORDER BY state")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?;
                let mut after = String::new();
                loop {
                    #[allow(clippy::type_complexity)]
                    let page: Vec<(String, String, Option<String>, Option<i64>, Option<String>, Option<String>)> = sqlx::query_as(
                        "SELECT l.lot_id, l.record, b.seal_uid, d.version, d.document, \
                         (SELECT e.entry FROM events e WHERE e.subject = 'seal:' || b.seal_uid \
                          AND e.event_type = 'seal_attested' ORDER BY e.sequence DESC LIMIT 1) \
                         FROM lots l \
                         LEFT JOIN bindings b ON b.id = l.current_binding \
                         LEFT JOIN did_documents d ON d.lot_id = l.lot_id \
                          AND d.version = (SELECT MAX(x.version) FROM did_documents x WHERE x.lot_id = l.lot_id) \
                         WHERE l.active AND l.lot_id > $1 ORDER BY l.lot_id LIMIT $2",
                    )
                    .bind(&after)
                    .bind(REPORT_PAGE)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db)?;
                    let full = page.len() as i64 == REPORT_PAGE;
                    for (lot_id, lot, seal_uid, version, document, entry) in page {
                        let did_document = match (version, document) {
                            (Some(v), Some(d)) => Some((uint(v)?, d)),
                            _ => None,
                        };
                        on_active(ActiveLotRow {
                            lot: decode(&lot)?,
                            seal_uid,
                            did_document,
                            attestation_entry: entry,
                        });
                        after = lot_id;
                    }
                    if !full {
                        break;
                    }
                }
                let departed = match &previous {
                    None => Vec::new(),
                    Some((number, ..)) => {
                        let rows: Vec<CurrentRow> = sqlx::query_as(
                            "SELECT l.record, b.record, s.record FROM report_leaves r \
                             JOIN lots l ON l.lot_id = r.lot_id \
                             LEFT JOIN bindings b ON b.id = l.current_binding \
                             LEFT JOIN seals s ON s.uid = b.seal_uid \
                             WHERE r.report_number = $1 AND NOT l.active ORDER BY r.lot_id",
                        )
                        .bind(*number)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?;
                        rows.into_iter().map(departed_from_row).collect::<Result<Vec<_>, _>>()?
                    }
                };
                tx.rollback().await.map_err(db)?;
                Ok(ReportInputs {
                    lots_by_state: counts
                        .into_iter()
                        .map(|(state, n)| Ok((state, uint(n)?)))
                        .collect::<Result<Vec<_>, StoreError>>()?,
                    policy: policy
                        .map(|(policy_id, version, revision, document)| {
                            Ok::<_, StoreError>(PolicyInForce {
                                policy_id,
                                version: uint(version)?,
                                revision: uint(revision)?,
                                document,
                            })
                        })
                        .transpose()?,
                    previous: previous.map(report_from_row).transpose()?,
                    departed,
                    report_key: report_key.map(|(kid, public_jwk, certified_ns)| ReportKeyRecord {
                        kid,
                        public_jwk,
                        certified_ns,
                    }),
                })
            }

            /// The certified report key.
            pub async fn report_key(&self) -> Result<Option<ReportKeyRecord>, StoreError> {
                let row: Option<(String, String, i64)> =
                    sqlx::query_as("SELECT kid, public_jwk, certified_ns FROM report_key WHERE singleton = 1")
                        .fetch_optional(&self.read)
                        .await
                        .map_err(db)?;
                Ok(row.map(|(kid, public_jwk, certified_ns)| ReportKeyRecord { kid, public_jwk, certified_ns }))
            }

            /// Reports numbered above `after`, ascending, at most `limit`, without documents.
            pub async fn reports(&self, after: u64, limit: u32) -> Result<Vec<ReportHeader>, StoreError> {
                let rows: Vec<(i64, i64, String, String, i64, String)> = sqlx::query_as(
                    "SELECT number, generated_ns, sum_root, rfc9162_root, lot_count, totals FROM reports \
                     WHERE number > $1 ORDER BY number LIMIT $2",
                )
                .bind(int(after)?)
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await
                .map_err(db)?;
                rows.into_iter()
                    .map(|(number, generated_ns, sum_root, rfc9162_root, lot_count, totals)| {
                        Ok(ReportHeader {
                            number: uint(number)?,
                            generated_ns,
                            sum_root,
                            rfc9162_root,
                            lot_count: uint(lot_count)?,
                            totals,
                        })
                    })
                    .collect()
            }

            /// Report `number`, or the latest.
            pub async fn report(&self, number: Option<u64>) -> Result<Option<StoredReport>, StoreError> {
                let row: Option<ReportRow> = match number {
                    Some(n) => sqlx::query_as(select_report!("WHERE number = $1"))
                        .bind(int(n)?)
                        .fetch_optional(&self.read)
                        .await,
                    None => sqlx::query_as(select_report!("ORDER BY number DESC LIMIT 1"))
                        .fetch_optional(&self.read)
                        .await,
                }
                .map_err(db)?;
                row.map(report_from_row).transpose()
            }

            /// Leaves of report `number` by lot id after `after`, at most `limit`.
            pub async fn report_leaves(&self, number: u64, after: Option<&str>, limit: u32) -> Result<Vec<(String, String)>, StoreError> {
                sqlx::query_as(
                    "SELECT lot_id, leaf FROM report_leaves WHERE report_number = $1 AND lot_id > $2 ORDER BY lot_id LIMIT $3",
                )
                .bind(int(number)?)
                .bind(after.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await
                .map_err(db)
            }

            /// Certifies the report key (one row: a second is a conflict) and stores reports:
            /// a report's number must follow the latest stored one, else the whole change
            /// conflicts and is recomputed.
            async fn write_reports(tx: &mut sqlx::Transaction<'static, $db>, plan: &Plan<'_>) -> Result<(), StoreError> {
                for k in &plan.report_keys {
                    sqlx::query("INSERT INTO report_key (singleton, kid, public_jwk, certified_ns) VALUES (1, $1, $2, $3)")
                        .bind(&k.kid)
                        .bind(&k.public_jwk)
                        .bind(k.certified_ns)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?;
                }
                for w in &plan.reports {
                    let r = &w.report;
                    let number = int(r.number)?;
                    let done = sqlx::query(
                        "INSERT INTO reports (number, generated_ns, sum_root, rfc9162_root, digest, lot_count, totals, document) \
                         SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE (SELECT COALESCE(MAX(number), 0) FROM reports) = $9",
                    )
                    .bind(number)
                    .bind(r.generated_ns)
                    .bind(&r.sum_root)
                    .bind(&r.rfc9162_root)
                    .bind(&r.digest)
                    .bind(int(r.lot_count)?)
                    .bind(&r.totals)
                    .bind(&r.jcs)
                    .bind(number - 1)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                    if done.rows_affected() != 1 {
                        return Err(conflict("report", &r.number.to_string()));
                    }
                    for chunk in w.leaves.chunks(INSERT_CHUNK) {
                        let rows = chunk
                            .iter()
                            .map(|l| {
                                String::from_utf8(l.to_jcs())
                                    .map(|text| (l.lot_id.clone(), text))
                                    .map_err(|_| StoreError::Corrupt("a leaf is not UTF-8".into()))
                            })
                            .collect::<Result<Vec<_>, StoreError>>()?;
                        let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO report_leaves (report_number, lot_id, leaf) ");
                        q.push_values(rows, |mut b, (lot_id, leaf)| {
                            b.push_bind(number).push_bind(lot_id).push_bind(leaf);
                        });
                        q.build().execute(&mut **tx).await.map_err(db)?;
                    }
                }
                Ok(())
            }
            async fn one<T: DeserializeOwned>(&self, sql: &'static str, key: &str) -> Result<Option<T>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as(sql).bind(key).fetch_optional(&self.read).await.map_err(db)?;
                row.map(|(text,)| decode(&text)).transpose()
            }

            async fn many<T: DeserializeOwned>(&self, sql: &'static str, key: &str) -> Result<Vec<T>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as(sql).bind(key).fetch_all(&self.read).await.map_err(db)?;
                rows.iter().map(|(text,)| decode(text)).collect()
            }

            /// A seal by UID.
            pub async fn seal(&self, uid: &str) -> Result<Option<SealRecord>, StoreError> {
                self.one("SELECT record FROM seals WHERE uid = $1", uid).await
            }

            /// A seal by key thumbprint.
            pub async fn seal_by_key(&self, thumbprint: &str) -> Result<Option<SealRecord>, StoreError> {
                self.one("SELECT record FROM seals WHERE key_thumbprint = $1", thumbprint).await
            }

            /// A seal by certificate issuer and serial.
            pub async fn seal_by_certificate(&self, issuer: &str, serial: &str) -> Result<Option<SealRecord>, StoreError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT record FROM seals WHERE cert_issuer = $1 AND cert_serial = $2")
                        .bind(issuer)
                        .bind(serial)
                        .fetch_optional(&self.read)
                        .await
                        .map_err(db)?;
                row.map(|(text,)| decode(&text)).transpose()
            }

            /// A lot.
            pub async fn lot(&self, lot_id: &str) -> Result<Option<LotRecord>, StoreError> {
                self.one("SELECT record FROM lots WHERE lot_id = $1", lot_id).await
            }

            /// A lot, its current binding and that binding's seal, in one query.
            pub async fn lot_current(
                &self,
                lot_id: &str,
            ) -> Result<Option<cphar_registry::store::LotWithCurrent>, StoreError> {
                let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT l.record, b.record, s.record FROM lots l \
                     LEFT JOIN bindings b ON b.id = l.current_binding \
                     LEFT JOIN seals s ON s.uid = b.seal_uid WHERE l.lot_id = $1",
                )
                .bind(lot_id)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
                let Some((lot, binding, seal)) = row else { return Ok(None) };
                let binding = match binding {
                    Some(b) => Some((decode(&b)?, seal.map(|s| decode(&s)).transpose()?)),
                    None => None,
                };
                Ok(Some((decode(&lot)?, binding)))
            }

            /// What answering challenge `id` needs, in one query: the unanswered challenge, its
            /// lot with the current binding and seal, the lot's current DID document (as stored,
            /// byte for byte) and the policy in force.
            pub async fn attestation_inputs(&self, id: &str) -> Result<Option<AttestationInputs>, StoreError> {
                #[allow(clippy::type_complexity)]
                let row: Option<(
                    String, String, String, String, String, i64, i64,
                    Option<String>, Option<String>, Option<String>, Option<String>,
                    Option<String>, Option<i64>, Option<i64>, Option<String>,
                )> = sqlx::query_as(
                    "SELECT c.id, c.nonce, c.lot_id, c.verifier, c.request, c.issued_ns, c.expires_ns, \
                     l.record, b.record, s.record, \
                     (SELECT d.document FROM did_documents d WHERE d.lot_id = c.lot_id ORDER BY d.version DESC LIMIT 1), \
                     f.policy_id, f.version, f.revision, p.document \
                     FROM challenges c \
                     LEFT JOIN lots l ON l.lot_id = c.lot_id \
                     LEFT JOIN bindings b ON b.id = l.current_binding \
                     LEFT JOIN seals s ON s.uid = b.seal_uid \
                     LEFT JOIN policy_in_force f ON f.singleton = 1 \
                     LEFT JOIN policies p ON p.policy_id = f.policy_id AND p.version = f.version \
                     WHERE c.id = $1 AND NOT c.used",
                )
                .bind(id)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
                let Some((id, nonce, lot_id, verifier, request, issued_ns, expires_ns, lot, binding, seal, document, pid, pver, prev, pdoc)) = row
                else {
                    return Ok(None);
                };
                let policy = match (pid, pver, prev, pdoc) {
                    (Some(policy_id), Some(version), Some(revision), Some(document)) => Some(PolicyInForce {
                        policy_id,
                        version: uint(version)?,
                        revision: uint(revision)?,
                        document,
                    }),
                    _ => None,
                };
                Ok(Some(AttestationInputs {
                    challenge: ChallengeRow { id, nonce, lot_id, verifier, request, issued_ns, expires_ns },
                    lot: lot.map(|t| decode(&t)).transpose()?,
                    binding: binding.map(|t| decode(&t)).transpose()?,
                    seal: seal.map(|t| decode(&t)).transpose()?,
                    document,
                    policy,
                }))
            }

            /// Active lots whose latest evidence is older than `before_ns` (or missing), with
            /// their current binding and seal, by lot id after `after`, at most `limit`.
            pub async fn lots_with_stale_evidence(
                &self,
                before_ns: i64,
                after: Option<&str>,
                limit: u32,
            ) -> Result<Vec<cphar_registry::store::LotWithCurrent>, StoreError> {
                let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT l.record, b.record, s.record FROM lots l \
                     LEFT JOIN bindings b ON b.id = l.current_binding \
                     LEFT JOIN seals s ON s.uid = b.seal_uid \
                     WHERE l.active AND (l.evidence_ns IS NULL OR l.evidence_ns < $1) AND l.lot_id > $2 \
                     ORDER BY l.lot_id LIMIT $3",
                )
                .bind(before_ns)
                .bind(after.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(&self.read)
                .await
                .map_err(db)?;
                rows.into_iter()
                    .map(|(lot, binding, seal)| {
                        let current = match binding {
                            Some(b) => Some((decode(&b)?, seal.map(|s| decode(&s)).transpose()?)),
                            None => None,
                        };
                        Ok((decode(&lot)?, current))
                    })
                    .collect()
            }

            /// A binding.
            pub async fn binding(&self, id: &str) -> Result<Option<BindingRecord>, StoreError> {
                self.one("SELECT record FROM bindings WHERE id = $1", id).await
            }

            /// A lot's bindings, oldest first.
            pub async fn bindings_of_lot(&self, lot_id: &str) -> Result<Vec<BindingRecord>, StoreError> {
                self.many("SELECT record FROM bindings WHERE lot_id = $1 ORDER BY number", lot_id).await
            }

            /// Live bindings signed by an authority key.
            pub async fn bindings_by_authority(&self, key_id: &str) -> Result<Vec<BindingRecord>, StoreError> {
                self.many(
                    "SELECT record FROM bindings WHERE authority_key_id = $1 \
                     AND state IN ('enrolled', 'active', 'degraded') ORDER BY lot_id, number",
                    key_id,
                )
                .await
            }

            /// Seals in a lifecycle state, by UID, after `after`, at most `limit`.
            pub async fn seals_in_state(&self, state: &str, after: Option<&str>, limit: u32) -> Result<Vec<SealRecord>, StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT record FROM seals WHERE state = $1 AND uid > $2 ORDER BY uid LIMIT $3")
                        .bind(state)
                        .bind(after.unwrap_or(""))
                        .bind(i64::from(limit))
                        .fetch_all(&self.read)
                        .await
                        .map_err(db)?;
                rows.iter().map(|(text,)| decode(text)).collect()
            }

            /// Benchmark baseline: `n` single-row INSERTs, each its own durable transaction, in a
            /// scratch table (no audit, no group commit). Returns the elapsed time.
            pub async fn bare_durable_inserts(&self, n: u64) -> Result<std::time::Duration, StoreError> {
                sqlx::raw_sql("CREATE TABLE IF NOT EXISTS bench_bare (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
                    .execute(&self.write)
                    .await
                    .map_err(db)?;
                sqlx::raw_sql("DELETE FROM bench_bare").execute(&self.write).await.map_err(db)?;
                let payload = "x".repeat(400);
                let started = std::time::Instant::now();
                for i in 0..n {
                    sqlx::query("INSERT INTO bench_bare (id, payload) VALUES ($1, $2)")
                        .bind(int(i)?)
                        .bind(&payload)
                        .execute(&self.write)
                        .await
                        .map_err(db)?;
                }
                let elapsed = started.elapsed();
                sqlx::raw_sql("DROP TABLE bench_bare").execute(&self.write).await.map_err(db)?;
                Ok(elapsed)
            }

            /// Bindings that are revoked or decommissioned, by id (the revocation status list).
            pub async fn ended_bindings(&self, after: Option<&str>, limit: u32) -> Result<Vec<BindingRecord>, StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT record FROM bindings WHERE state IN ('revoked', 'decommissioned') AND id > $1 ORDER BY id LIMIT $2")
                        .bind(after.unwrap_or(""))
                        .bind(i64::from(limit))
                        .fetch_all(&self.read)
                        .await
                        .map_err(db)?;
                rows.iter().map(|(text,)| decode(text)).collect()
            }

            /// The lowest status index no binding has (status indices are never reused).
            pub async fn next_status_index(&self) -> Result<u64, StoreError> {
                let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(status_index) FROM bindings")
                    .fetch_one(&self.read)
                    .await
                    .map_err(db)?;
                max.map_or(Ok(0), |m| uint(m).map(|m| m + 1))
            }

            /// Status indices in `[from, to)` of revoked or decommissioned bindings.
            pub async fn ended_status_indices(&self, from: u64, to: u64) -> Result<Vec<u64>, StoreError> {
                let rows: Vec<(i64,)> = sqlx::query_as(
                    "SELECT status_index FROM bindings WHERE state IN ('revoked', 'decommissioned') \
                     AND status_index >= $1 AND status_index < $2",
                )
                .bind(int(from)?)
                .bind(int(to)?)
                .fetch_all(&self.read)
                .await
                .map_err(db)?;
                rows.iter().map(|(i,)| uint(*i)).collect()
            }

            /// Suspended bindings.
            pub async fn suspended_bindings(&self) -> Result<Vec<BindingRecord>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT record FROM bindings WHERE suspended AND state IN ('enrolled', 'active', 'degraded') ORDER BY id")
                    .fetch_all(&self.read)
                    .await
                    .map_err(db)?;
                rows.iter().map(|(text,)| decode(text)).collect()
            }

            /// An authority key.
            pub async fn authority(&self, key_id: &str) -> Result<Option<AuthorityRecord>, StoreError> {
                self.one("SELECT record FROM authorities WHERE key_id = $1", key_id).await
            }

            /// All authority keys.
            pub async fn authorities(&self) -> Result<Vec<AuthorityRecord>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT record FROM authorities ORDER BY number")
                    .fetch_all(&self.read)
                    .await
                    .map_err(db)?;
                rows.iter().map(|(text,)| decode(text)).collect()
            }

            /// A lot's inspections.
            pub async fn inspections(&self, lot_id: &str) -> Result<Vec<InspectionRecord>, StoreError> {
                self.many("SELECT record FROM inspections WHERE lot_id = $1 ORDER BY at_ns, id", lot_id).await
            }

            /// A lot's custody records.
            pub async fn custody(&self, lot_id: &str) -> Result<Vec<CustodyRecord>, StoreError> {
                self.many("SELECT record FROM custody WHERE lot_id = $1 ORDER BY at_ns, id", lot_id).await
            }

            /// A DID document version (latest when `None`).
            pub async fn did_document(&self, lot_id: &str, version: Option<u64>) -> Result<Option<Value>, StoreError> {
                let row: Option<(String,)> = match version {
                    Some(v) => sqlx::query_as("SELECT document FROM did_documents WHERE lot_id = $1 AND version = $2")
                        .bind(lot_id)
                        .bind(int(v)?)
                        .fetch_optional(&self.read)
                        .await
                        .map_err(db)?,
                    None => sqlx::query_as(
                        "SELECT document FROM did_documents WHERE lot_id = $1 ORDER BY version DESC LIMIT 1",
                    )
                    .bind(lot_id)
                    .fetch_optional(&self.read)
                    .await
                    .map_err(db)?,
                };
                row.map(|(text,)| decode(&text)).transpose()
            }

            /// Events about a subject.
            pub async fn events_for(&self, subject: &str) -> Result<Vec<StoredEvent>, StoreError> {
                let rows: Vec<(i64, String)> =
                    sqlx::query_as("SELECT sequence, record FROM events WHERE subject = $1 ORDER BY sequence")
                        .bind(subject)
                        .fetch_all(&self.read)
                        .await
                        .map_err(db)?;
                rows.iter()
                    .map(|(seq, text)| Ok(StoredEvent { sequence: uint(*seq)?, event: decode(text)? }))
                    .collect()
            }

            /// Events from `from`.
            pub async fn events(&self, from: u64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
                let rows: Vec<(i64, String)> =
                    sqlx::query_as("SELECT sequence, record FROM events WHERE sequence >= $1 ORDER BY sequence LIMIT $2")
                        .bind(int(from)?)
                        .bind(i64::from(limit))
                        .fetch_all(&self.read)
                        .await
                        .map_err(db)?;
                rows.iter()
                    .map(|(seq, text)| Ok(StoredEvent { sequence: uint(*seq)?, event: decode(text)? }))
                    .collect()
            }

            /// Active lots by id.
            pub async fn active_lots(&self, after: Option<&str>, limit: u32) -> Result<Vec<LotRecord>, StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT record FROM lots WHERE active AND lot_id > $1 ORDER BY lot_id LIMIT $2")
                        .bind(after.unwrap_or(""))
                        .bind(i64::from(limit))
                        .fetch_all(&self.read)
                        .await
                        .map_err(db)?;
                rows.iter().map(|(text,)| decode(text)).collect()
            }

            /// All lots by id.
            pub async fn lots(&self, after: Option<&str>, limit: u32) -> Result<Vec<LotRecord>, StoreError> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT record FROM lots WHERE lot_id > $1 ORDER BY lot_id LIMIT $2")
                        .bind(after.unwrap_or(""))
                        .bind(i64::from(limit))
                        .fetch_all(&self.read)
                        .await
                        .map_err(db)?;
                rows.iter().map(|(text,)| decode(text)).collect()
            }

            /// Applies one change set atomically (group-committed with concurrent ones).
            pub async fn apply(&self, changes: ChangeSet) -> Result<Vec<u64>, StoreError> {
                self.committer.apply(vec![changes]).await
            }

            /// Applies many change sets in one transaction: all or none.
            pub async fn apply_batch(&self, batch: Vec<ChangeSet>) -> Result<(), StoreError> {
                self.committer.apply(batch).await.map(drop)
            }

            /// Opens this process's audit epoch (see [`crate::AnyStore::open_epoch`]).
            pub async fn open_epoch(&self, epoch: EpochJob) -> Result<u64, StoreError> {
                self.committer.open_epoch(epoch).await
            }

            /// Installs the check every audit signature must pass (the module's error state).
            pub fn set_signing_guard(&self, guard: SigningGuard) {
                self.committer.set_guard(guard);
            }

            /// Audit entries (export lines) from `from`, at most `limit`.
            pub async fn audit_entries(&self, from: u64, limit: u32) -> Result<Vec<(u64, String)>, StoreError> {
                let rows: Vec<(i64, Option<String>)> =
                    sqlx::query_as("SELECT sequence, entry FROM events WHERE sequence >= $1 ORDER BY sequence LIMIT $2")
                        .bind(int(from)?)
                        .bind(i64::from(limit))
                        .fetch_all(&self.read)
                        .await
                        .map_err(db)?;
                rows.into_iter()
                    .map(|(seq, entry)| {
                        let seq = uint(seq)?;
                        entry
                            .map(|e| (seq, e))
                            .ok_or_else(|| StoreError::Corrupt(format!("event {seq} has no audit entry")))
                    })
                    .collect()
            }

            /// Number of audit entries and the chain hash of the last one.
            pub async fn audit_head(&self) -> Result<(u64, String), StoreError> {
                let (next, hash): (i64, String) =
                    sqlx::query_as("SELECT next_sequence, head_hash FROM event_head WHERE singleton = 1")
                        .fetch_one(&self.read)
                        .await
                        .map_err(db)?;
                Ok((uint(next)?, hash))
            }

            /// Closes both pools.
            pub async fn close(&self) {
                self.write.close().await;
                self.read.close().await;
            }

            /// One group commit: every job in its own savepoint of one transaction.
            async fn run_group(pool: sqlx::Pool<$db>, jobs: Vec<Job>, audit: Arc<AuditState>) {
                // Conflicts are rare: first try the whole group without savepoints (two
                // statements fewer per job); if any job fails, redo it with savepoints so the
                // failure stays that job's alone.
                if jobs.len() > 1 && jobs.iter().all(|j| matches!(j.work, Work::Apply(_))) {
                    match Self::run_group_optimistic(&pool, &jobs, &audit).await {
                        Ok(Some(results)) => {
                            for (job, seqs) in jobs.into_iter().zip(results) {
                                let _ = job.reply.send(Ok(seqs));
                            }
                            return;
                        }
                        Ok(None) => {}
                        Err(e) => return fail_all(jobs, &e),
                    }
                }
                Self::run_group_isolated(pool, jobs, audit).await;
            }

            async fn run_group_optimistic(
                pool: &sqlx::Pool<$db>,
                jobs: &[Job],
                audit: &AuditState,
            ) -> Result<Option<Vec<Vec<u64>>>, StoreError> {
                let mut tx = pool.begin_with($begin).await.map_err(db)?;
                let (mut next, mut head) = Self::lock_head(&mut tx).await?;
                let first = next;
                let signer = audit.signer();
                let mut results = Vec::with_capacity(jobs.len());
                let mut entries = Vec::new();
                for job in jobs {
                    let Work::Apply(sets) = &job.work else { return Ok(None) };
                    match Self::stage_sets(&mut tx, sets, &mut next, &mut head, signer.as_deref(), audit).await {
                        Ok(rows) => {
                            results.push(rows.iter().map(|(seq, _, _)| *seq).collect());
                            entries.extend(rows);
                        }
                        Err(_) => {
                            tx.rollback().await.map_err(db)?;
                            return Ok(None);
                        }
                    }
                }
                // The whole group's entries in multi-row statements.
                if Self::insert_events(&mut tx, &entries).await.is_err() {
                    tx.rollback().await.map_err(db)?;
                    return Ok(None);
                }
                // A group without events (e.g. issued challenges) leaves the head as it was.
                if next != first {
                    Self::store_head(&mut tx, next, &head).await?;
                }
                tx.commit().await.map_err(db)?;
                Ok(Some(results))
            }

            async fn run_group_isolated(pool: sqlx::Pool<$db>, jobs: Vec<Job>, audit: Arc<AuditState>) {
                let mut tx = match pool.begin_with($begin).await {
                    Ok(tx) => tx,
                    Err(e) => return fail_all(jobs, &db(e)),
                };
                let (mut next, mut head) = match Self::lock_head(&mut tx).await {
                    Ok(h) => h,
                    Err(e) => return fail_all(jobs, &e),
                };
                let mut signer = audit.signer();
                let mut opened = None;
                let mut done = Vec::with_capacity(jobs.len());
                for job in jobs {
                    let (saved_next, saved_head) = (next, head.clone());
                    if let Err(e) = sqlx::query("SAVEPOINT g").execute(&mut *tx).await {
                        done.push((job.reply, Err(db(e))));
                        continue;
                    }
                    let result = match job.work {
                        Work::Apply(sets) => Self::apply_sets(&mut tx, &sets, &mut next, &mut head, signer.as_deref(), &audit).await,
                        Work::OpenEpoch(epoch) => match Self::append_epoch(&mut tx, *epoch, &mut next, &mut head).await {
                            Ok((seq, new_signer)) => {
                                signer = Some(Arc::clone(&new_signer));
                                opened = Some(new_signer);
                                Ok(vec![seq])
                            }
                            Err(e) => Err(e),
                        },
                    };
                    let closing = if result.is_ok() { "RELEASE SAVEPOINT g" } else { "ROLLBACK TO SAVEPOINT g" };
                    if result.is_err() {
                        next = saved_next;
                        head = saved_head;
                    }
                    let result = match sqlx::query(closing).execute(&mut *tx).await {
                        Ok(_) => result,
                        Err(e) => Err(db(e)),
                    };
                    done.push((job.reply, result));
                }
                let committed = async {
                    Self::store_head(&mut tx, next, &head).await?;
                    tx.commit().await.map_err(db)
                }
                .await;
                if let Err(e) = &committed {
                    return finish(done, Some(e));
                }
                if let Some(new_signer) = opened {
                    audit.install(new_signer);
                }
                finish(done, None);
            }

            async fn apply_sets(
                tx: &mut sqlx::Transaction<'static, $db>,
                sets: &[ChangeSet],
                next: &mut u64,
                head: &mut String,
                signer: Option<&EntrySigner>,
                audit: &AuditState,
            ) -> Result<Vec<u64>, StoreError> {
                let rows = Self::stage_sets(tx, sets, next, head, signer, audit).await?;
                Self::insert_events(tx, &rows).await?;
                Ok(rows.iter().map(|(seq, _, _)| *seq).collect())
            }

            /// Writes the records of `sets` and seals their events (in order, continuing the
            /// chain at `next`/`head`); the sealed entries are returned for insertion.
            async fn stage_sets<'s>(
                tx: &mut sqlx::Transaction<'static, $db>,
                sets: &'s [ChangeSet],
                next: &mut u64,
                head: &mut String,
                signer: Option<&EntrySigner>,
                audit: &AuditState,
            ) -> Result<Vec<(u64, &'s RegistryEvent, AuditEntry)>, StoreError> {
                let plan = Plan::new(sets, *next)?;
                Self::write(tx, &plan).await?;
                if plan.events.is_empty() {
                    return Ok(Vec::new());
                }
                let signer = signer.ok_or(StoreError::NoAuditEpoch)?;
                let mut rows = Vec::with_capacity(plan.events.len());
                for (seq, event) in &plan.events {
                    audit.check()?;
                    let entry = signer
                        .seal(*seq, event.at, event.event_type.as_str(), audit_data(event), head)
                        .map_err(|e| StoreError::Audit(e.to_string()))?;
                    head.clone_from(&entry.hash);
                    rows.push((*seq, *event, entry));
                }
                *next = plan.next_sequence(*next);
                Ok(rows)
            }

            async fn append_epoch(
                tx: &mut sqlx::Transaction<'static, $db>,
                epoch: EpochJob,
                next: &mut u64,
                head: &mut String,
            ) -> Result<(u64, Arc<EntrySigner>), StoreError> {
                let seq = *next;
                let (entry, signer) = cphar_audit::open_epoch(epoch.audit_key, &epoch.identity, seq, head, &epoch.start)
                    .map_err(|e| StoreError::Audit(e.to_string()))?;
                let data: Value = serde_json::from_slice::<Value>(&entry.canonical)
                    .ok()
                    .and_then(|v| v.get("eventData").cloned())
                    .unwrap_or(Value::Null);
                let event = RegistryEvent {
                    event_type: EventType::AuditKeyEpoch,
                    subject: "audit".into(),
                    actor: "registry".into(),
                    at: epoch.start.started_at,
                    reason_code: None,
                    data,
                };
                Self::insert_events(tx, &[(seq, &event, entry.clone())]).await?;
                *next += 1;
                *head = entry.hash;
                Ok((seq, Arc::new(signer)))
            }

            async fn insert_events(
                tx: &mut sqlx::Transaction<'static, $db>,
                rows: &[(u64, &RegistryEvent, AuditEntry)],
            ) -> Result<(), StoreError> {
                for chunk in rows.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO events (sequence, subject, event_type, record, entry) ");
                    let values = chunk
                        .iter()
                        .map(|(seq, e, entry)| {
                            let line = String::from_utf8(entry.canonical.clone())
                                .map_err(|_| StoreError::Corrupt("audit entry is not UTF-8".into()))?;
                            Ok((int(*seq)?, *e, encode(*e)?, line))
                        })
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    q.push_values(values, |mut q, (seq, e, record, line)| {
                        q.push_bind(seq).push_bind(e.subject.clone()).push_bind(e.event_type.as_str()).push_bind(record).push_bind(line);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                Ok(())
            }

            async fn write_token(tx: &mut sqlx::Transaction<'static, $db>, write: &TokenWrite) -> Result<(), StoreError> {
                let done = match write {
                    TokenWrite::Insert(t) => sqlx::query(
                        "INSERT INTO api_tokens (id, secret_hash, role, subject, verifier_did, created_ns, expires_ns, revoked) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&t.id)
                    .bind(&t.secret_hash)
                    .bind(&t.role)
                    .bind(&t.subject)
                    .bind(t.verifier_did.as_deref())
                    .bind(t.created_ns)
                    .bind(t.expires_ns)
                    .bind(t.revoked)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?,
                    TokenWrite::Revoke(id) => sqlx::query("UPDATE api_tokens SET revoked = TRUE WHERE id = $1 AND NOT revoked")
                        .bind(id)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?,
                };
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict("no such (unrevoked) token".into()));
                }
                Ok(())
            }

            /// Puts a policy in force: refused ([`StoreError::Conflict`]) unless the policy in
            /// force is still the revision the decision read and no version of the policy id at
            /// or above this one was ever installed.
            async fn write_policy(tx: &mut sqlx::Transaction<'static, $db>, p: &PolicyInstall) -> Result<(), StoreError> {
                let (highest,): (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM policies WHERE policy_id = $1")
                    .bind(&p.policy_id)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db)?;
                let version = int(p.version)?;
                if highest.is_some_and(|h| h >= version) {
                    return Err(StoreError::Conflict(format!("policy {} version {} is not newer", p.policy_id, p.version)));
                }
                sqlx::query("INSERT INTO policies (policy_id, version, document, installed_ns) VALUES ($1, $2, $3, $4)")
                    .bind(&p.policy_id)
                    .bind(version)
                    .bind(&p.document)
                    .bind(p.installed_ns)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                let done = if p.replaces == 0 {
                    sqlx::query("INSERT INTO policy_in_force (singleton, policy_id, version, revision) VALUES (1, $1, $2, 1)")
                        .bind(&p.policy_id)
                        .bind(version)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?
                } else {
                    sqlx::query("UPDATE policy_in_force SET policy_id = $1, version = $2, revision = $3 WHERE singleton = 1 AND revision = $4")
                        .bind(&p.policy_id)
                        .bind(version)
                        .bind(int(p.replaces)?.saturating_add(1))
                        .bind(int(p.replaces)?)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?
                };
                if done.rows_affected() != 1 {
                    return Err(conflict("policy in force", &p.policy_id));
                }
                Ok(())
            }

            /// The policy in force and the highest version of every policy id ever installed.
            pub async fn policy_state(&self) -> Result<cphar_registry::store::PolicyState, StoreError> {
                let current: Option<(String, i64, i64, String)> = sqlx::query_as(
                    "SELECT f.policy_id, f.version, f.revision, p.document FROM policy_in_force f \
                     JOIN policies p ON p.policy_id = f.policy_id AND p.version = f.version WHERE f.singleton = 1",
                )
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
                let marks: Vec<(String, i64)> = sqlx::query_as("SELECT policy_id, MAX(version) FROM policies GROUP BY policy_id")
                    .fetch_all(&self.read)
                    .await
                    .map_err(db)?;
                Ok(cphar_registry::store::PolicyState {
                    in_force: current
                        .map(|(policy_id, version, revision, document)| {
                            Ok::<_, StoreError>(cphar_registry::store::PolicyInForce {
                                policy_id,
                                version: uint(version)?,
                                revision: uint(revision)?,
                                document,
                            })
                        })
                        .transpose()?,
                    high_water: marks
                        .into_iter()
                        .map(|(id, v)| Ok((id, uint(v)?)))
                        .collect::<Result<_, StoreError>>()?,
                })
            }

            /// An API token by id.
            pub async fn token(&self, id: &str) -> Result<Option<TokenRow>, StoreError> {
                #[allow(clippy::type_complexity)]
                let row: Option<(String, String, String, String, Option<String>, i64, Option<i64>, bool)> = sqlx::query_as(
                    "SELECT id, secret_hash, role, subject, verifier_did, created_ns, expires_ns, revoked FROM api_tokens WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
                Ok(row.map(|(id, secret_hash, role, subject, verifier_did, created_ns, expires_ns, revoked)| TokenRow {
                    id,
                    secret_hash,
                    role,
                    subject,
                    verifier_did,
                    created_ns,
                    expires_ns,
                    revoked,
                }))
            }

            /// Number of API tokens (to know whether to bootstrap an admin).
            pub async fn token_count(&self) -> Result<u64, StoreError> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_tokens").fetch_one(&self.read).await.map_err(db)?;
                uint(n)
            }

            /// An unused challenge, without taking it.
            pub async fn challenge(&self, id: &str) -> Result<Option<ChallengeRow>, StoreError> {
                let row: Option<(String, String, String, String, String, i64, i64)> = sqlx::query_as(
                    "SELECT id, nonce, lot_id, verifier, request, issued_ns, expires_ns FROM challenges WHERE id = $1 AND NOT used",
                )
                .bind(id)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
                Ok(row.map(|(id, nonce, lot_id, verifier, request, issued_ns, expires_ns)| ChallengeRow {
                    id,
                    nonce,
                    lot_id,
                    verifier,
                    request,
                    issued_ns,
                    expires_ns,
                }))
            }

            /// Deletes challenges expired before `now_ns`; returns how many.
            pub async fn purge_challenges(&self, now_ns: i64) -> Result<u64, StoreError> {
                let done = sqlx::query("DELETE FROM challenges WHERE expires_ns <= $1")
                    .bind(now_ns)
                    .execute(&self.write)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected())
            }

            async fn lock_head(tx: &mut sqlx::Transaction<'static, $db>) -> Result<(u64, String), StoreError> {
                let (next, hash): (i64, String) = sqlx::query_as($lock_head).fetch_one(&mut **tx).await.map_err(db)?;
                Ok((uint(next)?, hash))
            }

            async fn store_head(tx: &mut sqlx::Transaction<'static, $db>, next: u64, hash: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE event_head SET next_sequence = $1, head_hash = $2 WHERE singleton = 1")
                    .bind(int(next)?)
                    .bind(hash)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            /// Writes a plan: updates row by row (each checks the version it replaces),
            /// inserts in multi-row statements.
            async fn write(tx: &mut sqlx::Transaction<'static, $db>, plan: &Plan<'_>) -> Result<(), StoreError> {
                // Preconditions first: a spent challenge refuses the whole change.
                for spend in &plan.challenges_spent {
                    let done = sqlx::query("UPDATE challenges SET used = TRUE WHERE id = $1 AND NOT used AND expires_ns > $2")
                        .bind(&spend.id)
                        .bind(spend.now_ns)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::ChallengeSpent);
                    }
                }
                for p in &plan.policies {
                    Self::write_policy(tx, p).await?;
                }
                for t in &plan.tokens {
                    Self::write_token(tx, t).await?;
                }
                for chunk in plan.challenges_issued.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO challenges (id, nonce, lot_id, verifier, request, issued_ns, expires_ns, used) ",
                    );
                    q.push_values(chunk, |mut b, c| {
                        b.push_bind(c.id.clone())
                            .push_bind(c.nonce.clone())
                            .push_bind(c.lot_id.clone())
                            .push_bind(c.verifier.clone())
                            .push_bind(c.request.clone())
                            .push_bind(c.issued_ns)
                            .push_bind(c.expires_ns)
                            .push_bind(false);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                for (s, expected) in &plan.seals.updates {
                    let done = sqlx::query(
                        "UPDATE seals SET state = $2, lot_id = $3, version = $4, record = $5 WHERE uid = $1 AND version = $6",
                    )
                    .bind(&s.uid)
                    .bind(s.state.as_str())
                    .bind(s.lot_id.as_deref())
                    .bind(int(s.version)?)
                    .bind(encode(s)?)
                    .bind(int(*expected)?)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                    if done.rows_affected() != 1 {
                        return Err(conflict("seal", &s.uid));
                    }
                }
                for (l, expected) in &plan.lots.updates {
                    let done = sqlx::query(
                        "UPDATE lots SET state = $2, active = $3, version = $4, record = $5, current_binding = $7, evidence_ns = $8 \
                         WHERE lot_id = $1 AND version = $6",
                    )
                    .bind(&l.lot_id)
                    .bind(l.state.as_str())
                    .bind(l.active)
                    .bind(int(l.version)?)
                    .bind(encode(l)?)
                    .bind(int(*expected)?)
                    .bind(l.binding_id.as_deref())
                    .bind(l.evidence_at.map(nanos).transpose()?)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                    if done.rows_affected() != 1 {
                        return Err(conflict("lot", &l.lot_id));
                    }
                }
                for (b, expected) in &plan.bindings.updates {
                    let done = sqlx::query(
                        "UPDATE bindings SET state = $2, authority_key_id = $3, suspended = $4, version = $5, record = $6 \
                         WHERE id = $1 AND version = $7",
                    )
                    .bind(&b.id)
                    .bind(b.state.as_str())
                    .bind(&b.authority_key_id)
                    .bind(b.reenroll_deadline.is_some())
                    .bind(int(b.version)?)
                    .bind(encode(b)?)
                    .bind(int(*expected)?)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                    if done.rows_affected() != 1 {
                        return Err(conflict("binding", &b.id));
                    }
                }
                for (a, expected) in &plan.authorities.updates {
                    let done = sqlx::query(
                        "UPDATE authorities SET state = $2, version = $3, record = $4 WHERE key_id = $1 AND version = $5",
                    )
                    .bind(&a.key_id)
                    .bind(a.state.as_str())
                    .bind(int(a.version)?)
                    .bind(encode(a)?)
                    .bind(int(*expected)?)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
                    if done.rows_affected() != 1 {
                        return Err(conflict("authority", &a.key_id));
                    }
                }

                for chunk in plan.seals.inserts.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO seals (uid, state, key_thumbprint, cert_issuer, cert_serial, lot_id, version, record) ",
                    );
                    let rows = chunk.iter().map(|s| Ok((*s, int(s.version)?, encode(*s)?))).collect::<Result<Vec<_>, StoreError>>()?;
                    q.push_values(rows, |mut b, (s, version, record)| {
                        b.push_bind(s.uid.clone())
                            .push_bind(s.state.as_str())
                            .push_bind(s.key_thumbprint.clone())
                            .push_bind(s.certificate.issuer.clone())
                            .push_bind(s.certificate.serial.clone())
                            .push_bind(s.lot_id.clone())
                            .push_bind(version)
                            .push_bind(record);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                for chunk in plan.lots.inserts.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO lots (lot_id, state, active, version, record, current_binding, evidence_ns) ");
                    let rows = chunk
                        .iter()
                        .map(|l| Ok((*l, int(l.version)?, encode(*l)?, l.evidence_at.map(nanos).transpose()?)))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    q.push_values(rows, |mut b, (l, version, record, evidence)| {
                        b.push_bind(l.lot_id.clone()).push_bind(l.state.as_str()).push_bind(l.active).push_bind(version).push_bind(record)
                            .push_bind(l.binding_id.clone()).push_bind(evidence);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                for chunk in plan.bindings.inserts.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO bindings (id, lot_id, number, seal_uid, state, authority_key_id, suspended, version, record, status_index) ",
                    );
                    let rows = chunk
                        .iter()
                        .map(|b| Ok((*b, int(b.number)?, int(b.version)?, encode(*b)?, b.status_index.map(int).transpose()?)))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    q.push_values(rows, |mut q, (b, number, version, record, status_index)| {
                        q.push_bind(b.id.clone())
                            .push_bind(b.lot_id.clone())
                            .push_bind(number)
                            .push_bind(b.seal_uid.clone())
                            .push_bind(b.state.as_str())
                            .push_bind(b.authority_key_id.clone())
                            .push_bind(b.reenroll_deadline.is_some())
                            .push_bind(version)
                            .push_bind(record)
                            .push_bind(status_index);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                for chunk in plan.authorities.inserts.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO authorities (key_id, number, state, version, record) ");
                    let rows = chunk
                        .iter()
                        .map(|a| Ok((*a, int(a.number)?, int(a.version)?, encode(*a)?)))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    q.push_values(rows, |mut q, (a, number, version, record)| {
                        q.push_bind(a.key_id.clone()).push_bind(number).push_bind(a.state.as_str()).push_bind(version).push_bind(record);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                for chunk in plan.inspections.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO inspections (id, lot_id, at_ns, record) ");
                    let rows = chunk.iter().map(|i| Ok((*i, nanos(i.recorded_at)?, encode(*i)?))).collect::<Result<Vec<_>, StoreError>>()?;
                    q.push_values(rows, |mut q, (i, at, record)| {
                        q.push_bind(i.id.clone()).push_bind(i.lot_id.clone()).push_bind(at).push_bind(record);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                for chunk in plan.custody.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO custody (id, lot_id, at_ns, record) ");
                    let rows = chunk.iter().map(|c| Ok((*c, nanos(c.at)?, encode(*c)?))).collect::<Result<Vec<_>, StoreError>>()?;
                    q.push_values(rows, |mut q, (c, at, record)| {
                        q.push_bind(c.id.clone()).push_bind(c.lot_id.clone()).push_bind(at).push_bind(record);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                for chunk in plan.did_documents.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO did_documents (lot_id, version, document) ");
                    let rows = chunk.iter().map(|d| Ok((*d, int(d.version)?, encode(&d.document)?))).collect::<Result<Vec<_>, StoreError>>()?;
                    q.push_values(rows, |mut q, (d, version, document)| {
                        q.push_bind(d.lot_id.clone()).push_bind(version).push_bind(document);
                    });
                    q.build().execute(&mut **tx).await.map_err(db)?;
                }
                for batch in &plan.seal_batches {
                    sqlx::query("INSERT INTO seal_batches (batch_id, actor, at_ns, root, size) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&batch.id)
                        .bind(&batch.actor)
                        .bind(batch.at_ns)
                        .bind(&batch.root)
                        .bind(int(batch.items.len() as u64)?)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?;
                    for chunk in batch.items.chunks(INSERT_CHUNK) {
                        let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO seal_batch_items (batch_id, idx, line, uid, item) ");
                        let rows = chunk.iter().map(|i| Ok((i, int(i.index)?, int(i.line)?))).collect::<Result<Vec<_>, StoreError>>()?;
                        q.push_values(rows, |mut q, (i, idx, line)| {
                            q.push_bind(batch.id.clone()).push_bind(idx).push_bind(line).push_bind(i.uid.clone()).push_bind(i.item.clone());
                        });
                        q.build().execute(&mut **tx).await.map_err(db)?;
                    }
                }
                Self::write_reports(tx, plan).await
            }

            /// Every seal matching any UID, key thumbprint or device certificate of `keys`.
            pub async fn seals_matching(&self, keys: &SealKeys) -> Result<Vec<SealRecord>, StoreError> {
                let mut found: Vec<SealRecord> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                // Chunks keep each statement well under the bound-parameter limits.
                for chunk in keys.uids.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT uid, record FROM seals WHERE uid IN (");
                    let mut list = q.separated(", ");
                    for uid in chunk {
                        list.push_bind(uid.clone());
                    }
                    q.push(")");
                    Self::collect_seals(q.build_query_as().fetch_all(&self.read).await.map_err(db)?, &mut seen, &mut found)?;
                }
                for chunk in keys.thumbprints.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT uid, record FROM seals WHERE key_thumbprint IN (");
                    let mut list = q.separated(", ");
                    for t in chunk {
                        list.push_bind(t.clone());
                    }
                    q.push(")");
                    Self::collect_seals(q.build_query_as().fetch_all(&self.read).await.map_err(db)?, &mut seen, &mut found)?;
                }
                for chunk in keys.certificates.chunks(INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT uid, record FROM seals WHERE ");
                    let mut first = true;
                    for (issuer, serial) in chunk {
                        q.push(if first { "(cert_issuer = " } else { " OR (cert_issuer = " });
                        first = false;
                        q.push_bind(issuer.clone()).push(" AND cert_serial = ").push_bind(serial.clone()).push(")");
                    }
                    Self::collect_seals(q.build_query_as().fetch_all(&self.read).await.map_err(db)?, &mut seen, &mut found)?;
                }
                Ok(found)
            }

            fn collect_seals(
                rows: Vec<(String, String)>,
                seen: &mut std::collections::HashSet<String>,
                found: &mut Vec<SealRecord>,
            ) -> Result<(), StoreError> {
                for (uid, record) in rows {
                    if seen.insert(uid) {
                        found.push(decode(&record)?);
                    }
                }
                Ok(())
            }

            /// A seal batch with its items, by index.
            pub async fn seal_batch(&self, id: &str) -> Result<Option<SealBatch>, StoreError> {
                let head: Option<(String, String, i64, String)> =
                    sqlx::query_as("SELECT batch_id, actor, at_ns, root FROM seal_batches WHERE batch_id = $1")
                        .bind(id)
                        .fetch_optional(&self.read)
                        .await
                        .map_err(db)?;
                let Some((id, actor, at_ns, root)) = head else { return Ok(None) };
                let rows: Vec<(i64, i64, String, String)> =
                    sqlx::query_as("SELECT idx, line, uid, item FROM seal_batch_items WHERE batch_id = $1 ORDER BY idx")
                        .bind(&id)
                        .fetch_all(&self.read)
                        .await
                        .map_err(db)?;
                let items = rows
                    .into_iter()
                    .map(|(idx, line, uid, item)| Ok(SealBatchItem { index: uint(idx)?, line: uint(line)?, uid, item }))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(Some(SealBatch { id, actor, at_ns, root, items }))
            }

            /// An installation setting (see [`crate::AnyStore::setting`]).
            pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT value FROM installation_settings WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.read)
                        .await
                        .map_err(db)?;
                Ok(row.map(|(v,)| v))
            }

            /// Records a setting unless one is there; returns the stored value (see
            /// [`crate::AnyStore::init_setting`]).
            pub async fn init_setting(&self, name: &str, value: &str) -> Result<String, StoreError> {
                // One statement: concurrent first starts cannot both win.
                sqlx::query(
                    "INSERT INTO installation_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(value)
                .execute(&self.write)
                .await
                .map_err(db)?;
                let (stored,): (String,) =
                    sqlx::query_as("SELECT value FROM installation_settings WHERE name = $1")
                        .bind(name)
                        .fetch_one(&self.write)
                        .await
                        .map_err(db)?;
                Ok(stored)
            }

            /// Defers this process's audit epoch to its first write with events (see
            /// [`crate::AnyStore::defer_epoch`]).
            pub async fn defer_epoch(&self, epoch: EpochJob) {
                self.committer.defer_epoch(epoch).await;
            }

            /// Every row of every table as text, in a stable order.
            pub async fn snapshot(&self) -> Result<Vec<String>, StoreError> {
                let mut out = Vec::new();
                for (table, sql) in [
                    ("seals", "SELECT uid || '|' || state || '|' || key_thumbprint || '|' || cert_issuer || '|' || cert_serial || '|' || COALESCE(lot_id, '') || '|' || CAST(version AS TEXT) || '|' || record FROM seals ORDER BY uid"),
                    ("lots", "SELECT lot_id || '|' || state || '|' || CASE WHEN active THEN 'active' ELSE 'inactive' END || '|' || CAST(version AS TEXT) || '|' || record FROM lots ORDER BY lot_id"),
                    ("bindings", "SELECT id || '|' || state || '|' || authority_key_id || '|' || CAST(version AS TEXT) || '|' || record FROM bindings ORDER BY id"),
                    ("authorities", "SELECT key_id || '|' || state || '|' || CAST(version AS TEXT) || '|' || record FROM authorities ORDER BY key_id"),
                    ("inspections", "SELECT id || '|' || record FROM inspections ORDER BY id"),
                    ("custody", "SELECT id || '|' || record FROM custody ORDER BY id"),
                    ("did_documents", "SELECT lot_id || '|' || CAST(version AS TEXT) || '|' || document FROM did_documents ORDER BY lot_id, version"),
                    ("events", "SELECT CAST(sequence AS TEXT) || '|' || record || '|' || COALESCE(entry, '') FROM events ORDER BY sequence"),
                    ("event_head", "SELECT CAST(next_sequence AS TEXT) || '|' || head_hash FROM event_head"),
                    ("report_key", "SELECT kid || '|' || public_jwk FROM report_key"),
                    ("reports", "SELECT CAST(number AS TEXT) || '|' || digest || '|' || document FROM reports ORDER BY number"),
                    ("seal_batches", "SELECT batch_id || '|' || actor || '|' || CAST(at_ns AS TEXT) || '|' || root || '|' || CAST(size AS TEXT) FROM seal_batches ORDER BY batch_id"),
                    ("seal_batch_items", "SELECT batch_id || '|' || CAST(idx AS TEXT) || '|' || CAST(line AS TEXT) || '|' || uid || '|' || item FROM seal_batch_items ORDER BY batch_id, idx"),
                ] {
                    let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&self.read).await.map_err(db)?;
                    out.extend(rows.into_iter().map(|(r,)| format!("{table}: {r}")));
                }
                Ok(out)
            }
        }
    };
}

store_impl!(
    SqliteStore,
    sqlx::Sqlite,
    SQLITE_BEGIN,
    // Deferred: a read transaction; WAL gives it one snapshot from its first read on.
    "BEGIN",
    "SELECT next_sequence, head_hash FROM event_head WHERE singleton = 1"
);
// The row lock on the head serializes writers across server processes: gapless, no forks.
store_impl!(
    PgStore,
    sqlx::Postgres,
    "BEGIN",
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    "SELECT next_sequence, head_hash FROM event_head WHERE singleton = 1 FOR UPDATE"
);
