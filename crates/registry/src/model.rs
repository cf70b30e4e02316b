//! The registry's records: what is stored for seals, lots, inspections, custody, bindings and
//! Enrollment Authority keys, and the one rule that decides the active reserve set.
//!
//! Every mutable record carries `version`, incremented on each change: storage applies a
//! change only if the stored version is the one the change was computed from.

use crate::binding::BindingState;
use crate::error::{Refusal, invalid};
use crate::seal::SealState;
use crate::wire;
use cphar_protocol::{Bal, RevocationReason, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Tamper-evidence carrier of a seal (seed 002 §4.2.2 step 6, all BALs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TamperEvidence {
    /// Carrier class, e.g. `"bolt-seal"`, `"label"`.
    pub carrier_class: String,
    /// The engineering specification it conforms to.
    pub specification: String,
}

/// What the registry learned from the device certificate chain when it accepted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCertificate {
    /// Issuer distinguished name of the leaf.
    pub issuer: String,
    /// Subject distinguished name of the leaf.
    pub subject: String,
    /// Leaf serial number, lower-case hex.
    pub serial: String,
    /// SHA-256 of the leaf certificate DER, lower-case hex.
    pub fingerprint: String,
    /// The chain as received, base64url DER, leaf first.
    pub chain: Vec<String>,
    /// The leaf's notAfter (re-checked at every attestation). Absent in records made before
    /// it was kept.
    #[serde(
        default,
        with = "wire::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_after: Option<Timestamp>,
    /// Seed 001 device identity fields from the CPHAR device-identity extension, when the
    /// certificate carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<DeviceIdentityRecord>,
    /// The chain id: SHA-256 of the vendor root the chain was verified to (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
    /// Issuer rotation state at registration: `active`, or `grace` when anchored on a
    /// retiring root inside its window (seed 001 dual-certificate window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_state: Option<String>,
}

/// Seed 001's device identity data model as the vendor certified it
/// (`docs/device-certificate.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceIdentityRecord {
    /// The certified BAL.
    #[serde(with = "wire")]
    pub certified_bal: Bal,
    /// `generated-on-device` or `imported`.
    pub key_origin: String,
    /// Whether the key is non-exportable.
    pub non_exportable: bool,
    /// Product SKU.
    pub sku: String,
    /// Hardware id read at intake.
    pub hardware_id: String,
    /// Manufacturing batch.
    pub batch: String,
    /// The vendor's provisioning record id.
    pub provisioning_record_id: String,
    /// The chain the certificate verified to (the root's subject).
    pub chain_id: String,
}

/// A registered seal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealRecord {
    /// Device UID (unique).
    pub uid: String,
    /// Lifecycle state (seed 000).
    #[serde(with = "wire")]
    pub state: SealState,
    /// Vendor id (a key of the vendor trust configuration).
    pub vendor: String,
    /// Device type / model identifier.
    pub device_type: String,
    /// Hardware revision.
    pub hardware_revision: String,
    /// Declared binding assurance level.
    #[serde(with = "wire")]
    pub bal: Bal,
    /// The seal's public key as a JWK.
    pub public_jwk: Value,
    /// RFC 7638 thumbprint of the key (base64url), unique across seals.
    pub key_thumbprint: String,
    /// Accepted device certificate.
    pub certificate: DeviceCertificate,
    /// Firmware measurement as registered (`sha256:<hex>` / `sha384:<hex>`).
    pub firmware_measurement: String,
    /// Tamper-evidence carrier.
    pub tamper_evidence: TamperEvidence,
    /// PUF Interface Descriptor (BAL-3/4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<Value>,
    /// The lot this seal was inspected for / closes.
    #[serde(default)]
    pub lot_id: Option<String>,
    /// Network endpoint of the seal agent, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Registration time.
    #[serde(with = "wire")]
    pub registered_at: Timestamp,
    /// Last successful attestation.
    #[serde(default, with = "wire::option")]
    pub last_attested_at: Option<Timestamp>,
    /// Challenges in a row this seal did not answer (reset by any answer).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unreachable_streak: u32,
    /// Optimistic-concurrency version.
    pub version: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A quantity with its unit. The amount is a decimal string: never a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    /// Decimal amount, e.g. `"400.000"`.
    pub amount: String,
    /// Unit, e.g. `"kg"`, `"troy_oz"`, `"t"`.
    pub unit: String,
}

impl Quantity {
    /// Checks the amount is a non-negative decimal (digits, optional fraction) and the unit
    /// is a short identifier.
    pub fn validate(&self) -> Result<(), Refusal> {
        let (int, frac) = match self.amount.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (self.amount.as_str(), None),
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 30 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || frac.is_some_and(|f| !digits(f)) {
            return Err(invalid(format!(
                "quantity amount {:?} is not a decimal number",
                self.amount
            )));
        }
        check_identifier("quantity unit", &self.unit)
    }
}

