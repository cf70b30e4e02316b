//! Process start-up (seed 003 §6.1): self-tests → trusted clock → identity key → audit key →
//! epoch entry. A failed self-test leaves the module in its error state: no epoch is opened
//! and nothing is signed (the server still answers health probes, as not ready).
//!
//! Keys on disk, in the data directory (owner-only files):
//! * `identity-key.pem` — the registry's long-term Ed25519 identity: countersigns epochs and
//!   signs audit checkpoints;
//! * `ea-key.pem` — the Enrollment Authority key (Ed25519) signing BEAs;
//! * `report-key.pem` — the report key (Ed25519) signing reserve reports, certified once in
//!   the audit log (`report_key_certified`) by the first server that starts.
//!
//! The audit key is generated in memory at every start and never written anywhere.
//!
//! **One registry identity.** Processes sharing a database must share its keys: before it
//! creates or uses a key, a process compares its identity key with the one the audit log's
//! first epoch names, and its Enrollment Authority key with the active authorities on
//! record. A mismatch (or a missing key file where the database already knows one) stops the
//! start with both RFC 7638 thumbprints and the fix: copy `identity-key.pem` / `ea-key.pem`
//! from a server of this registry. Otherwise a second data directory would open epochs under
//! another identity and make the shared log fail verification for ever.
//!
//! **Owner-only files.** The data directory is created 0700 and the SQLite database is
//! created 0600 before SQLite opens it (SQLite gives its `-wal` / `-shm` files the database
//! file's mode), so nothing depends on the process umask. Key PEM text is held in zeroizing
//! buffers.

use cphar_audit::EpochStart;
use cphar_crypto::{Algorithm, Jwk, SigningKey};
use cphar_integrity::clock::ClockConfig;
use cphar_integrity::selftest::{SelfTestOptions, SelfTestReport};
use cphar_integrity::{ModuleState, TrustedClock, run_power_on_self_tests};
use cphar_protocol::Timestamp;
use cphar_registry::{Clock, Refusal, RefusalCode, Registry, RegistryNames};
use cphar_store::{AnyStore, EpochJob};
use cphar_vendor::VendorRegistry;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The identity key file in the data directory.
pub const IDENTITY_KEY_FILE: &str = "identity-key.pem";
/// The Enrollment Authority key file in the data directory.
pub const EA_KEY_FILE: &str = "ea-key.pem";
/// The report key file in the data directory (Ed25519, signs reserve reports).
pub const REPORT_KEY_FILE: &str = "report-key.pem";
/// The vendor trust file read by default from the data directory.
pub const VENDORS_FILE: &str = "vendors.toml";

/// How to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Data directory: SQLite database (unless `database_url`), keys, vendor trust.
    pub data_dir: PathBuf,
    /// PostgreSQL URL.
    pub database_url: Option<String>,
    /// did:web host of the registry. The database records the host of its first start;
    /// see [`NodeConfig::host_configured`] for what happens when they differ.
    pub host: String,
    /// Whether `host` was asked for (flag, environment, config file). When it was, a
    /// database recorded under another host is refused ([`StartError::HostMismatch`]); when
    /// not, `host` is only the default for a new database and the recorded host is used.
    pub host_configured: bool,
    /// Vendor trust file (default: `DATA_DIR/vendors.toml` when present).
    pub vendors: Option<PathBuf>,
    /// Vendor CRL bundles (default: `DATA_DIR/crls` when present).
    pub crl_dir: Option<PathBuf>,
    /// Longest a CRL is trusted after its thisUpdate, seconds (`None`: until nextUpdate).
    pub crl_max_age_seconds: Option<u64>,
    /// What an expired device certificate does to a valid attestation.
    pub expired_certificate: cphar_registry::device::ExpiredCertificate,
    /// Expected SHA-384 of the binary (hex): the software integrity self-test compares it.
    pub expected_measurement: Option<String>,
    /// Trusted clock parameters.
    pub clock: ClockConfig,
    /// Create missing keys (first start).
    pub create_keys: bool,
    /// Open an audit epoch (false: read-only use, nothing can be written). A read-only
    /// start on a SQLite data directory without a database is refused, and creates nothing.
    pub writable: bool,
    /// Open the epoch only before the first write with events (one-shot CLI commands), not at
    /// start (the server, whose start is itself worth recording).
    pub lazy_epoch: bool,
    /// Identity recorded as the actor of start-up records.
    pub actor: String,
    /// Load (or create) the report key and certify it in the audit log if the registry has
    /// none yet: what a server does; one-shot CLI commands do not sign reports.
    pub report_key: bool,
}

