//! Profile C: AES-128-CMAC (RFC 4493), deprecated by the protocol but still verified.
//!
//! The verifier holds the key (the JWK carries only a `kid`). The AES key schedule is
//! expanded once; both it and the CMAC subkeys are zeroized on drop (`aes`/`cmac` `zeroize`
//! features). Tags are compared in constant time, and only full 16-byte tags are accepted:
//! truncated CMAC tags are a policy choice the protocol does not make.

use std::fmt;

use ::cmac::{Cmac, KeyInit as _, Mac as _};
use aes::Aes128;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::CryptoError;

/// Length of an AES-128 key in bytes.
pub const CMAC_AES128_KEY_LEN: usize = 16;
/// Length of a (full, untruncated) AES-CMAC tag in bytes.
pub const CMAC_TAG_LEN: usize = 16;

/// An AES-128-CMAC key. `Debug` is redacted; the key material is zeroized on drop.
#[derive(Clone)]
pub struct CmacAes128Key {
    /// Keyed CMAC state, cloned per message so the key schedule is computed only once.
    keyed: Cmac<Aes128>,
}

impl CmacAes128Key {
    /// A key from exactly 16 bytes.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] for any other length (AES-192/256 keys included).
    pub fn from_slice(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != CMAC_AES128_KEY_LEN {
            return Err(CryptoError::InvalidKey(format!(
                "AES-128-CMAC key must be {CMAC_AES128_KEY_LEN} bytes, got {}",
                key.len()
            )));
        }
        let keyed = Cmac::<Aes128>::new_from_slice(key)
            .map_err(|_| CryptoError::InvalidKey("AES-128-CMAC key rejected".into()))?;
        Ok(CmacAes128Key { keyed })
    }

    /// A fresh random key from the system CSPRNG.
    ///
    /// # Errors
    /// [`CryptoError::Rng`] if the generator fails.
    pub fn generate() -> Result<Self, CryptoError> {
        let key = Zeroizing::new(crate::random_bytes::<CMAC_AES128_KEY_LEN>()?);
        Self::from_slice(key.as_slice())
    }

    /// The 16-byte CMAC tag of `msg`.
    #[must_use]
    pub fn mac(&self, msg: &[u8]) -> [u8; CMAC_TAG_LEN] {
        let mut state = self.keyed.clone();
        state.update(msg);
        state.finalize().into_bytes().into()
    }

    /// Checks `tag` against the CMAC of `msg` in constant time.
    ///
    /// # Errors
    /// [`CryptoError::BadMac`] on mismatch or when `tag` is not exactly 16 bytes.
    pub fn verify(&self, msg: &[u8], tag: &[u8]) -> Result<(), CryptoError> {
        if tag.len() != CMAC_TAG_LEN {
            return Err(CryptoError::BadMac);
        }
        let expected = self.mac(msg);
        if bool::from(expected.as_slice().ct_eq(tag)) {
            Ok(())
        } else {
            Err(CryptoError::BadMac)
        }
    }
}

impl fmt::Debug for CmacAes128Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CmacAes128Key { <redacted> }")
    }
}
