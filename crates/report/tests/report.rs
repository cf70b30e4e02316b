//! Reports end to end through the library: build, stamp with the project's own TSA, verify;
//! then tamper with every field of a report, a leaf, a proof and the token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use cphar_crypto::{Algorithm, SigningKey, b64};
use cphar_report::{
    Departure, Proof, ProofOutcome, Reason, Report, SumTree, VerifyOptions, parse_leaf,
    verify_leaves, verify_proof, verify_report, verify_succession,
};
use serde_json::{Value, json};

fn reason<T: std::fmt::Debug>(r: Result<T, cphar_report::VerifyError>) -> Reason {
    r.expect_err("verification should fail").reason
}

#[test]
fn a_report_verifies_with_leaves_and_proofs_for_both_key_algorithms() {
    for alg in [Algorithm::Ed25519, Algorithm::EcdsaP384Sha384] {
        let fx = Fx::with_key(SigningKey::generate(alg).unwrap());
        let lots = leaves(37);
        let report = fx.report(&lots, vec![], None, T0);
        let verified = fx.verify(&report).unwrap();
        assert_eq!(verified.report().report_number, 1);
        assert_eq!(verified.report().lot_count, 37);
        assert!(verified.timestamp().is_some());
        verify_leaves(&verified, lots.clone()).unwrap();
        let t = tree(&lots);
        for lot in &lots {
            let proof = t.prove(1, &lot.lot_id).unwrap();
            // Through JSON, as a relying party receives it.
            let proof =
                Proof::from_json_bytes(&serde_json::to_vec(&proof.to_json()).unwrap()).unwrap();
            assert_eq!(
                verify_proof(&verified, &proof, Some(&lot.lot_id)).unwrap(),
                ProofOutcome::Included(lot.clone())
            );
        }
        for absent in ["A", "LOT-000003x", "LOT-000010.5", "ZZZ"] {
            let proof = t.prove(1, absent).unwrap();
            assert_eq!(
                verify_proof(&verified, &proof, Some(absent)).unwrap(),
                ProofOutcome::Absent(absent.into())
            );
        }
    }
}

#[test]
fn totals_are_exact_per_commodity_and_unit() {
    let fx = Fx::new();
    let lots = vec![
        lot_with("A", "gold", "kg", "0.1"),
        lot_with("B", "gold", "kg", "0.2"),
        lot_with("C", "gold", "troy_oz", "99999999999999999999.999999999"),
        lot_with("D", "gold", "troy_oz", "99999999999999999999.999999999"),
        lot_with("E", "wheat", "t", "400.000"),
    ];
    let report = fx.report(&lots, vec![], None, T0);
    let totals: Vec<_> = report
        .totals
        .iter()
        .map(|t| {
            (
                t.commodity.as_str(),
                t.unit.as_str(),
                t.quantity.as_str(),
                t.lots,
            )
        })
        .collect();
    assert_eq!(
        totals,
        [
            ("gold", "kg", "0.3", 2),
            ("gold", "troy_oz", "199999999999999999999.999999998", 2),
            ("wheat", "t", "400", 1),
        ]
    );
    fx.verify(&report).unwrap();
}

/// A leaf with the given identity and quantity, other fields from `leaf(0)`.
fn lot_with(id: &str, commodity: &str, unit: &str, qty: &str) -> cphar_report::LotLeaf {
    let mut l = leaf(0);
    l.lot_id = id.into();
    l.commodity = commodity.into();
    l.unit = unit.into();
    l.quantity = qty.into();
    l
}