/// Evidence of an inspection: a content hash and where to find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Evidence {
    /// `sha256:<64 hex>` or `sha384:<96 hex>` of the evidence bundle.
    pub hash: String,
    /// Where the bundle is kept.
    pub uri: String,
}

impl Evidence {
    /// Checks the hash format and that the URI is non-empty and printable.
    pub fn validate(&self) -> Result<(), Refusal> {
        check_digest("evidence hash", &self.hash)?;
        check_text("evidence uri", &self.uri, 2048)
    }
}

/// One inspection of a lot (seed 000: recorded, not judged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InspectionRecord {
    /// Inspection id.
    pub id: String,
    /// The inspected lot.
    pub lot_id: String,
    /// The seal presented to close the container.
    pub seal_uid: String,
    /// The inspector's identity.
    pub inspector: String,
    /// Commodity as found.
    pub commodity: String,
    /// Quantity as found.
    pub quantity: Quantity,
    /// Grade as found.
    pub grade: String,
    /// Container id.
    pub container_id: String,
    /// Evidence.
    pub evidence: Evidence,
    /// When the inspection took place (inspector's statement).
    #[serde(with = "wire")]
    pub inspected_at: Timestamp,
    /// When the registry recorded it.
    #[serde(with = "wire")]
    pub recorded_at: Timestamp,
}

/// A chain-of-custody event between inspection and sealing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustodyRecord {
    /// Custody event id.
    pub id: String,
    /// The lot.
    pub lot_id: String,
    /// Who held the container.
    pub holder: String,
    /// What happened (`received`, `transferred`, `stored`, …).
    pub action: String,
    /// When.
    #[serde(with = "wire")]
    pub at: Timestamp,
    /// Who recorded it.
    pub recorded_by: String,
}

cphar_protocol::wire_enum! {
    /// Where a lot is.
    LotState {
        /// Inspected; waiting for its seal to be bound.
        Inspected => "inspected",
        /// Bound to a seal (in the active set once signed off and intact).
        Bound => "bound",
        /// Its binding ended (seal broken, retired or revoked): must be re-inspected and resealed.
        Unsealed => "unsealed",
        /// End of life. Terminal.
        Decommissioned => "decommissioned",
    }
}

/// A lot of a physical commodity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LotRecord {
    /// Lot id (`[A-Za-z0-9._-]`, 1–64 characters): also the last part of its DID.
    pub lot_id: String,
    /// The lot's `did:web` DID; stable across rebinding.
    pub did: String,
    /// Lot state.
    #[serde(with = "wire")]
    pub state: LotState,
    /// Commodity.
    pub commodity: String,
    /// Quantity.
    pub quantity: Quantity,
    /// Grade.
    pub grade: String,
    /// Container id.
    pub container_id: String,
    /// Location.
    pub location: String,
    /// Owner.
    pub owner: String,
    /// The latest inspection.
    pub inspection_id: String,
    /// The seal presented at the latest inspection (the one a bind must use).
    #[serde(default)]
    pub inspected_seal: Option<String>,
    /// The current binding, if any.
    #[serde(default)]
    pub binding_id: Option<String>,
    /// Number of bindings ever made (method ids are `#seal-N`).
    pub binding_count: u64,
    /// Current DID document `versionId` (0 = no document yet).
    pub did_version: u64,
    /// Whether the lot is in the active reserve set, as decided by [`in_active_reserve`].
    pub active: bool,
    /// The latest evidence that the lot is intact: its auditor sign-off, then each valid
    /// attestation. A lot whose evidence is older than the attestation cadence plus its grace
    /// lapses out of the active set.
    #[serde(default, with = "wire::option")]
    pub evidence_at: Option<Timestamp>,
    /// Why the lot is out of the active set although its binding and seal are good: its
    /// evidence lapsed. Cleared by the next valid attestation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lapse: Option<Lapse>,
    /// Creation time.
    #[serde(with = "wire")]
    pub created_at: Timestamp,
    /// Last change.
    #[serde(with = "wire")]
    pub updated_at: Timestamp,
    /// Optimistic-concurrency version.
    pub version: u64,
}

/// A revocation mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationMark {
    /// Reason code (seed 002 §4.4.2).
    #[serde(with = "wire")]
    pub reason: RevocationReason,
    /// When.
    #[serde(with = "wire")]
    pub at: Timestamp,
}

/// An auditor's approval of a binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignOff {
    /// The auditor's identity.
    pub auditor: String,
    /// When.
    #[serde(with = "wire")]
    pub at: Timestamp,
}

