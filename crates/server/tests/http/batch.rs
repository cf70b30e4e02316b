//! Bulk seal registration over HTTP (`POST /seals:batch`, JSON Lines): the per-line report,
//! the batch and an item's proof read back, the item proved against the root the audited
//! event states and that event proved against a signed checkpoint; both backends.

use crate::harness::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bulk_registration() {
    run_sqlite(bulk_registration).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bulk_registration() {
    run_postgres("postgres_bulk_registration", bulk_registration).await;
}

async fn bulk_registration(backend: Backend) {
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
    let m1 = pki.device("SEAL-M1");
    let m2 = pki.device("SEAL-M2");
    let mut clone = pki.device("SEAL-M3");
    clone.chain_pem.clone_from(&m1.chain_pem);
    clone.jwk.clone_from(&m1.jwk);
    let manifest = format!(
        "{}\nnot json\n{}\n{}\n",
        m1.register_body(),
        clone.register_body(),
        m2.register_body()
    );
    let ndjson = Some("application/x-ndjson");

    // Only vendors; only JSON Lines.
    s.call(
        "POST",
        "/seals:batch",
        Some(&roles.operator),
        ndjson,
        manifest.clone().into_bytes(),
    )
    .await
    .problem(403, "role_not_allowed");
    s.call(
        "POST",
        "/seals:batch",
        Some(&roles.vendor),
        Some("application/json"),
        manifest.clone().into_bytes(),
    )
    .await
    .problem(415, "unsupported_media_type");

    let report = s
        .call(
            "POST",
            "/seals:batch",
            Some(&roles.vendor),
            ndjson,
            manifest.into_bytes(),
        )
        .await
        .expect(200);
    assert_eq!(report["lines"], json!(4));
    assert_eq!(report["committed"], json!(true));
    assert_eq!(
        report["registered"],
        json!([{"line": 1, "index": 0, "uid": "SEAL-M1"}, {"line": 4, "index": 1, "uid": "SEAL-M2"}])
    );
    let refused: Vec<(u64, &str)> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reasonCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(refused, [(2, "invalid_input"), (3, "clone_suspected")]);
    assert_eq!(s.seal_state(&roles, "SEAL-M2").await, "registered");
    s.get("/seals/SEAL-M3", Some(&roles.auditor))
        .await
        .problem(404, "seal_not_found");

    // The batch and a proof of its second item.
    let id = report["batchId"].as_str().unwrap();
    let batch = s
        .get(&format!("/seals:batch/{id}"), Some(&roles.auditor))
        .await
        .expect(200);
    assert_eq!(batch["treeSize"], json!(2));
    assert_eq!(batch["merkleRoot"], report["merkleRoot"]);
    let p = s
        .get(&format!("/seals:batch/{id}/items/1"), Some(&roles.vendor))
        .await
        .expect(200);
    let b64 = |v: &serde_json::Value| -> [u8; 32] {
        cphar_crypto::b64::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let proof: Vec<[u8; 32]> = p["inclusionProof"]
        .as_array()
        .unwrap()
        .iter()
        .map(b64)
        .collect();
    let leaf = cphar_tlog::leaf_hash(p["item"].as_str().unwrap().as_bytes());
    cphar_tlog::verify_inclusion(1, 2, &leaf, &proof, &b64(&p["merkleRoot"])).unwrap();
    // The root is stated by the audited event, itself in the signed log.
    assert_eq!(p["event"]["data"]["merkleRoot"], p["merkleRoot"]);
    let seq = p["event"]["sequence"].as_u64().unwrap();
    s.get(&format!("/audit/proof/{seq}"), None)
        .await
        .expect(200);
    // Another vendor sees neither the batch nor its items.
    let other = s.token("vendor", "other-vendor").await;
    s.get(&format!("/seals:batch/{id}"), Some(&other))
        .await
        .problem(404, "batch_not_found");
    s.get(&format!("/seals:batch/{id}/items/1"), Some(&other))
        .await
        .problem(404, "batch_not_found");
    s.get(&format!("/seals:batch/{id}/items/2"), Some(&roles.vendor))
        .await
        .problem(404, "batch_not_found");
    s.get("/seals:batch/batch-none", Some(&roles.auditor))
        .await
        .problem(404, "batch_not_found");
    let export = s.audit_export().await;
    let types = event_types(&export);
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "seal_batch_registered")
            .count(),
        1
    );
    assert!(!types.iter().any(|t| t == "seal_registered"));
    cphar_audit::verify_export(&export, Some(&s.identity())).unwrap();
    s.stop().await;
}
