//! The verification procedure of seed 002 §4.3.4, with the settlements of PROTOCOL.md.
//!
//! [`verify`] is a pure function of (request, response, DID document, verifier policy, clock,
//! response timing): it reads no clock, no file and no socket. Steps 6–10 (issuing and
//! transmitting the challenge, recording t₀/t₁) belong to the transport driver, which hands
//! their results in as [`ResponseTiming`]. Every other step runs here, in the seed's order,
//! and the first failing step decides the [`Outcome`].
//!
//! [`verify_json`] adds the structural checks PROTOCOL.md places before step 1, for callers
//! holding raw bytes (the offline verifier).
//!
//! CPHAR extensions (`docs/protocol-extensions.md`): for a method advertising
//! `cpharStatusSignature`, step 16 moves after step 18, preceded by the status signature; BAL-4
//! continuous attestations are checked over their envelope and for freshness against the
//! maximum attestation interval after step 18.

use crate::codes::{Bal, Detail, DeviceStatus, ResultCode, TFP_1};
use crate::continuous::ContinuousAttestation;
use crate::did::{BindingMethod, DidDocument, MethodKey};
use crate::domain;
use crate::message::{ChallengeRequest, ChallengeResponse};
use crate::pbac::{self, PbacContext};
use crate::timestamp::Timestamp;
use crate::{pid, risk};
use cphar_crypto::{CmacAes128Key, VerifyingKey};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use time::Duration;

/// Default timestamp skew tolerance (seed 002 §4.3.4 step 14).
pub const DEFAULT_SKEW: Duration = Duration::seconds(300);

/// The BAL-4 maximum attestation interval a verifier applies when the binding method does
/// not publish `cpharMaxAttestationIntervalSeconds` (one hour).
pub const DEFAULT_MAX_ATTESTATION_INTERVAL: Duration = Duration::seconds(3600);

/// What the verifier is willing to accept, and the keys it holds.
#[derive(Debug, Clone)]
pub struct VerifierPolicy {
    /// Timestamp skew tolerance (default 300 s).
    pub skew: Duration,
    /// Maximum response time t₁ − t₀ (§4.3.6), if enforced.
    pub max_response_time: Option<Duration>,
    /// Trust framework profiles this verifier supports (default: TFP-1 only).
    pub supported_tfps: Vec<String>,
    /// Public keys of Proximity Verifier Services, by PVS DID.
    pub pvs_keys: HashMap<String, VerifyingKey>,
    /// Profile C keys held by the verifier, by `kid`.
    pub cmac_keys: HashMap<String, CmacAes128Key>,
    /// Parties whose profile C risk acceptance this verifier honours, by DID.
    pub risk_acceptors: HashMap<String, VerifyingKey>,
    /// When set, the trust framework permits a BAL downgrade for this documented reason
    /// (§4.3.5); every downgrade is reported in the outcome for logging.
    pub downgrade_justification: Option<String>,
    /// The device clock drift documented at enrollment, added to `nextExpectedBy` (BAL-4).
    pub attestation_drift: Duration,
    /// The BAL-4 maximum attestation interval used when the binding method publishes none
    /// (the method's `cpharMaxAttestationIntervalSeconds` always wins).
    pub max_attestation_interval: Duration,
    /// PUF helper data the verifier retrieved, by `helperData.uri`.
    pub helper_data: HashMap<String, Vec<u8>>,
}

impl Default for VerifierPolicy {
    fn default() -> Self {
        VerifierPolicy {
            skew: DEFAULT_SKEW,
            max_response_time: None,
            supported_tfps: vec![TFP_1.to_owned()],
            pvs_keys: HashMap::new(),
            cmac_keys: HashMap::new(),
            risk_acceptors: HashMap::new(),
            downgrade_justification: None,
            attestation_drift: Duration::ZERO,
            max_attestation_interval: DEFAULT_MAX_ATTESTATION_INTERVAL,
            helper_data: HashMap::new(),
        }
    }
}