#[test]
fn build_refuses_bad_snapshots_without_producing_anything() {
    let fx = Fx::new();
    let mut unsorted = leaves(3);
    unsorted.swap(0, 1);
    let mut dup = leaves(3);
    dup[2] = dup[1].clone();
    let mut negative = leaves(3);
    negative[1].quantity = "-1".into();
    let mut float = leaves(3);
    float[1].quantity = "1e3".into();
    for (lots, code) in [
        (unsorted, "leaves_not_sorted"),
        (dup, "leaves_not_sorted"),
        (negative, "leaf_invalid"),
        (float, "leaf_invalid"),
    ] {
        let err =
            cphar_report::build_report(snapshot(&lots, vec![]), None, &fx.key, ts(T0)).unwrap_err();
        assert_eq!(err.code(), code);
    }
    let departed = vec![Departure {
        lot_id: "X".into(),
        reason: "tamper_detected".into(),
        at: ts(T0).to_string(),
    }];
    let err = cphar_report::build_report(snapshot(&leaves(2), departed), None, &fx.key, ts(T0))
        .unwrap_err();
    assert_eq!(err.code(), "departed_without_previous");
    let p256 = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let err =
        cphar_report::build_report(snapshot(&leaves(2), vec![]), None, &p256, ts(T0)).unwrap_err();
    assert_eq!(err.code(), "report_key_invalid");
}

#[test]
fn an_empty_reserve_is_a_valid_report_with_a_non_inclusion_proof() {
    let fx = Fx::new();
    let report = fx.report(&[], vec![], None, T0);
    let verified = fx.verify(&report).unwrap();
    verify_leaves(&verified, vec![]).unwrap();
    let proof = SumTree::new(vec![]).unwrap().prove(1, "LOT-1").unwrap();
    assert_eq!(
        verify_proof(&verified, &proof, None).unwrap(),
        ProofOutcome::Absent("LOT-1".into())
    );
}

/// A lot whose seal broke between two reports: absent from the second, listed with its reason,
/// provably not included, and the second report chains to the first.
#[test]
fn a_removed_lot_is_listed_with_its_reason_and_provably_absent() {
    let fx = Fx::new();
    let first_lots = leaves(20);
    let first = fx
        .verify(&fx.report(&first_lots, vec![], None, T0))
        .unwrap();

    let broken = first_lots[7].lot_id.clone();
    let second_lots: Vec<_> = first_lots
        .iter()
        .filter(|l| l.lot_id != broken)
        .cloned()
        .collect();
    let departed = vec![Departure {
        lot_id: broken.clone(),
        reason: "tamper_detected".into(),
        at: ts(T0 + 1800).to_string(),
    }];
    let second_report = fx.report(&second_lots, departed, Some(&first), T0 + 3600);
    let second = fx.verify(&second_report).unwrap();
    verify_succession(&first, &second).unwrap();
    verify_leaves(&second, second_lots.clone()).unwrap();
    assert_eq!(second.report().report_number, 2);
    assert_eq!(second.report().departed[0].lot_id, broken);
    assert_eq!(second.report().departed[0].reason, "tamper_detected");

    let proof = tree(&second_lots).prove(2, &broken).unwrap();
    assert!(matches!(proof, Proof::NonInclusion { .. }));
    assert_eq!(
        verify_proof(&second, &proof, Some(&broken)).unwrap(),
        ProofOutcome::Absent(broken.clone())
    );
    // The first report still proves it was there.
    let proof = tree(&first_lots).prove(1, &broken).unwrap();
    assert!(matches!(
        verify_proof(&first, &proof, None).unwrap(),
        ProofOutcome::Included(_)
    ));
    // Its leaves cannot be passed off as the second report's.
    assert_eq!(
        reason(verify_leaves(&second, first_lots.clone())),
        Reason::DepartedLotPresent
    );
    // A build that keeps the departed lot is refused.
    let err = cphar_report::build_report(
        snapshot(&first_lots, second.report().departed.clone()),
        Some(&first),
        &fx.key,
        ts(T0 + 3600),
    )
    .unwrap_err();
    assert_eq!(err.code(), "departed_lot_present");

    // The departures are exactly the lots that left (given both reports' lot ids).
    let ids =
        |lots: &[cphar_report::LotLeaf]| lots.iter().map(|l| l.lot_id.clone()).collect::<Vec<_>>();
    cphar_report::verify_departures(&second, ids(&first_lots), ids(&second_lots)).unwrap();
    for (edit, want) in [
        (json!([]), Reason::DepartedUnlisted),
        (
            json!([{"lotId": broken, "reason": "tamper_detected", "at": ts(T0 + 1800).to_string()},
                   {"lotId": "LOT-000007a", "reason": "tamper_detected", "at": ts(T0 + 1800).to_string()}]),
            Reason::DepartedNotInPrevious,
        ),
        (
            json!([{"lotId": "LOT-000006", "reason": "tamper_detected", "at": ts(T0 + 1800).to_string()},
                   {"lotId": broken, "reason": "tamper_detected", "at": ts(T0 + 1800).to_string()}]),
            Reason::DepartedLotPresent,
        ),
    ] {
        let forged = fx
            .verify(&fx.resign(&second_report, |v| set(v, "/departed", edit.clone())))
            .unwrap();
        let got = cphar_report::verify_departures(&forged, ids(&first_lots), ids(&second_lots));
        assert_eq!(reason(got), want, "{edit}");
    }
    let mut unsorted = ids(&first_lots);
    unsorted.swap(0, 1);
    assert_eq!(
        reason(cphar_report::verify_departures(
            &second,
            unsorted,
            ids(&second_lots)
        )),
        Reason::LeavesNotSorted
    );

    // Succession checks.
    assert_eq!(
        reason(verify_succession(&second, &first)),
        Reason::PreviousNumberMismatch
    );
    let other_first = fx
        .verify(&fx.report(&leaves(19), vec![], None, T0))
        .unwrap();
    assert_eq!(
        reason(verify_succession(&other_first, &second)),
        Reason::PreviousRootMismatch
    );
    for (path, new, want) in [
        (
            "/previous/reportDigest",
            json!("00".repeat(32)),
            Reason::PreviousDigestMismatch,
        ),
        (
            "/previous/sumRoot",
            json!("00".repeat(32)),
            Reason::PreviousRootMismatch,
        ),
        (
            "/previous/rfc9162Root",
            json!("00".repeat(32)),
            Reason::PreviousRootMismatch,
        ),
        (
            "/previous/reportNumber",
            json!(5),
            Reason::PreviousNumberMismatch,
        ),
        ("/reportNumber", json!(3), Reason::PreviousNumberMismatch),
        (
            "/window/from",
            json!(ts(T0 + 1).to_string()),
            Reason::WindowNotContiguous,
        ),
    ] {
        let forged = fx.resign(&second_report, |v| set(v, path, new));
        let got = fx
            .verify(&forged)
            .and_then(|forged| verify_succession(&first, &forged));
        assert_eq!(reason(got), want, "{path}");
    }
}

