//! `cphar client …`: a few calls to a running `cphar serve` over its HTTP API, so a first
//! installation can be driven from the shell (plain `http://` only; for anything more, the
//! API is described at `/openapi.json`).
//!
//! * `token`: an admin makes an API token for a role (written 0600, never printed);
//! * `attest`: a verifier challenges a lot through the server, has a software seal key (from
//!   `cphar keygen`) answer, and submits the answer — the server verifies it and, when valid,
//!   the seal becomes Attested;
//! * `tsa-root`: the root of the server's TSA chain, for `cphar ts verify --ca`;
//! * `report publish | get | proof`: reserve reports — publish one (operator, admin), download
//!   a report with the report key and (auditor, admin) its leaves, or a lot's proof, as the
//!   files `cphar report verify` checks offline.

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
    /// Reserve reports: publish, download, prove (files for `cphar report verify`).
    #[command(subcommand)]
    Report(ReportCommand),
}

/// `cphar client report …`.
#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Publish the next report now (`POST /reports`, operator or admin token); writes it,
    /// byte for byte as published, to `--out`.
    Publish(ReportPublishArgs),
    /// Download a report exactly as published (`GET /reports/{n}`), the report key
    /// (`GET /reports/key`, a JWK for `--report-key`) and, with an auditor or admin token,
    /// its leaves as JSON Lines (for `--leaves`).
    Get(ReportGetArgs),
    /// Download the inclusion or non-inclusion proof of a lot in a report
    /// (`GET /reports/{n}/proof?lot=`, for `--proof`).
    Proof(ReportProofArgs),
}

/// Options of `cphar client report publish`.
#[derive(clap::Args)]
pub struct ReportPublishArgs {
    #[command(flatten)]
    server: Server,
    /// A file holding an operator or admin token.
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// Where to write the report.
    #[arg(long, value_name = "FILE", default_value = "report.json")]
    out: PathBuf,
}

/// Options of `cphar client report get`.
#[derive(clap::Args)]
pub struct ReportGetArgs {
    #[command(flatten)]
    server: Server,
    /// The report number, or `latest`.
    #[arg(default_value = "latest")]
    number: String,
    /// Where to write the report.
    #[arg(long, value_name = "FILE", default_value = "report.json")]
    out: PathBuf,
    /// Where to write the report key (public JWK).
    #[arg(long, value_name = "FILE", default_value = "report.jwk")]
    key_out: PathBuf,
    /// Also download the report's leaves to this file (JSON Lines; needs --token-file).
    #[arg(long, value_name = "FILE", requires = "token_file")]
    leaves_out: Option<PathBuf>,
    /// A file holding an auditor or admin token (for --leaves-out).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

/// Options of `cphar client report proof`.
#[derive(clap::Args)]
pub struct ReportProofArgs {
    #[command(flatten)]
    server: Server,
    /// The report number.
    #[arg(long)]
    report: u64,
    /// The lot.
    #[arg(long)]
    lot: String,
    /// A file holding an auditor or admin token (or the operator's who bound the lot).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// Where to write the proof.
    #[arg(long, value_name = "FILE", default_value = "proof.json")]
    out: PathBuf,
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
            Command::Report(ReportCommand::Publish(a)) => report_publish(a).await,
            Command::Report(ReportCommand::Get(a)) => report_get(a).await,
            Command::Report(ReportCommand::Proof(a)) => report_proof(a).await,
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

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

async fn report_publish(a: ReportPublishArgs) -> Result<ExitCode> {
    let token = read_token(&a.token_file)?;
    let answer = client(&a.server)?
        .post("/reports", &token, &json!({}))
        .await?;
    if answer.status != 201 {
        return Err(refused(
            "the server did not publish a report",
            answer.status,
            &answer.body,
        ));
    }
    write_file(&a.out, &answer.bytes)?;
    let number = answer.body.get("reportNumber").and_then(Value::as_u64);
    println!(
        "report {} written to {}",
        number.map_or_else(|| "?".to_owned(), |n| n.to_string()),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn report_get(a: ReportGetArgs) -> Result<ExitCode> {
    let client = client(&a.server)?;
    let path = if a.number == "latest" {
        "/reports/latest".to_owned()
    } else {
        let n: u64 = a
            .number
            .parse()
            .map_err(|_| anyhow!("the report number must be 1, 2, 3… or latest"))?;
        format!("/reports/{n}")
    };
    let answer = client.get(&path, None).await?;
    if answer.status != 200 {
        return Err(refused("the server refused", answer.status, &answer.body));
    }
    write_file(&a.out, &answer.bytes)?;
    let number = answer
        .body
        .get("reportNumber")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("the answer is not a report"))?;
    let key = client.get("/reports/key", None).await?;
    if key.status != 200 {
        return Err(refused("the server refused", key.status, &key.body));
    }
    let jwk = key
        .body
        .get("publicKeyJwk")
        .ok_or_else(|| anyhow!("the server's report key has no publicKeyJwk"))?;
    write_file(&a.key_out, format!("{jwk}\n").as_bytes())?;
    println!(
        "report {number} written to {}, report key to {}",
        a.out.display(),
        a.key_out.display()
    );
    if let (Some(out), Some(token_file)) = (&a.leaves_out, &a.token_file) {
        let token = read_token(token_file)?;
        let mut lines = Vec::new();
        let mut after: Option<String> = None;
        let mut count = 0u64;
        loop {
            let page = match &after {
                None => format!("/reports/{number}/leaves?limit=10000"),
                Some(id) => format!("/reports/{number}/leaves?limit=10000&after={id}"),
            };
            let answer = client.get(&page, Some(&token)).await?;
            if answer.status != 200 {
                return Err(refused(
                    "the server refused the leaves",
                    answer.status,
                    &answer.body,
                ));
            }
            let leaves = answer
                .body
                .as_array()
                .ok_or_else(|| anyhow!("the leaves are not a JSON array"))?;
            for leaf in leaves {
                // The leaves are served as JCS: canonicalizing again gives the same bytes.
                lines.extend(cphar_jcs::canonicalize(leaf).context("a leaf is not I-JSON")?);
                lines.push(b'\n');
                after = leaf.get("lotId").and_then(Value::as_str).map(str::to_owned);
                count += 1;
            }
            if leaves.len() < 10_000 {
                break;
            }
        }
        write_file(out, &lines)?;
        println!("{count} leaves written to {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn report_proof(a: ReportProofArgs) -> Result<ExitCode> {
    let token = read_token(&a.token_file)?;
    cphar_registry::ident::check_lot_id(&a.lot).map_err(|e| anyhow!("--lot: {e}"))?;
    let answer = client(&a.server)?
        .get(
            &format!("/reports/{}/proof?lot={}", a.report, a.lot),
            Some(&token),
        )
        .await?;
    if answer.status != 200 {
        return Err(refused(
            "the server refused the proof",
            answer.status,
            &answer.body,
        ));
    }
    write_file(&a.out, &answer.bytes)?;
    println!(
        "{} proof of {} in report {} written to {}",
        answer
            .body
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        a.lot,
        a.report,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