/// t₀ and t₁ of steps 8 and 10, recorded by the transport driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseTiming {
    /// When the challenge was transmitted (t₀).
    pub sent: Timestamp,
    /// When the response was received (t₁).
    pub received: Timestamp,
}

/// A permitted BAL downgrade, to be logged with its justification (§4.3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downgrade {
    /// The highest non-revoked BAL available.
    pub available: Bal,
    /// The BAL actually used.
    pub used: Bal,
    /// The trust framework's documented reason.
    pub justification: String,
}

/// A verification that passed every step: only [`verify`] builds one, so a registry change
/// that takes `&Verified` cannot rest on an unverified answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    object_did: String,
    binding_method: String,
    bal: Bal,
    device_status: DeviceStatus,
    verifier_did: String,
    verified_at: Timestamp,
    downgraded: bool,
}

impl Verified {
    /// The object DID the answer is for.
    pub fn object_did(&self) -> &str {
        &self.object_did
    }
    /// The binding method whose key signed it.
    pub fn binding_method(&self) -> &str {
        &self.binding_method
    }
    /// The method's BAL (never the device's claim).
    pub fn bal(&self) -> Bal {
        self.bal
    }
    /// The status the device reported (`operational` or `degraded`; `tampered` never verifies).
    pub fn device_status(&self) -> DeviceStatus {
        self.device_status
    }
    /// The verifier the challenge named.
    pub fn verifier_did(&self) -> &str {
        &self.verifier_did
    }
    /// When it was verified.
    pub fn verified_at(&self) -> Timestamp {
        self.verified_at
    }
    /// Whether a permitted BAL downgrade was used.
    pub fn downgraded(&self) -> bool {
        self.downgraded
    }
}

/// A `deviceStatus: tampered` report in an answer whose signature verified under the
/// selected binding method (seed 002 step 16): evidence that the seal itself reports tamper.
/// Only [`verify`] builds one.
#[derive(Debug, Clone, PartialEq)]
pub struct TamperReport {
    object_did: String,
    binding_method: String,
    reported_at: Timestamp,
}

impl TamperReport {
    /// The object DID.
    pub fn object_did(&self) -> &str {
        &self.object_did
    }
    /// The binding method whose key signed the answer.
    pub fn binding_method(&self) -> &str {
        &self.binding_method
    }
    /// When the report was verified.
    pub fn reported_at(&self) -> Timestamp {
        self.reported_at
    }
}

/// What a verification proved beyond its result code.
#[derive(Debug, Clone, PartialEq, Default)]
enum Evidence {
    #[default]
    None,
    Verified(Verified),
    Tamper(TamperReport),
}

/// The result of a verification, with what an audit event needs (TFP-1 §B.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The §4.6 result code.
    pub result: ResultCode,
    /// Which check decided it (a [`Detail`] or, for `revoked_binding`, the revocation
    /// reason code); `None` when valid.
    pub detail: Option<&'static str>,
    /// A human-readable explanation (never contains secrets).
    pub explanation: Option<String>,
    /// The selected method's BAL, once a method is selected.
    pub bal: Option<Bal>,
    /// The selected method's id, once a method is selected.
    pub binding_method: Option<String>,
    /// The selected method's trust framework profile.
    pub tfp: Option<String>,
    /// Whether a validated PBAC attestation was applied.
    pub pbac_applied: bool,
    /// The validated PVS attestation, as received.
    pub pvs_attestation: Option<Map<String, Value>>,
    /// A permitted downgrade, if one happened.
    pub downgrade: Option<Downgrade>,
    /// The object DID (from the request, when it could be read).
    pub object_did: Option<String>,
    /// The verifier DID (from the request, when it could be read).
    pub verifier_did: Option<String>,
    /// The device status the response reported (once the response could be read).
    pub device_status: Option<DeviceStatus>,
    /// Verification time.
    pub verified_at: Timestamp,
    /// Set by the procedure alone (private: an `Outcome` cannot be built elsewhere).
    evidence: Evidence,
}

