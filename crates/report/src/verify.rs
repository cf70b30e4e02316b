//! Verification of reports, leaves and successions, each failure a [`Reason`].
//!
//! [`verify_report`] runs the steps in this order; the first failure decides:
//!
//! 1. the bytes are strict I-JSON and the report's schema (`malformed_report`), of format
//!    `cphar-reserve-report/1` (`unsupported_format`);
//! 2. `reportKey` is the given key: thumbprint and algorithm (`report_key_mismatch`);
//! 3. the signature over [`crate::signature_input`] (`signature_invalid`);
//! 4. internal consistency: report 1 without `previous`, report n naming n − 1
//!    (`previous_number_mismatch`); `from ≤ generatedAt ≤ to`, `from = generatedAt` without a
//!    previous report (`window_invalid`); totals sorted,
//!    canonical, their lots adding up to `lotCount` (`totals_inconsistent`); departures sorted,
//!    dated inside `(from, generatedAt]`, none in report 1 (`departed_invalid`);
//! 5. with TSA roots: the token is present (`timestamp_missing`), verifies under `cphar-tsa`
//!    and chains to a root at the verification time (`timestamp_invalid`, detail the TSA's
//!    reason code), its imprint is SHA-256 of [`crate::timestamped_bytes`]
//!    (`timestamp_imprint_mismatch`), its genTime is in `[generatedAt, window.to]`
//!    (`timestamp_outside_window`).
//!
//! Then, as the caller has them: [`verify_leaves`] (`leaf_invalid`, `leaves_not_sorted`,
//! `lot_count_mismatch`, `totals_mismatch`, `sum_root_mismatch`, `rfc9162_root_mismatch`,
//! `departed_lot_present`), [`crate::verify_proof`] (`proof_*`), [`verify_succession`]
//! (`previous_*`, `window_not_contiguous`), [`verify_departures`] (`departed_unlisted`,
//! `departed_not_in_previous`).

use std::collections::BTreeMap;

use cphar_crypto::{Algorithm, VerifyingKey, b64};
use cphar_protocol::Timestamp;
use cphar_tlog::Hash;
use cphar_tsa::{TokenCheck, TrustAnchors, UnixTime, VerifiedTimestamp, verify_token};
use serde_json::Value;

use crate::amount::Amount;
use crate::leaf::LotLeaf;
use crate::report::{
    Departure, PolicyRef, REPORT_FORMAT, Report, report_algorithm_allowed, signature_input,
    timestamped_bytes,
};
use crate::tree::{SumKey, Sums, TreeBuilder, TreeError};

macro_rules! reasons {
    ($($(#[$doc:meta])* $name:ident => $code:literal,)*) => {
        /// Why verification failed: one stable code per check.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $($(#[$doc])* $name,)*
        }

        impl Reason {
            /// The stable snake_case code.
            #[must_use]
            pub const fn code(self) -> &'static str {
                match self {
                    $(Reason::$name => $code,)*
                }
            }

            /// Every reason, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$name,)*];
        }
    };
}

