//! Randomness from the operating system CSPRNG (through AWS-LC's `SystemRandom`), with the
//! continuous random number generator test of FIPS 140-3 (seed 003 §1.5): every draw also
//! takes a 16-byte health block and compares it with the previous one; a repeat means the
//! generator is stuck, latches a failure, and every later draw fails.

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use parking_lot::Mutex;

use crate::CryptoError;

/// Bytes per continuous-test block.
pub const CRNGT_BLOCK: usize = 16;

/// The continuous test over a stream of blocks: refuses a block equal to its predecessor and
/// stays failed afterwards.
#[derive(Debug, Default)]
pub struct ContinuousTest {
    last: Option<[u8; CRNGT_BLOCK]>,
    failed: bool,
}

impl ContinuousTest {
    /// A fresh test (the first block is only remembered).
    pub const fn new() -> Self {
        ContinuousTest {
            last: None,
            failed: false,
        }
    }

    /// Feeds the next block.
    ///
    /// # Errors
    /// [`CryptoError::Rng`] if it equals the previous block, or the test already failed.
    pub fn check(&mut self, block: [u8; CRNGT_BLOCK]) -> Result<(), CryptoError> {
        if self.failed || self.last == Some(block) {
            self.failed = true;
            return Err(CryptoError::Rng);
        }
        self.last = Some(block);
        Ok(())
    }

    /// Whether the test has failed.
    pub fn failed(&self) -> bool {
        self.failed
    }
}

static CRNGT: Mutex<ContinuousTest> = Mutex::new(ContinuousTest::new());

/// `N` bytes from the system CSPRNG.
///
/// # Errors
/// [`CryptoError::Rng`] if the generator fails or the continuous test has failed; callers
/// must not fall back to anything weaker.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// Whether the process-wide continuous RNG test is healthy.
pub fn rng_healthy() -> bool {
    !CRNGT.lock().failed()
}

/// Fills `dest` from the system CSPRNG.
pub(crate) fn fill(dest: &mut [u8]) -> Result<(), CryptoError> {
    let rng = SystemRandom::new();
    let mut health = [0u8; CRNGT_BLOCK];
    rng.fill(&mut health).map_err(|_| CryptoError::Rng)?;
    CRNGT.lock().check(health)?;
    rng.fill(dest).map_err(|_| CryptoError::Rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_block_latches_failure() {
        let mut t = ContinuousTest::new();
        assert!(t.check([1; CRNGT_BLOCK]).is_ok());
        assert!(t.check([2; CRNGT_BLOCK]).is_ok());
        assert_eq!(t.check([2; CRNGT_BLOCK]), Err(CryptoError::Rng));
        // Latched: a fresh block does not clear it.
        assert_eq!(t.check([3; CRNGT_BLOCK]), Err(CryptoError::Rng));
        assert!(t.failed());
    }

    #[test]
    fn the_system_generator_passes() {
        for _ in 0..1000 {
            assert!(random_bytes::<32>().is_ok());
        }
        assert!(rng_healthy());
    }
}
