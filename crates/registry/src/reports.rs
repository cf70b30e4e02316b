//! Reserve reports, the registry side: certifying the report key and publishing a numbered,
//! signed, timestamped snapshot of the active reserve set (the format and the offline
//! verifier are `cphar-report`'s).
//!
//! Publishing follows the registry's one rule for operations: it reads once
//! ([`Store::report_inputs`]: the active set with every leaf field, each lot made into its
//! leaf as it is read, lot counts by state, the
//! policy in force, the previous report and the lots that left since, in ONE read
//! transaction), decides in pure code ([`leaf_of`], [`departure_reason`], `build_report`),
//! asks the registry's own TSA for a token over the report's imprint, and writes once: the
//! report row with its leaves, the `timestamp_issued` fact and the `report_published` event
//! in one transaction. Report numbers are a primary key: of two concurrent publishers one
//! conflicts and recomputes from a fresh read (its unused token never leaves the process).
//!
//! The active set is `lots.active`, which every decision sets with
//! [`crate::in_active_reserve`] and nothing else; [`departure_reason`] only explains, for a
//! lot that left, which condition of that rule it no longer meets.

use crate::codes::RefusalCode;
use crate::decide::Ctx;
use crate::error::Refusal;
use crate::event::{EventType, RegistryEvent};
use crate::model::LotState;
use crate::service::{Registry, RegistryError};
use crate::service_event::{self, ServiceEvent};
use crate::store::{
    ActiveLotRow, ChangeSet, DepartedRow, ReportInputs, ReportKeyRecord, ReportWrite, Store,
    StoreError, StoredReport,
};
use cphar_crypto::{Jwk, VerifyingKey, hex, sha256};
use cphar_protocol::Timestamp;
use cphar_report::{
    Departure, LastAttestation, LotLeaf, PolicyRef, Report, ReportSigner, Snapshot, VerifiedReport,
    VerifyOptions, build_report, timestamp_imprint, timestamped_bytes, verify_report,
};
use serde_json::{Value, json};
use time::Duration;

/// The audit subject of report events.
pub const REPORT_SUBJECT: &str = "reports";

/// The `policy` member of a report when no policy is in force.
pub const NO_POLICY_ID: &str = "none";

/// How many times a publish is recomputed after a concurrent one before giving up.
const MAX_ATTEMPTS: usize = 4;

/// How reports are made.
#[derive(Debug, Clone, Copy)]
pub struct ReportSettings {
    /// How long after `generatedAt` the timestamp may be made (`window.to`).
    pub timestamp_grace: Duration,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            timestamp_grace: Duration::minutes(10),
        }
    }
}

/// A token from the registry's TSA.
#[derive(Debug, Clone)]
pub struct IssuedTimestamp {
    /// The DER `TimeStampToken`.
    pub token_der: Vec<u8>,
    /// The `timestamp_issued` fact, recorded with the report.
    pub fact: ServiceEvent,
}

/// The registry's TSA as reports see it (the server's in-process TSA implements it).
pub trait ReportTimestamper: Send + Sync {
    /// A token over the SHA-256 `imprint`.
    ///
    /// # Errors
    /// A refusal (`report_timestamp_unavailable`, or the clock's) when no token is issued.
    fn timestamp(&self, imprint: &[u8; 32]) -> Result<IssuedTimestamp, Refusal>;
}

/// A published report.
#[derive(Debug, Clone)]
pub struct PublishedReport {
    /// The row as stored.
    pub stored: StoredReport,
    /// The report.
    pub report: Report,
}

// ---------------------------------------------------------------------------------------------
// Pure decisions

