//! `cphar puf`: simulated PUF devices (development only). `characterize` measures the
//! statistics a PUF Interface Descriptor publishes; `enroll` makes one device file for
//! `cphar seal respond|serve --puf-device` and prints its public key and PID.

use crate::io;
use anyhow::{Context, Result, bail};
use cphar_puf::characterize::{self, Characterization, Config, Histogram, Summary};
use cphar_puf::{FuzzyExtractor, PufDevice, pid};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Devices a PID's statistics must come from (seed 002 conformance C-07).
const MIN_PID_DEVICES: u64 = 1000;

/// Simulated PUF operations.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Measure inter- and intra-device Hamming distances and the key re-derivation failure
    /// rate over simulated SRAM PUF devices (a model, not silicon).
    Characterize(CharacterizeArgs),
    /// DEVELOPMENT ONLY: manufacture and enroll a simulated PUF device; writes the device file
    /// and its helper data, prints the public JWK and the PID.
    Enroll(EnrollArgs),
}

/// Options of `cphar puf characterize`.
#[derive(clap::Args)]
pub struct CharacterizeArgs {
    /// Simulated devices (a PID needs ≥ 1,000: seed 002 C-07).
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    /// Fresh reads (key re-derivations) per device.
    #[arg(long, default_value_t = 100)]
    reads: usize,
    /// Seed of the run (the same seed gives the same figures).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Mean per-cell flip probability of the simulated devices.
    #[arg(long, value_name = "P", default_value_t = cphar_puf::sram::DEFAULT_MEAN_FLIP)]
    mean_flip: f64,
    /// Print JSON (the input of `cphar puf enroll --statistics`).
    #[arg(long)]
    json: bool,
}

/// Options of `cphar puf enroll`.
#[derive(clap::Args)]
pub struct EnrollArgs {
    /// Where to write the device file (secret: it holds the simulated silicon; mode 0600).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Where to write the helper data (public; serve it at --helper-data-uri).
    #[arg(long, value_name = "FILE")]
    helper_data_out: PathBuf,
    /// The URI the helper data is published at (the PID's `helperData.uri`).
    #[arg(long, value_name = "URI")]
    helper_data_uri: String,
    /// Measured statistics: the output of `cphar puf characterize --json`.
    #[arg(long, value_name = "FILE")]
    statistics: PathBuf,
    /// Mean per-cell flip probability of this device.
    #[arg(long, value_name = "P", default_value_t = cphar_puf::sram::DEFAULT_MEAN_FLIP)]
    mean_flip: f64,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Characterize(args) => characterize(&args),
        Command::Enroll(args) => enroll(&args),
    }
}

fn check_mean_flip(p: f64) -> Result<()> {
    if !(0.0..=0.5).contains(&p) {
        bail!("--mean-flip must be between 0 and 0.5, not {p}");
    }
    Ok(())
}

fn characterize(args: &CharacterizeArgs) -> Result<ExitCode> {
    check_mean_flip(args.mean_flip)?;
    if args.devices < 2 || args.reads == 0 {
        bail!("--devices must be at least 2 and --reads at least 1");
    }
    let result = characterize::run(Config {
        devices: args.devices,
        reads: args.reads,
        mean_flip: args.mean_flip,
        seed: args.seed,
    })
    .context("characterization failed")?;
    if args.json {
        println!("{}", result.to_json());
    } else {
        print!("{}", report(&result));
    }
    Ok(ExitCode::SUCCESS)
}

fn summary_line(name: &str, what: &str, s: &Summary) -> String {
    format!(
        "{name} ({} {what}): mean {:.4}  sd {:.4}  min {:.4}  max {:.4}\n",
        s.count, s.mean, s.stddev, s.min, s.max
    )
}

