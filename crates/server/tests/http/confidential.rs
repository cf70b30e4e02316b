//! Confidential by default: an anonymous caller (and a role without read rights) gets no lot
//! detail from any audit or reserve route, yet can still check every entry's inclusion
//! through leaf hashes and public proof bundles; an operator reads only its own records.

use crate::harness::*;
use cphar_audit::transparency::{self, Proven};
use serde_json::{Value, json};

/// Lot details of the test's lot that must never reach a reader without the right.
fn secrets(lot: &str) -> Vec<String> {
    let inspection = inspection_body(lot, "x");
    let mut s: Vec<String> = ["commodity", "grade", "containerId", "location", "owner"]
        .iter()
        .map(|k| inspection[*k].as_str().unwrap().to_owned())
        .collect();
    s.push(
        inspection["quantity"]["amount"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    s.push(custody_body(lot)["holder"].as_str().unwrap().to_owned());
    // Actor names (token subjects of `Server::roles`).
    for actor in [
        "vendor-ops",
        "inspector-1",
        "operator-1",
        "auditor-1",
        "verifier-1",
    ] {
        s.push(actor.to_owned());
    }
    s
}

#[track_caller]
fn assert_no_secret(what: &str, body: &[u8], secrets: &[String]) {
    let text = String::from_utf8_lossy(body);
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} discloses {secret:?}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_get_no_lot_detail_from_any_audit_or_reserve_route() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let lot = "LOT-CONF";
    let seal = s.active_lot(&pki, &roles, lot, "SEAL-CONF").await;
    // An attestation too, so that verification records are in the log.
    let method = s.method(&roles, lot).await;
    let (id, request) = s.challenge(&roles.verifier, lot).await;
    s.answer(&roles.verifier, &id, seal.respond(&request, &method))
        .await
        .expect(200);
    let secrets = secrets(lot);
    let export = s.audit_export().await;
    let lines: Vec<&[u8]> = export
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    // The secrets are in the log or the auditor's view of the lot (the checks below are not
    // vacuous).
    let full = format!(
        "{}{}",
        String::from_utf8_lossy(&export),
        s.lot(&roles, lot).await
    );
    for secret in &secrets {
        assert!(full.contains(secret.as_str()), "{secret} is nowhere");
    }

    // Readers without the right: no token, and the roles that only get the public view.
    let vendor = roles.vendor.clone();
    let inspector = roles.inspector.clone();
    let verifier = roles.verifier.clone();
    for (who, token) in [
        ("anonymous", None),
        ("vendor", Some(vendor.as_str())),
        ("inspector", Some(inspector.as_str())),
        ("verifier", Some(verifier.as_str())),
    ] {
        match token {
            None => {
                s.get("/audit/entries", None)
                    .await
                    .problem(401, "unauthenticated");
                s.get(&format!("/lots/{lot}"), None)
                    .await
                    .problem(401, "unauthenticated");
                s.get(&format!("/seals/{}", seal.uid), None)
                    .await
                    .problem(401, "unauthenticated");
            }
            Some(t) => {
                s.get("/audit/entries", Some(t))
                    .await
                    .problem(403, "role_not_allowed");
                s.get(&format!("/lots/{lot}"), Some(t))
                    .await
                    .problem(403, "role_not_allowed");
                s.get(&format!("/seals/{}", seal.uid), Some(t))
                    .await
                    .problem(403, "role_not_allowed");
            }
        }

        // The public view of the active reserve set: the lot is listed, its details are not.
        let r = s.get("/reserve/active?limit=1000", token).await;
        let body = r.expect(200);
        assert_no_secret(&format!("{who}: /reserve/active"), &r.body, &secrets);
        let listed = &body["lots"][0];
        assert_eq!(listed["lotId"], lot, "{body}");
        assert_eq!(listed["attestation"], "attested", "{body}");
        let mut keys: Vec<&str> = listed
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["attestation", "bindingId", "did", "didVersion", "lotId"],
            "{who}: {listed}"
        );

        // Leaf hashes: one per entry, each the RFC 9162 hash of the entry line.
        let r = s.get("/audit/leaves?limit=10000", token).await;
        let body = r.expect(200);
        assert_no_secret(&format!("{who}: /audit/leaves"), &r.body, &secrets);
        let leaves = body["leaves"].as_array().unwrap();
        // Served checkpoints and proofs are recorded (`checkpoint_signed`): the log may have
        // grown since the export; its prefix is the export.
        assert!(
            leaves.len() >= lines.len(),
            "{} < {}",
            leaves.len(),
            lines.len()
        );
        for (i, (leaf, line)) in leaves.iter().zip(&lines).enumerate() {
            assert_eq!(leaf["sequenceNumber"], i as u64);
            assert_eq!(
                leaf["leafHash"],
                json!(cphar_crypto::b64::encode(&cphar_tlog::leaf_hash(line))),
                "leaf {i}"
            );
        }
        assert_eq!(body["next"], Value::Null);

        // Every entry's inclusion proof checks without the entry, against the leaf hash.
        for (i, leaf) in leaves.iter().enumerate() {
            let r = s.get(&format!("/audit/proof/{i}"), token).await;
            let bundle = r.expect(200);
            assert_no_secret(&format!("{who}: /audit/proof/{i}"), &r.body, &secrets);
            assert!(bundle.get("entry").is_none(), "{who}: {bundle}");
            assert_eq!(bundle["leafHash"], leaf["leafHash"]);
            match transparency::check_bundle(&bundle, &s.identity(), None).unwrap() {
                Proven::Included { index, .. } => assert_eq!(index, i as u64),
                other => panic!("{other:?}"),
            }
        }
        for path in [
            "/audit/checkpoint".to_owned(),
            "/audit/consistency?from=1".to_owned(),
            "/status/revocations".to_owned(),
            format!("/lots/{lot}/did.json"),
        ] {
            let r = s.get(&path, token).await;
            assert_eq!(r.status, 200, "{who}: {path}: {}", r.text());
            assert_no_secret(&format!("{who}: {path}"), &r.body, &secrets);
        }
    }

    // The auditor reads everything: the full lot in the reserve set, proofs with the entry.
    let body = s
        .get("/reserve/active?limit=1000", Some(&roles.auditor))
        .await
        .expect(200);
    assert_eq!(body["lots"][0]["commodity"], "copper cathode", "{body}");
    let bundle = s
        .get("/audit/proof/3", Some(&roles.auditor))
        .await
        .expect(200);
    assert_eq!(
        bundle["entry"].as_str().unwrap().as_bytes(),
        lines[3],
        "{bundle}"
    );
    transparency::check_bundle(&bundle, &s.identity(), None).unwrap();
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_read_their_own_records_only() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let lot = "LOT-OWN";
    let seal = s.active_lot(&pki, &roles, lot, "SEAL-OWN").await;
    let other = s.token("operator", "operator-2").await;

    // The operator that bound the lot: lot, seal, its own entries, the lot's details.
    let body = s
        .get(&format!("/lots/{lot}"), Some(&roles.operator))
        .await
        .expect(200);
    assert_eq!(body["lot"]["commodity"], "copper cathode");
    s.get(&format!("/seals/{}", seal.uid), Some(&roles.operator))
        .await
        .expect(200);
    let r = s
        .get("/audit/entries?limit=10000", Some(&roles.operator))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let own: Vec<Value> = r
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let types: Vec<&str> = own
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"seal_bound"), "{types:?}");
    assert!(
        own.iter().all(|e| e["eventData"]["actor"] == "operator-1"),
        "{own:?}"
    );
    assert!(own.len() < event_types(&s.audit_export().await).len());
    let body = s
        .get("/reserve/active", Some(&roles.operator))
        .await
        .expect(200);
    assert_eq!(body["lots"][0]["commodity"], "copper cathode", "{body}");

    // Another operator: the lot and its seal answer as if they did not exist; no entries of
    // others; the public view of the reserve set.
    s.get(&format!("/lots/{lot}"), Some(&other))
        .await
        .problem(404, "lot_not_found");
    s.get(&format!("/seals/{}", seal.uid), Some(&other))
        .await
        .problem(404, "seal_not_found");
    let r = s.get("/audit/entries?limit=10000", Some(&other)).await;
    assert_eq!((r.status, r.text()), (200, String::new()));
    let r = s.get("/reserve/active", Some(&other)).await;
    assert_no_secret("other operator: /reserve/active", &r.body, &secrets(lot));
    // Its proofs carry no entry it is not the actor of.
    let bundle = s.get("/audit/proof/1", Some(&other)).await.expect(200);
    assert!(bundle.get("entry").is_none(), "{bundle}");
    s.stop().await;
}

