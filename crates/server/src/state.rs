//! Shared state of a running server: the node, configuration, limiters, TSA, metrics.

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::node::Node;
use crate::problem::{ApiCode, Code, Problem};
use crate::tsa::TsaService;
use cphar_protocol::Timestamp;
use cphar_protocol::ratelimit::{RateLimitConfig, RateLimiter};

/// Everything a handler needs.
pub struct AppState {
    /// The started node (registry, module state, clock, identity).
    pub node: Node,
    /// Configuration.
    pub config: ServerConfig,
    /// Metrics.
    pub metrics: Metrics,
    /// Per verifier DID (seed 002 §4.3.7).
    pub verifier_limiter: RateLimiter,
    /// Per credential.
    pub credential_limiter: RateLimiter,
    /// The timestamp authority.
    pub tsa: TsaService,
    /// The registry's did:web host.
    pub host: String,
    /// The audit log's Merkle tree, kept up to date on demand.
    pub tree: crate::transparency::TreeCache,
    /// Recently authenticated token records.
    pub tokens: crate::auth::TokenCache,
    /// How the registry verifies answers and judges evidence (from the configuration).
    pub attestation: cphar_registry::attest::AttestationSettings,
    /// Per client address, on the unauthenticated routes.
    pub anonymous_limiter: RateLimiter,
    /// Open connections and their limits.
    pub connections: std::sync::Arc<crate::conn::ConnectionLimits>,
    /// Refused RFC 3161 queries not yet in the audit log.
    pub tsa_refusals: crate::refusals::RefusalTally,
    /// Service facts whose audit write failed, retried in order by the maintenance loop;
    /// `/ready` fails while any is waiting.
    pub pending_audit: parking_lot::Mutex<Vec<cphar_registry::ServiceEvent>>,
    /// The report key (certified in the audit log).
    pub report_key: std::sync::Arc<cphar_crypto::SigningKey>,
    /// Proof trees of recent reports.
    pub reports: crate::reports::ReportCache,
}

impl AppState {
    /// Builds the state.
    pub fn new(
        node: Node,
        config: ServerConfig,
        tsa: TsaService,
        report_key: std::sync::Arc<cphar_crypto::SigningKey>,
    ) -> Self {
        let limits = RateLimitConfig {
            limit: config.rate_limit.max(1),
            window: time::Duration::seconds(
                i64::try_from(config.rate_window_seconds.max(1)).unwrap_or(60),
            ),
            ..RateLimitConfig::default()
        };
        let anonymous = RateLimitConfig {
            limit: config.anonymous_rate_limit.max(1),
            window: time::Duration::seconds(
                i64::try_from(config.anonymous_rate_window_seconds.max(1)).unwrap_or(60),
            ),
            ..RateLimitConfig::default()
        };
        let host = config.did_host();
        let metrics = Metrics::new();
        let connections = std::sync::Arc::new(crate::conn::ConnectionLimits::new(
            config.max_connections,
            std::time::Duration::from_secs(config.idle_timeout_seconds.max(1)),
            metrics.connections_refused.clone(),
        ));
        AppState {
            node,
            metrics,
            anonymous_limiter: RateLimiter::new(anonymous),
            connections,
            tsa_refusals: crate::refusals::RefusalTally::default(),
            pending_audit: parking_lot::Mutex::new(Vec::new()),
            verifier_limiter: RateLimiter::new(limits),
            credential_limiter: RateLimiter::new(limits),
            tsa,
            host,
            attestation: config.attestation(),
            config,
            tree: crate::transparency::TreeCache::default(),
            tokens: crate::auth::TokenCache::new(),
            report_key,
            reports: crate::reports::ReportCache::default(),
        }
    }

    /// The trusted time, or 503 when the clock is out of tolerance.
    pub fn now(&self) -> Result<Timestamp, Problem> {
        self.node.clock.now_for_signing().map_err(|e| {
            let mut p = Problem::new(ApiCode::ClockOutOfTolerance, e.to_string());
            p.retry_after = Some(1);
            p
        })
    }

