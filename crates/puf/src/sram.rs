//! A simulated SRAM PUF: the power-up state of a block of SRAM cells.
//!
//! Each cell of a real SRAM powers up to a value decided by the mismatch of its transistors:
//! most cells always read the same, a minority are noisy. The model here:
//!
//! - the cell's preferred value is a fair coin drawn once per device (manufacturing
//!   variation: devices agree on a cell half the time, so the inter-device Hamming distance
//!   is ≈ 50 %);
//! - the cell's flip probability is `min(½, μ·E)` with `E` exponential of mean 1, drawn once
//!   per device: most cells are very stable and a few are close to random, as measured on
//!   real SRAM, with a mean near the configured `μ` (the clip at ½ lowers it slightly);
//! - every read flips each cell independently with its own probability.
//!
//! Both draws come from a ChaCha stream keyed by the 32-byte *device seed*: the seed stands
//! for the silicon, it is the one secret of a simulated device. Reads take the caller's RNG,
//! so tests are deterministic and the seal agent uses fresh randomness.

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

/// Number of SRAM cells read: the BCH codeword length (one code block, see [`crate`]).
pub const RESPONSE_BITS: usize = 1023;

/// Default mean per-cell flip probability μ (4 %, the intra-device HD of seed 002's example).
pub const DEFAULT_MEAN_FLIP: f64 = 0.04;

/// Reads majority-voted into the enrollment reference (odd, so there are no ties).
pub const ENROLLMENT_READS: usize = 15;

/// One power-up read of the PUF: [`RESPONSE_BITS`] bits, one `u8` (0 or 1) per bit.
#[derive(Clone, PartialEq, Eq)]
pub struct Response(pub(crate) Vec<u8>);

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A response is key material: never printed.
        write!(f, "Response({} bits)", self.0.len())
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Response {
    /// A response from bits (0 or 1 per byte; other values are reduced to their low bit).
    pub fn from_bits(bits: &[u8]) -> Self {
        Response(bits.iter().map(|b| b & 1).collect())
    }

    /// The bits.
    pub fn bits(&self) -> &[u8] {
        &self.0
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no bits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Fractional Hamming distance to `other` (bits beyond the shorter one count as different).
    pub fn distance(&self, other: &Response) -> f64 {
        let len = self.0.len().max(other.0.len());
        if len == 0 {
            return 0.0;
        }
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        count_f64(len - same) / count_f64(len)
    }
}

/// A count as `f64` (exact below 2^53; counts here are far smaller).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn count_f64(n: usize) -> f64 {
    n as f64
}

/// One simulated device.
#[derive(Clone)]
pub struct SimulatedSram {
    /// The value each cell prefers.
    pattern: Vec<u8>,
    /// Each cell's flip probability per read.
    flip: Vec<f64>,
}

impl std::fmt::Debug for SimulatedSram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimulatedSram({} cells)", self.pattern.len())
    }
}

impl Drop for SimulatedSram {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.pattern);
    }
}

impl SimulatedSram {
    /// The device manufactured from `seed` with mean flip probability `mean_flip` (clamped
    /// to 0..=0.5).
    pub fn new(seed: &[u8; 32], mean_flip: f64) -> Self {
        let mut silicon = StdRng::from_seed(*seed);
        let mu = if mean_flip.is_finite() {
            mean_flip.clamp(0.0, 0.5)
        } else {
            0.0
        };
        let mut pattern = Vec::with_capacity(RESPONSE_BITS);
        let mut flip = Vec::with_capacity(RESPONSE_BITS);
        for _ in 0..RESPONSE_BITS {
            pattern.push(u8::from(silicon.random::<bool>()));
            // Exponential of mean 1 by inversion; 1 − u lies in (0, 1].
            let u: f64 = silicon.random();
            let e = -(1.0 - u).ln();
            flip.push((mu * e).min(0.5));
        }
        SimulatedSram { pattern, flip }
    }

    /// One noisy power-up read.
    pub fn read<R: Rng + ?Sized>(&self, rng: &mut R) -> Response {
        Response(
            self.pattern
                .iter()
                .zip(&self.flip)
                .map(|(&bit, &p)| bit ^ u8::from(rng.random::<f64>() < p))
                .collect(),
        )
    }

    /// The enrollment reference: the bitwise majority of [`ENROLLMENT_READS`] reads, so that
    /// later reads differ from it by about μ rather than 2μ.
    pub fn enrollment_read<R: Rng + ?Sized>(&self, rng: &mut R) -> Response {
        let mut ones = vec![0usize; RESPONSE_BITS];
        for _ in 0..ENROLLMENT_READS {
            let read = self.read(rng);
            for (count, &bit) in ones.iter_mut().zip(read.bits()) {
                *count += usize::from(bit);
            }
        }
        Response(
            ones.iter()
                .map(|&c| u8::from(2 * c > ENROLLMENT_READS))
                .collect(),
        )
    }

    /// The mean of the cells' flip probabilities.
    pub fn mean_flip(&self) -> f64 {
        self.flip.iter().sum::<f64>() / count_f64(self.flip.len().max(1))
    }

    /// For each cell, the probability that a fresh read differs from `reference`: the model's
    /// view of the error channel the fuzzy extractor must correct.
    pub fn error_probabilities(&self, reference: &Response) -> Vec<f64> {
        self.pattern
            .iter()
            .zip(&self.flip)
            .zip(reference.bits())
            .map(|((&bit, &p), &r)| if bit == r { p } else { 1.0 - p })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_device() {
        let a = SimulatedSram::new(&[7; 32], 0.03);
        let b = SimulatedSram::new(&[7; 32], 0.03);
        let c = SimulatedSram::new(&[8; 32], 0.03);
        assert_eq!(a.pattern, b.pattern);
        assert_ne!(a.pattern, c.pattern);
        assert!((a.mean_flip() - 0.03).abs() < 0.006, "{}", a.mean_flip());
    }

    #[test]
    fn a_noiseless_device_reads_its_pattern() {
        let d = SimulatedSram::new(&[1; 32], 0.0);
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(d.read(&mut rng).bits(), &d.pattern[..]);
        assert_eq!(d.read(&mut rng).distance(&d.read(&mut rng)), 0.0);
    }
}