/// The store calls served so far, as `/metrics` reports them (the scrape's own call included).
async fn store_calls(s: &Server) -> u64 {
    let metrics = s.get("/metrics", None).await.text();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("cphar_store_calls "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no cphar_store_calls in {metrics}"))
}

/// Store calls one listing of `/reserve/active` costs `token`'s caller. A token's record is
/// cached for two seconds ([`cphar_server::auth::TokenCache::TTL`]): on a loaded machine the
/// listing may miss the cache and read it once more.
async fn listing_cost(s: &Server, token: Option<&str>) -> (u64, Value) {
    s.get("/reserve/active?limit=1", token).await.expect(200);
    let before = store_calls(s).await;
    let body = s.get("/reserve/active?limit=1000", token).await.expect(200);
    let after = store_calls(s).await;
    // `after` counts its own scrape's read of the audit head.
    (after - before - 1, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_the_reserve_costs_the_same_few_store_calls_however_many_lots_it_lists() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let other = Roles {
        operator: s.token("operator", "operator-2").await,
        ..roles.clone()
    };
    s.active_lot(&pki, &roles, "LOT-Q1", "SEAL-Q1").await;
    s.active_lot(&pki, &other, "LOT-Q2", "SEAL-Q2").await;
    // The page read, plus (an operator) the one read deciding which listed lots are its own;
    // a token whose cached record expired costs one read more.
    let callers = [
        ("anonymous", None, 1),
        ("operator", Some(roles.operator.as_str()), 2),
        ("auditor", Some(roles.auditor.as_str()), 1),
    ];
    let within = |who: &str, lots: usize, cost: u64, base: u64, token: bool| {
        let bound = base + u64::from(token);
        assert!(
            (base..=bound).contains(&cost),
            "{who}: listing {lots} lots cost {cost} store calls, expected {base}..={bound}"
        );
    };
    for (who, token, base) in callers {
        let (cost, body) = listing_cost(&s, token).await;
        assert_eq!(body["lots"].as_array().unwrap().len(), 2, "{who}: {body}");
        within(who, 2, cost, base, token.is_some());
    }
    // Three times as many lots, half of them the operator's: the same cost.
    for i in 3..=6 {
        let by = if i % 2 == 0 { &roles } else { &other };
        s.active_lot(&pki, by, &format!("LOT-Q{i}"), &format!("SEAL-Q{i}"))
            .await;
    }
    for (who, token, base) in callers {
        let (cost, body) = listing_cost(&s, token).await;
        let lots = body["lots"].as_array().unwrap();
        assert_eq!(lots.len(), 6, "{who}: {body}");
        within(who, 6, cost, base, token.is_some());
        // Each lot in the view the caller has a right to: full records carry the commodity.
        let full: Vec<&str> = lots
            .iter()
            .filter(|l| l.get("commodity").is_some())
            .map(|l| l["lotId"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = match who {
            "anonymous" => vec![],
            "operator" => vec!["LOT-Q1", "LOT-Q4", "LOT-Q6"],
            _ => vec!["LOT-Q1", "LOT-Q2", "LOT-Q3", "LOT-Q4", "LOT-Q5", "LOT-Q6"],
        };
        assert_eq!(full, expected, "{who}: {body}");
    }
    s.stop().await;
}
