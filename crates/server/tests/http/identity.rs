//! One registry identity: a process whose identity key or Enrollment Authority key differs
//! from the one the database already knows refuses to start, naming both thumbprints, and
//! creates no key of its own; with the keys copied it starts. SQLite and PostgreSQL.
//! Also: the data directory and its files are owner-only.

use crate::harness::*;
use cphar_crypto::{Algorithm, SigningKey};
use cphar_server::node::{EA_KEY_FILE, IDENTITY_KEY_FILE, Node, NodeConfig, StartError};
use std::path::Path;

fn config(dir: &Path, backend: &Backend) -> NodeConfig {
    let mut c = NodeConfig::new(dir, "reg.example");
    c.database_url = backend.database_url();
    c
}

fn thumbprint_of(path: &Path) -> String {
    let pem = std::fs::read_to_string(path).unwrap();
    SigningKey::from_pkcs8_pem(&pem)
        .unwrap()
        .verifying_key()
        .to_jwk()
        .thumbprint_b64()
        .unwrap()
}

fn fresh_key_file(path: &Path) {
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    std::fs::write(path, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
}

async fn refused(config: NodeConfig) -> String {
    match Node::start(config).await {
        Ok(node) => {
            node.close().await;
            panic!("a process with foreign keys started")
        }
        Err(e @ StartError::KeyMismatch(_)) => {
            assert_eq!(e.code(), "registry_key_mismatch");
            e.to_string()
        }
        Err(e) => panic!("refused for another reason: {e}"),
    }
}

async fn second_process_cannot_fork_the_identity(backend: Backend) {
    let root = tempfile::tempdir().unwrap();
    let first = root.path().join("first");
    let node = Node::start(config(&first, &backend)).await.unwrap();
    let epochs_before = node.registry.store().audit_entries(0, 1000).await.unwrap();
    node.close().await;
    let known_id = thumbprint_of(&first.join(IDENTITY_KEY_FILE));
    let known_ea = thumbprint_of(&first.join(EA_KEY_FILE));

    // A second data directory: on SQLite the same database file, on PostgreSQL the same
    // schema; it holds other keys.
    let second = root.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    if backend.database_url().is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let name = format!("{}{suffix}", cphar_store::SQLITE_FILE);
            if first.join(&name).exists() {
                std::fs::copy(first.join(&name), second.join(&name)).unwrap();
            }
        }
    }
    fresh_key_file(&second.join(IDENTITY_KEY_FILE));
    std::fs::copy(first.join(EA_KEY_FILE), second.join(EA_KEY_FILE)).unwrap();
    let mine = thumbprint_of(&second.join(IDENTITY_KEY_FILE));
    let why = refused(config(&second, &backend)).await;
    assert!(why.contains(&mine) && why.contains(&known_id), "{why}");
    assert!(
        why.contains(IDENTITY_KEY_FILE),
        "says which file to copy: {why}"
    );

    // No identity key at all: refused, and none is created.
    std::fs::remove_file(second.join(IDENTITY_KEY_FILE)).unwrap();
    let why = refused(config(&second, &backend)).await;
    assert!(why.contains(&known_id), "{why}");
    assert!(!second.join(IDENTITY_KEY_FILE).exists());

    // The right identity but another Enrollment Authority key.
    std::fs::copy(
        first.join(IDENTITY_KEY_FILE),
        second.join(IDENTITY_KEY_FILE),
    )
    .unwrap();
    fresh_key_file(&second.join(EA_KEY_FILE));
    let mine = thumbprint_of(&second.join(EA_KEY_FILE));
    let why = refused(config(&second, &backend)).await;
    assert!(why.contains(&mine) && why.contains(&known_ea), "{why}");
    std::fs::remove_file(second.join(EA_KEY_FILE)).unwrap();
    let why = refused(config(&second, &backend)).await;
    assert!(why.contains(&known_ea), "{why}");
    assert!(!second.join(EA_KEY_FILE).exists());

    // Nothing was written by the refused starts: no epoch, no authority.
    let node = Node::start(NodeConfig {
        writable: false,
        create_keys: false,
        ..config(&second, &backend)
    })
    .await
    .unwrap();
    assert_eq!(
        node.registry.store().audit_entries(0, 1000).await.unwrap(),
        epochs_before
    );
    assert_eq!(node.registry.authorities().await.unwrap().len(), 1);
    node.close().await;

    // With both keys copied, the second process starts and the shared log verifies.
    std::fs::copy(first.join(EA_KEY_FILE), second.join(EA_KEY_FILE)).unwrap();
    let node = Node::start(config(&second, &backend)).await.unwrap();
    let identity = node.identity.as_ref().unwrap().verifying_key();
    let lines = node.registry.store().audit_entries(0, 1000).await.unwrap();
    let export: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    cphar_audit::verify_export(export.as_bytes(), Some(&identity)).unwrap();
    node.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_second_process_cannot_fork_the_identity() {
    run_sqlite(second_process_cannot_fork_the_identity).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_second_process_cannot_fork_the_identity() {
    run_postgres(
        "postgres_second_process_cannot_fork_the_identity",
        second_process_cannot_fork_the_identity,
    )
    .await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_directory_and_its_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let node = Node::start(config(&dir, &Backend::Sqlite)).await.unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let db = dir.join(cphar_store::SQLITE_FILE);
    for file in [
        db.clone(),
        db.with_extension("sqlite3-wal"),
        db.with_extension("sqlite3-shm"),
        dir.join(IDENTITY_KEY_FILE),
        dir.join(EA_KEY_FILE),
    ] {
        assert!(
            file.exists(),
            "{} exists while the node runs",
            file.display()
        );
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    node.close().await;
}
