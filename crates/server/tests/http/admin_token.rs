//! The admin token file is written before its token is committed, and can be recovered.

use cphar_registry::store::Store;
use cphar_server::ServerConfig;
use cphar_server::admin_token::{self, ADMIN_TOKEN_FILE, AdminTokenError, RESET_ACTOR};
use std::path::Path;

async fn state(dir: &Path) -> std::sync::Arc<cphar_server::AppState> {
    let config = ServerConfig {
        data_dir: dir.to_path_buf(),
        host: Some("reg.example".to_owned()),
        ..ServerConfig::default()
    };
    cphar_server::app::build_state(config).await.unwrap()
}

/// The token id in `cphar_<id>.<secret>`-style text: the part before the first `.`, after
/// the prefix.
fn token_id(text: &str) -> String {
    let before_dot = text.trim().split('.').next().unwrap();
    before_dot.rsplit('_').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_file_is_written_before_the_token_is_committed() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let s = state(&data).await;
    let store = s.node.registry.store();

    // The file cannot be written (its directory does not exist): nothing is committed, and
    // a later start with a writable path makes the token.
    let unwritable = data.join("missing-dir").join(ADMIN_TOKEN_FILE);
    assert!(admin_token::bootstrap(&s, &unwritable).await.is_err());
    assert_eq!(store.token_count().await.unwrap(), 0);

    let path = data.join(ADMIN_TOKEN_FILE);
    std::fs::write(
        &path,
        "stale text from a start whose commit never happened\n",
    )
    .unwrap();
    assert!(admin_token::bootstrap(&s, &path).await.unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("stale"), "a stale file is replaced");
    let first = token_id(&text);
    assert!(store.token(&first).await.unwrap().is_some());
    assert_eq!(store.token_count().await.unwrap(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Later starts make nothing.
    assert!(!admin_token::bootstrap(&s, &path).await.unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    // Recovery: refused while the file exists; after it is lost, a new audited token.
    assert!(matches!(
        admin_token::reset(&s, &path).await,
        Err(AdminTokenError::FileExists(_))
    ));
    std::fs::remove_file(&path).unwrap();
    admin_token::reset(&s, &path).await.unwrap();
    let second = token_id(&std::fs::read_to_string(&path).unwrap());
    assert_ne!(first, second);
    let row = store.token(&second).await.unwrap().unwrap();
    assert_eq!(row.role, "admin");
    assert_eq!(store.token_count().await.unwrap(), 2);
    let entries = store.audit_entries(0, 1000).await.unwrap();
    let audited = entries.iter().any(|(_, line)| {
        line.contains("\"token_created\"") && line.contains(RESET_ACTOR) && line.contains(&second)
    });
    assert!(audited, "the reset is in the audit log");
    s.node.close().await;
}
