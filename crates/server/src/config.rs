//! Server configuration: a TOML file whose every option can also be given as a flag or an
//! environment variable (the CLI merges them: flag > environment > file > default).

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The did:web host of an installation configured without one: `localhost` on the default
/// port, percent-encoded as did:web requires.
pub const DEFAULT_DID_HOST: &str = "localhost%3A8080";

/// Every server option.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "snake_case")]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory (SQLite database, keys, vendor trust, TSA chain).
    pub data_dir: PathBuf,
    /// PostgreSQL URL (several servers may share it).
    pub database_url: Option<String>,
    /// did:web host of the registry (default: the one the database recorded at its first
    /// start; a new database records `localhost%3APORT` with the `listen` port).
    pub host: Option<String>,
    /// TLS certificate chain (PEM); TLS is on when both this and `tls_key` are set.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// Vendor trust file.
    pub vendors: Option<PathBuf>,
    /// Policy file (TOML).
    pub policy: Option<PathBuf>,
    /// Expected SHA-384 of the server binary (hex) for the software integrity self-test.
    pub expected_measurement: Option<String>,
    /// Challenge skew tolerance (seed 002 §4.3.6), seconds.
    pub skew_seconds: u64,
    /// Maximum response time of a challenge (t1 − t0), milliseconds; 0 disables.
    pub max_response_ms: u64,
    /// Attestation cadence: a seal not attested for this long drops back to Sealed, and is
    /// challenged again by the scheduler when it has an endpoint.
    pub attestation_cadence_seconds: u64,
    /// How long past the cadence a lot stays in the active set without a valid attestation.
    pub attestation_grace_seconds: u64,
    /// Unanswered challenges in a row after which a lot leaves the active set.
    pub unreachable_limit: u32,
    /// How often the scheduler runs, seconds (0 turns it off explicitly).
    pub scheduler_interval_seconds: u64,
    /// Hosts a seal agent's endpoint may name (`host` or `host:port`); the scheduler
    /// challenges no other. Default: loopback only.
    pub seal_endpoint_hosts: Vec<String>,
    /// Seals challenged at once by the scheduler.
    pub attestation_parallelism: usize,
    /// Rate limit per verifier DID and per credential: requests per window.
    pub rate_limit: u32,
    /// Rate limit window, seconds.
    pub rate_window_seconds: u64,
    /// Largest accepted request body, bytes.
    pub body_limit_bytes: usize,
    /// TSA private key (PKCS#8 PEM); default: generated dev chain in the data directory.
    pub tsa_key: Option<PathBuf>,
    /// TSA certificate chain (PEM, leaf first).
    pub tsa_chain: Option<PathBuf>,
    /// Trusted clock drift tolerance, milliseconds.
    pub clock_tolerance_ms: u64,
    /// Requests per window per client address on the unauthenticated routes (all public
    /// routes but `/health` and `/ready`, notably `POST /tsa`).
    pub anonymous_rate_limit: u32,
    /// Window of `anonymous_rate_limit`, seconds.
    pub anonymous_rate_window_seconds: u64,
    /// Most connections open at once; a connection beyond it is closed at once.
    pub max_connections: usize,
    /// A client must send a complete request head within this time (the first request of a
    /// connection included), milliseconds.
    pub header_read_timeout_ms: u64,
    /// A connection on which nothing is read or written for this long is closed, seconds.
    pub idle_timeout_seconds: u64,
    /// API tokens created without `expiresInSeconds` expire after this long, seconds.
    pub token_default_lifetime_seconds: u64,
    /// Longest lifetime `POST /tokens` accepts, seconds.
    pub token_max_lifetime_seconds: u64,
    /// Publish a reserve report every this many seconds from the scheduler; 0 (the default)
    /// publishes only on `POST /reports`. Off by default: each report keeps a copy of every
    /// leaf for its proofs, so the cadence is a storage decision for the operator.
    pub report_interval_seconds: u64,
    /// How long after a report's `generatedAt` its timestamp may be made (`window.to`),
    /// seconds.
    pub report_timestamp_grace_seconds: u64,
    /// Directory of vendor CRL bundles (PEM: the CRL and its issuing CA certificate; default
    /// `DATA_DIR/crls` when present), checked at registration and every attestation.
    pub crl_dir: Option<PathBuf>,
    /// Longest a CRL is trusted after its thisUpdate, seconds (0: until nextUpdate only).
    pub crl_max_age_seconds: u64,
    /// A valid answer from a seal whose device certificate has expired: `deny` or `degrade`.
    pub expired_certificate: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("cphar-data"),
            database_url: None,
            host: None,
            tls_cert: None,
            tls_key: None,
            vendors: None,
            policy: None,
            expected_measurement: None,
            skew_seconds: 300,
            max_response_ms: 0,
            attestation_cadence_seconds: 3600,
            attestation_grace_seconds: 900,
            unreachable_limit: 3,
            scheduler_interval_seconds: 30,
            seal_endpoint_hosts: vec!["127.0.0.1".into(), "localhost".into(), "[::1]".into()],
            attestation_parallelism: 8,
            rate_limit: 10,
            rate_window_seconds: 60,
            body_limit_bytes: 64 * 1024,
            tsa_key: None,
            tsa_chain: None,
            clock_tolerance_ms: 100,
            anonymous_rate_limit: 600,
            anonymous_rate_window_seconds: 60,
            max_connections: 1024,
            header_read_timeout_ms: 10_000,
            idle_timeout_seconds: 60,
            token_default_lifetime_seconds: 90 * 86_400,
            token_max_lifetime_seconds: 365 * 86_400,
            report_interval_seconds: 0,
            report_timestamp_grace_seconds: 600,
            crl_dir: None,
            crl_max_age_seconds: 7 * 86_400,
            expired_certificate: "deny".into(),
        }
    }
}

impl ServerConfig {
    /// Reads a TOML configuration file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// How the registry verifies answers and judges evidence.
    pub fn attestation(&self) -> cphar_registry::attest::AttestationSettings {
        let seconds = |n: u64| time::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX));
        cphar_registry::attest::AttestationSettings {
            skew: seconds(self.skew_seconds),
            max_response_time: (self.max_response_ms > 0).then(|| {
                time::Duration::milliseconds(
                    i64::try_from(self.max_response_ms).unwrap_or(i64::MAX),
                )
            }),
            cadence: seconds(self.attestation_cadence_seconds),
            grace: seconds(self.attestation_grace_seconds),
            unreachable_limit: self.unreachable_limit,
        }
    }

    /// How reserve reports are made.
    pub fn report_settings(&self) -> cphar_registry::reports::ReportSettings {
        cphar_registry::reports::ReportSettings {
            timestamp_grace: time::Duration::seconds(
                i64::try_from(self.report_timestamp_grace_seconds).unwrap_or(i64::MAX),
            ),
        }
    }

    /// The did:web host: configured, or `localhost%3APORT` with the listen port (so the
    /// default, `localhost%3A8080`, is the one every `cphar registry` command uses too).
    /// Only the default for a new database: a database keeps the host of its first start.
    pub fn did_host(&self) -> String {
        self.host
            .clone()
            .unwrap_or_else(|| format!("localhost%3A{}", self.listen.port()))
    }
}