impl NodeConfig {
    /// Defaults for a data directory and host.
    pub fn new(data_dir: impl Into<PathBuf>, host: impl Into<String>) -> Self {
        NodeConfig {
            data_dir: data_dir.into(),
            database_url: None,
            host: host.into(),
            host_configured: true,
            vendors: None,
            crl_dir: None,
            crl_max_age_seconds: Some(7 * 86_400),
            expired_certificate: cphar_registry::device::ExpiredCertificate::Deny,
            expected_measurement: None,
            clock: ClockConfig::default(),
            create_keys: true,
            writable: true,
            lazy_epoch: false,
            actor: "registry".into(),
            report_key: false,
        }
    }
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A self-test failed: the module is in its error state.
    #[error("self-test failed ({code}): {detail}")]
    SelfTest {
        /// Reason code.
        code: &'static str,
        /// Details.
        detail: String,
    },
    /// Configuration or key files.
    #[error("{0}")]
    Config(String),
    /// The database.
    #[error("database: {0}")]
    Store(String),
    /// The clock reads earlier than the last audited time, beyond the tolerance.
    #[error("{0}")]
    ClockBehindLog(String),
    /// This process's identity or Enrollment Authority key is not the one the database
    /// already knows (or is missing): starting would fork the registry's identity.
    #[error("{0}")]
    KeyMismatch(String),
    /// The database was initialised under another did:web host than the one configured.
    #[error(
        "this database was initialised for the did:web host '{database}' (lot DIDs \
         did:web:{database}:lots:…), but this process was configured with '{configured}' \
         (--host, CPHAR_HOST or `host` in the config file): drop that setting to use \
         '{database}', or use a database made for '{configured}'"
    )]
    HostMismatch {
        /// The host the database recorded at its first start.
        database: String,
        /// The host this process was given.
        configured: String,
    },
    /// A read-only command found no registry where it was pointed.
    #[error("no registry database at {0} (wrong --data-dir? `cphar registry init` creates one)")]
    NoDatabase(String),
}

impl StartError {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            StartError::SelfTest { code, .. } => code,
            StartError::Config(_) => "configuration_error",
            StartError::Store(_) => "storage_error",
            StartError::ClockBehindLog(_) => "clock_behind_audit_log",
            StartError::KeyMismatch(_) => "registry_key_mismatch",
            StartError::HostMismatch { .. } => "host_mismatch",
            StartError::NoDatabase(_) => "no_database",
        }
    }
}

/// The registry clock backed by the trusted clock: no trusted time, no decision.
pub struct TrustedRegistryClock(pub Arc<TrustedClock>);

impl Clock for TrustedRegistryClock {
    fn now(&self) -> Result<Timestamp, Refusal> {
        self.0
            .now_for_signing()
            .map_err(|e| Refusal::new(RefusalCode::ClockOutOfTolerance, e.to_string()))
    }
}

