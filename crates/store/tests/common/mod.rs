//! Harness of the storage conformance suite: one test body, run on SQLite and on PostgreSQL.
//!
//! * [`TestDb`] is a database a test may open (and re-open) any number of times: a fresh
//!   temporary data directory for SQLite, a fresh schema for PostgreSQL.
//! * [`Env`] is a registry over one opened store with a vendor PKI built with rcgen, a
//!   controllable clock and an Enrollment Authority key, plus helpers for the usual commands.
//! * [`conformance!`] turns `async fn name(db: TestDb)` into `sqlite::name` and
//!   `postgres::name` tests.
//!
//! PostgreSQL: the server URL comes from `CPHAR_TEST_DATABASE_URL`; each test creates the schema
//! `t_<random hex>`, points the store at it with the `options=-c search_path=…` URL parameter
//! (honoured by sqlx's `PgConnectOptions`) and drops it afterwards. Without the variable the
//! PostgreSQL tests are skipped loudly, or fail when `CI=true`.

// Helpers on fixed test data; a panic here is a test failure, which is what we want.
#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cphar_crypto::{Algorithm, SigningKey, VerifyingKey};
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{
    Bal, ChallengeParams, ChallengeRequest, DeviceStatus, DidDocument, Outcome, ResultCode,
    Timestamp, VerifierPolicy,
};
use cphar_registry::attest::{
    Answer, AttestationDecision, AttestationRecord, AttestationSettings, ChallengeOrder,
};
use cphar_registry::decide::{RecordCustody, RecordInspection, RegisterSeal};
use cphar_registry::model::{Evidence, Quantity, TamperEvidence};
use cphar_registry::{
    BindingRecord, Clock, LotRecord, Registry, RegistryError, RegistryNames, SealRecord,
    StoredEvent,
};
use cphar_store::AnyStore;
use cphar_vendor::{FirmwareMeasurement, FirmwareRule, VendorRegistry, VendorTrust};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber, SignatureAlgorithm,
};
use serde_json::{Value, json};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use time::macros::datetime;

pub const HOST: &str = "reg.example";
pub const VENDOR: &str = "acme-seals";
pub const DEVICE_TYPE: &str = "seal-x1";
pub const HW_REV: &str = "B";
pub const VERIFIER: &str = "did:web:verifier.example";

pub const VENDOR_OPS: &str = "vendor-ops";
pub const INSPECTOR: &str = "inspector-1";
pub const OPERATOR: &str = "operator-1";
pub const AUDITOR: &str = "auditor-1";

/// The environment variable naming the PostgreSQL server of the suite.
pub const PG_URL_VAR: &str = "CPHAR_TEST_DATABASE_URL";

/// 2026-06-01T00:00:00Z: inside the validity of every certificate below.
pub fn start_time() -> Timestamp {
    Timestamp::parse("2026-06-01T00:00:00Z").unwrap()
}

pub fn firmware() -> String {
    format!("sha256:{}", "a1".repeat(32))
}

pub fn other_firmware() -> String {
    format!("sha256:{}", "b2".repeat(32))
}