/// A binding of a seal to a lot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingRecord {
    /// Binding id: the absolute verification method id (`<lot DID>#seal-N`).
    pub id: String,
    /// N: the binding's number within its lot, from 1.
    pub number: u64,
    /// The lot.
    pub lot_id: String,
    /// The seal.
    pub seal_uid: String,
    /// The seal's public key (JWK), as published in the DID document.
    pub public_jwk: Value,
    /// Lifecycle state (seed 002 §7).
    #[serde(with = "wire")]
    pub state: BindingState,
    /// The BAL of the binding.
    #[serde(with = "wire")]
    pub bal: Bal,
    /// Operator who bound it.
    pub bound_by: String,
    /// The inspection the binding was made from.
    pub inspection_id: String,
    /// Auditor sign-off.
    #[serde(default)]
    pub sign_off: Option<SignOff>,
    /// Revocation mark.
    #[serde(default)]
    pub revocation: Option<RevocationMark>,
    /// The EA key that signed the current BEA.
    pub authority_key_id: String,
    /// The BEA (W3C VC with a Data Integrity proof).
    pub bea: Value,
    /// Set while the BEA's authority is revoked and re-enrollment is pending (TFP-1 §B.2):
    /// the deadline after which the binding is revoked with `authority_revoked`.
    #[serde(default, with = "wire::option")]
    pub reenroll_deadline: Option<Timestamp>,
    /// When the BEA was first issued.
    #[serde(with = "wire")]
    pub enrolled_at: Timestamp,
    /// The binding's slot in the revocation status lists ([`crate::status_list`]); absent on
    /// bindings made before status lists were published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_index: Option<u64>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl BindingRecord {
    /// Whether the BEA is currently trusted (its authority is not revoked).
    pub fn bea_valid(&self) -> bool {
        self.reenroll_deadline.is_none()
    }
}

cphar_protocol::wire_enum! {
    /// State of an Enrollment Authority key.
    AuthorityState {
        /// Signs BEAs.
        Active => "active",
        /// Its credential is revoked: BEAs it signed are invalid until re-enrollment.
        Revoked => "revoked",
    }
}

/// An Enrollment Authority key the registry signs BEAs with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorityRecord {
    /// Verification method id of the key (`<registry DID>#ea-N`).
    pub key_id: String,
    /// N, from 1.
    pub number: u64,
    /// The public key (Ed25519 JWK).
    pub public_jwk: Value,
    /// State.
    #[serde(with = "wire")]
    pub state: AuthorityState,
    /// When it was revoked.
    #[serde(default, with = "wire::option")]
    pub revoked_at: Option<Timestamp>,
    /// Creation time.
    #[serde(with = "wire")]
    pub created_at: Timestamp,
    /// Optimistic-concurrency version.
    pub version: u64,
}

cphar_protocol::wire_enum! {
    /// Why a lot's evidence lapsed (seed 000: a re-applied seal is caught by the attestation
    /// cadence).
    LapseReason {
        /// No valid attestation within the cadence plus its grace.
        AttestationOverdue => "attestation_overdue",
        /// The seal did not answer several challenges in a row.
        DeviceUnreachable => "device_unreachable",
    }
}

/// A lot's lapsed evidence: why, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lapse {
    /// Why.
    #[serde(with = "wire")]
    pub reason: LapseReason,
    /// Since when.
    #[serde(with = "wire")]
    pub since: Timestamp,
}

/// **The** active reserve set rule (seed 000, issue settlement): a lot is in the active
/// reserve set exactly when its current binding is signed off by an independent auditor, is
/// not revoked (nor its BEA invalidated by an authority revocation, TFP-1 §B.2), its seal is
/// Sealed or Attested, and its evidence has not lapsed (a valid attestation within the
/// cadence and its grace, the seal answering).
pub fn in_active_reserve(
    binding: Option<&BindingRecord>,
    seal_state: Option<SealState>,
    lapse: Option<&Lapse>,
) -> bool {
    let (Some(binding), Some(seal_state)) = (binding, seal_state) else {
        return false;
    };
    binding.sign_off.is_some()
        && binding.state.is_live()
        && binding.revocation.is_none()
        && binding.bea_valid()
        && seal_state.is_intact()
        && lapse.is_none()
}

pub use crate::ident::check_lot_id;

/// Other identifiers (units, vendor ids, container ids, actions): printable ASCII without spaces.
pub fn check_identifier(what: &str, value: &str) -> Result<(), Refusal> {
    if value.is_empty() || value.len() > 128 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(format!(
            "{what} must be 1-128 printable ASCII characters without spaces"
        )));
    }
    Ok(())
}

/// Free text (names, grades, locations): non-empty, bounded, no control characters.
pub fn check_text(what: &str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.trim().is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what} must be non-empty text of at most {max} bytes"
        )));
    }
    Ok(())
}

/// `sha256:<64 hex>` or `sha384:<96 hex>`, lower-case.
pub fn check_digest(what: &str, value: &str) -> Result<(), Refusal> {
    let ok = match value.split_once(':') {
        Some(("sha256", hex)) => hex.len() == 64,
        Some(("sha384", hex)) => hex.len() == 96,
        _ => false,
    } && value
        .split_once(':')
        .is_some_and(|(_, hex)| hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{what} must be sha256:<64 hex> or sha384:<96 hex>, lower case"
        )))
    }
}