impl Outcome {
    /// The proof that every step passed, when the result is `valid`.
    pub fn verified(&self) -> Option<&Verified> {
        match &self.evidence {
            Evidence::Verified(v) => Some(v),
            _ => None,
        }
    }

    /// An authenticated tamper report, when the device reported `tampered` in an answer whose
    /// signature verified.
    pub fn tamper_report(&self) -> Option<&TamperReport> {
        match &self.evidence {
            Evidence::Tamper(t) => Some(t),
            _ => None,
        }
    }

    fn new(now: Timestamp) -> Self {
        Outcome {
            result: ResultCode::Valid,
            detail: None,
            explanation: None,
            bal: None,
            binding_method: None,
            tfp: None,
            pbac_applied: false,
            pvs_attestation: None,
            downgrade: None,
            device_status: None,
            object_did: None,
            verifier_did: None,
            verified_at: now,
            evidence: Evidence::None,
        }
    }

    /// The outcome a transport driver records when the device gave no answer in time
    /// (`device_unreachable`): the procedure never ran.
    pub fn unreachable(request: &[u8], now: Timestamp) -> Self {
        let mut o = Outcome::new(now);
        if let Ok(r) = ChallengeRequest::from_json(request) {
            o.object_did = Some(r.did().to_owned());
            o.verifier_did = Some(r.verifier().to_owned());
        }
        o.fail(
            ResultCode::DeviceUnreachable,
            Detail::DeviceNoAnswer.as_str(),
            "the device did not answer within the transport timeout".to_owned(),
        )
    }

    fn fail(mut self, result: ResultCode, detail: &'static str, explanation: String) -> Self {
        self.result = result;
        self.detail = Some(detail);
        self.explanation = Some(explanation);
        self
    }

    /// The verification result object of PROTOCOL.md, exactly its four members.
    pub fn to_result_json(&self) -> Value {
        json!({
            "result": self.result.as_str(),
            "detail": self.detail,
            "bal": self.bal.map(Bal::as_str),
            "bindingMethod": self.binding_method,
        })
    }

    /// The TFP-1 §B.3 audit event for this verification. `event_id` is supplied by the caller
    /// (a UUID from its CSPRNG): this module generates no randomness.
    pub fn audit_event(&self, event_id: &str) -> Value {
        let mut event = json!({
            "eventType": "UORABindingVerification",
            "eventId": event_id,
            "timestamp": self.verified_at.to_string(),
            "verifierDid": self.verifier_did,
            "objectDid": self.object_did,
            "bindingMethodId": self.binding_method,
            "result": self.result.as_str(),
            "detail": self.detail,
            "bal": self.bal.map(Bal::as_str),
            "pbacApplied": self.pbac_applied,
            "pvsAttestation": self.pvs_attestation,
            "tfp": self.tfp,
        });
        if let (Some(d), Some(obj)) = (&self.downgrade, event.as_object_mut()) {
            obj.insert(
                "downgrade".into(),
                json!({"available": d.available.as_str(), "used": d.used.as_str(),
                       "justification": d.justification}),
            );
        }
        event
    }
}

