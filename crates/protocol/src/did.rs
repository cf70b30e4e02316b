//! Object DID documents and their `UORABindingVerification` methods (PROTOCOL.md "Object DID
//! document").
//!
//! A document is parsed once into typed methods with their public keys already decoded, so a
//! verifier that caches resolved documents pays for key parsing once, not per challenge.
//! Methods of other types are ignored. A binding method counts only if `assertionMethod`
//! lists it (seed 002 §4.2.2 step 5: "The method MUST be listed under assertionMethod").

use crate::codes::{Bal, RevocationReason};
use crate::domain::STATUS_SIGNATURE_CAPABILITY;
use crate::fields::{self, FieldError};
use crate::timestamp::Timestamp;
use cphar_crypto::{Jwk, VerifyingKey};
use serde_json::{Map, Value};
use time::Duration;

/// The binding method member publishing the BAL-4 maximum attestation interval, in seconds
/// (CPHAR extension: seed 002 §3.4 records it in the BEA; the DID document carries it to
/// verifiers).
pub const MAX_ATTESTATION_INTERVAL_MEMBER: &str = "cpharMaxAttestationIntervalSeconds";

/// The largest interval a method may declare (one year): beyond it the bound is no bound.
pub const MAX_ATTESTATION_INTERVAL_LIMIT: u64 = 366 * 24 * 3600;

/// The verification method type of a binding device key.
pub const BINDING_METHOD_TYPE: &str = "UORABindingVerification";

/// Why a DID document is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DidDocumentError {
    /// Not strict I-JSON.
    #[error("not I-JSON: {0}")]
    Json(#[from] cphar_jcs::ParseError),
    /// A document-level member is missing or invalid.
    #[error("{0}")]
    Field(#[from] FieldError),
    /// A binding method is malformed.
    #[error("binding method {index}: {problem}")]
    Method {
        /// Position in `verificationMethod`.
        index: usize,
        /// What is wrong.
        problem: String,
    },
    /// Two methods share an id.
    #[error("duplicate verification method id '{0}'")]
    DuplicateMethodId(String),
}

/// The key of a binding method.
#[derive(Debug, Clone)]
pub enum MethodKey {
    /// Profile A or B: a public key.
    Public(VerifyingKey),
    /// Profile C (deprecated): a symmetric key the verifier must hold, named by `kid`.
    Cmac {
        /// The key identifier.
        kid: String,
    },
}

/// A revocation mark on a binding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    /// When the binding was revoked.
    pub timestamp: Timestamp,
    /// Why (seed 002 §4.4.2).
    pub reason: RevocationReason,
}

/// PBAC support advertised by a method (Appendix C.2 step 4–5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbacSupport {
    /// The DID of the device's Proximity Verifier Service.
    pub pvs_did: String,
    /// SHA-256 of the channel key.
    pub ck_hash: Vec<u8>,
}

/// One `UORABindingVerification` method.
#[derive(Debug, Clone)]
pub struct BindingMethod {
    /// Absolute method id (`<doc id>#fragment`).
    pub id: String,
    /// The controlling DID.
    pub controller: String,
    /// The public JWK as published.
    pub jwk: Jwk,
    /// The decoded key.
    pub key: MethodKey,
    /// The method's assurance level (the one verification trusts).
    pub bal: Bal,
    /// Trust framework profile identifier, if declared.
    pub tfp: Option<String>,
    /// Present only when revoked.
    pub revoked: Option<Revocation>,
    /// PUF Interface Descriptor (Appendix A), kept as published; validated at step 5.
    pub pid: Option<Value>,
    /// PBAC support, if advertised.
    pub pbac: Option<PbacSupport>,
    /// Profile C risk acceptance object, kept as published; validated after step 4.
    pub profile_c_risk_acceptance: Option<Value>,
    /// Whether the seal authenticates its status (`cpharStatusSignature: true`, CPHAR
    /// extension): responses without a valid `statusSignature` are then not valid.
    pub status_signature: bool,
    /// The BAL-4 maximum attestation interval declared at enrollment
    /// (`cpharMaxAttestationIntervalSeconds`, CPHAR extension), if published.
    pub max_attestation_interval: Option<Duration>,
}

impl BindingMethod {
    /// Whether this method uses the deprecated symmetric profile C.
    pub fn is_profile_c(&self) -> bool {
        matches!(self.key, MethodKey::Cmac { .. })
    }
}

/// A resolved object DID document.
#[derive(Debug, Clone)]
pub struct DidDocument {
    raw: Value,
    id: String,
    version_id: String,
    methods: Vec<BindingMethod>,
}

impl DidDocument {
    /// Parses a document from bytes (strict I-JSON).
    pub fn from_json(bytes: &[u8]) -> Result<Self, DidDocumentError> {
        Self::from_value(cphar_jcs::parse(bytes)?)
    }

