//! The wire types of the HTTP API as JSON Schema (2020-12, the dialect of OpenAPI 3.1).
//!
//! Request bodies and query strings owned by the server derive their schemas where they are
//! defined (the route modules); this module holds the response types (those the handlers
//! serialize directly, like [`PublicLot`] and [`Leaves`], and descriptions of the others) and
//! the schema views of
//! the registry's records and commands (`cphar_registry::model`, `decide`), which serialize
//! with serde and are described here field for field. Enumerations take their values from the
//! Rust enums themselves ([`wire_enum_schema`]), so a new state or code shows up in the
//! document by itself. The HTTP suite checks every answer of the running server against
//! these schemas, so a record that grows a field without its schema fails a test.

// Schema-only types: they are never constructed, only described.
#![allow(dead_code)]

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

/// A string enumeration whose values come from a `wire_enum!` type.
fn enum_schema(values: &[&'static str], description: &str) -> Schema {
    json_schema!({"type": "string", "enum": values, "description": description})
}

macro_rules! wire_enum_schema {
    ($($name:ident = $ty:ty, $doc:literal;)+) => {$(
        #[doc = $doc]
        pub struct $name;
        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let values: Vec<&'static str> = <$ty>::ALL.iter().map(|v| v.as_str()).collect();
                enum_schema(&values, $doc)
            }
        }
    )+};
}

wire_enum_schema! {
    SealState = cphar_registry::SealState, "A seal's lifecycle state (seed 000).";
    BindingState = cphar_registry::BindingState, "A binding's lifecycle state (seed 002 §7).";
    LotState = cphar_registry::model::LotState, "A lot's state.";
    BalLevel = cphar_protocol::Bal, "Binding assurance level.";
    RevocationReason = cphar_protocol::RevocationReason, "A revocation reason code.";
    EventType = cphar_registry::EventType, "A registry event type.";
    LapseReason = cphar_registry::model::LapseReason, "Why a lot's evidence lapsed.";
    RoleName = crate::auth::Role, "An API role.";
}

/// An RFC 3339 UTC timestamp.
pub struct Time;
impl JsonSchema for Time {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "format": "date-time"})
    }
}

/// Any JSON object (JWKs, BEAs, event data: described by their own specifications).
pub struct AnyObject;
impl JsonSchema for AnyObject {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("Object")
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "object"})
    }
}

// ---------------------------------------------------------------------------------------------
// Registry records (cphar_registry::model)

/// `cphar_registry::model::TamperEvidence`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct TamperEvidence {
    carrier_class: String,
    specification: String,
}

/// `cphar_registry::model::DeviceCertificate`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceCertificate {
    issuer: String,
    subject: String,
    serial: String,
    fingerprint: String,
    chain: Vec<String>,
    /// The leaf's notAfter (re-checked at every attestation).
    #[schemars(default)]
    not_after: Option<Time>,
    /// Seed 001 identity fields from the CPHAR device-identity extension.
    #[schemars(default)]
    identity: Option<DeviceIdentity>,
    /// SHA-256 of the vendor root the chain verified to.
    #[schemars(default)]
    chain_id: Option<String>,
    /// `active` or `grace` (anchored on a retiring root inside its rotation window).
    #[schemars(default)]
    rotation_state: Option<String>,
}

/// `cphar_registry::model::DeviceIdentityRecord`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceIdentity {
    certified_bal: BalLevel,
    key_origin: String,
    non_exportable: bool,
    sku: String,
    hardware_id: String,
    batch: String,
    provisioning_record_id: String,
    chain_id: String,
}

/// `POST /enrollment/challenges` answer (`cphar_registry::device`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrollmentChallenge {
    /// `CpharEnrollmentChallenge`.
    r#type: String,
    /// base64url, 32 bytes.
    nonce: String,
    /// The Enrollment Authority key id.
    authority: String,
    issued_at: Time,
    expires_at: Time,
    /// base64url Ed25519 signature by the EA key.
    signature: String,
}