fn histogram(title: &str, h: &Histogram) -> String {
    const WIDTH: u64 = 50;
    let mut out = format!("\n{title}\n");
    let max = h.counts.iter().copied().max().unwrap_or(0).max(1);
    for (i, &count) in h.counts.iter().enumerate() {
        let bar = usize::try_from(count * WIDTH / max).unwrap_or(0);
        let bar = if count > 0 { bar.max(1) } else { 0 };
        out.push_str(&format!(
            "  {:.4}-{:.4} |{:<50} {count}\n",
            h.edge(i),
            h.edge(i + 1),
            "#".repeat(bar)
        ));
    }
    out
}

/// The text report: figures, then both histograms.
fn report(c: &Characterization) -> String {
    let (n, k, t) = c.code;
    let mut out = String::new();
    out.push_str("Simulated SRAM PUF characterization (development only: a model, not silicon)\n");
    out.push_str(&format!(
        "devices {}, cells {n}, fresh reads per device {}, mean cell flip probability {}, seed {}\n",
        c.config.devices, c.config.reads, c.config.mean_flip, c.config.seed
    ));
    out.push_str(&format!(
        "fuzzy extractor: code-offset BCH({n}, {k}, {t}), key check, HKDF-SHA-256 -> Ed25519 seed\n\n"
    ));
    out.push_str(&summary_line("inter-device HD", "pairs", &c.inter));
    out.push_str(&summary_line("intra-device HD", "reads", &c.intra));
    let bound = if c.failures() == 0 && c.attempts > 0 {
        // The rule of three: no failure in N trials bounds the rate below 3/N at 95 %.
        format!(" (< {:.1e} at 95 % confidence)", 3.0 / c.attempts as f64)
    } else {
        String::new()
    };
    out.push_str(&format!(
        "key re-derivation: {} failures / {} attempts = {:.3e}{bound}\n",
        c.failures(),
        c.attempts,
        c.failure_rate()
    ));
    out.push_str(&format!(
        "  uncorrectable {}, refused by the key check {}, wrong key {}\n",
        c.uncorrectable, c.key_check_failures, c.wrong_keys
    ));
    out.push_str(&format!(
        "  model-predicted P(errors > t): mean {:.2e} per read, worst device {:.2e}\n",
        c.predicted_failure_rate, c.predicted_failure_rate_max
    ));
    out.push_str(&histogram("inter-device HD histogram", &c.inter_histogram));
    out.push_str(&histogram("intra-device HD histogram", &c.intra_histogram));
    out
}

fn enroll(args: &EnrollArgs) -> Result<ExitCode> {
    check_mean_flip(args.mean_flip)?;
    let statistics: serde_json::Value =
        serde_json::from_slice(&io::read_file(&args.statistics)?)
            .with_context(|| format!("{} is not JSON", args.statistics.display()))?;
    let devices = statistics
        .pointer("/pufStatistics/sampleSize")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if devices < MIN_PID_DEVICES {
        eprintln!(
            "cphar: warning: statistics from {devices} devices; a published PID needs at least \
             {MIN_PID_DEVICES} (seed 002 C-07)"
        );
    }
    let extractor = FuzzyExtractor::new().context("BCH code set-up failed")?;
    // The device seed stands for the silicon; the enrollment randomness (codeword, salt)
    // comes from a ChaCha stream keyed by the OS CSPRNG.
    let seed = cphar_crypto::random_bytes::<32>().context("no randomness")?;
    let mut rng = StdRng::from_seed(cphar_crypto::random_bytes::<32>().context("no randomness")?);
    let (device, public) = PufDevice::enroll(seed, args.mean_flip, &extractor, &mut rng)
        .context("enrollment failed")?;
    let pid = pid::build(
        device.helper_data(),
        &args.helper_data_uri,
        &extractor,
        &statistics,
    )
    .with_context(|| format!("no PID from {}", args.statistics.display()))?;
    io::write_secret_file(&args.out, device.to_json().as_bytes(), args.force)?;
    io::write_secret_file(
        &args.helper_data_out,
        &device.helper_data().to_bytes(),
        args.force,
    )?;
    println!(
        "{}",
        json!({"publicKeyJwk": public.to_jwk().to_json(), "pid": pid})
    );
    Ok(ExitCode::SUCCESS)
}
