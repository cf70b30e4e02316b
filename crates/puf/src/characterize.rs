//! Characterization of the simulated PUF over many devices: the figures a PID publishes.
//!
//! - **Inter-device HD**: the fractional Hamming distance between the enrollment references
//!   of every pair of devices (uniqueness; ideal 50 %).
//! - **Intra-device HD**: between each fresh read and its device's enrollment reference
//!   (reliability: what the fuzzy extractor must correct).
//! - **Key re-derivation failure rate**: each fresh read is run through the fuzzy extractor
//!   and the key compared with the enrolled one; failures / attempts. A rate near the 10⁻⁶
//!   target cannot be *observed* in a minute, so the model's prediction is reported beside
//!   it: for each device, the exact probability that a read has more than `t` errors (a
//!   Poisson-binomial tail over the cells' error probabilities), averaged over devices.
//!
//! Deterministic for a given seed: devices, enrollment and reads come from ChaCha streams
//! derived from it.

use crate::extractor::{BCH_T, FuzzyExtractor, PufError};
use crate::sram::{RESPONSE_BITS, Response, SimulatedSram, count_f64};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Simulated devices (≥ 1,000 for a PID, seed 002 C-07).
    pub devices: usize,
    /// Fresh reads per device.
    pub reads: usize,
    /// Mean per-cell flip probability of the devices.
    pub mean_flip: f64,
    /// Seed of the whole run.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            devices: 1000,
            reads: 100,
            mean_flip: crate::sram::DEFAULT_MEAN_FLIP,
            seed: 1,
        }
    }
}

/// Mean, standard deviation, minimum and maximum of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (population).
    pub stddev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Number of values.
    pub count: usize,
}

impl Summary {
    /// The summary of `values` (all zero when empty).
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Summary::default();
        }
        let count = values.len();
        let mean = values.iter().sum::<f64>() / count_f64(count);
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count_f64(count);
        Summary {
            mean,
            stddev: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            count,
        }
    }
}

/// A histogram: `bins` equal-width bins from `low` to `high`.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Lower edge of the first bin.
    pub low: f64,
    /// Upper edge of the last bin.
    pub high: f64,
    /// Counts per bin.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// About `bins` bins spanning the values' range. Values are multiples of `quantum`
    /// (here 1/1023: a distance in bits over the response length), so bin widths are whole
    /// multiples of it: unequal numbers of possible values per bin would draw false dips.
    pub fn of(values: &[f64], bins: usize, quantum: f64) -> Self {
        let s = Summary::of(values);
        let bins = bins.max(1);
        let steps = ((s.max - s.min) / quantum).round() + 1.0;
        let per_bin = (steps / count_f64(bins)).ceil().max(1.0);
        let width = per_bin * quantum;
        // Edges half a quantum below each value, so no value sits on an edge.
        let low = s.min - quantum / 2.0;
        let used = (steps / per_bin).ceil();
        // `used` ≤ `bins`: a small non-negative integer.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let used = (used.max(1.0) as usize).min(bins);
        let mut counts = vec![0u64; used];
        for v in values {
            let pos = ((v - low) / width).floor();
            // Non-negative and finite by construction; clamped into range.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let i = (pos.max(0.0) as usize).min(used - 1);
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
        }
        Histogram {
            low,
            high: low + width * count_f64(used),
            counts,
        }
    }

    /// Lower edge of bin `i`.
    pub fn edge(&self, i: usize) -> f64 {
        self.low + (self.high - self.low) * count_f64(i) / count_f64(self.counts.len().max(1))
    }
}

/// The result of a characterization run.
#[derive(Debug, Clone, PartialEq)]
pub struct Characterization {
    /// What was measured.
    pub config: Config,
    /// Inter-device HD over all pairs of devices.
    pub inter: Summary,
    /// Intra-device HD over all fresh reads.
    pub intra: Summary,
    /// Histogram of the inter-device HDs.
    pub inter_histogram: Histogram,
    /// Histogram of the intra-device HDs.
    pub intra_histogram: Histogram,
    /// Key re-derivations attempted.
    pub attempts: u64,
    /// Reads the decoder refused as uncorrectable.
    pub uncorrectable: u64,
    /// Reads refused by the key check (miscorrected).
    pub key_check_failures: u64,
    /// Reads that yielded a key other than the enrolled one (must be 0: the key check).
    pub wrong_keys: u64,
    /// Mean over devices of the model's probability that a read exceeds `t` errors.
    pub predicted_failure_rate: f64,
    /// The worst device's predicted failure probability.
    pub predicted_failure_rate_max: f64,
    /// Code length, message length and correction capability used.
    pub code: (usize, usize, usize),
}

