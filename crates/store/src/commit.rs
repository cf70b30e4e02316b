//! Group commit. Every write of a store goes through one committer task: it takes all the
//! jobs waiting, runs each in its own savepoint of a single transaction (a job that conflicts
//! rolls back alone), seals their events into the audit chain, and commits once. So one fsync
//! acknowledges many events, and the signing of the chain — strictly sequential, since each
//! entry hashes the previous one — is what bounds throughput.
//!
//! A job is acknowledged only after its transaction committed: an acknowledged event is
//! durable, an unacknowledged one may or may not be.

use cphar_audit::EntrySigner;
use cphar_audit::epoch::EpochStart;
use cphar_crypto::SigningKey;
use cphar_registry::event::RegistryEvent;
use cphar_registry::store::{ChangeSet, StoreError};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most jobs in one group commit.
const MAX_GROUP: usize = 1024;

/// Queued jobs before writers wait (backpressure).
const QUEUE: usize = 8192;

/// A check every audit signature must pass first (the module's error state).
pub type SigningGuard = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// What opening an epoch needs: the fresh audit key (moved in: it never leaves the store's
/// memory), the long-term identity key that countersigns it, and what the epoch states.
pub struct EpochJob {
    /// The new P-384 audit key (in memory, or non-extractable in a token).
    pub audit_key: Box<dyn cphar_audit::AuditKey>,
    /// The registry's identity key.
    pub identity: Arc<SigningKey>,
    /// Self-tests, measurement, start time.
    pub start: EpochStart,
}

/// One unit of work.
pub(crate) enum Work {
    /// Change sets applied all together (one savepoint).
    Apply(Vec<ChangeSet>),
    /// Open an audit epoch.
    OpenEpoch(Box<EpochJob>),
}

/// Work and where its answer goes.
pub(crate) struct Job {
    pub work: Work,
    pub reply: Reply,
}

/// The current epoch's signer and the signing guard, shared with the committer.
#[derive(Default)]
pub(crate) struct AuditState {
    signer: Mutex<Option<Arc<EntrySigner>>>,
    guard: Mutex<Option<SigningGuard>>,
}

impl AuditState {
    pub fn signer(&self) -> Option<Arc<EntrySigner>> {
        self.signer.lock().clone()
    }

    pub fn install(&self, signer: Arc<EntrySigner>) {
        *self.signer.lock() = Some(signer);
    }

    pub fn check(&self) -> Result<(), StoreError> {
        let guard = self.guard.lock().clone();
        match guard {
            Some(g) => g().map_err(StoreError::Refused),
            None => Ok(()),
        }
    }
}

/// The handle writers use.
pub(crate) struct Committer {
    jobs: mpsc::Sender<Job>,
    audit: Arc<AuditState>,
    /// An epoch to open just before the first write that has events (a process that appends
    /// nothing then leaves no epoch in the log). Locked across the opening, so concurrent
    /// first writers open it once.
    deferred: tokio::sync::Mutex<Option<EpochJob>>,
}

impl Committer {
    /// Spawns the committer task for `pool`; `run_group` executes one group.
    pub fn start<P, F, Fut>(pool: P, run_group: F) -> Self
    where
        P: Clone + Send + 'static,
        F: Fn(P, Vec<Job>, Arc<AuditState>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let audit = Arc::new(AuditState::default());
        let shared = Arc::clone(&audit);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                run_group(pool.clone(), group, Arc::clone(&shared)).await;
            }
        });
        Committer {
            jobs: tx,
            audit,
            deferred: tokio::sync::Mutex::new(None),
        }
    }

    async fn submit(&self, work: Work) -> Result<Vec<u64>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { work, reply })
            .await
            .map_err(|_| StoreError::Database("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the committer stopped".into()))?
    }

    pub async fn apply(&self, sets: Vec<ChangeSet>) -> Result<Vec<u64>, StoreError> {
        if sets.iter().any(|s| !s.events().is_empty()) {
            self.open_deferred_epoch().await?;
        }
        self.submit(Work::Apply(sets)).await
    }

    /// Keeps `epoch` until the first write with events needs it.
    pub async fn defer_epoch(&self, epoch: EpochJob) {
        *self.deferred.lock().await = Some(epoch);
    }

    /// Opens the deferred epoch, if there is one and no epoch is open yet.
    async fn open_deferred_epoch(&self) -> Result<(), StoreError> {
        if self.audit.signer().is_some() {
            return Ok(());
        }
        let mut slot = self.deferred.lock().await;
        if self.audit.signer().is_none()
            && let Some(epoch) = slot.take()
        {
            self.open_epoch(epoch).await?;
        }
        Ok(())
    }

    pub async fn open_epoch(&self, epoch: EpochJob) -> Result<u64, StoreError> {
        let seqs = self.submit(Work::OpenEpoch(Box::new(epoch))).await?;
        seqs.first()
            .copied()
            .ok_or_else(|| StoreError::Audit("epoch not written".into()))
    }

    pub fn set_guard(&self, guard: SigningGuard) {
        *self.audit.guard.lock() = Some(guard);
    }
}

/// The audit `eventData` of a registry event.
pub(crate) fn audit_data(event: &RegistryEvent) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("subject".into(), Value::String(event.subject.clone()));
    data.insert("actor".into(), Value::String(event.actor.clone()));
    if let Some(code) = &event.reason_code {
        data.insert("reasonCode".into(), Value::String(code.clone()));
    }
    data.insert("data".into(), event.data.clone());
    data
}

fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

/// Answers every job with `error` (the transaction could not start).
pub(crate) fn fail_all(jobs: Vec<Job>, error: &StoreError) {
    for job in jobs {
        let _ = job.reply.send(Err(copy(error)));
    }
}

/// Where a job's answer goes.
pub(crate) type Reply = oneshot::Sender<Result<Vec<u64>, StoreError>>;

/// Answers every job: its own result, or `commit_error` if the commit failed.
pub(crate) fn finish(
    done: Vec<(Reply, Result<Vec<u64>, StoreError>)>,
    commit_error: Option<&StoreError>,
) {
    for (reply, result) in done {
        let result = match (commit_error, result) {
            (Some(e), Ok(_)) => Err(copy(e)),
            (_, r) => r,
        };
        let _ = reply.send(result);
    }
}
