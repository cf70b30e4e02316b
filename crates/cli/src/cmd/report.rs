//! `cphar report …`: reserve reports offline.
//!
//! `verify` checks a published report with public keys alone (signature, RFC 3161 token,
//! leaves, a proof, the previous report) and prints one JSON object: exit 0 valid, 1 invalid
//! (with the reason code of the first failed check), 2 when it cannot run. `dev-build` and
//! `dev-prove` make reports and proofs from a leaves file for development and tests only: the
//! registry builds real reports from one consistent snapshot of its database.

use crate::io;
use anyhow::{Context, Result, anyhow, bail};
use cphar_crypto::SigningKey;
use cphar_protocol::Timestamp;
use cphar_report::{
    Departure, LotLeaf, PolicyRef, Proof, ProofOutcome, Report, Snapshot, SumTree, VerifiedReport,
    VerifyError, VerifyOptions, build_report, parse_leaf, timestamp_imprint, verify_departures,
    verify_leaves, verify_proof, verify_report, verify_succession,
};
use cphar_tsa::{
    HashAlg, MessageImprint, Oid, TrustAnchors, TsaConfig, TsaSigner, UnixTime, certs_from_pem,
    make_request, parse_response,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Reserve report operations.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify a report offline; prints {"result", "reason", "detail", "reportNumber", "checks"}.
    Verify(VerifyArgs),
    /// DEVELOPMENT/TEST ONLY: build and sign a report from a leaves file (JSON Lines).
    DevBuild(DevBuildArgs),
    /// DEVELOPMENT/TEST ONLY: write the inclusion or non-inclusion proof of a lot.
    DevProve(DevProveArgs),
}

/// Options of `cphar report verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The report (JSON).
    #[arg(value_name = "REPORT")]
    report: PathBuf,
    /// An inclusion or non-inclusion proof to check against the report.
    #[arg(long, value_name = "FILE")]
    proof: Option<PathBuf>,
    /// With --proof: the lot the proof must be about.
    #[arg(long, value_name = "LOT_ID", requires = "proof")]
    lot: Option<String>,
    /// Every leaf (JSON Lines, lot-id order): totals and both roots are recomputed.
    #[arg(long, value_name = "FILE")]
    leaves: Option<PathBuf>,
    /// The previous report: verified too, and this one must follow it.
    #[arg(long, value_name = "REPORT")]
    previous: Option<PathBuf>,
    /// The previous report's leaves (with --previous and --leaves): the departed lots must be
    /// exactly those that left.
    #[arg(long, value_name = "FILE", requires_all = ["previous", "leaves"])]
    previous_leaves: Option<PathBuf>,
    /// The report key's public JWK.
    #[arg(long, value_name = "JWK")]
    report_key: PathBuf,
    /// TSA root certificate(s), PEM; without it the timestamp token is NOT checked.
    #[arg(long, value_name = "PEM")]
    tsa_ca: Option<PathBuf>,
    /// Verification time for the TSA certificate path (RFC 3339; default: the system clock).
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

/// Options of `cphar report dev-build`.
#[derive(clap::Args)]
pub struct DevBuildArgs {
    /// Leaves, JSON Lines, sorted by lot id.
    #[arg(long, value_name = "FILE")]
    leaves: PathBuf,
    /// Report signing key, PKCS#8 PEM (Ed25519 or ECDSA P-384).
    #[arg(long, value_name = "PEM")]
    key: PathBuf,
    /// The previous report (its signature is checked with the same key).
    #[arg(long, value_name = "REPORT")]
    previous: Option<PathBuf>,
    /// Lots that left since the previous report: a JSON array of {"lotId", "reason", "at"}.
    #[arg(long, value_name = "FILE")]
    departed: Option<PathBuf>,
    /// Policy id.
    #[arg(long, default_value = "dev-policy")]
    policy_id: String,
    /// Policy version.
    #[arg(long, default_value_t = 1)]
    policy_version: u64,
    /// Lot counts by state, `STATE=COUNT` (repeatable).
    #[arg(long, value_name = "STATE=COUNT")]
    state: Vec<String>,
    /// TSA private key (PKCS#8 PEM) to time-stamp the report with; needs --tsa-cert.
    #[arg(long, value_name = "PEM", requires = "tsa_cert")]
    tsa_key: Option<PathBuf>,
    /// TSA certificate (PEM).
    #[arg(long, value_name = "PEM", requires = "tsa_key")]
    tsa_cert: Option<PathBuf>,
    /// Snapshot time (RFC 3339; default: the system clock); also the timestamp's genTime.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Seconds after generatedAt within which the timestamp must be made.
    #[arg(long, default_value_t = 600)]
    grace_seconds: u32,
    /// Where to write the report.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Options of `cphar report dev-prove`.
#[derive(clap::Args)]
pub struct DevProveArgs {
    /// Leaves, JSON Lines, sorted by lot id (the report's).
    #[arg(long, value_name = "FILE")]
    leaves: PathBuf,
    /// The report (for its number).
    #[arg(long, value_name = "REPORT")]
    report: PathBuf,
    /// The lot.
    #[arg(long, value_name = "LOT_ID")]
    lot: String,
    /// Where to write the proof.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Verify(args) => verify(&args),
        Command::DevBuild(args) => dev_build(&args),
        Command::DevProve(args) => dev_prove(&args),
    }
}

