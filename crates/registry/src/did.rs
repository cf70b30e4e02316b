//! Lot DID documents (PROTOCOL.md "Object DID document"), generated from registry state.

use crate::binding::BindingState;
use crate::error::{Refusal, invalid};
use crate::model::{BindingRecord, LotRecord};
use cphar_crypto::Jwk;
use cphar_protocol::TFP_1;
use cphar_protocol::codes::RevocationReason;
use cphar_protocol::did::{MethodSpec, Revocation, document_json};
use serde_json::Value;

/// The registry's `did:web` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryNames {
    host: String,
}

impl RegistryNames {
    /// Names under `host` (a did:web host, e.g. `reg.example` or `localhost%3A8080`).
    pub fn new(host: impl Into<String>) -> Self {
        RegistryNames { host: host.into() }
    }

    /// The registry's own DID (`did:web:HOST`).
    pub fn registry_did(&self) -> String {
        format!("did:web:{}", self.host)
    }

    /// The URL of revocation status list `list` (`/status/revocations/{list}` under the
    /// did:web host, resolved the way did:web resolves: `https`, `%3A` as `:`).
    pub fn status_list_url(&self, list: u64) -> String {
        format!(
            "https://{}/status/revocations/{list}",
            self.host.replace("%3A", ":").replace("%3a", ":")
        )
    }

    /// A lot's DID (`did:web:HOST:lots:ID`).
    pub fn lot_did(&self, lot_id: &str) -> String {
        format!("did:web:{}:lots:{lot_id}", self.host)
    }

    /// The id of the N-th binding method of a lot.
    pub fn method_id(&self, lot_id: &str, n: u64) -> String {
        format!("{}#seal-{n}", self.lot_did(lot_id))
    }

    /// The id of the N-th Enrollment Authority key.
    pub fn authority_key_id(&self, n: u64) -> String {
        format!("{}#ea-{n}", self.registry_did())
    }
}

/// The DID document of `lot` at `version` listing every binding it ever had (`bindings`,
/// oldest first): live ones plain, ended ones marked `revoked` with their reason.
pub fn lot_document(
    lot: &LotRecord,
    bindings: &[BindingRecord],
    version: u64,
) -> Result<Value, Refusal> {
    let methods = bindings
        .iter()
        .map(|b| {
            let jwk = Jwk::from_json(&b.public_jwk)
                .map_err(|e| invalid(format!("stored key of binding {} is unusable: {e}", b.id)))?;
            let revoked = match (b.revocation, b.state) {
                (Some(mark), _) => Some(Revocation {
                    timestamp: mark.at,
                    reason: mark.reason,
                }),
                (None, BindingState::Decommissioned) => Some(Revocation {
                    timestamp: lot.updated_at,
                    reason: RevocationReason::ObjectDecommissioned,
                }),
                (None, _) => None,
            };
            let pid = b.bea.pointer("/credentialSubject/pid").cloned();
            Ok(MethodSpec {
                id: b.id.clone(),
                controller: lot.did.clone(),
                jwk,
                bal: b.bal,
                tfp: Some(TFP_1.to_owned()),
                revoked,
                pid,
                pbac: None,
                profile_c_risk_acceptance: None,
                // The registry's seals authenticate their status (CPHAR extension).
                status_signature: true,
                max_attestation_interval_seconds: None,
            })
        })
        .collect::<Result<Vec<_>, Refusal>>()?;
    Ok(document_json(&lot.did, version, &methods))
}