/// The leaf of an active lot: its record, its seal, the SHA-256 of JCS of its current DID
/// document, and its seal's last valid attestation (`at` = the event's `verifiedAt`, `hash` =
/// SHA-256 of that audit entry's JCS line, so anyone with the log can find it).
///
/// # Errors
/// `report_build_failed` when a field cannot be made (no seal, no DID document, a stored
/// record that does not parse).
pub fn leaf_of(row: &ActiveLotRow) -> Result<LotLeaf, Refusal> {
    let lot = &row.lot;
    let broken = |what: &str| {
        Refusal::new(
            RefusalCode::ReportBuildFailed,
            format!("active lot {}: {what}", lot.lot_id),
        )
    };
    let seal_uid = row
        .seal_uid
        .clone()
        .ok_or_else(|| broken("no bound seal"))?;
    let (version, document) = row
        .did_document
        .as_ref()
        .ok_or_else(|| broken("no DID document"))?;
    let document = cphar_jcs::parse(document.as_bytes())
        .ok()
        .and_then(|v| cphar_jcs::canonicalize(&v).ok())
        .ok_or_else(|| broken("stored DID document is not I-JSON"))?;
    let last_attestation = match &row.attestation_entry {
        None => None,
        Some(entry) => {
            let value: Value = serde_json::from_str(entry)
                .map_err(|_| broken("attestation audit entry is not JSON"))?;
            let at = value
                .pointer("/eventData/data/verifiedAt")
                .and_then(Value::as_str)
                .ok_or_else(|| broken("attestation audit entry has no verifiedAt"))?;
            Some(LastAttestation {
                at: at.to_owned(),
                hash: format!("sha256:{}", hex(&sha256(entry.as_bytes()))),
            })
        }
    };
    Ok(LotLeaf {
        lot_id: lot.lot_id.clone(),
        commodity: lot.commodity.clone(),
        grade: lot.grade.clone(),
        quantity: lot.quantity.amount.clone(),
        unit: lot.quantity.unit.clone(),
        seal_uid,
        did_version_id: *version,
        did_document_hash: format!("sha256:{}", hex(&sha256(&document))),
        last_attestation,
    })
}

/// Why a lot of the previous report is no longer in the active set: the first condition of
/// [`crate::in_active_reserve`] it fails, as a code — its lapse reason (`attestation_overdue`,
/// `device_unreachable`), its binding's revocation reason (`tamper_detected`,
/// `key_compromise`…), `object_decommissioned`, `authority_revoked` (BEA suspended),
/// `not_signed_off`, `binding_<state>`, `seal_<state>`, else `left_active_set`.
pub fn departure_reason(d: &DepartedRow) -> String {
    if let Some(lapse) = &d.lot.lapse {
        return lapse.reason.as_str().to_owned();
    }
    if let Some(binding) = &d.binding {
        if let Some(mark) = &binding.revocation {
            return mark.reason.as_str().to_owned();
        }
        if d.lot.state == LotState::Decommissioned {
            return "object_decommissioned".to_owned();
        }
        if !binding.bea_valid() {
            return "authority_revoked".to_owned();
        }
        if !binding.state.is_live() {
            return code(&format!("binding_{}", binding.state.as_str()));
        }
        if binding.sign_off.is_none() {
            return "not_signed_off".to_owned();
        }
        match &d.seal {
            Some(seal) if !seal.state.is_intact() => {
                return code(&format!("seal_{}", seal.state.as_str()));
            }
            None => return "seal_missing".to_owned(),
            Some(_) => {}
        }
    } else if d.lot.state == LotState::Decommissioned {
        return "object_decommissioned".to_owned();
    }
    "left_active_set".to_owned()
}

/// `[a-z0-9_]{1,64}` from a state name.
fn code(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .take(64)
        .collect()
}

