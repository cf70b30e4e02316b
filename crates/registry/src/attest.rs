//! Attestation, the registry operation CPHAR exists for: issuing a challenge to a lot's seal
//! and recording the seal's answer (or its silence), and keeping the active reserve set
//! truthful when evidence lapses.
//!
//! Answering a challenge reads once (the challenge, its lot with the current binding and seal,
//! the lot's current DID document as stored, the policy in force), verifies and decides in
//! pure code (the seed 002 procedure → the policy engine → [`decide_answer`]), and writes once:
//! the outcome record, the state change, policy events and the challenge spend in one
//! transaction. A state change rests on a [`Verified`] or [`TamperReport`] value, which only the
//! verification procedure can build.
//!
//! | outcome | what changes |
//! | --- | --- |
//! | valid, policy allows or degrades | seal Sealed → Attested, binding Active/Degraded, lot evidence renewed (a lapse ends) |
//! | valid, policy denies | nothing but the record (`policy_decision`) |
//! | valid, device certificate revoked by its vendor's CRL, or that CRL stale | as a policy deny (`device_certificate_revoked`, `crl_stale`) |
//! | valid, device certificate expired | as a policy deny, or degrade if so configured (`device_certificate_expired`) |
//! | signed answer reporting `tampered` | binding revoked `tamper_detected`, seal Broken, lot out of the set; the answer kept as evidence |
//! | no answer (`device_unreachable`) | the seal's unreachable streak grows; at the limit the lot lapses out of the set |
//! | any other result | the record only |
//!
//! A lot whose latest evidence (sign-off or valid attestation) is older than the cadence plus
//! its grace lapses out of the set ([`Registry::lapse_stale_lots`]); the next valid attestation
//! brings it back.

use crate::codes::RefusalCode;
use crate::decide::{self, Ctx};
use crate::device::CertificatePolicy;
use crate::error::Refusal;
use crate::event::{EventType, RegistryEvent, lot_subject, seal_subject};
use crate::model::{BindingRecord, Lapse, LapseReason, LotRecord, SealRecord, in_active_reserve};
use crate::seal::{SealEvent, SealState};
use crate::service::{Registry, RegistryError};
use crate::store::{AttestationInputs, Challenge, ChangeSet, SpendChallenge, Store, StoreError};
use cphar_policy::{Decision, Effect, PolicyEngine, PolicyInput};
use cphar_protocol::{
    Bal, ChallengeParams, ChallengeRequest, Outcome, ResponseTiming, ResultCode, RevocationReason,
    TamperReport, Timestamp, Verified, VerifierPolicy,
};
use cphar_vendor::CrlSet;
use serde_json::{Map, Value, json};
use time::Duration;

/// How many times an answer is re-decided after a concurrent change before giving up.
const MAX_ATTEMPTS: usize = 8;

/// Lots lapsed per page of the stale-evidence scan.
const LAPSE_PAGE: u32 = 200;

/// How the registry verifies answers and judges evidence.
#[derive(Debug, Clone)]
pub struct AttestationSettings {
    /// Challenge lifetime and timestamp tolerance (seed 002 §4.3.6).
    pub skew: Duration,
    /// Maximum response time t₁ − t₀, if enforced.
    pub max_response_time: Option<Duration>,
    /// How often a lot needs a valid attestation.
    pub cadence: Duration,
    /// How long past the cadence a lot stays in the active set without one.
    pub grace: Duration,
    /// Unanswered challenges in a row after which a lot lapses (`device_unreachable`).
    pub unreachable_limit: u32,
}

impl Default for AttestationSettings {
    fn default() -> Self {
        AttestationSettings {
            skew: Duration::seconds(300),
            max_response_time: None,
            cadence: Duration::hours(1),
            grace: Duration::minutes(15),
            unreachable_limit: 3,
        }
    }
}

/// A verifier's request for a challenge. The verifier DID comes from its credential.
#[derive(Debug, Clone)]
pub struct ChallengeOrder<'a> {
    /// The lot to challenge.
    pub lot_id: &'a str,
    /// The verifier DID, bound to the caller's credential.
    pub verifier_did: &'a str,
    /// The lowest acceptable BAL.
    pub min_bal: Option<Bal>,
    /// Whether to ask for PBAC.
    pub request_pbac: Option<bool>,
}

