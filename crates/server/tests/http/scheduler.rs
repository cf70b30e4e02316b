//! The scheduler challenges seal agents concurrently, never more than
//! `attestation_parallelism` at once, apart from the maintenance loop: slow seals neither
//! serialize the round nor stop `/health` from answering.

use crate::harness::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SEALS: usize = 6;
const PARALLEL: usize = 3;

/// A slow seal agent: counts requests in flight and holds each until `PARALLEL` are in flight
/// at once (or 10 s pass), then answers garbage (the scheduler records it as not valid).
async fn slow_agent(
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (in_flight, peak, served) = (in_flight.clone(), peak.clone(), served.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = socket.read(&mut buf).await;
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                while in_flight.load(Ordering::SeqCst) < PARALLEL
                    && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                // Hold a little longer so that an over-eager scheduler would show up in `peak`.
                tokio::time::sleep(Duration::from_millis(300)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                served.fetch_add(1, Ordering::SeqCst);
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                    )
                    .await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seal_agents_are_challenged_concurrently_within_the_bound() {
    let (in_flight, peak, served) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let port = slow_agent(in_flight.clone(), peak.clone(), served.clone()).await;
    let pki = Pki::new();
    let s = Server::start(
        &pki,
        Options {
            scheduler_interval_seconds: 1,
            attestation_parallelism: PARALLEL,
            ..Options::default()
        },
    )
    .await;
    let roles = s.roles().await;
    for i in 0..SEALS {
        let seal = pki.device(&format!("SEAL-N{i}"));
        let mut body = seal.register_body();
        body["endpoint"] = json!(format!("http://127.0.0.1:{port}/challenge"));
        s.post("/seals", Some(&roles.vendor), &body)
            .await
            .expect(201);
        let lot = format!("LOT-N{i}");
        s.post(
            "/inspections",
            Some(&roles.inspector),
            &inspection_body(&lot, &seal.uid),
        )
        .await
        .expect(201);
        s.post(
            &format!("/lots/{lot}/bind"),
            Some(&roles.operator),
            &json!({}),
        )
        .await
        .expect(201);
    }
    // Wait (bounded) until every seal was challenged once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while served.load(Ordering::SeqCst) < SEALS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the scheduler did not challenge every seal"
        );
        // The maintenance loop and the API answer meanwhile.
        s.get("/health", None).await.expect(200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let peak = peak.load(Ordering::SeqCst);
    assert_eq!(
        peak, PARALLEL,
        "challenged concurrently, never more than the bound"
    );
    s.stop().await;
}