impl Characterization {
    /// Failures (any read that did not give back the enrolled key) per attempt.
    pub fn failure_rate(&self) -> f64 {
        let failures = self.failures();
        if self.attempts == 0 {
            0.0
        } else {
            count_f64(usize::try_from(failures).unwrap_or(usize::MAX))
                / count_f64(usize::try_from(self.attempts).unwrap_or(usize::MAX))
        }
    }
}

fn summary_json(s: &Summary) -> Value {
    json!({"mean": round6(s.mean), "stddev": round6(s.stddev), "min": round6(s.min), "max": round6(s.max)})
}

fn histogram_json(h: &Histogram) -> Value {
    json!({"low": round6(h.low), "high": round6(h.high), "counts": h.counts})
}

/// Six decimals: the precision of the statistics, and JSON numbers that read well.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl Characterization {
    /// Failures of any kind.
    pub fn failures(&self) -> u64 {
        self.uncorrectable + self.key_check_failures + self.wrong_keys
    }

    /// The JSON form (`cphar puf characterize --json`). Its `pufStatistics` member has the
    /// shape of the PID's (seed 002 Appendix A) and is what [`crate::pid::build`] publishes.
    pub fn to_json(&self) -> Value {
        let c = &self.config;
        json!({
            "config": {"devices": c.devices, "reads": c.reads, "meanFlip": c.mean_flip, "seed": c.seed},
            "code": {"codewordLength": self.code.0, "messageLength": self.code.1,
                     "errorCorrectionCapability": self.code.2},
            "pufStatistics": {
                "interDeviceHD": summary_json(&self.inter),
                "intraDeviceHD": summary_json(&self.intra),
                "sampleSize": c.devices,
                "measurementMethod": format!(
                    "simulation (development only): {} simulated SRAM PUF devices of {} cells, \
                     {} fresh reads each against a {}-read majority enrollment reference, mean \
                     cell flip probability {}, seed {}",
                    c.devices, RESPONSE_BITS, c.reads, crate::sram::ENROLLMENT_READS, c.mean_flip, c.seed
                ),
                "measuredBy": "cphar puf characterize"
            },
            "keyRederivation": {
                "attempts": self.attempts,
                "failures": self.failures(),
                "uncorrectable": self.uncorrectable,
                "keyCheckFailures": self.key_check_failures,
                "wrongKeys": self.wrong_keys,
                "failureRate": self.failure_rate(),
                "modelPredictedFailureRate": self.predicted_failure_rate,
                "modelPredictedFailureRateMax": self.predicted_failure_rate_max
            },
            "histograms": {
                "interDeviceHD": histogram_json(&self.inter_histogram),
                "intraDeviceHD": histogram_json(&self.intra_histogram)
            }
        })
    }
}

/// Bits of a response packed into 64-bit words, for fast pairwise distances.
fn words(r: &Response) -> Vec<u64> {
    r.bits()
        .chunks(64)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u64, |acc, (i, &b)| acc | (u64::from(b & 1) << i))
        })
        .collect()
}

