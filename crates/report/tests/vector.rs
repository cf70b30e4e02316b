//! The worked example of docs/reserve-report.md ("Test vector"): leaf bytes, leaf hashes, the
//! sums encoding and both roots of a three-leaf tree, so that an independent verifier can
//! check its hashing against fixed values.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use cphar_crypto::hex;
use cphar_report::{LastAttestation, LotLeaf, SumTree};

fn leaves() -> Vec<LotLeaf> {
    let leaf = |id: &str, commodity: &str, qty: &str, unit: &str, n: u8| LotLeaf {
        lot_id: id.into(),
        commodity: commodity.into(),
        grade: "good delivery".into(),
        quantity: qty.into(),
        unit: unit.into(),
        seal_uid: format!("SEAL-{n}"),
        did_version_id: 1,
        did_document_hash: format!("sha256:{}", hex(&[n; 32])),
        last_attestation: (n != 3).then(|| LastAttestation {
            at: "2026-11-23T10:00:00Z".into(),
            hash: format!("sha256:{}", hex(&[n + 16; 32])),
        }),
    };
    vec![
        leaf("LOT-1", "gold", "400.000", "kg", 1),
        leaf("LOT-2", "gold", "12.5", "kg", 2),
        leaf("LOT-3", "wheat", "20", "t", 3),
    ]
}

#[test]
fn the_documented_vector_holds() {
    let leaves = leaves();
    let jcs: Vec<String> = leaves
        .iter()
        .map(|l| String::from_utf8(l.to_jcs()).unwrap())
        .collect();
    let hashes: Vec<String> = leaves
        .iter()
        .map(|l| hex(&cphar_tlog::leaf_hash(&l.to_jcs())))
        .collect();
    let tree = SumTree::new(leaves).unwrap();
    let summary = tree.summary();
    let proof = tree.inclusion_proof(2).unwrap().unwrap();
    let got = format!(
        "leaf 0: {}\nleaf 2: {}\nleaf hashes: {:?}\nnode(0,1): {} {:?}\nsumRoot: {}\nrfc9162Root: {}\ntotals: {:?}",
        jcs[0],
        jcs[2],
        hashes,
        hex(&proof.sum_path[0].hash),
        proof.sum_path[0]
            .sums
            .iter()
            .map(|(k, a)| format!("{}/{}={}", k.commodity, k.unit, a))
            .collect::<Vec<_>>(),
        hex(&summary.sum_root),
        hex(&summary.rfc9162_root),
        summary
            .totals
            .iter()
            .map(|t| format!(
                "{}/{}={} ({} lots)",
                t.key.commodity, t.key.unit, t.amount, t.lots
            ))
            .collect::<Vec<_>>(),
    );
    assert_eq!(got, EXPECTED);
}

const EXPECTED: &str = r#"leaf 0: {"commodity":"gold","didDocumentHash":"sha256:0101010101010101010101010101010101010101010101010101010101010101","didVersionId":"1","grade":"good delivery","lastAttestation":{"at":"2026-11-23T10:00:00Z","hash":"sha256:1111111111111111111111111111111111111111111111111111111111111111"},"lotId":"LOT-1","quantity":"400.000","sealUid":"SEAL-1","unit":"kg"}
leaf 2: {"commodity":"wheat","didDocumentHash":"sha256:0303030303030303030303030303030303030303030303030303030303030303","didVersionId":"1","grade":"good delivery","lastAttestation":null,"lotId":"LOT-3","quantity":"20","sealUid":"SEAL-3","unit":"t"}
leaf hashes: ["c4e21f0355e2a67a84897781c56a2ab61f3853274155d6fc485eb2e87b1f8b78", "10e3e310a2ce35cde709b30c77a45469063d0a1c8f840b9244b1387402213918", "7d46c968dfeb2ffa8599f24cbb0ff29270e12d2330fb3cd91caaac1db1f7bf69"]
node(0,1): 4ddacc0f4cecdbf6301850fbfb1e9bb230a324b2a4e001d38353b7e1ddaa2fff ["gold/kg=412.5"]
sumRoot: cbe0f8d0545eb6bb7b3144cd275c6734bf19b60d312b7a27bfdb5566e2abcf27
rfc9162Root: 24e6fea14c5ed7c8781084cd6db08ef56d9b60d804fd3040534a43c319345773
totals: ["gold/kg=412.5 (2 lots)", "wheat/t=20 (1 lots)"]"#;
