//! `cphar serve`: the HTTP service. Options come from `--config FILE` (TOML), then the
//! environment (`CPHAR_…`), then flags, the later overriding the earlier. At the first start
//! an admin API token is written to `DATA_DIR/admin-token` (owner-only) before it is
//! committed; `--reset-admin-token` makes a new one when that file was lost.

use anyhow::{Context, Result, anyhow};
use cphar_server::ServerConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `cphar serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (TOML; every option below, snake_case).
    #[arg(long, value_name = "FILE", env = "CPHAR_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", env = "CPHAR_LISTEN")]
    listen: Option<SocketAddr>,
    /// Data directory [default: ./cphar-data].
    #[arg(long, value_name = "DIR", env = "CPHAR_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (several servers may share one database).
    #[arg(long, value_name = "URL", env = "CPHAR_DATABASE_URL")]
    database_url: Option<String>,
    /// did:web host of the registry [default: from --listen].
    #[arg(long, value_name = "HOST", env = "CPHAR_HOST")]
    host: Option<String>,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE", env = "CPHAR_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", env = "CPHAR_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Vendor trust file.
    #[arg(long, value_name = "FILE", env = "CPHAR_VENDORS")]
    vendors: Option<PathBuf>,
    /// Policy file.
    #[arg(long, value_name = "FILE", env = "CPHAR_POLICY")]
    policy: Option<PathBuf>,
    /// Expected SHA-384 of this binary (software integrity self-test).
    #[arg(long, value_name = "HEX", env = "CPHAR_EXPECTED_MEASUREMENT")]
    expected_measurement: Option<String>,
    /// Challenge skew tolerance, seconds [default: 300].
    #[arg(long, value_name = "N", env = "CPHAR_SKEW_SECONDS")]
    skew_seconds: Option<u64>,
    /// Maximum challenge response time, ms (0: off) [default: 0].
    #[arg(long, value_name = "MS", env = "CPHAR_MAX_RESPONSE_MS")]
    max_response_ms: Option<u64>,
    /// Attestation cadence, seconds [default: 3600].
    #[arg(long, value_name = "N", env = "CPHAR_ATTESTATION_CADENCE_SECONDS")]
    attestation_cadence_seconds: Option<u64>,
    /// Grace past the cadence before a lot without a valid attestation leaves the active set,
    /// seconds [default: 900].
    #[arg(long, value_name = "N", env = "CPHAR_ATTESTATION_GRACE_SECONDS")]
    attestation_grace_seconds: Option<u64>,
    /// Unanswered challenges in a row before a lot leaves the active set [default: 3].
    #[arg(long, value_name = "N", env = "CPHAR_UNREACHABLE_LIMIT")]
    unreachable_limit: Option<u32>,
    /// Scheduler period: challenging seal agents, cadence, lapses and re-enrollment checks,
    /// seconds (0 turns it off) [default: 30].
    #[arg(long, value_name = "N", env = "CPHAR_SCHEDULER_INTERVAL_SECONDS")]
    scheduler_interval_seconds: Option<u64>,
    /// Hosts seal agent endpoints may name, comma-separated [default: loopback only].
    #[arg(
        long,
        value_name = "HOSTS",
        env = "CPHAR_SEAL_ENDPOINT_HOSTS",
        value_delimiter = ','
    )]
    seal_endpoint_hosts: Option<Vec<String>>,
    /// Seals challenged at once by the scheduler [default: 8].
    #[arg(long, value_name = "N", env = "CPHAR_ATTESTATION_PARALLELISM")]
    attestation_parallelism: Option<usize>,
    /// Requests per window per verifier DID and per credential [default: 10].
    #[arg(long, value_name = "N", env = "CPHAR_RATE_LIMIT")]
    rate_limit: Option<u32>,
    /// Rate limit window, seconds [default: 60].
    #[arg(long, value_name = "N", env = "CPHAR_RATE_WINDOW_SECONDS")]
    rate_window_seconds: Option<u64>,
    /// Largest request body, bytes [default: 65536].
    #[arg(long, value_name = "N", env = "CPHAR_BODY_LIMIT_BYTES")]
    body_limit_bytes: Option<usize>,
    /// TSA key (PKCS#8 PEM) [default: dev chain in the data directory].
    #[arg(long, value_name = "FILE", env = "CPHAR_TSA_KEY")]
    tsa_key: Option<PathBuf>,
    /// TSA certificate chain (PEM, leaf first).
    #[arg(long, value_name = "FILE", env = "CPHAR_TSA_CHAIN")]
    tsa_chain: Option<PathBuf>,
    /// Trusted clock tolerance, ms [default: 100].
    #[arg(long, value_name = "MS", env = "CPHAR_CLOCK_TOLERANCE_MS")]
    clock_tolerance_ms: Option<u64>,
    /// Requests per window per client address on unauthenticated routes [default: 600].
    #[arg(long, value_name = "N", env = "CPHAR_ANONYMOUS_RATE_LIMIT")]
    anonymous_rate_limit: Option<u32>,
    /// Window of --anonymous-rate-limit, seconds [default: 60].
    #[arg(long, value_name = "N", env = "CPHAR_ANONYMOUS_RATE_WINDOW_SECONDS")]
    anonymous_rate_window_seconds: Option<u64>,
    /// Most connections open at once [default: 1024].
    #[arg(long, value_name = "N", env = "CPHAR_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Time allowed to send a request head, ms [default: 10000].
    #[arg(long, value_name = "MS", env = "CPHAR_HEADER_READ_TIMEOUT_MS")]
    header_read_timeout_ms: Option<u64>,
    /// A connection idle this long is closed, seconds [default: 60].
    #[arg(long, value_name = "N", env = "CPHAR_IDLE_TIMEOUT_SECONDS")]
    idle_timeout_seconds: Option<u64>,
    /// Lifetime of an API token created without one, seconds [default: 7776000 = 90 days].
    #[arg(long, value_name = "N", env = "CPHAR_TOKEN_DEFAULT_LIFETIME_SECONDS")]
    token_default_lifetime_seconds: Option<u64>,
    /// Longest API token lifetime accepted, seconds [default: 31536000 = 365 days].
    #[arg(long, value_name = "N", env = "CPHAR_TOKEN_MAX_LIFETIME_SECONDS")]
    token_max_lifetime_seconds: Option<u64>,
    /// Publish a reserve report when the latest is this old, seconds; 0: only on
    /// `POST /reports` [default: 0].
    #[arg(long, value_name = "N", env = "CPHAR_REPORT_INTERVAL_SECONDS")]
    report_interval_seconds: Option<u64>,
    /// How long after a report's generatedAt its RFC 3161 timestamp may be made, seconds
    /// [default: 600].
    #[arg(long, value_name = "N", env = "CPHAR_REPORT_TIMESTAMP_GRACE_SECONDS")]
    report_timestamp_grace_seconds: Option<u64>,
    /// Directory of vendor CRL bundles (`cphar vendor crl`) [default: DATA_DIR/crls when
    /// present].
    #[arg(long, value_name = "DIR", env = "CPHAR_CRL_DIR")]
    crl_dir: Option<std::path::PathBuf>,
    /// Longest a CRL is trusted after its thisUpdate, seconds; 0: until nextUpdate only
    /// [default: 604800 = 7 days].
    #[arg(long, value_name = "N", env = "CPHAR_CRL_MAX_AGE_SECONDS")]
    crl_max_age_seconds: Option<u64>,
    /// A valid answer from a seal whose device certificate expired: `deny` or `degrade`
    /// [default: deny].
    #[arg(long, value_name = "ACTION", env = "CPHAR_EXPIRED_CERTIFICATE")]
    expired_certificate: Option<String>,
    /// Make a new admin API token in DATA_DIR/admin-token (which must not exist), audited,
    /// then serve: the recovery path when that file was lost.
    #[arg(long)]
    reset_admin_token: bool,
}

impl Args {
    /// The merged configuration.
    pub fn config(&self) -> Result<ServerConfig> {
        let mut c = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                ServerConfig::from_toml(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?
            }
            None => ServerConfig::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = &self.$field { c.$field = v.clone().into(); } )* };
        }
        set!(
            listen,
            data_dir,
            database_url,
            host,
            tls_cert,
            tls_key,
            vendors,
            policy,
            expected_measurement
        );
        set!(
            skew_seconds,
            max_response_ms,
            attestation_cadence_seconds,
            attestation_grace_seconds,
            unreachable_limit,
            scheduler_interval_seconds,
            seal_endpoint_hosts,
            attestation_parallelism
        );
        set!(
            rate_limit,
            rate_window_seconds,
            body_limit_bytes,
            tsa_key,
            tsa_chain,
            clock_tolerance_ms
        );
        set!(
            anonymous_rate_limit,
            anonymous_rate_window_seconds,
            max_connections,
            header_read_timeout_ms,
            idle_timeout_seconds,
            token_default_lifetime_seconds,
            token_max_lifetime_seconds
        );
        set!(report_interval_seconds, report_timestamp_grace_seconds);
        set!(crl_dir, crl_max_age_seconds, expired_certificate);
        Ok(c)
    }
}

pub use cphar_server::admin_token::ADMIN_TOKEN_FILE;

/// Runs the server until SIGINT / SIGTERM.
pub fn run(args: Args) -> Result<ExitCode> {
    let config = args.config()?;
    // Telemetry as JSON lines on stderr; CPHAR_LOG sets the filter (default: info).
    let filter = tracing_subscriber::EnvFilter::try_from_env("CPHAR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let state = cphar_server::app::build_state(config.clone())
            .await
            .map_err(|e| anyhow!(e))?;
        let path = config.data_dir.join(ADMIN_TOKEN_FILE);
        if cphar_server::admin_token::bootstrap(&state, &path).await? {
            eprintln!(
                "cphar: first start: admin API token written to {}",
                path.display()
            );
        } else if args.reset_admin_token {
            cphar_server::admin_token::reset(&state, &path).await?;
            eprintln!(
                "cphar: new admin API token written to {} (earlier tokens stay valid until revoked)",
                path.display()
            );
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stop = shutdown_signal()?;
        let server = tokio::spawn(cphar_server::app::serve(state, stop, tx));
        if let Ok(addr) = rx.await {
            eprintln!(
                "cphar: serving on {}://{addr}",
                if config.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                }
            );
        }
        server
            .await
            .map_err(|e| anyhow!("server task failed: {e}"))?
            .map_err(|e| anyhow!(e))?;
        eprintln!("cphar: stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Installs the SIGINT and SIGTERM handlers now and returns a future completing on either.
/// Installing them before the process announces that it is ready means a signal sent right
/// after the announcement stops it gracefully instead of killing it. Call inside the runtime.
pub(crate) fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