/// A leaves file read line by line (it may hold millions of lots); the first unreadable or
/// invalid line stops it and is kept in `error`.
struct LeafLines {
    lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
    index: u64,
    error: Option<LeafLineError>,
}

enum LeafLineError {
    Io(std::io::Error),
    Invalid(VerifyError),
}

impl LeafLines {
    fn open(path: &Path) -> Result<Self> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(LeafLines {
            lines: std::io::BufReader::new(file).lines(),
            index: 0,
            error: None,
        })
    }
}

impl Iterator for LeafLines {
    type Item = LotLeaf;
    fn next(&mut self) -> Option<LotLeaf> {
        if self.error.is_some() {
            return None;
        }
        match self.lines.next()? {
            Err(e) => {
                self.error = Some(LeafLineError::Io(e));
                None
            }
            Ok(line) => match parse_leaf(line.as_bytes(), self.index) {
                Ok(leaf) => {
                    self.index += 1;
                    Some(leaf)
                }
                Err(e) => {
                    self.error = Some(LeafLineError::Invalid(e));
                    None
                }
            },
        }
    }
}

fn read_leaves(path: &Path) -> Result<Vec<LotLeaf>> {
    let mut lines = LeafLines::open(path)?;
    let leaves: Vec<LotLeaf> = lines.by_ref().collect();
    match lines.error {
        None => Ok(leaves),
        Some(LeafLineError::Io(e)) => Err(anyhow!("cannot read {}: {e}", path.display())),
        Some(LeafLineError::Invalid(e)) => Err(anyhow!("{}: {e}", path.display())),
    }
}

fn previous_leaves_error(e: LeafLineError) -> Result<VerifyError> {
    match e {
        LeafLineError::Io(e) => Err(anyhow!("cannot read the previous leaves file: {e}")),
        LeafLineError::Invalid(e) => Ok(VerifyError {
            reason: cphar_report::Reason::PreviousInvalid,
            detail: format!("the previous report's leaves: {e}"),
        }),
    }
}

fn verification_time(now: Option<&str>) -> Result<UnixTime> {
    match now {
        None => UnixTime::from_system_time(std::time::SystemTime::now())
            .ok_or_else(|| anyhow!("the system clock is out of range")),
        Some(text) => {
            let t = io::parse_time(text, "--now")?;
            let secs = u64::try_from(t.unix_seconds()).context("--now is before 1970")?;
            UnixTime::from_secs(secs).ok_or_else(|| anyhow!("--now is out of range"))
        }
    }
}

fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let key = io::read_public_jwk(&args.report_key)?;
    let anchors = match &args.tsa_ca {
        None => None,
        Some(path) => {
            let text = String::from_utf8(io::read_file(path)?)
                .with_context(|| format!("{} is not PEM text", path.display()))?;
            Some(
                TrustAnchors::from_pem(&text)
                    .with_context(|| format!("{} holds no usable root", path.display()))?,
            )
        }
    };
    let options = VerifyOptions {
        report_key: &key,
        tsa_roots: anchors.as_ref(),
        now: verification_time(args.now.as_deref())?,
    };
    let report_bytes = io::read_file(&args.report)?;
    let previous_bytes = args.previous.as_deref().map(io::read_file).transpose()?;
    let proof_bytes = args.proof.as_deref().map(io::read_file).transpose()?;
    let mut leaves = args.leaves.as_deref().map(LeafLines::open).transpose()?;

    let mut checks = serde_json::Map::new();
    let outcome = (|| -> Result<Result<VerifiedReport, VerifyError>> {
        let report = match verify_report(&report_bytes, &options) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        checks.insert("signature".into(), "verified".into());
        let stamped = if report.timestamp().is_some() {
            "verified"
        } else {
            "not_checked"
        };
        checks.insert("timestamp".into(), stamped.into());
        if let Some(lines) = &mut leaves {
            let result = verify_leaves(&report, lines.by_ref());
            match lines.error.take() {
                Some(LeafLineError::Io(e)) => bail!("cannot read the leaves file: {e}"),
                Some(LeafLineError::Invalid(e)) => return Ok(Err(e)),
                None => {}
            }
            if let Err(e) = result {
                return Ok(Err(e));
            }
            checks.insert("leaves".into(), "verified".into());
        }
        if let Some(bytes) = &proof_bytes {
            let outcome = Proof::from_json_bytes(bytes)
                .and_then(|p| verify_proof(&report, &p, args.lot.as_deref()));
            match outcome {
                Ok(ProofOutcome::Included(leaf)) => {
                    checks.insert("proof".into(), json!({"included": leaf.lot_id}));
                }
                Ok(ProofOutcome::Absent(lot)) => {
                    checks.insert("proof".into(), json!({"absent": lot}));
                }
                Err(e) => return Ok(Err(e)),
            }
        }
        if let Some(bytes) = &previous_bytes {
            let previous = match verify_report(bytes, &options) {
                Ok(p) => p,
                Err(e) => {
                    return Ok(Err(VerifyError {
                        reason: cphar_report::Reason::PreviousInvalid,
                        detail: format!("the previous report: {e}"),
                    }));
                }
            };
            if let Err(e) = verify_succession(&previous, &report) {
                return Ok(Err(e));
            }
            checks.insert("previous".into(), "verified".into());
            if let (Some(prev_path), Some(cur_path)) = (&args.previous_leaves, &args.leaves) {
                let mut lines = LeafLines::open(prev_path)?;
                let result = verify_leaves(&previous, lines.by_ref());
                if let Some(e) = lines.error.take() {
                    return Ok(Err(previous_leaves_error(e)?));
                }
                if let Err(e) = result {
                    return Ok(Err(VerifyError {
                        reason: cphar_report::Reason::PreviousInvalid,
                        detail: format!("the previous report's leaves: {e}"),
                    }));
                }
                // Both files verified against their reports: a second streaming pass over
                // their lot ids compares the sets.
                let mut prev = LeafLines::open(prev_path)?;
                let mut cur = LeafLines::open(cur_path)?;
                let result = verify_departures(
                    &report,
                    prev.by_ref().map(|l| l.lot_id),
                    cur.by_ref().map(|l| l.lot_id),
                );
                if prev.error.is_some() || cur.error.is_some() {
                    bail!("a leaves file changed while it was being read");
                }
                if let Err(e) = result {
                    return Ok(Err(e));
                }
                checks.insert("departed".into(), "verified".into());
            }
        }
        Ok(Ok(report))
    })()?;

    let (value, code) = match outcome {
        Ok(report) => (
            json!({
                "result": "valid",
                "reason": null,
                "detail": null,
                "reportNumber": report.report().report_number,
                "checks": Value::Object(checks),
            }),
            ExitCode::SUCCESS,
        ),
        Err(e) => (
            json!({
                "result": "invalid",
                "reason": e.reason.code(),
                "detail": e.detail,
                "reportNumber": null,
                "checks": Value::Object(checks),
            }),
            ExitCode::from(1),
        ),
    };
    println!("{value}");
    Ok(code)
}

fn read_signing_key(path: &Path) -> Result<SigningKey> {
    let text = String::from_utf8(io::read_file(path)?)
        .with_context(|| format!("{} is not PEM text", path.display()))?;
    SigningKey::from_pkcs8_pem(&text)
        .with_context(|| format!("{} is not a usable PKCS#8 key", path.display()))
}

