//! `cphar seal`: the device side — a seal answering challenges, as a one-shot command or an
//! HTTP agent, with its binding key in one of three custody backends:
//!
//! * `software` — a PKCS#8 key file from `cphar keygen`: DEVELOPMENT ONLY (the key is a file
//!   anyone with the file can copy);
//! * `pkcs11` — a key pair generated inside a PKCS#11 token (secure element, HSM; SoftHSM2 in
//!   tests) as non-extractable token objects, found by its label. The module, token label and
//!   PIN come from `--pkcs11-config FILE` (TOML, owner-only) or the environment
//!   (`CPHAR_SEAL_PKCS11_MODULE`, `CPHAR_SEAL_PKCS11_TOKEN`, `CPHAR_SEAL_PKCS11_PIN`), never
//!   from the command line;
//! * `puf` — SIMULATED, DEVELOPMENT ONLY: a BAL-3 PUF seal from a device file
//!   (`cphar puf enroll`); the key is re-derived from a fresh noisy read for every signature
//!   and never stored.
//!
//! `cphar seal tamper` is the tamper response: it signs a Binding Revocation Attestation
//! (seed 002 §4.4.1) while the key still can, then destroys the key (`C_DestroyObject`, or the
//! key file overwritten and removed). A running agent whose key is gone answers no challenge.

use crate::io;
use anyhow::{Context, Result, anyhow, bail};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_pkcs11::{Pkcs11Config, Pkcs11SealKey, SealKeyAlgorithm};
use cphar_protocol::seal::{Seal, SealKey};
use cphar_protocol::{Bal, ChallengeRequest, DeviceStatus, RevocationReason, Timestamp};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Environment variable naming the seal's PKCS#11 module.
pub const ENV_MODULE: &str = "CPHAR_SEAL_PKCS11_MODULE";
/// Environment variable naming the seal's token label.
pub const ENV_TOKEN: &str = "CPHAR_SEAL_PKCS11_TOKEN";
/// Environment variable holding the seal token's user PIN.
pub const ENV_PIN: &str = "CPHAR_SEAL_PKCS11_PIN";

/// Seal operations.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make the seal's binding key pair (in the token for `--backend pkcs11`); prints the
    /// public JWK.
    Keygen(KeygenArgs),
    /// Answer a ChallengeRequest: prints a ChallengeResponse signed over JCS(request as given).
    Respond(RespondArgs),
    /// Run a seal agent: answers ChallengeRequests POSTed to `/challenge` over HTTP (the
    /// network transport the registry's attestation scheduler uses).
    Serve(ServeArgs),
    /// Answer an Enrollment Authority's enrollment challenge (seed 002 §4.2.2 step 3): prints
    /// the registration request with the proof of possession (`enrollment`) added.
    Enroll(EnrollArgs),
    /// Tamper response: sign a Binding Revocation Attestation (printed on stdout) while the
    /// key can, then destroy the key. Irreversible.
    Tamper(TamperArgs),
}

/// Where the binding key is kept.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// DEVELOPMENT ONLY: a PKCS#8 key file (`--key`).
    Software,
    /// A non-extractable key pair in a PKCS#11 token (`--key-label`).
    Pkcs11,
    /// SIMULATED, DEVELOPMENT ONLY: a PUF device file (`--puf-device`).
    Puf,
}

/// How to reach the binding key (shared by every seal subcommand).
#[derive(clap::Args)]
pub struct KeyArgs {
    /// Key custody backend. `software` and `puf` are for development only.
    #[arg(long, value_enum, default_value = "software")]
    backend: Backend,
    /// Puf backend (SIMULATED, DEVELOPMENT ONLY): the device file from `cphar puf enroll`.
    #[arg(long, value_name = "FILE", required_if_eq("backend", "puf"))]
    puf_device: Option<PathBuf>,
    /// Software backend: the seal's private key file (from `cphar keygen`).
    #[arg(long, value_name = "FILE", required_if_eq("backend", "software"))]
    key: Option<PathBuf>,
    /// PKCS#11 backend: the key pair's `CKA_LABEL` in the token.
    #[arg(long, value_name = "LABEL", required_if_eq("backend", "pkcs11"))]
    key_label: Option<String>,
    /// PKCS#11 backend: a TOML file with `module`, `token` and `pin` (mode 0600); without it
    /// the `CPHAR_SEAL_PKCS11_*` environment variables are read. The PIN is never an option.
    #[arg(long, value_name = "FILE")]
    pkcs11_config: Option<PathBuf>,
}

