//! The stable codes of the protocol: verification result codes (seed 002 §4.6), the details
//! that say which check produced them, binding assurance levels (§3) and revocation reason
//! codes (§4.4.2).
//!
//! Every code is declared once here with its wire spelling; logs, audit entries, CLI output and
//! HTTP answers all use these strings unchanged.

/// Declares a string-coded enum with `as_str`, `FromStr`, `Display` and an `ALL` list.
///
/// Exported so that every crate declares its stable codes the same way.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The wire spelling of this code.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::codes::UnknownCode;
            fn from_str(s: &str) -> Result<Self, $crate::codes::UnknownCode> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::codes::UnknownCode { kind: stringify!($name) }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A string that is not one of the values of a code enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value")]
pub struct UnknownCode {
    /// Which enum was being parsed.
    pub kind: &'static str,
}

wire_enum! {
    /// The verification result states of seed 002 §4.6 (all thirteen).
    ResultCode {
        /// Challenge-response succeeded; the binding is intact at the returned BAL.
        Valid => "valid",
        /// The response does not correspond to the registered key (or names another method/DID).
        InvalidSignature => "invalid_signature",
        /// The challenge or device timestamp is outside the skew tolerance.
        ExpiredChallenge => "expired_challenge",
        /// The selected binding method is marked revoked in the DID document.
        RevokedBinding => "revoked_binding",
        /// No binding method (or the device) meets the verifier's `minBal`.
        InsufficientBal => "insufficient_bal",
        /// The device did not answer within the transport timeout (transport drivers only).
        DeviceUnreachable => "device_unreachable",
        /// The binding can be neither confirmed nor denied; `detail` says why.
        VerificationInconclusive => "verification_inconclusive",
        /// The requested `didVersion` is not available.
        VersionUnavailable => "version_unavailable",
        /// The DID document has no `UORABindingVerification` method.
        NoBindingMethod => "no_binding_method",
        /// The response nonce is not the challenge nonce.
        InvalidNonce => "invalid_nonce",
        /// The binding's trust framework profile is not one the verifier supports.
        UnsupportedTrustFramework => "unsupported_trust_framework",
        /// A profile C binding without a valid, signed risk acceptance.
        ProfileCRiskNotAccepted => "profile_c_risk_not_accepted",
        /// The PUF Interface Descriptor of a BAL-3/4 binding is missing or invalid.
        InvalidPid => "invalid_pid",
    }
}

impl ResultCode {
    /// Whether this result accepts the binding.
    pub const fn is_valid(self) -> bool {
        matches!(self, ResultCode::Valid)
    }
}

wire_enum! {
    /// Which check produced a result: the `detail` of a verification outcome.
    Detail {
        /// The ChallengeRequest is not I-JSON, lacks a REQUIRED field, or its nonce is short.
        MalformedRequest => "malformed_request",
        /// The DID document cannot be used (structure, keys, methods).
        MalformedDidDocument => "malformed_did_document",
        /// The ChallengeResponse is not I-JSON or lacks a field REQUIRED at its BAL.
        MalformedResponse => "malformed_response",
        /// The DID document's `id` is not the challenged DID.
        DidDocumentMismatch => "did_document_mismatch",
        /// The requested `didVersion` differs from the resolved document's `versionId`.
        VersionNotResolved => "version_not_resolved",
        /// Step 2 found no usable binding method.
        NoUsableMethod => "no_usable_method",
        /// No binding method has a BAL meeting `minBal`.
        NoMethodMeetsMinBal => "no_method_meets_min_bal",
        /// The device claims a BAL below `minBal`.
        DeviceBalBelowMin => "device_bal_below_min",
        /// The binding method declares no trust framework profile.
        TfpMissing => "tfp_missing",
        /// The binding method declares a trust framework profile the verifier does not support.
        TfpUnsupported => "tfp_unsupported",
        /// Profile C binding without a risk acceptance object.
        RiskAcceptanceMissing => "risk_acceptance_missing",
        /// Profile C risk acceptance is malformed, untrusted, or its signature fails.
        RiskAcceptanceInvalid => "risk_acceptance_invalid",
        /// The PID is missing or lacks/invalidates a required field (Appendix A).
        InvalidPid => "invalid_pid",
        /// The helper data supplied to the verifier does not match the PID's hash.
        HelperDataMismatch => "helper_data_hash_mismatch",
        /// PBAC was requested but not applied (step 11).
        PbacNotApplied => "pbac_not_applied",
        /// The PVS attestation failed validation (step 12).
        PbacValidationFailed => "pbac_validation_failed",
        /// The response nonce is not the challenge nonce (step 13).
        NonceMismatch => "nonce_mismatch",
        /// The device timestamp is outside the skew tolerance of the challenge (step 14).
        DeviceTimestampSkew => "device_timestamp_skew",
        /// The challenge is older than the skew tolerance at verification time (step 14).
        ChallengeExpired => "challenge_expired",
        /// The challenge is dated further in the future than the skew tolerance (step 14).
        ChallengeFromFuture => "challenge_from_future",
        /// t1 − t0 exceeded the configured maximum response time (step 15).
        ResponseTimeExceeded => "response_time_exceeded",
        /// The device reported `deviceStatus: tampered` (step 16).
        DeviceTampered => "device_tampered",
        /// The response names a binding method other than the selected one (step 18).
        BindingMethodMismatch => "binding_method_mismatch",
        /// The response's `did` is not the request's (step 18).
        DidMismatch => "did_mismatch",
        /// The signature is not unpadded base64url, or not strict DER for profile B (step 18).
        SignatureEncoding => "signature_encoding",
        /// The signature does not verify under the selected method's key (step 18).
        SignatureMismatch => "signature_mismatch",
        /// The verifier does not hold the profile C key named by the method's `kid`.
        VerifierKeyUnavailable => "verifier_key_unavailable",
        /// The BAL-4 continuous attestation's signature does not verify.
        ContinuousAttestationSignature => "continuous_attestation_signature",
        /// The BAL-4 continuous attestation is for another DID or binding method.
        ContinuousAttestationMismatch => "continuous_attestation_mismatch",
        /// A BAL-4 sensor reports a value outside its limits.
        SensorOutOfLimits => "sensor_out_of_limits",
        /// The BAL-4 attestation is overdue: now is past `nextExpectedBy` plus drift.
        ContinuousAttestationGap => "continuous_attestation_gap",
        /// The BAL-4 attestation's `generatedAt` is more than the maximum attestation interval
        /// before the challenge, or later than the challenge plus the skew tolerance.
        ContinuousAttestationNotFresh => "continuous_attestation_not_fresh",
        /// The BAL-4 attestation promises its successor (`nextExpectedBy`) more than the
        /// maximum attestation interval after `generatedAt`.
        ContinuousAttestationIntervalExceeded => "continuous_attestation_interval_exceeded",
        /// The method advertises authenticated status (`cpharStatusSignature`) but the
        /// response carries no `statusSignature`.
        StatusSignatureMissing => "status_signature_missing",
        /// The `statusSignature` is not unpadded base64url or does not verify over the
        /// device-status envelope of this challenge and status.
        StatusSignatureMismatch => "status_signature_mismatch",
        /// The device did not answer within the transport timeout (transport drivers).
        DeviceNoAnswer => "device_no_answer",
    }
}