/// An issued challenge.
#[derive(Debug, Clone)]
pub struct IssuedChallenge {
    /// Its id (answers are posted to it).
    pub id: String,
    /// The ChallengeRequest to hand to the seal.
    pub request: ChallengeRequest,
}

/// What came back from the seal.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// The ChallengeResponse, raw bytes as received.
    Response(&'a [u8]),
    /// Nothing within the transport timeout.
    NoAnswer,
}

/// What the registry decided about an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationDecision {
    /// Valid and allowed: the seal is attested.
    Allow,
    /// Valid, allowed with a recorded degradation.
    Degrade,
    /// Valid, but the policy denied it: nothing changed but the record.
    Deny,
    /// Not valid: the record (and, for a signed tamper report, the revocation).
    Reject,
}

impl AttestationDecision {
    /// The telemetry `decision` value.
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationDecision::Allow => "allow",
            AttestationDecision::Degrade => "degrade",
            AttestationDecision::Deny => "deny",
            AttestationDecision::Reject => "reject",
        }
    }
}

/// The recorded answer to a challenge.
#[derive(Debug, Clone)]
pub struct AttestationRecord {
    /// The challenge.
    pub challenge_id: String,
    /// The challenged lot.
    pub lot_id: String,
    /// The verification outcome.
    pub outcome: Outcome,
    /// The policy decision, for a valid answer under a policy.
    pub policy: Option<Decision>,
    /// What the registry decided.
    pub decision: AttestationDecision,
    /// The seal, when the answer changed it.
    pub seal: Option<SealRecord>,
    /// Whether the lot is in the active reserve set after the change.
    pub lot_active: bool,
}

impl AttestationRecord {
    /// The stable reason code: the policy's, else the verification detail, else the result.
    pub fn reason_code(&self) -> &str {
        match &self.policy {
            Some(p) if self.decision != AttestationDecision::Reject => &p.reason_code,
            _ => self.outcome.detail.unwrap_or(self.outcome.result.as_str()),
        }
    }

    /// The answer a verifier gets: PROTOCOL.md's verification result, then what the registry
    /// did about it.
    pub fn to_json(&self) -> Value {
        let mut answer = match self.outcome.to_result_json() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        answer.insert("challengeId".into(), json!(self.challenge_id));
        answer.insert("decision".into(), json!(self.decision.as_str()));
        if let Some(p) = &self.policy {
            answer.insert("policy".into(), p.to_json());
        }
        if let Some(seal) = &self.seal {
            answer.insert("sealState".into(), json!(seal.state.as_str()));
        }
        answer.insert("lotActive".into(), json!(self.lot_active));
        Value::Object(answer)
    }
}

// ---------------------------------------------------------------------------------------------
// Pure decisions

/// Decides issuing `request` as challenge `id` (valid until `now + skew`).
pub fn issue(
    id: String,
    lot: &LotRecord,
    request: &ChallengeRequest,
    settings: &AttestationSettings,
    ctx: Ctx<'_>,
) -> ChangeSet {
    let issued_ns = nanos(ctx.now);
    ChangeSet {
        challenges_issued: vec![Challenge {
            id,
            nonce: request.nonce().to_owned(),
            lot_id: lot.lot_id.clone(),
            verifier: request.verifier().to_owned(),
            request: request.raw().to_string(),
            issued_ns,
            expires_ns: issued_ns.saturating_add(
                i64::try_from(settings.skew.whole_nanoseconds()).unwrap_or(i64::MAX),
            ),
        }],
        ..ChangeSet::default()
    }
}

/// The policy engine's question about a valid answer.
pub fn policy_input(
    lot: &LotRecord,
    seal: Option<&SealRecord>,
    verified: &Verified,
    now: Timestamp,
) -> PolicyInput {
    PolicyInput {
        commodity: Some(lot.commodity.clone()),
        bal: Some(verified.bal()),
        attestation_age_seconds: seal
            .and_then(|s| s.last_attested_at)
            .map(|t| u64::try_from(now.since(t).whole_seconds()).unwrap_or(0)),
        firmware_measurement: seal.map(|s| s.firmware_measurement.clone()),
        downgrade: verified.downgraded(),
        device_status: Some(verified.device_status()),
        verifier_did: Some(verified.verifier_did().to_owned()),
        ..PolicyInput::default()
    }
}

