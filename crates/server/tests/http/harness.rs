//! Harness of the end-to-end HTTP suite: real servers started in-process on 127.0.0.1:0
//! (`build_state` → `bootstrap_admin` → `serve`), a plain HTTP/1.1 client, a vendor PKI made
//! with rcgen whose device leaf key is the seal key, and helpers for the seed 000 lifecycle.
//!
//! PostgreSQL: `CPHAR_TEST_DATABASE_URL` names the server; every PostgreSQL test gets a schema
//! `t_<hex>` of its own (the `options=-c search_path=…` URL parameter) dropped afterwards.
//! Without the variable the test is skipped loudly, or fails under `CI=true`.

use cphar_crypto::{SigningKey, VerifyingKey};
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{Bal, ChallengeRequest, DeviceStatus, Timestamp};
use cphar_server::{AppState, ServerConfig};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use time::macros::datetime;

pub const HOST: &str = "registry.test";
pub const VENDOR: &str = "acme-seals";
/// A second vendor id on the same PKI whose trust entry requires the CPHAR device-identity
/// extension, SKU `seal-x1`, and proof of possession (seed 002 §4.2.2).
pub const STRICT_VENDOR: &str = "acme-strict";
pub const PG_URL_VAR: &str = "CPHAR_TEST_DATABASE_URL";

/// Every role, as `POST /tokens` names them.
pub const ROLES: [&str; 6] = [
    "vendor",
    "inspector",
    "operator",
    "auditor",
    "verifier",
    "admin",
];

pub fn firmware() -> String {
    format!("sha256:{}", "a1".repeat(32))
}