fn fixture_report(
    fx: &Fx,
) -> (
    Vec<cphar_report::LotLeaf>,
    cphar_report::VerifiedReport,
    Report,
) {
    let first_lots = leaves(12);
    let first = fx
        .verify(&fx.report(&first_lots, vec![], None, T0))
        .unwrap();
    let lots: Vec<_> = first_lots
        .iter()
        .filter(|l| l.lot_id != "LOT-000004")
        .cloned()
        .collect();
    let departed = vec![Departure {
        lot_id: "LOT-000004".into(),
        reason: "tamper_detected".into(),
        at: ts(T0 + 60).to_string(),
    }];
    let report = fx.report(&lots, departed, Some(&first), T0 + 600);
    (lots, first, report)
}

/// Every member of a report, changed without the key: the signature (or the key binding,
/// format or structure) catches it.
#[test]
fn tampering_with_any_report_field_breaks_the_signature() {
    let fx = Fx::new();
    let (_, _, report) = fixture_report(&fx);
    let cases: &[(&str, Value, Reason)] = &[
        (
            "/format",
            json!("cphar-reserve-report/2"),
            Reason::UnsupportedFormat,
        ),
        ("/reportNumber", json!(3), Reason::SignatureInvalid),
        (
            "/generatedAt",
            json!(ts(T0 + 601).to_string()),
            Reason::SignatureInvalid,
        ),
        (
            "/window/from",
            json!(ts(T0 + 1).to_string()),
            Reason::SignatureInvalid,
        ),
        (
            "/window/to",
            json!(ts(T0 + 9999).to_string()),
            Reason::SignatureInvalid,
        ),
        ("/policy/id", json!("other"), Reason::SignatureInvalid),
        ("/policy/version", json!(4), Reason::SignatureInvalid),
        ("/previous/reportNumber", json!(0), Reason::SignatureInvalid),
        (
            "/previous/sumRoot",
            json!("11".repeat(32)),
            Reason::SignatureInvalid,
        ),
        (
            "/previous/rfc9162Root",
            json!("11".repeat(32)),
            Reason::SignatureInvalid,
        ),
        (
            "/previous/reportDigest",
            json!("11".repeat(32)),
            Reason::SignatureInvalid,
        ),
        ("/previous", Value::Null, Reason::SignatureInvalid),
        (
            "/departed/0/lotId",
            json!("LOT-000005"),
            Reason::SignatureInvalid,
        ),
        (
            "/departed/0/reason",
            json!("device_failure"),
            Reason::SignatureInvalid,
        ),
        (
            "/departed/0/at",
            json!(ts(T0 + 61).to_string()),
            Reason::SignatureInvalid,
        ),
        ("/departed", json!([]), Reason::SignatureInvalid),
        ("/lotCount", json!(12), Reason::SignatureInvalid),
        (
            "/lotCountsByState/bound",
            json!(1),
            Reason::SignatureInvalid,
        ),
        (
            "/totals/0/commodity",
            json!("platinum"),
            Reason::SignatureInvalid,
        ),
        ("/totals/0/unit", json!("g"), Reason::SignatureInvalid),
        ("/totals/0/quantity", json!("1"), Reason::SignatureInvalid),
        ("/totals/0/lots", json!(1), Reason::SignatureInvalid),
        ("/sumRoot", json!("22".repeat(32)), Reason::SignatureInvalid),
        (
            "/rfc9162Root",
            json!("22".repeat(32)),
            Reason::SignatureInvalid,
        ),
        ("/reportKey/kid", json!("x"), Reason::ReportKeyMismatch),
        (
            "/reportKey/alg",
            json!("ECDSA-P384-SHA384"),
            Reason::ReportKeyMismatch,
        ),
        (
            "/signature",
            json!(b64::encode(&[7u8; 64])),
            Reason::SignatureInvalid,
        ),
        (
            "/signature",
            json!("not base64url!"),
            Reason::MalformedReport,
        ),
        ("/sumRoot", json!("not hex"), Reason::MalformedReport),
        ("/generatedAt", json!("yesterday"), Reason::MalformedReport),
        ("/lotCount", json!("11"), Reason::MalformedReport),
    ];
    for (path, new, want) in cases {
        let mut value = report.to_value();
        set(&mut value, path, new.clone());
        let bytes = serde_json::to_vec(&value).unwrap();
        let got = reason(verify_report(&bytes, &fx.options()));
        assert_eq!(got, *want, "{path} = {new}");
    }
    // Extra and missing members, duplicate names.
    let mut value = report.to_value();
    value
        .as_object_mut()
        .unwrap()
        .insert("extra".into(), json!(1));
    assert_eq!(
        reason(verify_report(
            &serde_json::to_vec(&value).unwrap(),
            &fx.options()
        )),
        Reason::MalformedReport
    );
    let mut value = report.to_value();
    value.as_object_mut().unwrap().remove("totals");
    assert_eq!(
        reason(verify_report(
            &serde_json::to_vec(&value).unwrap(),
            &fx.options()
        )),
        Reason::MalformedReport
    );
    let text = String::from_utf8(report.to_jcs())
        .unwrap()
        .replacen('{', "{\"lotCount\":0,", 1);
    assert_eq!(
        reason(verify_report(text.as_bytes(), &fx.options())),
        Reason::MalformedReport
    );
    // Another key.
    let other = SigningKey::generate(Algorithm::Ed25519)
        .unwrap()
        .verifying_key();
    let options = VerifyOptions {
        report_key: &other,
        ..fx.options()
    };
    assert_eq!(
        reason(verify_report(&report.to_jcs(), &options)),
        Reason::ReportKeyMismatch
    );
}

