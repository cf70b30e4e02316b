//! Inclusion and non-inclusion proofs, their JSON form, and their verification.
//!
//! ```json
//! {"format": "cphar-reserve-report-proof/1", "reportNumber": 7, "kind": "inclusion",
//!  "inclusion": INCLUSION}
//! {"format": "cphar-reserve-report-proof/1", "reportNumber": 7, "kind": "nonInclusion",
//!  "lotId": "LOT-9", "left": INCLUSION | null, "right": INCLUSION | null}
//! ```
//!
//! `INCLUSION` is `{"leafIndex", "treeSize", "leaf", "sumPath", "auditPath"}`: the leaf object,
//! the sum-tree siblings from the leaf upwards as `{"hash": hex, "sums": [{"commodity", "unit",
//! "quantity"}]}` (quantities canonical sums, sorted by commodity then unit), and the RFC 9162
//! audit path as hex hashes. Both paths follow RFC 9162 §2.1.3 (same shape, same walk).
//!
//! A non-inclusion proof gives the two consecutive leaves around `lotId` (`left.leafIndex + 1
//! = right.leafIndex`, `left.lotId < lotId < right.lotId`), or one at an edge (`right` is
//! leaf 0, or `left` is the last leaf), or neither for an empty report.

use cphar_crypto::hex;
use cphar_tlog::{Hash, verify_inclusion};
use serde_json::{Map, Value, json};

use crate::amount::Amount;
use crate::leaf::LotLeaf;
use crate::tree::{SumKey, SumNode, leaf_node, parent, walk_path};
use crate::verify::{Reason, VerifiedReport, VerifyError, fail, parse_hash};

/// The `format` member of every proof of this version.
pub const PROOF_FORMAT: &str = "cphar-reserve-report-proof/1";

/// That one leaf is in the report and counted in its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's position.
    pub leaf_index: u64,
    /// The report's `lotCount`.
    pub tree_size: u64,
    /// The leaf.
    pub leaf: LotLeaf,
    /// Sum-tree siblings, leaf upwards.
    pub sum_path: Vec<SumNode>,
    /// RFC 9162 audit path, leaf upwards.
    pub audit_path: Vec<Hash>,
}

/// A proof about one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// The lot is in the report.
    Inclusion {
        /// The report.
        report_number: u64,
        /// The proof.
        proof: Box<InclusionProof>,
    },
    /// The lot is not in the report.
    NonInclusion {
        /// The report.
        report_number: u64,
        /// The absent lot.
        lot_id: String,
        /// The leaf just below it, if any.
        left: Option<Box<InclusionProof>>,
        /// The leaf just above it, if any.
        right: Option<Box<InclusionProof>>,
    },
}

/// What a verified proof established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofOutcome {
    /// This lot is in the report, counted in its totals.
    Included(LotLeaf),
    /// This lot id is not in the report.
    Absent(String),
}

fn sums_json(node: &SumNode) -> Value {
    Value::Array(
        node.sums
            .iter()
            .map(|(k, a)| json!({"commodity": k.commodity, "unit": k.unit, "quantity": a.to_string()}))
            .collect(),
    )
}

impl InclusionProof {
    /// JSON form.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "leafIndex": self.leaf_index,
            "treeSize": self.tree_size,
            "leaf": self.leaf.to_json(),
            "sumPath": self.sum_path.iter().map(|n| json!({"hash": hex(&n.hash), "sums": sums_json(n)})).collect::<Vec<_>>(),
            "auditPath": self.audit_path.iter().map(|h| hex(h)).collect::<Vec<_>>(),
        })
    }

    fn from_json(value: &Value, what: &str) -> Result<Self, VerifyError> {
        let obj = object(
            value,
            what,
            &["leafIndex", "treeSize", "leaf", "sumPath", "auditPath"],
        )?;
        let leaf_value = obj.get("leaf").unwrap_or(&Value::Null);
        let (leaf, _) = LotLeaf::from_json(leaf_value)
            .or_else(|e| fail(Reason::ProofLeafInvalid, format!("{what}.leaf: {e}")))?;
        let sum_path = array(obj.get("sumPath"), &format!("{what}.sumPath"))?
            .iter()
            .enumerate()
            .map(|(i, n)| sum_node(n, &format!("{what}.sumPath[{i}]")))
            .collect::<Result<_, _>>()?;
        let audit_path = array(obj.get("auditPath"), &format!("{what}.auditPath"))?
            .iter()
            .enumerate()
            .map(|(i, h)| hash(h, &format!("{what}.auditPath[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(InclusionProof {
            leaf_index: int(obj.get("leafIndex"), &format!("{what}.leafIndex"))?,
            tree_size: int(obj.get("treeSize"), &format!("{what}.treeSize"))?,
            leaf,
            sum_path,
            audit_path,
        })
    }
}

