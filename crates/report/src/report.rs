//! The report document, its signature input and timestamp imprint, and [`build_report`].
//!
//! A report is one JSON object (member names below; the published bytes are its JCS form):
//!
//! | member | meaning |
//! | --- | --- |
//! | `format` | `"cphar-reserve-report/1"` |
//! | `reportNumber` | 1, 2, 3… (gapless) |
//! | `generatedAt` | the instant of the snapshot (RFC 3339 UTC, whole seconds) |
//! | `window` | `{"from", "to"}`: the report covers changes after `from` (the previous report's `generatedAt`; its own for report 1) up to `generatedAt`, and its timestamp's genTime must lie in `[generatedAt, to]` |
//! | `policy` | `{"id", "version"}` of the policy in force |
//! | `previous` | `null` for report 1, else `{"reportNumber", "sumRoot", "rfc9162Root", "reportDigest"}` of the previous report |
//! | `departed` | lots in the previous report that left, sorted by `lotId`: `{"lotId", "reason", "at"}` |
//! | `lotCount` | number of leaves (lots in the active reserve set) |
//! | `lotCountsByState` | all lots of the registry by lot state, `{"state": count}` |
//! | `totals` | per (commodity, unit), sorted: `{"commodity", "unit", "quantity", "lots"}`, `quantity` a canonical sum |
//! | `sumRoot`, `rfc9162Root` | the two roots, 64 lower-case hex digits |
//! | `reportKey` | `{"kid", "alg"}`: RFC 7638 thumbprint (base64url) of the report key's JWK, and `Ed25519` or `ECDSA-P384-SHA384` |
//! | `signature` | base64url signature over [`signature_input`] |
//! | `timestampToken` | base64url DER RFC 3161 `TimeStampToken` over [`timestamp_imprint`] (absent before stamping) |

use std::collections::BTreeMap;

use cphar_crypto::{Algorithm, CryptoError, SigningKey, VerifyingKey, b64, hex};
use cphar_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::leaf::LotLeaf;
use crate::tree::{TreeBuilder, TreeError};
use crate::verify::VerifiedReport;

/// The `format` member of every report of this version.
pub const REPORT_FORMAT: &str = "cphar-reserve-report/1";

/// Prefix of the signature input: the report key signs nothing that could be mistaken for
/// another message (a checkpoint, a credential) even if it were reused.
pub const SIGNATURE_CONTEXT: &[u8] = b"cphar-reserve-report/1 signature\0";

/// The time window of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start of what the report covers.
    pub from: String,
    /// Last instant at which its timestamp may have been made.
    pub to: String,
}

/// The policy in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    /// `policy_id`.
    pub id: String,
    /// Its version.
    pub version: u64,
}

/// What a report says about its predecessor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviousRef {
    /// Its number.
    pub report_number: u64,
    /// Its sum-tree root (hex).
    pub sum_root: String,
    /// Its RFC 9162 root (hex).
    pub rfc9162_root: String,
    /// SHA-256 (hex) of its JCS without `timestampToken` (= its timestamp imprint).
    pub report_digest: String,
}

/// A lot that left the active set since the previous report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Departure {
    /// The lot.
    pub lot_id: String,
    /// Why (a reason code such as `tamper_detected`, `[a-z0-9_]{1,64}`).
    pub reason: String,
    /// When it left (RFC 3339 UTC).
    pub at: String,
}

/// One total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Total {
    /// Commodity.
    pub commodity: String,
    /// Unit.
    pub unit: String,
    /// Exact sum (canonical decimal).
    pub quantity: String,
    /// Lots counted.
    pub lots: u64,
}

/// Which key signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportKeyRef {
    /// RFC 7638 thumbprint of the public JWK, base64url.
    pub kid: String,
    /// `Ed25519` or `ECDSA-P384-SHA384`.
    pub alg: String,
}

/// A reserve report (see the module documentation for each member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Report {
    pub format: String,
    pub report_number: u64,
    pub generated_at: String,
    pub window: Window,
    pub policy: PolicyRef,
    pub previous: Option<PreviousRef>,
    pub departed: Vec<Departure>,
    pub lot_count: u64,
    pub lot_counts_by_state: BTreeMap<String, u64>,
    pub totals: Vec<Total>,
    pub sum_root: String,
    pub rfc9162_root: String,
    pub report_key: ReportKeyRef,
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_token: Option<String>,
}

