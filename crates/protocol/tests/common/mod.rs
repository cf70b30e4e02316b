//! A scenario builder for verification tests: one seal, one object DID document, one
//! challenge, everything real (real keys, real signatures), with hooks to break one thing.
#![allow(dead_code)]

use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::did::{MethodSpec, PbacSupport, document_json};
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{
    Bal, ChallengeParams, ChallengeRequest, ChallengeResponse, DidDocument, Outcome,
    ResponseTiming, TFP_1, Timestamp, VerifierPolicy, verify,
};
use serde_json::{Map, Value, json};

pub const DID: &str = "did:web:reg.example:lots:LOT-7";
pub const VERIFIER: &str = "did:web:verifier.example";
pub const PVS: &str = "did:web:pvs.example";

pub fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

pub fn t0() -> Timestamp {
    t("2026-11-23T10:00:00Z")
}

pub fn method_id(n: u32) -> String {
    format!("{DID}#seal-{n}")
}

/// A binding method for `key` at `bal` under TFP-1.
pub fn spec(n: u32, key: &SigningKey, bal: Bal) -> MethodSpec {
    MethodSpec {
        id: method_id(n),
        controller: DID.into(),
        jwk: key.verifying_key().to_jwk(),
        bal,
        tfp: Some(TFP_1.into()),
        revoked: None,
        pid: bal.requires_pid().then(pid),
        pbac: None,
        profile_c_risk_acceptance: None,
        status_signature: false,
        max_attestation_interval_seconds: None,
    }
}

/// The Appendix A example PID (required members only).
pub fn pid() -> Value {
    json!({
        "pidVersion": "1.0",
        "pufConstruction": "SRAM-PUF",
        "challengeConstruction": {"algorithm": "sha256", "inputFormat": "utf8-string"},
        "helperData": {
            "uri": "https://vendor.example/helper-data/device123.bin",
            "hash": {"algorithm": "sha256",
                     "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
            "format": "bch-params"
        },
        "fuzzyExtractor": {"algorithm": "BCH"},
        "pufStatistics": {
            "interDeviceHD": {"mean": 0.49},
            "intraDeviceHD": {"mean": 0.04},
            "sampleSize": 5000
        }
    })
}

pub struct Scenario {
    pub seal_key: SigningKey,
    pub methods: Vec<MethodSpec>,
    /// Which method the seal answers as.
    pub seal_method: String,
    pub seal_bal: Bal,
    pub version: u64,
    pub params: ChallengeParams,
    /// Extra members added to the request before it is signed (unknown fields).
    pub request_extra: Map<String, Value>,
    pub device_time: Timestamp,
    pub now: Timestamp,
    pub policy: VerifierPolicy,
    pub timing: Option<ResponseTiming>,
}

impl Scenario {
    pub fn new(alg: Algorithm) -> Self {
        let seal_key = SigningKey::generate(alg).unwrap();
        let methods = vec![spec(1, &seal_key, Bal::Bal2)];
        Scenario {
            seal_key,
            methods,
            seal_method: method_id(1),
            seal_bal: Bal::Bal2,
            version: 1,
            params: ChallengeParams {
                did: DID.into(),
                did_version: None,
                nonce: vec![0x42; 32],
                timestamp: t0(),
                verifier: VERIFIER.into(),
                min_bal: None,
                request_pbac: None,
            },
            request_extra: Map::new(),
            device_time: t("2026-11-23T10:00:01Z"),
            now: t("2026-11-23T10:00:02Z"),
            policy: VerifierPolicy::default(),
            timing: None,
        }
    }

    pub fn ed25519() -> Self {
        Self::new(Algorithm::Ed25519)
    }

    pub fn document_value(&self) -> Value {
        document_json(DID, self.version, &self.methods)
    }

    pub fn document(&self) -> DidDocument {
        DidDocument::from_value(self.document_value()).unwrap()
    }

    pub fn request(&self) -> ChallengeRequest {
        let issued = ChallengeRequest::issue(self.params.clone()).unwrap();
        if self.request_extra.is_empty() {
            return issued;
        }
        let mut raw = issued.raw().as_object().unwrap().clone();
        raw.extend(self.request_extra.clone());
        ChallengeRequest::from_value(Value::Object(raw)).unwrap()
    }

    /// The seal's honest answer, as a JSON object to tamper with. CPHAR's seal refuses
    /// requests with unknown members; for those this answers as a seal following seed 002
    /// alone would (signing `JCS(request as received)`, no status signature).
    pub fn response_object(&self, request: &ChallengeRequest) -> Map<String, Value> {
        let key = SigningKey::from_pkcs8_pem(&self.seal_key.to_pkcs8_pem().unwrap()).unwrap();
        let seal = SoftwareSeal::new(key, self.seal_method.clone(), self.seal_bal);
        if request.first_unknown_member().is_none() {
            let response = seal.respond(request, self.device_time).unwrap();
            return response.raw().as_object().unwrap().clone();
        }
        let plain = ChallengeRequest::issue(ChallengeParams {
            did: request.did().to_owned(),
            ..self.params.clone()
        })
        .unwrap();
        let mut obj = seal
            .respond(&plain, self.device_time)
            .unwrap()
            .raw()
            .as_object()
            .unwrap()
            .clone();
        obj.remove("statusSignature");
        let sig = self.seal_key.sign(request.canonical_bytes()).unwrap();
        obj.insert(
            "signature".into(),
            Value::String(cphar_crypto::b64::encode(&sig)),
        );
        obj
    }

    pub fn run(&self) -> Outcome {
        self.run_with(|_, _| {})
    }

    /// Runs with a hook that may alter the response object (the request is given for context).
    pub fn run_with(
        &self,
        tamper: impl FnOnce(&ChallengeRequest, &mut Map<String, Value>),
    ) -> Outcome {
        let request = self.request();
        let mut obj = self.response_object(&request);
        tamper(&request, &mut obj);
        let response = ChallengeResponse::from_value(Value::Object(obj)).unwrap();
        verify(
            &request,
            &response,
            &self.document(),
            &self.policy,
            self.now,
            self.timing,
        )
    }
}

/// Asserts result, detail.
#[track_caller]
pub fn assert_outcome(o: &Outcome, result: &str, detail: Option<&str>) {
    assert_eq!(
        (o.result.as_str(), o.detail),
        (result, detail),
        "explanation: {:?}",
        o.explanation
    );
}

/// Adds PBAC support designating `PVS` to a method.
pub fn with_pbac(mut m: MethodSpec) -> MethodSpec {
    m.pbac = Some(PbacSupport {
        pvs_did: PVS.into(),
        ck_hash: cphar_crypto::sha256(b"channel key").to_vec(),
    });
    m
}
