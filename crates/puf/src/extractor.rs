//! The fuzzy extractor: code-offset construction (Dodis et al. 2008, "secure sketch") with
//! the BCH code of [`crate::bch`], a key check binding the helper data to the response, and
//! HKDF-SHA-256 as the strong extractor.
//!
//! **Enrollment** (`enroll`): draw a random BCH codeword `c` and a 32-byte salt; publish the
//! helper data `w = r ⊕ c` (the *offset*), the salt and the tag
//! `SHA-256("CPHAR-PUF-helper-tag/v1" 0x00 ‖ helper data before the tag ‖ r)`; the key is
//! `HKDF-SHA-256(salt, r, "CPHAR-PUF-Ed25519-seed/v1")`, 32 bytes: an Ed25519 seed.
//!
//! **Reproduction** (`reproduce`): from a fresh read `r'`, decode `r' ⊕ w` to the nearest
//! codeword `c'` and take `r* = c' ⊕ w`. If `r'` is within `t` bits of `r`, `r* = r`. The tag
//! is recomputed over the helper data *as given* and `r*` and compared in constant time:
//!
//! - a read too noisy for the code that decodes to a *different* codeword (weight > t,
//!   miscorrection) fails the tag, so a wrong key is never returned silently;
//! - helper data changed in any byte fails the tag too (an attacker cannot forge one without
//!   `r`), even when the verifier never compares it with `helperData.hash` in the PID;
//!   [`reproduce_published`] also checks that hash first.
//!
//! Helper data is public. With a uniformly random response it leaks `n − k` bits of `r`; the
//! `k` bits left are the key's entropy (the simulated cells are uniform; a real PUF's bias
//! lowers this and must be measured). The tag reveals nothing useful: inverting it means
//! guessing `k` bits.

use crate::bch::{Bch, BchError};
use crate::sram::{RESPONSE_BITS, Response};
use rand::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Field GF(2^10): codeword length 2^10 − 1 = 1023 = [`RESPONSE_BITS`].
pub const BCH_M: u32 = 10;
/// Primitive polynomial x^10 + x^3 + 1 of the field.
pub const BCH_POLY: u32 = 0x409;
/// Bit errors corrected per read (see the crate docs for why 106).
pub const BCH_T: usize = 106;

/// First bytes of every helper data file.
pub const HELPER_MAGIC: &[u8; 8] = b"CPHARPUF";
/// Helper data format version.
pub const HELPER_VERSION: u8 = 1;
/// Bytes of the helper data salt.
pub const SALT_LEN: usize = 32;
/// Bytes of the derived key (an Ed25519 seed).
pub const KEY_LEN: usize = 32;
const HEADER_LEN: usize = HELPER_MAGIC.len() + 4;
const OFFSET_LEN: usize = RESPONSE_BITS.div_ceil(8);
const TAG_LEN: usize = 32;
/// Total length of helper data in bytes.
pub const HELPER_LEN: usize = HEADER_LEN + SALT_LEN + OFFSET_LEN + TAG_LEN;

const TAG_DOMAIN: &[u8] = b"CPHAR-PUF-helper-tag/v1";
const KEY_INFO: &[u8] = b"CPHAR-PUF-Ed25519-seed/v1";

/// A derived key: 32 bytes, zeroized on drop.
pub type DerivedKey = Zeroizing<[u8; KEY_LEN]>;

/// Why a key could not be derived. Each has a stable [`PufError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PufError {
    /// The helper data is not in the format of this module (length, magic, padding).
    #[error("helper data is malformed")]
    HelperDataMalformed,
    /// The helper data names a version or code this implementation does not have.
    #[error("helper data version or code parameters are not supported")]
    HelperDataUnsupported,
    /// The helper data does not hash to the published `helperData.hash`.
    #[error("helper data does not match its published hash")]
    HelperDataMismatch,
    /// The read had more errors than the code corrects.
    #[error("the PUF read is too noisy to correct")]
    Uncorrectable,
    /// The corrected response does not match the helper data's tag: the helper data was
    /// altered, or a read beyond the code's capability was miscorrected.
    #[error("key check failed: helper data altered or read miscorrected")]
    KeyCheckFailed,
    /// The read does not have [`RESPONSE_BITS`] bits.
    #[error("the PUF read has the wrong length")]
    ResponseLength,
    /// The code could not be set up (never with the constants of this module).
    #[error("BCH code parameters are invalid")]
    Code,
}

impl PufError {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            PufError::HelperDataMalformed => "helper_data_malformed",
            PufError::HelperDataUnsupported => "helper_data_unsupported",
            PufError::HelperDataMismatch => "helper_data_hash_mismatch",
            PufError::Uncorrectable => "puf_read_uncorrectable",
            PufError::KeyCheckFailed => "puf_key_check_failed",
            PufError::ResponseLength => "puf_response_length",
            PufError::Code => "puf_code_parameters",
        }
    }
}

