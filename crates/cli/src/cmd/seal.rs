//! `cphar seal`: a software seal, or (development only) a simulated PUF seal whose key is
//! re-derived from a fresh noisy PUF read on every challenge.

use crate::io;
use anyhow::{Context, Result};
use cphar_crypto::SigningKey;
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{Bal, ChallengeRequest, ChallengeResponse, DeviceStatus, Timestamp};
use cphar_puf::{FuzzyExtractor, PufDevice, PufSeal, PufSealError};
use rand::SeedableRng;
use std::path::PathBuf;
use std::process::ExitCode;

/// Seal operations.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Answer a ChallengeRequest: prints a ChallengeResponse signed over JCS(request as given).
    Respond(RespondArgs),
    /// Run a seal agent: answers ChallengeRequests POSTed to `/challenge` over HTTP (the
    /// network transport the registry's attestation scheduler uses).
    Serve(ServeArgs),
}

/// Options of `cphar seal serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The seal's private key (from `cphar keygen`).
    #[arg(long, value_name = "FILE", required_unless_present = "puf_device")]
    key: Option<PathBuf>,
    /// SIMULATED, DEVELOPMENT ONLY: act as a BAL-3 PUF seal from this device file (from
    /// `cphar puf enroll`); the key is re-derived from a fresh noisy read on every challenge.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    puf_device: Option<PathBuf>,
    /// The binding method id this key is registered under.
    #[arg(long, value_name = "ID")]
    binding_method: String,
    /// The BAL the seal reports (default: BAL-3 for a PUF seal, BAL-2 otherwise).
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
    /// The seal's private key (from `cphar keygen`).
    #[arg(long, value_name = "FILE", required_unless_present = "puf_device")]
    key: Option<PathBuf>,
    /// SIMULATED, DEVELOPMENT ONLY: act as a BAL-3 PUF seal from this device file (from
    /// `cphar puf enroll`); the key is re-derived from a fresh noisy read on every challenge.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    puf_device: Option<PathBuf>,
    /// The ChallengeRequest (JSON file).
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    /// The binding method id this key is registered under (default: `<did>#seal-1`).
    #[arg(long, value_name = "ID")]
    binding_method: Option<String>,
    /// The BAL the seal reports (default: BAL-3 for a PUF seal, BAL-2 otherwise).
    #[arg(long, value_name = "BAL-n")]
    bal: Option<Bal>,
    /// The device status to report.
    #[arg(long, value_name = "STATUS", default_value = "operational")]
    status: DeviceStatus,
    /// The device clock reading, RFC 3339 UTC (default: the system clock).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    let args = match command {
        Command::Respond(args) => args,
        Command::Serve(args) => return serve(args),
    };
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
    let seal = load_seal(
        args.key.as_deref(),
        args.puf_device.as_deref(),
        method,
        args.bal,
        args.status,
    )?;
    let response = seal
        .respond(&request, now)
        .map_err(|e| anyhow::anyhow!("the seal could not answer: {}", e.message()))?;
    println!("{}", response.raw());
    Ok(ExitCode::SUCCESS)
}

/// The seal a command acts as: a key file, or a simulated PUF device file.
fn load_seal(
    key: Option<&std::path::Path>,
    puf_device: Option<&std::path::Path>,
    method: String,
    bal: Option<Bal>,
    status: DeviceStatus,
) -> Result<AgentSeal> {
    if let Some(path) = puf_device {
        let text = zeroize::Zeroizing::new(io::read_file(path)?);
        let value: serde_json::Value = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a PUF device file", path.display()))?;
        let device = PufDevice::from_json(&value)
            .with_context(|| format!("{} is not a usable PUF device file", path.display()))?;
        let extractor = FuzzyExtractor::new().context("BCH code set-up failed")?;
        let mut seal = PufSeal::new(&device, extractor, method, bal.unwrap_or(Bal::Bal3));
        seal.set_status(status);
        return Ok(AgentSeal::Puf(seal));
    }
    let Some(path) = key else {
        anyhow::bail!("either --key or --puf-device is required");
    };
    let mut seal = SoftwareSeal::new(load_key(path)?, method, bal.unwrap_or(Bal::Bal2));
    seal.set_status(status);
    Ok(AgentSeal::Software(seal))
}