/// A registration's proof of possession (`cphar_registry::device::EnrollmentProof`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EnrollmentProof {
    challenge: EnrollmentChallenge,
    /// base64url signature by the binding key over the `enrollment` envelope.
    signature: String,
}

/// A seal (`cphar_registry::SealRecord`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seal {
    uid: String,
    state: SealState,
    vendor: String,
    device_type: String,
    hardware_revision: String,
    bal: BalLevel,
    public_jwk: AnyObject,
    key_thumbprint: String,
    certificate: DeviceCertificate,
    firmware_measurement: String,
    tamper_evidence: TamperEvidence,
    #[schemars(default)]
    pid: Option<AnyObject>,
    lot_id: Option<String>,
    #[schemars(default)]
    endpoint: Option<String>,
    registered_at: Time,
    last_attested_at: Option<Time>,
    /// Challenges in a row the seal did not answer (absent when none).
    #[schemars(default)]
    unreachable_streak: Option<u32>,
    version: u64,
}

/// `cphar_registry::model::Quantity`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Quantity {
    /// A decimal number.
    amount: String,
    unit: String,
}

/// `cphar_registry::model::Evidence`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Evidence {
    hash: String,
    uri: String,
}

/// An inspection (`cphar_registry::model::InspectionRecord`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inspection {
    id: String,
    lot_id: String,
    seal_uid: String,
    inspector: String,
    commodity: String,
    quantity: Quantity,
    grade: String,
    container_id: String,
    evidence: Evidence,
    inspected_at: Time,
    recorded_at: Time,
}

/// A custody record (`cphar_registry::model::CustodyRecord`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Custody {
    id: String,
    lot_id: String,
    holder: String,
    action: String,
    at: Time,
    recorded_by: String,
}

/// A lot (`cphar_registry::LotRecord`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lot {
    lot_id: String,
    did: String,
    state: LotState,
    commodity: String,
    quantity: Quantity,
    grade: String,
    container_id: String,
    location: String,
    owner: String,
    inspection_id: String,
    inspected_seal: Option<String>,
    binding_id: Option<String>,
    binding_count: u64,
    did_version: u64,
    active: bool,
    /// The latest evidence the lot is intact: its sign-off, then each valid attestation.
    #[schemars(default)]
    evidence_at: Option<Time>,
    /// Why the lot left the active set although its binding and seal are good.
    #[schemars(default)]
    lapse: Option<Lapse>,
    created_at: Time,
    updated_at: Time,
    version: u64,
}

/// `cphar_registry::model::Lapse`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Lapse {
    reason: LapseReason,
    since: Time,
}

/// `cphar_registry::model::SignOff`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SignOff {
    auditor: String,
    at: Time,
}

/// `cphar_registry::model::RevocationMark`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RevocationMark {
    reason: RevocationReason,
    at: Time,
}

/// A binding (`cphar_registry::BindingRecord`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Binding {
    id: String,
    number: u64,
    lot_id: String,
    seal_uid: String,
    public_jwk: AnyObject,
    state: BindingState,
    bal: BalLevel,
    bound_by: String,
    inspection_id: String,
    sign_off: Option<SignOff>,
    revocation: Option<RevocationMark>,
    authority_key_id: String,
    /// The Binding Enrollment Attestation (a verifiable credential).
    bea: AnyObject,
    reenroll_deadline: Option<Time>,
    enrolled_at: Time,
    /// The binding's slot in the revocation status lists (absent on bindings that predate
    /// them).
    #[schemars(default)]
    status_index: Option<u64>,
    version: u64,
}

/// A registry event with its position (`cphar_registry::StoredEvent`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    sequence: u64,
    event_type: EventType,
    subject: String,
    actor: String,
    at: Time,
    #[schemars(default)]
    reason_code: Option<String>,
    data: Value,
}

// ---------------------------------------------------------------------------------------------
// Registry commands (cphar_registry::decide)

