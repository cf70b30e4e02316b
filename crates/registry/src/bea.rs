//! Binding Enrollment Attestations (seed 002 §4.2.2 step 6): W3C Verifiable Credentials
//! signed by the registry acting as Enrollment Authority, with a Data Integrity proof of the
//! `eddsa-jcs-2022` cryptosuite (W3C VC Data Integrity EdDSA Cryptosuites v1.0 §3.3):
//!
//! ```text
//! proofConfig  = proof options without proofValue, with the document's @context
//! hashData     = SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document without proof))
//! proofValue   = "z" ‖ base58btc(Ed25519(hashData))
//! ```

use cphar_crypto::{Algorithm, Jwk, SigningKey, VerifyingKey};
use cphar_protocol::{Bal, TFP_1, Timestamp};
use serde_json::{Map, Value, json};

/// The VC 2.0 base context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The credential type naming a BEA.
pub const BEA_TYPE: &str = "BindingEnrollmentAttestation";
/// The cryptosuite identifier.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// Why a BEA failed to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BeaError {
    /// The credential or its proof lacks a member or has a wrong type.
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// The proof is not an `eddsa-jcs-2022` DataIntegrityProof for assertion.
    #[error("unsupported proof: {0}")]
    UnsupportedProof(String),
    /// The proof names another key than the one given.
    #[error("proof verification method {0} is not the expected key")]
    WrongKey(String),
    /// The signature does not verify.
    #[error("proof signature does not verify")]
    BadSignature,
    /// The key is not an Ed25519 key.
    #[error("the EA key must be Ed25519")]
    KeyType,
    /// Canonicalization failed (cannot happen for parsed JSON).
    #[error("cannot canonicalize: {0}")]
    Canonical(String),
}

/// The device facts a BEA states.
#[derive(Debug, Clone)]
pub struct BeaSubject<'a> {
    /// Object (lot) DID.
    pub object_did: &'a str,
    /// DID document version that publishes the binding method.
    pub did_version: u64,
    /// The binding method id.
    pub binding_method: &'a str,
    /// The device key.
    pub device_jwk: &'a Jwk,
    /// Declared BAL.
    pub bal: Bal,
    /// Enrollment time.
    pub enrolled_at: Timestamp,
    /// Vendor, model, hardware revision.
    pub vendor: &'a str,
    /// Model identifier (device type).
    pub model: &'a str,
    /// Hardware revision.
    pub hardware_revision: &'a str,
    /// Tamper-evidence carrier class.
    pub carrier_class: &'a str,
    /// Tamper-evidence engineering specification.
    pub carrier_specification: &'a str,
    /// PUF Interface Descriptor (BAL-3/4 only).
    pub pid: Option<&'a Value>,
    /// Credential id (`urn:uuid:…`).
    pub credential_id: &'a str,
    /// Where the credential's revocation status is published (`credentialStatus`,
    /// [`crate::status_list::credential_status`]).
    pub status: Option<Value>,
}

/// The unsigned credential for `subject`, issued by `issuer_did`.
pub fn credential(subject: &BeaSubject<'_>, issuer_did: &str) -> Result<Value, BeaError> {
    let thumbprint = subject
        .device_jwk
        .thumbprint_b64()
        .map_err(|e| BeaError::Malformed(format!("device key: {e}")))?;
    let mut cs = json!({
        "id": subject.object_did,
        "didVersionId": subject.did_version.to_string(),
        "bindingMethod": subject.binding_method,
        "deviceJwkThumbprint": thumbprint,
        "bal": subject.bal.as_str(),
        "enrollmentTimestamp": subject.enrolled_at.to_string(),
        "device": {
            "vendor": subject.vendor,
            "model": subject.model,
            "hardwareRevision": subject.hardware_revision,
        },
        "trustFramework": TFP_1,
        "tamperEvidence": {
            "carrierClass": subject.carrier_class,
            "specification": subject.carrier_specification,
        },
    });
    if let (Some(pid), Some(obj)) = (subject.pid, cs.as_object_mut()) {
        obj.insert("pid".into(), pid.clone());
    }
    let mut credential = json!({
        "@context": [VC_CONTEXT],
        "id": subject.credential_id,
        "type": ["VerifiableCredential", BEA_TYPE],
        "issuer": issuer_did,
        "validFrom": subject.enrolled_at.to_string(),
        "credentialSubject": cs,
    });
    if let (Some(status), Some(obj)) = (&subject.status, credential.as_object_mut()) {
        obj.insert("credentialStatus".into(), status.clone());
    }
    Ok(credential)
}

