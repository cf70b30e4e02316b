//! `cphar bench report`: a signed reserve report over N synthetic lots, beside the bare
//! SHA-256 Merkle computation (RFC 9162 root) over the same leaf bytes, in the same run.
//!
//! Three passes over the same deterministic leaves, each generated on the fly (nothing holds
//! the N leaves; memory stays at the O(log n) frontiers, reported as peak RSS):
//!
//! 1. **generate**: make each lot record and its JCS bytes, hash nothing (the common floor);
//! 2. **bare**: the same, plus the RFC 9162 tree over the bytes (`cphar-tlog`'s compact range);
//! 3. **report**: `build_report` on the same records: leaf validation and exact quantities, the
//!    JCS bytes, the sum tree with per-(commodity, unit) sums, the RFC 9162 tree, totals, the
//!    signature.
//!
//! Times are this thread's CPU time (and wall-clock beside it); the ratio report / bare is
//! printed as measured and net of the common generation floor.

use anyhow::{Result, anyhow};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::Timestamp;
use cphar_report::{LastAttestation, LotLeaf, PolicyRef, Snapshot, build_report};
use cphar_tlog::CompactRange;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Options of `cphar bench report`.
#[derive(clap::Args)]
pub struct Args {
    /// Lots in the report.
    #[arg(long, default_value_t = 10_000_000)]
    lots: u64,
}

const COMMODITIES: [(&str, &str, &str); 4] = [
    ("gold", "kg", "LBMA good delivery"),
    ("silver", "kg", "LBMA good delivery"),
    ("wheat", "t", "milling grade 2"),
    ("copper", "t", "LME grade A"),
];

/// Lot `i` (ids sort as `i` does).
fn lot(i: u64) -> LotLeaf {
    let [a, b, c, d] = COMMODITIES;
    let (commodity, unit, grade) = match i % 4 {
        0 => a,
        1 => b,
        2 => c,
        _ => d,
    };
    let mixed = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    LotLeaf {
        lot_id: format!("LOT-{i:012}"),
        commodity: commodity.to_owned(),
        grade: grade.to_owned(),
        quantity: format!("{}.{:03}", 1 + mixed % 1000, i % 1000),
        unit: unit.to_owned(),
        seal_uid: format!("SEAL-{i:012}"),
        did_version_id: 1 + i % 3,
        did_document_hash: format!("sha256:{:064x}", u128::from(mixed) << 17),
        last_attestation: Some(LastAttestation {
            at: "2026-12-01T10:00:00Z".to_owned(),
            hash: format!("sha256:{:064x}", u128::from(mixed) << 29),
        }),
    }
}

/// CPU time of this thread so far (`/proc/thread-self/schedstat`, nanoseconds): on a shared,
/// loaded machine wall-clock time measures the neighbours as much as the work.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Wall-clock and CPU time since a start.
struct Clock {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Clock {
    fn start() -> Self {
        Clock {
            wall: Instant::now(),
            cpu: cpu_time(),
        }
    }

    /// (wall, CPU or wall when the CPU clock is unavailable).
    fn elapsed(&self) -> (Duration, Duration) {
        let wall = self.wall.elapsed();
        let cpu = match (self.cpu, cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => wall,
        };
        (wall, cpu)
    }
}

/// Peak resident set size (VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what:<9} {{bar:40}} {{pos}}/{{len}} lots {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Ticks the bar every 2^16 lots (a per-lot tick would be measurable).
fn tick(bar: &ProgressBar, i: u64) {
    if i & 0xffff == 0 {
        bar.set_position(i);
    }
}

/// Runs the benchmark.
pub fn run(args: Args) -> Result<ExitCode> {
    let n = args.lots;
    println!("cphar bench report — {n} lots, one thread, leaves generated on the fly");

    let bar = progress(n, "generate");
    let start = Clock::start();
    let mut buf = Vec::with_capacity(512);
    for i in 0..n {
        tick(&bar, i);
        buf.clear();
        lot(i).write_jcs(&mut buf);
        black_box(&buf);
    }
    let generate = start.elapsed();
    bar.finish_and_clear();

    let bar = progress(n, "bare");
    let start = Clock::start();
    let mut tree = CompactRange::new();
    for i in 0..n {
        tick(&bar, i);
        buf.clear();
        lot(i).write_jcs(&mut buf);
        tree.append(&buf).map_err(|e| anyhow!("{e}"))?;
    }
    let bare_root = tree.root();
    let bare = start.elapsed();
    bar.finish_and_clear();

    let key = SigningKey::generate(Algorithm::Ed25519)?;
    let bar = progress(n, "report");
    let start = Clock::start();
    let leaves = (0..n).map(|i| {
        tick(&bar, i);
        lot(i)
    });
    let snapshot = Snapshot {
        leaves,
        lot_counts_by_state: BTreeMap::from([("bound".to_owned(), n)]),
        policy: PolicyRef {
            id: "bench".into(),
            version: 1,
        },
        departed: Vec::new(),
        timestamp_grace: time::Duration::minutes(10),
    };
    let report = build_report(snapshot, None, &key, Timestamp::now_utc())
        .map_err(|e| anyhow!("{e} ({})", e.code()))?;
    let full = start.elapsed();
    bar.finish_and_clear();

    if report.rfc9162_root != cphar_crypto::hex(&bare_root) {
        return Err(anyhow!(
            "the report's RFC 9162 root differs from the bare one"
        ));
    }
    let line = |what: &str, (wall, cpu): (Duration, Duration)| {
        println!(
            "{what:<44} {:>9.3} s CPU {:>9.3} s wall",
            cpu.as_secs_f64(),
            wall.as_secs_f64()
        );
    };
    line("generate lots + JCS (common floor)", generate);
    line("bare: + RFC 9162 SHA-256 Merkle root", bare);
    line("report: + sum tree, totals, both roots, sign", full);
    let (g, b, r) = (generate.1, bare.1, full.1);
    let ratio = |x: Duration, y: Duration| {
        if y.is_zero() {
            "n/a".to_owned()
        } else {
            format!("{:.2}x", x.as_secs_f64() / y.as_secs_f64())
        }
    };
    let floor_note = if b > g {
        format!(
            "{} net of the generation floor",
            ratio(r.saturating_sub(g), b - g)
        )
    } else {
        "net ratio n/a (bare not above the floor: noise)".to_owned()
    };
    println!(
        "ratio report / bare (CPU): {} as measured, {floor_note} (goal ≤ 2x)",
        ratio(r, b)
    );
    for t in &report.totals {
        println!(
            "  total {} {} = {} in {} lots",
            t.commodity, t.unit, t.quantity, t.lots
        );
    }
    println!(
        "sumRoot {}  rfc9162Root {}",
        report.sum_root, report.rfc9162_root
    );
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS: unavailable (/proc/self/status)"),
    }
    Ok(ExitCode::SUCCESS)
}