pub fn random_hex<const N: usize>() -> String {
    cphar_crypto::random_bytes::<N>()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A loud line on the process's stderr (libtest captures `eprintln!`).
pub fn shout(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n!!!!! {text} !!!!!\n");
}

// ---------------------------------------------------------------------------------------------
// Vendor PKI

struct CertNode {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
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

/// A vendor root (P-384) and device CA (P-256); device leaves are issued under the CA.
pub struct Pki {
    root: CertNode,
    inter: CertNode,
    serial: AtomicU32,
}

impl Pki {
    pub fn new() -> Arc<Self> {
        let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let root_params = ca_params("Acme Root CA");
        let root_pem = root_params.self_signed(&root_key).unwrap().pem();
        let root = CertNode {
            params: root_params,
            key: root_key,
            pem: root_pem,
        };
        let inter_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let inter_params = ca_params("Acme Device CA");
        let inter_pem = inter_params
            .signed_by(&inter_key, &Issuer::from_params(&root.params, &root.key))
            .unwrap()
            .pem();
        let inter = CertNode {
            params: inter_params,
            key: inter_key,
            pem: inter_pem,
        };
        Arc::new(Pki {
            root,
            inter,
            serial: AtomicU32::new(u32::from_be_bytes(
                cphar_crypto::random_bytes::<4>().unwrap(),
            )),
        })
    }

    /// The root certificate (PEM).
    pub fn root_pem(&self) -> &str {
        &self.root.pem
    }

    /// The vendor trust file (`cphar-vendor-trust/1`, JSON) trusting this root.
    pub fn trust_file(&self) -> String {
        serde_json::to_string_pretty(&json!({
            "format": "cphar-vendor-trust/1",
            "vendors": [{
                "id": VENDOR,
                "roots": [self.root.pem],
                "firmware": [{"measurement": firmware(), "label": "fw 4.2.1"}],
            }, {
                "id": STRICT_VENDOR,
                "roots": [self.root.pem],
                "firmware": [{"measurement": firmware(), "label": "fw 4.2.1"}],
                "device_identity": "required",
                "skus": ["seal-x1"],
            }]
        }))
        .unwrap()
    }

    /// A seal device whose certificate carries the device-identity extension (`bal`, `sku`),
    /// valid until `not_after`, for [`STRICT_VENDOR`].
    pub fn identified_device(
        &self,
        uid: &str,
        bal: u8,
        sku: &str,
        not_after: time::OffsetDateTime,
    ) -> Seal {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let pkcs8 = key.serialize_der();
        let jwk = SigningKey::from_pkcs8_der(&pkcs8)
            .unwrap()
            .verifying_key()
            .to_jwk()
            .to_json();
        let chain_pem = self.certify(&key, uid, bal, sku, not_after);
        Seal {
            uid: uid.to_owned(),
            pkcs8,
            jwk,
            chain_pem,
            vendor: STRICT_VENDOR,
        }
    }

    /// The chain (leaf PEM + device CA PEM) certifying `subject` with the identity extension.
    pub fn certify(
        &self,
        subject: &impl rcgen::PublicKeyData,
        uid: &str,
        bal: u8,
        sku: &str,
        not_after: time::OffsetDateTime,
    ) -> String {
        let identity = cphar_vendor::DeviceIdentity {
            bal,
            key_origin: cphar_vendor::KeyOrigin::GeneratedOnDevice,
            non_exportable: true,
            sku: sku.to_owned(),
            hardware_id: format!("HW-{uid}"),
            batch: "B-2026-48".to_owned(),
            provisioning_record_id: format!("PR-{uid}"),
        };
        let mut serial = vec![0x20];
        serial.extend_from_slice(&self.serial.fetch_add(1, Ordering::SeqCst).to_be_bytes());
        let mut params =
            cphar_vendor::issue::device_params("Acme Seals", uid, &serial, &identity).unwrap();
        params.not_after = not_after;
        let leaf = cphar_vendor::issue::issue(
            &params,
            subject,
            &Issuer::from_params(
                &self.inter.params,
                cphar_vendor::issue::IdentitySigner(&self.inter.key),
            ),
        )
        .unwrap();
        format!("{leaf}{}", self.inter.pem)
    }

    /// A CRL bundle (CRL + device CA certificate, PEM) from the device CA revoking
    /// `serials_hex`, issued `issued_ago` ago with nextUpdate `next_update_in` from now
    /// (negative: already past).
    pub fn crl_bundle(
        &self,
        serials_hex: &[&str],
        issued_ago: time::Duration,
        next_update_in: time::Duration,
    ) -> String {
        let now = time::OffsetDateTime::now_utc();
        let params = rcgen::CertificateRevocationListParams {
            this_update: now - issued_ago,
            next_update: now + next_update_in,
            crl_number: SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: serials_hex
                .iter()
                .map(|hex| rcgen::RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&decode_hex(hex)),
                    revocation_time: now - issued_ago,
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let crl = params
            .signed_by(&Issuer::from_params(&self.inter.params, &self.inter.key))
            .unwrap()
            .pem()
            .unwrap();
        format!("{crl}{}", self.inter.pem)
    }

    /// A new seal device (Ed25519 key) whose certificate's key is the seal key.
    pub fn device(&self, uid: &str) -> Seal {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let pkcs8 = key.serialize_der();
        let jwk = SigningKey::from_pkcs8_der(&pkcs8)
            .unwrap()
            .verifying_key()
            .to_jwk()
            .to_json();
        let mut serial = vec![0x10];
        serial.extend_from_slice(&self.serial.fetch_add(1, Ordering::SeqCst).to_be_bytes());
        let mut p = CertificateParams::default();
        p.distinguished_name = name(&format!("seal {uid}"));
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.serial_number = Some(SerialNumber::from_slice(&serial));
        p.not_before = datetime!(2025-01-01 0:00 UTC);
        p.not_after = datetime!(2030-01-01 0:00 UTC);
        let leaf = p
            .signed_by(
                &key,
                &Issuer::from_params(&self.inter.params, &self.inter.key),
            )
            .unwrap();
        Seal {
            uid: uid.to_owned(),
            pkcs8,
            jwk,
            chain_pem: format!("{}{}", leaf.pem(), self.inter.pem),
            vendor: VENDOR,
        }
    }
}

/// A seal device as the tests know it.
#[derive(Clone)]
pub struct Seal {
    pub uid: String,
    pub pkcs8: Vec<u8>,
    pub jwk: Value,
    pub chain_pem: String,
    /// The vendor id it registers under.
    pub vendor: &'static str,
}

impl Seal {
    /// The `POST /seals` body (BAL-2).
    pub fn register_body(&self) -> Value {
        json!({
            "uid": self.uid,
            "vendor": self.vendor,
            "deviceType": "seal-x1",
            "hardwareRevision": "B",
            "bal": "BAL-2",
            "publicJwk": self.jwk,
            "certificateChainPem": self.chain_pem,
            "firmwareMeasurement": firmware(),
            "tamperEvidence": {"carrierClass": "bolt-seal", "specification": "ISO 17712:2013 H"},
        })
    }

    /// The device answering `request` (as received: the raw JSON of `POST /challenges`) with
    /// the binding method `method`: the ChallengeResponse JSON bytes.
    pub fn respond(&self, request: &Value, method: &str) -> Vec<u8> {
        self.respond_with(request, method, DeviceStatus::Operational)
    }

    /// The device answering `request`, reporting `status`.
    pub fn respond_with(&self, request: &Value, method: &str, status: DeviceStatus) -> Vec<u8> {
        let request = ChallengeRequest::from_value(request.clone()).unwrap();
        let key = SigningKey::from_pkcs8_der(&self.pkcs8).unwrap();
        let mut device = SoftwareSeal::new(key, method.to_owned(), Bal::Bal2);
        device.set_status(status);
        let response = device.respond(&request, Timestamp::now_utc()).unwrap();
        serde_json::to_vec(response.raw()).unwrap()
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

pub fn inspection_body(lot: &str, seal_uid: &str) -> Value {
    json!({
        "lotId": lot,
        "sealUid": seal_uid,
        "commodity": "copper cathode",
        "quantity": {"amount": "400.000", "unit": "kg"},
        "grade": "Grade A",
        "containerId": format!("CONT-{lot}"),
        "location": "Rotterdam bonded warehouse 7",
        "owner": "Example Metals B.V.",
        "evidence": {"hash": format!("sha256:{}", "c3".repeat(32)), "uri": "https://evidence.example/bundles/1"},
    })
}

pub fn custody_body(lot: &str) -> Value {
    json!({"lotId": lot, "holder": "Example Logistics", "action": "received"})
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): status {} body {:?}",
                self.status,
                self.text()
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The problem's `reasonCode` when this is an RFC 9457 problem answer.
    pub fn reason(&self) -> Option<String> {
        if self.content_type() != "application/problem+json" {
            return None;
        }
        serde_json::from_slice::<Value>(&self.body)
            .ok()?
            .get("reasonCode")?
            .as_str()
            .map(str::to_owned)
    }

    /// Asserts a problem answer with this status and reason code; returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status, self.reason().as_deref()),
            (status, Some(code)),
            "expected problem {status} {code}, got {} {} {}",
            self.status,
            self.content_type(),
            self.text()
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert_eq!(body["type"], format!("urn:cphar:problem:{code}"));
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        body
    }

    /// Asserts this status; returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text());
        self.json()
    }
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends one request to `addr`.
pub async fn send(
    client: &HttpClient,
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Resp {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req.body(Full::new(Bytes::from(body))).unwrap();
    let resp = tokio::time::timeout(std::time::Duration::from_secs(30), client.request(req))
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within 30 s"))
        .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let r = Resp {
        status,
        headers,
        body,
    };
    crate::conformance::check(method, path, &r);
    r
}

// ---------------------------------------------------------------------------------------------
// Servers

/// How to start a server.
#[derive(Clone)]
pub struct Options {
    pub database_url: Option<String>,
    pub max_response_ms: u64,
    pub rate_limit: u32,
    pub rate_window_seconds: u64,
    pub skew_seconds: u64,
    /// The scheduler period (0: off, the default here).
    pub scheduler_interval_seconds: u64,
    /// Copy these files (identity, EA and report keys) into the new data directory first.
    pub keys_from: Option<PathBuf>,
    /// Per client address on the unauthenticated routes.
    pub anonymous_rate_limit: u32,
    pub max_connections: usize,
    pub header_read_timeout_ms: u64,
    pub idle_timeout_seconds: u64,
    /// Seals the scheduler challenges at once.
    pub attestation_parallelism: usize,
    /// Attestation cadence and grace, seconds.
    pub attestation_cadence_seconds: u64,
    pub attestation_grace_seconds: u64,
    /// A policy file (TOML) to start with.
    pub policy: Option<String>,
    /// Scheduled reserve reports (0: off, the default).
    pub report_interval_seconds: u64,
    /// A vendor trust file (JSON) instead of the PKI's own.
    pub trust_file: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            database_url: None,
            max_response_ms: 0,
            rate_limit: 1_000_000,
            rate_window_seconds: 60,
            skew_seconds: 300,
            scheduler_interval_seconds: 0,
            keys_from: None,
            anonymous_rate_limit: 1_000_000,
            max_connections: ServerConfig::default().max_connections,
            header_read_timeout_ms: ServerConfig::default().header_read_timeout_ms,
            idle_timeout_seconds: ServerConfig::default().idle_timeout_seconds,
            attestation_parallelism: 8,
            attestation_cadence_seconds: 3600,
            attestation_grace_seconds: 900,
            policy: None,
            report_interval_seconds: 0,
            trust_file: None,
        }
    }
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub admin: String,
    pub data_dir: PathBuf,
    pub client: HttpClient,
    /// The operations answered with their documented success so far (method, path template).
    pub succeeded: std::sync::Mutex<std::collections::BTreeSet<(&'static str, &'static str)>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), String>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start(pki: &Pki, options: Options) -> Server {
        Server::start_in(tempfile::tempdir().unwrap(), pki, options).await
    }

    /// Stops the server and starts another on the same data directory (a restart).
    pub async fn restart(mut self, pki: &Pki, options: Options) -> Server {
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        self.stop().await;
        Server::start_in(dir, pki, options).await
    }

    async fn start_in(dir: tempfile::TempDir, pki: &Pki, options: Options) -> Server {
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        if let Some(from) = &options.keys_from {
            for file in [
                cphar_server::node::IDENTITY_KEY_FILE,
                cphar_server::node::EA_KEY_FILE,
                cphar_server::node::REPORT_KEY_FILE,
            ] {
                std::fs::copy(from.join(file), data_dir.join(file)).unwrap();
            }
        }
        let vendors = dir.path().join("vendors.json");
        let trust = options
            .trust_file
            .clone()
            .unwrap_or_else(|| pki.trust_file());
        std::fs::write(&vendors, trust).unwrap();
        let policy = options.policy.as_ref().map(|text| {
            let path = dir
                .path()
                .join(format!("policy-{}.toml", random_hex::<4>()));
            std::fs::write(&path, text).unwrap();
            path
        });
        let config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.clone(),
            database_url: options.database_url.clone(),
            host: Some(HOST.to_owned()),
            vendors: Some(vendors),
            max_response_ms: options.max_response_ms,
            rate_limit: options.rate_limit,
            skew_seconds: options.skew_seconds,
            rate_window_seconds: options.rate_window_seconds,
            anonymous_rate_limit: options.anonymous_rate_limit,
            max_connections: options.max_connections,
            header_read_timeout_ms: options.header_read_timeout_ms,
            idle_timeout_seconds: options.idle_timeout_seconds,
            // Tests drive the scheduler's jobs themselves, unless they ask for it.
            scheduler_interval_seconds: options.scheduler_interval_seconds,
            attestation_parallelism: options.attestation_parallelism,
            attestation_cadence_seconds: options.attestation_cadence_seconds,
            attestation_grace_seconds: options.attestation_grace_seconds,
            policy,
            report_interval_seconds: options.report_interval_seconds,
            ..ServerConfig::default()
        };
        let state = cphar_server::app::build_state(config)
            .await
            .unwrap_or_else(|e| panic!("build_state: {e}"));
        // With a shared database only the first server bootstraps; the others reuse its admin.
        let admin = cphar_server::app::bootstrap_admin(&state)
            .await
            .unwrap()
            .unwrap_or_default();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(cphar_server::app::serve(
            Arc::clone(&state),
            async move {
                let _ = stop_rx.await;
            },
            bound_tx,
        ));
        let addr = bound_rx.await.expect("the server did not bind");
        Server {
            addr,
            state,
            admin,
            data_dir,
            client: client(),
            succeeded: std::sync::Mutex::new(std::collections::BTreeSet::new()),
            shutdown: Some(stop_tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(std::time::Duration::from_secs(20), task)
                .await
                .expect("the server did not stop within 20 s")
                .unwrap();
            result.unwrap();
        }
    }

    /// The registry identity key (the one that countersigns epochs and signs checkpoints).
    pub fn identity(&self) -> VerifyingKey {
        identity_of(&self.data_dir)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let r = send(
            &self.client,
            self.addr,
            method,
            path,
            token,
            content_type,
            body,
        )
        .await;
        if r.status < 400
            && let Some(op) = crate::conformance::operation_of(method, path)
        {
            self.succeeded.lock().unwrap().insert((op.method, op.path));
        }
        r
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call("GET", path, token, None, Vec::new()).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.call(
            "POST",
            path,
            token,
            Some("application/json"),
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    /// A new token of `role` for `subject` (created by the admin).
    pub async fn token(&self, role: &str, subject: &str) -> String {
        self.token_with(&json!({"role": role, "subject": subject}))
            .await
    }

    /// A new token made from the `POST /tokens` body `body`.
    pub async fn token_with(&self, body: &Value) -> String {
        let r = self.post("/tokens", Some(&self.admin), body).await;
        let answer = r.expect(201);
        assert_eq!(answer["role"], body["role"]);
        answer["token"].as_str().unwrap().to_owned()
    }

    /// One token per role, each for a distinct subject (separation of duties).
    pub async fn roles(&self) -> Roles {
        Roles {
            vendor: self.token("vendor", "vendor-ops").await,
            inspector: self.token("inspector", "inspector-1").await,
            operator: self.token("operator", "operator-1").await,
            auditor: self.token("auditor", "auditor-1").await,
            verifier: self.token("verifier", "verifier-1").await,
        }
    }

    /// The audit log, as exported by `GET /audit/entries` (read with the admin token).
    pub async fn audit_export(&self) -> Vec<u8> {
        let r = self
            .get("/audit/entries?limit=10000", Some(&self.admin))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.content_type(), "application/jsonl");
        r.body.to_vec()
    }

    /// `GET /lots/{id}` as the auditor.
    pub async fn lot(&self, roles: &Roles, lot: &str) -> Value {
        self.get(&format!("/lots/{lot}"), Some(&roles.auditor))
            .await
            .expect(200)
    }

    /// The lot's current binding method id.
    pub async fn method(&self, roles: &Roles, lot: &str) -> String {
        self.lot(roles, lot).await["lot"]["bindingId"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn active_ids(&self) -> Vec<String> {
        let body = self
            .get("/reserve/active?limit=1000", None)
            .await
            .expect(200);
        body["lots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["lotId"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn seal_state(&self, roles: &Roles, uid: &str) -> String {
        let body = self
            .get(&format!("/seals/{uid}"), Some(&roles.auditor))
            .await
            .expect(200);
        body["seal"]["state"].as_str().unwrap().to_owned()
    }

    /// Register, inspect (+ custody), bind: a bound lot awaiting sign-off.
    pub async fn bound_lot(&self, pki: &Pki, roles: &Roles, lot: &str, uid: &str) -> Seal {
        let seal = pki.device(uid);
        let r = self
            .post("/seals", Some(&roles.vendor), &seal.register_body())
            .await;
        let body = r.expect(201);
        assert_eq!(
            (body["uid"].as_str(), body["state"].as_str()),
            (Some(uid), Some("registered"))
        );
        self.bind_registered(roles, lot, uid).await;
        seal
    }

    /// Inspect (+ custody) and bind the registered seal `uid` to `lot`.
    pub async fn bind_registered(&self, roles: &Roles, lot: &str, uid: &str) {
        let r = self
            .post(
                "/inspections",
                Some(&roles.inspector),
                &inspection_body(lot, uid),
            )
            .await;
        assert_eq!(r.expect(201)["lotId"], lot);
        let r = self
            .post("/custody", Some(&roles.operator), &custody_body(lot))
            .await;
        assert_eq!(r.expect(201)["lotId"], lot);
        let r = self
            .post(
                &format!("/lots/{lot}/bind"),
                Some(&roles.operator),
                &json!({}),
            )
            .await;
        r.expect(201);
    }

    /// A bound and signed-off lot: in the active reserve set.
    pub async fn active_lot(&self, pki: &Pki, roles: &Roles, lot: &str, uid: &str) -> Seal {
        let seal = self.bound_lot(pki, roles, lot, uid).await;
        let r = self
            .post(
                &format!("/lots/{lot}/sign-off"),
                Some(&roles.auditor),
                &json!({}),
            )
            .await;
        r.expect(200);
        seal
    }

    /// `POST /challenges {lotId}`: (challenge id, the request as issued).
    pub async fn challenge(&self, verifier: &str, lot: &str) -> (String, Value) {
        let r = self
            .post("/challenges", Some(verifier), &json!({"lotId": lot}))
            .await;
        let body = r.expect(201);
        (
            body["challengeId"].as_str().unwrap().to_owned(),
            body["request"].clone(),
        )
    }

    /// `POST /challenges/{id}/response` with the response bytes.
    pub async fn answer(&self, verifier: &str, id: &str, response: Vec<u8>) -> Resp {
        self.call(
            "POST",
            &format!("/challenges/{id}/response"),
            Some(verifier),
            Some("application/json"),
            response,
        )
        .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The tokens of one test.
#[derive(Clone)]
pub struct Roles {
    pub vendor: String,
    pub inspector: String,
    pub operator: String,
    pub auditor: String,
    pub verifier: String,
}

pub fn identity_of(data_dir: &Path) -> VerifyingKey {
    let pem =
        std::fs::read_to_string(data_dir.join(cphar_server::node::IDENTITY_KEY_FILE)).unwrap();
    SigningKey::from_pkcs8_pem(&pem).unwrap().verifying_key()
}

/// The audit event types of an export, in order.
pub fn event_types(export: &[u8]) -> Vec<String> {
    export
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Value = serde_json::from_slice(l).unwrap();
            v["eventType"]
                .as_str()
                .unwrap_or_else(|| panic!("no eventType in {v}"))
                .to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Backends

/// Where a test's servers keep the registry.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    pub fn database_url(&self) -> Option<String> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres(url) => Some(url.clone()),
        }
    }
}

/// Runs `test` on SQLite (each server its own data directory).
pub async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Backend) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    test(Backend::Sqlite).await;
}

/// Runs `test` on a fresh schema of the PostgreSQL server of `CPHAR_TEST_DATABASE_URL`, dropped
/// afterwards (best effort). Skips loudly without the variable; fails under `CI=true`.
pub async fn run_postgres<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Backend) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base = match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            cphar_testdata::skip(&format!(
                "{name} (PostgreSQL): {PG_URL_VAR} is not set (scripts/test starts a throwaway \
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
    let outcome = tokio::spawn(test(Backend::Postgres(url))).await;
    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&admin)
    .await
    {
        shout(&format!("warning: could not drop schema {schema}: {e}"));
    }
    admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