/// A started process.
pub struct Node {
    /// The registry over the store.
    pub registry: Registry<AnyStore>,
    /// The module state (error state latches).
    pub module: ModuleState,
    /// The trusted clock.
    pub clock: Arc<TrustedClock>,
    /// The identity key (absent only for a read-only start without one).
    pub identity: Option<Arc<SigningKey>>,
    /// Sequence number of this process's epoch entry, when writable.
    pub epoch: Option<u64>,
    /// The report key, when asked for ([`NodeConfig::report_key`]).
    pub report_key: Option<Arc<SigningKey>>,
    /// The self-test report.
    pub self_tests: SelfTestReport,
    /// The configuration it started with.
    pub config: NodeConfig,
}

impl Node {
    /// Starts: self-tests, clock, store, keys, epoch.
    pub async fn start(mut config: NodeConfig) -> Result<Node, StartError> {
        let module = ModuleState::new();
        let options = SelfTestOptions {
            expected_measurement: parse_measurement(config.expected_measurement.as_deref())?,
            ..SelfTestOptions::default()
        };
        let self_tests = run_power_on_self_tests(&options);
        if let Err(e) = module.complete_self_tests(&self_tests) {
            // No epoch, no audit key: the failure is recorded by the next healthy start.
            leave_module_error_marker(&config.data_dir, &module.status().to_json());
            return Err(StartError::SelfTest {
                code: e.reason_code(),
                detail: e.to_string(),
            });
        }
        let clock = Arc::new(
            TrustedClock::system(config.clock).map_err(|e| StartError::Config(e.to_string()))?,
        );
        if !config.writable && config.database_url.is_none() {
            // Reading must not create: a mistyped path is an error, not an empty registry.
            let file = config.data_dir.join(cphar_store::SQLITE_FILE);
            if !file.is_file() {
                return Err(StartError::NoDatabase(file.display().to_string()));
            }
        }
        prepare_data_dir(&config)?;
        let store = match &config.database_url {
            Some(url) => AnyStore::open(url).await,
            None => AnyStore::open_data_dir(&config.data_dir).await,
        }
        .map_err(|e| StartError::Store(e.to_string()))?;
        config.host = resolve_host(&store, &config).await?;
        check_clock_against_log(&store, &clock, config.clock.tolerance).await?;
        let identity_path = config.data_dir.join(IDENTITY_KEY_FILE);
        let known_identity = known_identity(&store).await?;
        let identity = load_key(
            &identity_path,
            config.create_keys && config.writable && known_identity.is_none(),
        )?
        .map(Arc::new);
        if let Some(known) = &known_identity {
            match &identity {
                Some(key) => same_key(
                    "identity key",
                    &identity_path,
                    key,
                    std::slice::from_ref(known),
                    "the identity the audit log's epochs are countersigned by",
                )?,
                None if config.writable => {
                    return Err(missing_key(
                        "identity key",
                        &identity_path,
                        known,
                        "the identity the audit log's epochs are countersigned by",
                    ));
                }
                None => {}
            }
        }

        // The Enrollment Authority key likewise, before anything is written.
        let ea_path = config.data_dir.join(EA_KEY_FILE);
        let active_authorities = if config.writable {
            active_authority_keys(&store).await?
        } else {
            Vec::new()
        };
        let ea_key = load_key(
            &ea_path,
            config.create_keys && config.writable && active_authorities.is_empty(),
        )?;
        if config.writable {
            match (&ea_key, active_authorities.first()) {
                (Some(key), Some(_)) => same_key(
                    "Enrollment Authority key",
                    &ea_path,
                    key,
                    &active_authorities,
                    "the active Enrollment Authority key(s) on record",
                )?,
                (None, Some(known)) if config.create_keys => {
                    return Err(missing_key(
                        "Enrollment Authority key",
                        &ea_path,
                        known,
                        "the active Enrollment Authority key on record",
                    ));
                }
                _ => {}
            }
        }
        // The report key likewise (a server's), before anything is written.
        let report_key = if config.writable && config.report_key {
            Some(check_report_key(&store, &config).await?)
        } else {
            None
        };
        // Every audit signature first asks the module. The clock is asked by everything that
        // decides or dates something new (registry decisions, timestamps, checkpoints); a
        // service fact that carries its own time, such as the clock breaching its tolerance,
        // must still reach the log while the clock is out of tolerance.
        let guard_module = module.clone();
        store.set_signing_guard(Arc::new(move || {
            guard_module
                .ensure_operational()
                .map_err(|e| format!("{}: {e}", e.reason_code()))
        }));

        let epoch = if config.writable {
            let audit_key = audit_key()?;
            let identity = identity.as_ref().ok_or_else(|| {
                StartError::Config(format!("no identity key in {}", config.data_dir.display()))
            })?;
            let started_at = clock
                .now_for_signing()
                .map_err(|e| StartError::Config(e.to_string()))?;
            let start = EpochStart {
                self_tests: self_tests.to_json(),
                binary_measurement: self_tests.binary_measurement_tagged(),
                started_at,
            };
            let job = EpochJob {
                audit_key,
                identity: Arc::clone(identity),
                start,
            };
            if config.lazy_epoch {
                store.defer_epoch(job).await;
                None
            } else {
                Some(
                    store
                        .open_epoch(job)
                        .await
                        .map_err(|e| StartError::Store(e.to_string()))?,
                )
            }
        } else {
            None
        };

        let vendors = load_vendors(&config)?;
        let names = RegistryNames::new(config.host.clone());
        let registry = Registry::new(
            store,
            names,
            vendors,
            Arc::new(TrustedRegistryClock(Arc::clone(&clock))),
        );
        let crls = load_crls(&config, registry.vendors(), &clock)?;
        registry.install_crls(crls);
        registry.set_certificate_policy(cphar_registry::device::CertificatePolicy {
            expired: config.expired_certificate,
        });
        if epoch.is_some() {
            record_module_error_marker(&registry, &clock, &config).await?;
        }
        if let Some(key) = ea_key.filter(|_| config.writable) {
            registry
                .use_authority_key(key, &config.actor)
                .await
                .map_err(|e| {
                    StartError::Store(format!("cannot install the Enrollment Authority key: {e}"))
                })?;
        }
        let report_key = match report_key {
            Some((key, certified)) => {
                if !certified {
                    certify_report_key(&registry, &key, &config).await?;
                }
                Some(Arc::new(key))
            }
            None => None,
        };
        Ok(Node {
            registry,
            module,
            clock,
            identity,
            epoch,
            report_key,
            self_tests,
            config,
        })
    }

