//! The registry's decisions: pure functions from (current records, command, actor, time) to
//! the [`ChangeSet`] that carries them out, or a [`Refusal`] that changes nothing.
//!
//! Callers load the records, call one function here, and hand the change set to
//! [`crate::Store::apply`]. Nothing here reads a clock, a database or a random source.

use crate::bea::{self, BeaSubject};
use crate::binding::{BindingEvent, SealOutcome, seal_event_for};
use crate::codes::RefusalCode;
use crate::did::{RegistryNames, lot_document};
use crate::error::{Refusal, invalid};
use crate::event::{EventType, RegistryEvent, lot_subject, seal_subject};
use crate::model::{
    AuthorityRecord, AuthorityState, BindingRecord, CustodyRecord, DeviceCertificate, Evidence,
    InspectionRecord, LotRecord, LotState, Quantity, RevocationMark, SealRecord, SignOff,
    TamperEvidence, check_digest, check_identifier, check_lot_id, check_text, in_active_reserve,
};
use crate::seal::{SealEvent, SealState};
use crate::status_list;
use crate::store::{ChangeSet, DidDocumentVersion};
use cphar_crypto::{Jwk, SigningKey, hex};
use cphar_protocol::{Bal, RevocationReason, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

/// TFP-1 §B.2: days an object owner has to re-enroll after an authority revocation.
pub const REENROLLMENT_WINDOW_DAYS: i64 = 30;

/// Who acts, and when.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The acting identity.
    pub actor: &'a str,
    /// The trusted time of the decision.
    pub now: Timestamp,
}

/// A refused command. `record` holds what must be recorded even so (a clone suspicion).
#[derive(Debug, Clone)]
pub struct Refused {
    /// Why.
    pub refusal: Refusal,
    /// Events to record despite the refusal (no state changes).
    pub record: Option<Box<ChangeSet>>,
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Self {
        Refused {
            refusal,
            record: None,
        }
    }
}

/// The Enrollment Authority key signing BEAs.
pub struct Authority<'a> {
    /// Its stored record (must be active).
    pub record: &'a AuthorityRecord,
    /// Its private key (Ed25519).
    pub key: &'a SigningKey,
}

// ---------------------------------------------------------------------------------------------
// Registration

/// A seal registration request (seeds 000 and 001).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterSeal {
    /// Device UID.
    pub uid: String,
    /// Vendor id.
    pub vendor: String,
    /// Device type / model.
    pub device_type: String,
    /// Hardware revision.
    pub hardware_revision: String,
    /// Declared BAL.
    pub bal: String,
    /// Public key (JWK).
    pub public_jwk: Value,
    /// Device certificate chain, PEM (leaf first).
    pub certificate_chain_pem: String,
    /// Firmware measurement, `sha256:<hex>` / `sha384:<hex>`.
    pub firmware_measurement: String,
    /// Tamper-evidence carrier.
    pub tamper_evidence: TamperEvidence,
    /// PUF Interface Descriptor (required at BAL-3/4).
    #[serde(default)]
    pub pid: Option<Value>,
    /// Network endpoint of the seal agent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Proof of possession: the Enrollment Authority's challenge signed by the device
    /// (seed 002 §4.2.2 steps 1–4). Required by vendors that require the device-identity
    /// extension; checked whenever given.
    #[serde(default)]
    pub enrollment: Option<crate::device::EnrollmentProof>,
}

/// What the registry already holds that could conflict with a registration.
#[derive(Debug, Default)]
pub struct Existing<'a> {
    /// The seal with the same UID.
    pub by_uid: Option<&'a SealRecord>,
    /// The seal with the same key.
    pub by_key: Option<&'a SealRecord>,
    /// The seal with the same certificate.
    pub by_certificate: Option<&'a SealRecord>,
}

/// Checks the members of a registration that need no outside data; returns the parsed key
/// and BAL.
pub fn check_registration(cmd: &RegisterSeal) -> Result<(Jwk, Bal), Refusal> {
    crate::ident::check_seal_uid(&cmd.uid)?;
    check_identifier("vendor", &cmd.vendor)?;
    check_text("device type", &cmd.device_type, 128)?;
    check_text("hardware revision", &cmd.hardware_revision, 64)?;
    check_digest("firmware measurement", &cmd.firmware_measurement)?;
    check_text(
        "tamper-evidence carrier class",
        &cmd.tamper_evidence.carrier_class,
        128,
    )?;
    check_text(
        "tamper-evidence specification",
        &cmd.tamper_evidence.specification,
        256,
    )?;
    if let Some(endpoint) = &cmd.endpoint {
        check_text("endpoint", endpoint, 512)?;
    }
    let bal: Bal = cmd
        .bal
        .parse()
        .map_err(|_| invalid(format!("bal {:?} is not BAL-1..BAL-4", cmd.bal)))?;
    let jwk = Jwk::from_json(&cmd.public_jwk).map_err(|e| invalid(format!("publicJwk: {e}")))?;
    if jwk.kty == "oct" {
        // Profile C keys are shared secrets; the registry only registers public-key seals.
        return Err(invalid(
            "publicJwk: symmetric (profile C) keys cannot be registered",
        ));
    }
    if matches!(bal, Bal::Bal3 | Bal::Bal4) && cmd.pid.is_none() {
        return Err(Refusal::new(
            RefusalCode::BalRequirementUnmet,
            format!("a {bal} seal must be registered with its PUF Interface Descriptor"),
        ));
    }
    Ok((jwk, bal))
}