/// Options of `cphar seal keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The key's profile (PKCS#11 default: Ed25519 when the token offers it, else P-256).
    #[arg(long, value_enum)]
    profile: Option<super::keygen::Profile>,
    /// Software backend: overwrite an existing key file.
    #[arg(long)]
    force: bool,
}

/// Options of `cphar seal serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The binding method id this key is registered under.
    #[arg(long, value_name = "ID")]
    binding_method: String,
    /// The BAL the seal reports [default: BAL-3 for a PUF seal, BAL-2 otherwise].
    #[arg(long, value_name = "BAL-n")]
    bal: Option<Bal>,
    /// The device status to report.
    #[arg(long, value_name = "STATUS", default_value = "operational")]
    status: DeviceStatus,
    /// Address to listen on (port 0: any free port; the address is printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
    listen: std::net::SocketAddr,
    /// Challenges per minute per verifier DID (seed 002 §4.3.7: 10).
    #[arg(long, default_value_t = 10)]
    rate_limit: u32,
}

/// Options of `cphar seal respond`.
#[derive(clap::Args)]
pub struct RespondArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The ChallengeRequest (JSON file).
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    /// The binding method id this key is registered under (default: `<did>#seal-1`).
    #[arg(long, value_name = "ID")]
    binding_method: Option<String>,
    /// The BAL the seal reports [default: BAL-3 for a PUF seal, BAL-2 otherwise].
    #[arg(long, value_name = "BAL-n")]
    bal: Option<Bal>,
    /// The device status to report.
    #[arg(long, value_name = "STATUS", default_value = "operational")]
    status: DeviceStatus,
    /// The device clock reading, RFC 3339 UTC (default: the system clock).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

/// Options of `cphar seal enroll`.
#[derive(clap::Args)]
pub struct EnrollArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The challenge from `POST /enrollment/challenges` (JSON file).
    #[arg(long, value_name = "FILE")]
    challenge: PathBuf,
    /// The registration request to complete (from `cphar vendor provision`).
    #[arg(long, value_name = "FILE")]
    registration: PathBuf,
}

/// Options of `cphar seal tamper`.
#[derive(clap::Args)]
pub struct TamperArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The object DID the seal is bound to.
    #[arg(long, value_name = "DID")]
    did: String,
    /// The binding method id the key is registered under.
    #[arg(long, value_name = "ID")]
    binding_method: String,
    /// The device clock reading, RFC 3339 UTC (default: the system clock).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

/// A seal key from any backend.
pub enum AnyKey {
    /// Development only.
    Software(SigningKey),
    /// In a token.
    Pkcs11(Pkcs11SealKey),
    /// Simulated PUF, development only.
    Puf(cphar_puf::PufKey),
}

impl SealKey for AnyKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, cphar_crypto::CryptoError> {
        match self {
            AnyKey::Software(k) => SealKey::sign(k, msg),
            AnyKey::Pkcs11(k) => SealKey::sign(k, msg),
            AnyKey::Puf(k) => SealKey::sign(k, msg),
        }
    }

    fn verifying_key(&self) -> cphar_crypto::VerifyingKey {
        match self {
            AnyKey::Software(k) => SealKey::verifying_key(k),
            AnyKey::Pkcs11(k) => SealKey::verifying_key(k),
            AnyKey::Puf(k) => SealKey::verifying_key(k),
        }
    }
}

