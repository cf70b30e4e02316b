//! What the registry requires of a device and its certificate, as pure decisions:
//!
//! * **Enrollment challenge** (seed 002 §4.2.2 steps 1–4): the Enrollment Authority issues a
//!   32-byte CSPRNG nonce in a challenge it signs ([`issue_enrollment_challenge`]); the device
//!   signs it with its binding key ([`cphar_protocol::seal::Seal::enroll`]); the registration
//!   carries both, and [`check_enrollment`] verifies the EA's signature, the challenge's age
//!   and the device's signature with the certified key. The challenge is stateless (nothing
//!   is stored when it is issued): a proof can only ever register the key it was signed with,
//!   which the registry accepts once.
//! * **The certified BAL** ([`certified_bal`]): with the CPHAR device-identity extension in the
//!   device certificate, the registered BAL is the one the vendor certified — a request
//!   claiming more is refused (`bal_not_certified`), one claiming less is registered at the
//!   lower level.
//! * **The certificate's life at attestation** ([`certificate_gate`]): expiry against the
//!   recorded `notAfter` (the policy in [`CertificatePolicy`] decides deny or degrade) and the
//!   issuer's CRL from the in-memory [`CrlSet`] (revoked or stale: deny). It is a function of
//!   the seal record already read and the CRLs held, so an attestation makes no extra query.
//!
//! Challenge format:
//!
//! ```json
//! {"type": "CpharEnrollmentChallenge", "nonce": "<base64url, 32 bytes>",
//!  "authority": "<EA key id>", "issuedAt": "…Z", "expiresAt": "…Z",
//!  "signature": "<base64url Ed25519 by the EA key>"}
//! ```
//!
//! The EA signs `"CPHAR-enrollment-challenge/v1" 0x00 JCS(challenge without signature)`; the
//! prefix keeps the bytes apart from every other thing the EA key signs (BEA proofs).

use crate::codes::RefusalCode;
use crate::error::Refusal;
use crate::model::SealRecord;
use cphar_crypto::{SigningKey, VerifyingKey};
use cphar_policy::{Decision, Effect};
use cphar_protocol::{Bal, Timestamp};
use cphar_vendor::{CertificateStatus, CrlSet, DeviceIdentity};
use serde_json::{Map, Value, json};
use time::Duration;

/// The `type` of an enrollment challenge.
pub const CHALLENGE_TYPE: &str = "CpharEnrollmentChallenge";

/// What the EA's signature over a challenge starts with.
const CHALLENGE_PREFIX: &[u8] = b"CPHAR-enrollment-challenge/v1\0";

/// How long an enrollment challenge may be answered.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(10);

/// The policy id of decisions about the device certificate.
pub const CERTIFICATE_POLICY_ID: &str = "cphar-device-certificate";

/// A registration's proof of possession: the EA's challenge as issued and the device's
/// signature over it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentProof {
    /// The challenge exactly as the EA issued it.
    pub challenge: Value,
    /// base64url signature by the binding key over the `enrollment` envelope.
    pub signature: String,
}

fn challenge_input(unsigned: &Value) -> Result<Vec<u8>, Refusal> {
    let body = cphar_jcs::canonicalize(unsigned).map_err(|e| {
        Refusal::new(
            RefusalCode::EnrollmentChallengeInvalid,
            format!("challenge: {e}"),
        )
    })?;
    let mut out = CHALLENGE_PREFIX.to_vec();
    out.extend_from_slice(&body);
    Ok(out)
}

/// Builds and signs an enrollment challenge with `nonce`, valid from `now` for
/// [`CHALLENGE_LIFETIME`].
///
/// # Errors
/// When the EA key cannot sign.
pub fn issue_enrollment_challenge(
    nonce: &[u8; 32],
    authority_key_id: &str,
    key: &SigningKey,
    now: Timestamp,
) -> Result<Value, Refusal> {
    let expires = now.checked_add(CHALLENGE_LIFETIME).unwrap_or(now);
    let mut obj = Map::new();
    obj.insert("type".into(), json!(CHALLENGE_TYPE));
    obj.insert("nonce".into(), json!(cphar_crypto::b64::encode(nonce)));
    obj.insert("authority".into(), json!(authority_key_id));
    obj.insert("issuedAt".into(), json!(now.to_string()));
    obj.insert("expiresAt".into(), json!(expires.to_string()));
    let input = challenge_input(&Value::Object(obj.clone()))?;
    let signature = key.sign(&input).map_err(|e| {
        Refusal::new(
            RefusalCode::AuthorityUnavailable,
            format!("the EA key cannot sign: {e}"),
        )
    })?;
    obj.insert(
        "signature".into(),
        json!(cphar_crypto::b64::encode(&signature)),
    );
    Ok(Value::Object(obj))
}

/// The authority key id a challenge names (to look its key up), if it names one.
pub fn challenge_authority(proof: &EnrollmentProof) -> Option<&str> {
    proof.challenge.get("authority").and_then(Value::as_str)
}

