//! Revocation status of BEAs as W3C Bitstring Status List credentials (VC Bitstring Status
//! List v1.0; TFP-1 names its predecessor, StatusList2021, whose wire form this keeps).
//!
//! Every binding gets a **status index** when it is made, allocated once and never reused;
//! its BEA carries a `credentialStatus` entry pointing at bit `index % LIST_SIZE` of list
//! `index / LIST_SIZE`. A list is a credential issued by the registry DID and signed like a
//! BEA (`eddsa-jcs-2022`, the active Enrollment Authority key), whose `encodedList` is the
//! multibase base64url (`u` prefix, no padding) of the GZIP of the bitstring, bit 0 the most
//! significant bit of the first byte. A set bit means the binding is revoked or
//! decommissioned. Lists are fixed-size (the specification's minimum, 131,072 entries), so a
//! list says nothing about how many bindings exist, and serving one is bounded work.

use crate::bea::{self, BeaError, VC_CONTEXT};
use crate::did::RegistryNames;
use cphar_crypto::{SigningKey, VerifyingKey};
use cphar_protocol::Timestamp;
use serde_json::{Value, json};
use std::io::{Read, Write};

/// Entries per list (the specification's minimum size, for group privacy).
pub const LIST_SIZE: u64 = 131_072;
/// The credential type of a list.
pub const LIST_CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
/// The `credentialStatus` type in a BEA.
pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";
/// The one purpose published.
pub const PURPOSE: &str = "revocation";

/// Where a binding's status lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusSlot {
    /// The list number.
    pub list: u64,
    /// The bit within the list.
    pub bit: u64,
}

impl StatusSlot {
    /// The slot of a binding's status index.
    pub fn of(index: u64) -> StatusSlot {
        StatusSlot {
            list: index / LIST_SIZE,
            bit: index % LIST_SIZE,
        }
    }
}

/// The `credentialStatus` member of the BEA of the binding with status `index`.
pub fn credential_status(names: &RegistryNames, index: u64) -> Value {
    let slot = StatusSlot::of(index);
    let list = names.status_list_url(slot.list);
    json!({
        "id": format!("{list}#{}", slot.bit),
        "type": ENTRY_TYPE,
        "statusPurpose": PURPOSE,
        "statusListIndex": slot.bit.to_string(),
        "statusListCredential": list,
    })
}

/// Why a list could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// A status index outside the list.
    #[error("status index {0} is outside list")]
    OutOfList(u64),
    /// The credential is not a well-formed revocation list.
    #[error("malformed status list: {0}")]
    Malformed(String),
    /// Its proof does not verify.
    #[error("status list proof: {0}")]
    Proof(#[from] BeaError),
}

/// The signed list `list` in which the bits of `revoked` (status indices, any order) are set.
pub fn build(
    names: &RegistryNames,
    list: u64,
    revoked: &[u64],
    key: &SigningKey,
    key_id: &str,
    now: Timestamp,
) -> Result<Value, StatusListError> {
    let mut bits = vec![0u8; (LIST_SIZE / 8) as usize];
    for &index in revoked {
        let slot = StatusSlot::of(index);
        if slot.list != list {
            return Err(StatusListError::OutOfList(index));
        }
        let byte = bits
            .get_mut((slot.bit / 8) as usize)
            .ok_or(StatusListError::OutOfList(index))?;
        *byte |= 0x80 >> (slot.bit % 8);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bits)
        .and_then(|()| gz.try_finish())
        .map_err(|e| StatusListError::Malformed(format!("gzip: {e}")))?;
    let compressed = gz
        .finish()
        .map_err(|e| StatusListError::Malformed(format!("gzip: {e}")))?;
    let url = names.status_list_url(list);
    let unsigned = json!({
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": names.registry_did(),
        "validFrom": now.to_string(),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": PURPOSE,
            "encodedList": format!("u{}", cphar_crypto::b64::encode(&compressed)),
        },
    });
    Ok(bea::sign(unsigned, key, key_id, now)?)
}

/// A verified list: only [`verify`] builds one.
#[derive(Debug, Clone)]
pub struct VerifiedList {
    bits: Vec<u8>,
}

impl VerifiedList {
    /// Whether the bit of status-list index `bit` (the entry's `statusListIndex`) is set.
    pub fn is_set(&self, bit: u64) -> Result<bool, StatusListError> {
        let byte = usize::try_from(bit / 8)
            .ok()
            .and_then(|i| self.bits.get(i))
            .ok_or(StatusListError::OutOfList(bit))?;
        Ok(byte & (0x80 >> (bit % 8)) != 0)
    }
}

/// Checks `credential`'s proof (by `key`, named `key_id`), type and purpose, and decodes its
/// bitstring. The decompressed size is bounded by [`LIST_SIZE`]: a hostile list cannot make
/// the reader inflate more.
pub fn verify(
    credential: &Value,
    key: &VerifyingKey,
    key_id: &str,
) -> Result<VerifiedList, StatusListError> {
    bea::verify(credential, key, key_id)?;
    let malformed = |m: &str| StatusListError::Malformed(m.to_owned());
    let types = credential
        .get("type")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("no type"))?;
    if !types.iter().any(|t| t == LIST_CREDENTIAL_TYPE) {
        return Err(malformed("not a BitstringStatusListCredential"));
    }
    let subject = credential
        .get("credentialSubject")
        .ok_or_else(|| malformed("no credentialSubject"))?;
    if subject.get("statusPurpose").and_then(Value::as_str) != Some(PURPOSE) {
        return Err(malformed("statusPurpose is not revocation"));
    }
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .and_then(|e| e.strip_prefix('u'))
        .ok_or_else(|| malformed("encodedList is not base64url multibase"))?;
    let compressed = cphar_crypto::b64::decode(encoded)
        .map_err(|_| malformed("encodedList is not base64url"))?;
    let limit = LIST_SIZE / 8;
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .take(limit + 1)
        .read_to_end(&mut bits)
        .map_err(|_| malformed("encodedList is not GZIP"))?;
    if bits.len() as u64 != limit {
        return Err(malformed("the bitstring is not 131,072 bits"));
    }
    Ok(VerifiedList { bits })
}
