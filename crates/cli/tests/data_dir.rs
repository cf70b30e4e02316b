//! The data directory is owner-only even under a permissive umask: directory 0700, database
//! (and SQLite's `-wal` / `-shm` files) and keys 0600.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code: a panic is a failure report

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

#[test]
fn data_directory_is_owner_only_under_umask_022() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // `umask 022` in a shell, then the binary: the umask a default install runs under.
    let o = Command::new("sh")
        .arg("-c")
        .arg(r#"umask 022 && exec "$0" registry init --data-dir "$1""#)
        .arg(env!("CARGO_BIN_EXE_cphar"))
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let mut checked = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        checked += 1;
    }
    for name in ["registry.sqlite3", "identity-key.pem", "ea-key.pem"] {
        assert!(data.join(name).exists(), "{name}");
    }
    assert!(checked >= 3);
}