/// Structural checks before step 1, then [`verify`]. Inputs are the raw bytes as received.
pub fn verify_json(
    request: &[u8],
    response: &[u8],
    document: &[u8],
    policy: &VerifierPolicy,
    now: Timestamp,
    timing: Option<ResponseTiming>,
) -> Outcome {
    let inconclusive = |detail: Detail, why: String| {
        Outcome::new(now).fail(ResultCode::VerificationInconclusive, detail.as_str(), why)
    };
    let request = match ChallengeRequest::from_json(request) {
        Ok(r) => r,
        Err(e) => return inconclusive(Detail::MalformedRequest, format!("request: {e}")),
    };
    let document = match DidDocument::from_json(document) {
        Ok(d) => d,
        Err(e) => {
            let mut o = inconclusive(Detail::MalformedDidDocument, format!("DID document: {e}"));
            o.object_did = Some(request.did().to_owned());
            o.verifier_did = Some(request.verifier().to_owned());
            return o;
        }
    };
    let response = match ChallengeResponse::from_json(response) {
        Ok(r) => r,
        Err(e) => {
            let mut o = inconclusive(Detail::MalformedResponse, format!("response: {e}"));
            o.object_did = Some(request.did().to_owned());
            o.verifier_did = Some(request.verifier().to_owned());
            return o;
        }
    };
    verify(&request, &response, &document, policy, now, timing)
}

