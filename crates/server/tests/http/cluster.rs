//! Two server processes (two `build_state`s, two data directories holding the same identity
//! and EA keys) on one PostgreSQL schema: a challenge issued by either is accepted at most once,
//! even when its response reaches both at the same moment; the shared audit log verifies end
//! to end across both epochs.

use crate::harness::*;

const CHALLENGES: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_servers_never_accept_a_nonce_twice() {
    run_postgres(
        "postgres_two_servers_never_accept_a_nonce_twice",
        two_servers,
    )
    .await;
}

async fn two_servers(backend: Backend) {
    let pki = Pki::new();
    let url = backend.database_url();
    let a = Server::start(
        &pki,
        Options {
            database_url: url.clone(),
            ..Options::default()
        },
    )
    .await;
    let mut b = Server::start(
        &pki,
        Options {
            database_url: url,
            keys_from: Some(a.data_dir.clone()),
            ..Options::default()
        },
    )
    .await;
    assert!(
        b.admin.is_empty(),
        "the second server finds the first one's admin token"
    );
    // The first server's admin token works on the second (one token table).
    b.admin.clone_from(&a.admin);
    assert_ne!(
        a.state.node.epoch, b.state.node.epoch,
        "each process opens its own epoch"
    );
    let roles = a.roles().await;
    let seal = a.active_lot(&pki, &roles, "LOT-C", "SEAL-C").await;
    // B sees what A wrote, with A's tokens.
    assert_eq!(
        b.method(&roles, "LOT-C").await,
        a.method(&roles, "LOT-C").await
    );
    assert!(b.active_ids().await.contains(&"LOT-C".to_owned()));
    let method = a.method(&roles, "LOT-C").await;

    let mut valid_on = [0usize; 2];
    for i in 0..CHALLENGES {
        let issuer = if i % 2 == 0 { &a } else { &b };
        let (id, request) = issuer.challenge(&roles.verifier, "LOT-C").await;
        let response = seal.respond(&request, &method);
        let (ra, rb) = tokio::join!(
            a.answer(&roles.verifier, &id, response.clone()),
            b.answer(&roles.verifier, &id, response.clone())
        );
        let mut accepted = 0;
        for (n, r) in [&ra, &rb].into_iter().enumerate() {
            match r.status {
                200 => {
                    let body = r.json();
                    assert_eq!(body["result"], "valid", "challenge {i}: {body}");
                    assert_eq!(body["sealState"], "attested");
                    accepted += 1;
                    valid_on[n] += 1;
                }
                409 => {
                    r.problem(409, "challenge_used_or_expired");
                }
                other => panic!("challenge {i}: server {n} answered {other}: {}", r.text()),
            }
        }
        assert_eq!(
            accepted, 1,
            "challenge {i}: exactly one server accepts ({} / {})",
            ra.status, rb.status
        );
        // A third try, on either server, is refused.
        let late = if i % 3 == 0 { &a } else { &b };
        late.answer(&roles.verifier, &id, response)
            .await
            .problem(409, "challenge_used_or_expired");
    }
    eprintln!("accepted on A: {}, on B: {}", valid_on[0], valid_on[1]);

    // The shared log: every attestation once, two epochs, one identity, chain valid end to end.
    let export = b.audit_export().await;
    let report = cphar_audit::verify_export(&export, Some(&a.identity()))
        .unwrap_or_else(|e| panic!("audit log: {e}"));
    assert!(report.epochs.len() >= 2, "epochs: {:?}", report.epochs);
    let types = event_types(&export);
    assert_eq!(
        types.iter().filter(|t| *t == "seal_attested").count(),
        CHALLENGES
    );
    assert_eq!(
        types.iter().filter(|t| *t == "audit_key_epoch").count(),
        report.epochs.len()
    );
    // Both servers serve proofs over the same log, signed by the same identity.
    let size = report.entries;
    for s in [&a, &b] {
        let bundle = s
            .get(&format!("/audit/proof/{}", size - 1), None)
            .await
            .expect(200);
        cphar_audit::transparency::check_bundle(&bundle, &a.identity(), None).unwrap();
    }
    b.stop().await;
    a.stop().await;
}