    /// Closes the store.
    pub async fn close(&self) {
        self.registry.store().close().await;
    }
}

/// The marker a process in its error state leaves in the data directory (it can sign
/// nothing, so it cannot write the audit log itself).
pub const MODULE_ERROR_FILE: &str = "module-error.json";

/// Leaves (or replaces) the error-state marker: `{"at", "status"}` with the module status.
/// Best effort: a data directory that cannot be written is reported on stderr by the caller's
/// error anyway.
pub fn leave_module_error_marker(data_dir: &Path, status: &serde_json::Value) {
    let at = Timestamp::now_utc().to_string();
    let marker = serde_json::json!({"at": at, "status": status});
    if let Err(e) = std::fs::write(data_dir.join(MODULE_ERROR_FILE), marker.to_string()) {
        tracing::warn!(target: "cphar::integrity", error = %e, "cannot leave the module error marker");
    }
}

/// The first healthy start after an error state records it as `module_error` (dated when it
/// happened, reason code from the failed test), then removes the marker. A marker that cannot
/// be recorded stops the start: the error would otherwise fall out of the log.
async fn record_module_error_marker(
    registry: &Registry<AnyStore>,
    clock: &TrustedClock,
    config: &NodeConfig,
) -> Result<(), StartError> {
    let path = config.data_dir.join(MODULE_ERROR_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let marker: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(
        |_| serde_json::json!({"status": {"reasonCode": "unreadable_marker", "detail": text}}),
    );
    let at = marker
        .get("at")
        .and_then(serde_json::Value::as_str)
        .and_then(|t| Timestamp::parse(t).ok());
    let status = marker.get("status").cloned().unwrap_or_default();
    let reason_code = status
        .get("reasonCode")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("module_error")
        .to_owned();
    let now = clock
        .now_for_signing()
        .map_err(|e| StartError::Config(e.to_string()))?;
    // Dated when recorded (the log's timestamps never go backwards); when it happened is in
    // the data.
    let fact = cphar_registry::ServiceEvent::ModuleError {
        at: now,
        reason_code,
        data: serde_json::json!({"status": status, "occurredAt": at.map(|t| t.to_string())}),
    };
    registry
        .record(&[fact], &config.actor)
        .await
        .map_err(|e| StartError::Store(format!("cannot record the module error marker: {e}")))?;
    std::fs::remove_file(&path)
        .map_err(|e| StartError::Config(format!("cannot remove {}: {e}", path.display())))
}

/// The last audited time survives restarts: a clock that reads earlier than the newest audit
/// entry's timestamp by more than the tolerance is refused at start-up (seed 003: time never
/// goes backwards in the log), with both readings in the message.
async fn check_clock_against_log(
    store: &AnyStore,
    clock: &TrustedClock,
    tolerance: std::time::Duration,
) -> Result<(), StartError> {
    let store_error = |e: cphar_registry::StoreError| StartError::Store(e.to_string());
    let (size, _) = store.audit_head().await.map_err(store_error)?;
    let Some(last) = size.checked_sub(1) else {
        return Ok(());
    };
    let entries = store.audit_entries(last, 1).await.map_err(store_error)?;
    let Some((_, line)) = entries.first() else {
        return Ok(());
    };
    let last_time = serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("timestamp")?.as_str().map(str::to_owned))
        .and_then(|t| Timestamp::parse(&t).ok())
        .ok_or_else(|| {
            StartError::Store(format!("audit entry {last} has no readable timestamp"))
        })?;
    let now = clock.now_nanos();
    let tolerance = i128::try_from(tolerance.as_nanos()).unwrap_or(i128::MAX);
    if now.saturating_add(tolerance) < last_time.unix_nanos() {
        let reading =
            Timestamp::from_unix_nanos(now).map_or_else(|| now.to_string(), |t| t.to_string());
        return Err(StartError::ClockBehindLog(format!(
            "the clock reads {reading}, earlier than the last audited time {last_time}              (entry {last}) by more than the tolerance: fix the system clock before starting"
        )));
    }
    Ok(())
}