/// The verification procedure (§4.3.4 steps 1–5 and 11–20) on parsed inputs.
pub fn verify(
    request: &ChallengeRequest,
    response: &ChallengeResponse,
    document: &DidDocument,
    policy: &VerifierPolicy,
    now: Timestamp,
    timing: Option<ResponseTiming>,
) -> Outcome {
    let mut o = Outcome::new(now);
    o.object_did = Some(request.did().to_owned());
    o.verifier_did = Some(request.verifier().to_owned());
    use ResultCode as R;

    if document.id() != request.did() {
        let why = format!(
            "DID document is for {}, the challenge for {}",
            document.id(),
            request.did()
        );
        return o.fail(
            R::VerificationInconclusive,
            Detail::DidDocumentMismatch.as_str(),
            why,
        );
    }

    // Step 1: the resolved version must be the one the challenge pins.
    if let Some(wanted) = request.did_version()
        && wanted != document.version_id()
    {
        let why = format!(
            "didVersion {wanted} requested, version {} resolved",
            document.version_id()
        );
        return o.fail(
            R::VersionUnavailable,
            Detail::VersionNotResolved.as_str(),
            why,
        );
    }

    // Step 2.
    let methods = document.binding_methods();
    if methods.is_empty() {
        let why = "no UORABindingVerification method listed in assertionMethod".to_owned();
        return o.fail(R::NoBindingMethod, Detail::NoUsableMethod.as_str(), why);
    }

    // Step 3: BAL selection and downgrade prevention (§4.3.5).
    let min_bal = request.min_bal().unwrap_or(Bal::Bal1);
    let (method, downgrade) = match select_method(methods, min_bal, response, policy) {
        Some(sel) => sel,
        None => {
            let why = format!("no binding method at or above {min_bal}");
            return o.fail(
                R::InsufficientBal,
                Detail::NoMethodMeetsMinBal.as_str(),
                why,
            );
        }
    };
    o.bal = Some(method.bal);
    o.binding_method = Some(method.id.clone());
    o.tfp = method.tfp.clone();
    o.downgrade = downgrade;
    if response.bal() < min_bal {
        let why = format!("device reports {}, below minBal {min_bal}", response.bal());
        return o.fail(R::InsufficientBal, Detail::DeviceBalBelowMin.as_str(), why);
    }

    // Members REQUIRED only at BAL-4, checked now that the method is known.
    let continuous = if method.bal == Bal::Bal4 {
        match bal4_members(response) {
            Ok(c) => Some(c),
            Err(why) => {
                return o.fail(
                    R::VerificationInconclusive,
                    Detail::MalformedResponse.as_str(),
                    why,
                );
            }
        }
    } else {
        None
    };

    // Step 4: trust framework profile.
    match &method.tfp {
        None => {
            let why = format!("binding method {} declares no trust framework", method.id);
            return o.fail(
                R::UnsupportedTrustFramework,
                Detail::TfpMissing.as_str(),
                why,
            );
        }
        Some(tfp) if !policy.supported_tfps.iter().any(|s| s == tfp) => {
            let why = format!("trust framework {tfp} is not supported");
            return o.fail(
                R::UnsupportedTrustFramework,
                Detail::TfpUnsupported.as_str(),
                why,
            );
        }
        Some(_) => {}
    }

    // Profile C: only with a valid, trusted, signed risk acceptance (§6.3).
    if method.is_profile_c()
        && let Err(e) = risk::validate(
            method.profile_c_risk_acceptance.as_ref(),
            &method.id,
            &policy.risk_acceptors,
            now,
            policy.skew,
        )
    {
        let detail = match e {
            risk::RiskAcceptanceError::Missing => Detail::RiskAcceptanceMissing,
            _ => Detail::RiskAcceptanceInvalid,
        };
        return o.fail(R::ProfileCRiskNotAccepted, detail.as_str(), e.to_string());
    }

    // Step 5: PID for BAL-3/4.
    if method.bal.requires_pid()
        && let Err(e) = pid::validate(method.pid.as_ref(), &policy.helper_data)
    {
        let detail = match e {
            pid::PidError::HelperDataMismatch => Detail::HelperDataMismatch,
            _ => Detail::InvalidPid,
        };
        return o.fail(R::InvalidPid, detail.as_str(), e.to_string());
    }

    // Step 11.
    if request.request_pbac() && response.pbac_applied() != Some(true) {
        let why = "PBAC was requested but the response did not apply it".to_owned();
        return o.fail(
            R::VerificationInconclusive,
            Detail::PbacNotApplied.as_str(),
            why,
        );
    }

    // Step 12.
    let pbac = if response.pbac_applied() == Some(true) {
        let ctx = PbacContext {
            method,
            pvs_keys: &policy.pvs_keys,
            challenge_time: request.timestamp(),
            now,
            skew: policy.skew,
        };
        match pbac::validate(response.pbac_signature(), &ctx) {
            Ok(a) => Some(a),
            Err(e) => {
                let why = format!("{} ({})", e, e.code());
                return o.fail(
                    R::VerificationInconclusive,
                    Detail::PbacValidationFailed.as_str(),
                    why,
                );
            }
        }
    } else {
        None
    };
    if let Some(a) = &pbac {
        o.pbac_applied = true;
        o.pvs_attestation = Some(a.raw.clone());
    }

    // Step 13: the nonce, or the PVS's decryption of the blinded one.
    let nonce_ok = match &pbac {
        Some(a) => a.decrypted_nonce == request.nonce_bytes(),
        None => response.nonce().as_bytes() == request.nonce().as_bytes(),
    };
    if !nonce_ok {
        let why = "response nonce is not the challenge nonce".to_owned();
        return o.fail(R::InvalidNonce, Detail::NonceMismatch.as_str(), why);
    }

    // Step 14: device timestamp against the challenge, then the challenge against now.
    if let Some(device_time) = response.timestamp() {
        let skew = device_time.since(request.timestamp()).abs();
        if skew > policy.skew {
            let why = format!("device timestamp is {skew} from the challenge's");
            return o.fail(
                R::ExpiredChallenge,
                Detail::DeviceTimestampSkew.as_str(),
                why,
            );
        }
    }
    let age = now.since(request.timestamp());
    if age > policy.skew {
        let why = format!("challenge issued {age} ago");
        return o.fail(R::ExpiredChallenge, Detail::ChallengeExpired.as_str(), why);
    }
    if -age > policy.skew {
        let why = format!("challenge dated {} in the future", -age);
        return o.fail(
            R::ExpiredChallenge,
            Detail::ChallengeFromFuture.as_str(),
            why,
        );
    }

    // Step 15: response-time bound, when PBAC did not already bound proximity.
    if pbac.is_none()
        && let (Some(max), Some(t)) = (policy.max_response_time, timing)
    {
        let elapsed = t.received.since(t.sent);
        // A negative elapsed time is an impossible measurement: fail closed.
        if elapsed > max || elapsed.is_negative() {
            let why = format!("response took {elapsed}, bound is {max}");
            return o.fail(
                R::VerificationInconclusive,
                Detail::ResponseTimeExceeded.as_str(),
                why,
            );
        }
    }

    // Step 16. For a method advertising the CPHAR authenticated status the status is judged
    // only after the response signature (step 18) and the status signature verify, so that
    // it can be neither stripped nor forged in transit. Otherwise (a seed-only seal) a tamper
    // report is evidence only when the answer's signature verifies: an unsigned claim must
    // not break a seal. The result is inconclusive either way.
    o.device_status = Some(response.device_status());
    if !method.status_signature
        && let Err((result, detail, why)) = status_step(response)
    {
        if check_response_signature(request, response, method, policy).is_ok() {
            o.evidence = tamper_evidence(request, method, now);
        }
        return o.fail(result, detail.as_str(), why);
    }

    // Steps 17–18: the signature over JCS(request as received), computed when it was parsed.
    if let Err((result, detail, why)) = check_response_signature(request, response, method, policy)
    {
        return o.fail(result, detail.as_str(), why);
    }

    // Step 16 for a method advertising authenticated status: the status signature, then
    // the status it vouches for.
    if method.status_signature {
        if let Err((result, detail, why)) =
            check_status_signature(request, response, method, policy)
        {
            return o.fail(result, detail.as_str(), why);
        }
        if let Err((result, detail, why)) = status_step(response) {
            // Both signatures verified: the seal itself reports tamper.
            o.evidence = tamper_evidence(request, method, now);
            return o.fail(result, detail.as_str(), why);
        }
    }

    // BAL-4: the continuous attestation, trusted only once its signature verifies.
    if let Some(att) = &continuous {
        match check_with_method(method, policy, &att.signing_input, &att.signature) {
            KeyCheck::Valid => {}
            KeyCheck::Invalid | KeyCheck::KeyUnavailable(_) => {
                let why = "continuous attestation signature does not verify".to_owned();
                return o.fail(
                    R::InvalidSignature,
                    Detail::ContinuousAttestationSignature.as_str(),
                    why,
                );
            }
        }
        if att.did != request.did() || att.binding_method != method.id {
            let why = "continuous attestation is for another DID or binding method".to_owned();
            return o.fail(
                R::InvalidSignature,
                Detail::ContinuousAttestationMismatch.as_str(),
                why,
            );
        }
        if let Some(sensor) = att.first_out_of_limits() {
            let why = format!("sensor '{}' reports a value outside its limits", sensor.id);
            return o.fail(
                R::VerificationInconclusive,
                Detail::SensorOutOfLimits.as_str(),
                why,
            );
        }
        // Freshness: generated within one interval before the challenge (and not after it
        // beyond the skew), and promising its successor within one interval.
        let interval = method
            .max_attestation_interval
            .unwrap_or(policy.max_attestation_interval);
        let challenge = request.timestamp();
        let oldest = challenge.checked_sub(interval);
        let newest = challenge.checked_add(policy.skew);
        let fresh = oldest.is_some_and(|t| att.generated_at >= t)
            && newest.is_some_and(|t| att.generated_at <= t);
        if !fresh {
            let why = format!(
                "attestation generated at {}, challenge at {challenge}, maximum interval {interval}",
                att.generated_at
            );
            return o.fail(
                R::VerificationInconclusive,
                Detail::ContinuousAttestationNotFresh.as_str(),
                why,
            );
        }
        if att
            .generated_at
            .checked_add(interval)
            .is_none_or(|limit| att.next_expected_by > limit)
        {
            let why = format!(
                "nextExpectedBy {} is more than {interval} after generatedAt {}",
                att.next_expected_by, att.generated_at
            );
            return o.fail(
                R::VerificationInconclusive,
                Detail::ContinuousAttestationIntervalExceeded.as_str(),
                why,
            );
        }
        let due = att.next_expected_by.checked_add(policy.attestation_drift);
        if due.is_none_or(|due| now > due) {
            let why = format!("attestation was due by {}", att.next_expected_by);
            return o.fail(
                R::VerificationInconclusive,
                Detail::ContinuousAttestationGap.as_str(),
                why,
            );
        }
    }

    // Step 19.
    if let Some(rev) = method.revoked {
        let why = format!("binding revoked at {} ({})", rev.timestamp, rev.reason);
        return o.fail(R::RevokedBinding, rev.reason.as_str(), why);
    }

    // Step 20.
    o.evidence = Evidence::Verified(Verified {
        object_did: request.did().to_owned(),
        binding_method: method.id.clone(),
        bal: method.bal,
        device_status: response.device_status(),
        verifier_did: request.verifier().to_owned(),
        verified_at: now,
        downgraded: o.downgrade.is_some(),
    });
    o
}

