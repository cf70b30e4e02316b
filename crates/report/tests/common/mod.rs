//! Shared fixtures: a report key, the project's own dev TSA, leaves, and helpers that tamper
//! with JSON and re-sign (to reach the checks behind the signature).
#![allow(dead_code)]

use std::cell::Cell;
use std::collections::BTreeMap;

use cphar_crypto::{Algorithm, SigningKey, b64};
use cphar_protocol::Timestamp;
use cphar_report::{
    Departure, LastAttestation, LotLeaf, PolicyRef, Report, Snapshot, SumTree, VerifiedReport,
    VerifyError, VerifyOptions, build_report, signature_input, timestamp_imprint, verify_report,
};
use cphar_tsa::{
    DevChainParams, DevTsaChain, HashAlg, MessageImprint, Oid, TrustAnchors, TsaConfig, TsaSigner,
    UnixTime, dev_tsa_chain, make_request, parse_response,
};
use serde_json::Value;

/// The tests' base instant (2026-09-21T…Z).
pub const T0: i64 = 1_790_000_000;

pub fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

pub fn unix(secs: i64) -> UnixTime {
    UnixTime::from_secs(secs as u64).unwrap()
}

pub fn tsa_for(chain: &DevTsaChain) -> TsaSigner {
    let mut config = TsaConfig::new(
        vec![chain.leaf_der().to_vec()],
        Oid::parse("1.3.6.1.4.1.99999.12.1").unwrap(),
    );
    config.enforce_monotonic = false;
    TsaSigner::new(&chain.key_pkcs8_der, config).unwrap()
}

pub fn dev_chain() -> DevTsaChain {
    dev_tsa_chain(&DevChainParams {
        algorithm: Algorithm::EcdsaP256Sha256,
        organization: "CPHAR Report Test",
        not_before: unix(T0 - 86_400),
        not_after: unix(T0 + 30 * 86_400),
    })
    .unwrap()
}

pub struct Fx {
    pub key: SigningKey,
    pub chain: DevTsaChain,
    pub tsa: TsaSigner,
    pub anchors: TrustAnchors,
    serial: Cell<u128>,
}

impl Fx {
    pub fn new() -> Self {
        Self::with_key(SigningKey::generate(Algorithm::Ed25519).unwrap())
    }

    pub fn with_key(key: SigningKey) -> Self {
        let chain = dev_chain();
        let tsa = tsa_for(&chain);
        let anchors = TrustAnchors::from_der(&[chain.root_der()]).unwrap();
        Fx {
            key,
            chain,
            tsa,
            anchors,
            serial: Cell::new(1),
        }
    }

    /// A bare TimeStampToken over `digest` from this fixture's TSA at `gen_time`.
    pub fn token(&self, digest: &[u8; 32], gen_time: i64) -> Vec<u8> {
        let imprint = MessageImprint::from_digest(HashAlg::Sha256, digest).unwrap();
        let request = make_request(&imprint, None, true, None).unwrap();
        let serial = self.serial.get();
        self.serial.set(serial + 1);
        let response = self.tsa.issue(&request, serial, unix(gen_time));
        parse_response(&response).unwrap().token.unwrap()
    }

    pub fn stamp(&self, report: Report, gen_time: i64) -> Report {
        let token = self.token(&timestamp_imprint(&report), gen_time);
        report.with_timestamp(&token)
    }

    pub fn options(&self) -> VerifyOptions<'_> {
        VerifyOptions {
            report_key: Box::leak(Box::new(self.key.verifying_key())),
            tsa_roots: Some(&self.anchors),
            now: unix(T0 + 86_400),
        }
    }

    /// Builds report at `now` over `leaves` after `previous`, stamped 5 s later.
    pub fn report(
        &self,
        leaves: &[LotLeaf],
        departed: Vec<Departure>,
        previous: Option<&VerifiedReport>,
        now: i64,
    ) -> Report {
        let report =
            build_report(snapshot(leaves, departed), previous, &self.key, ts(now)).unwrap();
        self.stamp(report, now + 5)
    }

    pub fn verify(&self, report: &Report) -> Result<VerifiedReport, VerifyError> {
        verify_report(&report.to_jcs(), &self.options())
    }

    /// Applies `edit` to the report's JSON, re-signs it with the real key and re-stamps it:
    /// a registry that signs wrong content.
    pub fn resign(&self, report: &Report, edit: impl FnOnce(&mut Value)) -> Report {
        let mut value = report.to_value();
        edit(&mut value);
        value.as_object_mut().unwrap().remove("timestampToken");
        let mut changed: Report = serde_json::from_value(value).unwrap();
        changed.signature = b64::encode(
            &self
                .key
                .sign(&signature_input(&changed.to_value()))
                .unwrap(),
        );
        let gen_time = Timestamp::parse(&changed.generated_at)
            .unwrap()
            .unix_seconds();
        self.stamp(changed, gen_time + 5)
    }
}

pub fn snapshot(leaves: &[LotLeaf], departed: Vec<Departure>) -> Snapshot<Vec<LotLeaf>> {
    Snapshot {
        leaves: leaves.to_vec(),
        lot_counts_by_state: BTreeMap::from([
            ("bound".to_owned(), leaves.len() as u64 + 2),
            ("unsealed".to_owned(), 1),
        ]),
        policy: PolicyRef {
            id: "reserve-policy".into(),
            version: 3,
        },
        departed,
        timestamp_grace: time::Duration::minutes(10),
    }
}

pub fn hash_of(tag: u64) -> String {
    format!(
        "sha256:{}",
        cphar_crypto::hex(&cphar_crypto::sha256(&tag.to_be_bytes()))
    )
}

pub fn leaf(i: u64) -> LotLeaf {
    let (commodity, unit) = match i % 3 {
        0 => ("gold", "kg"),
        1 => ("silver", "kg"),
        _ => ("wheat", "t"),
    };
    LotLeaf {
        lot_id: format!("LOT-{i:06}"),
        commodity: commodity.into(),
        grade: "standard \"A\"".into(),
        quantity: format!("{}.{:03}", 10 + i % 17, i % 1000),
        unit: unit.into(),
        seal_uid: format!("SEAL-{i}"),
        did_version_id: 1 + i % 4,
        did_document_hash: hash_of(i),
        last_attestation: (!i.is_multiple_of(5)).then(|| LastAttestation {
            at: ts(T0 - 3600 + i as i64).to_string(),
            hash: hash_of(i + 1_000_000),
        }),
    }
}

pub fn leaves(n: u64) -> Vec<LotLeaf> {
    (0..n).map(leaf).collect()
}

pub fn tree(leaves: &[LotLeaf]) -> SumTree {
    SumTree::new(leaves.to_vec()).unwrap()
}

/// Replaces the JSON value at a `/`-separated path (array indices as numbers).
pub fn set(value: &mut Value, path: &str, new: Value) {
    *value
        .pointer_mut(path)
        .unwrap_or_else(|| panic!("no {path}")) = new;
}