    /// Records service facts in the audit log after any still waiting from a failed write,
    /// in order. On failure they all stay queued (retried by the maintenance loop), the
    /// failure is counted in `cphar_audit_write_failures_total` and `/ready` fails until
    /// they are written: a fact is never dropped.
    pub async fn record_facts(&self, facts: Vec<cphar_registry::ServiceEvent>) -> bool {
        let batch: Vec<cphar_registry::ServiceEvent> = {
            let mut pending = self.pending_audit.lock();
            pending.extend(facts);
            std::mem::take(&mut *pending)
        };
        if batch.is_empty() {
            return true;
        }
        match self.node.registry.record(&batch, "registry").await {
            Ok(_) => true,
            Err(e) => {
                self.metrics.audit_write_failures.inc();
                tracing::warn!(target: "cphar::audit", error = %e, waiting = batch.len(), "audit write failed; will retry");
                let mut pending = self.pending_audit.lock();
                let newer = std::mem::replace(&mut *pending, batch);
                pending.extend(newer);
                false
            }
        }
    }

    /// 503 while service facts wait for a failed audit write to be retried.
    pub fn ensure_audit_current(&self) -> Result<(), Problem> {
        let waiting = self.pending_audit.lock().len();
        if waiting == 0 {
            return Ok(());
        }
        let mut p = Problem::new(
            crate::problem::ApiCode::AuditWritePending,
            format!("{waiting} audit record(s) wait for a failed write to be retried"),
        );
        p.retry_after = Some(1);
        Err(p)
    }

    /// Refuses signing work in the module's error state.
    pub fn ensure_operational(&self) -> Result<(), Problem> {
        self.node.module.ensure_operational().map_err(|e| {
            Problem::new(
                Code::Module(e.reason_code()),
                "the service is in its error state and signs nothing",
            )
        })
    }

    /// Charges one unit of client `peer`'s allowance for work anyone can make the server do
    /// (unauthenticated routes, and a token id not in the cache: one database read);
    /// 429 with `Retry-After` past it. Needs no trusted time: the clock's reading works out of
    /// tolerance too.
    pub fn limit_client(&self, peer: Option<std::net::SocketAddr>) -> Result<(), Problem> {
        let now = self
            .node
            .clock
            .now()
            .unwrap_or_else(|_| cphar_protocol::Timestamp::now_utc());
        self.anonymous_limiter
            .check(&client_key(peer), now)
            .map_err(|e| {
                self.metrics.decision("anonymous_rate_limit", e.code());
                let millis = u64::try_from(e.retry_after.whole_milliseconds()).unwrap_or(1000);
                let secs = millis.div_ceil(1000).max(1);
                let mut p = Problem::new(
                    crate::problem::ApiCode::RateLimited,
                    format!("too many requests from this address; retry after {secs} s"),
                );
                p.retry_after = Some(secs);
                p
            })
    }

    /// Applies a rate limiter; 429 with `Retry-After` on excess.
    pub fn limit(&self, limiter: &RateLimiter, key: &str, now: Timestamp) -> Result<(), Problem> {
        limiter.check(key, now).map_err(|e| {
            self.metrics.decision("rate_limit", "rate_limited");
            crate::telemetry::rate_limited(
                if key.starts_with("did:") {
                    "verifier_did"
                } else {
                    "credential"
                },
                e.strikes,
                self.config.rate_window_seconds.saturating_mul(1000),
                u64::try_from(e.retry_after.whole_milliseconds()).unwrap_or(0),
            );
            // Rounded up: a client that waits as told must not come back early.
            let millis = u64::try_from(e.retry_after.whole_milliseconds()).unwrap_or(1000);
            let secs = millis.div_ceil(1000).max(1);
            let mut p = Problem::new(
                ApiCode::RateLimited,
                format!(
                    "too many requests; retry after {secs} s (backoff level {})",
                    e.strikes
                ),
            );
            p.retry_after = Some(secs);
            p
        })
    }
}

/// The rate-limit key of a client: its IPv4 address, or the /64 prefix of its IPv6 address
/// (one host can use a whole /64).
fn client_key(peer: Option<std::net::SocketAddr>) -> String {
    match peer.map(|p| p.ip().to_canonical()) {
        Some(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Some(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            let prefix: Vec<String> = s.iter().take(4).map(|x| format!("{x:x}")).collect();
            format!("{}::/64", prefix.join(":"))
        }
        // Only in-process callers without a socket (none in `serve`).
        None => "local".to_owned(),
    }
}