reasons! {
    /// Not I-JSON, or not the report schema (member missing, extra, mistyped, malformed value).
    MalformedReport => "malformed_report",
    /// `format` is not `cphar-reserve-report/1`.
    UnsupportedFormat => "unsupported_format",
    /// `reportKey` does not name the given key, or names a disallowed algorithm.
    ReportKeyMismatch => "report_key_mismatch",
    /// The signature does not verify.
    SignatureInvalid => "signature_invalid",
    /// `window.from ≤ generatedAt ≤ window.to` does not hold.
    WindowInvalid => "window_invalid",
    /// Totals unsorted, duplicated, not canonical, or their lots do not add up to `lotCount`.
    TotalsInconsistent => "totals_inconsistent",
    /// Departures unsorted, duplicated, malformed, outside the window, or in report 1.
    DepartedInvalid => "departed_invalid",
    /// TSA roots were given but the report has no token.
    TimestampMissing => "timestamp_missing",
    /// The token does not verify or does not chain to a given root.
    TimestampInvalid => "timestamp_invalid",
    /// The token time-stamps other bytes.
    TimestampImprintMismatch => "timestamp_imprint_mismatch",
    /// genTime is not in `[generatedAt, window.to]`.
    TimestampOutsideWindow => "timestamp_outside_window",
    /// A leaf is malformed or breaks a field rule.
    LeafInvalid => "leaf_invalid",
    /// Leaves not strictly increasing by lot id.
    LeavesNotSorted => "leaves_not_sorted",
    /// The number of leaves is not `lotCount`.
    LotCountMismatch => "lot_count_mismatch",
    /// The leaves' totals are not the report's.
    TotalsMismatch => "totals_mismatch",
    /// The leaves' sum-tree root is not `sumRoot`.
    SumRootMismatch => "sum_root_mismatch",
    /// The leaves' RFC 9162 root is not `rfc9162Root`.
    Rfc9162RootMismatch => "rfc9162_root_mismatch",
    /// A lot listed as departed is among the leaves.
    DepartedLotPresent => "departed_lot_present",
    /// The proof is not the proof schema.
    ProofMalformed => "proof_malformed",
    /// The proof is for another report number or tree size.
    ProofReportMismatch => "proof_report_mismatch",
    /// The proof's leaf breaks a field rule.
    ProofLeafInvalid => "proof_leaf_invalid",
    /// The RFC 9162 audit path does not lead to `rfc9162Root`.
    ProofAuditPathInvalid => "proof_audit_path_invalid",
    /// The sum path does not lead to `sumRoot`.
    ProofSumPathInvalid => "proof_sum_path_invalid",
    /// The sum path leads to `sumRoot` with sums other than the report's totals.
    ProofSumsMismatch => "proof_sums_mismatch",
    /// A non-inclusion proof's neighbours are not consecutive leaves, or not at the edge.
    ProofNotAdjacent => "proof_not_adjacent",
    /// The lot is not strictly between the neighbours' lot ids (it may be in the report).
    ProofLotNotBetween => "proof_lot_not_between",
    /// The proof is not about the lot asked for.
    ProofLotMismatch => "proof_lot_mismatch",
    /// The previous report does not verify itself.
    PreviousInvalid => "previous_invalid",
    /// `reportNumber` is not the previous one's plus one, or `previous.reportNumber` differs.
    PreviousNumberMismatch => "previous_number_mismatch",
    /// `previous.sumRoot` / `previous.rfc9162Root` are not the previous report's roots.
    PreviousRootMismatch => "previous_root_mismatch",
    /// `previous.reportDigest` is not the previous report's digest.
    PreviousDigestMismatch => "previous_digest_mismatch",
    /// `window.from` is not the previous report's `generatedAt`.
    WindowNotContiguous => "window_not_contiguous",
    /// A lot of the previous report is neither in this one nor listed as departed.
    DepartedUnlisted => "departed_unlisted",
    /// A lot listed as departed was not in the previous report.
    DepartedNotInPrevious => "departed_not_in_previous",
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A failed verification: the [`Reason`] and a human detail (what, where).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct VerifyError {
    /// The check that failed.
    pub reason: Reason,
    /// What was found.
    pub detail: String,
}

pub(crate) fn fail<T>(reason: Reason, detail: impl Into<String>) -> Result<T, VerifyError> {
    Err(VerifyError {
        reason,
        detail: detail.into(),
    })
}

/// A report whose signature (and, if asked, timestamp) verified. Only [`verify_report`] makes
/// one; proofs, leaves and successions are checked against it.
#[derive(Debug, Clone)]
pub struct VerifiedReport {
    report: Report,
    digest: [u8; 32],
    generated_at: Timestamp,
    window_from: Timestamp,
    sum_root: Hash,
    rfc9162_root: Hash,
    totals: Sums,
    timestamp: Option<VerifiedTimestamp>,
}

impl VerifiedReport {
    /// The report.
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.report
    }
    /// SHA-256 of JCS of the report without `timestampToken`.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }
    /// `generatedAt`.
    #[must_use]
    pub fn generated_at(&self) -> Timestamp {
        self.generated_at
    }
    /// The sum-tree root.
    #[must_use]
    pub fn sum_root(&self) -> Hash {
        self.sum_root
    }
    /// The RFC 9162 root.
    #[must_use]
    pub fn rfc9162_root(&self) -> Hash {
        self.rfc9162_root
    }
    /// The totals as sums (sorted by key).
    #[must_use]
    pub fn totals(&self) -> &Sums {
        &self.totals
    }
    /// The verified timestamp, when TSA roots were given.
    #[must_use]
    pub fn timestamp(&self) -> Option<&VerifiedTimestamp> {
        self.timestamp.as_ref()
    }
}

