//! `cphar client …`: a few calls to a running `cphar serve` over its HTTP API, so a first
//! installation can be driven from the shell (plain `http://` only; for anything more, the
//! API is described at `/openapi.json`).
//!
//! * `token`: an admin makes an API token for a role (written 0600, never printed);
//! * `attest`: a verifier challenges a lot through the server, has a software seal key (from
//!   `cphar keygen`) answer, and submits the answer — the server verifies it and, when valid,
//!   the seal becomes Attested;
//! * `tsa-root`: the root of the server's TSA chain, for `cphar ts verify --ca`.

use crate::http::Client;
use crate::io;
use anyhow::{Context, Result, anyhow, bail};
use cphar_crypto::SigningKey;
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{Bal, ChallengeRequest, Timestamp};
use serde_json::{Value, json};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Calls to a running server.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make an API token for a role (admin token needed); writes it to `--out` (0600).
    Token(TokenArgs),
    /// Challenge a lot through the server, answer with a seal key, submit; prints the
    /// server's decision (exit 0 when the attestation is valid, 1 otherwise).
    Attest(AttestArgs),
    /// Save the root of the server's TSA chain (`GET /tsa/certificate`, last certificate)
    /// for `cphar ts verify --ca`. Trust on first use: compare it with the operator's copy.
    TsaRoot(TsaRootArgs),
}

/// Options of `cphar client tsa-root`.
#[derive(clap::Args)]
pub struct TsaRootArgs {
    #[command(flatten)]
    server: Server,
    /// Where to write the root certificate (PEM).
    #[arg(long, value_name = "FILE", default_value = "tsa-root.pem")]
    out: PathBuf,
}

/// Where the server is.
#[derive(clap::Args)]
pub struct Server {
    /// The server's base URL.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8080",
        env = "CPHAR_SERVER"
    )]
    server: String,
}

/// Options of `cphar client token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    #[command(flatten)]
    server: Server,
    /// A file holding an admin token (the server writes the first one to
    /// `DATA_DIR/admin-token`).
    #[arg(long, value_name = "FILE", default_value = "cphar-data/admin-token")]
    admin_token_file: PathBuf,
    /// vendor, inspector, operator, auditor, verifier or admin.
    #[arg(long)]
    role: String,
    /// The identity the token acts as (recorded as the actor of its requests).
    #[arg(long)]
    subject: String,
    /// Where to write the new token (mode 0600; refuses to overwrite).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Options of `cphar client attest`.
#[derive(clap::Args)]
pub struct AttestArgs {
    #[command(flatten)]
    server: Server,
    /// A file holding a verifier token.
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// The lot to attest.
    #[arg(long)]
    lot: String,
    /// The seal's private key (from `cphar keygen`), playing the seal.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The binding method id the seal answers under (default: `<lot DID>#seal-1`, the first
    /// binding's).
    #[arg(long, value_name = "ID")]
    binding_method: Option<String>,
    /// The BAL the seal reports.
    #[arg(long, value_name = "BAL-n", default_value = "BAL-2")]
    bal: Bal,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match command {
            Command::Token(a) => token(a).await,
            Command::Attest(a) => attest(a).await,
            Command::TsaRoot(a) => tsa_root(a).await,
        }
    })
}

fn client(server: &Server) -> Result<Client> {
    let rest = server
        .server
        .strip_prefix("http://")
        .ok_or_else(|| {
            anyhow!(
                "--server: only http:// URLs are supported, got '{}'",
                server.server
            )
        })?
        .trim_end_matches('/');
    let addr: SocketAddr = rest
        .to_socket_addrs()
        .with_context(|| format!("--server: cannot resolve '{rest}'"))?
        .next()
        .ok_or_else(|| anyhow!("--server: '{rest}' has no address"))?;
    Ok(Client::new(addr))
}

fn read_token(path: &Path) -> Result<String> {
    let text = String::from_utf8(io::read_file(path)?)
        .with_context(|| format!("{} is not a token file", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(token.to_owned())
}

fn refused(what: &str, status: u16, body: &Value) -> anyhow::Error {
    let code = body.get("reasonCode").and_then(Value::as_str).unwrap_or("");
    let detail = body.get("detail").and_then(Value::as_str).unwrap_or("");
    anyhow!("{what}: HTTP {status} {code}: {detail}")
}

async fn token(a: TokenArgs) -> Result<ExitCode> {
    let admin = read_token(&a.admin_token_file)?;
    let answer = client(&a.server)?
        .post(
            "/tokens",
            &admin,
            &json!({"role": a.role, "subject": a.subject}),
        )
        .await?;
    if answer.status != 201 && answer.status != 200 {
        return Err(refused(
            "the server refused the token",
            answer.status,
            &answer.body,
        ));
    }
    let token = answer
        .body
        .get("token")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("the server's answer has no token"))?;
    io::write_secret_file(&a.out, format!("{token}\n").as_bytes(), false)?;
    println!(
        "{} token for {} written to {}",
        a.role,
        a.subject,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn attest(a: AttestArgs) -> Result<ExitCode> {
    let token = read_token(&a.token_file)?;
    let pem = String::from_utf8(io::read_file(&a.key)?)
        .with_context(|| format!("{} is not a PEM key file", a.key.display()))?;
    let key = SigningKey::from_pkcs8_pem(&pem)
        .with_context(|| format!("{} is not a usable private key", a.key.display()))?;
    let client = client(&a.server)?;
    let issued = client
        .post("/challenges", &token, &json!({"lotId": a.lot}))
        .await?;
    if issued.status != 201 {
        return Err(refused(
            "the server refused the challenge",
            issued.status,
            &issued.body,
        ));
    }
    let id = issued
        .body
        .get("challengeId")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("the server's challenge has no challengeId"))?
        .to_owned();
    let request =
        ChallengeRequest::from_value(issued.body.get("request").cloned().unwrap_or(Value::Null))
            .context("the server's challenge is not a ChallengeRequest")?;
    let method = a
        .binding_method
        .unwrap_or_else(|| format!("{}#seal-1", request.did()));
    let seal = SoftwareSeal::new(key, method, a.bal);
    let response = seal
        .respond(&request, Timestamp::now_utc())
        .context("the seal could not answer")?;
    let answer = client
        .post(
            &format!("/challenges/{id}/response"),
            &token,
            response.raw(),
        )
        .await?;
    println!("{}", answer.body);
    let valid =
        answer.status == 200 && answer.body.get("result").and_then(Value::as_str) == Some("valid");
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn tsa_root(a: TsaRootArgs) -> Result<ExitCode> {
    let answer = client(&a.server)?.get("/tsa/certificate", None).await?;
    if answer.status != 200 {
        return Err(refused("the server refused", answer.status, &answer.body));
    }
    let text = std::str::from_utf8(&answer.bytes).context("the TSA chain is not PEM text")?;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    let start = text
        .rfind(BEGIN)
        .ok_or_else(|| anyhow!("the server's TSA chain holds no certificate"))?;
    let root = text.get(start..).unwrap_or_default().trim_end();
    cphar_tsa::TrustAnchors::from_pem(root)
        .map_err(|e| anyhow!("the last certificate of the TSA chain is not usable: {e}"))?;
    std::fs::write(&a.out, format!("{root}\n"))
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    println!("TSA root written to {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}
