//! Process start-up (seed 003 §6.1): self-tests → trusted clock → identity key → audit key →
//! epoch entry. A failed self-test leaves the module in its error state: no epoch is opened
//! and nothing is signed (the server still answers health probes, as not ready).
//!
//! Keys on disk, in the data directory (owner-only files):
//! * `identity-key.pem` — the registry's long-term Ed25519 identity: countersigns epochs and
//!   signs audit checkpoints;
//! * `ea-key.pem` — the Enrollment Authority key (Ed25519) signing BEAs.
//!
//! The audit key is generated in memory at every start and never written anywhere.

use cphar_audit::EpochStart;
use cphar_crypto::{Algorithm, SigningKey};
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

/// The identity key file in the data directory.
pub const IDENTITY_KEY_FILE: &str = "identity-key.pem";
/// The Enrollment Authority key file in the data directory.
pub const EA_KEY_FILE: &str = "ea-key.pem";
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
            expected_measurement: None,
            clock: ClockConfig::default(),
            create_keys: true,
            writable: true,
            lazy_epoch: false,
            actor: "registry".into(),
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
        let store = match &config.database_url {
            Some(url) => AnyStore::open(url).await,
            None => AnyStore::open_data_dir(&config.data_dir).await,
        }
        .map_err(|e| StartError::Store(e.to_string()))?;
        config.host = resolve_host(&store, &config).await?;
        let identity = load_key(
            &config.data_dir.join(IDENTITY_KEY_FILE),
            config.create_keys && config.writable,
        )?
        .map(Arc::new);

        // Every audit signature first asks the module and the clock.
        let guard_module = module.clone();
        let guard_clock = Arc::clone(&clock);
        store.set_signing_guard(Arc::new(move || {
            guard_module
                .ensure_operational()
                .map_err(|e| format!("{}: {e}", e.reason_code()))?;
            guard_clock
                .now_for_signing()
                .map(drop)
                .map_err(|e| format!("clock_out_of_tolerance: {e}"))
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
        let ea_key = load_key(
            &config.data_dir.join(EA_KEY_FILE),
            config.create_keys && config.writable,
        )?;
        if let Some(key) = ea_key.filter(|_| config.writable) {
            registry
                .use_authority_key(key, &config.actor)
                .await
                .map_err(|e| {
                    StartError::Store(format!("cannot install the Enrollment Authority key: {e}"))
                })?;
        }
        Ok(Node {
            registry,
            module,
            clock,
            identity,
            epoch,
            self_tests,
            config,
        })
    }

    /// Closes the store.
    pub async fn close(&self) {
        self.registry.store().close().await;
    }
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

/// Reads a PKCS#8 key file; creates an Ed25519 key there (mode 0600) when allowed.
pub fn load_key(path: &Path, create: bool) -> Result<Option<SigningKey>, StartError> {
    if path.exists() {
        let pem = std::fs::read_to_string(path)
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
