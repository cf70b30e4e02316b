//! The simulated PUF seal end to end: enrollment, PID from measured statistics, a DID
//! document whose BAL-3 method carries the PID, and the project's verifier judging the seal's
//! answers over many noisy reads; tampered helper data caught at the seal and at the verifier.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test helpers on fixed test data

use cphar_protocol::did::{MethodSpec, document_json};
use cphar_protocol::{
    Bal, ChallengeParams, ChallengeRequest, DidDocument, TFP_1, Timestamp, VerifierPolicy, verify,
};
use cphar_puf::characterize::{self, Config};
use cphar_puf::extractor::HELPER_LEN;
use cphar_puf::{FuzzyExtractor, HelperData, PufDevice, PufError, PufSeal, PufSealError, pid};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

const DID: &str = "did:web:reg.example:lots:LOT-PUF";
const METHOD: &str = "did:web:reg.example:lots:LOT-PUF#seal-1";
const HELPER_URI: &str = "https://reg.example/helper-data/LOT-PUF.bin";

struct Fixture {
    device: PufDevice,
    document: DidDocument,
    helper_bytes: Vec<u8>,
    pid: Value,
}

fn statistics() -> Value {
    // A small run keeps the test fast; the PID takes whatever was measured.
    characterize::run(Config {
        devices: 40,
        reads: 5,
        ..Config::default()
    })
    .unwrap()
    .to_json()
}