wire_enum! {
    /// Binding Assurance Levels (seed 002 §3), ordered BAL-1 < … < BAL-4.
    Bal {
        /// Passive identifier with tamper-evident carrier.
        Bal1 => "BAL-1",
        /// Secure element with asymmetric challenge-response.
        Bal2 => "BAL-2",
        /// PUF-derived key with fuzzy extraction.
        Bal3 => "BAL-3",
        /// Continuous attestation with environmental monitoring.
        Bal4 => "BAL-4",
    }
}

impl Bal {
    /// Whether this level requires a PUF Interface Descriptor (BAL-3 and BAL-4).
    pub const fn requires_pid(self) -> bool {
        matches!(self, Bal::Bal3 | Bal::Bal4)
    }
}

wire_enum! {
    /// Binding revocation reason codes (seed 002 §4.4.2).
    RevocationReason {
        /// Hardware tamper indicator activated.
        TamperDetected => "tamper_detected",
        /// The device failed and can no longer answer challenges.
        DeviceFailure => "device_failure",
        /// Scheduled replacement; used with rebinding.
        DeviceReplacement => "device_replacement",
        /// The object reached end of life; no rebinding follows.
        ObjectDecommissioned => "object_decommissioned",
        /// Upgraded to a higher BAL; used with rebinding.
        BindingUpgraded => "binding_upgraded",
        /// The issuing EA's CertificationCredential was revoked.
        AuthorityRevoked => "authority_revoked",
        /// The binding private key is or may be compromised.
        KeyCompromise => "key_compromise",
    }
}

wire_enum! {
    /// A device's self-reported status (`deviceStatus`, seed 002 §4.3.2).
    DeviceStatus {
        /// Normal operation (also implied by absence).
        Operational => "operational",
        /// Reduced reliability; does not fail verification.
        Degraded => "degraded",
        /// Tamper detected: verification is inconclusive whatever the signature.
        Tampered => "tampered",
    }
}

/// The Trust Framework Profile 1 identifier (seed 002 Appendix B).
pub const TFP_1: &str = "urn:uora:trust-framework:profile-1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirteen_result_codes_and_seven_reasons_round_trip() {
        assert_eq!(ResultCode::ALL.len(), 13);
        assert_eq!(RevocationReason::ALL.len(), 7);
        for code in ResultCode::ALL {
            assert_eq!(code.as_str().parse::<ResultCode>(), Ok(*code));
        }
        for reason in RevocationReason::ALL {
            assert_eq!(reason.as_str().parse::<RevocationReason>(), Ok(*reason));
        }
        for detail in Detail::ALL {
            assert_eq!(detail.as_str().parse::<Detail>(), Ok(*detail));
        }
    }

    #[test]
    fn bal_order_is_the_assurance_order() {
        assert!(Bal::Bal1 < Bal::Bal2 && Bal::Bal2 < Bal::Bal3 && Bal::Bal3 < Bal::Bal4);
        assert!("BAL-5".parse::<Bal>().is_err());
        assert!("bal-2".parse::<Bal>().is_err());
    }
}