/// `POST /seals` (`cphar_registry::decide::RegisterSeal`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterSeal {
    uid: String,
    vendor: String,
    device_type: String,
    hardware_revision: String,
    bal: BalLevel,
    public_jwk: AnyObject,
    certificate_chain_pem: String,
    firmware_measurement: String,
    tamper_evidence: TamperEvidence,
    #[schemars(default)]
    pid: Option<AnyObject>,
    #[schemars(default)]
    endpoint: Option<String>,
    /// Proof of possession (seed 002 §4.2.2 steps 1–4).
    #[schemars(default)]
    enrollment: Option<EnrollmentProof>,
}

/// `POST /inspections` (`cphar_registry::decide::RecordInspection`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordInspection {
    lot_id: String,
    seal_uid: String,
    commodity: String,
    quantity: Quantity,
    grade: String,
    container_id: String,
    location: String,
    owner: String,
    evidence: Evidence,
    #[schemars(default)]
    inspected_at: Option<Time>,
}

/// `POST /custody` (`cphar_registry::decide::RecordCustody`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordCustody {
    lot_id: String,
    holder: String,
    action: String,
    #[schemars(default)]
    at: Option<Time>,
}

// ---------------------------------------------------------------------------------------------
// Responses

/// `GET /health`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Health {
    status: String,
    /// The module's status (self-tests, integrity, error state).
    module: AnyObject,
    /// The sequence number of this process's audit epoch.
    epoch: Option<u64>,
    clock: ClockStatus,
}

/// Whether the clock may date signatures.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ClockStatus {
    signing: bool,
}

/// `GET /ready`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Ready {
    ready: bool,
}

/// A DID document (W3C DID Core): did:web of a lot or of the registry.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase")]
pub struct DidDocument {
    #[schemars(rename = "@context")]
    context: Vec<String>,
    id: String,
    verification_method: Vec<AnyObject>,
    assertion_method: Vec<Value>,
}

/// A lot in the active reserve set: the full record (plus `attestation`) for readers who
/// may see it, else the public view.
#[derive(JsonSchema)]
#[schemars(untagged)]
pub enum ActiveLot {
    /// The public view.
    Public(PublicLot),
    /// The full view.
    Full(Box<FullActiveLot>),
}

/// Attestation freshness of a listed lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Attestation {
    /// Attested within the cadence.
    Attested,
    /// The last good attestation is older than the cadence.
    AttestationOverdue,
    /// Never attested.
    NotYetAttested,
}

/// The public view of a listed lot: nothing else of the lot is public.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct PublicLot {
    /// The lot's id.
    pub lot_id: String,
    /// The lot's DID.
    pub did: String,
    /// The version of its DID document.
    pub did_version: u64,
    /// The current binding method.
    pub binding_id: Option<String>,
    /// Attestation freshness.
    pub attestation: Attestation,
}

/// The full view of a listed lot: the lot record and its attestation freshness.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct FullActiveLot {
    #[schemars(flatten)]
    lot: Lot,
    attestation: Attestation,
}

/// `GET /reserve/active`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ActiveReserve {
    lots: Vec<ActiveLot>,
    /// The `after` of the next page, when there may be one.
    next: Option<String>,
}

/// One revoked or decommissioned binding method.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Revoked {
    binding_method: String,
    state: BindingState,
    reason: Option<RevocationReason>,
    revoked_at: Option<Time>,
}

/// `GET /status/revocations/entries`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Revocations {
    issuer: String,
    revoked: Vec<Revoked>,
    /// The cursor of the next page (`?after=`), when there may be one.
    next: Option<String>,
}

/// `GET /status/revocations[/{list}]`: a W3C Bitstring Status List credential.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusListCredential {
    #[schemars(rename = "@context")]
    context: Vec<String>,
    id: String,
    r#type: Vec<String>,
    /// The registry's DID.
    issuer: String,
    valid_from: Time,
    credential_subject: StatusListSubject,
    proof: DataIntegrityProof,
}

/// The list itself.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusListSubject {
    id: String,
    r#type: String,
    /// Always `revocation`.
    status_purpose: String,
    /// `u` + base64url (no padding) of the GZIP of the 131,072-bit string.
    encoded_list: String,
}