/// Decides what answering challenge `inputs.challenge` with `outcome` changes.
///
/// `policy` is the policy in force; `certificates` the CRLs held and the expired-certificate
/// policy (the device certificate is judged with [`crate::device::certificate_gate`]: the
/// stricter of its decision and the policy's wins); `history` every binding of the lot
/// (needed only to revoke on a tamper report); `answer` the raw answer kept as evidence of
/// tamper.
#[allow(clippy::too_many_arguments)]
pub fn decide_answer(
    inputs: &AttestationInputs,
    outcome: Outcome,
    policy: Option<&PolicyEngine>,
    certificates: (&CrlSet, CertificatePolicy),
    history: &[BindingRecord],
    answer: Option<&str>,
    settings: &AttestationSettings,
    ctx: Ctx<'_>,
) -> Result<(ChangeSet, AttestationRecord), Refusal> {
    let challenge = &inputs.challenge;
    let spend = SpendChallenge {
        id: challenge.id.clone(),
        now_ns: nanos(ctx.now),
    };
    let verification = outcome.audit_event(&challenge.id);
    let current = current_of(inputs);
    let mut record = AttestationRecord {
        challenge_id: challenge.id.clone(),
        lot_id: challenge.lot_id.clone(),
        policy: None,
        decision: AttestationDecision::Reject,
        seal: None,
        lot_active: inputs.lot.as_ref().is_some_and(|l| l.active),
        outcome,
    };

    if let Some(verified) = record.outcome.verified().cloned() {
        let (lot, binding, seal) = current.ok_or_else(not_current)?;
        matches_current(
            lot,
            binding,
            verified.object_did(),
            verified.binding_method(),
        )?;
        let gate = crate::device::certificate_gate(seal, certificates.0, certificates.1, ctx.now);
        let engine = policy.map(|p| p.decide(&policy_input(lot, Some(seal), &verified, ctx.now)));
        let decision = match (gate, engine) {
            (Some(g), Some(e)) => Some(if e.effect > g.effect { e } else { g }),
            (g, e) => g.or(e),
        };
        let mut changes = match decision.as_ref().map(|d| d.effect) {
            Some(Effect::Deny) => {
                record.decision = AttestationDecision::Deny;
                ChangeSet {
                    events: vec![lot_record(
                        EventType::VerificationRecorded,
                        lot,
                        ctx,
                        decision.as_ref().map(|d| d.reason_code.clone()),
                        json!({"verification": verification}),
                    )],
                    ..ChangeSet::default()
                }
            }
            effect => {
                record.decision = if effect == Some(Effect::Degrade) {
                    AttestationDecision::Degrade
                } else {
                    AttestationDecision::Allow
                };
                let (changes, new_seal, active) =
                    attest(&verified, lot, binding, seal, verification, ctx)?;
                record.seal = Some(new_seal);
                record.lot_active = active;
                changes
            }
        };
        if let Some(d) = decision.as_ref().filter(|d| d.effect != Effect::Allow) {
            changes.events.push(lot_record(
                EventType::PolicyDecision,
                lot,
                ctx,
                Some(d.reason_code.clone()),
                d.to_json(),
            ));
        }
        record.policy = decision;
        changes.challenges_spent.push(spend);
        return Ok((changes, record));
    }

    if let Some(report) = record.outcome.tamper_report().cloned() {
        let (lot, binding, seal) = current.ok_or_else(not_current)?;
        matches_current(lot, binding, report.object_did(), report.binding_method())?;
        let mut changes = tamper(
            &report,
            lot,
            binding,
            seal,
            history,
            verification,
            answer,
            ctx,
        )?;
        record.seal = changes.seals.last().cloned();
        record.lot_active = false;
        changes.challenges_spent.push(spend);
        return Ok((changes, record));
    }

    // Not valid: the record; a silent seal counts towards lapsing.
    let reason = record
        .outcome
        .detail
        .unwrap_or(record.outcome.result.as_str())
        .to_owned();
    let mut changes = ChangeSet::default();
    let subject = lot_subject(&challenge.lot_id);
    changes.events.push(RegistryEvent {
        event_type: EventType::VerificationRecorded,
        subject,
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: Some(reason),
        data: json!({"verification": verification}),
    });
    if record.outcome.result == ResultCode::DeviceUnreachable
        && let Some((lot, binding, seal)) = current
        && seal.state.is_intact()
    {
        let mut new_seal = seal.clone();
        new_seal.unreachable_streak = seal.unreachable_streak.saturating_add(1);
        new_seal.version += 1;
        if new_seal.unreachable_streak >= settings.unreachable_limit.max(1) && lot.lapse.is_none() {
            let (new_lot, event) = lapse(
                lot,
                binding,
                &new_seal,
                LapseReason::DeviceUnreachable,
                json!({"unansweredChallenges": new_seal.unreachable_streak}),
                ctx,
            );
            record.lot_active = new_lot.active;
            changes.lots.push(new_lot);
            changes.events.push(event);
        }
        record.seal = Some(new_seal.clone());
        changes.seals.push(new_seal);
    }
    changes.challenges_spent.push(spend);
    Ok((changes, record))
}