impl Report {
    /// The report as a JSON value.
    #[must_use]
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The published bytes: JCS of the whole report.
    #[must_use]
    pub fn to_jcs(&self) -> Vec<u8> {
        cphar_jcs::canonicalize(&self.to_value()).unwrap_or_default()
    }

    /// The same report carrying `token_der` (a DER `TimeStampToken` over
    /// [`timestamp_imprint`]).
    #[must_use]
    pub fn with_timestamp(mut self, token_der: &[u8]) -> Report {
        self.timestamp_token = Some(b64::encode(token_der));
        self
    }
}

/// `SIGNATURE_CONTEXT ‖ JCS(report without signature and timestampToken)`.
#[must_use]
pub fn signature_input(report: &Value) -> Vec<u8> {
    let mut v = report.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("signature");
        obj.remove("timestampToken");
    }
    let mut out = SIGNATURE_CONTEXT.to_vec();
    // A value read by cphar_jcs::parse or made from a Report always canonicalizes; on the
    // impossible failure the input is the bare context, which no signature can match.
    let _ = cphar_jcs::canonicalize_into(&v, &mut out);
    out
}

/// The bytes the timestamp token covers: `JCS(report without timestampToken)`; the token's
/// imprint is their SHA-256 and so is the next report's `previous.reportDigest`.
#[must_use]
pub fn timestamped_bytes(report: &Value) -> Vec<u8> {
    let mut v = report.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("timestampToken");
    }
    cphar_jcs::canonicalize(&v).unwrap_or_default()
}

/// SHA-256 of [`timestamped_bytes`]: the imprint to ask the TSA for.
#[must_use]
pub fn timestamp_imprint(report: &Report) -> [u8; 32] {
    cphar_crypto::sha256(&timestamped_bytes(&report.to_value()))
}

/// A key that signs reports. Implemented for [`SigningKey`]; an HSM-held key implements it too.
pub trait ReportSigner {
    /// The public half.
    fn verifying_key(&self) -> VerifyingKey;
    /// Signs `msg`.
    ///
    /// # Errors
    /// The signer's failure.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

impl ReportSigner for SigningKey {
    fn verifying_key(&self) -> VerifyingKey {
        SigningKey::verifying_key(self)
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        SigningKey::sign(self, msg)
    }
}

/// Whether reports may be signed with `alg`: Ed25519 (deterministic, fast, compact; the
/// default) or ECDSA P-384 (so a deployment can keep the report key in the same PKCS#11 token
/// and family as the audit key).
#[must_use]
pub fn report_algorithm_allowed(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::Ed25519 | Algorithm::EcdsaP384Sha384)
}

/// The registry's state at one instant: what a report is built from.
#[derive(Debug, Clone)]
pub struct Snapshot<I> {
    /// The active lots, sorted by lot id (strictly increasing).
    pub leaves: I,
    /// All lots by lot state.
    pub lot_counts_by_state: BTreeMap<String, u64>,
    /// The policy in force.
    pub policy: PolicyRef,
    /// Lots of the previous report that left since, with their reasons, sorted by lot id.
    pub departed: Vec<Departure>,
    /// How long after `now` the timestamp may be made (`window.to − generatedAt`).
    pub timestamp_grace: time::Duration,
}

/// Why a report could not be built. Nothing is produced on error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A leaf was refused.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A departed lot is still among the leaves.
    #[error("departed lot {0:?} is still in the active set")]
    DepartedLotPresent(String),
    /// Departures are unsorted, duplicated or malformed.
    #[error("invalid departures: {0}")]
    InvalidDepartures(String),
    /// Departures without a previous report.
    #[error("the first report cannot list departed lots")]
    DepartedWithoutPrevious,
    /// `now` is not after the previous report's `generatedAt`, or the grace is negative.
    #[error("invalid time: {0}")]
    InvalidTime(String),
    /// The report key's algorithm is not allowed, or signing failed.
    #[error("report key: {0}")]
    Key(String),
    /// The policy or a state name is malformed.
    #[error("invalid snapshot: {0}")]
    InvalidSnapshot(String),
}

impl BuildError {
    /// Stable machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::Tree(e) => e.code(),
            BuildError::DepartedLotPresent(_) => "departed_lot_present",
            BuildError::InvalidDepartures(_) => "invalid_departures",
            BuildError::DepartedWithoutPrevious => "departed_without_previous",
            BuildError::InvalidTime(_) => "invalid_time",
            BuildError::Key(_) => "report_key_invalid",
            BuildError::InvalidSnapshot(_) => "invalid_snapshot",
        }
    }
}