pub fn evidence_hash() -> String {
    format!("sha256:{}", "c3".repeat(32))
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

pub fn random_hex<const N: usize>() -> String {
    cphar_crypto::random_bytes::<N>()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Databases

/// A database a test can open, close and re-open.
#[derive(Clone, Debug)]
pub enum TestDb {
    /// A SQLite data directory.
    Sqlite(PathBuf),
    /// A PostgreSQL URL whose connections use a schema of their own.
    Postgres { url: String, schema: String },
}

/// Opens an audit epoch with a fresh P-384 audit key.
pub async fn open_epoch(store: &AnyStore) -> u64 {
    let audit_key = SigningKey::generate(Algorithm::EcdsaP384Sha384).unwrap();
    let start = cphar_audit::EpochStart {
        self_tests: serde_json::json!({"passed": true, "suite": "conformance tests"}),
        binary_measurement: None,
        // The suite runs on a test clock from `start_time()`: the log never goes back in time.
        started_at: start_time(),
    };
    store
        .open_epoch(cphar_store::EpochJob {
            audit_key: Box::new(audit_key),
            identity: Arc::new(identity_key()),
            start,
        })
        .await
        .unwrap()
}

/// The registry identity key of every test (deterministic: every epoch of a test log is
/// countersigned by the same identity).
pub fn identity_key() -> SigningKey {
    SigningKey::from_ed25519_seed(&[7u8; 32]).unwrap()
}

impl TestDb {
    /// Opens (and migrates) the store and opens an audit epoch in it, as a process does.
    pub async fn open(&self) -> AnyStore {
        let store = self.open_plain().await;
        open_epoch(&store).await;
        store
    }

    /// Opens (and migrates) the store without an audit epoch: reads only.
    pub async fn open_plain(&self) -> AnyStore {
        match self {
            TestDb::Sqlite(dir) => AnyStore::open_data_dir(dir).await.unwrap(),
            TestDb::Postgres { url, .. } => AnyStore::open(url).await.unwrap(),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            TestDb::Sqlite(_) => "sqlite",
            TestDb::Postgres { .. } => "postgres",
        }
    }
}

/// Runs `test` on a fresh SQLite data directory.
pub async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::Sqlite(dir.path().join("data"));
    let outcome = tokio::spawn(test(db)).await;
    drop(dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs `test` in a fresh schema of the PostgreSQL server named by `CPHAR_TEST_DATABASE_URL`,
/// dropping the schema afterwards (best effort).
pub async fn run_postgres<F, Fut>(name: &str, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base = match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            cphar_testdata::skip(&format!(
                "postgres::{name}: {PG_URL_VAR} is not set (scripts/test starts a throwaway \
                 PostgreSQL and sets it)"
            ));
            return;
        }
    };
    let schema = format!("t_{}", random_hex::<8>());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_VAR}: {e}"));
    // The schema name is `t_` + hex: nothing to inject.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let db = TestDb::Postgres {
        url,
        schema: schema.clone(),
    };
    let outcome = tokio::spawn(test(db)).await;
    // Best effort: a failure to drop leaves a schema behind, never fails the test.
    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&admin)
    .await
    {
        eprintln!("warning: could not drop schema {schema}: {e}");
    }
    admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// `conformance!(a, b, …)` generates `sqlite::a`, `postgres::a`, … from `async fn a(db: TestDb)`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::run_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::run_postgres(stringify!($name), super::$name).await;
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Clock

/// A clock the test moves by hand.
pub struct TestClock {
    now: Mutex<Timestamp>,
}

impl TestClock {
    pub fn new(at: Timestamp) -> Self {
        TestClock {
            now: Mutex::new(at),
        }
    }

    pub fn advance(&self, d: time::Duration) {
        let mut now = self.now.lock().unwrap();
        *now = now.checked_add(d).unwrap();
    }
}

impl Clock for TestClock {
    fn now(&self) -> Result<Timestamp, cphar_registry::Refusal> {
        Ok(*self.now.lock().unwrap())
    }
}

// ---------------------------------------------------------------------------------------------
// Vendor PKI (rcgen)

/// A certificate with its key and parameters (to issue under it).
pub struct Node {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub der: Vec<u8>,
    pub pem: String,
}

impl Node {
    pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Acme Seals");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = datetime!(2024-01-01 0:00 UTC);
    p.not_after = datetime!(2034-01-01 0:00 UTC);
    p
}

fn leaf_params(cn: &str, serial: &[u8]) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.serial_number = Some(SerialNumber::from_slice(serial));
    p.not_before = datetime!(2025-01-01 0:00 UTC);
    p.not_after = datetime!(2030-01-01 0:00 UTC);
    p
}

fn self_signed(params: CertificateParams, key: KeyPair) -> Node {
    let cert = params.self_signed(&key).unwrap();
    Node {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        key,
    }
}

fn issue(params: CertificateParams, key: KeyPair, issuer: &Node) -> Node {
    let cert = params.signed_by(&key, &issuer.issuer()).unwrap();
    Node {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        params,
        key,
    }
}

/// A vendor root (P-384) and device CA (P-256).
pub struct Pki {
    pub root: Node,
    pub inter: Node,
}

impl Pki {
    pub fn new(label: &str) -> Self {
        let root = self_signed(
            ca_params(&format!("{label} Root CA")),
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap(),
        );
        let inter = issue(
            ca_params(&format!("{label} Device CA")),
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
            &root,
        );
        Pki { root, inter }
    }