/// The same fields changed by a registry that holds the key (re-signed, re-stamped): the checks
/// behind the signature name what is inconsistent.
#[test]
fn a_re_signed_inconsistent_report_fails_on_the_inconsistency() {
    let fx = Fx::new();
    let (lots, _, report) = fixture_report(&fx);
    let with_leaves = |r: &Report| {
        let verified = fx.verify(r)?;
        verify_leaves(&verified, lots.clone())
    };
    let cases: &[(&str, Value, Reason)] = &[
        (
            "/generatedAt",
            json!(ts(T0 - 10).to_string()),
            Reason::WindowInvalid,
        ),
        (
            "/window/to",
            json!(ts(T0 + 601).to_string()),
            Reason::TimestampOutsideWindow,
        ),
        ("/lotCount", json!(12), Reason::TotalsInconsistent),
        (
            "/totals/0/quantity",
            json!("1.50"),
            Reason::TotalsInconsistent,
        ),
        ("/totals/0/lots", json!(0), Reason::TotalsInconsistent),
        (
            "/departed/0/at",
            json!(ts(T0 + 700).to_string()),
            Reason::DepartedInvalid,
        ),
        (
            "/departed/0/reason",
            json!("Not A Code"),
            Reason::DepartedInvalid,
        ),
        (
            "/departed/0/lotId",
            json!("LOT-000005"),
            Reason::DepartedLotPresent,
        ),
        ("/totals/0/quantity", json!("1"), Reason::TotalsMismatch),
        (
            "/totals/0/commodity",
            json!("platinum"),
            Reason::TotalsMismatch,
        ),
        ("/sumRoot", json!("22".repeat(32)), Reason::SumRootMismatch),
        (
            "/rfc9162Root",
            json!("22".repeat(32)),
            Reason::Rfc9162RootMismatch,
        ),
        ("/previous", Value::Null, Reason::PreviousNumberMismatch),
        ("/reportNumber", json!(1), Reason::PreviousNumberMismatch),
    ];
    for (path, new, want) in cases {
        let forged = fx.resign(&report, |v| set(v, path, new.clone()));
        assert_eq!(reason(with_leaves(&forged)), *want, "{path} = {new}");
    }
    // Lot count raised together with a total's lots: consistent inside, wrong against leaves.
    let forged = fx.resign(&report, |v| {
        set(v, "/lotCount", json!(12));
        set(
            v,
            "/totals/0/lots",
            json!(v["totals"][0]["lots"].as_u64().unwrap() + 1),
        );
    });
    assert_eq!(reason(with_leaves(&forged)), Reason::LotCountMismatch);
    // Totals changed consistently: a proof's sums reach sumRoot but not the published totals.
    let forged = fx.resign(&report, |v| set(v, "/totals/0/quantity", json!("1")));
    let verified = fx.verify(&forged).unwrap();
    let proof = tree(&lots).prove(2, &lots[0].lot_id).unwrap();
    assert_eq!(
        reason(verify_proof(&verified, &proof, None)),
        Reason::ProofSumsMismatch
    );
}