/// An `eddsa-jcs-2022` Data Integrity proof.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataIntegrityProof {
    r#type: String,
    cryptosuite: String,
    created: Time,
    verification_method: String,
    proof_purpose: String,
    /// `z` + base58btc of the Ed25519 signature.
    proof_value: String,
}

/// One leaf of the audit log.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Leaf {
    /// The entry's sequence number (= leaf index).
    pub sequence_number: u64,
    /// RFC 9162 leaf hash (SHA-256 of `0x00 ‖ entry line`), base64url.
    pub leaf_hash: String,
}

/// `GET /audit/leaves`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Leaves {
    /// The leaves, in sequence.
    pub leaves: Vec<Leaf>,
    /// The `from` of the next page, when there may be one.
    pub next: Option<u64>,
}

/// `type` of an inclusion bundle.
#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
pub enum InclusionType {
    /// Always `inclusion`.
    Inclusion,
}

/// `type` of a consistency bundle.
#[derive(JsonSchema)]
#[schemars(rename_all = "snake_case")]
pub enum ConsistencyType {
    /// Always `consistency`.
    Consistency,
}

/// `GET /audit/proof/{seq}`: an RFC 9162 inclusion proof with a signed checkpoint.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct InclusionBundle {
    #[schemars(rename = "type")]
    kind: InclusionType,
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: String,
    /// The entry (export line), only for readers who may see it.
    #[schemars(default)]
    entry: Option<String>,
    proof: Vec<String>,
    checkpoint: String,
}

/// `GET /audit/consistency`: an RFC 9162 consistency proof with a signed checkpoint.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsistencyBundle {
    #[schemars(rename = "type")]
    kind: ConsistencyType,
    old_size: u64,
    old_root: String,
    new_size: u64,
    proof: Vec<String>,
    checkpoint: String,
}

/// `GET /seals/{uid}`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SealWithHistory {
    seal: Seal,
    history: Vec<Event>,
}

/// A registered line of a bulk registration.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchRegistered {
    /// Manifest line (1-based).
    line: u64,
    /// Leaf index in the batch's Merkle tree.
    index: u64,
    uid: String,
}

/// A refused line of a bulk registration: nothing of it was written.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchRefused {
    /// Manifest line (1-based).
    line: u64,
    /// The device UID the line named, when it could be read.
    uid: Option<String>,
    /// The reason code a single registration of this line would get.
    reason_code: String,
    detail: String,
}

/// `POST /seals:batch` (`cphar_registry::batch::BatchOutcome`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchReport {
    /// The batch id, when a batch event was written (seals registered or clone suspicions
    /// recorded).
    batch_id: Option<String>,
    /// Whether seals were registered.
    committed: bool,
    /// Registrations in the manifest (blank lines not counted).
    lines: u64,
    registered: Vec<BatchRegistered>,
    refused: Vec<BatchRefused>,
    /// RFC 9162 root over the registered items (base64url).
    merkle_root: Option<String>,
    /// Sequence number of the audited `seal_batch_registered` event.
    event_sequence: Option<u64>,
}

/// An item of a stored batch.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchItemRef {
    index: u64,
    line: u64,
    uid: String,
}

/// `GET /seals:batch/{id}`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealBatch {
    batch_id: String,
    actor: String,
    at: Option<Time>,
    tree_size: u64,
    /// RFC 9162 root over the items (base64url).
    merkle_root: String,
    items: Vec<BatchItemRef>,
    /// The audited `seal_batch_registered` event.
    event: Option<Event>,
}

/// `GET /seals:batch/{id}/items/{index}`: check with the RFC 9162 inclusion procedure, leaf
/// hash = SHA-256(0x00 ‖ UTF-8 of `item`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchItemProof {
    batch_id: String,
    index: u64,
    tree_size: u64,
    /// The leaf: JCS text of `{"batchId", "index", "line", "seal"}`.
    item: String,
    /// Sibling hashes, base64url, leaf to root.
    inclusion_proof: Vec<String>,
    merkle_root: String,
    /// The audited event stating the root.
    event: Option<Event>,
}

