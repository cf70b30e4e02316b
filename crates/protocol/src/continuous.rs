//! BAL-4 continuous attestation payload (seed 002 Appendix D, §3.4).
//!
//! The device signs its latest autonomous attestation with its binding key; the verifier
//! checks that signature before it trusts any reading. Where seed 002 signs plain
//! `JCS(object without signature)`, CPHAR signs the type-tagged envelope of
//! [`crate::domain`] (context `continuous-attestation`) over that same JCS, so that no
//! ChallengeRequest signature can pass for an attestation ([`seal`] produces it).
//!
//! Freshness (`docs/protocol-extensions.md`), with `I` the method's maximum attestation
//! interval: `generatedAt` lies within `[challenge − I, challenge + skew]`, `nextExpectedBy`
//! is at most `generatedAt + I`, and verification time is not past `nextExpectedBy` plus the
//! documented drift. The checks live in [`crate::verify`].

use crate::domain::{self, SealContext};
use crate::fields::{self, FieldError};
use crate::signed::{self, SIGNATURE_MEMBER, SignedObjectError};
use crate::timestamp::Timestamp;
use serde_json::{Map, Value};

/// One sensor reading.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorReading {
    /// Sensor identifier (the member name).
    pub id: String,
    /// The value.
    pub value: f64,
    /// SI unit.
    pub unit: String,
    /// Whether the value is within the enrolled envelope.
    pub within_limits: bool,
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationEvent {
    /// Event type.
    pub event_type: String,
    /// When it happened.
    pub timestamp: Timestamp,
    /// Free-text details.
    pub details: String,
}

/// A parsed (not yet verified) continuous attestation.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousAttestation {
    /// The object DID.
    pub did: String,
    /// The binding method id.
    pub binding_method: String,
    /// When the device produced it.
    pub generated_at: Timestamp,
    /// When the next one is due.
    pub next_expected_by: Timestamp,
    /// Sensor readings, in received order.
    pub sensors: Vec<SensorReading>,
    /// Event log.
    pub events: Vec<AttestationEvent>,
    /// The envelope `continuous-attestation` of `JCS(object without signature)`.
    pub signing_input: Vec<u8>,
    /// Decoded signature.
    pub signature: Vec<u8>,
}

impl ContinuousAttestation {
    /// Parses the Appendix D object. Every member is REQUIRED.
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, FieldError> {
        let did = fields::req_did(obj, "did")?.to_owned();
        let binding_method = fields::req_str(obj, "bindingMethod")?.to_owned();
        let generated_at = fields::req_time(obj, "generatedAt")?;
        let next_expected_by = fields::req_time(obj, "nextExpectedBy")?;
        if next_expected_by < generated_at {
            return Err(FieldError::Invalid("nextExpectedBy".into()));
        }
        let sensors_obj = fields::req_object(obj, "sensors")?;
        let mut sensors = Vec::with_capacity(sensors_obj.len());
        for (id, reading) in sensors_obj {
            let r = reading
                .as_object()
                .ok_or_else(|| FieldError::WrongType(format!("sensors.{id}")))?;
            sensors.push(SensorReading {
                id: id.clone(),
                value: fields::req_f64(r, "value")?,
                unit: fields::req_str(r, "unit")?.to_owned(),
                within_limits: fields::req_bool(r, "withinLimits")?,
            });
        }
        let events = match obj.get("events") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|e| {
                    let e = e
                        .as_object()
                        .ok_or_else(|| FieldError::WrongType("events".into()))?;
                    Ok(AttestationEvent {
                        event_type: fields::req_str(e, "eventType")?.to_owned(),
                        timestamp: fields::req_time(e, "timestamp")?,
                        details: fields::req_str(e, "details")?.to_owned(),
                    })
                })
                .collect::<Result<Vec<_>, FieldError>>()?,
            Some(_) => return Err(FieldError::WrongType("events".into())),
            None => return Err(FieldError::Missing("events".into())),
        };
        let (_, signature) = signed::open(obj).map_err(|e| match e {
            SignedObjectError::MissingSignature => FieldError::Missing("signature".into()),
            _ => FieldError::Invalid("signature".into()),
        })?;
        let signing_input =
            envelope(obj).map_err(|_| FieldError::Invalid("continuousAttestation".into()))?;
        Ok(ContinuousAttestation {
            did,
            binding_method,
            generated_at,
            next_expected_by,
            sensors,
            events,
            signing_input,
            signature,
        })
    }

    /// The first sensor outside its limits, if any.
    pub fn first_out_of_limits(&self) -> Option<&SensorReading> {
        self.sensors.iter().find(|s| !s.within_limits)
    }
}

/// The envelope a seal signs for `obj` (its `signature` member, if any, left out).
fn envelope(obj: &Map<String, Value>) -> Result<Vec<u8>, cphar_jcs::CanonError> {
    let mut unsigned = obj.clone();
    unsigned.shift_remove(SIGNATURE_MEMBER);
    domain::signing_input(SealContext::ContinuousAttestation, &Value::Object(unsigned))
}

/// Signs a continuous attestation object in place (the device side): `sign` receives the
/// `continuous-attestation` envelope and returns raw signature bytes, stored base64url in
/// `signature` (replacing any previous one).
pub fn seal<E>(
    obj: &mut Map<String, Value>,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<(), E>
where
    E: From<SignedObjectError>,
{
    let input = envelope(obj).map_err(|e| E::from(SignedObjectError::Canonical(e)))?;
    let sig = sign(&input)?;
    obj.insert(
        SIGNATURE_MEMBER.to_owned(),
        Value::String(cphar_crypto::b64::encode(&sig)),
    );
    Ok(())
}