#[test]
fn tampering_with_the_token_is_named() {
    let fx = Fx::new();
    let (_, _, report) = fixture_report(&fx);
    let token = b64::decode(report.timestamp_token.as_ref().unwrap()).unwrap();

    let mut missing = report.clone();
    missing.timestamp_token = None;
    assert_eq!(reason(fx.verify(&missing)), Reason::TimestampMissing);
    // Without TSA roots the token is not checked (and the caller says so).
    let options = VerifyOptions {
        tsa_roots: None,
        ..fx.options()
    };
    assert!(
        verify_report(&missing.to_jcs(), &options)
            .unwrap()
            .timestamp()
            .is_none()
    );

    let mut flipped = report.clone();
    let mut bad = token.clone();
    let last = bad.len() - 40;
    bad[last] ^= 1;
    flipped.timestamp_token = Some(b64::encode(&bad));
    assert_eq!(reason(fx.verify(&flipped)), Reason::TimestampInvalid);

    let mut garbage = report.clone();
    garbage.timestamp_token = Some(b64::encode(b"not a token"));
    assert_eq!(reason(fx.verify(&garbage)), Reason::TimestampInvalid);

    let mut other_report = report.clone();
    other_report.timestamp_token = Some(b64::encode(&fx.token(&[9; 32], T0 + 605)));
    assert_eq!(
        reason(fx.verify(&other_report)),
        Reason::TimestampImprintMismatch
    );

    let digest = cphar_report::timestamp_imprint(&report);
    for gen_time in [T0 + 599, T0 + 600 + 601] {
        let mut late = report.clone();
        late.timestamp_token = Some(b64::encode(&fx.token(&digest, gen_time)));
        assert_eq!(
            reason(fx.verify(&late)),
            Reason::TimestampOutsideWindow,
            "{gen_time}"
        );
    }
    // A token from a TSA that does not chain to the given root.
    let rogue = Fx::new();
    let mut foreign = report.clone();
    foreign.timestamp_token = Some(b64::encode(&rogue.token(&digest, T0 + 605)));
    let err = fx.verify(&foreign).unwrap_err();
    assert_eq!(err.reason, Reason::TimestampInvalid);
    assert!(err.detail.contains("untrusted_signer"), "{}", err.detail);
}