/// Verifies `proof` for device `uid` whose binding key is `device_key`: the challenge is one
/// the EA (`ea_key`, `None` when the named authority is unknown or revoked) signed, not
/// expired at `now`, and the device signed it for this UID.
///
/// # Errors
/// `enrollment_challenge_invalid`, `enrollment_challenge_expired`,
/// `enrollment_signature_invalid`.
pub fn check_enrollment(
    proof: &EnrollmentProof,
    uid: &str,
    device_key: &VerifyingKey,
    ea_key: Option<&VerifyingKey>,
    now: Timestamp,
) -> Result<(), Refusal> {
    let bad = |m: &str| Refusal::new(RefusalCode::EnrollmentChallengeInvalid, m.to_owned());
    let obj = proof
        .challenge
        .as_object()
        .ok_or_else(|| bad("challenge is not an object"))?;
    let text = |name: &str| obj.get(name).and_then(Value::as_str);
    if obj.len() != 6 || text("type") != Some(CHALLENGE_TYPE) {
        return Err(bad("not a CPHAR enrollment challenge"));
    }
    let nonce = text("nonce")
        .and_then(|n| cphar_crypto::b64::decode(n).ok())
        .ok_or_else(|| bad("nonce is not base64url"))?;
    if nonce.len() < 32 {
        return Err(bad("nonce shorter than 256 bits"));
    }
    let expires: Timestamp = text("expiresAt")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| bad("expiresAt is not a time"))?;
    let ea_signature = text("signature")
        .and_then(|s| cphar_crypto::b64::decode(s).ok())
        .ok_or_else(|| bad("signature is not base64url"))?;
    let mut unsigned = obj.clone();
    unsigned.remove("signature");
    let ea_key =
        ea_key.ok_or_else(|| bad("the challenge names no active Enrollment Authority key"))?;
    ea_key
        .verify(&challenge_input(&Value::Object(unsigned))?, &ea_signature)
        .map_err(|_| bad("the Enrollment Authority did not sign this challenge"))?;
    if now > expires {
        return Err(Refusal::new(
            RefusalCode::EnrollmentChallengeExpired,
            format!("the enrollment challenge expired at {expires}"),
        ));
    }
    let signature = cphar_crypto::b64::decode(&proof.signature).map_err(|_| {
        Refusal::new(
            RefusalCode::EnrollmentSignatureInvalid,
            "the device signature is not base64url",
        )
    })?;
    let input = cphar_protocol::domain::signing_input(
        cphar_protocol::domain::SealContext::Enrollment,
        &cphar_protocol::domain::enrollment_payload(&proof.challenge, uid),
    )
    .map_err(|e| bad(&e.to_string()))?;
    device_key.verify(&input, &signature).map_err(|_| {
        Refusal::new(
            RefusalCode::EnrollmentSignatureInvalid,
            "the device's signature over the enrollment challenge does not verify with the certified key",
        )
    })
}

/// The BAL a seal is registered at: with a device-identity extension, `claimed` if the
/// certificate certifies at least that much; without one (a vendor not requiring it), the
/// claim.
///
/// # Errors
/// `bal_not_certified` when the claim is above the certified BAL.
pub fn certified_bal(claimed: Bal, identity: Option<&DeviceIdentity>) -> Result<Bal, Refusal> {
    let Some(identity) = identity else {
        return Ok(claimed);
    };
    let certified = match identity.bal {
        1 => Bal::Bal1,
        2 => Bal::Bal2,
        3 => Bal::Bal3,
        _ => Bal::Bal4,
    };
    if claimed > certified {
        return Err(Refusal::new(
            RefusalCode::BalNotCertified,
            format!("the request claims {claimed}; the device certificate certifies {certified}"),
        ));
    }
    Ok(claimed)
}

/// Refuses a registration whose certificate the issuer's CRL revokes or cannot vouch for.
///
/// # Errors
/// `device_certificate_revoked`, `crl_stale`.
pub fn check_revocation(status: &CertificateStatus) -> Result<(), Refusal> {
    match status {
        CertificateStatus::Revoked { at } => Err(Refusal::new(
            RefusalCode::DeviceCertificateRevoked,
            format!("the vendor's CRL revokes the device certificate (since {at})"),
        )),
        CertificateStatus::CrlStale { next_update } => Err(Refusal::new(
            RefusalCode::CrlStale,
            format!("the vendor's CRL is stale (nextUpdate {next_update}): it proves nothing"),
        )),
        CertificateStatus::Good | CertificateStatus::NoCrl => Ok(()),
    }
}

/// What to do with a valid answer from a seal whose device certificate has expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiredCertificate {
    /// Record the answer, change nothing (the default).
    #[default]
    Deny,
    /// Attest, recording a degradation.
    Degrade,
}

/// How attestations judge the device certificate.
#[derive(Debug, Clone, Copy, Default)]
pub struct CertificatePolicy {
    /// Expired certificate: deny or degrade.
    pub expired: ExpiredCertificate,
}

fn certificate_decision(effect: Effect, reason: &str, evidence: Value) -> Decision {
    Decision {
        effect,
        policy_id: CERTIFICATE_POLICY_ID.into(),
        policy_version: 1,
        matched_rule_id: Some(reason.to_owned()),
        reason_code: reason.to_owned(),
        evidence,
    }
}