fn dev_build(args: &DevBuildArgs) -> Result<ExitCode> {
    let key = read_signing_key(&args.key)?;
    let now = match &args.now {
        Some(text) => io::parse_time(text, "--now")?,
        None => Timestamp::now_utc(),
    };
    let previous = match &args.previous {
        None => None,
        Some(path) => {
            let options = VerifyOptions {
                report_key: &key.verifying_key(),
                tsa_roots: None,
                now: verification_time(None)?,
            };
            Some(
                verify_report(&io::read_file(path)?, &options)
                    .map_err(|e| anyhow!("{}: {e}", path.display()))?,
            )
        }
    };
    let departed: Vec<Departure> = match &args.departed {
        None => Vec::new(),
        Some(path) => serde_json::from_value(
            cphar_jcs::parse(&io::read_file(path)?)
                .with_context(|| format!("{} is not valid JSON", path.display()))?,
        )
        .with_context(|| format!("{} is not a list of departures", path.display()))?,
    };
    let mut states = BTreeMap::new();
    for s in &args.state {
        let (name, count) = io::split_assignment(s, "--state")?;
        states.insert(
            name.to_owned(),
            count.parse().with_context(|| format!("--state {s}"))?,
        );
    }
    // Streams the leaves: the report holds O(log n) of them at a time.
    let mut lines = LeafLines::open(&args.leaves)?;
    let snapshot = Snapshot {
        leaves: lines.by_ref(),
        lot_counts_by_state: states,
        policy: PolicyRef {
            id: args.policy_id.clone(),
            version: args.policy_version,
        },
        departed,
        timestamp_grace: time::Duration::seconds(i64::from(args.grace_seconds)),
    };
    let built = build_report(snapshot, previous.as_ref(), &key, now);
    match lines.error {
        Some(LeafLineError::Io(e)) => bail!("cannot read {}: {e}", args.leaves.display()),
        Some(LeafLineError::Invalid(e)) => bail!("{}: {e}", args.leaves.display()),
        None => {}
    }
    let mut report = built.map_err(|e| anyhow!("{} ({})", e, e.code()))?;
    if let (Some(tsa_key), Some(tsa_cert)) = (&args.tsa_key, &args.tsa_cert) {
        report = dev_stamp(report, tsa_key, tsa_cert, now)?;
    }
    std::fs::write(&args.out, report.to_jcs())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "{}",
        json!({"reportNumber": report.report_number, "lotCount": report.lot_count, "sumRoot": report.sum_root, "rfc9162Root": report.rfc9162_root})
    );
    Ok(ExitCode::SUCCESS)
}

/// Time-stamps `report` with a local TSA key at `now` (development only: a registry asks its
/// own TSA through its audited path).
fn dev_stamp(report: Report, key: &Path, cert: &Path, now: Timestamp) -> Result<Report> {
    let key_pem = String::from_utf8(io::read_file(key)?).context("TSA key is not PEM text")?;
    let cert_pem = String::from_utf8(io::read_file(cert)?).context("TSA cert is not PEM text")?;
    let chain = certs_from_pem(&cert_pem).context("TSA certificate")?;
    let mut config = TsaConfig::new(chain, Oid::parse("1.3.6.1.4.1.99999.12.1")?);
    config.enforce_monotonic = false;
    let tsa = TsaSigner::from_pkcs8_pem(&key_pem, config).context("TSA key")?;
    let imprint = MessageImprint::from_digest(HashAlg::Sha256, &timestamp_imprint(&report))?;
    let request = make_request(&imprint, None, true, None)?;
    let secs = u64::try_from(now.unix_seconds()).context("time before 1970")?;
    let gen_time = UnixTime::from_secs(secs).ok_or_else(|| anyhow!("time out of range"))?;
    let serial = u128::from(secs);
    let response = parse_response(&tsa.issue(&request, serial, gen_time))?;
    if !response.is_granted() {
        bail!("the TSA refused: {:?}", response.failures);
    }
    let token = response
        .token
        .ok_or_else(|| anyhow!("the TSA answered without a token"))?;
    Ok(report.with_timestamp(&token))
}

fn dev_prove(args: &DevProveArgs) -> Result<ExitCode> {
    let report: Report = serde_json::from_value(
        cphar_jcs::parse(&io::read_file(&args.report)?)
            .with_context(|| format!("{} is not valid JSON", args.report.display()))?,
    )
    .with_context(|| format!("{} is not a report", args.report.display()))?;
    let tree = SumTree::new(read_leaves(&args.leaves)?)
        .map_err(|e| anyhow!("{}: {e}", args.leaves.display()))?;
    let proof = tree
        .prove(report.report_number, &args.lot)
        .map_err(|e| anyhow!("{e}"))?;
    std::fs::write(&args.out, proof.to_json().to_string())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    Ok(ExitCode::SUCCESS)
}