#[test]
fn tampering_with_any_leaf_field_is_caught() {
    let fx = Fx::new();
    let (lots, _, report) = fixture_report(&fx);
    let verified = fx.verify(&report).unwrap();
    let cases: &[(&str, Value, Reason)] = &[
        ("commodity", json!("platinum"), Reason::TotalsMismatch),
        ("unit", json!("g"), Reason::TotalsMismatch),
        ("quantity", json!("10.001"), Reason::TotalsMismatch),
        ("quantity", json!("-10"), Reason::LeafInvalid),
        ("quantity", json!("1e1"), Reason::LeafInvalid),
        ("quantity", json!(10), Reason::LeafInvalid),
        ("grade", json!("B"), Reason::SumRootMismatch),
        ("sealUid", json!("SEAL-X"), Reason::SumRootMismatch),
        ("didVersionId", json!("9"), Reason::SumRootMismatch),
        ("didVersionId", json!("09"), Reason::LeafInvalid),
        (
            "didDocumentHash",
            json!(hash_of(999)),
            Reason::SumRootMismatch,
        ),
        ("didDocumentHash", json!("sha256:00"), Reason::LeafInvalid),
        ("lastAttestation", Value::Null, Reason::SumRootMismatch),
        ("lotId", json!("LOT-000002a"), Reason::SumRootMismatch),
        ("lotId", json!("LOT-000009"), Reason::LeavesNotSorted),
        ("lotId", json!("LOT 2"), Reason::LeafInvalid),
    ];
    for (field, new, want) in cases {
        let mut values: Vec<Value> = lots.iter().map(|l| l.to_json()).collect();
        values[2][*field] = new.clone();
        let got = values
            .iter()
            .enumerate()
            .map(|(i, v)| parse_leaf(&serde_json::to_vec(v).unwrap(), i as u64))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|parsed| verify_leaves(&verified, parsed));
        assert_eq!(reason(got), *want, "{field} = {new}");
    }
    let mut values: Vec<Value> = lots.iter().map(|l| l.to_json()).collect();
    values[3]["lastAttestation"]["hash"] = json!(hash_of(5));
    let parsed: Vec<_> = values
        .iter()
        .map(|v| parse_leaf(&serde_json::to_vec(v).unwrap(), 0).unwrap())
        .collect();
    assert_eq!(
        reason(verify_leaves(&verified, parsed)),
        Reason::SumRootMismatch
    );
    // Reordered, dropped, duplicated, added.
    let mut swapped = lots.clone();
    swapped.swap(0, 1);
    assert_eq!(
        reason(verify_leaves(&verified, swapped)),
        Reason::LeavesNotSorted
    );
    assert_eq!(
        reason(verify_leaves(&verified, lots[1..].to_vec())),
        Reason::LotCountMismatch
    );
    let mut dup = lots.clone();
    dup.insert(1, lots[0].clone());
    assert_eq!(
        reason(verify_leaves(&verified, dup)),
        Reason::LeavesNotSorted
    );
    let mut extra = lots.clone();
    let mut new = leaf(3);
    new.lot_id = "LOT-000003a".into();
    new.commodity = "gold".into();
    new.unit = "kg".into();
    new.quantity = "0".into();
    extra.insert(4, new);
    assert_eq!(
        reason(verify_leaves(&verified, extra)),
        Reason::LotCountMismatch
    );
    // Not I-JSON, unknown member.
    assert_eq!(
        reason(parse_leaf(b"{\"lotId\":\"A\",\"lotId\":\"B\"}", 0)),
        Reason::LeafInvalid
    );
    let mut v = lots[0].to_json();
    v["extra"] = json!(1);
    assert_eq!(
        reason(parse_leaf(&serde_json::to_vec(&v).unwrap(), 0)),
        Reason::LeafInvalid
    );
}

