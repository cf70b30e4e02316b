//! Objects that carry their own signature in a `signature` member, signed over
//! `JCS(object without "signature")`: the PVS attestation (Appendix C.3), the continuous
//! attestation (Appendix D) and the profile C risk acceptance (§6.3) all use this shape.

use serde_json::{Map, Value};

/// The member that holds the signature.
pub const SIGNATURE_MEMBER: &str = "signature";

/// Why a self-signed object could not be checked or produced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignedObjectError {
    /// No `signature` member, or it is not a string.
    #[error("missing or non-string 'signature' member")]
    MissingSignature,
    /// `signature` is not unpadded base64url.
    #[error("'signature' is not unpadded base64url")]
    SignatureEncoding,
    /// The object cannot be canonicalized.
    #[error("cannot canonicalize: {0}")]
    Canonical(#[from] cphar_jcs::CanonError),
}

/// The bytes that are signed: JCS of the object with its `signature` member removed.
pub fn signing_input(obj: &Map<String, Value>) -> Result<Vec<u8>, SignedObjectError> {
    let mut unsigned = obj.clone();
    unsigned.shift_remove(SIGNATURE_MEMBER);
    Ok(cphar_jcs::canonicalize(&Value::Object(unsigned))?)
}

/// Splits an object into (signing input, decoded signature).
pub fn open(obj: &Map<String, Value>) -> Result<(Vec<u8>, Vec<u8>), SignedObjectError> {
    let sig_text = obj
        .get(SIGNATURE_MEMBER)
        .and_then(Value::as_str)
        .ok_or(SignedObjectError::MissingSignature)?;
    let sig =
        cphar_crypto::b64::decode(sig_text).map_err(|_| SignedObjectError::SignatureEncoding)?;
    Ok((signing_input(obj)?, sig))
}

/// Signs `obj` in place with `sign` (which returns raw signature bytes), replacing any
/// previous `signature` member.
pub fn seal<E>(
    obj: &mut Map<String, Value>,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<(), E>
where
    E: From<SignedObjectError>,
{
    let input = signing_input(obj)?;
    let sig = sign(&input)?;
    obj.insert(
        SIGNATURE_MEMBER.to_owned(),
        Value::String(cphar_crypto::b64::encode(&sig)),
    );
    Ok(())
}