/// Registers a seal whose vendor attestation was accepted (Manufactured → Registered).
pub fn register(
    cmd: &RegisterSeal,
    bal: Bal,
    jwk: &Jwk,
    certificate: DeviceCertificate,
    existing: &Existing<'_>,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refused> {
    let thumbprint = jwk
        .thumbprint_b64()
        .map_err(|e| invalid(format!("publicJwk: {e}")))?;
    if existing.by_uid.is_some() {
        return Err(Refusal::new(
            RefusalCode::DuplicateDeviceUid,
            format!("a seal with device uid {} is already registered", cmd.uid),
        )
        .into());
    }
    let clone_of = existing
        .by_key
        .map(|s| ("key", s))
        .or(existing.by_certificate.map(|s| ("device certificate", s)));
    if let Some((what, other)) = clone_of {
        let refusal = Refusal::new(
            RefusalCode::CloneSuspected,
            format!(
                "this {what} is already registered under device uid {}",
                other.uid
            ),
        );
        let event = RegistryEvent {
            event_type: EventType::CloneSuspected,
            subject: seal_subject(&cmd.uid),
            actor: ctx.actor.to_owned(),
            at: ctx.now,
            reason_code: Some(RefusalCode::CloneSuspected.as_str().to_owned()),
            data: json!({
                "presentedUid": cmd.uid,
                "registeredUid": other.uid,
                "duplicate": what,
                "keyThumbprint": thumbprint,
                "certificateIssuer": certificate.issuer,
                "certificateSerial": certificate.serial,
            }),
        };
        let record = ChangeSet {
            events: vec![event],
            ..ChangeSet::default()
        };
        return Err(Refused {
            refusal,
            record: Some(Box::new(record)),
        });
    }
    let state = SealState::Manufactured.on(SealEvent::VendorAttestationAccepted)?;
    let seal = SealRecord {
        uid: cmd.uid.clone(),
        state,
        vendor: cmd.vendor.clone(),
        device_type: cmd.device_type.clone(),
        hardware_revision: cmd.hardware_revision.clone(),
        bal,
        public_jwk: jwk.to_json(),
        key_thumbprint: thumbprint.clone(),
        certificate,
        firmware_measurement: cmd.firmware_measurement.clone(),
        tamper_evidence: cmd.tamper_evidence.clone(),
        pid: cmd.pid.clone(),
        lot_id: None,
        endpoint: cmd.endpoint.clone(),
        registered_at: ctx.now,
        last_attested_at: None,
        unreachable_streak: 0,
        version: 1,
    };
    let event = seal_event(
        EventType::SealRegistered,
        &seal.uid,
        ctx,
        None,
        json!({
            "transition": transition(SealState::Manufactured, state),
            "vendor": seal.vendor,
            "deviceType": seal.device_type,
            "hardwareRevision": seal.hardware_revision,
            "bal": bal.as_str(),
            "keyThumbprint": thumbprint,
            "certificateSerial": seal.certificate.serial,
            "certificateFingerprint": seal.certificate.fingerprint,
            "firmwareMeasurement": seal.firmware_measurement,
            "chainId": seal.certificate.chain_id,
            "selectedCertSerial": seal.certificate.serial,
            "rotationState": seal.certificate.rotation_state,
            "balSource": if seal.certificate.identity.is_some() { "device_certificate" } else { "request" },
            "deviceIdentity": seal.certificate.identity,
            "proofOfPossession": cmd.enrollment.is_some(),
        }),
    );
    Ok(ChangeSet {
        seals: vec![seal],
        events: vec![event],
        ..ChangeSet::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Inspection and custody

/// An inspection report (seed 000): recorded, not judged.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordInspection {
    /// Lot id.
    pub lot_id: String,
    /// The seal that will close the container.
    pub seal_uid: String,
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
    /// Evidence.
    pub evidence: Evidence,
    /// When the inspection took place (defaults to the recording time).
    #[serde(default)]
    pub inspected_at: Option<String>,
}

/// Records an inspection: creates the lot, or re-inspects it for a reseal or rebinding; the
/// seal moves Registered → Inspected.
pub fn inspect(
    cmd: &RecordInspection,
    inspection_id: &str,
    lot: Option<&LotRecord>,
    seal: Option<&SealRecord>,
    names: &RegistryNames,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    check_lot_id(&cmd.lot_id)?;
    crate::ident::check_seal_uid(&cmd.seal_uid)?;
    check_text("commodity", &cmd.commodity, 128)?;
    cmd.quantity.validate()?;
    check_text("grade", &cmd.grade, 64)?;
    check_identifier("container id", &cmd.container_id)?;
    check_text("location", &cmd.location, 256)?;
    check_text("owner", &cmd.owner, 256)?;
    cmd.evidence.validate()?;
    let inspected_at = match &cmd.inspected_at {
        Some(t) => Timestamp::parse(t).map_err(|e| invalid(format!("inspectedAt: {e}")))?,
        None => ctx.now,
    };
    if inspected_at > ctx.now {
        return Err(invalid("inspectedAt is in the future"));
    }
    let seal = seal.ok_or_else(|| not_found_seal(&cmd.seal_uid))?;

    let mut lot = match lot {
        None => LotRecord {
            lot_id: cmd.lot_id.clone(),
            did: names.lot_did(&cmd.lot_id),
            state: LotState::Inspected,
            commodity: String::new(),
            quantity: cmd.quantity.clone(),
            grade: String::new(),
            container_id: String::new(),
            location: String::new(),
            owner: String::new(),
            inspection_id: String::new(),
            inspected_seal: None,
            binding_id: None,
            binding_count: 0,
            did_version: 0,
            active: false,
            evidence_at: None,
            lapse: None,
            created_at: ctx.now,
            updated_at: ctx.now,
            version: 0,
        },
        Some(lot) => {
            let mut lot = lot.clone();
            match lot.state {
                LotState::Decommissioned => {
                    return Err(Refusal::new(
                        RefusalCode::InvalidLotState,
                        format!("lot {} is decommissioned", lot.lot_id),
                    ));
                }
                LotState::Inspected => {
                    if lot.inspected_seal.as_deref() != Some(seal.uid.as_str()) {
                        return Err(Refusal::new(
                            RefusalCode::SealLotMismatch,
                            format!(
                                "lot {} awaits binding to the seal it was inspected with; re-inspect with that seal",
                                lot.lot_id
                            ),
                        ));
                    }
                }
                LotState::Unsealed => lot.state = LotState::Inspected,
                // Re-inspection of a sealed lot opens the way to a rebinding with a new seal.
                LotState::Bound => {}
            }
            lot
        }
    };

    // Re-inspecting with the seal already inspected for this lot changes no seal state.
    let same_seal_again =
        seal.state == SealState::Inspected && seal.lot_id.as_deref() == Some(lot.lot_id.as_str());
    let mut changes = ChangeSet::default();
    let mut transition_data = Value::Null;
    if !same_seal_again {
        let mut new_seal = seal.clone();
        new_seal.state = seal.state.on(SealEvent::LotInspected)?;
        new_seal.lot_id = Some(lot.lot_id.clone());
        new_seal.version += 1;
        transition_data = transition(seal.state, new_seal.state);
        changes.seals.push(new_seal);
    }

    lot.commodity = cmd.commodity.clone();
    lot.quantity = cmd.quantity.clone();
    lot.grade = cmd.grade.clone();
    lot.container_id = cmd.container_id.clone();
    lot.location = cmd.location.clone();
    lot.owner = cmd.owner.clone();
    lot.inspection_id = inspection_id.to_owned();
    lot.inspected_seal = Some(seal.uid.clone());
    lot.updated_at = ctx.now;
    lot.version += 1;

    let inspection = InspectionRecord {
        id: inspection_id.to_owned(),
        lot_id: lot.lot_id.clone(),
        seal_uid: seal.uid.clone(),
        inspector: ctx.actor.to_owned(),
        commodity: cmd.commodity.clone(),
        quantity: cmd.quantity.clone(),
        grade: cmd.grade.clone(),
        container_id: cmd.container_id.clone(),
        evidence: cmd.evidence.clone(),
        inspected_at,
        recorded_at: ctx.now,
    };
    changes.events.push(lot_event(
        EventType::LotInspected,
        &lot.lot_id,
        ctx,
        None,
        json!({
            "inspectionId": inspection_id,
            "sealUid": seal.uid,
            "sealTransition": transition_data,
            "lotState": lot.state.as_str(),
            "commodity": cmd.commodity,
            "quantity": cmd.quantity,
            "grade": cmd.grade,
            "containerId": cmd.container_id,
            "evidenceHash": cmd.evidence.hash,
            "evidenceUri": cmd.evidence.uri,
            "inspectedAt": inspected_at.to_string(),
        }),
    ));
    changes.inspections.push(inspection);
    changes.lots.push(lot);
    Ok(changes)
}

/// A chain-of-custody event between inspection and sealing (seed 000 threat mitigation).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordCustody {
    /// Lot id.
    pub lot_id: String,
    /// Who held the container.
    pub holder: String,
    /// What happened.
    pub action: String,
    /// When (defaults to the recording time).
    #[serde(default)]
    pub at: Option<String>,
}

/// Records a custody event; only while the lot waits to be sealed.
pub fn record_custody(
    cmd: &RecordCustody,
    id: &str,
    lot: Option<&LotRecord>,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    check_text("holder", &cmd.holder, 256)?;
    check_identifier("action", &cmd.action)?;
    let at = match &cmd.at {
        Some(t) => Timestamp::parse(t).map_err(|e| invalid(format!("at: {e}")))?,
        None => ctx.now,
    };
    if at > ctx.now {
        return Err(invalid("custody time is in the future"));
    }
    let lot = lot.ok_or_else(|| not_found_lot(&cmd.lot_id))?;
    if lot.inspected_seal.is_none() || lot.state == LotState::Decommissioned {
        return Err(Refusal::new(
            RefusalCode::InvalidLotState,
            format!("lot {} is not between inspection and sealing", lot.lot_id),
        ));
    }
    let record = CustodyRecord {
        id: id.to_owned(),
        lot_id: lot.lot_id.clone(),
        holder: cmd.holder.clone(),
        action: cmd.action.clone(),
        at,
        recorded_by: ctx.actor.to_owned(),
    };
    let event = lot_event(
        EventType::CustodyRecorded,
        &lot.lot_id,
        ctx,
        None,
        json!({"custodyId": id, "holder": cmd.holder, "action": cmd.action, "at": at.to_string()}),
    );
    Ok(ChangeSet {
        custody: vec![record],
        events: vec![event],
        ..ChangeSet::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Binding, sign-off, rebinding

/// The credential a new BEA is issued as.
#[derive(Debug, Clone, Copy)]
pub struct NewCredential<'a> {
    /// Its id (`urn:uuid:…`).
    pub id: &'a str,
    /// The binding's revocation status slot ([`crate::status_list`]), allocated by the caller
    /// from the store's next free index; `None` only for bindings that predate status lists.
    pub status_index: Option<u64>,
}

/// Binds the seal a lot was inspected with (Inspected → Sealed, binding → Enrolled) and
/// issues the BEA.
pub fn bind(
    lot: &LotRecord,
    seal: &SealRecord,
    history: &[BindingRecord],
    authority: &Authority<'_>,
    credential: NewCredential<'_>,
    names: &RegistryNames,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    if lot.state != LotState::Inspected {
        return Err(Refusal::new(
            RefusalCode::InvalidLotState,
            format!(
                "lot {} is {}; only an inspected lot can be bound",
                lot.lot_id, lot.state
            ),
        ));
    }
    let mut changes = ChangeSet::default();
    let (lot, binding) = issue_binding(
        lot,
        seal,
        history,
        authority,
        credential,
        names,
        ctx,
        &mut changes,
    )?;
    changes.lots.push(lot);
    changes.bindings.push(binding);
    Ok(changes)
}

/// Replaces a lot's seal by the one it was re-inspected with, keeping its DID and history:
/// the old binding is revoked with `reason` (`device_replacement` or `binding_upgraded`), the
/// old seal retired, the new binding enrolled (and awaiting sign-off).
#[allow(clippy::too_many_arguments)]
pub fn rebind(
    lot: &LotRecord,
    old_binding: &BindingRecord,
    old_seal: &SealRecord,
    new_seal: &SealRecord,
    history: &[BindingRecord],
    reason: RevocationReason,
    authority: &Authority<'_>,
    credential: NewCredential<'_>,
    names: &RegistryNames,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    if !matches!(
        reason,
        RevocationReason::DeviceReplacement | RevocationReason::BindingUpgraded
    ) {
        return Err(Refusal::new(
            RefusalCode::ReasonNotAllowed,
            format!("rebinding takes device_replacement or binding_upgraded, not {reason}"),
        ));
    }
    if lot.state != LotState::Bound || lot.binding_id.as_deref() != Some(old_binding.id.as_str()) {
        return Err(Refusal::new(
            RefusalCode::InvalidLotState,
            format!("lot {} has no live binding to replace", lot.lot_id),
        ));
    }
    if reason == RevocationReason::BindingUpgraded && new_seal.bal <= old_binding.bal {
        return Err(Refusal::new(
            RefusalCode::ReasonNotAllowed,
            format!(
                "binding_upgraded needs a higher BAL than {}, the new seal is {}",
                old_binding.bal, new_seal.bal
            ),
        ));
    }
    let mut changes = ChangeSet::default();
    let (ended_lot, ended_binding, ended_seal) =
        end_binding(lot, old_binding, old_seal, reason, &mut changes, ctx)?;
    let history: Vec<BindingRecord> = history
        .iter()
        .map(|b| {
            if b.id == ended_binding.id {
                ended_binding.clone()
            } else {
                b.clone()
            }
        })
        .collect();
    let mut reopened = ended_lot;
    reopened.state = LotState::Inspected;
    let (mut lot, binding) = issue_binding(
        &reopened,
        new_seal,
        &history,
        authority,
        credential,
        names,
        ctx,
        &mut changes,
    )?;
    // Both changes land as one lot version.
    lot.version = lot.version.saturating_sub(1);
    changes.seals.insert(0, ended_seal);
    changes.bindings.push(ended_binding);
    changes.bindings.push(binding);
    changes.lots.push(lot);
    Ok(changes)
}

#[allow(clippy::too_many_arguments)]
fn issue_binding(
    lot: &LotRecord,
    seal: &SealRecord,
    history: &[BindingRecord],
    authority: &Authority<'_>,
    credential: NewCredential<'_>,
    names: &RegistryNames,
    ctx: Ctx<'_>,
    changes: &mut ChangeSet,
) -> Result<(LotRecord, BindingRecord), Refusal> {
    if lot.inspected_seal.as_deref() != Some(seal.uid.as_str())
        || seal.lot_id.as_deref() != Some(lot.lot_id.as_str())
    {
        return Err(Refusal::new(
            RefusalCode::SealLotMismatch,
            format!("seal {} was not inspected for lot {}", seal.uid, lot.lot_id),
        ));
    }
    if authority.record.state != AuthorityState::Active {
        return Err(Refusal::new(
            RefusalCode::AuthorityUnavailable,
            format!("authority key {} is revoked", authority.record.key_id),
        ));
    }
    if matches!(seal.bal, Bal::Bal3 | Bal::Bal4) && seal.pid.is_none() {
        return Err(Refusal::new(
            RefusalCode::BalRequirementUnmet,
            "BAL-3/4 binding without a PID",
        ));
    }
    let mut new_seal = seal.clone();
    new_seal.state = seal.state.on(SealEvent::Bound)?;
    new_seal.version += 1;

    let mut lot = lot.clone();
    lot.binding_count += 1;
    let method_id = names.method_id(&lot.lot_id, lot.binding_count);
    lot.state = LotState::Bound;
    lot.binding_id = Some(method_id.clone());
    lot.inspected_seal = None;
    lot.updated_at = ctx.now;
    lot.version += 1;
    let did_version = lot.did_version + 1;

    let jwk = Jwk::from_json(&seal.public_jwk)
        .map_err(|e| invalid(format!("stored seal key unusable: {e}")))?;
    let bea = issue_bea(
        &lot,
        did_version,
        &method_id,
        &jwk,
        &new_seal,
        authority,
        credential,
        names,
        ctx.now,
    )?;
    let binding = BindingRecord {
        id: method_id.clone(),
        number: lot.binding_count,
        lot_id: lot.lot_id.clone(),
        seal_uid: seal.uid.clone(),
        public_jwk: seal.public_jwk.clone(),
        state: crate::binding::BindingState::Enrolled,
        bal: seal.bal,
        bound_by: ctx.actor.to_owned(),
        inspection_id: lot.inspection_id.clone(),
        sign_off: None,
        revocation: None,
        authority_key_id: authority.record.key_id.clone(),
        bea,
        reenroll_deadline: None,
        enrolled_at: ctx.now,
        status_index: credential.status_index,
        version: 1,
    };
    // A new binding starts without evidence: the sign-off gives the first.
    lot.evidence_at = None;
    lot.lapse = None;
    lot.active = in_active_reserve(Some(&binding), Some(new_seal.state), None);
    let mut all = history.to_vec();
    all.push(binding.clone());
    publish(&mut lot, &all, changes, ctx)?;
    changes.events.push(lot_event(
        EventType::SealBound,
        &lot.lot_id,
        ctx,
        None,
        json!({
            "bindingMethod": method_id,
            "sealUid": seal.uid,
            "sealTransition": transition(seal.state, new_seal.state),
            "bindingState": binding.state.as_str(),
            "bal": seal.bal.as_str(),
            "authorityKey": authority.record.key_id,
            "credentialId": credential.id,
            "didVersion": did_version.to_string(),
        }),
    ));
    changes.seals.push(new_seal);
    Ok((lot, binding))
}

#[allow(clippy::too_many_arguments)]
fn issue_bea(
    lot: &LotRecord,
    did_version: u64,
    method_id: &str,
    jwk: &Jwk,
    seal: &SealRecord,
    authority: &Authority<'_>,
    credential: NewCredential<'_>,
    names: &RegistryNames,
    now: Timestamp,
) -> Result<Value, Refusal> {
    let subject = BeaSubject {
        object_did: &lot.did,
        did_version,
        binding_method: method_id,
        device_jwk: jwk,
        bal: seal.bal,
        enrolled_at: now,
        vendor: &seal.vendor,
        model: &seal.device_type,
        hardware_revision: &seal.hardware_revision,
        carrier_class: &seal.tamper_evidence.carrier_class,
        carrier_specification: &seal.tamper_evidence.specification,
        pid: seal.pid.as_ref(),
        credential_id: credential.id,
        status: credential
            .status_index
            .map(|index| status_list::credential_status(names, index)),
    };
    let unsigned =
        bea::credential(&subject, &names.registry_did()).map_err(|e| invalid(e.to_string()))?;
    bea::sign(unsigned, authority.key, &authority.record.key_id, now).map_err(|e| {
        Refusal::new(
            RefusalCode::AuthorityUnavailable,
            format!("cannot sign the BEA: {e}"),
        )
    })
}

/// Records an independent auditor's approval: the lot enters the active reserve set if its
/// seal is intact. The auditor may be neither the operator who bound nor the inspector of the
/// inspection the binding was made from (`inspection` must be that one).
pub fn sign_off(
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    inspection: Option<&InspectionRecord>,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    if lot.binding_id.as_deref() != Some(binding.id.as_str()) || !binding.state.is_live() {
        return Err(Refusal::new(
            RefusalCode::InvalidBindingTransition,
            format!("binding {} is not the lot's live binding", binding.id),
        ));
    }
    if binding.sign_off.is_some() {
        return Err(Refusal::new(
            RefusalCode::AlreadySignedOff,
            format!("binding {} is already signed off", binding.id),
        ));
    }
    if ctx.actor == binding.bound_by {
        return Err(Refusal::new(
            RefusalCode::SeparationOfDuties,
            "the operator who made a binding cannot sign it off",
        ));
    }
    if inspection.is_some_and(|i| i.id != binding.inspection_id) {
        return Err(invalid(
            "internal: sign-off given another inspection than the binding's",
        ));
    }
    if inspection.is_some_and(|i| i.inspector == ctx.actor) {
        return Err(Refusal::new(
            RefusalCode::SeparationOfDuties,
            "the inspector of a lot cannot sign off its binding",
        ));
    }
    let mut binding = binding.clone();
    binding.sign_off = Some(SignOff {
        auditor: ctx.actor.to_owned(),
        at: ctx.now,
    });
    binding.version += 1;
    let mut lot = lot.clone();
    lot.evidence_at = Some(ctx.now);
    lot.lapse = None;
    lot.active = in_active_reserve(Some(&binding), Some(seal.state), None);
    lot.updated_at = ctx.now;
    lot.version += 1;
    let event = lot_event(
        EventType::BindingSignedOff,
        &lot.lot_id,
        ctx,
        None,
        json!({"bindingMethod": binding.id, "auditor": ctx.actor, "active": lot.active}),
    );
    Ok(ChangeSet {
        lots: vec![lot],
        bindings: vec![binding],
        events: vec![event],
        ..ChangeSet::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Attestation

/// Closes an attestation cycle (Attested → Sealed): the next challenge is due.
pub fn close_cycle(
    lot: &LotRecord,
    binding: Option<&BindingRecord>,
    seal: &SealRecord,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    let mut new_seal = seal.clone();
    new_seal.state = seal.state.on(SealEvent::CycleClosed)?;
    new_seal.version += 1;
    let mut new_lot = lot.clone();
    new_lot.active = in_active_reserve(binding, Some(new_seal.state), lot.lapse.as_ref());
    new_lot.version += 1;
    new_lot.updated_at = ctx.now;
    let event = seal_event(
        EventType::AttestationCycleClosed,
        &seal.uid,
        ctx,
        None,
        json!({"lotId": lot.lot_id, "transition": transition(seal.state, new_seal.state), "lastAttestedAt": seal.last_attested_at.map(|t| t.to_string())}),
    );
    Ok(ChangeSet {
        seals: vec![new_seal],
        lots: vec![new_lot],
        events: vec![event],
        ..ChangeSet::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Revocation, retirement, decommissioning

/// Revokes a lot's live binding for `reason` (any seed 002 reason but `object_decommissioned`,
/// which is [`decommission_lot`]). Tamper, failure and key compromise break the seal; the
/// others retire it. The lot leaves the active set and must be re-inspected and resealed.
pub fn revoke(
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    history: &[BindingRecord],
    reason: RevocationReason,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    if reason == RevocationReason::ObjectDecommissioned {
        return Err(Refusal::new(
            RefusalCode::ReasonNotAllowed,
            "object_decommissioned ends the lot: decommission it instead",
        ));
    }
    if lot.binding_id.as_deref() != Some(binding.id.as_str()) {
        return Err(Refusal::new(
            RefusalCode::InvalidBindingTransition,
            format!("{} is not the lot's current binding", binding.id),
        ));
    }
    let mut changes = ChangeSet::default();
    let (mut lot, binding, seal) = end_binding(lot, binding, seal, reason, &mut changes, ctx)?;
    let all = replace(history, &binding);
    publish(&mut lot, &all, &mut changes, ctx)?;
    changes.seals.push(seal);
    changes.bindings.push(binding);
    changes.lots.push(lot);
    Ok(changes)
}

/// Operator-initiated retirement of a bound seal (Sealed → Retired; an Attested seal first
/// closes its cycle). `reason` must be one that retires: `device_replacement`,
/// `binding_upgraded` or `authority_revoked`.
pub fn retire(
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    history: &[BindingRecord],
    reason: RevocationReason,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    if seal_event_for(reason) != SealOutcome::Retired
        || reason == RevocationReason::ObjectDecommissioned
    {
        return Err(Refusal::new(
            RefusalCode::ReasonNotAllowed,
            format!("{reason} does not retire a seal (use revoke, or decommission the lot)"),
        ));
    }
    revoke(lot, binding, seal, history, reason, ctx)
}

/// Ends a lot's life: its live binding → Decommissioned, its seal retired, the lot terminal.
pub fn decommission_lot(
    lot: &LotRecord,
    current: Option<(&BindingRecord, &SealRecord)>,
    history: &[BindingRecord],
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    if lot.state == LotState::Decommissioned {
        return Err(Refusal::new(
            RefusalCode::InvalidLotState,
            format!("lot {} is already decommissioned", lot.lot_id),
        ));
    }
    let mut changes = ChangeSet::default();
    let mut new_lot = lot.clone();
    let mut all = history.to_vec();
    let mut data = serde_json::Map::new();
    data.insert("previousState".into(), json!(lot.state.as_str()));
    if let Some((binding, seal)) = current.filter(|(b, _)| b.state.is_live()) {
        let mut new_binding = binding.clone();
        new_binding.state = binding.state.on(BindingEvent::Decommission)?;
        new_binding.revocation = Some(RevocationMark {
            reason: RevocationReason::ObjectDecommissioned,
            at: ctx.now,
        });
        new_binding.version += 1;
        let (new_seal, seal_transitions) = retire_seal(seal)?;
        data.insert("bindingMethod".into(), json!(binding.id));
        data.insert("sealUid".into(), json!(seal.uid));
        data.insert("sealTransitions".into(), json!(seal_transitions));
        all = replace(history, &new_binding);
        changes.seals.push(new_seal);
        changes.bindings.push(new_binding);
    } else if let Some(uid) = &lot.inspected_seal {
        return Err(Refusal::new(
            RefusalCode::InvalidLotState,
            format!(
                "lot {} awaits sealing with seal {uid}; bind or re-inspect before decommissioning",
                lot.lot_id
            ),
        ));
    }
    new_lot.state = LotState::Decommissioned;
    new_lot.active = false;
    new_lot.updated_at = ctx.now;
    new_lot.version += 1;
    changes.events.push(lot_event(
        EventType::LotDecommissioned,
        &lot.lot_id,
        ctx,
        Some(RevocationReason::ObjectDecommissioned.as_str()),
        Value::Object(data),
    ));
    publish(&mut new_lot, &all, &mut changes, ctx)?;
    changes.lots.push(new_lot);
    Ok(changes)
}

/// Ends `binding` for `reason`: binding → Revoked, seal → Broken or Retired, lot → Unsealed.
fn end_binding(
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    reason: RevocationReason,
    changes: &mut ChangeSet,
    ctx: Ctx<'_>,
) -> Result<(LotRecord, BindingRecord, SealRecord), Refusal> {
    if binding.seal_uid != seal.uid {
        return Err(Refusal::new(
            RefusalCode::SealLotMismatch,
            "the seal is not the binding's seal",
        ));
    }
    let mut new_binding = binding.clone();
    new_binding.state = binding.state.on(BindingEvent::Revoke(reason))?;
    new_binding.revocation = Some(RevocationMark {
        reason,
        at: ctx.now,
    });
    new_binding.reenroll_deadline = None;
    new_binding.version += 1;
    let (new_seal, seal_transitions) = match seal_event_for(reason) {
        SealOutcome::Broken => {
            let mut s = seal.clone();
            s.state = seal.state.on(SealEvent::TamperDetected)?;
            s.version += 1;
            let t = vec![transition(seal.state, s.state)];
            (s, t)
        }
        SealOutcome::Retired => retire_seal(seal)?,
    };
    let mut new_lot = lot.clone();
    new_lot.state = LotState::Unsealed;
    new_lot.active = false;
    new_lot.updated_at = ctx.now;
    new_lot.version += 1;
    changes.events.push(lot_event(
        EventType::BindingRevoked,
        &lot.lot_id,
        ctx,
        Some(reason.as_str()),
        json!({
            "bindingMethod": binding.id,
            "sealUid": seal.uid,
            "reason": reason.as_str(),
            "bindingTransition": {"from": binding.state.as_str(), "to": new_binding.state.as_str()},
            "sealTransitions": seal_transitions,
        }),
    ));
    Ok((new_lot, new_binding, new_seal))
}

/// Sealed → Retired, closing an open attestation cycle first (Attested → Sealed → Retired):
/// both are edges of the seed 000 diagram.
fn retire_seal(seal: &SealRecord) -> Result<(SealRecord, Vec<Value>), Refusal> {
    let mut s = seal.clone();
    let mut transitions = Vec::new();
    if s.state == SealState::Attested {
        s.state = s.state.on(SealEvent::CycleClosed)?;
        transitions.push(transition(SealState::Attested, s.state));
    }
    let before = s.state;
    s.state = s.state.on(SealEvent::Decommissioned)?;
    transitions.push(transition(before, s.state));
    s.version += 1;
    Ok((s, transitions))
}

// ---------------------------------------------------------------------------------------------
// Enrollment Authority keys (TFP-1 §B.2)

/// Records a new Enrollment Authority key.
pub fn create_authority(
    number: u64,
    names: &RegistryNames,
    public_jwk: &Jwk,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    let key_id = names.authority_key_id(number);
    let key_id = key_id.as_str();
    let record = AuthorityRecord {
        key_id: key_id.to_owned(),
        number,
        public_jwk: public_jwk.to_json(),
        state: AuthorityState::Active,
        revoked_at: None,
        created_at: ctx.now,
        version: 1,
    };
    let event = RegistryEvent {
        event_type: EventType::AuthorityCreated,
        subject: format!("authority:{key_id}"),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: None,
        data: json!({"keyId": key_id, "publicJwk": record.public_jwk}),
    };
    Ok(ChangeSet {
        authorities: vec![record],
        events: vec![event],
        ..ChangeSet::default()
    })
}

/// Revokes an authority's credential: every live binding whose BEA it signed becomes invalid
/// (its lot leaves the active set) until re-enrolled, at the latest 30 days from now.
/// `affected` holds those bindings with their lots and seals.
pub fn revoke_authority(
    authority: &AuthorityRecord,
    affected: &[(BindingRecord, LotRecord, SealRecord)],
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    if authority.state != AuthorityState::Active {
        return Err(Refusal::new(
            RefusalCode::AuthorityUnavailable,
            format!("{} is already revoked", authority.key_id),
        ));
    }
    let deadline = ctx
        .now
        .checked_add(time::Duration::days(REENROLLMENT_WINDOW_DAYS))
        .ok_or_else(|| invalid("time out of range"))?;
    let mut changes = ChangeSet::default();
    let mut record = authority.clone();
    record.state = AuthorityState::Revoked;
    record.revoked_at = Some(ctx.now);
    record.version += 1;
    changes.events.push(RegistryEvent {
        event_type: EventType::AuthorityRevoked,
        subject: format!("authority:{}", authority.key_id),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: Some(RevocationReason::AuthorityRevoked.as_str().to_owned()),
        data: json!({"keyId": authority.key_id, "affectedBindings": affected.len(), "reenrollDeadline": deadline.to_string()}),
    });
    changes.authorities.push(record);
    for (binding, lot, seal) in affected {
        if binding.authority_key_id != authority.key_id || !binding.state.is_live() {
            continue;
        }
        let mut b = binding.clone();
        b.reenroll_deadline = Some(deadline);
        b.version += 1;
        let mut l = lot.clone();
        l.active = in_active_reserve(Some(&b), Some(seal.state), l.lapse.as_ref());
        l.updated_at = ctx.now;
        l.version += 1;
        changes.events.push(lot_event(
            EventType::BindingSuspended,
            &l.lot_id,
            ctx,
            Some(RevocationReason::AuthorityRevoked.as_str()),
            json!({"bindingMethod": b.id, "authorityKey": authority.key_id, "reenrollDeadline": deadline.to_string()}),
        ));
        changes.bindings.push(b);
        changes.lots.push(l);
    }
    Ok(changes)
}

/// Re-enrolls a suspended binding with a valid authority before its deadline: a new BEA.
#[allow(clippy::too_many_arguments)]
pub fn reenroll(
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    authority: &Authority<'_>,
    credential_id: &str,
    names: &RegistryNames,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    if !binding.state.is_live() || lot.binding_id.as_deref() != Some(binding.id.as_str()) {
        return Err(Refusal::new(
            RefusalCode::InvalidBindingTransition,
            format!(
                "binding {} is {}; only a live binding can be re-enrolled",
                binding.id, binding.state
            ),
        ));
    }
    let Some(deadline) = binding.reenroll_deadline else {
        return Err(Refusal::new(
            RefusalCode::InvalidBindingTransition,
            format!("binding {} is not awaiting re-enrollment", binding.id),
        ));
    };
    if ctx.now > deadline {
        return Err(Refusal::new(
            RefusalCode::InvalidBindingTransition,
            format!(
                "the re-enrollment window of {} closed at {deadline}",
                binding.id
            ),
        ));
    }
    if authority.record.state != AuthorityState::Active {
        return Err(Refusal::new(
            RefusalCode::AuthorityUnavailable,
            format!("{} is revoked", authority.record.key_id),
        ));
    }
    let jwk = Jwk::from_json(&binding.public_jwk)
        .map_err(|e| invalid(format!("stored key unusable: {e}")))?;
    let mut b = binding.clone();
    b.bea = issue_bea(
        lot,
        lot.did_version,
        &binding.id,
        &jwk,
        seal,
        authority,
        NewCredential {
            id: credential_id,
            status_index: binding.status_index,
        },
        names,
        ctx.now,
    )?;
    b.authority_key_id = authority.record.key_id.clone();
    b.reenroll_deadline = None;
    b.version += 1;
    let mut l = lot.clone();
    l.active = in_active_reserve(Some(&b), Some(seal.state), l.lapse.as_ref());
    l.updated_at = ctx.now;
    l.version += 1;
    let event = lot_event(
        EventType::BindingReenrolled,
        &l.lot_id,
        ctx,
        None,
        json!({"bindingMethod": b.id, "authorityKey": b.authority_key_id, "credentialId": credential_id, "active": l.active}),
    );
    Ok(ChangeSet {
        lots: vec![l],
        bindings: vec![b],
        events: vec![event],
        ..ChangeSet::default()
    })
}

/// A suspended binding whose window has closed is revoked with `authority_revoked`
/// (TFP-1 §B.2 step 4). Refused before the deadline.
pub fn expire_reenrollment(
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    history: &[BindingRecord],
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    match binding.reenroll_deadline {
        Some(deadline) if ctx.now > deadline => revoke(
            lot,
            binding,
            seal,
            history,
            RevocationReason::AuthorityRevoked,
            ctx,
        ),
        _ => Err(Refusal::new(
            RefusalCode::InvalidBindingTransition,
            format!("binding {} has no closed re-enrollment window", binding.id),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn publish(
    lot: &mut LotRecord,
    bindings: &[BindingRecord],
    changes: &mut ChangeSet,
    ctx: Ctx<'_>,
) -> Result<(), Refusal> {
    lot.did_version += 1;
    let document = lot_document(lot, bindings, lot.did_version)?;
    changes.events.push(lot_event(
        EventType::DidDocumentPublished,
        &lot.lot_id,
        ctx,
        None,
        json!({"versionId": lot.did_version.to_string(), "documentSha256": hex(&cphar_crypto::sha256(&cphar_jcs::canonicalize(&document).map_err(|e| invalid(e.to_string()))?))}),
    ));
    changes.did_documents.push(DidDocumentVersion {
        lot_id: lot.lot_id.clone(),
        version: lot.did_version,
        document,
    });
    Ok(())
}

fn replace(history: &[BindingRecord], updated: &BindingRecord) -> Vec<BindingRecord> {
    let mut all: Vec<BindingRecord> = history
        .iter()
        .map(|b| {
            if b.id == updated.id {
                updated.clone()
            } else {
                b.clone()
            }
        })
        .collect();
    if !all.iter().any(|b| b.id == updated.id) {
        all.push(updated.clone());
    }
    all
}

pub(crate) fn transition(from: SealState, to: SealState) -> Value {
    json!({"from": from.as_str(), "to": to.as_str()})
}

fn seal_event(
    kind: EventType,
    uid: &str,
    ctx: Ctx<'_>,
    reason: Option<&str>,
    data: Value,
) -> RegistryEvent {
    RegistryEvent {
        event_type: kind,
        subject: seal_subject(uid),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: reason.map(str::to_owned),
        data,
    }
}

fn lot_event(
    kind: EventType,
    lot_id: &str,
    ctx: Ctx<'_>,
    reason: Option<&str>,
    data: Value,
) -> RegistryEvent {
    RegistryEvent {
        event_type: kind,
        subject: lot_subject(lot_id),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: reason.map(str::to_owned),
        data,
    }
}

pub(crate) fn not_found_seal(uid: &str) -> Refusal {
    Refusal::new(
        RefusalCode::SealNotFound,
        format!("no seal has device uid {uid}"),
    )
}

pub(crate) fn not_found_lot(id: &str) -> Refusal {
    Refusal::new(RefusalCode::LotNotFound, format!("no lot has id {id}"))
}