/// Decides lapsing `lot` out of the active set: its evidence is older than the cadence plus
/// its grace. Refused when the lot is not active or its evidence is fresh after all.
pub fn lapse_stale(
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    settings: &AttestationSettings,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    let limit = settings.cadence + settings.grace;
    let fresh = lot.evidence_at.is_some_and(|t| ctx.now.since(t) <= limit);
    if !lot.active || lot.lapse.is_some() || fresh {
        return Err(Refusal::new(
            RefusalCode::InvalidLotState,
            format!("lot {} has no stale evidence to lapse", lot.lot_id),
        ));
    }
    let (new_lot, event) = lapse(
        lot,
        binding,
        seal,
        LapseReason::AttestationOverdue,
        json!({
            "evidenceAt": lot.evidence_at.map(|t| t.to_string()),
            "cadenceSeconds": settings.cadence.whole_seconds(),
            "graceSeconds": settings.grace.whole_seconds(),
        }),
        ctx,
    );
    Ok(ChangeSet {
        lots: vec![new_lot],
        events: vec![event],
        ..ChangeSet::default()
    })
}

fn current_of(inputs: &AttestationInputs) -> Option<(&LotRecord, &BindingRecord, &SealRecord)> {
    match (&inputs.lot, &inputs.binding, &inputs.seal) {
        (Some(l), Some(b), Some(s)) => Some((l, b, s)),
        _ => None,
    }
}

fn not_current() -> Refusal {
    Refusal::new(
        RefusalCode::SealLotMismatch,
        "the answer is not for the lot's current binding",
    )
}

/// The verified answer must be for this lot's current binding (a rebinding between the
/// challenge and the answer makes it moot).
fn matches_current(
    lot: &LotRecord,
    binding: &BindingRecord,
    object_did: &str,
    method: &str,
) -> Result<(), Refusal> {
    if object_did == lot.did
        && method == binding.id
        && lot.binding_id.as_deref() == Some(binding.id.as_str())
    {
        Ok(())
    } else {
        Err(not_current())
    }
}

/// A valid answer: Sealed → Attested (an Attested seal first closes its cycle), the binding
/// Active or Degraded as the device reports, the lot's evidence renewed and a lapse ended.
fn attest(
    verified: &Verified,
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    verification: Value,
    ctx: Ctx<'_>,
) -> Result<(ChangeSet, SealRecord, bool), Refusal> {
    let status = verified.device_status();
    let mut new_binding = binding.clone();
    new_binding.state = binding
        .state
        .on(crate::binding::BindingEvent::ChallengeSucceeded(status))?;
    new_binding.version += 1;
    let mut new_seal = seal.clone();
    let mut transitions = Vec::new();
    if seal.state == SealState::Attested {
        new_seal.state = new_seal.state.on(SealEvent::CycleClosed)?;
        transitions.push(decide::transition(SealState::Attested, new_seal.state));
    }
    let before = new_seal.state;
    new_seal.state = new_seal.state.on(SealEvent::ChallengeSucceeded)?;
    transitions.push(decide::transition(before, new_seal.state));
    // Answers verified concurrently may be recorded out of order: keep the latest.
    let at = verified.verified_at();
    new_seal.last_attested_at = Some(seal.last_attested_at.map_or(at, |t| t.max(at)));
    new_seal.unreachable_streak = 0;
    new_seal.version += 1;
    let mut new_lot = lot.clone();
    new_lot.evidence_at = Some(lot.evidence_at.map_or(at, |t| t.max(at)));
    new_lot.lapse = None;
    new_lot.active = in_active_reserve(Some(&new_binding), Some(new_seal.state), None);
    new_lot.updated_at = ctx.now;
    new_lot.version += 1;
    let mut events = vec![RegistryEvent {
        event_type: EventType::SealAttested,
        subject: seal_subject(&seal.uid),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: None,
        data: json!({
            "lotId": lot.lot_id,
            "bindingMethod": binding.id,
            "bal": verified.bal().as_str(),
            "deviceStatus": status.as_str(),
            "verifierDid": verified.verifier_did(),
            "verifiedAt": at.to_string(),
            "sealTransitions": transitions,
            "bindingTransition": {"from": binding.state.as_str(), "to": new_binding.state.as_str()},
            "verification": verification,
        }),
    }];
    if let Some(l) = &lot.lapse
        && new_lot.active
    {
        events.push(lot_record(
            EventType::LotRestored,
            lot,
            ctx,
            None,
            json!({"lapsedSince": l.since.to_string(), "lapseReason": l.reason.as_str()}),
        ));
    }
    let active = new_lot.active;
    let changes = ChangeSet {
        seals: vec![new_seal.clone()],
        lots: vec![new_lot],
        bindings: vec![new_binding],
        events,
        ..ChangeSet::default()
    };
    Ok((changes, new_seal, active))
}