#[test]
fn tampering_with_any_proof_field_is_caught() {
    let fx = Fx::new();
    let (lots, _, report) = fixture_report(&fx);
    let verified = fx.verify(&report).unwrap();
    let t = tree(&lots);
    let inclusion = t.prove(2, &lots[5].lot_id).unwrap().to_json();
    let cases: &[(&str, Value, Reason)] = &[
        ("/format", json!("x"), Reason::ProofMalformed),
        ("/kind", json!("x"), Reason::ProofMalformed),
        ("/reportNumber", json!(1), Reason::ProofReportMismatch),
        (
            "/inclusion/treeSize",
            json!(12),
            Reason::ProofReportMismatch,
        ),
        (
            "/inclusion/leafIndex",
            json!(4),
            Reason::ProofAuditPathInvalid,
        ),
        (
            "/inclusion/leafIndex",
            json!(99),
            Reason::ProofAuditPathInvalid,
        ),
        (
            "/inclusion/leaf/quantity",
            json!("99"),
            Reason::ProofAuditPathInvalid,
        ),
        (
            "/inclusion/leaf/grade",
            json!("B"),
            Reason::ProofAuditPathInvalid,
        ),
        (
            "/inclusion/leaf/quantity",
            json!("-1"),
            Reason::ProofLeafInvalid,
        ),
        (
            "/inclusion/auditPath/0",
            json!("33".repeat(32)),
            Reason::ProofAuditPathInvalid,
        ),
        (
            "/inclusion/auditPath/2",
            json!("33".repeat(32)),
            Reason::ProofAuditPathInvalid,
        ),
        (
            "/inclusion/auditPath/0",
            json!("zz"),
            Reason::ProofMalformed,
        ),
        (
            "/inclusion/sumPath/0/hash",
            json!("33".repeat(32)),
            Reason::ProofSumPathInvalid,
        ),
        (
            "/inclusion/sumPath/1/sums/0/quantity",
            json!("1"),
            Reason::ProofSumPathInvalid,
        ),
        (
            "/inclusion/sumPath/2/sums/0/quantity",
            json!("1"),
            Reason::ProofSumPathInvalid,
        ),
        (
            "/inclusion/sumPath/1/sums/0/commodity",
            json!("platinum"),
            Reason::ProofSumPathInvalid,
        ),
        (
            "/inclusion/sumPath/1/sums/0/quantity",
            json!("1.0"),
            Reason::ProofMalformed,
        ),
        (
            "/inclusion/sumPath/1/sums",
            json!([]),
            Reason::ProofSumPathInvalid,
        ),
        ("/inclusion/sumPath", json!([]), Reason::ProofSumPathInvalid),
    ];
    let check = |value: &Value| {
        Proof::from_json_bytes(&serde_json::to_vec(value).unwrap())
            .and_then(|p| verify_proof(&verified, &p, None))
    };
    assert!(check(&inclusion).is_ok());
    for (path, new, want) in cases {
        let mut value = inclusion.clone();
        set(&mut value, path, new.clone());
        assert_eq!(reason(check(&value)), *want, "{path} = {new}");
    }
    // An extra sibling on either path.
    let mut value = inclusion.clone();
    value["inclusion"]["auditPath"]
        .as_array_mut()
        .unwrap()
        .push(json!("44".repeat(32)));
    assert_eq!(reason(check(&value)), Reason::ProofAuditPathInvalid);
    // The proof of one lot offered for another.
    let p = Proof::from_json_bytes(&serde_json::to_vec(&inclusion).unwrap()).unwrap();
    assert_eq!(
        reason(verify_proof(&verified, &p, Some("LOT-000001"))),
        Reason::ProofLotMismatch
    );

    // Non-inclusion of the departed lot.
    let absent = t.prove(2, "LOT-000004").unwrap().to_json();
    assert!(check(&absent).is_ok());
    let right_of_next = t.prove(2, "LOT-000006").unwrap().to_json()["inclusion"].clone();
    let first = t.prove(2, "LOT-000000").unwrap().to_json()["inclusion"].clone();
    let cases: &[(&str, Value, Reason)] = &[
        ("/lotId", json!("LOT-000003"), Reason::ProofLotNotBetween),
        ("/lotId", json!("LOT-000005"), Reason::ProofLotNotBetween),
        ("/lotId", json!("LOT-000007"), Reason::ProofLotNotBetween),
        ("/right", right_of_next, Reason::ProofNotAdjacent),
        ("/left", Value::Null, Reason::ProofNotAdjacent),
        ("/right", Value::Null, Reason::ProofNotAdjacent),
        ("/left", first, Reason::ProofNotAdjacent),
        ("/left/leafIndex", json!(4), Reason::ProofNotAdjacent),
        (
            "/right/leaf/lotId",
            json!("LOT-000003b"),
            Reason::ProofLotNotBetween,
        ),
        (
            "/right/leaf/sealUid",
            json!("SEAL-0"),
            Reason::ProofAuditPathInvalid,
        ),
        (
            "/left/sumPath/0/hash",
            json!("55".repeat(32)),
            Reason::ProofSumPathInvalid,
        ),
        ("/reportNumber", json!(1), Reason::ProofReportMismatch),
    ];
    for (path, new, want) in cases {
        let mut value = absent.clone();
        set(&mut value, path, new.clone());
        assert_eq!(reason(check(&value)), *want, "{path} = {new}");
    }
    // Both indices shifted together: adjacency holds but the paths no longer do.
    let mut value = absent.clone();
    set(&mut value, "/left/leafIndex", json!(4));
    set(&mut value, "/right/leafIndex", json!(5));
    assert_eq!(reason(check(&value)), Reason::ProofAuditPathInvalid);
    // Edges: before the first and after the last leaf.
    for (lot, side) in [("A", "right"), ("Z", "left")] {
        let value = t.prove(2, lot).unwrap().to_json();
        assert!(value[if side == "left" { "right" } else { "left" }].is_null());
        assert!(check(&value).is_ok(), "{lot}");
    }
}