/// What [`verify_report`] needs besides the report.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// The report key (certified in the audit log).
    pub report_key: &'a VerifyingKey,
    /// TSA roots; `None` skips the timestamp (the caller must say so to its user).
    pub tsa_roots: Option<&'a TrustAnchors>,
    /// The verification time (certificate validity of the TSA path).
    pub now: UnixTime,
}

/// Parses 64 lower-case hex digits.
pub(crate) fn parse_hash(text: &str) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let (Some(&h), Some(&l)) = (pair.first(), pair.get(1)) else {
            return None;
        };
        *byte = (nibble(h)? << 4) | nibble(l)?;
    }
    Some(out)
}

fn parse_time(text: &str, what: &str) -> Result<Timestamp, VerifyError> {
    Timestamp::parse(text).or_else(|e| fail(Reason::MalformedReport, format!("{what}: {e}")))
}

pub(crate) fn check_policy(policy: &PolicyRef) -> Result<(), String> {
    if policy.id.is_empty()
        || policy.id.len() > 128
        || !policy.id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err("policy id must be 1-128 printable ASCII characters".into());
    }
    Ok(())
}

pub(crate) fn check_state_names(counts: &BTreeMap<String, u64>) -> Result<(), String> {
    for name in counts.keys() {
        if !is_code(name) {
            return Err(format!("lot state {name:?} is not [a-z0-9_]{{1,64}}"));
        }
    }
    Ok(())
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Departures: lot ids valid and strictly increasing, reasons codes, `from < at ≤ until`.
pub(crate) fn check_departures(
    departed: &[Departure],
    from: Timestamp,
    until: Timestamp,
) -> Result<(), String> {
    let mut last: Option<&str> = None;
    for d in departed {
        let probe = LotLeaf {
            lot_id: d.lot_id.clone(),
            commodity: "x".into(),
            grade: "x".into(),
            quantity: "0".into(),
            unit: "x".into(),
            seal_uid: "x".into(),
            did_version_id: 1,
            did_document_hash: format!("sha256:{}", "0".repeat(64)),
            last_attestation: None,
        };
        if probe.validate().is_err() {
            return Err(format!("lot id {:?} is malformed", d.lot_id));
        }
        if last.is_some_and(|l| l.as_bytes() >= d.lot_id.as_bytes()) {
            return Err(format!("{:?} is out of order or repeated", d.lot_id));
        }
        last = Some(&d.lot_id);
        if !is_code(&d.reason) {
            return Err(format!(
                "reason {:?} of {:?} is not a code",
                d.reason, d.lot_id
            ));
        }
        let at = Timestamp::parse(&d.at).map_err(|e| format!("{:?} at: {e}", d.lot_id))?;
        // `until` is a whole-second generatedAt: a departure in its second belongs to it.
        if at <= from || at.unix_seconds() > until.unix_seconds() {
            return Err(format!(
                "{:?} left at {} outside the window",
                d.lot_id, d.at
            ));
        }
    }
    Ok(())
}

fn to_unix(t: Timestamp) -> Option<UnixTime> {
    let nanos = u128::try_from(t.unix_nanos()).ok()?;
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    UnixTime::new(secs, u32::try_from(nanos % 1_000_000_000).ok()?)
}

/// Verifies a published report (steps 1–5 of the module documentation).
///
/// # Errors
/// The first failed check.
pub fn verify_report(
    bytes: &[u8],
    options: &VerifyOptions<'_>,
) -> Result<VerifiedReport, VerifyError> {
    // 1. Structure.
    let value = cphar_jcs::parse(bytes).or_else(|e| {
        fail(
            Reason::MalformedReport,
            format!("not I-JSON: {e} ({})", e.code()),
        )
    })?;
    if let Some(format) = value.get("format").and_then(Value::as_str)
        && format != REPORT_FORMAT
    {
        return fail(Reason::UnsupportedFormat, format!("format {format:?}"));
    }
    let report: Report = serde_json::from_value(value.clone())
        .or_else(|e| fail(Reason::MalformedReport, e.to_string()))?;
    let generated_at = parse_time(&report.generated_at, "generatedAt")?;
    let window_from = parse_time(&report.window.from, "window.from")?;
    let window_to = parse_time(&report.window.to, "window.to")?;
    let sum_root = parse_hash(&report.sum_root).map_or_else(
        || fail(Reason::MalformedReport, "sumRoot is not 64 hex digits"),
        Ok,
    )?;
    let rfc9162_root = parse_hash(&report.rfc9162_root).map_or_else(
        || fail(Reason::MalformedReport, "rfc9162Root is not 64 hex digits"),
        Ok,
    )?;
    if let Some(p) = &report.previous
        && (parse_hash(&p.sum_root).is_none()
            || parse_hash(&p.rfc9162_root).is_none()
            || parse_hash(&p.report_digest).is_none())
    {
        return fail(
            Reason::MalformedReport,
            "previous: a hash is not 64 hex digits",
        );
    }
    if report.report_number == 0 {
        return fail(Reason::MalformedReport, "reportNumber must be at least 1");
    }
    check_policy(&report.policy).or_else(|e| fail(Reason::MalformedReport, e))?;
    check_state_names(&report.lot_counts_by_state).or_else(|e| fail(Reason::MalformedReport, e))?;
    let signature = b64::decode(&report.signature)
        .or_else(|_| fail(Reason::MalformedReport, "signature is not base64url"))?;

    // 2. Key.
    let key = options.report_key;
    let kid = key
        .to_jwk()
        .thumbprint_b64()
        .or_else(|e| fail(Reason::ReportKeyMismatch, e.to_string()))?;
    if !report_algorithm_allowed(key.algorithm())
        || report.report_key.alg != key.algorithm().as_str()
        || report.report_key.kid != kid
    {
        return fail(
            Reason::ReportKeyMismatch,
            format!(
                "report names {} {}, the given key is {} {}",
                report.report_key.alg,
                report.report_key.kid,
                key.algorithm(),
                kid
            ),
        );
    }

    // 3. Signature.
    if key.verify(&signature_input(&value), &signature).is_err() {
        return fail(
            Reason::SignatureInvalid,
            "the report signature does not verify",
        );
    }

    // 4. Internal consistency.
    if (report.report_number == 1) != report.previous.is_none()
        || report
            .previous
            .as_ref()
            .is_some_and(|p| p.report_number.checked_add(1) != Some(report.report_number))
    {
        return fail(
            Reason::PreviousNumberMismatch,
            "report 1 has no previous report, report n names report n-1",
        );
    }
    if !(window_from <= generated_at && generated_at <= window_to) {
        return fail(
            Reason::WindowInvalid,
            format!(
                "need from ≤ generatedAt ≤ to: {} / {} / {}",
                report.window.from, report.generated_at, report.window.to
            ),
        );
    }
    if report.previous.is_none() && window_from != generated_at {
        return fail(
            Reason::WindowInvalid,
            "a first report's window starts at its generatedAt",
        );
    }
    let totals = parse_totals(&report)?;
    if report.previous.is_none() && !report.departed.is_empty() {
        return fail(
            Reason::DepartedInvalid,
            "report without a previous one lists departures",
        );
    }
    check_departures(&report.departed, window_from, generated_at)
        .or_else(|e| fail(Reason::DepartedInvalid, e))?;

    // 5. Timestamp.
    let stamped = timestamped_bytes(&value);
    let digest = cphar_crypto::sha256(&stamped);
    let timestamp = match options.tsa_roots {
        None => None,
        Some(roots) => {
            let Some(token) = &report.timestamp_token else {
                return fail(Reason::TimestampMissing, "the report has no timestampToken");
            };
            let der = b64::decode(token)
                .or_else(|_| fail(Reason::TimestampInvalid, "timestampToken is not base64url"))?;
            // Chain, signature and ESS first; the imprint separately, to name it precisely.
            let any = cphar_tsa::MessageImprint::from_digest(cphar_tsa::HashAlg::Sha256, &digest)
                .or_else(|e| fail(Reason::TimestampInvalid, e.to_string()))?;
            let ts = match verify_token(&der, &TokenCheck::for_imprint(&any), roots, options.now) {
                Ok(ts) => ts,
                Err(cphar_tsa::TsaError::ImprintMismatch) => {
                    return fail(
                        Reason::TimestampImprintMismatch,
                        "the token does not time-stamp this report",
                    );
                }
                Err(e) => {
                    return fail(
                        Reason::TimestampInvalid,
                        format!("{} ({e})", e.reason_code()),
                    );
                }
            };
            let (Some(start), Some(end)) = (to_unix(generated_at), to_unix(window_to)) else {
                return fail(Reason::WindowInvalid, "window outside the TSA time range");
            };
            if ts.gen_time < start || ts.gen_time > end {
                return fail(
                    Reason::TimestampOutsideWindow,
                    format!(
                        "genTime {}s is not in [{}, {}]",
                        ts.gen_time.secs(),
                        report.generated_at,
                        report.window.to
                    ),
                );
            }
            Some(ts)
        }
    };

    Ok(VerifiedReport {
        report,
        digest,
        generated_at,
        window_from,
        sum_root,
        rfc9162_root,
        totals,
        timestamp,
    })
}

fn parse_totals(report: &Report) -> Result<Sums, VerifyError> {
    let mut sums: Sums = Vec::with_capacity(report.totals.len());
    let mut lots: u64 = 0;
    for t in &report.totals {
        let amount = Amount::parse_sum(&t.quantity).or_else(|e| {
            fail(
                Reason::TotalsInconsistent,
                format!("{}/{}: {e} ({})", t.commodity, t.unit, e.code()),
            )
        })?;
        let key = SumKey {
            commodity: t.commodity.clone(),
            unit: t.unit.clone(),
        };
        if sums.last().is_some_and(|(last, _)| *last >= key) {
            return fail(
                Reason::TotalsInconsistent,
                "totals are not sorted and unique",
            );
        }
        if t.lots == 0 {
            return fail(Reason::TotalsInconsistent, "a total counting no lot");
        }
        lots = lots.checked_add(t.lots).map_or_else(
            || fail(Reason::TotalsInconsistent, "lot counts overflow"),
            Ok,
        )?;
        sums.push((key, amount));
    }
    if lots != report.lot_count {
        return fail(
            Reason::TotalsInconsistent,
            format!("totals count {lots} lots, lotCount is {}", report.lot_count),
        );
    }
    Ok(sums)
}

/// Parses one line of a leaves file (JSON Lines: one leaf object per line, lot-id order).
///
/// # Errors
/// `leaf_invalid` naming the line (0-based index) and the field.
pub fn parse_leaf(bytes: &[u8], index: u64) -> Result<LotLeaf, VerifyError> {
    let value = cphar_jcs::parse(bytes).or_else(|e| {
        fail(
            Reason::LeafInvalid,
            format!("leaf {index}: not I-JSON: {e}"),
        )
    })?;
    LotLeaf::from_json(&value)
        .map(|(leaf, _)| leaf)
        .or_else(|e| fail(Reason::LeafInvalid, format!("leaf {index}: {e}")))
}

/// Recomputes both roots and the totals from every leaf and compares them with the report's;
/// also checks that no departed lot is among them.
///
/// # Errors
/// The first failed check (reasons in the module documentation).
pub fn verify_leaves<I>(report: &VerifiedReport, leaves: I) -> Result<(), VerifyError>
where
    I: IntoIterator<Item = LotLeaf>,
{
    let r = report.report();
    let mut tree = TreeBuilder::new();
    let mut departed = r.departed.iter().map(|d| d.lot_id.as_bytes()).peekable();
    for leaf in leaves {
        match tree.push(&leaf) {
            Ok(_) => {}
            Err(e @ TreeError::Leaf { .. }) => return fail(Reason::LeafInvalid, e.to_string()),
            Err(e @ TreeError::Order { .. }) => {
                return fail(Reason::LeavesNotSorted, e.to_string());
            }
            Err(e) => return fail(Reason::TotalsMismatch, e.to_string()),
        }
        while departed.next_if(|d| *d < leaf.lot_id.as_bytes()).is_some() {}
        if departed.peek() == Some(&leaf.lot_id.as_bytes()) {
            return fail(
                Reason::DepartedLotPresent,
                format!("departed lot {:?} is a leaf", leaf.lot_id),
            );
        }
    }
    let summary = tree
        .finish()
        .or_else(|e| fail(Reason::TotalsMismatch, e.to_string()))?;
    if summary.size != r.lot_count {
        return fail(
            Reason::LotCountMismatch,
            format!("{} leaves, lotCount is {}", summary.size, r.lot_count),
        );
    }
    let recomputed: Vec<_> = summary
        .totals
        .iter()
        .map(|t| (t.key.clone(), t.amount, t.lots))
        .collect();
    let published: Vec<_> = report
        .totals()
        .iter()
        .zip(&r.totals)
        .map(|((k, a), t)| (k.clone(), *a, t.lots))
        .collect();
    if recomputed != published {
        let first = recomputed
            .iter()
            .zip(&published)
            .find(|(a, b)| a != b)
            .map_or_else(
                || "different sets of (commodity, unit)".to_owned(),
                |(a, _)| {
                    format!(
                        "{}/{}: leaves give {} in {} lots",
                        a.0.commodity, a.0.unit, a.1, a.2
                    )
                },
            );
        return fail(Reason::TotalsMismatch, first);
    }
    if summary.sum_root != report.sum_root() {
        return fail(Reason::SumRootMismatch, "the leaves' sum-tree root differs");
    }
    if summary.rfc9162_root != report.rfc9162_root() {
        return fail(
            Reason::Rfc9162RootMismatch,
            "the leaves' RFC 9162 root differs",
        );
    }
    Ok(())
}

/// Checks that `current` follows `previous` (both verified with the same key).
///
/// # Errors
/// `previous_number_mismatch`, `previous_root_mismatch`, `previous_digest_mismatch`,
/// `window_not_contiguous`.
pub fn verify_succession(
    previous: &VerifiedReport,
    current: &VerifiedReport,
) -> Result<(), VerifyError> {
    let (p, c) = (previous.report(), current.report());
    let Some(link) = &c.previous else {
        return fail(
            Reason::PreviousNumberMismatch,
            "the report names no previous report",
        );
    };
    if link.report_number != p.report_number
        || p.report_number.checked_add(1) != Some(c.report_number)
    {
        return fail(
            Reason::PreviousNumberMismatch,
            format!(
                "report {} names previous {}, given report {}",
                c.report_number, link.report_number, p.report_number
            ),
        );
    }
    if link.sum_root != p.sum_root || link.rfc9162_root != p.rfc9162_root {
        return fail(
            Reason::PreviousRootMismatch,
            "previous roots differ from the previous report's",
        );
    }
    if parse_hash(&link.report_digest) != Some(previous.digest()) {
        return fail(
            Reason::PreviousDigestMismatch,
            "previous.reportDigest differs",
        );
    }
    if current.window_from != previous.generated_at {
        return fail(
            Reason::WindowNotContiguous,
            format!(
                "window.from {} is not the previous generatedAt {}",
                c.window.from, p.generated_at
            ),
        );
    }
    Ok(())
}

/// The algorithm a report names, if allowed.
#[must_use]
pub fn named_algorithm(report: &Report) -> Option<Algorithm> {
    [Algorithm::Ed25519, Algorithm::EcdsaP384Sha384]
        .into_iter()
        .find(|a| a.as_str() == report.report_key.alg)
}

/// Checks that `current.departed` lists exactly the lots of `previous` that are not in
/// `current`, given both reports' lot ids in leaf order (each verified against its report with
/// [`verify_leaves`]). Streams: memory does not grow with the number of lots.
///
/// # Errors
/// `departed_unlisted`, `departed_not_in_previous`, `departed_lot_present`,
/// `leaves_not_sorted` (ids out of order).
pub fn verify_departures<P, C>(
    current: &VerifiedReport,
    previous_lots: P,
    current_lots: C,
) -> Result<(), VerifyError>
where
    P: IntoIterator<Item = String>,
    C: IntoIterator<Item = String>,
{
    let mut cur = sorted(current_lots.into_iter()).peekable();
    let mut departed = current
        .report()
        .departed
        .iter()
        .map(|d| d.lot_id.as_str())
        .peekable();
    for p in sorted(previous_lots.into_iter()) {
        let p = p?;
        let mut stays = false;
        while let Some(c) = cur.peek() {
            let c = match c {
                Ok(c) => c.as_str(),
                Err(e) => return Err(e.clone()),
            };
            if c.as_bytes() > p.as_bytes() {
                break;
            }
            stays |= c == p;
            cur.next();
        }
        if let Some(d) = departed.next_if(|d| d.as_bytes() < p.as_bytes()) {
            return fail(
                Reason::DepartedNotInPrevious,
                format!("{d:?} is listed as departed but was not in the previous report"),
            );
        }
        match (stays, departed.next_if(|d| *d == p)) {
            (true, Some(_)) => {
                return fail(
                    Reason::DepartedLotPresent,
                    format!("departed lot {p:?} is a leaf"),
                );
            }
            (false, None) => {
                return fail(
                    Reason::DepartedUnlisted,
                    format!("{p:?} left the reserve set but is not listed as departed"),
                );
            }
            _ => {}
        }
    }
    if let Some(d) = departed.next() {
        return fail(
            Reason::DepartedNotInPrevious,
            format!("{d:?} is listed as departed but was not in the previous report"),
        );
    }
    Ok(())
}

/// Yields the ids, or a `leaves_not_sorted` error at the first one not above its predecessor.
fn sorted(ids: impl Iterator<Item = String>) -> impl Iterator<Item = Result<String, VerifyError>> {
    let mut last: Option<String> = None;
    let mut failed = false;
    ids.map_while(move |id| {
        if failed {
            return None;
        }
        if last
            .as_deref()
            .is_some_and(|l| l.as_bytes() >= id.as_bytes())
        {
            failed = true;
            return Some(Err(VerifyError {
                reason: Reason::LeavesNotSorted,
                detail: format!("lot id {id:?} is not above the previous one"),
            }));
        }
        last = Some(id.clone());
        Some(Ok(id))
    })
}