/// The device certificate's standing at `now` for a valid answer from `seal`: `None` when
/// nothing is wrong, else the decision (revoked or stale CRL: deny; expired: per `policy`).
pub fn certificate_gate(
    seal: &SealRecord,
    crls: &CrlSet,
    policy: CertificatePolicy,
    now: Timestamp,
) -> Option<Decision> {
    let cert = &seal.certificate;
    let evidence = |extra: Value| {
        let mut e = json!({
            "certificateIssuer": cert.issuer,
            "certificateSerial": cert.serial,
            "notAfter": cert.not_after.map(|t| t.to_string()),
        });
        if let (Some(e), Value::Object(x)) = (e.as_object_mut(), extra) {
            e.extend(x);
        }
        e
    };
    let status = crls.status(&cert.issuer, &cert.serial, now.unix_seconds());
    if let Some(code) = status.refusal_code() {
        let extra = match status {
            CertificateStatus::Revoked { at } => json!({"revokedAt": at}),
            CertificateStatus::CrlStale { next_update } => json!({"crlNextUpdate": next_update}),
            CertificateStatus::Good | CertificateStatus::NoCrl => json!({}),
        };
        return Some(certificate_decision(Effect::Deny, code, evidence(extra)));
    }
    if cert.not_after.is_some_and(|t| now > t) {
        let effect = match policy.expired {
            ExpiredCertificate::Deny => Effect::Deny,
            ExpiredCertificate::Degrade => Effect::Degrade,
        };
        return Some(certificate_decision(
            effect,
            "device_certificate_expired",
            evidence(json!({})),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use cphar_crypto::Algorithm;
    use cphar_protocol::seal::SoftwareSeal;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn enrollment_proves_possession_of_the_certified_key() {
        let ea = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let device = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let device_public = device.verifying_key();
        let seal = SoftwareSeal::new(device, String::new(), Bal::Bal2);
        let now = t("2026-11-23T10:00:00Z");
        let challenge = issue_enrollment_challenge(&[7; 32], "ea-1", &ea, now).unwrap();
        let proof: EnrollmentProof =
            serde_json::from_value(seal.enroll(&challenge, "SEAL-1").unwrap()).unwrap();
        let ea_public = ea.verifying_key();
        let check = |proof: &EnrollmentProof, uid: &str, at: &str| {
            check_enrollment(proof, uid, &device_public, Some(&ea_public), t(at))
                .map_err(|r| r.code())
        };
        assert_eq!(check(&proof, "SEAL-1", "2026-11-23T10:05:00Z"), Ok(()));
        // Signed for another device UID.
        assert_eq!(
            check(&proof, "SEAL-2", "2026-11-23T10:05:00Z"),
            Err("enrollment_signature_invalid")
        );
        // Too late.
        assert_eq!(
            check(&proof, "SEAL-1", "2026-11-23T10:10:01Z"),
            Err("enrollment_challenge_expired")
        );
        // A challenge the EA did not issue (nonce changed).
        let mut forged = proof.clone();
        forged.challenge["nonce"] = json!(cphar_crypto::b64::encode(&[8; 32]));
        assert_eq!(
            check(&forged, "SEAL-1", "2026-11-23T10:05:00Z"),
            Err("enrollment_challenge_invalid")
        );
        // Another key signed it: no proof of possession of the certified key.
        let other = SoftwareSeal::new(
            SigningKey::generate(Algorithm::Ed25519).unwrap(),
            String::new(),
            Bal::Bal2,
        );
        let impostor: EnrollmentProof =
            serde_json::from_value(other.enroll(&challenge, "SEAL-1").unwrap()).unwrap();
        assert_eq!(
            check(&impostor, "SEAL-1", "2026-11-23T10:05:00Z"),
            Err("enrollment_signature_invalid")
        );
        // No known EA key.
        assert_eq!(
            check_enrollment(&proof, "SEAL-1", &device_public, None, now).map_err(|r| r.code()),
            Err("enrollment_challenge_invalid")
        );
    }

    #[test]
    fn the_certificate_caps_the_bal() {
        let identity = DeviceIdentity {
            bal: 2,
            key_origin: cphar_vendor::KeyOrigin::GeneratedOnDevice,
            non_exportable: true,
            sku: "AS-100".into(),
            hardware_id: "HW".into(),
            batch: "B".into(),
            provisioning_record_id: "PR".into(),
        };
        assert_eq!(
            certified_bal(Bal::Bal2, Some(&identity)).unwrap(),
            Bal::Bal2
        );
        assert_eq!(
            certified_bal(Bal::Bal1, Some(&identity)).unwrap(),
            Bal::Bal1
        );
        assert_eq!(
            certified_bal(Bal::Bal3, Some(&identity)).map_err(|r| r.code()),
            Err("bal_not_certified")
        );
        assert_eq!(certified_bal(Bal::Bal3, None).unwrap(), Bal::Bal3);
    }
}