/// The did:web host to run under: the one the database recorded at its first start, which
/// a configured host must equal; a database without one records this process's host (unless
/// read-only).
async fn resolve_host(store: &AnyStore, config: &NodeConfig) -> Result<String, StartError> {
    let setting = cphar_store::SETTING_DID_HOST;
    let recorded = match store.setting(setting).await {
        Ok(Some(host)) => host,
        Ok(None) if config.writable => store
            .init_setting(setting, &config.host)
            .await
            .map_err(|e| StartError::Store(format!("cannot record the did:web host: {e}")))?,
        Ok(None) => return Ok(config.host.clone()),
        Err(e) => return Err(StartError::Store(e.to_string())),
    };
    if config.host_configured && recorded != config.host {
        return Err(StartError::HostMismatch {
            database: recorded,
            configured: config.host.clone(),
        });
    }
    Ok(recorded)
}

/// The audit key of this epoch: non-extractable in a PKCS#11 token when one is configured
/// (`CPHAR_PKCS11_MODULE`, `CPHAR_PKCS11_TOKEN`, `CPHAR_PKCS11_PIN`), else generated in
/// memory. Either way it is fresh, P-384, passed its pairwise-consistency test, and written
/// nowhere.
fn audit_key() -> Result<Box<dyn cphar_audit::AuditKey>, StartError> {
    if std::env::var_os(cphar_pkcs11::ENV_MODULE).is_some() {
        let config = cphar_pkcs11::Pkcs11Config::from_env()
            .map_err(|e| StartError::Config(format!("{}: {e}", e.reason_code())))?;
        let key = cphar_pkcs11::Pkcs11AuditKey::generate(&config, "cphar-audit").map_err(|e| {
            StartError::SelfTest {
                code: e.reason_code(),
                detail: e.to_string(),
            }
        })?;
        return Ok(Box::new(key));
    }
    let key =
        SigningKey::generate(Algorithm::EcdsaP384Sha384).map_err(|e| StartError::SelfTest {
            code: "pairwise_consistency_failed",
            detail: e.to_string(),
        })?;
    Ok(Box::new(key))
}