/// Steps 17–18: the response names the selected method and the challenged DID, and its
/// signature over `JCS(request as received)` verifies under the method's key.
fn check_response_signature(
    request: &ChallengeRequest,
    response: &ChallengeResponse,
    method: &BindingMethod,
    policy: &VerifierPolicy,
) -> Result<(), (ResultCode, Detail, String)> {
    use ResultCode as R;
    if response.binding_method() != method.id {
        let why = format!(
            "response names {}, selected method is {}",
            response.binding_method(),
            method.id
        );
        return Err((R::InvalidSignature, Detail::BindingMethodMismatch, why));
    }
    if response.did() != request.did() {
        let why = format!("response is for {}", response.did());
        return Err((R::InvalidSignature, Detail::DidMismatch, why));
    }
    let Ok(signature) = cphar_crypto::b64::decode(response.signature()) else {
        let why = "signature is not unpadded base64url".to_owned();
        return Err((R::InvalidSignature, Detail::SignatureEncoding, why));
    };
    match check_with_method(method, policy, request.canonical_bytes(), &signature) {
        KeyCheck::Valid => Ok(()),
        KeyCheck::Invalid => {
            let why = format!("signature does not verify under {}", method.id);
            Err((R::InvalidSignature, Detail::SignatureMismatch, why))
        }
        KeyCheck::KeyUnavailable(kid) => {
            let why = format!("verifier holds no profile C key '{kid}'");
            Err((
                R::VerificationInconclusive,
                Detail::VerifierKeyUnavailable,
                why,
            ))
        }
    }
}

