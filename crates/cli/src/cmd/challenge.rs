//! `cphar challenge`: issue a ChallengeRequest (seed 002 §4.3.1) with a 32-byte CSPRNG nonce.

use anyhow::{Context, Result, bail};
use cphar_protocol::{Bal, ChallengeParams, ChallengeRequest, Timestamp, is_did};
use std::process::ExitCode;

/// Options of `cphar challenge`.
#[derive(clap::Args)]
pub struct Args {
    /// The object DID to challenge.
    #[arg(long, value_name = "DID")]
    did: String,
    /// The verifier's DID.
    #[arg(long, value_name = "DID")]
    verifier: String,
    /// Pin the DID document version that was resolved.
    #[arg(long, value_name = "VERSION")]
    did_version: Option<String>,
    /// Minimum acceptable BAL (BAL-1 … BAL-4).
    #[arg(long, value_name = "BAL-n")]
    min_bal: Option<Bal>,
    /// Request PBAC (Appendix C).
    #[arg(long)]
    request_pbac: bool,
    /// Challenge time, RFC 3339 UTC (default: the system clock).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode> {
    for (name, did) in [("--did", &args.did), ("--verifier", &args.verifier)] {
        if !is_did(did) {
            bail!("{name}: '{did}' is not a DID");
        }
    }
    let timestamp = match &args.now {
        Some(s) => crate::io::parse_time(s, "--now")?,
        None => Timestamp::now_utc(),
    };
    let nonce = cphar_crypto::random_bytes::<32>().context("CSPRNG failure")?;
    let request = ChallengeRequest::issue(ChallengeParams {
        did: args.did,
        did_version: args.did_version,
        nonce: nonce.to_vec(),
        timestamp,
        verifier: args.verifier,
        min_bal: args.min_bal,
        request_pbac: args.request_pbac.then_some(true),
    })
    .context("cannot build the challenge")?;
    println!("{}", request.raw());
    Ok(ExitCode::SUCCESS)
}