/// `GET /lots/{id}`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LotDetails {
    lot: Lot,
    bindings: Vec<Binding>,
    inspections: Vec<Inspection>,
    custody: Vec<Custody>,
    history: Vec<Event>,
}

/// `POST /inspections`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct InspectionRecorded {
    inspection_id: String,
    lot_id: String,
}

/// `POST /custody`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustodyRecorded {
    custody_id: String,
    lot_id: String,
}

/// `POST /challenges`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChallengeIssued {
    challenge_id: String,
    /// The ChallengeRequest as issued (the seal signs over it).
    request: AnyObject,
}

/// `POST /challenges/{id}/response`: the verification result (seed 002) with the registry's
/// additions.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase")]
pub struct VerificationAnswer {
    result: String,
    detail: Option<String>,
    bal: Option<BalLevel>,
    binding_method: Option<String>,
    challenge_id: String,
    /// What the registry decided: `allow`, `degrade`, `deny`, `reject`.
    decision: String,
    /// The seal's state, when the answer changed it.
    #[schemars(default)]
    seal_state: Option<SealState>,
    /// The policy decision, when a policy is in force.
    #[schemars(default)]
    policy: Option<AnyObject>,
    /// Whether the lot is in the active reserve set afterwards.
    lot_active: bool,
}

/// `POST /tokens`: the token text is shown once.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenCreated {
    id: String,
    token: String,
    role: RoleName,
    subject: String,
    /// For a verifier token: the DID its challenges name.
    verifier_did: Option<String>,
    /// When it expires.
    expires_at: Option<Time>,
}

/// `GET /session`: who the presented token is.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Session {
    role: RoleName,
    subject: String,
    /// For a verifier token: the DID its challenges name.
    verifier_did: Option<String>,
}

/// `DELETE /tokens/{id}`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TokenRevoked {
    revoked: String,
}

/// `POST /authority/revoke`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AuthorityRotated {
    revoked: String,
    current: String,
}

/// `POST /authority/expire`: the binding methods revoked.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AuthorityExpired {
    revoked: Vec<String>,
}

/// One rule of the active policy.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRule {
    id: String,
    effect: String,
    reason_code: String,
}

/// `GET /policy`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    policy_id: String,
    version: u64,
    rules: Vec<PolicyRule>,
}

/// `PUT /policy`: the change made.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PolicyChanged {
    new_policy_id: String,
    new_policy_version: u64,
    /// Absent (null) at the first installation.
    old_policy_id: Option<String>,
    old_policy_version: Option<u64>,
}

/// `PUT /policy` body: the JSON form of a policy file (`crates/policy`).
#[derive(JsonSchema)]
pub struct PolicyDocument(AnyObject);

/// The OpenAPI document itself.
#[derive(JsonSchema)]
pub struct OpenApiDocument(AnyObject);

/// `POST /challenges` body (`routes::verifier::ChallengeBody`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueChallenge {
    lot_id: String,
    /// The verifier's DID (default: the registry's).
    #[schemars(default)]
    verifier: Option<String>,
    #[schemars(default)]
    min_bal: Option<BalLevel>,
    #[schemars(default)]
    request_pbac: Option<bool>,
}

/// `POST /challenges/{id}/response` body: the seal's ChallengeResponse (seed 002), exactly as
/// the seal sent it.
#[derive(JsonSchema)]
pub struct ChallengeResponse(AnyObject);

/// `POST /tokens` body (`routes::admin::TokenBody`).
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    role: RoleName,
    subject: String,
    #[schemars(default)]
    expires_in_seconds: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Reserve reports (`docs/reserve-report.md`)

/// One total of a report: the exact sum of one (commodity, unit).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ReportTotal {
    /// Commodity.
    pub commodity: String,
    /// Unit.
    pub unit: String,
    /// Exact sum (canonical decimal, never a float).
    pub quantity: String,
    /// Lots counted.
    pub lots: u64,
}