fn parse_measurement(
    hex: Option<&str>,
) -> Result<Option<cphar_integrity::selftest::Measurement>, StartError> {
    let Some(hex) = hex else { return Ok(None) };
    let hex = hex.strip_prefix("sha384:").unwrap_or(hex);
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .filter(|b| b.len() == 48)
        .ok_or_else(|| {
            StartError::Config("the expected measurement must be 96 hex digits (SHA-384)".into())
        })?;
    <[u8; 48]>::try_from(bytes.as_slice())
        .map(Some)
        .map_err(|_| StartError::Config("bad measurement".into()))
}

/// The data directory, created owner-only (0700), and for SQLite the database file created
/// empty and owner-only (0600) before SQLite opens it: SQLite creates its `-wal` and `-shm`
/// files with the database file's mode, so the process umask does not matter.
fn prepare_data_dir(config: &NodeConfig) -> Result<(), StartError> {
    let dir = &config.data_dir;
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .map_err(|e| StartError::Config(format!("cannot create {}: {e}", dir.display())))?;
    }
    if config.database_url.is_none() {
        let db = dir.join(cphar_store::SQLITE_FILE);
        if !db.exists() {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(&db) {
                Ok(_) => {}
                // Another process created it first: fine, it did the same.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(StartError::Config(format!(
                        "cannot create {}: {e}",
                        db.display()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The report key of a server: `DATA_DIR/report-key.pem`, created (0600) when the registry
/// has none certified yet. Same "one registry identity" rule as the other keys: a key file
/// other than the certified key, or none where the database already certified one, refuses
/// the start (`registry_key_mismatch`, both thumbprints named) before anything is written.
/// Returns the key and whether it is certified already.
async fn check_report_key(
    store: &AnyStore,
    config: &NodeConfig,
) -> Result<(SigningKey, bool), StartError> {
    let path = config.data_dir.join(REPORT_KEY_FILE);
    let known = cphar_registry::Store::report_key(store)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?
        .map(|k| {
            serde_json::from_str::<serde_json::Value>(&k.public_jwk)
                .ok()
                .and_then(|v| Jwk::from_json(&v).ok())
                .ok_or_else(|| StartError::Store("the certified report key does not parse".into()))
        })
        .transpose()?;
    let what = "the report key certified in the audit log";
    match (
        load_key(&path, config.create_keys && known.is_none())?,
        known,
    ) {
        (Some(key), Some(known)) => {
            same_key(
                "report key",
                &path,
                &key,
                std::slice::from_ref(&known),
                what,
            )?;
            Ok((key, true))
        }
        (None, Some(known)) => Err(missing_key("report key", &path, &known, what)),
        (Some(key), None) => Ok((key, false)),
        (None, None) => Err(StartError::Config(format!(
            "no report key at {}",
            path.display()
        ))),
    }
}

/// Certifies the report key in the audit log (`report_key_certified`). A server that started
/// at the same time may have certified its own first: the registry then refuses ours.
async fn certify_report_key(
    registry: &Registry<AnyStore>,
    key: &SigningKey,
    config: &NodeConfig,
) -> Result<(), StartError> {
    registry
        .certify_report_key(&key.verifying_key(), &config.actor)
        .await
        .map(drop)
        .map_err(|e| match e {
            cphar_registry::RegistryError::Refused(r) => {
                StartError::KeyMismatch(r.message().to_owned())
            }
            other => StartError::Store(format!("cannot certify the report key: {other}")),
        })
}

/// The identity key the audit log's first epoch names, if the log has an entry.
async fn known_identity(store: &AnyStore) -> Result<Option<Jwk>, StartError> {
    let first = store
        .audit_entries(0, 1)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    let Some((_, line)) = first.first() else {
        return Ok(None);
    };
    let entry: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| StartError::Store(format!("audit entry 0 is not JSON: {e}")))?;
    let jwk = entry
        .pointer("/eventData/identityKey")
        .ok_or_else(|| StartError::Store("audit entry 0 names no identity key".into()))?;
    Jwk::from_json(jwk)
        .map(Some)
        .map_err(|e| StartError::Store(format!("audit entry 0: identity key: {e}")))
}

/// The public keys of the active Enrollment Authorities on record.
async fn active_authority_keys(store: &AnyStore) -> Result<Vec<Jwk>, StartError> {
    let records = cphar_registry::Store::authorities(store)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    records
        .iter()
        .filter(|a| a.state == cphar_registry::model::AuthorityState::Active)
        .map(|a| {
            Jwk::from_json(&a.public_jwk)
                .map_err(|e| StartError::Store(format!("authority {}: stored key: {e}", a.key_id)))
        })
        .collect()
}

fn thumbprint(jwk: &Jwk) -> String {
    jwk.thumbprint_b64()
        .unwrap_or_else(|_| "(no thumbprint)".to_owned())
}

/// Refuses unless `key`'s public half is one of `known`.
fn same_key(
    what: &str,
    path: &Path,
    key: &SigningKey,
    known: &[Jwk],
    known_as: &str,
) -> Result<(), StartError> {
    let mine = key.verifying_key().to_jwk();
    if known.contains(&mine) {
        return Ok(());
    }
    let theirs: Vec<String> = known.iter().map(thumbprint).collect();
    Err(StartError::KeyMismatch(format!(
        "the {what} in {} (thumbprint {}) is not {known_as} (thumbprint {}): this database \
         belongs to a registry whose keys this data directory does not hold. Copy {} from a \
         server of this registry into {} (or start with that server's data directory); \
         starting would fork the registry's identity",
        path.display(),
        thumbprint(&mine),
        theirs.join(", "),
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        path.parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
    )))
}

/// The error for a data directory without a key the database already knows.
fn missing_key(what: &str, path: &Path, known: &Jwk, known_as: &str) -> StartError {
    StartError::KeyMismatch(format!(
        "no {what} at {} but the database already knows {known_as} (thumbprint {}): copy that \
         key file from a server of this registry to {} instead of creating a new one",
        path.display(),
        thumbprint(known),
        path.display(),
    ))
}

/// Reads a PKCS#8 key file; creates an Ed25519 key there (mode 0600) when allowed.
pub fn load_key(path: &Path, create: bool) -> Result<Option<SigningKey>, StartError> {
    if path.exists() {
        let pem = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| StartError::Config(format!("cannot read {}: {e}", path.display())))?;
        return SigningKey::from_pkcs8_pem(&pem).map(Some).map_err(|e| {
            StartError::Config(format!(
                "{} is not a usable PKCS#8 key: {e}",
                path.display()
            ))
        });
    }
    if !create {
        return Ok(None);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| StartError::Config(format!("cannot create {}: {e}", dir.display())))?;
    }
    let key =
        SigningKey::generate(Algorithm::Ed25519).map_err(|e| StartError::Config(e.to_string()))?;
    let pem = key
        .to_pkcs8_pem()
        .map_err(|e| StartError::Config(e.to_string()))?;
    write_secret(path, pem.as_bytes())?;
    Ok(Some(key))
}