/// Builds and signs the next report (no timestamp yet: ask the TSA for
/// [`timestamp_imprint`] and call [`Report::with_timestamp`]).
///
/// Leaves stream through a [`TreeBuilder`]: memory stays O(log n) whatever their number.
///
/// # Errors
/// [`BuildError`]; nothing is signed unless every check passed.
pub fn build_report<I>(
    snapshot: Snapshot<I>,
    previous: Option<&VerifiedReport>,
    signer: &dyn ReportSigner,
    now: Timestamp,
) -> Result<Report, BuildError>
where
    I: IntoIterator<Item = LotLeaf>,
{
    // Whole seconds: an RFC 3161 genTime is usually whole seconds and truncated, so a
    // fractional generatedAt could lie after the genTime of a token asked for just after it.
    let now = Timestamp::from_unix_seconds(now.unix_seconds())
        .ok_or_else(|| BuildError::InvalidTime("now out of range".into()))?;
    let key = signer.verifying_key();
    if !report_algorithm_allowed(key.algorithm()) {
        return Err(BuildError::Key(format!(
            "{} is not a report signature algorithm",
            key.algorithm()
        )));
    }
    let kid = key
        .to_jwk()
        .thumbprint_b64()
        .map_err(|e| BuildError::Key(e.to_string()))?;
    crate::verify::check_policy(&snapshot.policy).map_err(BuildError::InvalidSnapshot)?;
    crate::verify::check_state_names(&snapshot.lot_counts_by_state)
        .map_err(BuildError::InvalidSnapshot)?;
    if snapshot.timestamp_grace.is_negative() {
        return Err(BuildError::InvalidTime("negative timestamp grace".into()));
    }
    let from = match previous {
        Some(p) => {
            if now <= p.generated_at() {
                return Err(BuildError::InvalidTime(
                    "now is not after the previous report".into(),
                ));
            }
            p.generated_at()
        }
        None => now,
    };
    let to = now
        .checked_add(snapshot.timestamp_grace)
        .ok_or_else(|| BuildError::InvalidTime("window end out of range".into()))?;
    if previous.is_none() && !snapshot.departed.is_empty() {
        return Err(BuildError::DepartedWithoutPrevious);
    }
    crate::verify::check_departures(&snapshot.departed, from, now)
        .map_err(BuildError::InvalidDepartures)?;

    let mut tree = TreeBuilder::new();
    let mut departed = snapshot
        .departed
        .iter()
        .map(|d| d.lot_id.as_bytes())
        .peekable();
    for leaf in snapshot.leaves {
        tree.push(&leaf)?;
        while departed.next_if(|d| *d < leaf.lot_id.as_bytes()).is_some() {}
        if departed.peek() == Some(&leaf.lot_id.as_bytes()) {
            return Err(BuildError::DepartedLotPresent(leaf.lot_id));
        }
    }
    let summary = tree.finish()?;

    let mut report = Report {
        format: REPORT_FORMAT.into(),
        report_number: previous.map_or(1, |p| p.report().report_number.saturating_add(1)),
        generated_at: now.to_string(),
        window: Window {
            from: from.to_string(),
            to: to.to_string(),
        },
        policy: snapshot.policy,
        previous: previous.map(|p| PreviousRef {
            report_number: p.report().report_number,
            sum_root: p.report().sum_root.clone(),
            rfc9162_root: p.report().rfc9162_root.clone(),
            report_digest: hex(&p.digest()),
        }),
        departed: snapshot.departed,
        lot_count: summary.size,
        lot_counts_by_state: snapshot.lot_counts_by_state,
        totals: summary
            .totals
            .iter()
            .map(|t| Total {
                commodity: t.key.commodity.clone(),
                unit: t.key.unit.clone(),
                quantity: t.amount.to_string(),
                lots: t.lots,
            })
            .collect(),
        sum_root: hex(&summary.sum_root),
        rfc9162_root: hex(&summary.rfc9162_root),
        report_key: ReportKeyRef {
            kid,
            alg: key.algorithm().as_str().into(),
        },
        signature: String::new(),
        timestamp_token: None,
    };
    let signature = signer
        .sign(&signature_input(&report.to_value()))
        .map_err(|e| BuildError::Key(e.to_string()))?;
    report.signature = b64::encode(&signature);
    Ok(report)
}
