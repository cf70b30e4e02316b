//! `cphar seal`: a software seal.

use crate::io;
use anyhow::{Context, Result};
use cphar_crypto::SigningKey;
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{Bal, ChallengeRequest, DeviceStatus, Timestamp};
use std::path::PathBuf;
use std::process::ExitCode;

/// Seal operations.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Answer a ChallengeRequest: prints a ChallengeResponse signed over JCS(request as given).
    Respond(RespondArgs),
}

/// Options of `cphar seal respond`.
#[derive(clap::Args)]
pub struct RespondArgs {
    /// The seal's private key (from `cphar keygen`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The ChallengeRequest (JSON file).
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    /// The binding method id this key is registered under (default: `<did>#seal-1`).
    #[arg(long, value_name = "ID")]
    binding_method: Option<String>,
    /// The BAL the seal reports.
    #[arg(long, value_name = "BAL-n", default_value = "BAL-2")]
    bal: Bal,
    /// The device status to report.
    #[arg(long, value_name = "STATUS", default_value = "operational")]
    status: DeviceStatus,
    /// The device clock reading, RFC 3339 UTC (default: the system clock).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    let Command::Respond(args) = command;
    let pem = io::read_file(&args.key)?;
    let pem = std::str::from_utf8(&pem)
        .with_context(|| format!("{} is not a PEM key file", args.key.display()))?;
    let key = SigningKey::from_pkcs8_pem(pem)
        .with_context(|| format!("{} is not a usable private key", args.key.display()))?;
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
    let mut seal = SoftwareSeal::new(key, method, args.bal);
    seal.set_status(args.status);
    let response = seal
        .respond(&request, now)
        .context("the seal could not answer")?;
    println!("{}", response.raw());
    Ok(ExitCode::SUCCESS)
}