/// Public helper data of one enrolled device.
#[derive(Clone, PartialEq, Eq)]
pub struct HelperData {
    t: u8,
    salt: [u8; SALT_LEN],
    /// `r ⊕ c`, one bit per byte.
    offset: Vec<u8>,
    tag: [u8; TAG_LEN],
}

impl std::fmt::Debug for HelperData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HelperData(sha256 {})",
            cphar_crypto::hex(&self.sha256())
        )
    }
}

impl HelperData {
    /// The serialized form (what `helperData.uri` serves):
    /// `"CPHARPUF" ‖ version ‖ m ‖ t ‖ 0x00 ‖ salt(32) ‖ offset(128, bit i of the response at
    /// bit i%8 of byte i/8, padding bit 0) ‖ tag(32)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.without_tag();
        out.extend_from_slice(&self.tag);
        out
    }

    fn without_tag(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HELPER_LEN);
        out.extend_from_slice(HELPER_MAGIC);
        out.extend_from_slice(&[HELPER_VERSION, BCH_M as u8, self.t, 0]);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&pack(&self.offset));
        out
    }

    /// SHA-256 of [`HelperData::to_bytes`]: the PID's `helperData.hash.value`.
    pub fn sha256(&self) -> [u8; 32] {
        cphar_crypto::sha256(&self.to_bytes())
    }

    /// Parses helper data strictly (exact length, magic, version, code, zero padding).
    ///
    /// # Errors
    /// [`PufError::HelperDataMalformed`] or [`PufError::HelperDataUnsupported`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PufError> {
        if bytes.len() != HELPER_LEN {
            return Err(PufError::HelperDataMalformed);
        }
        let (header, rest) = bytes.split_at(HEADER_LEN);
        let (salt, rest) = rest.split_at(SALT_LEN);
        let (offset, tag) = rest.split_at(OFFSET_LEN);
        let (magic, params) = header.split_at(HELPER_MAGIC.len());
        if magic != HELPER_MAGIC {
            return Err(PufError::HelperDataMalformed);
        }
        let [version, m, t, reserved] = params else {
            return Err(PufError::HelperDataMalformed);
        };
        if *version != HELPER_VERSION || u32::from(*m) != BCH_M || usize::from(*t) != BCH_T {
            return Err(PufError::HelperDataUnsupported);
        }
        if *reserved != 0 {
            return Err(PufError::HelperDataMalformed);
        }
        let offset = unpack(offset, RESPONSE_BITS).ok_or(PufError::HelperDataMalformed)?;
        Ok(HelperData {
            t: *t,
            salt: salt.try_into().map_err(|_| PufError::HelperDataMalformed)?,
            offset,
            tag: tag.try_into().map_err(|_| PufError::HelperDataMalformed)?,
        })
    }

    fn compute_tag(&self, response: &[u8]) -> [u8; TAG_LEN] {
        let packed = Zeroizing::new(pack(response));
        let mut h = Sha256::new();
        h.update(TAG_DOMAIN);
        h.update([0u8]);
        h.update(self.without_tag());
        h.update(packed.as_slice());
        h.finalize().into()
    }
}

/// The fuzzy extractor with its code tables (build once, reuse).
#[derive(Debug, Clone)]
pub struct FuzzyExtractor {
    code: Bch,
}

impl FuzzyExtractor {
    /// The extractor with the BCH(1023, k, [`BCH_T`]) code.
    ///
    /// # Errors
    /// [`PufError::Code`] (not with this module's constants).
    pub fn new() -> Result<Self, PufError> {
        let code = Bch::new(BCH_M, BCH_POLY, BCH_T).map_err(|_| PufError::Code)?;
        if code.n() != RESPONSE_BITS {
            return Err(PufError::Code);
        }
        Ok(FuzzyExtractor { code })
    }

    /// The code in use.
    pub fn code(&self) -> &Bch {
        &self.code
    }

    /// Enrolls `reference` (the device's enrollment read): returns the key and the public
    /// helper data. `rng` draws the codeword and the salt: a CSPRNG.
    ///
    /// # Errors
    /// [`PufError::ResponseLength`].
    pub fn enroll<R: CryptoRng + ?Sized>(
        &self,
        reference: &Response,
        rng: &mut R,
    ) -> Result<(DerivedKey, HelperData), PufError> {
        if reference.len() != RESPONSE_BITS {
            return Err(PufError::ResponseLength);
        }
        let mut message_bytes = Zeroizing::new(vec![0u8; self.code.k().div_ceil(8)]);
        rng.fill_bytes(&mut message_bytes);
        let message = Zeroizing::new(unpack_any(&message_bytes, self.code.k()));
        let codeword = Zeroizing::new(self.code.encode(&message).map_err(|_| PufError::Code)?);
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let offset = xor(reference.bits(), &codeword);
        let t = u8::try_from(BCH_T).map_err(|_| PufError::Code)?;
        let mut helper = HelperData {
            t,
            salt,
            offset,
            tag: [0; TAG_LEN],
        };
        helper.tag = helper.compute_tag(reference.bits());
        Ok((derive(&helper.salt, reference.bits()), helper))
    }

