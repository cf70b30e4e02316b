//! The registry's stable refusal codes.
//!
//! Every refused command returns exactly one of these (vendor attestation failures carry the
//! vendor check's own code instead, see [`crate::Refusal::code`]). They are logged, stored in
//! events and returned over HTTP unchanged.

cphar_protocol::wire_enum! {
    /// Why the registry refused a command. A refused command changes nothing.
    RefusalCode {
        /// The seal's lifecycle (seed 000) has no such transition from its current state.
        InvalidSealTransition => "invalid_seal_transition",
        /// The binding lifecycle (seed 002 §7) has no such transition from its current state.
        InvalidBindingTransition => "invalid_binding_transition",
        /// No seal has this device UID.
        SealNotFound => "seal_not_found",
        /// No lot has this id.
        LotNotFound => "lot_not_found",
        /// No binding has this id.
        BindingNotFound => "binding_not_found",
        /// A seal with this device UID is already registered.
        DuplicateDeviceUid => "duplicate_device_uid",
        /// The vendor attestation evidence was refused (the refusal carries the check's own code).
        VendorAttestationRefused => "vendor_attestation_refused",
        /// The same key or device certificate is registered under another device UID.
        CloneSuspected => "clone_suspected",
        /// A member of the command is missing or malformed.
        InvalidInput => "invalid_input",
        /// The lot is not in a state that allows this (e.g. binding an uninspected lot).
        InvalidLotState => "invalid_lot_state",
        /// The seal was inspected for another lot than the one named.
        SealLotMismatch => "seal_lot_mismatch",
        /// The lot already has a live binding.
        LotAlreadyBound => "lot_already_bound",
        /// The same identity may not both perform and approve a step.
        SeparationOfDuties => "separation_of_duties",
        /// The binding is already signed off.
        AlreadySignedOff => "already_signed_off",
        /// This revocation reason is not allowed for this operation.
        ReasonNotAllowed => "reason_not_allowed",
        /// The Enrollment Authority key is unknown or revoked.
        AuthorityUnavailable => "authority_unavailable",
        /// The declared BAL needs data the command lacks (e.g. a PID at BAL-3/4).
        BalRequirementUnmet => "bal_requirement_unmet",
        /// The requested DID document version does not exist.
        VersionUnavailable => "version_unavailable",
        /// No trusted time is available (the clock is out of tolerance): nothing is decided.
        ClockOutOfTolerance => "clock_out_of_tolerance",
        /// The record changed concurrently; the command was not applied (retry).
        Conflict => "conflict",
        /// No revocation status list has this number.
        StatusListNotFound => "status_list_not_found",
        /// No unrevoked API token has this id.
        TokenNotFound => "token_not_found",
        /// No challenge with this id is waiting for an answer (answered, expired, unknown).
        ChallengeUsedOrExpired => "challenge_used_or_expired",
        /// A policy version not above every version of its id ever in force (anti-rollback).
        PolicyVersionNotNewer => "policy_version_not_newer",
        /// A lot id outside the identifier grammar ([`crate::ident`]), e.g. `.` or `..`.
        InvalidLotId => "invalid_lot_id",
        /// A seal UID outside the identifier grammar ([`crate::ident`]).
        InvalidSealUid => "invalid_seal_uid",
        /// A subject (actor name) outside the identifier grammar ([`crate::ident`]).
        InvalidSubject => "invalid_subject",
        /// No reserve report has this number (or none was published yet).
        ReportNotFound => "report_not_found",
        /// No report key is configured, or it is not the one certified in the audit log.
        ReportKeyUnavailable => "report_key_unavailable",
        /// The previous report is from this very second: report numbers are dated in whole
        /// seconds, strictly increasing (retry in a second).
        ReportTooSoon => "report_too_soon",
        /// The registry's state cannot be reported (the refusal carries `cphar-report`'s
        /// build code, e.g. a leaf field out of the report format).
        ReportBuildFailed => "report_build_failed",
        /// The registry's TSA did not issue the report's timestamp token.
        ReportTimestampUnavailable => "report_timestamp_unavailable",
        /// The registration claims a BAL above the one its device certificate certifies.
        BalNotCertified => "bal_not_certified",
        /// The vendor requires proof of possession (seed 002 §4.2.2) and none was given.
        EnrollmentProofMissing => "enrollment_proof_missing",
        /// The enrollment challenge is not one the Enrollment Authority issued (or malformed).
        EnrollmentChallengeInvalid => "enrollment_challenge_invalid",
        /// The enrollment challenge was answered too late.
        EnrollmentChallengeExpired => "enrollment_challenge_expired",
        /// The device's signature over the enrollment challenge does not verify with the
        /// certified key: no proof of possession.
        EnrollmentSignatureInvalid => "enrollment_signature_invalid",
        /// The vendor's CRL revokes the device certificate.
        DeviceCertificateRevoked => "device_certificate_revoked",
        /// The vendor's CRL is past its nextUpdate or older than the maximum age.
        CrlStale => "crl_stale",
        /// A bulk registration manifest holds more registrations than allowed.
        BatchTooLarge => "batch_too_large",
        /// No seal batch (or batch item) has this id.
        BatchNotFound => "batch_not_found",
    }
}