/// The report's snapshot from what was read (`leaves` made by [`leaf_of`]), at `now` (whole seconds) after `from` (the
/// previous report's `generatedAt`). A departure is dated when its lot last changed, within
/// `(from, now]` (a change between the previous report's read and its `generatedAt` is dated
/// one second after `from`).
///
pub fn snapshot_of<I>(
    inputs: &ReportInputs,
    leaves: I,
    from: Option<Timestamp>,
    now: Timestamp,
    settings: &ReportSettings,
) -> Snapshot<I> {
    let departed = match from {
        None => Vec::new(),
        Some(from) => inputs
            .departed
            .iter()
            .map(|d| {
                let secs = d.lot.updated_at.unix_seconds().clamp(
                    from.unix_seconds().saturating_add(1),
                    now.unix_seconds()
                        .max(from.unix_seconds().saturating_add(1)),
                );
                Departure {
                    lot_id: d.lot.lot_id.clone(),
                    reason: departure_reason(d),
                    at: Timestamp::from_unix_seconds(secs)
                        .unwrap_or(now)
                        .to_string(),
                }
            })
            .collect(),
    };
    let policy = match &inputs.policy {
        Some(p) => PolicyRef {
            id: p.policy_id.clone(),
            version: p.version,
        },
        None => PolicyRef {
            id: NO_POLICY_ID.to_owned(),
            version: 0,
        },
    };
    Snapshot {
        leaves,
        lot_counts_by_state: inputs.lots_by_state.iter().cloned().collect(),
        policy,
        departed,
        timestamp_grace: settings.timestamp_grace,
    }
}

/// Certifies `key` as the report key: the row and a `report_key_certified` event carrying its
/// JWK and thumbprint.
///
/// # Errors
/// `report_key_unavailable` for a key that cannot sign reports.
pub fn certify_key(key: &VerifyingKey, ctx: Ctx<'_>) -> Result<ChangeSet, Refusal> {
    if !cphar_report::report::report_algorithm_allowed(key.algorithm()) {
        return Err(Refusal::new(
            RefusalCode::ReportKeyUnavailable,
            format!("{} cannot sign reports", key.algorithm()),
        ));
    }
    let jwk = key.to_jwk();
    let kid = jwk
        .thumbprint_b64()
        .map_err(|e| Refusal::new(RefusalCode::ReportKeyUnavailable, e.to_string()))?;
    let record = ReportKeyRecord {
        kid: kid.clone(),
        public_jwk: jwk.to_json().to_string(),
        certified_ns: nanos(ctx.now),
    };
    Ok(ChangeSet {
        report_key: Some(record),
        events: vec![RegistryEvent {
            event_type: EventType::ReportKeyCertified,
            subject: REPORT_SUBJECT.to_owned(),
            actor: ctx.actor.to_owned(),
            at: ctx.now,
            reason_code: None,
            data: json!({
                "kid": kid,
                "alg": key.algorithm().as_str(),
                "publicKeyJwk": jwk.to_json(),
            }),
        }],
        ..ChangeSet::default()
    })
}

/// The write of a timestamped report: its row and leaves (moved in: the largest part of a
/// report is written, not copied), the token's fact and `report_published`.
///
/// # Errors
/// `report_build_failed` for a report without a token or out of range.
pub fn decide_publish(
    report: &Report,
    leaves: Vec<LotLeaf>,
    fact: &ServiceEvent,
    ctx: Ctx<'_>,
) -> Result<(ChangeSet, StoredReport), Refusal> {
    if report.timestamp_token.is_none() {
        return Err(Refusal::new(
            RefusalCode::ReportBuildFailed,
            "a report is published with its timestamp token",
        ));
    }
    let generated = Timestamp::parse(&report.generated_at)
        .map_err(|e| Refusal::new(RefusalCode::ReportBuildFailed, e.to_string()))?;
    let digest = hex(&sha256(&timestamped_bytes(&report.to_value())));
    let jcs = String::from_utf8(report.to_jcs())
        .map_err(|_| Refusal::new(RefusalCode::ReportBuildFailed, "report is not UTF-8"))?;
    let stored = StoredReport {
        number: report.report_number,
        jcs,
        generated_ns: nanos(generated),
        sum_root: report.sum_root.clone(),
        rfc9162_root: report.rfc9162_root.clone(),
        digest: digest.clone(),
        lot_count: report.lot_count,
    };
    let mut changes = service_event::record(std::slice::from_ref(fact), ctx);
    changes.events.push(RegistryEvent {
        event_type: EventType::ReportPublished,
        subject: REPORT_SUBJECT.to_owned(),
        actor: ctx.actor.to_owned(),
        at: ctx.now,
        reason_code: None,
        data: json!({
            "reportNumber": report.report_number,
            "generatedAt": report.generated_at,
            "reportDigest": digest,
            "sumRoot": report.sum_root,
            "rfc9162Root": report.rfc9162_root,
            "lotCount": report.lot_count,
            "totals": report.totals.iter().map(|t| json!({
                "commodity": t.commodity, "unit": t.unit, "quantity": t.quantity, "lots": t.lots,
            })).collect::<Vec<_>>(),
            "departed": report.departed.len(),
            "reportKey": report.report_key.kid,
        }),
    });
    changes.reports.push(ReportWrite {
        report: stored.clone(),
        leaves,
    });
    Ok((changes, stored))
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

fn key_unavailable(message: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::ReportKeyUnavailable, message)
}

