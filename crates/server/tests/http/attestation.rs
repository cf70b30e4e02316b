//! Attestation through HTTP, and the active reserve set telling the truth:
//!
//! * a signed answer reporting `tampered` breaks the seal and takes the lot out of the set;
//! * a lot whose evidence lapses leaves the set with a reason, and returns with a valid answer;
//! * the policy in force denies or degrades, and never rolls back across a restart or across
//!   two servers on one PostgreSQL database;
//! * a verifier asks in the name of the DID bound to its token, never one from the body.

use crate::harness::*;
use cphar_protocol::DeviceStatus;
use serde_json::{Value, json};

fn history_types(lot: &Value) -> Vec<String> {
    lot["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_answer_breaks_the_seal() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let seal = s.active_lot(&pki, &roles, "LOT-T", "SEAL-T").await;
    let method = s.method(&roles, "LOT-T").await;
    assert!(s.active_ids().await.contains(&"LOT-T".to_owned()));

    // An impostor's tamper claim breaks nothing.
    let impostor = pki.device("SEAL-X");
    let (id, request) = s.challenge(&roles.verifier, "LOT-T").await;
    let body = impostor.respond_with(&request, &method, DeviceStatus::Tampered);
    let r = s.answer(&roles.verifier, &id, body).await.expect(200);
    assert_eq!(r["detail"], "signature_mismatch", "{r}");
    assert_eq!(s.seal_state(&roles, "SEAL-T").await, "sealed");
    assert!(s.active_ids().await.contains(&"LOT-T".to_owned()));

    // The seal's own signed report: Broken, out of the set, the answer kept as evidence.
    let (id, request) = s.challenge(&roles.verifier, "LOT-T").await;
    let body = seal.respond_with(&request, &method, DeviceStatus::Tampered);
    let r = s
        .answer(&roles.verifier, &id, body.clone())
        .await
        .expect(200);
    assert_eq!(r["result"], "verification_inconclusive", "{r}");
    assert_eq!(r["detail"], "device_tampered");
    assert_eq!(r["sealState"], "broken");
    assert_eq!(r["lotActive"], false);
    assert_eq!(s.seal_state(&roles, "SEAL-T").await, "broken");
    assert!(!s.active_ids().await.contains(&"LOT-T".to_owned()));
    let lot = s.lot(&roles, "LOT-T").await;
    assert_eq!(lot["lot"]["state"], "unsealed");
    let history = lot["history"].as_array().unwrap();
    let revoked = history
        .iter()
        .find(|e| e["eventType"] == "binding_revoked")
        .expect("a revocation event");
    assert_eq!(revoked["reasonCode"], "tamper_detected");
    let kept = history
        .iter()
        .find(|e| e["data"]["tamperReport"].is_object())
        .expect("the tamper report kept");
    assert_eq!(
        kept["data"]["tamperReport"]["answer"]
            .as_str()
            .unwrap()
            .as_bytes(),
        body.as_slice()
    );
    // The lot's DID document says so.
    let doc = s.get("/lots/LOT-T/did.json", None).await.expect(200);
    let vm = &doc["verificationMethod"][0];
    assert_eq!(vm["revoked"]["reason"], "tamper_detected", "{doc}");
    s.stop().await;
}

/// With a 1 s cadence and 1 s grace and the scheduler on, a lot nobody attests leaves the active
/// set (waiting on the condition, never on a fixed delay), and returns after a valid answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_lot_leaves_the_set_and_returns() {
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            scheduler_interval_seconds: 1,
            attestation_cadence_seconds: 1,
            attestation_grace_seconds: 1,
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    let seal = s.active_lot(&pki, &roles, "LOT-Q", "SEAL-Q").await;
    let method = s.method(&roles, "LOT-Q").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let lot = s.lot(&roles, "LOT-Q").await;
        if lot["lot"]["active"] == false {
            assert_eq!(
                lot["lot"]["lapse"]["reason"], "attestation_overdue",
                "{lot}"
            );
            assert!(history_types(&lot).contains(&"lot_lapsed".to_owned()));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lot never lapsed: {lot}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(!s.active_ids().await.contains(&"LOT-Q".to_owned()));

    // A valid answer brings it back, in the same transaction as the attestation.
    let (id, request) = s.challenge(&roles.verifier, "LOT-Q").await;
    let r = s
        .answer(&roles.verifier, &id, seal.respond(&request, &method))
        .await
        .expect(200);
    assert_eq!(r["result"], "valid", "{r}");
    assert_eq!(r["lotActive"], true, "{r}");
    let lot = s.lot(&roles, "LOT-Q").await;
    assert!(history_types(&lot).contains(&"lot_restored".to_owned()));
    s.stop().await;
}

const POLICY_V1: &str = r#"
policy_id = "reserve"
version = 1
[[rules]]
id = "deny-all-copper"
when = { commodity = "copper cathode" }
effect = "deny"
reason_code = "copper_frozen"
"#;

fn policy_json(version: u64, effect: &str) -> Value {
    json!({
        "policy_id": "reserve",
        "version": version,
        "rules": [{
            "id": format!("copper-{effect}"),
            "when": {"commodity": "copper cathode"},
            "effect": effect,
            "reason_code": format!("copper_{effect}"),
        }],
    })
}

async fn put_policy(s: &Server, policy: &Value) -> Resp {
    put_policy_as(s, &s.admin, policy).await
}

async fn put_policy_as(s: &Server, token: &str, policy: &Value) -> Resp {
    s.call(
        "PUT",
        "/policy",
        Some(token),
        Some("application/json"),
        policy.to_string().into_bytes(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_denies_degrades_and_survives_a_restart() {
    let pki = Pki::new();
    let options = Options {
        policy: Some(POLICY_V1.to_owned()),
        ..Options::default()
    };
    let s = Server::start(&pki, options.clone()).await;
    let roles = s.roles().await;
    let seal = s.active_lot(&pki, &roles, "LOT-P", "SEAL-P").await;
    let method = s.method(&roles, "LOT-P").await;

    // Deny: valid, recorded, nothing attested.
    let (id, request) = s.challenge(&roles.verifier, "LOT-P").await;
    let r = s
        .answer(&roles.verifier, &id, seal.respond(&request, &method))
        .await
        .expect(200);
    assert_eq!(r["result"], "valid", "{r}");
    assert_eq!(r["decision"], "deny");
    assert_eq!(r["policy"]["reason_code"], "copper_frozen");
    assert!(r.get("sealState").is_none(), "{r}");
    assert_eq!(s.seal_state(&roles, "SEAL-P").await, "sealed");

    // Version 2 degrades: attested, the decision recorded.
    let r = put_policy(&s, &policy_json(2, "degrade")).await.expect(200);
    assert_eq!(r["new_policy_version"], 2);
    assert_eq!(r["old_policy_version"], 1);
    let (id, request) = s.challenge(&roles.verifier, "LOT-P").await;
    let r = s
        .answer(&roles.verifier, &id, seal.respond(&request, &method))
        .await
        .expect(200);
    assert_eq!(r["decision"], "degrade", "{r}");
    assert_eq!(r["sealState"], "attested");
    let history = history_types(&s.lot(&roles, "LOT-P").await);
    assert!(
        history.contains(&"policy_decision".to_owned()),
        "{history:?}"
    );
    // Not an older or equal version, and only an admin.
    put_policy(&s, &policy_json(2, "allow"))
        .await
        .problem(409, "policy_version_not_newer");
    s.call(
        "PUT",
        "/policy",
        Some(&roles.operator),
        Some("application/json"),
        policy_json(3, "allow").to_string().into_bytes(),
    )
    .await
    .problem(403, "role_not_allowed");

    // Restarted with the version 1 file: version 2 stays in force; 1 and 2 stay refused.
    let admin = s.admin.clone();
    let s = s.restart(&pki, options).await;
    let p = s.get("/policy", Some(&roles.auditor)).await.expect(200);
    assert_eq!(p["version"], 2, "{p}");
    put_policy_as(&s, &admin, &policy_json(1, "allow"))
        .await
        .problem(409, "policy_version_not_newer");
    put_policy_as(&s, &admin, &policy_json(3, "allow"))
        .await
        .expect(200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_policy_is_shared_and_never_rolls_back() {
    run_postgres(
        "postgres_policy_is_shared_and_never_rolls_back",
        |backend| async move {
            let pki = Pki::new();
            let url = backend.database_url();
            let a = Server::start(
                &pki,
                Options {
                    database_url: url.clone(),
                    policy: Some(POLICY_V1.to_owned()),
                    ..Options::default()
                },
            )
            .await;
            let b = Server::start(
                &pki,
                Options {
                    database_url: url,
                    keys_from: Some(a.data_dir.clone()),
                    policy: Some(POLICY_V1.to_owned()),
                    ..Options::default()
                },
            )
            .await;
            let admin = a.admin.clone();
            let allow = |v: u64| policy_json(v, "allow");
            put_policy_as(&a, &admin, &allow(5)).await.expect(200);
            // B decides with A's policy and refuses what A's marks refuse.
            let p = b.get("/policy", Some(&admin)).await.expect(200);
            assert_eq!(p["version"], 5, "{p}");
            put_policy_as(&b, &admin, &allow(4))
                .await
                .problem(409, "policy_version_not_newer");
            put_policy_as(&b, &admin, &allow(6)).await.expect(200);
            put_policy_as(&a, &admin, &allow(6))
                .await
                .problem(409, "policy_version_not_newer");
            a.stop().await;
            b.stop().await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_asks_only_in_its_own_name() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    s.active_lot(&pki, &roles, "LOT-V", "SEAL-V").await;
    // A DID in the body is refused, never used.
    s.post(
        "/challenges",
        Some(&roles.verifier),
        &json!({"lotId": "LOT-V", "verifier": "did:web:bank.example"}),
    )
    .await
    .problem(422, "invalid_input");
    // The request names the token's DID.
    let (_, request) = s.challenge(&roles.verifier, "LOT-V").await;
    assert_eq!(
        request["verifier"],
        format!("did:web:{HOST}:verifiers:verifier-1")
    );
    // A token made for a DID asks in that DID's name.
    let bank = s
        .token_with(&json!({
            "role": "verifier",
            "subject": "bank-desk",
            "verifierDid": "did:web:bank.example",
        }))
        .await;
    let (_, request) = s.challenge(&bank, "LOT-V").await;
    assert_eq!(request["verifier"], "did:web:bank.example");
    // Only verifier tokens carry a verifier DID; it must be a DID.
    s.post(
        "/tokens",
        Some(&s.admin),
        &json!({"role": "operator", "subject": "op-2", "verifierDid": "did:web:x.example"}),
    )
    .await
    .problem(422, "invalid_input");
    s.post(
        "/tokens",
        Some(&s.admin),
        &json!({"role": "verifier", "subject": "v-9", "verifierDid": "not a did"}),
    )
    .await
    .problem(422, "invalid_input");
    s.stop().await;
}