impl Proof {
    /// JSON form.
    #[must_use]
    pub fn to_json(&self) -> Value {
        match self {
            Proof::Inclusion {
                report_number,
                proof,
            } => json!({
                "format": PROOF_FORMAT,
                "reportNumber": report_number,
                "kind": "inclusion",
                "inclusion": proof.to_json(),
            }),
            Proof::NonInclusion {
                report_number,
                lot_id,
                left,
                right,
            } => json!({
                "format": PROOF_FORMAT,
                "reportNumber": report_number,
                "kind": "nonInclusion",
                "lotId": lot_id,
                "left": left.as_ref().map_or(Value::Null, |p| p.to_json()),
                "right": right.as_ref().map_or(Value::Null, |p| p.to_json()),
            }),
        }
    }

    /// Reads a proof (strict I-JSON, exactly the members above).
    ///
    /// # Errors
    /// `proof_malformed` (or `proof_leaf_invalid` for a bad leaf), naming the member.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Proof, VerifyError> {
        let value = cphar_jcs::parse(bytes)
            .or_else(|e| fail(Reason::ProofMalformed, format!("not I-JSON: {e}")))?;
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let members: &[&str] = match kind {
            "inclusion" => &["format", "reportNumber", "kind", "inclusion"],
            "nonInclusion" => &["format", "reportNumber", "kind", "lotId", "left", "right"],
            _ => {
                return fail(
                    Reason::ProofMalformed,
                    "kind must be inclusion or nonInclusion",
                );
            }
        };
        let obj = object(&value, "proof", members)?;
        if obj.get("format").and_then(Value::as_str) != Some(PROOF_FORMAT) {
            return fail(
                Reason::ProofMalformed,
                format!("format must be {PROOF_FORMAT}"),
            );
        }
        let report_number = int(obj.get("reportNumber"), "reportNumber")?;
        if kind == "inclusion" {
            let proof = InclusionProof::from_json(
                obj.get("inclusion").unwrap_or(&Value::Null),
                "inclusion",
            )?;
            return Ok(Proof::Inclusion {
                report_number,
                proof: Box::new(proof),
            });
        }
        let lot_id = obj.get("lotId").and_then(Value::as_str).map_or_else(
            || fail(Reason::ProofMalformed, "lotId must be a string"),
            |s| Ok(s.to_owned()),
        )?;
        let side = |name: &str| -> Result<Option<Box<InclusionProof>>, VerifyError> {
            match obj.get(name) {
                Some(Value::Null) => Ok(None),
                Some(v) => InclusionProof::from_json(v, name).map(|p| Some(Box::new(p))),
                None => fail(Reason::ProofMalformed, format!("{name} missing")),
            }
        };
        Ok(Proof::NonInclusion {
            report_number,
            lot_id,
            left: side("left")?,
            right: side("right")?,
        })
    }
}

fn object<'a>(
    value: &'a Value,
    what: &str,
    members: &[&str],
) -> Result<&'a Map<String, Value>, VerifyError> {
    let Some(obj) = value.as_object() else {
        return fail(Reason::ProofMalformed, format!("{what} is not an object"));
    };
    if let Some(extra) = obj.keys().find(|k| !members.contains(&k.as_str())) {
        return fail(
            Reason::ProofMalformed,
            format!("{what}: unknown member {extra:?}"),
        );
    }
    if let Some(missing) = members.iter().find(|m| !obj.contains_key(**m)) {
        return fail(
            Reason::ProofMalformed,
            format!("{what}: missing {missing:?}"),
        );
    }
    Ok(obj)
}

