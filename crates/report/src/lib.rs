//! Signed reserve reports with provable totals: the sans-I/O core.
//!
//! A report is a numbered, signed and timestamped statement of the active reserve set at one
//! instant. Each active lot is a **leaf** (its JCS record, [`leaf`]); the leaves, sorted by lot
//! id, are committed twice over the same bytes ([`tree`]):
//!
//! - a **Merkle sum tree** whose every node carries the exact sum of its subtree per
//!   (commodity, unit), so an inclusion proof also proves that the lot is counted in the
//!   published totals, and two adjacent leaves prove that a lot is absent;
//! - the plain **RFC 9162** tree (via `cphar-tlog`), so any Certificate Transparency library
//!   can check a lot's inclusion.
//!
//! | module | owns |
//! | --- | --- |
//! | [`amount`] | exact decimal quantities (fixed-point `u128`, checked sums) |
//! | [`leaf`] | the lot record, its field rules and its JCS bytes |
//! | [`tree`] | sum-tree hashing, the streaming [`TreeBuilder`], the proof-serving [`SumTree`] |
//! | [`proof`] | inclusion / non-inclusion proofs, JSON, [`verify_proof`] |
//! | [`report`] | the report document, signature input, timestamp imprint, [`build_report`] |
//! | [`verify`] | [`verify_report`], [`verify_leaves`], [`verify_succession`], the [`Reason`] codes |
//!
//! Nothing here reads a clock, a file or a socket: time, keys, the snapshot and the TSA token
//! are arguments. The byte-exact format is written down in `docs/reserve-report.md`.
//!
//! ```
//! use cphar_crypto::{Algorithm, SigningKey};
//! use cphar_protocol::Timestamp;
//! use cphar_report::*;
//!
//! let lot = |id: &str, qty: &str| LotLeaf {
//!     lot_id: id.into(),
//!     commodity: "gold".into(),
//!     grade: "good delivery".into(),
//!     quantity: qty.into(),
//!     unit: "kg".into(),
//!     seal_uid: format!("SEAL-{id}"),
//!     did_version_id: 1,
//!     did_document_hash: format!("sha256:{}", "ab".repeat(32)),
//!     last_attestation: None,
//! };
//! let leaves = vec![lot("LOT-1", "400.000"), lot("LOT-2", "12.5")];
//! let key = SigningKey::generate(Algorithm::Ed25519)?;
//! let snapshot = Snapshot {
//!     leaves: leaves.clone(),
//!     lot_counts_by_state: Default::default(),
//!     policy: PolicyRef { id: "reserve-policy".into(), version: 1 },
//!     departed: vec![],
//!     timestamp_grace: time::Duration::minutes(10),
//! };
//! let now = Timestamp::parse("2026-12-01T10:00:00Z")?;
//! let report = build_report(snapshot, None, &key, now)?;
//! assert_eq!(report.totals[0].quantity, "412.5");
//! // (A registry now asks its TSA for `timestamp_imprint(&report)` and attaches the token.)
//!
//! let public = key.verifying_key();
//! let options = VerifyOptions {
//!     report_key: &public,
//!     tsa_roots: None, // the token is not checked without TSA roots
//!     now: cphar_tsa::UnixTime::from_secs(1_796_000_000).ok_or("time")?,
//! };
//! let verified = verify_report(&report.to_jcs(), &options)?;
//! verify_leaves(&verified, leaves.clone())?;
//! let tree = SumTree::new(leaves)?;
//! let absent = tree.prove(1, "LOT-3")?;
//! assert_eq!(verify_proof(&verified, &absent, None)?, ProofOutcome::Absent("LOT-3".into()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod amount;
pub mod leaf;
pub mod proof;
pub mod report;
pub mod tree;
pub mod verify;

pub use amount::{Amount, AmountError};
pub use leaf::{LastAttestation, LeafError, LotLeaf};
pub use proof::{InclusionProof, PROOF_FORMAT, Proof, ProofOutcome, verify_proof};
pub use report::{
    BuildError, Departure, PolicyRef, PreviousRef, REPORT_FORMAT, Report, ReportKeyRef,
    ReportSigner, SIGNATURE_CONTEXT, Snapshot, Total, Window, build_report, signature_input,
    timestamp_imprint, timestamped_bytes,
};
pub use tree::{SumKey, SumNode, SumTree, TreeBuilder, TreeError, TreeSummary};
pub use verify::{
    Reason, VerifiedReport, VerifyError, VerifyOptions, parse_leaf, verify_departures,
    verify_leaves, verify_report, verify_succession,
};