    /// Parses a document from a value.
    pub fn from_value(raw: Value) -> Result<Self, DidDocumentError> {
        let obj = fields::object(&raw)?;
        let id = fields::req_did(obj, "id")?.to_owned();
        let version_id = fields::req_str(obj, "versionId")?;
        if version_id.is_empty() || !version_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::Invalid("versionId".into()).into());
        }
        let version_id = version_id.to_owned();

        let asserted = asserted_ids(obj, &id)?;
        let mut methods: Vec<BindingMethod> = Vec::new();
        let listed = match obj.get("verificationMethod") {
            None => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return Err(FieldError::WrongType("verificationMethod".into()).into()),
        };
        let embedded = obj
            .get("assertionMethod")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter(|v| v.is_object()).collect::<Vec<_>>())
            .unwrap_or_default();
        let mut all_ids: Vec<String> = Vec::new();
        for (index, entry) in listed.iter().chain(embedded.iter().copied()).enumerate() {
            let m = entry.as_object().ok_or_else(|| DidDocumentError::Method {
                index,
                problem: "not an object".into(),
            })?;
            let mid = m
                .get("id")
                .and_then(Value::as_str)
                .map(|s| absolute_id(s, &id))
                .ok_or_else(|| DidDocumentError::Method {
                    index,
                    problem: "missing id".into(),
                })?;
            if all_ids.contains(&mid) {
                return Err(DidDocumentError::DuplicateMethodId(mid));
            }
            all_ids.push(mid.clone());
            if m.get("type").and_then(Value::as_str) != Some(BINDING_METHOD_TYPE) {
                continue;
            }
            let is_embedded = index >= listed.len();
            if !is_embedded && !asserted.contains(&mid) {
                continue;
            }
            let method = parse_method(m, mid, &id)
                .map_err(|problem| DidDocumentError::Method { index, problem })?;
            methods.push(method);
        }
        Ok(DidDocument {
            raw,
            id,
            version_id,
            methods,
        })
    }

    /// The document as published.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
    /// The object DID.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The version identifier (decimal string).
    pub fn version_id(&self) -> &str {
        &self.version_id
    }
    /// The usable binding methods, in document order.
    pub fn binding_methods(&self) -> &[BindingMethod] {
        &self.methods
    }
}

/// Method ids may be relative (`#seal-1`) per DID Core; everything is compared absolute.
fn absolute_id(id: &str, doc_id: &str) -> String {
    if id.starts_with('#') {
        format!("{doc_id}{id}")
    } else {
        id.to_owned()
    }
}

/// The ids referenced (as strings) by `assertionMethod`.
fn asserted_ids(obj: &Map<String, Value>, doc_id: &str) -> Result<Vec<String>, FieldError> {
    match obj.get("assertionMethod") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => ids.push(absolute_id(s, doc_id)),
                    Value::Object(_) => {} // embedded methods are handled with the others
                    _ => return Err(FieldError::WrongType("assertionMethod".into())),
                }
            }
            Ok(ids)
        }
        Some(_) => Err(FieldError::WrongType("assertionMethod".into())),
    }
}

fn parse_method(m: &Map<String, Value>, id: String, doc_id: &str) -> Result<BindingMethod, String> {
    let describe = |e: FieldError| e.to_string();
    if !id.starts_with(doc_id) || id.as_bytes().get(doc_id.len()) != Some(&b'#') {
        return Err(format!("method id '{id}' does not belong to {doc_id}"));
    }
    let controller = fields::req_did(m, "controller")
        .map_err(describe)?
        .to_owned();
    let jwk_value = m
        .get("publicKeyJwk")
        .ok_or_else(|| "missing required member 'publicKeyJwk'".to_owned())?;
    let jwk = Jwk::from_json(jwk_value).map_err(|e| format!("publicKeyJwk: {e}"))?;
    let key = if jwk.kty == "oct" {
        let kid = jwk
            .kid
            .clone()
            .ok_or_else(|| "profile C key without 'kid'".to_owned())?;
        MethodKey::Cmac { kid }
    } else {
        MethodKey::Public(VerifyingKey::from_jwk(&jwk).map_err(|e| format!("publicKeyJwk: {e}"))?)
    };
    let bal = fields::req_code::<Bal>(m, "bal").map_err(describe)?;
    let tfp = fields::opt_str(m, "tfp")
        .map_err(describe)?
        .map(str::to_owned);
    let revoked = match fields::opt_object(m, "revoked").map_err(describe)? {
        None => None,
        Some(r) => Some(Revocation {
            timestamp: fields::req_time(r, "timestamp").map_err(|e| format!("revoked: {e}"))?,
            reason: fields::req_code::<RevocationReason>(r, "reason")
                .map_err(|e| format!("revoked: {e}"))?,
        }),
    };
    let pbac = match fields::opt_object(m, "pbac").map_err(describe)? {
        None => None,
        Some(p) => {
            let pvs_did = fields::req_did(p, "pvsDid").map_err(|e| format!("pbac: {e}"))?;
            let ck_hash = fields::req_b64(p, "ckHash").map_err(|e| format!("pbac: {e}"))?;
            if ck_hash.len() != 32 {
                return Err("pbac: ckHash is not a SHA-256 digest".into());
            }
            Some(PbacSupport {
                pvs_did: pvs_did.to_owned(),
                ck_hash,
            })
        }
    };
    let status_signature = fields::opt_bool(m, STATUS_SIGNATURE_CAPABILITY)
        .map_err(describe)?
        .unwrap_or(false);
    let max_attestation_interval = match m.get(MAX_ATTESTATION_INTERVAL_MEMBER) {
        None => None,
        Some(v) => match v.as_u64() {
            Some(secs @ 1..=MAX_ATTESTATION_INTERVAL_LIMIT) => {
                Some(Duration::seconds(i64::try_from(secs).map_err(|_| {
                    format!("{MAX_ATTESTATION_INTERVAL_MEMBER} is out of range")
                })?))
            }
            _ => {
                return Err(format!(
                    "{MAX_ATTESTATION_INTERVAL_MEMBER} is not an integer in 1..={MAX_ATTESTATION_INTERVAL_LIMIT}"
                ));
            }
        },
    };
    Ok(BindingMethod {
        id,
        controller,
        jwk,
        key,
        bal,
        tfp,
        revoked,
        pid: m.get("pid").cloned(),
        pbac,
        profile_c_risk_acceptance: m.get("profileCRiskAcceptance").cloned(),
        status_signature,
        max_attestation_interval,
    })
}