fn array<'a>(value: Option<&'a Value>, what: &str) -> Result<&'a Vec<Value>, VerifyError> {
    value.and_then(Value::as_array).map_or_else(
        || fail(Reason::ProofMalformed, format!("{what} is not an array")),
        Ok,
    )
}

fn int(value: Option<&Value>, what: &str) -> Result<u64, VerifyError> {
    value.and_then(Value::as_u64).map_or_else(
        || {
            fail(
                Reason::ProofMalformed,
                format!("{what} is not a non-negative integer"),
            )
        },
        Ok,
    )
}

fn hash(value: &Value, what: &str) -> Result<Hash, VerifyError> {
    value.as_str().and_then(parse_hash).map_or_else(
        || {
            fail(
                Reason::ProofMalformed,
                format!("{what} is not 64 hex digits"),
            )
        },
        Ok,
    )
}

fn sum_node(value: &Value, what: &str) -> Result<SumNode, VerifyError> {
    let obj = object(value, what, &["hash", "sums"])?;
    let hash = hash(
        obj.get("hash").unwrap_or(&Value::Null),
        &format!("{what}.hash"),
    )?;
    let mut sums: Vec<(SumKey, Amount)> = Vec::new();
    for (i, entry) in array(obj.get("sums"), &format!("{what}.sums"))?
        .iter()
        .enumerate()
    {
        let w = format!("{what}.sums[{i}]");
        let e = object(entry, &w, &["commodity", "unit", "quantity"])?;
        let text = |name: &str| {
            e.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= crate::leaf::MAX_TEXT_LEN)
                .map_or_else(
                    || {
                        fail(
                            Reason::ProofMalformed,
                            format!("{w}.{name} is not 1-128 bytes of text"),
                        )
                    },
                    |s| Ok(s.to_owned()),
                )
        };
        let key = SumKey {
            commodity: text("commodity")?,
            unit: text("unit")?,
        };
        let amount = Amount::parse_sum(&text("quantity")?).or_else(|err| {
            fail(
                Reason::ProofMalformed,
                format!("{w}.quantity: {err} ({})", err.code()),
            )
        })?;
        if sums.last().is_some_and(|(last, _)| *last >= key) {
            return fail(
                Reason::ProofMalformed,
                format!("{what}.sums are not sorted and unique"),
            );
        }
        sums.push((key, amount));
    }
    Ok(SumNode { hash, sums })
}

/// Verifies one inclusion proof against a verified report.
fn verify_inclusion_proof(
    report: &VerifiedReport,
    proof: &InclusionProof,
    what: &str,
) -> Result<(), VerifyError> {
    if proof.tree_size != report.report().lot_count {
        return fail(
            Reason::ProofReportMismatch,
            format!(
                "{what}: treeSize {} is not lotCount {}",
                proof.tree_size,
                report.report().lot_count
            ),
        );
    }
    let amount = proof
        .leaf
        .validate()
        .or_else(|e| fail(Reason::ProofLeafInvalid, format!("{what}.leaf: {e}")))?;
    let leaf = leaf_node(&proof.leaf, amount);
    if verify_inclusion(
        proof.leaf_index,
        proof.tree_size,
        &leaf.hash,
        &proof.audit_path,
        &report.rfc9162_root(),
    )
    .is_err()
    {
        return fail(
            Reason::ProofAuditPathInvalid,
            format!("{what}: the audit path does not lead to rfc9162Root"),
        );
    }
    let root = walk_path(
        proof.leaf_index,
        proof.tree_size,
        leaf,
        &proof.sum_path,
        parent,
    )
    .or_else(|e| fail(Reason::ProofSumPathInvalid, format!("{what}: {e}")))?;
    let Some(root) = root.filter(|r| r.hash == report.sum_root()) else {
        return fail(
            Reason::ProofSumPathInvalid,
            format!("{what}: the sum path does not lead to sumRoot"),
        );
    };
    if &root.sums != report.totals() {
        return fail(
            Reason::ProofSumsMismatch,
            format!("{what}: the sums along the path are not the report's totals"),
        );
    }
    Ok(())
}