    /// A device certificate for a fresh seal key; the seal key *is* the leaf key.
    pub fn device(&self, alg: Algorithm, serial: &[u8]) -> Device {
        let rc_alg: &'static SignatureAlgorithm = match alg {
            Algorithm::Ed25519 => &rcgen::PKCS_ED25519,
            Algorithm::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Algorithm::EcdsaP384Sha384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            other => panic!("no seal key of type {other:?}"),
        };
        let key = KeyPair::generate_for(rc_alg).unwrap();
        let pkcs8 = key.serialize_der();
        let signing = SigningKey::from_pkcs8_der(&pkcs8).unwrap();
        let jwk = signing.verifying_key().to_jwk().to_json();
        let cn = format!("seal {}", random_hex::<4>());
        let leaf = issue(leaf_params(&cn, serial), key, &self.inter);
        Device {
            pkcs8,
            jwk,
            chain_pem: format!("{}{}", leaf.pem, self.inter.pem),
            serial: serial.to_vec(),
        }
    }
}

/// A seal device: its key and certificate chain.
#[derive(Clone)]
pub struct Device {
    /// The seal's private key, PKCS#8 DER (SigningKey is not Clone).
    pub pkcs8: Vec<u8>,
    pub jwk: Value,
    /// Leaf and device CA, PEM.
    pub chain_pem: String,
    pub serial: Vec<u8>,
}

/// A seal as the tests know it.
#[derive(Clone)]
pub struct TestSeal {
    pub uid: String,
    pub device: Device,
    pub bal: Bal,
}

impl TestSeal {
    pub fn signing_key(&self) -> SigningKey {
        SigningKey::from_pkcs8_der(&self.device.pkcs8).unwrap()
    }

    pub fn thumbprint(&self) -> String {
        cphar_crypto::Jwk::from_json(&self.device.jwk)
            .unwrap()
            .thumbprint_b64()
            .unwrap()
    }
}

pub fn vendor_registry(pki: &Pki) -> VendorRegistry {
    let trust = VendorTrust::builder(VENDOR)
        .root(&pki.root.der)
        .allow_firmware(
            FirmwareRule::new(firmware().parse::<FirmwareMeasurement>().unwrap()).label("fw 4.2.1"),
        )
        .build()
        .unwrap();
    let mut registry = VendorRegistry::new();
    registry.insert(trust).unwrap();
    registry
}

// ---------------------------------------------------------------------------------------------
// The registry under test

/// A registry over one store, with everything a test needs around it.
pub struct Env {
    pub reg: Arc<Registry<AnyStore>>,
    pub clock: Arc<TestClock>,
    pub pki: Arc<Pki>,
    serial: AtomicU32,
    /// The current Enrollment Authority key (PKCS#8) and its id.
    ea: Mutex<(Vec<u8>, String)>,
}

impl Env {
    /// A registry over a newly opened `db`, with a new EA key.
    pub async fn new(db: &TestDb) -> Env {
        Env::with_store(db.open().await).await
    }

    pub async fn with_store(store: AnyStore) -> Env {
        let env = Env::without_authority(store);
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        env.install_authority(key).await;
        env
    }

    /// A registry with no Enrollment Authority key configured.
    pub fn without_authority(store: AnyStore) -> Env {
        let pki = Arc::new(Pki::new("Acme"));
        let clock = Arc::new(TestClock::new(start_time()));
        let reg = Registry::new(
            store,
            RegistryNames::new(HOST),
            vendor_registry(&pki),
            clock.clone(),
        );
        Env {
            reg: Arc::new(reg),
            clock,
            pki,
            // Random start: registries over the same database get distinct serials.
            serial: AtomicU32::new(u32::from_be_bytes(
                cphar_crypto::random_bytes::<4>().unwrap(),
            )),
            ea: Mutex::new((Vec::new(), String::new())),
        }
    }

    /// Re-opens: a new registry over `store` sharing this one's PKI, clock and EA key.
    pub async fn reopen(&self, store: AnyStore) -> Env {
        let reg = Registry::new(
            store,
            RegistryNames::new(HOST),
            vendor_registry(&self.pki),
            self.clock.clone(),
        );
        let (pkcs8, key_id) = self.ea.lock().unwrap().clone();
        let env = Env {
            reg: Arc::new(reg),
            clock: self.clock.clone(),
            pki: self.pki.clone(),
            serial: AtomicU32::new(self.serial.load(Ordering::SeqCst).wrapping_add(1_000_000)),
            ea: Mutex::new((pkcs8.clone(), key_id)),
        };
        let id = env
            .reg
            .use_authority_key(SigningKey::from_pkcs8_der(&pkcs8).unwrap(), VENDOR_OPS)
            .await
            .unwrap();
        assert_eq!(id, env.ea_key_id(), "the stored EA record is reused");
        env
    }

