//! Prometheus metrics (`GET /metrics`): requests by route and status, decisions by reason code,
//! attestation latency, audit log size. Label values are route templates and stable codes only:
//! never an id, a DID or anything secret.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of `cphar_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route template.
    pub route: String,
    /// HTTP status.
    pub status: u16,
}

/// Labels of `cphar_decisions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    /// What decided (`verification`, `policy`, `registry`, `tsa`).
    pub kind: String,
    /// The result or reason code.
    pub reason_code: String,
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests.
    pub requests: Family<RequestLabels, Counter>,
    /// Decisions.
    pub decisions: Family<DecisionLabels, Counter>,
    /// Seconds from challenge issue to verified response.
    pub attestation_latency: Histogram,
    /// Audit log entries.
    pub audit_log_size: Gauge,
    /// Store calls served (each one query or one transaction), read at each scrape.
    pub store_calls: Gauge,
    /// Connections open (set when rendered).
    pub connections_open: Gauge,
    /// Connections closed at once because `max_connections` were open.
    pub connections_refused: Counter,
    /// Audit writes that failed (retried, never dropped).
    pub audit_write_failures: Counter,
}

impl Metrics {
    /// Registers everything.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cphar");
        let requests = Family::<RequestLabels, Counter>::default();
        let decisions = Family::<DecisionLabels, Counter>::default();
        let attestation_latency = Histogram::new([
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]);
        let audit_log_size = Gauge::default();
        let store_calls = Gauge::default();
        let connections_open = Gauge::default();
        let connections_refused = Counter::default();
        let audit_write_failures = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "decisions",
            "Decisions by kind and reason code",
            decisions.clone(),
        );
        registry.register(
            "attestation_latency_seconds",
            "Challenge issue to verified response",
            attestation_latency.clone(),
        );
        registry.register(
            "audit_log_entries",
            "Entries in the audit log",
            audit_log_size.clone(),
        );
        registry.register(
            "store_calls",
            "Store calls served since start (each one query or one transaction)",
            store_calls.clone(),
        );
        registry.register(
            "connections_open",
            "Connections open",
            connections_open.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed at once because the connection cap was reached",
            connections_refused.clone(),
        );
        registry.register(
            "audit_write_failures",
            "Audit log writes that failed (retried; /ready fails while one is pending)",
            audit_write_failures.clone(),
        );
        Metrics {
            registry,
            requests,
            decisions,
            attestation_latency,
            audit_log_size,
            store_calls,
            connections_open,
            connections_refused,
            audit_write_failures,
        }
    }

    /// Counts a decision.
    pub fn decision(&self, kind: &str, reason_code: &str) {
        self.decisions
            .get_or_create(&DecisionLabels {
                kind: kind.to_owned(),
                reason_code: reason_code.to_owned(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
