//! Nothing falls out of the audit log: a clock breach is in the exported log (and its
//! recovery after it), served checkpoints are recorded without growing the log on every
//! anonymous GET, and the module error state is recorded by the next healthy start.

use crate::harness::*;
use cphar_server::node::{MODULE_ERROR_FILE, Node, NodeConfig};
use serde_json::Value;
use std::time::Duration;

fn entries(export: &[u8]) -> Vec<Value> {
    std::str::from_utf8(export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn position(log: &[Value], event_type: &str) -> Option<usize> {
    log.iter().position(|e| e["eventType"] == event_type)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_breach_is_in_the_exported_log() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    // A reference clock 10 s ahead of the trusted clock: beyond the 100 ms tolerance.
    let clock = &s.state.node.clock;
    let events = clock.validate_against(clock.now_nanos() + 10_000_000_000);
    assert!(
        events
            .iter()
            .any(|e| e.event_type() == "clock_out_of_tolerance"),
        "{events:?}"
    );
    assert!(clock.now_for_signing().is_err(), "no signing time now");
    // Recorded while the clock is out of tolerance, not once it recovers.
    assert!(cphar_server::scheduler::record_clock_events(&s.state, events).await);

    // The maintenance loop validates against the system clock every second and records the
    // recovery itself; wait for it (bounded), then the log holds both, in order.
    let log = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            // Reading the log needs trusted time too (the token's expiry is checked against
            // it): 503 until the clock is back.
            let r = s.get("/audit/entries?limit=10000", Some(&s.admin)).await;
            if r.status == 200 {
                let log = entries(&r.body);
                if position(&log, "clock_recovered").is_some() {
                    return log;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the clock did not recover within 60 s");
    let breach = position(&log, "clock_out_of_tolerance").expect("breach recorded");
    assert!(breach < position(&log, "clock_recovered").unwrap());
    let data = &log[breach]["eventData"];
    assert_eq!(data["reasonCode"], "clock_out_of_tolerance");
    assert!(
        data["data"]["driftNanos"].as_i64().unwrap() >= 9_000_000_000,
        "{data}"
    );
    // The whole export verifies, timestamps never going backwards included.
    let export = s.audit_export().await;
    cphar_audit::verify_export(&export, Some(&s.identity())).unwrap();
    s.get("/ready", None).await.expect(200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_checkpoints_are_recorded_once_per_growth() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let count = |log: &[Value]| {
        log.iter()
            .filter(|e| e["eventType"] == "checkpoint_signed")
            .count()
    };
    s.get("/audit/checkpoint", None).await;
    let first = entries(&s.audit_export().await);
    assert_eq!(count(&first), 1);
    let recorded = first
        .iter()
        .find(|e| e["eventType"] == "checkpoint_signed")
        .unwrap();
    assert_eq!(
        recorded["eventData"]["data"]["treeSize"],
        first.len() as u64 - 1
    );
    // Anonymous GETs of an unchanged log add nothing.
    for _ in 0..10 {
        assert_eq!(s.get("/audit/checkpoint", None).await.status, 200);
    }
    assert_eq!(entries(&s.audit_export().await).len(), first.len());
    // Once the log grew, the next served checkpoint is recorded again.
    s.token("auditor", "auditor-9").await;
    s.get("/audit/checkpoint", None).await;
    assert_eq!(count(&entries(&s.audit_export().await)), 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_state_is_recorded_by_the_next_healthy_start() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    assert!(
        s.state
            .node
            .module
            .enter_error("conditional_self_test_failed", "drill")
    );
    // The process in its error state signs nothing: it leaves a marker (bounded wait).
    let marker_path = s.data_dir.join(MODULE_ERROR_FILE);
    let marker = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&marker_path)
                && !text.is_empty()
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("no marker within 60 s");
    s.stop().await;

    // The next healthy process on that data directory records it and removes the marker.
    let dir = tempfile::tempdir().unwrap();
    let config = NodeConfig::new(dir.path(), "registry.test");
    Node::start(config.clone()).await.unwrap().close().await;
    std::fs::write(dir.path().join(MODULE_ERROR_FILE), &marker).unwrap();
    let node = Node::start(config).await.unwrap();
    assert!(!dir.path().join(MODULE_ERROR_FILE).exists());
    let log: Vec<Value> = node
        .registry
        .store()
        .audit_entries(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, l)| serde_json::from_str(&l).unwrap())
        .collect();
    let error = log
        .iter()
        .find(|e| e["eventType"] == "module_error")
        .expect("module_error recorded");
    assert_eq!(
        error["eventData"]["reasonCode"],
        "conditional_self_test_failed"
    );
    assert_eq!(error["eventData"]["data"]["status"]["detail"], "drill");
    node.close().await;
}