    /// Re-derives the key from a fresh `read` and the helper data.
    ///
    /// # Errors
    /// [`PufError::Uncorrectable`], [`PufError::KeyCheckFailed`],
    /// [`PufError::ResponseLength`].
    pub fn reproduce(&self, read: &Response, helper: &HelperData) -> Result<DerivedKey, PufError> {
        if read.len() != RESPONSE_BITS || helper.offset.len() != RESPONSE_BITS {
            return Err(PufError::ResponseLength);
        }
        let mut word = Zeroizing::new(xor(read.bits(), &helper.offset));
        self.code.decode(&mut word).map_err(|e| match e {
            BchError::Uncorrectable => PufError::Uncorrectable,
            BchError::Length { .. } => PufError::ResponseLength,
            BchError::Parameters => PufError::Code,
        })?;
        let response = Zeroizing::new(xor(&word, &helper.offset));
        let tag = helper.compute_tag(&response);
        if !bool::from(tag.ct_eq(&helper.tag)) {
            return Err(PufError::KeyCheckFailed);
        }
        Ok(derive(&helper.salt, &response))
    }

    /// Re-derives the key from published helper data bytes, first checking them against the
    /// PID's `helperData.hash.value` (`expected_sha256`).
    ///
    /// # Errors
    /// [`PufError::HelperDataMismatch`], then as [`HelperData::from_bytes`] and
    /// [`FuzzyExtractor::reproduce`].
    pub fn reproduce_published(
        &self,
        read: &Response,
        helper_bytes: &[u8],
        expected_sha256: &[u8],
    ) -> Result<DerivedKey, PufError> {
        let actual = cphar_crypto::sha256(helper_bytes);
        if !bool::from(actual.as_slice().ct_eq(expected_sha256)) {
            return Err(PufError::HelperDataMismatch);
        }
        self.reproduce(read, &HelperData::from_bytes(helper_bytes)?)
    }
}

fn derive(salt: &[u8; SALT_LEN], response: &[u8]) -> DerivedKey {
    let packed = Zeroizing::new(pack(response));
    let hk = hkdf::Hkdf::<Sha256>::new(Some(salt), &packed);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    // 32 bytes is far below HKDF-SHA-256's 255·32 limit: `expand` cannot fail here.
    if hk.expand(KEY_INFO, key.as_mut_slice()).is_err() {
        key.fill(0);
    }
    key
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| (x ^ y) & 1).collect()
}

/// Packs bits (one per byte) LSB-first.
pub(crate) fn pack(bits: &[u8]) -> Vec<u8> {
    bits.chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u8, |acc, (i, &b)| acc | ((b & 1) << i))
        })
        .collect()
}

/// The first `len` bits of `bytes`, LSB-first.
fn unpack_any(bytes: &[u8], len: usize) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|&byte| (0..8).map(move |i| (byte >> i) & 1))
        .take(len)
        .collect()
}

/// Exactly `len` bits; `None` if the length is wrong or a padding bit is set.
fn unpack(bytes: &[u8], len: usize) -> Option<Vec<u8>> {
    if bytes.len() != len.div_ceil(8) {
        return None;
    }
    let all: Vec<u8> = unpack_any(bytes, bytes.len() * 8);
    let (bits, padding) = all.split_at(len);
    padding.iter().all(|&b| b == 0).then(|| bits.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips_and_padding_is_strict() {
        let bits: Vec<u8> = (0..RESPONSE_BITS).map(|i| u8::from(i % 5 == 1)).collect();
        let packed = pack(&bits);
        assert_eq!(packed.len(), OFFSET_LEN);
        assert_eq!(unpack(&packed, RESPONSE_BITS).unwrap(), bits);
        let mut bad = packed.clone();
        *bad.last_mut().unwrap() |= 0x80;
        assert_eq!(unpack(&bad, RESPONSE_BITS), None);
    }

    #[test]
    fn the_code_keeps_at_least_256_message_bits() {
        let fe = FuzzyExtractor::new().unwrap();
        assert_eq!(fe.code().n(), 1023);
        assert_eq!(fe.code().k(), 258);
        // One more corrected error would cost the 256-bit floor.
        assert!(Bch::new(BCH_M, BCH_POLY, BCH_T + 1).unwrap().k() < 256);
    }
}