/// Adds an `eddsa-jcs-2022` proof to `credential`, signed by `key` (Ed25519) named
/// `verification_method`.
pub fn sign(
    mut credential: Value,
    key: &SigningKey,
    verification_method: &str,
    created: Timestamp,
) -> Result<Value, BeaError> {
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(BeaError::KeyType);
    }
    let context = credential
        .get("@context")
        .cloned()
        .ok_or_else(|| BeaError::Malformed("missing @context".into()))?;
    let mut proof = Map::new();
    proof.insert("type".into(), Value::String("DataIntegrityProof".into()));
    proof.insert("cryptosuite".into(), Value::String(CRYPTOSUITE.into()));
    proof.insert("created".into(), Value::String(created.to_string()));
    proof.insert(
        "verificationMethod".into(),
        Value::String(verification_method.into()),
    );
    proof.insert(
        "proofPurpose".into(),
        Value::String("assertionMethod".into()),
    );
    let hash_data = hash_data(&credential, &proof, context)?;
    let signature = key.sign(&hash_data).map_err(|_| BeaError::BadSignature)?;
    proof.insert(
        "proofValue".into(),
        Value::String(format!("z{}", bs58::encode(signature).into_string())),
    );
    let obj = credential
        .as_object_mut()
        .ok_or_else(|| BeaError::Malformed("credential is not an object".into()))?;
    obj.insert("proof".into(), Value::Object(proof));
    Ok(credential)
}

/// Verifies the `eddsa-jcs-2022` proof of `secured` against `key` named `verification_method`.
pub fn verify(
    secured: &Value,
    key: &VerifyingKey,
    verification_method: &str,
) -> Result<(), BeaError> {
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(BeaError::KeyType);
    }
    let obj = secured
        .as_object()
        .ok_or_else(|| BeaError::Malformed("credential is not an object".into()))?;
    let mut proof = obj
        .get("proof")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| BeaError::Malformed("missing proof".into()))?;
    let field = |name: &str| proof.get(name).and_then(Value::as_str).map(str::to_owned);
    if field("type").as_deref() != Some("DataIntegrityProof")
        || field("cryptosuite").as_deref() != Some(CRYPTOSUITE)
        || field("proofPurpose").as_deref() != Some("assertionMethod")
    {
        return Err(BeaError::UnsupportedProof(
            "expected a DataIntegrityProof, eddsa-jcs-2022, assertionMethod".into(),
        ));
    }
    let vm = field("verificationMethod")
        .ok_or_else(|| BeaError::Malformed("proof lacks verificationMethod".into()))?;
    if vm != verification_method {
        return Err(BeaError::WrongKey(vm));
    }
    let proof_value =
        field("proofValue").ok_or_else(|| BeaError::Malformed("proof lacks proofValue".into()))?;
    let encoded = proof_value
        .strip_prefix('z')
        .ok_or_else(|| BeaError::Malformed("proofValue is not base58btc multibase".into()))?;
    let signature = bs58::decode(encoded)
        .into_vec()
        .map_err(|_| BeaError::Malformed("proofValue is not base58btc".into()))?;
    proof.shift_remove("proofValue");
    let mut unsecured = obj.clone();
    unsecured.shift_remove("proof");
    let context = unsecured
        .get("@context")
        .cloned()
        .ok_or_else(|| BeaError::Malformed("missing @context".into()))?;
    let hash_data = hash_data(&Value::Object(unsecured), &proof, context)?;
    key.verify(&hash_data, &signature)
        .map_err(|_| BeaError::BadSignature)
}

fn hash_data(
    unsecured: &Value,
    proof_options: &Map<String, Value>,
    context: Value,
) -> Result<Vec<u8>, BeaError> {
    let mut config = proof_options.clone();
    config.insert("@context".into(), context);
    let canon =
        |v: &Value| cphar_jcs::canonicalize(v).map_err(|e| BeaError::Canonical(e.to_string()));
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&cphar_crypto::sha256(&canon(&Value::Object(config))?));
    out.extend_from_slice(&cphar_crypto::sha256(&canon(unsecured)?));
    Ok(out)
}
