//! Domain separation for everything a seal key signs that is not a ChallengeRequest.
//!
//! Seed 002 has the seal sign `JCS(ChallengeRequest as received)` and, for BAL-4, the
//! continuous attestation over `JCS(object without signature)` — the same key over the same
//! kind of bytes, with no type tag. A "request" carrying the attestation's members would then
//! be signed by the seal and replayed as an attestation. CPHAR closes this in two ways
//! (`docs/protocol-extensions.md`):
//!
//! - the seal refuses requests with members outside the seed's fields
//!   ([`crate::message::REQUEST_MEMBERS`]);
//! - every other message a seal key signs is signed over a **type-tagged envelope**:
//!
//! ```text
//! "CPHAR-seal-signed/v1" 0x00 TAG 0x00 JCS(payload)
//! ```
//!
//! where `TAG` is the context's ASCII name ([`SealContext`]). JCS of any JSON value starts
//! with `{`, `[`, `"`, `-`, a digit, `t`, `f` or `n`; the envelope starts with `C`, so no
//! ChallengeRequest (nor any JCS text) equals an envelope. Tags contain no NUL byte and are
//! NUL-terminated, so two contexts never produce the same bytes either.
//!
//! The ChallengeResponse signature itself stays exactly as seed 002 defines it.

use crate::codes::DeviceStatus;
use serde_json::{Map, Value};

/// The envelope's fixed prefix (before the first NUL).
pub const ENVELOPE_PREFIX: &[u8] = b"CPHAR-seal-signed/v1";

crate::wire_enum! {
    /// What a seal-signed envelope carries: the `TAG` of the envelope.
    SealContext {
        /// A BAL-4 continuous attestation (seed 002 Appendix D), payload = the object
        /// without its `signature` member.
        ContinuousAttestation => "continuous-attestation",
        /// The authenticated device status of a ChallengeResponse (CPHAR extension),
        /// payload = [`status_payload`].
        DeviceStatus => "device-status",
        /// A Binding Revocation Attestation signed by the device before its key is destroyed
        /// (seed 002 §4.4.1 step 3), payload = the object without its `signature` member
        /// ([`crate::seal::RevocationAttestation`]).
        BindingRevocation => "binding-revocation",
        /// The answer to an Enrollment Authority's enrollment challenge (seed 002 §4.2.2
        /// steps 1–4), payload = [`enrollment_payload`].
        Enrollment => "enrollment",
    }
}

/// The bytes a seal signs for `payload` in `context`.
pub fn signing_input(
    context: SealContext,
    payload: &Value,
) -> Result<Vec<u8>, cphar_jcs::CanonError> {
    let body = cphar_jcs::canonicalize(payload)?;
    let tag = context.as_str().as_bytes();
    let mut out = Vec::with_capacity(ENVELOPE_PREFIX.len() + tag.len() + 2 + body.len());
    out.extend_from_slice(ENVELOPE_PREFIX);
    out.push(0);
    out.extend_from_slice(tag);
    out.push(0);
    out.extend_from_slice(&body);
    Ok(out)
}

/// The member of a ChallengeResponse that carries the status signature (CPHAR extension).
pub const STATUS_SIGNATURE_MEMBER: &str = "statusSignature";

/// The member of a binding verification method that advertises status signatures.
pub const STATUS_SIGNATURE_CAPABILITY: &str = "cpharStatusSignature";

/// The payload of a device-status envelope: the challenge's object DID and nonce (as the
/// seal received it, base64url text), the binding method answering, and the status —
/// always explicit, `operational` included, so that removing the member from the response
/// changes what the verifier reconstructs.
pub fn status_payload(did: &str, binding_method: &str, nonce: &str, status: DeviceStatus) -> Value {
    let mut obj = Map::new();
    obj.insert("did".into(), Value::String(did.to_owned()));
    obj.insert(
        "bindingMethod".into(),
        Value::String(binding_method.to_owned()),
    );
    obj.insert("nonce".into(), Value::String(nonce.to_owned()));
    obj.insert(
        "deviceStatus".into(),
        Value::String(status.as_str().to_owned()),
    );
    Value::Object(obj)
}

/// The payload a seal signs to answer an enrollment challenge: the challenge object exactly
/// as the Enrollment Authority issued it (its signature included) and the device UID being
/// registered, so the answer cannot be reused for another device or challenge.
pub fn enrollment_payload(challenge: &Value, uid: &str) -> Value {
    let mut obj = Map::new();
    obj.insert("challenge".into(), challenge.clone());
    obj.insert("uid".into(), Value::String(uid.to_owned()));
    Value::Object(obj)
}

/// [`signing_input`] of the device-status envelope.
pub fn status_signing_input(
    did: &str,
    binding_method: &str,
    nonce: &str,
    status: DeviceStatus,
) -> Result<Vec<u8>, cphar_jcs::CanonError> {
    signing_input(
        SealContext::DeviceStatus,
        &status_payload(did, binding_method, nonce, status),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_layout_is_exact() {
        let input = signing_input(SealContext::DeviceStatus, &json!({"b": 1, "a": "x"})).unwrap();
        assert_eq!(
            input,
            b"CPHAR-seal-signed/v1\0device-status\0{\"a\":\"x\",\"b\":1}".to_vec()
        );
    }

    #[test]
    fn no_jcs_text_starts_like_an_envelope() {
        for v in [
            json!({}),
            json!([]),
            json!("C"),
            json!(1),
            json!(-1),
            json!(null),
        ] {
            let jcs = cphar_jcs::canonicalize(&v).unwrap();
            assert_ne!(jcs.first(), ENVELOPE_PREFIX.first());
        }
    }
}