/// Writes a new owner-only file; refuses to overwrite.
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<(), StartError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| StartError::Config(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| StartError::Config(format!("cannot write {}: {e}", path.display())))
}

/// Loads every `*.pem` bundle of the CRL directory: one `X509 CRL` section and the
/// `CERTIFICATE` of the CA that issued it. Each is verified ([`VendorRegistry::verify_crl`]);
/// one that does not verify stops the start (fail closed: a CRL the operator installed must
/// count). A stale CRL loads, and refuses what it covers until replaced.
fn load_crls(
    config: &NodeConfig,
    vendors: &VendorRegistry,
    clock: &TrustedClock,
) -> Result<cphar_vendor::CrlSet, StartError> {
    let mut set = cphar_vendor::CrlSet::new(config.crl_max_age_seconds);
    let dir = match &config.crl_dir {
        Some(d) => d.clone(),
        None => {
            let default = config.data_dir.join("crls");
            if !default.is_dir() {
                return Ok(set);
            }
            default
        }
    };
    let bad = |path: &Path, e: String| StartError::Config(format!("{}: {e}", path.display()));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| bad(&dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .collect();
    paths.sort();
    let now = clock
        .now()
        .map_err(|e| StartError::Config(format!("no trusted time to check CRLs: {e}")))?;
    let at = cphar_vendor::UnixTime::from_secs(u64::try_from(now.unix_seconds()).unwrap_or(0));
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| bad(&path, e.to_string()))?;
        let (crl, issuer) = cphar_vendor::crl::bundle_from_pem(&text)
            .map_err(|e| bad(&path, format!("{e} ({})", e.reason_code())))?;
        let verified = vendors
            .verify_crl(&crl, &issuer, at)
            .map_err(|e| bad(&path, format!("{e} ({})", e.reason_code())))?;
        set.insert(verified);
    }
    Ok(set)
}