/// Step 3 (§4.3.5 as settled in PROTOCOL.md). Returns `None` when no method meets `minBal`.
fn select_method<'a>(
    methods: &'a [BindingMethod],
    min_bal: Bal,
    response: &ChallengeResponse,
    policy: &VerifierPolicy,
) -> Option<(&'a BindingMethod, Option<Downgrade>)> {
    let eligible = || methods.iter().filter(|m| m.bal >= min_bal);
    let named = |m: &BindingMethod| m.id == response.binding_method();
    let best_of = |pool: Vec<&'a BindingMethod>| -> Option<&'a BindingMethod> {
        let top = pool.iter().map(|m| m.bal).max()?;
        let tied: Vec<&BindingMethod> = pool.into_iter().filter(|m| m.bal == top).collect();
        tied.iter()
            .find(|m| named(m))
            .or_else(|| tied.first())
            .copied()
    };
    let live: Vec<&BindingMethod> = eligible().filter(|m| m.revoked.is_none()).collect();
    let Some(best) = best_of(live.clone()) else {
        // Every eligible method is revoked: select the highest; step 19 answers.
        return best_of(eligible().collect()).map(|m| (m, None));
    };
    // A downgrade only when the trust framework permits it, to a live method the device named.
    if let Some(justification) = &policy.downgrade_justification
        && let Some(lower) = live.iter().find(|m| named(m))
        && lower.bal < best.bal
    {
        let d = Downgrade {
            available: best.bal,
            used: lower.bal,
            justification: justification.clone(),
        };
        return Some((lower, Some(d)));
    }
    Some((best, None))
}

