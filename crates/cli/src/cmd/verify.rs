//! `cphar verify`: the offline verifier. Prints PROTOCOL.md's result object and exits 0 for
//! `valid`, 1 for any other result, 2 when it cannot run.

use crate::io;
use anyhow::{Result, anyhow};
use cphar_crypto::CmacAes128Key;
use cphar_protocol::{ResponseTiming, Timestamp, VerifierPolicy};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::Duration;
use zeroize::Zeroizing;

/// Options of `cphar verify`.
#[derive(clap::Args)]
pub struct Args {
    /// The ChallengeRequest as sent to the seal (JSON file).
    #[arg(long, value_name = "FILE")]
    request: PathBuf,
    /// The seal's ChallengeResponse (JSON file).
    #[arg(long, value_name = "FILE")]
    response: PathBuf,
    /// The object's resolved DID document (JSON file).
    #[arg(long, value_name = "FILE")]
    did_document: PathBuf,
    /// Verification time, RFC 3339 UTC (default: the system clock).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Timestamp skew tolerance in seconds.
    #[arg(long, value_name = "N", default_value_t = 300)]
    skew_seconds: u32,
    /// A trusted Proximity Verifier Service key, as DID=JWK_FILE (repeatable).
    #[arg(long, value_name = "DID=JWK_FILE")]
    pvs_key: Vec<String>,
    /// A profile C (AES-128-CMAC, deprecated) key held by this verifier, as KID=FILE
    /// (repeatable). The file holds 32 hex digits or 16 raw bytes: key bytes never appear on
    /// the command line, where other local users can read them.
    #[arg(long, value_name = "KID=FILE")]
    cmac_key: Vec<String>,
    /// A party whose profile C risk acceptance is honoured, as DID=JWK_FILE (repeatable).
    #[arg(long, value_name = "DID=JWK_FILE")]
    risk_acceptor_key: Vec<String>,
    /// Maximum response time in milliseconds (§4.3.6); needs --sent-at and --received-at.
    #[arg(long, value_name = "MS", requires_all = ["sent_at", "received_at"])]
    max_response_ms: Option<u32>,
    /// When the challenge was transmitted (t0), RFC 3339 UTC.
    #[arg(long, value_name = "RFC3339", requires = "received_at")]
    sent_at: Option<String>,
    /// When the response was received (t1), RFC 3339 UTC.
    #[arg(long, value_name = "RFC3339", requires = "sent_at")]
    received_at: Option<String>,
    /// PUF helper data retrieved for a PID, as URI=FILE (repeatable); its hash is checked.
    #[arg(long, value_name = "URI=FILE")]
    helper_data: Vec<String>,
    /// A supported trust framework profile (repeatable; default: TFP-1 only).
    #[arg(long, value_name = "URN")]
    tfp: Vec<String>,
    /// Permit a BAL downgrade for this documented reason (§4.3.5); reported in the outcome.
    #[arg(long, value_name = "TEXT")]
    downgrade_justification: Option<String>,
    /// BAL-4 device clock drift, in seconds, tolerated past `nextExpectedBy`.
    #[arg(long, value_name = "N", default_value_t = 0)]
    attestation_drift_seconds: u32,
    /// BAL-4 maximum attestation interval, in seconds, for methods that publish none
    /// (`cpharMaxAttestationIntervalSeconds` in the DID document wins).
    #[arg(long, value_name = "N", default_value_t = 3600,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_attestation_interval_seconds: u32,
}

fn policy_from(args: &Args) -> Result<VerifierPolicy> {
    let mut policy = VerifierPolicy {
        skew: Duration::seconds(i64::from(args.skew_seconds)),
        attestation_drift: Duration::seconds(i64::from(args.attestation_drift_seconds)),
        max_attestation_interval: Duration::seconds(i64::from(
            args.max_attestation_interval_seconds,
        )),
        downgrade_justification: args.downgrade_justification.clone(),
        max_response_time: args
            .max_response_ms
            .map(|ms| Duration::milliseconds(i64::from(ms))),
        ..VerifierPolicy::default()
    };
    if !args.tfp.is_empty() {
        policy.supported_tfps = args.tfp.clone();
    }
    for a in &args.pvs_key {
        let (did, file) = io::split_assignment(a, "--pvs-key")?;
        policy
            .pvs_keys
            .insert(did.to_owned(), io::read_public_jwk(file.as_ref())?);
    }
    for a in &args.risk_acceptor_key {
        let (did, file) = io::split_assignment(a, "--risk-acceptor-key")?;
        policy
            .risk_acceptors
            .insert(did.to_owned(), io::read_public_jwk(file.as_ref())?);
    }
    for a in &args.cmac_key {
        let (kid, file) = io::split_assignment(a, "--cmac-key")?;
        policy
            .cmac_keys
            .insert(kid.to_owned(), read_cmac_key(kid, file.as_ref())?);
    }
    for a in &args.helper_data {
        let (uri, file) = io::split_assignment(a, "--helper-data")?;
        policy
            .helper_data
            .insert(uri.to_owned(), io::read_file(file.as_ref())?);
    }
    Ok(policy)
}

/// Reads a profile C key file: 16 raw bytes, or 32 hex digits (surrounding whitespace
/// ignored). Every copy of the key bytes is zeroized; errors never echo the file's content.
fn read_cmac_key(kid: &str, path: &Path) -> Result<CmacAes128Key> {
    let contents = Zeroizing::new(io::read_file(path)?);
    let bad = || {
        anyhow!(
            "--cmac-key {kid}: {} holds neither 16 raw bytes nor 32 hex digits",
            path.display()
        )
    };
    let key: Zeroizing<Vec<u8>> = if contents.len() == 16 {
        contents.clone()
    } else {
        let text = std::str::from_utf8(&contents).map_err(|_| bad())?.trim();
        if text.len() != 32 {
            return Err(bad());
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(16));
        for pair in text.as_bytes().chunks(2) {
            let digits = std::str::from_utf8(pair).map_err(|_| bad())?;
            bytes.push(u8::from_str_radix(digits, 16).map_err(|_| bad())?);
        }
        bytes
    };
    CmacAes128Key::from_slice(&key).map_err(|e| anyhow!("--cmac-key {kid}: {e}"))
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode> {
    let policy = policy_from(&args)?;
    let now = match &args.now {
        Some(s) => io::parse_time(s, "--now")?,
        None => Timestamp::now_utc(),
    };
    let timing = match (&args.sent_at, &args.received_at) {
        (Some(s), Some(r)) => Some(ResponseTiming {
            sent: io::parse_time(s, "--sent-at")?,
            received: io::parse_time(r, "--received-at")?,
        }),
        _ => None,
    };
    let request = io::read_file(&args.request)?;
    let response = io::read_file(&args.response)?;
    let document = io::read_file(&args.did_document)?;
    let outcome = cphar_protocol::verify_json(&request, &response, &document, &policy, now, timing);
    println!("{}", outcome.to_result_json());
    if let Some(why) = &outcome.explanation {
        eprintln!("cphar verify: {}: {why}", outcome.result);
    }
    if let Some(d) = &outcome.downgrade {
        eprintln!(
            "cphar verify: BAL downgrade {} -> {} permitted: {}",
            d.available, d.used, d.justification
        );
    }
    Ok(if outcome.result.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