/// The stored previous report, verified with the report key (its token was checked when it
/// was issued; this checks the stored bytes are the report key's).
fn verified_previous(
    stored: &StoredReport,
    key: &VerifyingKey,
    now: Timestamp,
) -> Result<VerifiedReport, Refusal> {
    let now = cphar_tsa::UnixTime::from_secs(u64::try_from(now.unix_seconds()).unwrap_or(0))
        .ok_or_else(|| Refusal::new(RefusalCode::ReportBuildFailed, "time out of range"))?;
    verify_report(
        stored.jcs.as_bytes(),
        &VerifyOptions {
            report_key: key,
            tsa_roots: None,
            now,
        },
    )
    .map_err(|e| {
        Refusal::new(
            RefusalCode::ReportBuildFailed,
            format!("stored report {} does not verify: {e}", stored.number),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// The operations

impl<S: Store> Registry<S> {
    /// Makes `key` the report key: certified in the audit log when the registry has none yet;
    /// refused (`report_key_unavailable`, both thumbprints named) when another one is
    /// certified — processes sharing a database share its report key.
    pub async fn certify_report_key(
        &self,
        key: &VerifyingKey,
        actor: &str,
    ) -> Result<String, RegistryError> {
        let mine = key.to_jwk();
        let kid = mine
            .thumbprint_b64()
            .map_err(|e| key_unavailable(e.to_string()))?;
        for _ in 0..MAX_ATTEMPTS {
            if let Some(known) = self.store.report_key().await? {
                let theirs = serde_json::from_str::<Value>(&known.public_jwk)
                    .ok()
                    .and_then(|v| Jwk::from_json(&v).ok());
                if theirs.as_ref() == Some(&mine) {
                    return Ok(kid);
                }
                return Err(key_unavailable(format!(
                    "the report key (thumbprint {kid}) is not the one certified in the audit \
                     log (thumbprint {})",
                    known.kid
                ))
                .into());
            }
            match self.store.apply(certify_key(key, self.ctx(actor)?)?).await {
                Ok(_) => return Ok(kid),
                // Another process certified one first: compare with it.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refusal::new(RefusalCode::Conflict, "the report key kept changing").into())
    }

    /// Publishes the next reserve report: one read, pure build and signature, a token from
    /// `tsa` over its imprint, one write (see the module documentation).
    pub async fn publish_report(
        &self,
        signer: &(dyn ReportSigner + Sync),
        tsa: &dyn ReportTimestamper,
        settings: &ReportSettings,
        actor: &str,
    ) -> Result<PublishedReport, RegistryError> {
        crate::ident::check_actor(actor)?;
        let public = signer.verifying_key();
        for _ in 0..MAX_ATTEMPTS {
            // Each active lot becomes its leaf as it is read: only leaves are kept.
            let mut leaves = Vec::new();
            let mut refused: Option<Refusal> = None;
            let inputs = self
                .store
                .report_inputs(&mut |row| {
                    if refused.is_none() {
                        match leaf_of(&row) {
                            Ok(leaf) => leaves.push(leaf),
                            Err(e) => refused = Some(e),
                        }
                    }
                })
                .await?;
            if let Some(e) = refused {
                return Err(e.into());
            }
            let known = inputs
                .report_key
                .as_ref()
                .ok_or_else(|| key_unavailable("no report key is certified"))?;
            if public.to_jwk().thumbprint_b64().ok().as_deref() != Some(known.kid.as_str()) {
                return Err(key_unavailable(format!(
                    "the report key is not the certified one ({})",
                    known.kid
                ))
                .into());
            }
            // The instant of the report: taken after the read, so nothing it reflects is later.
            let now = self.now()?;
            let previous = inputs
                .previous
                .as_ref()
                .map(|p| verified_previous(p, &public, now))
                .transpose()?;
            if let Some(p) = &previous
                && now.unix_seconds() <= p.generated_at().unix_seconds()
            {
                return Err(Refusal::new(
                    RefusalCode::ReportTooSoon,
                    format!(
                        "report {} was generated in this second; retry in a second",
                        p.report().report_number
                    ),
                )
                .into());
            }
            // The leaves are cloned one at a time into the tree builder, never all at once.
            let snapshot = snapshot_of(
                &inputs,
                leaves.iter().cloned(),
                previous.as_ref().map(VerifiedReport::generated_at),
                now,
                settings,
            );
            let report = build_report(snapshot, previous.as_ref(), signer, now)
                .map_err(|e| Refusal::report_build(&e))?;
            let issued = tsa.timestamp(&timestamp_imprint(&report))?;
            let report = report.with_timestamp(&issued.token_der);
            let ctx = self.ctx(actor)?;
            let (changes, stored) = decide_publish(&report, leaves, &issued.fact, ctx)?;
            match self.store.apply(changes).await {
                Ok(_) => return Ok(PublishedReport { stored, report }),
                // Another process took this number: recompute from a fresh read.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Refusal::new(
            RefusalCode::Conflict,
            format!("gave up after {MAX_ATTEMPTS} concurrent publications"),
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::BindingState;
    use crate::model::{
        BindingRecord, Lapse, LapseReason, LotRecord, Quantity, RevocationMark, SignOff,
    };
    use crate::seal::SealState;
    use cphar_protocol::{Bal, RevocationReason};

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn lot(id: &str) -> LotRecord {
        LotRecord {
            lot_id: id.into(),
            did: format!("did:web:h:lots:{id}"),
            state: LotState::Bound,
            commodity: "gold".into(),
            quantity: Quantity {
                amount: "400.000".into(),
                unit: "kg".into(),
            },
            grade: "good delivery".into(),
            container_id: "C".into(),
            location: "V".into(),
            owner: "O".into(),
            inspection_id: "i".into(),
            inspected_seal: Some("SEAL-1".into()),
            binding_id: Some("b".into()),
            binding_count: 1,
            did_version: 2,
            active: true,
            evidence_at: None,
            lapse: None,
            created_at: t("2026-12-01T00:00:00Z"),
            updated_at: t("2026-12-01T10:00:05Z"),
            version: 3,
        }
    }

    fn binding() -> BindingRecord {
        BindingRecord {
            id: "b".into(),
            number: 1,
            lot_id: "LOT-1".into(),
            seal_uid: "SEAL-1".into(),
            public_jwk: json!({}),
            state: BindingState::Active,
            bal: Bal::Bal2,
            bound_by: "op".into(),
            inspection_id: "i".into(),
            sign_off: Some(SignOff {
                auditor: "aud".into(),
                at: t("2026-12-01T00:00:00Z"),
            }),
            revocation: None,
            authority_key_id: "ea".into(),
            bea: json!({}),
            reenroll_deadline: None,
            enrolled_at: t("2026-12-01T00:00:00Z"),
            version: 1,
        }
    }

    #[test]
    fn a_leaf_carries_the_document_hash_and_the_attestation_entry_hash() {
        let entry = r#"{"eventData":{"data":{"verifiedAt":"2026-12-01T09:00:00Z"}},"x":1}"#;
        let row = ActiveLotRow {
            lot: lot("LOT-1"),
            seal_uid: Some("SEAL-1".into()),
            did_document: Some((2, r#"{"id": "did:web:h:lots:LOT-1", "a": [1, 2]}"#.into())),
            attestation_entry: Some(entry.into()),
        };
        let leaf = leaf_of(&row).unwrap();
        leaf.validate().unwrap();
        let jcs = br#"{"a":[1,2],"id":"did:web:h:lots:LOT-1"}"#;
        assert_eq!(
            leaf.did_document_hash,
            format!("sha256:{}", hex(&sha256(jcs)))
        );
        assert_eq!(leaf.did_version_id, 2);
        let att = leaf.last_attestation.unwrap();
        assert_eq!(att.at, "2026-12-01T09:00:00Z");
        assert_eq!(
            att.hash,
            format!("sha256:{}", hex(&sha256(entry.as_bytes())))
        );

        let mut missing = row.clone();
        missing.did_document = None;
        assert_eq!(
            leaf_of(&missing).unwrap_err().kind(),
            RefusalCode::ReportBuildFailed
        );
    }

    #[test]
    fn departures_name_the_condition_that_failed() {
        let mut revoked = binding();
        revoked.state = BindingState::Revoked;
        revoked.revocation = Some(RevocationMark {
            reason: RevocationReason::TamperDetected,
            at: t("2026-12-01T10:00:00Z"),
        });
        let mut broken = crate::model::SealRecord {
            uid: "SEAL-1".into(),
            ..serde_json::from_value(json!({
                "uid": "x", "state": "attested", "vendor": "v", "deviceType": "d",
                "hardwareRevision": "1", "bal": "BAL-2", "publicJwk": {}, "keyThumbprint": "k",
                "certificate": {"issuer": "i", "subject": "s", "serial": "1", "fingerprint": "f", "chain": []},
                "firmwareMeasurement": "sha256:00", "tamperEvidence": {"carrierClass": "c", "specification": "s"},
                "registeredAt": "2026-12-01T00:00:00Z", "version": 1
            }))
            .unwrap()
        };
        let row = |lot: LotRecord, binding: Option<BindingRecord>, seal| DepartedRow {
            lot,
            binding,
            seal,
        };
        assert_eq!(
            departure_reason(&row(lot("L"), Some(revoked), None)),
            "tamper_detected"
        );
        let mut lapsed = lot("L");
        lapsed.lapse = Some(Lapse {
            reason: LapseReason::DeviceUnreachable,
            since: t("2026-12-01T10:00:00Z"),
        });
        assert_eq!(
            departure_reason(&row(lapsed, Some(binding()), Some(broken.clone()))),
            "device_unreachable"
        );
        broken.state = SealState::Broken;
        assert_eq!(
            departure_reason(&row(lot("L"), Some(binding()), Some(broken))),
            "seal_broken"
        );
        let mut unsigned = binding();
        unsigned.sign_off = None;
        assert_eq!(
            departure_reason(&row(lot("L"), Some(unsigned), None)),
            "not_signed_off"
        );
    }

    #[test]
    fn departures_are_dated_inside_the_window() {
        let from = t("2026-12-01T10:00:05Z");
        let now = t("2026-12-01T11:00:00Z");
        let mut inputs = ReportInputs::default();
        // Changed in the very second of the previous report: dated one second after it.
        inputs.departed.push(DepartedRow {
            lot: lot("A"),
            binding: None,
            seal: None,
        });
        let snapshot = snapshot_of(
            &inputs,
            Vec::<LotLeaf>::new(),
            Some(from),
            now,
            &ReportSettings::default(),
        );
        assert_eq!(snapshot.departed[0].at, "2026-12-01T10:00:06Z");
        assert_eq!(snapshot.departed[0].reason, "left_active_set");
        assert_eq!(snapshot.policy.id, NO_POLICY_ID);
    }
}