#[test]
fn every_reason_code_is_unique_and_snake_case() {
    let mut seen = std::collections::HashSet::new();
    for r in Reason::ALL {
        assert!(seen.insert(r.code()), "{}", r.code());
        assert!(
            r.code()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
        );
    }
}

/// Past 256 leaves the proof server answers from cached perfect subtrees: its proofs must still
/// lead to the roots the streaming builder computed.
#[test]
fn proofs_from_cached_subtrees_verify() {
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    let lots = leaves(1300);
    let report = cphar_report::build_report(snapshot(&lots, vec![]), None, &key, ts(T0)).unwrap();
    let public = key.verifying_key();
    let options = VerifyOptions {
        report_key: &public,
        tsa_roots: None,
        now: unix(T0),
    };
    let verified = verify_report(&report.to_jcs(), &options).unwrap();
    let t = tree(&lots);
    for i in [
        0, 1, 255, 256, 257, 511, 512, 767, 1023, 1024, 1025, 1279, 1280, 1299,
    ] {
        let proof = t.prove(1, &lots[i].lot_id).unwrap();
        assert!(
            matches!(
                verify_proof(&verified, &proof, None).unwrap(),
                ProofOutcome::Included(_)
            ),
            "{i}"
        );
    }
    let proof = t.prove(1, "LOT-000511a").unwrap();
    assert_eq!(
        verify_proof(&verified, &proof, None).unwrap(),
        ProofOutcome::Absent("LOT-000511a".into())
    );
}
