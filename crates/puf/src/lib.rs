//! BAL-3 PUF seals, simulated (seed 002 §3.3 and Appendix A). **Development and tests only**:
//! there is no physical PUF here, only a model of one.
//!
//! - [`sram`]: the simulated SRAM PUF (per-device fixed random pattern, per-cell noise).
//! - [`bch`]: the BCH code over GF(2^10).
//! - [`extractor`]: the code-offset fuzzy extractor with key check and HKDF-SHA-256.
//! - [`characterize`]: inter/intra-device Hamming distances and the key re-derivation failure
//!   rate over many simulated devices.
//! - [`pid`]: the PUF Interface Descriptor built from those measurements.
//! - [`seal`]: the PUF seal, re-deriving its Ed25519 key from a fresh read on every challenge.
//!
//! Sans-I/O: randomness (device noise, enrollment) is an argument, so tests are deterministic.
//! Not side-channel hardened: the BCH decoder's running time depends on the number of errors,
//! as any software model's would; the key check and hash comparisons are constant-time.
//!
//! # Parameters, and why
//!
//! | parameter | value | why |
//! | --- | --- | --- |
//! | response | 1023 SRAM cells | one BCH block of length 2^10 − 1: no interleaving to get wrong |
//! | cell noise | flip probability `min(½, μ·Exp(1))`, μ = 4 % by default (configurable) | skewed like measured SRAM (most cells stable, a few near random); 4 % is the intra-device HD of seed 002's example PID |
//! | enrollment | majority of 15 reads | the reference is then close to each cell's preferred value, so a later read differs from it by ≈ μ, not ≈ 2μ |
//! | code | BCH(1023, 258, 106), m = 10, x^10 + x^3 + 1 | `t = 106` (10.4 % of the bits) is the largest correction that keeps `k ≥ 256` message bits, so the key keeps 256 bits of entropy (`t = 107` leaves 248) |
//! | failure target | ≤ 10⁻⁶ per re-derivation | at μ = 4 % a read has ≈ 41 errors (sd ≈ 6.2): 106 is more than 10 sd away. No run of a minute can observe 10⁻⁶, so [`characterize`] also reports the model's exact per-device Poisson-binomial tail P(errors > t), far below it; the margin covers drift (temperature, ageing) up to μ ≈ 6 %: the model predicts 10⁻¹⁸ per read at 4 %, 10⁻¹² at 5 %, 4·10⁻⁸ at 6 %, 4·10⁻⁵ at 7 % |
//! | key | HKDF-SHA-256(salt, r, "CPHAR-PUF-Ed25519-seed/v1"), 32 bytes | an Ed25519 seed from a uniform-enough `r`; the salt (32 random bytes, in the helper data) separates devices |
//! | key check | SHA-256 tag over helper data and `r` | a read beyond `t` that miscorrects, or altered helper data, is refused, never a wrong key |
//!
//! The code-offset helper data leaks `n − k = 765` bits of the 1023-bit response, leaving
//! `k = 258` bits for the key when the cells are unbiased (they are, in this model).
#![forbid(unsafe_code)]

pub mod bch;
pub mod characterize;
pub mod extractor;
pub mod pid;
pub mod seal;
pub mod sram;

pub use extractor::{FuzzyExtractor, HelperData, PufError};
pub use seal::{PufDevice, PufKey, PufSeal, PufSealError};
pub use sram::{Response, SimulatedSram};