/// The `--pkcs11-config` file.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Pkcs11File {
    module: PathBuf,
    token: String,
    pin: String,
}

/// The token configuration: `file` if given, else the environment.
pub fn pkcs11_config(file: Option<&Path>) -> Result<Pkcs11Config> {
    let Some(path) = file else {
        return Pkcs11Config::from_env_vars(ENV_MODULE, ENV_TOKEN, ENV_PIN).map_err(|e| {
            anyhow!(
                "{e} ({}): give --pkcs11-config FILE or set {ENV_MODULE}, {ENV_TOKEN}, {ENV_PIN}",
                e.reason_code()
            )
        });
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} holds a PIN and is readable by others (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let text = zeroize::Zeroizing::new(io::read_file(path)?);
    let text = std::str::from_utf8(&text)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    let parsed: Pkcs11File = toml::from_str(text)
        .with_context(|| format!("{} is not a PKCS#11 config", path.display()))?;
    Ok(Pkcs11Config {
        module: parsed.module,
        token_label: parsed.token,
        pin: zeroize::Zeroizing::new(parsed.pin),
    })
}

fn pkcs11_error(e: cphar_pkcs11::Pkcs11Error) -> anyhow::Error {
    anyhow!("{e} ({})", e.reason_code())
}

/// The BAL a seal reports unless told: BAL-3 for a PUF seal, BAL-2 otherwise.
fn bal_or_default(args: &KeyArgs, bal: Option<Bal>) -> Bal {
    bal.unwrap_or(match args.backend {
        Backend::Puf => Bal::Bal3,
        Backend::Software | Backend::Pkcs11 => Bal::Bal2,
    })
}

/// Opens a simulated PUF device file.
fn open_puf(path: &Path) -> Result<AnyKey> {
    let text = zeroize::Zeroizing::new(io::read_file(path)?);
    let value: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a PUF device file", path.display()))?;
    let device = cphar_puf::PufDevice::from_json(&value)
        .with_context(|| format!("{} is not a usable PUF device file", path.display()))?;
    let extractor = cphar_puf::FuzzyExtractor::new().context("BCH code set-up failed")?;
    let key =
        cphar_puf::PufKey::open(&device, extractor).map_err(|e| anyhow!("{}: {e}", e.code()))?;
    Ok(AnyKey::Puf(key))
}

/// Opens the key the options name.
pub fn open_key(args: &KeyArgs) -> Result<AnyKey> {
    if args.backend == Backend::Puf {
        let path = args
            .puf_device
            .as_deref()
            .ok_or_else(|| anyhow!("--backend puf needs --puf-device FILE"))?;
        return open_puf(path);
    }
    match (args.backend, &args.key, &args.key_label) {
        (Backend::Software, Some(path), _) => Ok(AnyKey::Software(load_key(path)?)),
        (Backend::Pkcs11, _, Some(label)) => {
            let config = pkcs11_config(args.pkcs11_config.as_deref())?;
            Ok(AnyKey::Pkcs11(
                Pkcs11SealKey::open(&config, label).map_err(pkcs11_error)?,
            ))
        }
        (Backend::Software, None, _) => bail!("--backend software needs --key FILE"),
        (Backend::Pkcs11, _, None) => bail!("--backend pkcs11 needs --key-label LABEL"),
        (Backend::Puf, _, _) => bail!("--backend puf needs --puf-device FILE"),
    }
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    let args = match command {
        Command::Respond(args) => args,
        Command::Serve(args) => return serve(args),
        Command::Keygen(args) => return keygen(&args),
        Command::Tamper(args) => return tamper(&args),
        Command::Enroll(args) => return enroll(&args),
    };
    let key = open_key(&args.key)?;
    let request_bytes = io::read_file(&args.request)?;
    let request = ChallengeRequest::from_json(&request_bytes)
        .with_context(|| format!("{} is not a valid ChallengeRequest", args.request.display()))?;
    let now = match &args.now {
        Some(s) => io::parse_time(s, "--now")?,
        None => Timestamp::now_utc(),
    };
    let method = args
        .binding_method
        .unwrap_or_else(|| format!("{}#seal-1", request.did()));
    let mut seal = Seal::new(key, method, bal_or_default(&args.key, args.bal));
    seal.set_status(args.status);
    let response = seal
        .respond(&request, now)
        .context("the seal could not answer")?;
    println!("{}", response.raw());
    Ok(ExitCode::SUCCESS)
}

fn keygen(args: &KeygenArgs) -> Result<ExitCode> {
    use super::keygen::Profile;
    let public = match (args.key.backend, &args.key.key, &args.key.key_label) {
        (Backend::Software, Some(path), _) => {
            let algorithm = match args.profile {
                Some(Profile::P256) => Algorithm::EcdsaP256Sha256,
                Some(Profile::Ed25519) | None => Algorithm::Ed25519,
            };
            let key = SigningKey::generate(algorithm).context("key generation failed")?;
            let pem = key
                .to_pkcs8_pem()
                .context("cannot encode the private key")?;
            io::write_secret_file(path, pem.as_bytes(), args.force)?;
            key.verifying_key()
        }
        (Backend::Pkcs11, _, Some(label)) => {
            let config = pkcs11_config(args.key.pkcs11_config.as_deref())?;
            let prefer = args.profile.map(|p| match p {
                Profile::Ed25519 => SealKeyAlgorithm::Ed25519,
                Profile::P256 => SealKeyAlgorithm::P256,
            });
            let key = Pkcs11SealKey::generate(&config, label, prefer).map_err(pkcs11_error)?;
            SealKey::verifying_key(&key)
        }
        (Backend::Puf, _, _) => {
            bail!("a PUF seal's key is never generated: enroll the device with `cphar puf enroll`")
        }
        _ => bail!("--backend software needs --key FILE, --backend pkcs11 needs --key-label"),
    };
    println!("{}", public.to_jwk().to_json());
    Ok(ExitCode::SUCCESS)
}

fn enroll(args: &EnrollArgs) -> Result<ExitCode> {
    let challenge = cphar_jcs::parse(&io::read_file(&args.challenge)?)
        .with_context(|| format!("{} is not JSON", args.challenge.display()))?;
    let mut registration: serde_json::Value =
        serde_json::from_slice(&io::read_file(&args.registration)?)
            .with_context(|| format!("{} is not JSON", args.registration.display()))?;
    let uid = registration
        .get("uid")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| anyhow!("{} has no uid", args.registration.display()))?
        .to_owned();
    let seal = Seal::new(open_key(&args.key)?, String::new(), Bal::Bal2);
    let proof = seal
        .enroll(&challenge, &uid)
        .context("the seal could not sign the challenge")?;
    let obj = registration
        .as_object_mut()
        .ok_or_else(|| anyhow!("{} is not a JSON object", args.registration.display()))?;
    obj.insert("enrollment".into(), proof);
    println!("{registration:#}");
    Ok(ExitCode::SUCCESS)
}

