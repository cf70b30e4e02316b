//! Authenticated device status through HTTP: the registry advertises `cpharStatusSignature`
//! for its bindings, so an answer whose `deviceStatus: tampered` was stripped in transit is
//! not valid and attests nothing; the genuine tamper report stays a tamper report.

use crate::harness::*;
use cphar_crypto::SigningKey;
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{Bal, ChallengeRequest, DeviceStatus, Timestamp};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stripped_tamper_report_is_not_valid() {
    run_sqlite(stripped_tamper_report_is_not_valid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stripped_tamper_report_is_not_valid() {
    run_postgres(
        "postgres_stripped_tamper_report_is_not_valid",
        stripped_tamper_report_is_not_valid,
    )
    .await;
}

fn respond_tampered(seal: &Seal, request: &Value, method: &str) -> serde_json::Map<String, Value> {
    let request = ChallengeRequest::from_value(request.clone()).unwrap();
    let key = SigningKey::from_pkcs8_der(&seal.pkcs8).unwrap();
    let mut device = SoftwareSeal::new(key, method.to_owned(), Bal::Bal2);
    device.set_status(DeviceStatus::Tampered);
    let response = device.respond(&request, Timestamp::now_utc()).unwrap();
    response.raw().as_object().unwrap().clone()
}

async fn stripped_tamper_report_is_not_valid(backend: Backend) {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            database_url: backend.database_url(),
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    let seal = s.active_lot(&pki, &roles, "LOT-S", "SEAL-S").await;
    let method = s.method(&roles, "LOT-S").await;
    let doc = s.get("/lots/LOT-S/did.json", None).await.expect(200);
    assert_eq!(
        doc["verificationMethod"][0]["cpharStatusSignature"],
        Value::Bool(true),
        "{doc}"
    );

    // The man in the middle removes `deviceStatus: tampered`.
    let (id, request) = s.challenge(&roles.verifier, "LOT-S").await;
    let mut stripped = respond_tampered(&seal, &request, &method);
    stripped.remove("deviceStatus");
    let r = s
        .answer(&roles.verifier, &id, serde_json::to_vec(&stripped).unwrap())
        .await
        .expect(200);
    assert_eq!(
        (&r["result"], &r["detail"]),
        (
            &Value::from("invalid_signature"),
            &Value::from("status_signature_mismatch")
        ),
        "{r}"
    );
    // …and the status signature with it.
    let (id, request) = s.challenge(&roles.verifier, "LOT-S").await;
    let mut bare = respond_tampered(&seal, &request, &method);
    bare.remove("deviceStatus");
    bare.remove("statusSignature");
    let r = s
        .answer(&roles.verifier, &id, serde_json::to_vec(&bare).unwrap())
        .await
        .expect(200);
    assert_eq!(
        (&r["result"], &r["detail"]),
        (
            &Value::from("verification_inconclusive"),
            &Value::from("status_signature_missing")
        ),
        "{r}"
    );
    assert_ne!(s.seal_state(&roles, "SEAL-S").await, "Attested");

    // The genuine tamper report is one.
    let (id, request) = s.challenge(&roles.verifier, "LOT-S").await;
    let genuine = respond_tampered(&seal, &request, &method);
    let r = s
        .answer(&roles.verifier, &id, serde_json::to_vec(&genuine).unwrap())
        .await
        .expect(200);
    assert_eq!(
        (&r["result"], &r["detail"]),
        (
            &Value::from("verification_inconclusive"),
            &Value::from("device_tampered")
        ),
        "{r}"
    );
    s.stop().await;
}