/// The seal behind `respond` and the agent.
pub enum AgentSeal {
    /// A key held in memory.
    Software(SoftwareSeal),
    /// A simulated PUF seal (development only): the key exists only while one answer is signed.
    Puf(PufSeal),
}

impl From<SoftwareSeal> for AgentSeal {
    fn from(seal: SoftwareSeal) -> Self {
        AgentSeal::Software(seal)
    }
}

/// Why a seal gave no answer.
pub enum SealFailure {
    /// The request is not one a seal signs (members outside seed 002 §4.3.1).
    Refused(String),
    /// The seal could not answer (for a PUF seal: a read it could not correct, altered
    /// helper data), with the reason code first.
    Failed(String),
}

impl SealFailure {
    fn message(&self) -> &str {
        match self {
            SealFailure::Refused(m) | SealFailure::Failed(m) => m,
        }
    }
}

impl AgentSeal {
    /// Answers `request` at device time `now`.
    pub fn respond(
        &self,
        request: &ChallengeRequest,
        now: Timestamp,
    ) -> std::result::Result<ChallengeResponse, SealFailure> {
        use cphar_protocol::seal::SealError;
        match self {
            AgentSeal::Software(seal) => seal.respond(request, now).map_err(|e| match e {
                SealError::UnknownRequestMember(_) => SealFailure::Refused(e.to_string()),
                _ => SealFailure::Failed(e.to_string()),
            }),
            AgentSeal::Puf(seal) => {
                // Read noise from a ChaCha stream keyed by the OS CSPRNG, fresh per answer.
                let seed = cphar_crypto::random_bytes::<32>()
                    .map_err(|e| SealFailure::Failed(format!("no randomness: {e}")))?;
                let mut noise = rand::rngs::StdRng::from_seed(seed);
                seal.respond(request, now, &mut noise).map_err(|e| match e {
                    PufSealError::Seal(SealError::UnknownRequestMember(_)) => {
                        SealFailure::Refused(e.to_string())
                    }
                    _ => SealFailure::Failed(format!("{}: {e}", e.code())),
                })
            }
        }
    }
}

fn load_key(path: &std::path::Path) -> Result<SigningKey> {
    // The PEM text is a secret: zeroized when dropped.
    let pem = zeroize::Zeroizing::new(io::read_file(path)?);
    let pem = std::str::from_utf8(&pem)
        .with_context(|| format!("{} is not a PEM key file", path.display()))?;
    SigningKey::from_pkcs8_pem(pem)
        .with_context(|| format!("{} is not a usable private key", path.display()))
}

struct Agent {
    seal: AgentSeal,
    limiter: cphar_protocol::ratelimit::RateLimiter,
}

fn serve(args: ServeArgs) -> Result<ExitCode> {
    let seal = load_seal(
        args.key.as_deref(),
        args.puf_device.as_deref(),
        args.binding_method.clone(),
        args.bal,
        args.status,
    )?;
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
pub async fn spawn_agent(
    seal: impl Into<AgentSeal>,
    limiter: cphar_protocol::ratelimit::RateLimiter,
    listen: std::net::SocketAddr,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(std::net::SocketAddr, tokio::task::JoinHandle<Result<()>>)> {
    let agent = std::sync::Arc::new(Agent {
        seal: seal.into(),
        limiter,
    });
    let app = axum::Router::new()
        .route("/challenge", axum::routing::post(answer))
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

async fn answer(
    axum::extract::State(agent): axum::extract::State<std::sync::Arc<Agent>>,
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
        Err(SealFailure::Refused(m)) => (StatusCode::BAD_REQUEST, m),
        Err(SealFailure::Failed(m)) => (StatusCode::INTERNAL_SERVER_ERROR, m),
    }
}