    pub async fn install_authority(&self, key: SigningKey) -> String {
        let pkcs8 = key.to_pkcs8_der().unwrap().to_vec();
        let id = self.reg.use_authority_key(key, VENDOR_OPS).await.unwrap();
        *self.ea.lock().unwrap() = (pkcs8, id.clone());
        id
    }

    /// Revokes the current EA key and installs a new one; returns the new key id.
    pub async fn rotate_authority(&self) -> Result<String, RegistryError> {
        let old = self.ea_key_id();
        let next = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let pkcs8 = next.to_pkcs8_der().unwrap().to_vec();
        let id = self.reg.revoke_authority(&old, next, VENDOR_OPS).await?;
        *self.ea.lock().unwrap() = (pkcs8, id.clone());
        Ok(id)
    }

    pub fn ea_key_id(&self) -> String {
        self.ea.lock().unwrap().1.clone()
    }

    pub fn ea_public(&self) -> VerifyingKey {
        SigningKey::from_pkcs8_der(&self.ea.lock().unwrap().0)
            .unwrap()
            .verifying_key()
    }

    pub fn store(&self) -> &AnyStore {
        self.reg.store()
    }

    pub fn now(&self) -> Timestamp {
        cphar_registry::Clock::now(&*self.clock).unwrap()
    }

    /// Moves the clock on by `secs` seconds.
    pub fn tick(&self, secs: i64) {
        self.clock.advance(time::Duration::seconds(secs));
    }

    pub fn lot_did(&self, lot: &str) -> String {
        RegistryNames::new(HOST).lot_did(lot)
    }

    pub fn method_id(&self, lot: &str, n: u64) -> String {
        RegistryNames::new(HOST).method_id(lot, n)
    }

    // -- database reads -------------------------------------------------------------------------

    pub async fn snapshot(&self) -> Vec<String> {
        self.store().snapshot().await.unwrap()
    }

    pub async fn events(&self) -> Vec<StoredEvent> {
        use cphar_registry::Store;
        self.store().events(0, 100_000).await.unwrap()
    }