fn fixture(seed: u8) -> Fixture {
    let extractor = FuzzyExtractor::new().unwrap();
    let mut rng = StdRng::seed_from_u64(u64::from(seed));
    let (device, public) = PufDevice::enroll([seed; 32], 0.03, &extractor, &mut rng).unwrap();
    let pid = pid::build(device.helper_data(), HELPER_URI, &extractor, &statistics()).unwrap();
    let spec = MethodSpec {
        id: METHOD.into(),
        controller: DID.into(),
        jwk: public.to_jwk(),
        bal: Bal::Bal3,
        tfp: Some(TFP_1.into()),
        revoked: None,
        pid: Some(pid.clone()),
        pbac: None,
        profile_c_risk_acceptance: None,
        status_signature: true,
        max_attestation_interval_seconds: None,
    };
    let document = DidDocument::from_value(document_json(DID, 1, &[spec])).unwrap();
    Fixture {
        helper_bytes: device.helper_data().to_bytes(),
        device,
        document,
        pid,
    }
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn request(nonce_byte: u8) -> ChallengeRequest {
    ChallengeRequest::issue(ChallengeParams {
        did: DID.into(),
        did_version: None,
        nonce: vec![nonce_byte; 32],
        timestamp: t("2026-11-23T10:00:00Z"),
        verifier: "did:web:verifier.example".into(),
        min_bal: Some(Bal::Bal3),
        request_pbac: None,
    })
    .unwrap()
}

fn policy_with_helper_data(bytes: &[u8]) -> VerifierPolicy {
    let mut policy = VerifierPolicy::default();
    policy
        .helper_data
        .insert(HELPER_URI.to_owned(), bytes.to_vec());
    policy
}

#[test]
fn a_puf_seal_answers_validly_across_many_noisy_reads() {
    let f = fixture(3);
    let extractor = FuzzyExtractor::new().unwrap();
    let seal = PufSeal::new(&f.device, extractor, METHOD.into(), Bal::Bal3);
    let policy = policy_with_helper_data(&f.helper_bytes);
    let mut noise = StdRng::seed_from_u64(99);
    let mut signatures = std::collections::HashSet::new();
    for i in 0..200u32 {
        let req = request(u8::try_from(i % 256).unwrap());
        let response = seal
            .respond(&req, t("2026-11-23T10:00:01Z"), &mut noise)
            .unwrap();
        let outcome = verify(
            &req,
            &response,
            &f.document,
            &policy,
            t("2026-11-23T10:00:02Z"),
            None,
        );
        assert_eq!(
            outcome.result.as_str(),
            "valid",
            "read {i}: {:?}",
            outcome.explanation
        );
        assert_eq!(outcome.bal, Some(Bal::Bal3));
        signatures.insert(response.raw()["signature"].as_str().unwrap().to_owned());
    }
    // Ed25519 is deterministic: the same key signed 200 distinct requests.
    assert_eq!(signatures.len(), 200);
}

#[test]
fn the_published_pid_carries_measured_statistics_and_the_helper_data_hash() {
    let f = fixture(4);
    let stats = &f.pid["pufStatistics"];
    assert_eq!(stats["sampleSize"], 40);
    let inter = stats["interDeviceHD"]["mean"].as_f64().unwrap();
    let intra = stats["intraDeviceHD"]["mean"].as_f64().unwrap();
    assert!((inter - 0.5).abs() < 0.02, "{inter}");
    assert!(intra > 0.0 && intra < 0.05, "{intra}");
    assert_eq!(
        f.pid["helperData"]["hash"]["value"],
        cphar_crypto::hex(&cphar_crypto::sha256(&f.helper_bytes))
    );
    assert_eq!(
        f.pid["fuzzyExtractor"]["parameters"]["errorCorrectionCapability"],
        106
    );
}

#[test]
fn one_tampered_byte_of_helper_data_is_refused_by_the_seal() {
    let f = fixture(5);
    let extractor = FuzzyExtractor::new().unwrap();
    let mut noise = StdRng::seed_from_u64(7);
    // Every region: salt, offset (several places) and tag. Header bytes are format errors.
    for (pos, bit) in [
        (12usize, 1u8),
        (44, 1),
        (100, 0x40),
        (171, 0x04),
        (HELPER_LEN - 1, 0x80),
    ] {
        let mut bytes = f.helper_bytes.clone();
        bytes[pos] ^= bit;
        let helper = HelperData::from_bytes(&bytes).unwrap();
        let device = f.device.clone().with_helper_data(helper);
        let seal = PufSeal::new(&device, extractor.clone(), METHOD.into(), Bal::Bal3);
        let err = seal
            .respond(&request(1), t("2026-11-23T10:00:01Z"), &mut noise)
            .unwrap_err();
        assert!(
            matches!(
                err,
                PufSealError::Puf(PufError::KeyCheckFailed | PufError::Uncorrectable)
            ),
            "byte {pos}: {err}"
        );
    }
    // A header byte changed is not helper data of this format at all.
    let mut bytes = f.helper_bytes.clone();
    bytes[8] ^= 1;
    assert_eq!(
        HelperData::from_bytes(&bytes),
        Err(PufError::HelperDataUnsupported)
    );
    bytes = f.helper_bytes.clone();
    bytes.push(0);
    assert_eq!(
        HelperData::from_bytes(&bytes),
        Err(PufError::HelperDataMalformed)
    );
}

#[test]
fn helper_data_not_matching_the_pid_hash_is_caught() {
    let f = fixture(6);
    let extractor = FuzzyExtractor::new().unwrap();
    let expected = hex_decode(f.pid["helperData"]["hash"]["value"].as_str().unwrap());
    let mut tampered = f.helper_bytes.clone();
    tampered[60] ^= 0x10;

    // At the device: the published hash is checked before the helper data is used.
    let device = cphar_puf::SimulatedSram::new(&[6; 32], 0.03);
    let read = device.read(&mut StdRng::seed_from_u64(1));
    assert!(
        extractor
            .reproduce_published(&read, &f.helper_bytes, &expected)
            .is_ok()
    );
    assert_eq!(
        extractor
            .reproduce_published(&read, &tampered, &expected)
            .unwrap_err(),
        PufError::HelperDataMismatch
    );

    // At the verifier: step 5 compares the retrieved helper data with the PID's hash.
    let seal = PufSeal::new(&f.device, extractor, METHOD.into(), Bal::Bal3);
    let req = request(9);
    let response = seal
        .respond(
            &req,
            t("2026-11-23T10:00:01Z"),
            &mut StdRng::seed_from_u64(2),
        )
        .unwrap();
    let outcome = verify(
        &req,
        &response,
        &f.document,
        &policy_with_helper_data(&tampered),
        t("2026-11-23T10:00:02Z"),
        None,
    );
    assert_eq!(outcome.result.as_str(), "invalid_pid");
    assert_eq!(outcome.detail, Some("helper_data_hash_mismatch"));
}

#[test]
fn another_device_with_the_same_helper_data_cannot_answer() {
    let f = fixture(8);
    let extractor = FuzzyExtractor::new().unwrap();
    let (other, _) =
        PufDevice::enroll([9; 32], 0.03, &extractor, &mut StdRng::seed_from_u64(1)).unwrap();
    // The clone: a different chip fed the victim's public helper data.
    let clone = other.with_helper_data(f.device.helper_data().clone());
    let seal = PufSeal::new(&clone, extractor, METHOD.into(), Bal::Bal3);
    let err = seal
        .respond(
            &request(1),
            t("2026-11-23T10:00:01Z"),
            &mut StdRng::seed_from_u64(3),
        )
        .unwrap_err();
    assert!(matches!(err, PufSealError::Puf(_)), "{err}");
}

#[test]
fn the_device_file_round_trips_and_is_checked() {
    let f = fixture(10);
    let text = f.device.to_json();
    let value: Value = serde_json::from_str(&text).unwrap();
    let back = PufDevice::from_json(&value).unwrap();
    assert_eq!(back.helper_data(), f.device.helper_data());
    for (member, bad) in [
        ("format", Value::from("other")),
        ("deviceSeed", Value::from("AAAA")),
        ("meanFlip", Value::from(0.7)),
        ("helperData", Value::from("AAAA")),
    ] {
        let mut v = value.clone();
        v[member] = bad;
        assert!(PufDevice::from_json(&v).is_err(), "{member}");
    }
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