/// BAL-4 members: `timestamp`, `continuousAttestation`, `pbacApplied`.
fn bal4_members(response: &ChallengeResponse) -> Result<ContinuousAttestation, String> {
    if response.timestamp().is_none() {
        return Err("BAL-4 response without a device timestamp".into());
    }
    if response.pbac_applied().is_none() {
        return Err("BAL-4 response without pbacApplied".into());
    }
    let obj = response
        .continuous_attestation()
        .ok_or_else(|| "BAL-4 response without continuousAttestation".to_owned())?;
    ContinuousAttestation::parse(obj).map_err(|e| format!("continuousAttestation: {e}"))
}

/// The evidence of an authenticated tamper report.
fn tamper_evidence(request: &ChallengeRequest, method: &BindingMethod, now: Timestamp) -> Evidence {
    Evidence::Tamper(TamperReport {
        object_did: request.did().to_owned(),
        binding_method: method.id.clone(),
        reported_at: now,
    })
}

/// Step 16: `deviceStatus: tampered` is inconclusive whatever the signature.
fn status_step(response: &ChallengeResponse) -> Result<(), (ResultCode, Detail, String)> {
    if response.device_status() == DeviceStatus::Tampered {
        return Err((
            ResultCode::VerificationInconclusive,
            Detail::DeviceTampered,
            "device reports deviceStatus tampered".to_owned(),
        ));
    }
    Ok(())
}

/// The CPHAR authenticated status: `statusSignature` over the device-status envelope of
/// (request DID, selected method, request nonce, reported status), under the method's key.
fn check_status_signature(
    request: &ChallengeRequest,
    response: &ChallengeResponse,
    method: &BindingMethod,
    policy: &VerifierPolicy,
) -> Result<(), (ResultCode, Detail, String)> {
    let Some(text) = response.status_signature() else {
        return Err((
            ResultCode::VerificationInconclusive,
            Detail::StatusSignatureMissing,
            format!(
                "{} advertises authenticated status; no statusSignature",
                method.id
            ),
        ));
    };
    let mismatch = |why: String| {
        (
            ResultCode::InvalidSignature,
            Detail::StatusSignatureMismatch,
            why,
        )
    };
    let sig = cphar_crypto::b64::decode(text)
        .map_err(|_| mismatch("statusSignature is not unpadded base64url".to_owned()))?;
    let input = domain::status_signing_input(
        request.did(),
        &method.id,
        request.nonce(),
        response.device_status(),
    )
    .map_err(|e| mismatch(format!("status envelope: {e}")))?;
    match check_with_method(method, policy, &input, &sig) {
        KeyCheck::Valid => Ok(()),
        KeyCheck::Invalid => Err(mismatch(format!(
            "statusSignature does not verify for deviceStatus {} under {}",
            response.device_status(),
            method.id
        ))),
        KeyCheck::KeyUnavailable(kid) => Err((
            ResultCode::VerificationInconclusive,
            Detail::VerifierKeyUnavailable,
            format!("verifier holds no profile C key '{kid}'"),
        )),
    }
}

enum KeyCheck {
    Valid,
    Invalid,
    KeyUnavailable(String),
}

/// Verifies `sig` over `msg` with the selected method's key (a profile C key comes from the
/// verifier's own key store, by `kid`).
fn check_with_method(
    method: &BindingMethod,
    policy: &VerifierPolicy,
    msg: &[u8],
    sig: &[u8],
) -> KeyCheck {
    let ok = match &method.key {
        MethodKey::Public(key) => key.verify(msg, sig).is_ok(),
        MethodKey::Cmac { kid } => match policy.cmac_keys.get(kid) {
            Some(key) => key.verify(msg, sig).is_ok(),
            None => return KeyCheck::KeyUnavailable(kid.clone()),
        },
    };
    if ok {
        KeyCheck::Valid
    } else {
        KeyCheck::Invalid
    }
}