/// Runs the characterization.
///
/// # Errors
/// [`PufError::Code`] only (the code tables could not be built).
pub fn run(config: Config) -> Result<Characterization, PufError> {
    let extractor = FuzzyExtractor::new()?;
    let mut master = StdRng::seed_from_u64(config.seed);
    let mut enroll_rng = StdRng::seed_from_u64(master.next_u64());
    let mut read_rng = StdRng::seed_from_u64(master.next_u64());

    let mut references: Vec<Vec<u64>> = Vec::with_capacity(config.devices);
    let mut intra = Vec::with_capacity(config.devices.saturating_mul(config.reads));
    let (mut attempts, mut uncorrectable, mut key_check_failures, mut wrong_keys) = (0, 0, 0, 0);
    let (mut predicted_sum, mut predicted_max) = (0.0f64, 0.0f64);
    for _ in 0..config.devices {
        let mut seed = [0u8; 32];
        master.fill_bytes(&mut seed);
        let device = SimulatedSram::new(&seed, config.mean_flip);
        let reference = device.enrollment_read(&mut enroll_rng);
        let (key, helper) = extractor.enroll(&reference, &mut enroll_rng)?;
        let p = tail_above(&device.error_probabilities(&reference), BCH_T);
        predicted_sum += p;
        predicted_max = predicted_max.max(p);
        for _ in 0..config.reads {
            let read = device.read(&mut read_rng);
            intra.push(read.distance(&reference));
            attempts += 1;
            match extractor.reproduce(&read, &helper) {
                Ok(k) if *k == *key => {}
                Ok(_) => wrong_keys += 1,
                Err(PufError::Uncorrectable) => uncorrectable += 1,
                Err(_) => key_check_failures += 1,
            }
        }
        references.push(words(&reference));
    }

    let mut inter = Vec::with_capacity(config.devices * config.devices.saturating_sub(1) / 2);
    for (i, a) in references.iter().enumerate() {
        for b in references.iter().skip(i + 1) {
            let d: u32 = a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum();
            inter.push(f64::from(d) / count_f64(RESPONSE_BITS));
        }
    }
    let code = extractor.code();
    let quantum = 1.0 / count_f64(RESPONSE_BITS);
    Ok(Characterization {
        config,
        inter: Summary::of(&inter),
        intra: Summary::of(&intra),
        inter_histogram: Histogram::of(&inter, 20, quantum),
        intra_histogram: Histogram::of(&intra, 20, quantum),
        attempts,
        uncorrectable,
        key_check_failures,
        wrong_keys,
        predicted_failure_rate: predicted_sum / count_f64(config.devices.max(1)),
        predicted_failure_rate_max: predicted_max,
        code: (code.n(), code.k(), code.t()),
    })
}

/// P(more than `t` of the independent events with probabilities `p` occur): dynamic
/// programming over the count, with every count above `t` kept in one absorbing state.
pub fn tail_above(p: &[f64], t: usize) -> f64 {
    // dist[c] = P(c events so far) for c ≤ t; `over` = P(more than t).
    let mut dist = vec![0.0f64; t + 1];
    if let Some(first) = dist.first_mut() {
        *first = 1.0;
    }
    let mut over = 0.0f64;
    for &q in p {
        over += dist.last().copied().unwrap_or(0.0) * q;
        for c in (1..=t).rev() {
            let below = dist.get(c - 1).copied().unwrap_or(0.0);
            if let Some(d) = dist.get_mut(c) {
                *d = *d * (1.0 - q) + below * q;
            }
        }
        if let Some(d) = dist.first_mut() {
            *d *= 1.0 - q;
        }
    }
    over
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_matches_a_binomial() {
        // Binomial(4, ½): P(X > 2) = 5/16.
        assert!((tail_above(&[0.5; 4], 2) - 5.0 / 16.0).abs() < 1e-12);
        assert_eq!(tail_above(&[0.0; 10], 0), 0.0);
        assert!((tail_above(&[1.0; 3], 2) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn histograms_count_every_value() {
        let values = [0.1, 0.2, 0.2, 0.3, 0.9];
        let h = Histogram::of(&values, 4, 0.1);
        // Nine possible values in four bins: three per bin, three bins used.
        assert_eq!(h.counts, vec![4, 0, 1]);
        assert!((h.low - 0.05).abs() < 1e-12 && (h.high - 0.95).abs() < 1e-12);
        assert_eq!(Histogram::of(&[0.5, 0.5], 3, 0.1).counts, vec![2]);
        // Every bin covers the same number of possible values.
        let bits: Vec<f64> = (10..=50).map(|b| f64::from(b) / 1023.0).collect();
        let h = Histogram::of(&bits, 20, 1.0 / 1023.0);
        assert!(
            h.counts[..h.counts.len() - 1].iter().all(|&c| c == 3),
            "{h:?}"
        );
    }
}