/// A signed tamper report: the binding is revoked `tamper_detected` (seal Broken), the
/// answer kept as evidence.
#[allow(clippy::too_many_arguments)]
fn tamper(
    report: &TamperReport,
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    history: &[BindingRecord],
    verification: Value,
    answer: Option<&str>,
    ctx: Ctx<'_>,
) -> Result<ChangeSet, Refusal> {
    let mut changes = decide::revoke(
        lot,
        binding,
        seal,
        history,
        RevocationReason::TamperDetected,
        ctx,
    )?;
    changes.events.insert(
        0,
        lot_record(
            EventType::VerificationRecorded,
            lot,
            ctx,
            Some(cphar_protocol::Detail::DeviceTampered.as_str().to_owned()),
            json!({
                "verification": verification,
                "tamperReport": {
                    "bindingMethod": report.binding_method(),
                    "reportedAt": report.reported_at().to_string(),
                    "answer": answer,
                },
            }),
        ),
    );
    Ok(changes)
}

/// Takes `lot` out of the active set for `reason`.
fn lapse(
    lot: &LotRecord,
    binding: &BindingRecord,
    seal: &SealRecord,
    reason: LapseReason,
    details: Value,
    ctx: Ctx<'_>,
) -> (LotRecord, RegistryEvent) {
    let mut new_lot = lot.clone();
    new_lot.lapse = Some(Lapse {
        reason,
        since: ctx.now,
    });
    new_lot.active = in_active_reserve(Some(binding), Some(seal.state), new_lot.lapse.as_ref());
    new_lot.updated_at = ctx.now;
    new_lot.version += 1;
    let event = lot_record(
        EventType::LotLapsed,
        lot,
        ctx,
        Some(reason.as_str().to_owned()),
        json!({"sealUid": seal.uid, "details": details}),
    );
    (new_lot, event)
}