/// A report in `GET /reports`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportSummary {
    /// `reportNumber`.
    pub number: u64,
    /// `generatedAt`.
    pub generated_at: String,
    /// `sumRoot` (hex).
    pub root_sum: String,
    /// `rfc9162Root` (hex).
    pub root_rfc9162: String,
    /// Totals per (commodity, unit).
    pub totals: Vec<ReportTotal>,
    /// `lotCount`.
    pub lot_count: u64,
}

/// `GET /reports`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ReportList {
    /// The reports, ascending.
    pub reports: Vec<ReportSummary>,
    /// The `after` of the next page, when there may be one.
    pub next: Option<u64>,
}

/// `GET /reports/key`: the report key, as certified in the audit log (`report_key_certified`).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportKey {
    /// RFC 7638 thumbprint (base64url): the reports' `reportKey.kid`.
    pub kid: String,
    /// `Ed25519` or `ECDSA-P384-SHA384`.
    pub alg: String,
    /// The public key.
    #[schemars(with = "AnyObject")]
    pub public_key_jwk: Value,
}

/// `window` of a report.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ReportWindow {
    from: Time,
    to: Time,
}

/// `policy` of a report.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ReportPolicy {
    id: String,
    version: u64,
}

/// `previous` of a report.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportPrevious {
    report_number: u64,
    sum_root: String,
    rfc9162_root: String,
    report_digest: String,
}

/// A lot that left the active set since the previous report.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportDeparture {
    lot_id: String,
    /// A reason code (`tamper_detected`, `attestation_overdue`…).
    reason: String,
    at: Time,
}

/// `reportKey` of a report.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ReportKeyRef {
    kid: String,
    alg: String,
}

/// A signed, timestamped reserve report (`cphar-reserve-report/1`), served exactly as
/// published.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReserveReport {
    format: String,
    report_number: u64,
    generated_at: Time,
    window: ReportWindow,
    policy: ReportPolicy,
    previous: Option<ReportPrevious>,
    departed: Vec<ReportDeparture>,
    lot_count: u64,
    lot_counts_by_state: std::collections::BTreeMap<String, u64>,
    totals: Vec<ReportTotal>,
    sum_root: String,
    rfc9162_root: String,
    report_key: ReportKeyRef,
    signature: String,
    timestamp_token: String,
}

/// `lastAttestation` of a leaf.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LeafAttestation {
    at: Time,
    hash: String,
}

/// A report leaf: one lot of the active reserve set.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportLeaf {
    commodity: String,
    did_document_hash: String,
    did_version_id: String,
    grade: String,
    last_attestation: Option<LeafAttestation>,
    lot_id: String,
    quantity: String,
    seal_uid: String,
    unit: String,
}

/// `GET /reports/{n}/leaves`: a page of leaves, sorted by lot id.
#[derive(JsonSchema)]
pub struct ReportLeaves(Vec<ReportLeaf>);

/// A sum of one (commodity, unit) in a proof node.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProofSum {
    commodity: String,
    unit: String,
    quantity: String,
}

/// A sum-tree sibling in a proof.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProofNode {
    hash: String,
    sums: Vec<ProofSum>,
}

/// That one leaf is in a report.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportInclusion {
    leaf_index: u64,
    tree_size: u64,
    leaf: ReportLeaf,
    sum_path: Vec<ProofNode>,
    audit_path: Vec<String>,
}

/// `GET /reports/{n}/proof`: `kind` `inclusion` (with `inclusion`) or `nonInclusion` (with
/// `lotId`, `left`, `right`), `format` `cphar-reserve-report-proof/1`.
#[derive(JsonSchema)]
#[schemars(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportProof {
    format: String,
    report_number: u64,
    kind: String,
    #[serde(default)]
    inclusion: Option<ReportInclusion>,
    #[serde(default)]
    lot_id: Option<String>,
    #[serde(default)]
    left: Option<ReportInclusion>,
    #[serde(default)]
    right: Option<ReportInclusion>,
}
