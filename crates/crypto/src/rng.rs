//! Randomness from the operating system CSPRNG (through AWS-LC's `SystemRandom`).

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};

use crate::CryptoError;

/// `N` bytes from the system CSPRNG.
///
/// # Errors
/// [`CryptoError::Rng`] if the generator fails; callers must not fall back to anything weaker.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// Fills `dest` from the system CSPRNG.
pub(crate) fn fill(dest: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new().fill(dest).map_err(|_| CryptoError::Rng)
}