fn load_vendors(config: &NodeConfig) -> Result<VendorRegistry, StartError> {
    let path = match &config.vendors {
        Some(p) => p.clone(),
        None => {
            let default = config.data_dir.join(VENDORS_FILE);
            if !default.exists() {
                return Ok(VendorRegistry::new());
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| StartError::Config(format!("cannot read {}: {e}", path.display())))?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        VendorRegistry::from_json(&text)
    } else {
        VendorRegistry::from_toml(&text)
    };
    parsed.map_err(|e| {
        StartError::Config(format!(
            "{} is not a valid vendor trust file: {e}",
            path.display()
        ))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use cphar_integrity::clock::ManualTimeSource;

    fn clock_at(wall: i128) -> TrustedClock {
        TrustedClock::new(
            Arc::new(ManualTimeSource::new(wall, 1)),
            ClockConfig::default(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_clock_behind_the_last_audited_time_is_refused_at_start_up() {
        let dir = tempfile::tempdir().unwrap();
        // A first start writes the epoch entry at the system's time.
        Node::start(NodeConfig::new(dir.path(), "registry.test"))
            .await
            .unwrap()
            .close()
            .await;
        let store = AnyStore::open_data_dir(dir.path()).await.unwrap();
        let now = Timestamp::now_utc().unix_nanos();
        let tolerance = ClockConfig::default().tolerance;
        // An hour behind: refused, with both readings.
        let err = check_clock_against_log(&store, &clock_at(now - 3_600_000_000_000), tolerance)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "clock_behind_audit_log");
        assert!(
            err.to_string()
                .contains("earlier than the last audited time"),
            "{err}"
        );
        // Now, or ahead: fine.
        check_clock_against_log(&store, &clock_at(now), tolerance)
            .await
            .unwrap();
        check_clock_against_log(&store, &clock_at(now + 3_600_000_000_000), tolerance)
            .await
            .unwrap();
        store.close().await;
    }
}