fn lot_record(
    kind: EventType,
    lot: &LotRecord,
    ctx: Ctx<'_>,
    reason: Option<String>,
    data: Value,
) -> RegistryEvent {
    RegistryEvent {
        event_type: kind,
        subject: lot_subject(&lot.lot_id),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: reason,
        data,
    }
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// The operations

impl<S: Store> Registry<S> {
    /// Issues a challenge to the seal of `order.lot_id` with a fresh 32-byte CSPRNG nonce.
    pub async fn issue_challenge(
        &self,
        order: &ChallengeOrder<'_>,
        settings: &AttestationSettings,
    ) -> Result<IssuedChallenge, RegistryError> {
        let ctx = self.ctx(order.verifier_did)?;
        let lot = self.lot(order.lot_id).await?;
        let nonce = cphar_crypto::random_bytes::<32>()
            .map_err(|e| crate::error::invalid(format!("random source failed: {e}")))?;
        let request = ChallengeRequest::issue(ChallengeParams {
            did: lot.did.clone(),
            did_version: None,
            nonce: nonce.to_vec(),
            timestamp: ctx.now,
            verifier: order.verifier_did.to_owned(),
            min_bal: order.min_bal,
            request_pbac: order.request_pbac,
        })
        .map_err(|e| crate::error::invalid(e.to_string()))?;
        let id = cphar_crypto::hex(
            &cphar_crypto::random_bytes::<16>()
                .map_err(|e| crate::error::invalid(format!("random source failed: {e}")))?,
        );
        self.store
            .apply(issue(id.clone(), &lot, &request, settings, ctx))
            .await?;
        Ok(IssuedChallenge { id, request })
    }

    /// Records the answer to challenge `id` received at `received` (once: a replay, from any
    /// server process, is `challenge_used_or_expired`).
    pub async fn answer_challenge(
        &self,
        id: &str,
        answer: Answer<'_>,
        actor: &str,
        received: Timestamp,
        settings: &AttestationSettings,
    ) -> Result<AttestationRecord, RegistryError> {
        let verifier = VerifierPolicy {
            skew: settings.skew,
            max_response_time: settings.max_response_time,
            ..VerifierPolicy::default()
        };
        let ctx = Ctx {
            actor,
            now: received,
        };
        for _ in 0..MAX_ATTEMPTS {
            let inputs = self
                .store
                .attestation_inputs(id)
                .await?
                .filter(|i| i.challenge.expires_ns > nanos(received))
                .ok_or_else(spent)?;
            let policy = self.compiled(inputs.policy.as_ref())?;
            let sent = Timestamp::from_unix_nanos(i128::from(inputs.challenge.issued_ns))
                .unwrap_or(received);
            let outcome = match (answer, &inputs.document) {
                (Answer::Response(body), Some(document)) => cphar_protocol::verify_json(
                    inputs.challenge.request.as_bytes(),
                    body,
                    document.as_bytes(),
                    &verifier,
                    received,
                    Some(ResponseTiming { sent, received }),
                ),
                (Answer::Response(_), None) => {
                    return Err(decide::not_found_lot(&inputs.challenge.lot_id).into());
                }
                (Answer::NoAnswer, _) => {
                    Outcome::unreachable(inputs.challenge.request.as_bytes(), received)
                }
            };
            // Only a signed tamper report needs the lot's binding history (to revoke).
            let history = if outcome.tamper_report().is_some() {
                self.store.bindings_of_lot(&inputs.challenge.lot_id).await?
            } else {
                Vec::new()
            };
            let text = match answer {
                Answer::Response(body) => std::str::from_utf8(body).ok(),
                Answer::NoAnswer => None,
            };
            let crls = self.crls();
            let (changes, record) = decide_answer(
                &inputs,
                outcome,
                policy.as_deref(),
                (&crls, self.certificate_policy()),
                &history,
                text,
                settings,
                ctx,
            )?;
            match self.store.apply(changes).await {
                Ok(_) => return Ok(record),
                Err(StoreError::ChallengeSpent) => return Err(spent().into()),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refusal::new(
            RefusalCode::Conflict,
            format!("gave up after {MAX_ATTEMPTS} concurrent changes"),
        )
        .into())
    }

    /// Takes every active lot whose latest evidence is older than the cadence plus its grace
    /// out of the active set; returns their ids.
    pub async fn lapse_stale_lots(
        &self,
        settings: &AttestationSettings,
        actor: &str,
    ) -> Result<Vec<String>, RegistryError> {
        let ctx = self.ctx(actor)?;
        let before = ctx
            .now
            .checked_add(-(settings.cadence + settings.grace))
            .map_or(i64::MIN, nanos);
        let mut lapsed = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .lots_with_stale_evidence(before, after.as_deref(), LAPSE_PAGE)
                .await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.lot_id.clone());
            for (lot, current) in &page {
                let Some((binding, Some(seal))) = current else {
                    continue;
                };
                // A lot changed meanwhile is left for the next round: its evidence may be fresh.
                if let Ok(changes) = lapse_stale(lot, binding, seal, settings, ctx) {
                    match self.store.apply(changes).await {
                        Ok(_) => lapsed.push(lot.lot_id.clone()),
                        Err(StoreError::Conflict(_)) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(lapsed)
    }
}

fn spent() -> Refusal {
    Refusal::new(
        RefusalCode::ChallengeUsedOrExpired,
        "this challenge was already answered, has expired, or does not exist",
    )
}
