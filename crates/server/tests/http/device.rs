//! Hardware seals and the device certificate's life, through the HTTP API (seed 002 §4.2,
//! seed 001 PKI lifecycle): every refusal with its reason code — self-declared BAL, no proof
//! of possession, a proof by another key, wrong SKU, no identity extension, revoked, stale CRL,
//! expired — and the whole lifecycle of a seal whose key lives in a SoftHSM2 token.

use crate::harness::*;
use cphar_crypto::SigningKey;
use cphar_protocol::seal::{RevocationAttestation, Seal as DeviceSeal, SealError, SealKey};
use cphar_protocol::{Bal, ChallengeRequest, DeviceStatus, RevocationReason, Timestamp};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn far_future() -> OffsetDateTime {
    time::macros::datetime!(2030-01-01 0:00 UTC)
}

/// The registration body of `seal` with a proof of possession signed by `key`.
async fn with_proof(s: &Server, roles: &Roles, seal: &Seal, key: &impl SealKey) -> Value {
    let challenge = s
        .post("/enrollment/challenges", Some(&roles.vendor), &json!({}))
        .await
        .expect(201);
    assert_eq!(challenge["type"], "CpharEnrollmentChallenge");
    let device = DeviceSeal::new(KeyRef(key), String::new(), Bal::Bal2);
    let mut body = seal.register_body();
    body["enrollment"] = device.enroll(&challenge, &seal.uid).unwrap();
    body
}

/// Borrowing adapter: a `&K` as a seal key.
struct KeyRef<'a, K>(&'a K);

impl<K: SealKey> SealKey for KeyRef<'_, K> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, cphar_crypto::CryptoError> {
        self.0.sign(msg)
    }

    fn verifying_key(&self) -> cphar_crypto::VerifyingKey {
        self.0.verifying_key()
    }
}

fn key_of(seal: &Seal) -> SigningKey {
    SigningKey::from_pkcs8_der(&seal.pkcs8).unwrap()
}

fn serial_of(s: &Value) -> String {
    s["certificate"]["serial"].as_str().unwrap().to_owned()
}

fn install_crl(s: &Server, pki: &Pki, bundle: &str) {
    let registry = &s.state.node.registry;
    let (crl, issuer) = cphar_vendor::crl::bundle_from_pem(bundle).unwrap();
    let now = cphar_vendor::UnixTime::from_secs(
        u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap(),
    );
    let verified = registry.vendors().verify_crl(&crl, &issuer, now).unwrap();
    let mut set = cphar_vendor::CrlSet::new(Some(7 * 86_400));
    set.insert(verified);
    registry.install_crls(set);
    let _ = pki;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refusals_each_with_its_reason_code() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;

    // Self-declared BAL: the certificate certifies BAL-1, the request claims BAL-2.
    let low = pki.identified_device("SEAL-LOW", 1, "seal-x1", far_future());
    let body = with_proof(&s, &roles, &low, &key_of(&low)).await;
    s.post("/seals", Some(&roles.vendor), &body)
        .await
        .problem(422, "bal_not_certified");

    // No proof of possession.
    let seal = pki.identified_device("SEAL-1", 2, "seal-x1", far_future());
    s.post("/seals", Some(&roles.vendor), &seal.register_body())
        .await
        .problem(422, "enrollment_proof_missing");

    // A proof signed by another key than the certified one.
    let other = SigningKey::generate(cphar_crypto::Algorithm::Ed25519).unwrap();
    let body = with_proof(&s, &roles, &seal, &other).await;
    s.post("/seals", Some(&roles.vendor), &body)
        .await
        .problem(422, "enrollment_signature_invalid");

    // A challenge the Enrollment Authority did not issue.
    let mut body = with_proof(&s, &roles, &seal, &key_of(&seal)).await;
    body["enrollment"]["challenge"]["nonce"] = json!(cphar_crypto::b64::encode(&[9u8; 32]));
    s.post("/seals", Some(&roles.vendor), &body)
        .await
        .problem(422, "enrollment_challenge_invalid");

    // Valid certificate, wrong SKU.
    let wrong = pki.identified_device("SEAL-SKU", 2, "seal-x9", far_future());
    let body = with_proof(&s, &roles, &wrong, &key_of(&wrong)).await;
    s.post("/seals", Some(&roles.vendor), &body)
        .await
        .problem(422, "wrong_sku");

    // A vendor requiring the identity extension: a certificate without it.
    let mut plain = pki.device("SEAL-PLAIN");
    plain.vendor = STRICT_VENDOR;
    let body = with_proof(&s, &roles, &plain, &key_of(&plain)).await;
    s.post("/seals", Some(&roles.vendor), &body)
        .await
        .problem(422, "device_identity_missing");

    // The device proven: registered at the certified BAL with seed 001's identity fields.
    let body = with_proof(&s, &roles, &seal, &key_of(&seal)).await;
    let registered = s
        .post("/seals", Some(&roles.vendor), &body)
        .await
        .expect(201);
    assert_eq!(registered["bal"], "BAL-2");
    let identity = &registered["certificate"]["identity"];
    assert_eq!(identity["certifiedBal"], "BAL-2", "{registered}");
    assert_eq!(identity["sku"], "seal-x1");
    assert_eq!(identity["hardwareId"], "HW-SEAL-1");
    assert_eq!(identity["keyOrigin"], "generated-on-device");
    assert_eq!(identity["nonExportable"], true);
    assert_eq!(identity["provisioningRecordId"], "PR-SEAL-1");
    assert!(registered["certificate"]["notAfter"].is_string());

    // Revoked by the vendor's CRL: a certificate it lists is not registered.
    let revoked = pki.identified_device("SEAL-REV", 2, "seal-x1", far_future());
    let revoked_serial = {
        let chain =
            cphar_vendor::DeviceEvidence::chain_from_bytes(revoked.chain_pem.as_bytes()).unwrap();
        x509_serial_hex(&chain[0])
    };
    install_crl(
        &s,
        &pki,
        &pki.crl_bundle(&[&revoked_serial], Duration::hours(1), Duration::days(1)),
    );
    let body = with_proof(&s, &roles, &revoked, &key_of(&revoked)).await;
    s.post("/seals", Some(&roles.vendor), &body)
        .await
        .problem(422, "device_certificate_revoked");

    // A stale CRL proves nothing: registrations under that CA are refused.
    install_crl(
        &s,
        &pki,
        &pki.crl_bundle(&[], Duration::days(3), -Duration::days(1)),
    );
    let fresh = pki.identified_device("SEAL-STALE", 2, "seal-x1", far_future());
    let body = with_proof(&s, &roles, &fresh, &key_of(&fresh)).await;
    s.post("/seals", Some(&roles.vendor), &body)
        .await
        .problem(422, "crl_stale");
    s.stop().await;
}