/// Verifies a proof against a verified report; with `lot_id`, the proof must be about it.
///
/// # Errors
/// `proof_*` reasons (see [`Reason`]).
pub fn verify_proof(
    report: &VerifiedReport,
    proof: &Proof,
    lot_id: Option<&str>,
) -> Result<ProofOutcome, VerifyError> {
    let number = report.report().report_number;
    match proof {
        Proof::Inclusion {
            report_number,
            proof,
        } => {
            if *report_number != number {
                return fail(
                    Reason::ProofReportMismatch,
                    format!("proof for report {report_number}, not {number}"),
                );
            }
            if let Some(want) = lot_id
                && want != proof.leaf.lot_id
            {
                return fail(
                    Reason::ProofLotMismatch,
                    format!("proof is about {:?}, not {want:?}", proof.leaf.lot_id),
                );
            }
            verify_inclusion_proof(report, proof, "inclusion")?;
            Ok(ProofOutcome::Included(proof.leaf.clone()))
        }
        Proof::NonInclusion {
            report_number,
            lot_id: absent,
            left,
            right,
        } => {
            if *report_number != number {
                return fail(
                    Reason::ProofReportMismatch,
                    format!("proof for report {report_number}, not {number}"),
                );
            }
            if let Some(want) = lot_id
                && want != absent
            {
                return fail(
                    Reason::ProofLotMismatch,
                    format!("proof is about {absent:?}, not {want:?}"),
                );
            }
            let size = report.report().lot_count;
            match (left, right) {
                (None, None) if size == 0 => {}
                (None, None) => {
                    return fail(
                        Reason::ProofNotAdjacent,
                        "no neighbour in a non-empty report",
                    );
                }
                (Some(l), Some(r)) if l.leaf_index.checked_add(1) == Some(r.leaf_index) => {}
                (None, Some(r)) if r.leaf_index == 0 => {}
                (Some(l), None) if size.checked_sub(1) == Some(l.leaf_index) => {}
                _ => {
                    return fail(
                        Reason::ProofNotAdjacent,
                        "neighbours are not consecutive leaves or at an edge",
                    );
                }
            }
            let between = left
                .as_ref()
                .is_none_or(|l| l.leaf.lot_id.as_bytes() < absent.as_bytes())
                && right
                    .as_ref()
                    .is_none_or(|r| absent.as_bytes() < r.leaf.lot_id.as_bytes());
            if !between {
                return fail(
                    Reason::ProofLotNotBetween,
                    format!("{absent:?} is not strictly between the neighbours"),
                );
            }
            if let Some(l) = left {
                verify_inclusion_proof(report, l, "left")?;
            }
            if let Some(r) = right {
                verify_inclusion_proof(report, r, "right")?;
            }
            Ok(ProofOutcome::Absent(absent.clone()))
        }
    }
}

impl crate::tree::SumTree {
    /// The proof for `lot_id` in report `report_number`: inclusion if it is a leaf, else
    /// non-inclusion by its neighbours.
    ///
    /// # Errors
    /// [`crate::TreeError::Overflow`] (not reachable for a tree that was built).
    pub fn prove(&self, report_number: u64, lot_id: &str) -> Result<Proof, crate::TreeError> {
        match self.search(lot_id) {
            Ok(index) => {
                let proof = self
                    .inclusion_proof(index)?
                    .ok_or(crate::TreeError::Overflow)?;
                Ok(Proof::Inclusion {
                    report_number,
                    proof: Box::new(proof),
                })
            }
            Err(at) => {
                let left = match at.checked_sub(1) {
                    Some(i) => self.inclusion_proof(i)?,
                    None => None,
                };
                Ok(Proof::NonInclusion {
                    report_number,
                    lot_id: lot_id.to_owned(),
                    left: left.map(Box::new),
                    right: self.inclusion_proof(at)?.map(Box::new),
                })
            }
        }
    }
}
