//! Strict unpadded base64url (RFC 4648 §5), the only binary-to-text encoding of the protocol.
//!
//! Decoding rejects `=`, `+`, `/`, whitespace, impossible lengths and non-canonical trailing
//! bits, so every byte string has exactly one accepted text form (no signature or nonce
//! malleability through the encoding). Backed by `base64ct`, which is also constant-time.

use base64ct::{Base64UrlUnpadded, Encoding as _};

use crate::CryptoError;

/// Encodes `data` as unpadded base64url.
#[must_use]
pub fn encode(data: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(data)
}

/// Decodes strict unpadded base64url.
///
/// # Errors
/// [`CryptoError::Encoding`] for anything but the canonical unpadded encoding.
pub fn decode(text: &str) -> Result<Vec<u8>, CryptoError> {
    Base64UrlUnpadded::decode_vec(text).map_err(|_| CryptoError::Encoding)
}