/// What a registry publishes for one binding method; [`MethodSpec::to_json`] writes it in the
/// PROTOCOL.md shape. Used to generate DID documents from registry state.
#[derive(Debug, Clone)]
pub struct MethodSpec {
    /// Absolute method id.
    pub id: String,
    /// Controlling DID (the object DID).
    pub controller: String,
    /// The binding device's public JWK.
    pub jwk: Jwk,
    /// Declared BAL.
    pub bal: Bal,
    /// Trust framework profile identifier.
    pub tfp: Option<String>,
    /// Revocation mark.
    pub revoked: Option<Revocation>,
    /// PUF Interface Descriptor (BAL-3/4).
    pub pid: Option<Value>,
    /// PBAC support.
    pub pbac: Option<PbacSupport>,
    /// Profile C risk acceptance object.
    pub profile_c_risk_acceptance: Option<Value>,
    /// Advertise authenticated device status (`cpharStatusSignature: true`).
    pub status_signature: bool,
    /// BAL-4 maximum attestation interval in seconds (`cpharMaxAttestationIntervalSeconds`).
    pub max_attestation_interval_seconds: Option<u64>,
}

impl MethodSpec {
    /// The verification method object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.clone()));
        m.insert("type".into(), Value::String(BINDING_METHOD_TYPE.into()));
        m.insert("controller".into(), Value::String(self.controller.clone()));
        m.insert("publicKeyJwk".into(), self.jwk.to_json());
        m.insert("bal".into(), Value::String(self.bal.as_str().into()));
        if let Some(tfp) = &self.tfp {
            m.insert("tfp".into(), Value::String(tfp.clone()));
        }
        if let Some(r) = &self.revoked {
            let mut rv = Map::new();
            rv.insert("timestamp".into(), Value::String(r.timestamp.to_string()));
            rv.insert("reason".into(), Value::String(r.reason.as_str().into()));
            m.insert("revoked".into(), Value::Object(rv));
        }
        if let Some(pid) = &self.pid {
            m.insert("pid".into(), pid.clone());
        }
        if let Some(p) = &self.pbac {
            let mut pv = Map::new();
            pv.insert("pvsDid".into(), Value::String(p.pvs_did.clone()));
            pv.insert(
                "ckHash".into(),
                Value::String(cphar_crypto::b64::encode(&p.ck_hash)),
            );
            m.insert("pbac".into(), Value::Object(pv));
        }
        if let Some(ra) = &self.profile_c_risk_acceptance {
            m.insert("profileCRiskAcceptance".into(), ra.clone());
        }
        if self.status_signature {
            m.insert(STATUS_SIGNATURE_CAPABILITY.into(), Value::Bool(true));
        }
        if let Some(secs) = self.max_attestation_interval_seconds {
            m.insert(MAX_ATTESTATION_INTERVAL_MEMBER.into(), Value::from(secs));
        }
        Value::Object(m)
    }
}

/// An object DID document: `id`, `versionId`, the methods, and `assertionMethod` listing them.
pub fn document_json(id: &str, version_id: u64, methods: &[MethodSpec]) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "@context".into(),
        Value::Array(vec![Value::String("https://www.w3.org/ns/did/v1".into())]),
    );
    doc.insert("id".into(), Value::String(id.to_owned()));
    doc.insert("versionId".into(), Value::String(version_id.to_string()));
    doc.insert(
        "verificationMethod".into(),
        Value::Array(methods.iter().map(MethodSpec::to_json).collect()),
    );
    doc.insert(
        "assertionMethod".into(),
        Value::Array(
            methods
                .iter()
                .map(|m| Value::String(m.id.clone()))
                .collect(),
        ),
    );
    Value::Object(doc)
}