fn tamper(args: &TamperArgs) -> Result<ExitCode> {
    let now = match &args.now {
        Some(s) => io::parse_time(s, "--now")?,
        None => Timestamp::now_utc(),
    };
    let key = open_key(&args.key)?;
    let mut seal = Seal::new(key, args.binding_method.clone(), Bal::Bal2);
    seal.set_status(DeviceStatus::Tampered);
    // Sign first (seed 002 §4.4.1 step 3: "if the device is capable"), destroy in any case.
    let attestation = seal.revocation_attestation(&args.did, RevocationReason::TamperDetected, now);
    match seal.key() {
        AnyKey::Pkcs11(key) => key.destroy().map_err(pkcs11_error)?,
        AnyKey::Software(_) => {
            if let Some(path) = &args.key.key {
                destroy_key_file(path)?;
            }
        }
        // The simulated device's "silicon" is its file: gone with it.
        AnyKey::Puf(_) => {
            if let Some(path) = &args.key.puf_device {
                destroy_key_file(path)?;
            }
        }
    }
    match attestation {
        Ok(value) => {
            println!("{value}");
            eprintln!("cphar: binding key destroyed after signing the revocation attestation");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "cphar: binding key destroyed; no revocation attestation could be signed: {e}"
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Overwrites a software key file with zeros, syncs it and removes it.
fn destroy_key_file(path: &Path) -> Result<()> {
    use std::io::Write;
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(&vec![0u8; usize::try_from(len).unwrap_or(0)])
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot overwrite {}", path.display()))?;
    std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))
}

fn load_key(path: &std::path::Path) -> Result<SigningKey> {
    // The PEM text is a secret: zeroized when dropped.
    let pem = zeroize::Zeroizing::new(io::read_file(path)?);
    let pem = std::str::from_utf8(&pem)
        .with_context(|| format!("{} is not a PEM key file", path.display()))?;
    SigningKey::from_pkcs8_pem(pem)
        .with_context(|| format!("{} is not a usable private key", path.display()))
}

struct Agent<K> {
    seal: Seal<K>,
    limiter: cphar_protocol::ratelimit::RateLimiter,
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    let bal = bal_or_default(&args.key, args.bal);
    let mut seal = Seal::new(open_key(&args.key)?, args.binding_method.clone(), bal);
    seal.set_status(args.status);
    let limiter =
        cphar_protocol::ratelimit::RateLimiter::new(cphar_protocol::ratelimit::RateLimitConfig {
            limit: args.rate_limit.max(1),
            ..cphar_protocol::ratelimit::RateLimitConfig::default()
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // SIGINT or SIGTERM: stop accepting, finish the answers in flight, exit 0.
        let stop = super::serve::shutdown_signal()?;
        let (addr, task) = spawn_agent(seal, limiter, args.listen, stop).await?;
        eprintln!(
            "cphar: seal agent for {} on http://{addr}/challenge",
            args.binding_method
        );
        task.await??;
        eprintln!("cphar: seal agent stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Starts a seal agent on `listen` until `stop`; returns its address and task.
pub async fn spawn_agent<K: SealKey + 'static>(
    seal: Seal<K>,
    limiter: cphar_protocol::ratelimit::RateLimiter,
    listen: std::net::SocketAddr,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(std::net::SocketAddr, tokio::task::JoinHandle<Result<()>>)> {
    let agent = Arc::new(Agent { seal, limiter });
    let app = axum::Router::new()
        .route("/challenge", axum::routing::post(answer::<K>))
        .with_state(agent);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await?;
        Ok(())
    });
    Ok((addr, task))
}

async fn answer<K: SealKey>(
    axum::extract::State(agent): axum::extract::State<Arc<Agent<K>>>,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, String) {
    use axum::http::StatusCode;
    let Ok(request) = ChallengeRequest::from_json(&body) else {
        return (StatusCode::BAD_REQUEST, "not a ChallengeRequest".into());
    };
    let now = Timestamp::now_utc();
    // Device-side rate limiting per verifier DID (seed 002 §4.3.7).
    if agent.limiter.check(request.verifier(), now).is_err() {
        return (StatusCode::TOO_MANY_REQUESTS, "rate limited".into());
    }
    match agent.seal.respond(&request, now) {
        Ok(response) => (StatusCode::OK, response.raw().to_string()),
        // A request with members outside seed 002 §4.3.1 is refused, not signed.
        Err(e @ cphar_protocol::seal::SealError::UnknownRequestMember(_)) => {
            (StatusCode::BAD_REQUEST, e.to_string())
        }
        // The key cannot sign (destroyed by the tamper response, token gone): no answer.
        Err(cphar_protocol::seal::SealError::Sign(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the seal key cannot sign".into(),
        ),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
