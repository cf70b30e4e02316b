//! Seed 000 through real HTTP: register → inspect (+ custody) → bind → sign-off → challenge →
//! attested; tamper revocation breaks the seal; retirement; decommissioning; then the audit log
//! verified offline and the transparency proofs checked with the identity key.

use crate::harness::*;
use cphar_audit::transparency::{self, Proven};
use cphar_protocol::DidDocument;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_whole_lifecycle() {
    run_sqlite(whole_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_whole_lifecycle() {
    run_postgres("postgres_whole_lifecycle", whole_lifecycle).await;
}

fn did_doc(r: &Resp) -> DidDocument {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type(), "application/did+json");
    DidDocument::from_value(r.json()).unwrap()
}

async fn whole_lifecycle(backend: Backend) {
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
    let identity = s.identity();

    // Registration (vendor) → Registered; the wrong role and a bad chain are refused.
    let seal_a = pki.device("SEAL-A");
    s.post("/seals", Some(&roles.operator), &seal_a.register_body())
        .await
        .problem(403, "role_not_allowed");
    let mut bad = seal_a.register_body();
    bad["certificateChainPem"] = json!(pki.device("OTHER").chain_pem);
    let r = s.post("/seals", Some(&roles.vendor), &bad).await;
    assert!(
        r.status == 422 && r.reason().is_some(),
        "a chain for another key: {} {}",
        r.status,
        r.text()
    );
    let r = s
        .post("/seals", Some(&roles.vendor), &seal_a.register_body())
        .await;
    let body = r.expect(201);
    assert_eq!(body["state"], "registered");
    assert_eq!(body["lotId"], Value::Null);
    s.post("/seals", Some(&roles.vendor), &seal_a.register_body())
        .await
        .problem(409, "duplicate_device_uid");
    assert_eq!(s.seal_state(&roles, "SEAL-A").await, "registered");

    // Inspection (inspector) → Inspected; custody between inspection and sealing.
    let r = s
        .post(
            "/inspections",
            Some(&roles.inspector),
            &inspection_body("LOT-A", "SEAL-A"),
        )
        .await;
    let body = r.expect(201);
    assert_eq!(body["lotId"], "LOT-A");
    assert!(body["inspectionId"].is_string());
    assert_eq!(s.seal_state(&roles, "SEAL-A").await, "inspected");
    s.post("/custody", Some(&roles.inspector), &custody_body("LOT-A"))
        .await
        .expect(201);
    s.post("/custody", Some(&roles.operator), &custody_body("LOT-A"))
        .await
        .expect(201);
    s.post("/custody", Some(&roles.verifier), &custody_body("LOT-A"))
        .await
        .problem(403, "role_not_allowed");

    // Binding (operator) → Sealed; bound but not signed off: not in the active set.
    let r = s
        .post("/lots/LOT-A/bind", Some(&roles.operator), &json!({}))
        .await;
    let binding = r.expect(201);
    let method_a = binding["id"].as_str().unwrap().to_owned();
    assert_eq!(s.method(&roles, "LOT-A").await, method_a);
    assert_eq!(s.seal_state(&roles, "SEAL-A").await, "sealed");
    assert!(
        !s.active_ids().await.contains(&"LOT-A".to_owned()),
        "bound without sign-off is not active"
    );
    // Custody is only recorded between inspection and sealing.
    s.post("/custody", Some(&roles.operator), &custody_body("LOT-A"))
        .await
        .problem(409, "invalid_lot_state");

    // Sign-off: not by the binding operator's role, and only once; then the lot is active.
    s.post("/lots/LOT-A/sign-off", Some(&roles.operator), &json!({}))
        .await
        .problem(403, "role_not_allowed");
    let r = s
        .post("/lots/LOT-A/sign-off", Some(&roles.auditor), &json!({}))
        .await;
    assert_eq!(r.expect(200)["active"], true);
    s.post("/lots/LOT-A/sign-off", Some(&roles.auditor), &json!({}))
        .await
        .problem(409, "already_signed_off");
    assert!(s.active_ids().await.contains(&"LOT-A".to_owned()));
    let lot = s.lot(&roles, "LOT-A").await;
    assert_eq!(lot["lot"]["state"], "bound");
    assert_eq!(lot["inspections"].as_array().unwrap().len(), 1);
    assert_eq!(lot["custody"].as_array().unwrap().len(), 2);
    let lot_did = lot["lot"]["did"].as_str().unwrap().to_owned();

    // The DID document (public), version 1, with the seal's key as the binding method.
    let doc = did_doc(&s.get("/lots/LOT-A/did.json", None).await);
    assert_eq!(doc.id(), lot_did);
    assert_eq!(doc.version_id(), "1");
    assert_eq!(doc.binding_methods().len(), 1);
    assert_eq!(doc.binding_methods()[0].id, method_a);
    assert_eq!(doc.binding_methods()[0].jwk.to_json(), seal_a.jwk);
    assert!(doc.binding_methods()[0].revoked.is_none());

    // A checkpoint now, to prove consistency with the later log.
    let early = s.get("/audit/checkpoint", None).await;
    assert_eq!(early.status, 200);
    let early_note = early.text();
    let origin = transparency::origin(HOST);
    let early_info = transparency::open(&early_note, &origin, &identity).unwrap();

    // Challenge (verifier) → the software seal answers → valid, Attested.
    let (id, request) = s.challenge(&roles.verifier, "LOT-A").await;
    assert_eq!(request["did"], lot_did.as_str());
    assert_eq!(
        request["nonce"].as_str().unwrap().len(),
        43,
        "a 32-byte base64url nonce"
    );
    let r = s
        .answer(&roles.verifier, &id, seal_a.respond(&request, &method_a))
        .await;
    let result = r.expect(200);
    assert_eq!(result["result"], "valid", "{result}");
    assert_eq!(result["sealState"], "attested");
    assert_eq!(result["bindingMethod"], method_a.as_str());
    assert_eq!(result["bal"], "BAL-2");
    assert_eq!(result["challengeId"], id.as_str());
    assert_eq!(s.seal_state(&roles, "SEAL-A").await, "attested");
    assert!(s.active_ids().await.contains(&"LOT-A".to_owned()));

    // A second lot, active, for the retirement below.
    let seal_b = s.active_lot(&pki, &roles, "LOT-B", "SEAL-B").await;
    let method_b = s.method(&roles, "LOT-B").await;
    assert!(s.active_ids().await.contains(&"LOT-B".to_owned()));

    // Tamper: the operator revokes → the seal is Broken, the lot leaves the active set.
    s.post(
        "/lots/LOT-A/revoke",
        Some(&roles.operator),
        &json!({"reason": "no_such_reason"}),
    )
    .await
    .problem(422, "invalid_input");
    s.post(
        "/lots/LOT-A/revoke",
        Some(&roles.auditor),
        &json!({"reason": "tamper_detected"}),
    )
    .await
    .problem(403, "role_not_allowed");
    let r = s
        .post(
            "/lots/LOT-A/revoke",
            Some(&roles.operator),
            &json!({"reason": "tamper_detected"}),
        )
        .await;
    assert_eq!(r.expect(200)["active"], false);
    assert_eq!(s.seal_state(&roles, "SEAL-A").await, "broken");
    assert!(!s.active_ids().await.contains(&"LOT-A".to_owned()));
    // The latest DID document marks the method revoked; ?versionId=1 is the older one.
    let latest = did_doc(&s.get("/lots/LOT-A/did.json", None).await);
    assert_eq!(latest.version_id(), "2");
    let revoked = latest.binding_methods()[0]
        .revoked
        .as_ref()
        .expect("the method is marked revoked");
    assert_eq!(revoked.reason.as_str(), "tamper_detected");
    let v1 = did_doc(&s.get("/lots/LOT-A/did.json?versionId=1", None).await);
    assert_eq!(v1.version_id(), "1");
    assert!(v1.binding_methods()[0].revoked.is_none());
    s.get("/lots/LOT-A/did.json?versionId=99", None)
        .await
        .problem(404, "version_unavailable");
    let r = s.get("/lots/NO-SUCH-LOT/did.json", None).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.reason().is_some());

    // A new challenge answered by the broken seal's key: revoked_binding.
    let (id, request) = s.challenge(&roles.verifier, "LOT-A").await;
    let r = s
        .answer(&roles.verifier, &id, seal_a.respond(&request, &method_a))
        .await;
    let result = r.expect(200);
    assert_eq!(result["result"], "revoked_binding", "{result}");
    assert_eq!(result["detail"], "tamper_detected");
    assert!(
        result.get("sealState").is_none(),
        "nothing attested: {result}"
    );
    assert_eq!(s.seal_state(&roles, "SEAL-A").await, "broken");

    // Re-inspected and resealed with a new seal, the lot returns to the active set (same DID).
    let seal_a2 = pki.device("SEAL-A2");
    s.post("/seals", Some(&roles.vendor), &seal_a2.register_body())
        .await
        .expect(201);
    s.post(
        "/inspections",
        Some(&roles.inspector),
        &inspection_body("LOT-A", "SEAL-A2"),
    )
    .await
    .expect(201);
    s.post("/custody", Some(&roles.inspector), &custody_body("LOT-A"))
        .await
        .expect(201);
    let method_a2 = s
        .post("/lots/LOT-A/bind", Some(&roles.operator), &json!({}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(method_a2, method_a);
    // Separation of duties: neither the binding operator nor the inspector may sign off, even
    // holding an auditor token.
    for subject in ["operator-1", "inspector-1"] {
        let twin = s.token("auditor", subject).await;
        s.post("/lots/LOT-A/sign-off", Some(&twin), &json!({}))
            .await
            .problem(403, "separation_of_duties");
    }
    assert!(!s.active_ids().await.contains(&"LOT-A".to_owned()));
    s.post("/lots/LOT-A/sign-off", Some(&roles.auditor), &json!({}))
        .await
        .expect(200);
    assert!(s.active_ids().await.contains(&"LOT-A".to_owned()));
    let doc = did_doc(&s.get("/lots/LOT-A/did.json", None).await);
    assert_eq!(doc.id(), lot_did);
    assert_eq!(doc.version_id(), "3");
    let methods: Vec<(&str, bool)> = doc
        .binding_methods()
        .iter()
        .map(|m| (m.id.as_str(), m.revoked.is_some()))
        .collect();
    assert_eq!(
        methods,
        vec![(method_a.as_str(), true), (method_a2.as_str(), false)]
    );
    let (id, request) = s.challenge(&roles.verifier, "LOT-A").await;
    let result = s
        .answer(&roles.verifier, &id, seal_a2.respond(&request, &method_a2))
        .await
        .expect(200);
    assert_eq!(
        (result["result"].as_str(), result["sealState"].as_str()),
        (Some("valid"), Some("attested")),
        "{result}"
    );
    // The broken seal's key does not pass for the resealed lot.
    let (id, request) = s.challenge(&roles.verifier, "LOT-A").await;
    let result = s
        .answer(&roles.verifier, &id, seal_a.respond(&request, &method_a))
        .await
        .expect(200);
    assert_ne!(result["result"], "valid", "{result}");
    assert_eq!(s.seal_state(&roles, "SEAL-A").await, "broken");

    // Retirement (device_replacement) of LOT-B's seal: it can no longer attest.
    s.post(
        "/lots/LOT-B/retire",
        Some(&roles.operator),
        &json!({"reason": "tamper_detected"}),
    )
    .await
    .problem(422, "reason_not_allowed");
    let r = s
        .post(
            "/lots/LOT-B/retire",
            Some(&roles.operator),
            &json!({"reason": "device_replacement"}),
        )
        .await;
    assert_eq!(r.expect(200)["active"], false);
    assert_eq!(s.seal_state(&roles, "SEAL-B").await, "retired");
    assert!(!s.active_ids().await.contains(&"LOT-B".to_owned()));
    let (id, request) = s.challenge(&roles.verifier, "LOT-B").await;
    let result = s
        .answer(&roles.verifier, &id, seal_b.respond(&request, &method_b))
        .await
        .expect(200);
    assert_eq!(result["result"], "revoked_binding", "{result}");
    assert_eq!(result["detail"], "device_replacement");
    assert_eq!(s.seal_state(&roles, "SEAL-B").await, "retired");

    // Rebinding: LOT-C's seal is replaced by a re-inspected one, the lot keeps its DID; the
    // new binding needs its own sign-off; the old seal is retired and cannot attest.
    let seal_c = s.active_lot(&pki, &roles, "LOT-C", "SEAL-C").await;
    let method_c = s.method(&roles, "LOT-C").await;
    let seal_c2 = pki.device("SEAL-C2");
    s.post("/seals", Some(&roles.vendor), &seal_c2.register_body())
        .await
        .expect(201);
    s.post(
        "/inspections",
        Some(&roles.inspector),
        &inspection_body("LOT-C", "SEAL-C2"),
    )
    .await
    .expect(201);
    s.post(
        "/lots/LOT-C/rebind",
        Some(&roles.operator),
        &json!({"reason": "binding_upgraded"}),
    )
    .await
    .problem(422, "reason_not_allowed");
    s.post(
        "/lots/LOT-C/rebind",
        Some(&roles.operator),
        &json!({"reason": "tamper_detected"}),
    )
    .await
    .problem(422, "reason_not_allowed");
    let r = s
        .post(
            "/lots/LOT-C/rebind",
            Some(&roles.operator),
            &json!({"reason": "device_replacement"}),
        )
        .await;
    let method_c2 = r.expect(201)["id"].as_str().unwrap().to_owned();
    assert_ne!(method_c2, method_c);
    assert_eq!(s.seal_state(&roles, "SEAL-C").await, "retired");
    assert_eq!(s.seal_state(&roles, "SEAL-C2").await, "sealed");
    assert!(
        !s.active_ids().await.contains(&"LOT-C".to_owned()),
        "a rebinding awaits sign-off"
    );
    s.post("/lots/LOT-C/sign-off", Some(&roles.auditor), &json!({}))
        .await
        .expect(200);
    assert!(s.active_ids().await.contains(&"LOT-C".to_owned()));
    let doc = did_doc(&s.get("/lots/LOT-C/did.json", None).await);
    let methods: Vec<(&str, Option<&str>)> = doc
        .binding_methods()
        .iter()
        .map(|m| (m.id.as_str(), m.revoked.as_ref().map(|r| r.reason.as_str())))
        .collect();
    assert_eq!(
        methods,
        vec![
            (method_c.as_str(), Some("device_replacement")),
            (method_c2.as_str(), None)
        ]
    );
    let (id, request) = s.challenge(&roles.verifier, "LOT-C").await;
    let result = s
        .answer(&roles.verifier, &id, seal_c2.respond(&request, &method_c2))
        .await
        .expect(200);
    assert_eq!(result["result"], "valid", "{result}");
    assert_eq!(s.seal_state(&roles, "SEAL-C2").await, "attested");
    let (id, request) = s.challenge(&roles.verifier, "LOT-C").await;
    let result = s
        .answer(&roles.verifier, &id, seal_c.respond(&request, &method_c))
        .await
        .expect(200);
    assert_ne!(result["result"], "valid", "the replaced seal: {result}");
    // Closing the attestation cycle: Attested → Sealed, still active; not twice.
    let r = s
        .post("/lots/LOT-C/close-cycle", Some(&roles.operator), &json!({}))
        .await;
    assert_eq!(r.expect(200)["active"], true);
    assert_eq!(s.seal_state(&roles, "SEAL-C2").await, "sealed");
    s.post("/lots/LOT-C/close-cycle", Some(&roles.operator), &json!({}))
        .await
        .problem(409, "invalid_seal_transition");

    // Decommissioning ends the lots' lives (and only once).
    for lot in ["LOT-A", "LOT-B", "LOT-C"] {
        let r = s
            .post(
                &format!("/lots/{lot}/decommission"),
                Some(&roles.operator),
                &json!({}),
            )
            .await;
        assert_eq!(r.expect(200)["state"], "decommissioned");
        s.post(
            &format!("/lots/{lot}/decommission"),
            Some(&roles.operator),
            &json!({}),
        )
        .await
        .problem(409, "invalid_lot_state");
    }
    let revocations = s.get("/status/revocations/entries", None).await.expect(200);
    assert_eq!(revocations["issuer"], format!("did:web:{HOST}"));
    let listed: Vec<(String, String)> = revocations["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["bindingMethod"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        listed.contains(&(method_a.clone(), "tamper_detected".to_owned())),
        "{listed:?}"
    );
    assert!(
        listed.contains(&(method_b.clone(), "device_replacement".to_owned())),
        "{listed:?}"
    );
    // Paged: one at a time, following `next`, the same list in the same order.
    let mut paged = Vec::new();
    let mut path = "/status/revocations/entries?limit=1".to_owned();
    loop {
        let page = s.get(&path, None).await.expect(200);
        let items = page["revoked"].as_array().unwrap();
        assert!(items.len() <= 1, "{page}");
        paged.extend(
            items
                .iter()
                .map(|r| r["bindingMethod"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => {
                let next = next.replace('%', "%25").replace('#', "%23");
                path = format!("/status/revocations/entries?limit=1&after={next}");
            }
            None => break,
        }
    }
    let all: Vec<String> = listed.iter().map(|(m, _)| m.clone()).collect();
    assert_eq!(paged, all);
    assert!(
        listed.contains(&(method_a2.clone(), "object_decommissioned".to_owned())),
        "{listed:?}"
    );
    assert!(
        listed.contains(&(method_c.clone(), "device_replacement".to_owned())),
        "{listed:?}"
    );
    assert!(
        listed.contains(&(method_c2.clone(), "object_decommissioned".to_owned())),
        "{listed:?}"
    );
    assert_eq!(listed.len(), 5, "{listed:?}");
    assert_eq!(s.seal_state(&roles, "SEAL-A2").await, "retired");
    assert!(s.active_ids().await.is_empty());

    // The audit log, exported over HTTP and verified offline: every event, chain valid.
    let export = s.audit_export().await;
    let report = cphar_audit::verify_export(&export, Some(&identity))
        .unwrap_or_else(|e| panic!("audit log: {e}"));
    let types = event_types(&export);
    assert_eq!(report.entries as usize, types.len());
    assert_eq!(report.epochs.len(), 1);
    for wanted in [
        "audit_key_epoch",
        "authority_created",
        "token_created",
        "seal_registered",
        "lot_inspected",
        "custody_recorded",
        "seal_bound",
        "did_document_published",
        "binding_signed_off",
        "seal_attested",
        "binding_revoked",
        "verification_recorded",
        "lot_decommissioned",
    ] {
        assert!(
            types.iter().any(|t| t == wanted),
            "no {wanted} event in {types:?}"
        );
    }
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(count("seal_registered"), 5);
    assert_eq!(count("lot_inspected"), 5);
    assert_eq!(count("custody_recorded"), 5);
    assert_eq!(count("seal_bound"), 5);
    assert_eq!(count("binding_signed_off"), 5);
    assert_eq!(count("seal_attested"), 3);
    assert_eq!(
        count("verification_recorded"),
        4,
        "every refused verification is recorded"
    );
    assert_eq!(count("lot_decommissioned"), 3);
    assert_eq!(count("attestation_cycle_closed"), 1);
    assert_eq!(
        count("token_created"),
        8,
        "admin + five role tokens + two twins"
    );
    assert_eq!(count("clone_suspected"), 0);

    // Transparency: a checkpoint, inclusion proofs, and consistency with the early checkpoint.
    let note = s.get("/audit/checkpoint", None).await;
    assert_eq!(note.status, 200);
    assert!(note.content_type().starts_with("text/plain"));
    let info = transparency::open(&note.text(), &origin, &identity).unwrap();
    assert!(
        info.size >= report.entries,
        "checkpoint size {} < {}",
        info.size,
        report.entries
    );
    let lines: Vec<&[u8]> = export
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let size = lines.len() as u64;
    for seq in [0, 1, size / 2, size - 1] {
        let bundle = s
            .get(&format!("/audit/proof/{seq}"), Some(&s.admin))
            .await
            .expect(200);
        assert_eq!(
            bundle["entry"].as_str().unwrap().as_bytes(),
            lines[seq as usize]
        );
        match transparency::check_bundle(&bundle, &identity, None).unwrap() {
            Proven::Included { index, checkpoint } => {
                assert_eq!(index, seq);
                assert_eq!(checkpoint.origin, origin);
            }
            other => panic!("not an inclusion proof: {other:?}"),
        }
        // A tampered bundle is refused.
        let mut forged = bundle.clone();
        forged["entry"] = json!(String::from_utf8_lossy(lines[((seq + 1) % size) as usize]));
        assert!(transparency::check_bundle(&forged, &identity, None).is_err());
    }
    s.get(&format!("/audit/proof/{}", size + 1000), None)
        .await
        .problem(404, "no_such_entry");
    // Consistency from nothing, from the whole log, from beyond it: never a 5xx.
    for from in [0, size, size + 5] {
        let r = s
            .get(&format!("/audit/consistency?from={from}"), None)
            .await;
        assert!(r.status < 500, "from={from}: {} {}", r.status, r.text());
        if r.status >= 400 {
            assert!(r.reason().is_some(), "from={from}: {}", r.text());
        }
        eprintln!(
            "consistency from={from}: {} {}",
            r.status,
            r.reason().unwrap_or_default()
        );
    }
    let bundle = s
        .get(
            &format!("/audit/consistency?from={}", early_info.size),
            None,
        )
        .await
        .expect(200);
    match transparency::check_bundle(&bundle, &identity, Some(&early_note)).unwrap() {
        Proven::Consistent {
            old_size,
            checkpoint,
        } => {
            assert_eq!(old_size, early_info.size);
            assert!(checkpoint.size >= size);
        }
        other => panic!("not a consistency proof: {other:?}"),
    }
    // Another identity key does not open the checkpoints.
    let stranger = cphar_crypto::SigningKey::generate(cphar_crypto::Algorithm::Ed25519)
        .unwrap()
        .verifying_key();
    assert!(transparency::check_bundle(&bundle, &stranger, None).is_err());

    s.stop().await;
}

/// The EA key named `vm` in the registry's DID document.
async fn ea_key(s: &Server, vm: &str) -> cphar_crypto::VerifyingKey {
    let doc = s.get("/.well-known/did.json", None).await.expect(200);
    let jwk = doc["verificationMethod"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == vm)
        .unwrap_or_else(|| panic!("{vm} not in {doc}"))["publicKeyJwk"]
        .clone();
    cphar_crypto::VerifyingKey::from_jwk(&cphar_crypto::Jwk::from_json(&jwk).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_each_bea_names_a_signed_status_list_whose_bit_flips_when_the_binding_ends() {
    run_sqlite(status_list_flips).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_each_bea_names_a_signed_status_list_whose_bit_flips_when_the_binding_ends() {
    run_postgres("postgres_status_list", status_list_flips).await;
}

async fn status_list_flips(backend: Backend) {
    use cphar_registry::{bea, status_list};
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
    s.active_lot(&pki, &roles, "LOT-S1", "SEAL-S1").await;
    s.active_lot(&pki, &roles, "LOT-S2", "SEAL-S2").await;

    // Each BEA carries its own slot, inside what the EA signed.
    let mut slots = Vec::new();
    let mut vm = String::new();
    for lot in ["LOT-S1", "LOT-S2"] {
        let body = s.lot(&roles, lot).await;
        let credential = body["bindings"][0]["bea"].clone();
        let status = &credential["credentialStatus"];
        assert_eq!(status["type"], "BitstringStatusListEntry", "{credential}");
        assert_eq!(status["statusPurpose"], "revocation");
        assert_eq!(
            status["statusListCredential"],
            format!("https://{HOST}/status/revocations/0")
        );
        vm = credential["proof"]["verificationMethod"]
            .as_str()
            .unwrap()
            .to_owned();
        let key = ea_key(&s, &vm).await;
        bea::verify(&credential, &key, &vm).unwrap();
        let mut unstatused = credential.clone();
        unstatused["credentialStatus"]["statusListIndex"] = json!("7777");
        assert!(bea::verify(&unstatused, &key, &vm).is_err());
        slots.push(
            status["statusListIndex"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
    }
    assert_ne!(slots[0], slots[1], "one slot per binding");
    let key = ea_key(&s, &vm).await;

    let read = |list: Value| status_list::verify(&list, &key, &vm).unwrap();
    let before = read(s.get("/status/revocations", None).await.expect(200));
    assert!(!before.is_set(slots[0]).unwrap() && !before.is_set(slots[1]).unwrap());

    s.post(
        "/lots/LOT-S1/revoke",
        Some(&roles.operator),
        &json!({"reason": "tamper_detected"}),
    )
    .await
    .expect(200);
    let list = s.get("/status/revocations/0", None).await.expect(200);
    let after = read(list.clone());
    assert!(after.is_set(slots[0]).unwrap(), "the revoked binding's bit");
    assert!(!after.is_set(slots[1]).unwrap(), "the live binding's bit");
    assert_eq!(list["issuer"], format!("did:web:{HOST}"));

    // A list changed in transit, or signed by another key, is refused.
    let mut forged = list.clone();
    let encoded = forged["credentialSubject"]["encodedList"]
        .as_str()
        .unwrap()
        .to_owned();
    let clean = read(s.get("/status/revocations/0", None).await.expect(200));
    assert!(clean.is_set(slots[0]).unwrap());
    forged["credentialSubject"]["encodedList"] = json!(before_list_encoding(&encoded));
    assert!(status_list::verify(&forged, &key, &vm).is_err());
    let other = cphar_crypto::SigningKey::generate(cphar_crypto::Algorithm::Ed25519).unwrap();
    assert!(status_list::verify(&list, &other.verifying_key(), &vm).is_err());
    // Lists past the last allocated slot do not exist.
    s.get("/status/revocations/1", None)
        .await
        .problem(404, "status_list_not_found");
    s.stop().await;
}

/// `encoded` with one character changed (still base64url).
fn before_list_encoding(encoded: &str) -> String {
    let mut chars: Vec<char> = encoded.chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
