//! SHA-2 digests.
//!
//! Backed by the `sha2` crate (SHA-NI / ARMv8 SHA when the CPU has them). Measured against
//! AWS-LC in `benches/verify.rs`: equal within noise from 32 bytes to 64 KiB (~500 MiB/s on
//! 32-byte inputs, ~1.7 GiB/s bulk), so the pure-Rust path wins on simplicity: no FFI, and
//! the same `sha2` that ed25519-dalek already links.

use sha2::{Digest as _, Sha256, Sha384};

/// SHA-256 of `data`.
#[must_use]
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-384 of `data`.
#[must_use]
pub fn sha384(data: &[u8]) -> [u8; 48] {
    Sha384::digest(data).into()
}

/// Lower-case hex of `bytes` (how digests, fingerprints and ids are written everywhere).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(d) = DIGITS.get(usize::from(nibble)) {
                s.push(char::from(*d));
            }
        }
    }
    s
}