/// The serial of a DER certificate as the registry records it.
fn x509_serial_hex(der: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).unwrap();
    cert.tbs_certificate
        .raw_serial()
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Registers `seal` with its proof and makes its lot active.
async fn active_proven(s: &Server, roles: &Roles, seal: &Seal, lot: &str) -> String {
    let body = with_proof(s, roles, seal, &key_of(seal)).await;
    s.post("/seals", Some(&roles.vendor), &body)
        .await
        .expect(201);
    s.bind_registered(roles, lot, &seal.uid).await;
    s.post(
        &format!("/lots/{lot}/sign-off"),
        Some(&roles.auditor),
        &json!({}),
    )
    .await
    .expect(200);
    s.method(roles, lot).await
}

/// Challenges `lot`, `seal` answers; the server's answer.
async fn attest(s: &Server, roles: &Roles, seal: &Seal, lot: &str, method: &str) -> Value {
    let (id, request) = s.challenge(&roles.verifier, lot).await;
    s.answer(&roles.verifier, &id, seal.respond(&request, method))
        .await
        .expect(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestation_rechecks_revocation_and_crl_freshness() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let seal = pki.identified_device("SEAL-A", 2, "seal-x1", far_future());
    let method = active_proven(&s, &roles, &seal, "LOT-A").await;
    let r = attest(&s, &roles, &seal, "LOT-A", &method).await;
    assert_eq!(
        (r["result"].as_str(), r["decision"].as_str()),
        (Some("valid"), Some("allow"))
    );

    // A fresh CRL not listing it: still allowed.
    install_crl(
        &s,
        &pki,
        &pki.crl_bundle(&[], Duration::hours(1), Duration::days(1)),
    );
    let r = attest(&s, &roles, &seal, "LOT-A", &method).await;
    assert_eq!(r["decision"], "allow", "{r}");

    // The vendor revokes it: a valid answer no longer attests.
    let serial = serial_of(
        &s.get("/seals/SEAL-A", Some(&roles.auditor))
            .await
            .expect(200)["seal"],
    );
    install_crl(
        &s,
        &pki,
        &pki.crl_bundle(&[&serial], Duration::minutes(1), Duration::days(1)),
    );
    let r = attest(&s, &roles, &seal, "LOT-A", &method).await;
    assert_eq!(r["result"], "valid", "{r}");
    assert_eq!(r["decision"], "deny", "{r}");
    assert_eq!(r["policy"]["reason_code"], "device_certificate_revoked");
    assert!(r.get("sealState").is_none(), "{r}");

    // A stale CRL: denied too (fail closed), whatever it lists.
    install_crl(
        &s,
        &pki,
        &pki.crl_bundle(&[], Duration::days(3), -Duration::hours(1)),
    );
    let r = attest(&s, &roles, &seal, "LOT-A", &method).await;
    assert_eq!(r["decision"], "deny", "{r}");
    assert_eq!(r["policy"]["reason_code"], "crl_stale");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestation_rechecks_certificate_expiry() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    // A certificate valid for a few more seconds: registered while valid (a loaded machine
    // may need another try), attested after it expired.
    let mut attempt = 0;
    let (seal, method, not_after) = loop {
        attempt += 1;
        let not_after = OffsetDateTime::now_utc() + Duration::seconds(6);
        let uid = format!("SEAL-EXP-{attempt}");
        let seal = pki.identified_device(&uid, 2, "seal-x1", not_after);
        let body = with_proof(&s, &roles, &seal, &key_of(&seal)).await;
        let r = s.post("/seals", Some(&roles.vendor), &body).await;
        if r.status == 201 {
            let lot = format!("LOT-EXP-{attempt}");
            s.bind_registered(&roles, &lot, &uid).await;
            s.post(
                &format!("/lots/{lot}/sign-off"),
                Some(&roles.auditor),
                &json!({}),
            )
            .await
            .expect(200);
            let method = s.method(&roles, &lot).await;
            break ((seal, lot), method, not_after);
        }
        assert!(
            attempt < 3,
            "could not register before expiry: {}",
            r.text()
        );
    };
    let (seal, lot) = seal;
    // Wait for the condition itself: the trusted clock past notAfter (whole seconds).
    while Timestamp::now_utc().unix_seconds() <= not_after.unix_timestamp() {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let r = attest(&s, &roles, &seal, &lot, &method).await;
    assert_eq!(r["result"], "valid", "{r}");
    assert_eq!(r["decision"], "deny", "{r}");
    assert_eq!(r["policy"]["reason_code"], "device_certificate_expired");

    // The operator's policy may degrade instead: attested, the degradation recorded.
    s.state
        .node
        .registry
        .set_certificate_policy(cphar_registry::device::CertificatePolicy {
            expired: cphar_registry::device::ExpiredCertificate::Degrade,
        });
    let r = attest(&s, &roles, &seal, &lot, &method).await;
    assert_eq!(r["decision"], "degrade", "{r}");
    assert_eq!(r["policy"]["reason_code"], "device_certificate_expired");
    assert_eq!(r["sealState"], "attested");
    s.stop().await;
}

/// A seal key in a SoftHSM2 token, as rcgen's certificate subject.
struct TokenPublic(Vec<u8>);

impl rcgen::PublicKeyData for TokenPublic {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn softhsm_seal_whole_lifecycle() {
    let Some(token) =
        cphar_testdata::softhsm::run_with_fresh_token("device::softhsm_seal_whole_lifecycle")
    else {
        return;
    };
    let config = cphar_pkcs11::Pkcs11Config {
        module: token.module.clone(),
        token_label: token.label.clone(),
        pin: zeroize::Zeroizing::new(token.pin.clone()),
    };
    let key = cphar_pkcs11::Pkcs11SealKey::generate(
        &config,
        "SEAL-HSM",
        Some(cphar_pkcs11::SealKeyAlgorithm::Ed25519),
    )
    .unwrap();
    assert!(!key.private_value_readable().unwrap());
    assert!(key.wrapping_refused().unwrap());
    let public = SealKey::verifying_key(&key);

    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let chain_pem = pki.certify(
        &TokenPublic(public.public_bytes()),
        "SEAL-HSM",
        2,
        "seal-x1",
        far_future(),
    );
    let seal = Seal {
        uid: "SEAL-HSM".into(),
        pkcs8: Vec::new(),
        jwk: public.to_jwk().to_json(),
        chain_pem,
        vendor: STRICT_VENDOR,
    };
    // Registration with the token key's proof of possession.
    let body = with_proof(&s, &roles, &seal, &key).await;
    let registered = s
        .post("/seals", Some(&roles.vendor), &body)
        .await
        .expect(201);
    assert_eq!(
        registered["certificate"]["identity"]["keyOrigin"],
        "generated-on-device"
    );
    s.bind_registered(&roles, "LOT-HSM", "SEAL-HSM").await;
    s.post("/lots/LOT-HSM/sign-off", Some(&roles.auditor), &json!({}))
        .await
        .expect(200);
    let method = s.method(&roles, "LOT-HSM").await;
    let did = s.lot(&roles, "LOT-HSM").await["lot"]["did"]
        .as_str()
        .unwrap()
        .to_owned();

    // Attested by the token.
    let mut device = DeviceSeal::new(key, method.clone(), Bal::Bal2);
    let answer = |device: &DeviceSeal<cphar_pkcs11::Pkcs11SealKey>, request: &Value| {
        let request = ChallengeRequest::from_value(request.clone()).unwrap();
        device
            .respond(&request, Timestamp::now_utc())
            .map(|r| serde_json::to_vec(r.raw()).unwrap())
    };
    let (id, request) = s.challenge(&roles.verifier, "LOT-HSM").await;
    let r = s
        .answer(&roles.verifier, &id, answer(&device, &request).unwrap())
        .await
        .expect(200);
    assert_eq!(
        (r["result"].as_str(), r["decision"].as_str()),
        (Some("valid"), Some("allow")),
        "{r}"
    );
    assert_eq!(r["sealState"], "attested");
    assert!(s.active_ids().await.contains(&"LOT-HSM".to_owned()));

    // Tamper: the signed status reaches the registry (binding revoked, seal broken), the
    // device signs its Binding Revocation Attestation, then the key is destroyed.
    device.set_status(DeviceStatus::Tampered);
    let (id, request) = s.challenge(&roles.verifier, "LOT-HSM").await;
    let r = s
        .answer(&roles.verifier, &id, answer(&device, &request).unwrap())
        .await
        .expect(200);
    assert_eq!(r["sealState"], "broken", "{r}");
    assert_eq!(r["lotActive"], false);
    let bra = device
        .revocation_attestation(&did, RevocationReason::TamperDetected, Timestamp::now_utc())
        .unwrap();
    assert!(RevocationAttestation::verify(&bra, &public).is_ok());
    device.key().destroy().unwrap();
    assert!(matches!(answer(&device, &request), Err(SealError::Sign(_))));
    assert!(!s.active_ids().await.contains(&"LOT-HSM".to_owned()));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_rotation_window() {
    // The vendor moved to a new root; the old one is retiring. Vendor `acme-seals` keeps it
    // in a window still open, `acme-closed` in a window that has closed.
    let old = Pki::new();
    let new = Pki::new();
    let firmware = json!([{"measurement": firmware()}]);
    let trust = json!({
        "format": "cphar-vendor-trust/1",
        "vendors": [{
            "id": VENDOR,
            "roots": [new.root_pem()],
            "retiring_roots": [{"root": old.root_pem(), "until": "2099-01-01T00:00:00Z"}],
            "firmware": firmware,
        }, {
            "id": "acme-closed",
            "roots": [new.root_pem()],
            "retiring_roots": [{"root": old.root_pem(), "until": "2000-01-01T00:00:00Z"}],
            "firmware": firmware,
        }]
    });
    let s = Server::start(
        &new,
        Options {
            trust_file: Some(trust.to_string()),
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;

    // New root: active. Old root inside its window: grace, logged with the chain id and the
    // selected certificate.
    let current = s
        .post(
            "/seals",
            Some(&roles.vendor),
            &new.device("SEAL-NEW").register_body(),
        )
        .await
        .expect(201);
    assert_eq!(current["certificate"]["rotationState"], "active");
    let graced = s
        .post(
            "/seals",
            Some(&roles.vendor),
            &old.device("SEAL-OLD").register_body(),
        )
        .await
        .expect(201);
    assert_eq!(graced["certificate"]["rotationState"], "grace");
    assert_ne!(
        graced["certificate"]["chainId"],
        current["certificate"]["chainId"]
    );
    let history = s
        .get("/seals/SEAL-OLD", Some(&roles.auditor))
        .await
        .expect(200);
    let event = &history["history"][0]["data"];
    assert_eq!(event["rotationState"], "grace", "{history}");
    assert_eq!(event["selectedCertSerial"], graced["certificate"]["serial"]);
    assert_eq!(event["chainId"], graced["certificate"]["chainId"]);

    // Outside the window: refused.
    let mut late = old.device("SEAL-LATE");
    late.vendor = "acme-closed";
    s.post("/seals", Some(&roles.vendor), &late.register_body())
        .await
        .problem(422, "outside_rotation_window");
    s.stop().await;
}
