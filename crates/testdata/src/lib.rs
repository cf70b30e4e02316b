//! Test-suite helpers shared by every crate: locating the external test vectors that live
//! beside the project checkout, and reporting a skipped test so that it cannot go unnoticed.
//!
//! The vectors (RFC 8785 and Wycheproof files) are not copied into the repository: they are
//! read from `../shared/testdata` relative to the workspace root.
//!
//! A test that cannot run here (no vectors, no PostgreSQL, no `openssl` binary, no SoftHSM2)
//! calls [`skip`]: under `CI=true` that is a failure; elsewhere the notice goes to the
//! process's stderr past libtest's output capture, and is appended to the file named by
//! [`SKIP_LOG_VAR`], which `scripts/test` sets and prints at the end of the run.

pub mod softhsm;

use std::io::Write;
use std::path::PathBuf;

/// Names the file skip notices are appended to (one line each).
pub const SKIP_LOG_VAR: &str = "CPHAR_SKIP_LOG";

/// True when running in CI (`CI=true`), where nothing may be skipped.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports that a test (or part of one) did not run, and why.
///
/// # Panics
/// When `CI=true`: in CI every test must run.
#[allow(clippy::panic)] // a skipped test in CI is a failure by design
pub fn skip(notice: &str) {
    let binary = std::env::args()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .map(|name| match name.rsplit_once('-') {
            // cargo names test binaries `<target>-<16 hex digits>`.
            Some((target, hash))
                if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                target.to_owned()
            }
            _ => name,
        })
        .unwrap_or_default();
    if ci() {
        panic!("CI=true but a test would be skipped ({binary}): {notice}");
    }
    // The raw handle, not eprintln!: libtest captures the latter for passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIPPED ({binary}): {notice} !!!!!\n"
    );
    if let Some(path) = std::env::var_os(SKIP_LOG_VAR)
        && let Ok(mut log) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        // One short write per notice: appends from parallel tests do not interleave.
        let _ = log.write_all(format!("{binary}: {notice}\n").as_bytes());
    }
}

/// Returns the path of `sub` inside the shared test-data directory, or `None` (after a
/// [`skip`] notice) when the directory is absent outside CI.
///
/// # Panics
/// When `CI=true` and the directory is missing: in CI the vectors must be there.
pub fn shared_testdata(sub: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(sub);
    if root.exists() {
        return Some(root);
    }
    skip(&format!(
        "shared vectors not found at {} (set up ../shared/testdata beside the checkout to run them)",
        root.display()
    ));
    None
}