    /// Asserts the event sequence is 0, 1, 2, … without gaps; returns its length.
    /// Checks the event sequence is gapless and that the audit log over it verifies end to
    /// end (chain, signatures, epochs, identity); returns the number of events.
    pub async fn assert_gapless(&self) -> usize {
        let events = self.events().await;
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.sequence, i as u64, "event sequence has a gap at {i}");
        }
        let entries = self.store().audit_entries(0, u32::MAX).await.unwrap();
        assert_eq!(entries.len(), events.len(), "one audit entry per event");
        let mut export = Vec::new();
        for (_, line) in &entries {
            export.extend_from_slice(line.as_bytes());
            export.push(b'\n');
        }
        let report = cphar_audit::verify_export(&export, Some(&identity_key().verifying_key()))
            .unwrap_or_else(|e| panic!("the audit log does not verify: {e}"));
        assert_eq!(report.entries as usize, events.len());
        let (size, head) = self.store().audit_head().await.unwrap();
        assert_eq!(
            (size as usize, head),
            (events.len(), report.head_hash),
            "event head"
        );
        events.len()
    }

    pub async fn seal(&self, uid: &str) -> SealRecord {
        self.reg.seal(uid).await.unwrap()
    }

    pub async fn lot(&self, lot: &str) -> LotRecord {
        self.reg.lot(lot).await.unwrap()
    }

    pub async fn bindings(&self, lot: &str) -> Vec<BindingRecord> {
        self.reg.bindings(lot).await.unwrap()
    }

    /// The lot's current binding.
    pub async fn binding(&self, lot: &str) -> BindingRecord {
        let id = self.lot(lot).await.binding_id.expect("lot has a binding");
        self.bindings(lot)
            .await
            .into_iter()
            .find(|b| b.id == id)
            .unwrap()
    }

    pub async fn active_ids(&self) -> Vec<String> {
        self.reg
            .active_reserve(None, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.lot_id)
            .collect()
    }

    pub async fn is_active(&self, lot: &str) -> bool {
        let listed = self.active_ids().await.iter().any(|l| l == lot);
        assert_eq!(
            listed,
            self.lot(lot).await.active,
            "active_reserve and the lot's active flag disagree for {lot}"
        );
        listed
    }

    /// The latest DID document of a lot, parsed as a verifier would.
    pub async fn did_doc(&self, lot: &str, version: Option<u64>) -> DidDocument {
        DidDocument::from_value(self.reg.did_document(lot, version).await.unwrap()).unwrap()
    }

    // -- seals ----------------------------------------------------------------------------------

    fn next_serial(&self) -> Vec<u8> {
        let n = self.serial.fetch_add(1, Ordering::SeqCst);
        let mut s = vec![0x10];
        s.extend_from_slice(&n.to_be_bytes());
        s
    }

    /// A new device (not registered).
    pub fn device(&self, alg: Algorithm) -> Device {
        self.pki.device(alg, &self.next_serial())
    }

    pub fn register_cmd(&self, uid: &str, device: &Device, bal: Bal) -> RegisterSeal {
        RegisterSeal {
            uid: uid.to_owned(),
            vendor: VENDOR.to_owned(),
            device_type: DEVICE_TYPE.to_owned(),
            hardware_revision: HW_REV.to_owned(),
            bal: bal.as_str().to_owned(),
            public_jwk: device.jwk.clone(),
            certificate_chain_pem: device.chain_pem.clone(),
            firmware_measurement: firmware(),
            tamper_evidence: TamperEvidence {
                carrier_class: "bolt-seal".to_owned(),
                specification: "ISO 17712:2013 H".to_owned(),
            },
            pid: bal.requires_pid().then(pid),
            endpoint: None,
            enrollment: None,
        }
    }

    /// Registers a new BAL-2 seal.
    pub async fn register(&self, uid: &str, alg: Algorithm) -> TestSeal {
        self.register_bal(uid, alg, Bal::Bal2).await
    }

    pub async fn register_bal(&self, uid: &str, alg: Algorithm, bal: Bal) -> TestSeal {
        let device = self.device(alg);
        let record = self
            .reg
            .register_seal(&self.register_cmd(uid, &device, bal), VENDOR_OPS)
            .await
            .unwrap();
        assert_eq!(record.uid, uid);
        assert_eq!(record.state, cphar_registry::SealState::Registered);
        TestSeal {
            uid: uid.to_owned(),
            device,
            bal,
        }
    }

    // -- lots -----------------------------------------------------------------------------------

    pub fn inspect_cmd(&self, lot: &str, seal_uid: &str) -> RecordInspection {
        RecordInspection {
            lot_id: lot.to_owned(),
            seal_uid: seal_uid.to_owned(),
            commodity: "copper cathode".to_owned(),
            quantity: Quantity {
                amount: "400.000".to_owned(),
                unit: "kg".to_owned(),
            },
            grade: "Grade A".to_owned(),
            container_id: format!("CONT-{lot}"),
            location: "Rotterdam bonded warehouse 7".to_owned(),
            owner: "Example Metals B.V.".to_owned(),
            evidence: Evidence {
                hash: evidence_hash(),
                uri: "https://evidence.example/bundles/1".to_owned(),
            },
            inspected_at: None,
        }
    }

    pub fn custody_cmd(&self, lot: &str) -> RecordCustody {
        RecordCustody {
            lot_id: lot.to_owned(),
            holder: "Example Logistics".to_owned(),
            action: "received".to_owned(),
            at: None,
        }
    }

    pub async fn inspect(&self, lot: &str, seal_uid: &str) -> String {
        self.reg
            .record_inspection(&self.inspect_cmd(lot, seal_uid), INSPECTOR)
            .await
            .unwrap()
    }

    pub async fn bind(&self, lot: &str) -> BindingRecord {
        self.reg.bind(lot, OPERATOR).await.unwrap()
    }

    pub async fn sign_off(&self, lot: &str) -> LotRecord {
        self.reg.sign_off(lot, AUDITOR).await.unwrap()
    }

    /// Register a seal, inspect `lot` with it, bind, and sign off: an active lot.
    pub async fn active_lot(&self, lot: &str, uid: &str, alg: Algorithm) -> TestSeal {
        let seal = self.register(uid, alg).await;
        self.inspect(lot, uid).await;
        self.bind(lot).await;
        self.sign_off(lot).await;
        assert!(self.is_active(lot).await);
        seal
    }

    // -- attestation ----------------------------------------------------------------------------

    /// A real challenge-response: the seal signs a challenge for `lot`, verified against the
    /// lot's current DID document from the registry.
    pub async fn challenge(&self, lot: &str, seal: &TestSeal, status: DeviceStatus) -> Outcome {
        let document = self.did_doc(lot, None).await;
        let method = self.lot(lot).await.binding_id.unwrap();
        let now = self.now();
        let request = ChallengeRequest::issue(ChallengeParams {
            did: self.lot_did(lot),
            did_version: Some(document.version_id().to_owned()),
            nonce: cphar_crypto::random_bytes::<32>().unwrap().to_vec(),
            timestamp: now,
            verifier: VERIFIER.to_owned(),
            min_bal: None,
            request_pbac: None,
        })
        .unwrap();
        let mut device = SoftwareSeal::new(seal.signing_key(), method, seal.bal);
        device.set_status(status);
        let response = device.respond(&request, now).unwrap();
        cphar_protocol::verify(
            &request,
            &response,
            &document,
            &VerifierPolicy::default(),
            now,
            None,
        )
    }

    /// Attestation settings of the tests: the defaults (5 min skew, 1 h cadence, 15 min grace,
    /// 3 unanswered challenges).
    pub fn settings(&self) -> AttestationSettings {
        AttestationSettings::default()
    }

    /// Has the registry issue a challenge for `lot` (verifier `VERIFIER`) and `seal` answer it
    /// reporting `status`: the challenge id and the raw answer.
    pub async fn challenge_answer(
        &self,
        lot: &str,
        seal: &TestSeal,
        status: DeviceStatus,
    ) -> (String, Vec<u8>) {
        let order = ChallengeOrder {
            lot_id: lot,
            verifier_did: VERIFIER,
            min_bal: None,
            request_pbac: None,
        };
        let issued = self
            .reg
            .issue_challenge(&order, &self.settings())
            .await
            .unwrap();
        let method = self.lot(lot).await.binding_id.unwrap();
        let mut device = SoftwareSeal::new(seal.signing_key(), method, seal.bal);
        device.set_status(status);
        let response = device.respond(&issued.request, self.now()).unwrap();
        (issued.id, response.raw().to_string().into_bytes())
    }

    /// Records `answer` to challenge `id`, received now.
    pub async fn answer(
        &self,
        id: &str,
        answer: Answer<'_>,
    ) -> Result<AttestationRecord, RegistryError> {
        self.reg
            .answer_challenge(id, answer, VERIFIER, self.now(), &self.settings())
            .await
    }

    /// Challenges the seal through the registry and records its (valid, allowed) answer.
    pub async fn attest(&self, lot: &str, seal: &TestSeal, status: DeviceStatus) -> SealRecord {
        let (id, body) = self.challenge_answer(lot, seal, status).await;
        let record = self.answer(&id, Answer::Response(&body)).await.unwrap();
        assert_eq!(
            record.outcome.result,
            ResultCode::Valid,
            "challenge failed: {:?} {:?}",
            record.outcome.detail,
            record.outcome.explanation
        );
        assert_eq!(record.decision, AttestationDecision::Allow);
        record.seal.unwrap()
    }
}

/// Asserts two snapshots are equal, showing only the rows that differ.
#[track_caller]
pub fn assert_same_snapshot(before: &[String], after: &[String], what: &str) {
    if before != after {
        let gone: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
        let new: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
        panic!("{what} changed the database.\nrows gone: {gone:#?}\nrows added: {new:#?}");
    }
}

/// `assert_refused!(env, "code", future)`: the command is refused with `code` and the database
/// (every row of every table) is unchanged. Evaluates to the error.
#[macro_export]
macro_rules! assert_refused {
    ($env:expr, $code:expr, $call:expr) => {{
        let before = $env.snapshot().await;
        let result = $call.await;
        let after = $env.snapshot().await;
        let err = match result {
            Ok(v) => panic!(
                "expected refusal `{}` from `{}`, got Ok({:?})",
                $code,
                stringify!($call),
                v
            ),
            Err(e) => e,
        };
        assert_eq!(
            err.code(),
            $code,
            "wrong refusal code from `{}`: {}",
            stringify!($call),
            err
        );
        $crate::common::assert_same_snapshot(
            &before,
            &after,
            &format!("refused `{}`", stringify!($call)),
        );
        err
    }};
}
