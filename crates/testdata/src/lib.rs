//! Locating the external test vectors that live beside the project checkout.
//!
//! The vectors (RFC 8785 and Wycheproof files) are not copied into the repository: they are
//! read from `../shared/testdata` relative to the workspace root. Under `CI=true` a missing
//! directory is a test failure; elsewhere the caller is told to skip, loudly, on stderr.

use std::path::PathBuf;

/// Returns the path of `sub` inside the shared test-data directory, or `None` (after a loud
/// warning on stderr) when the directory is absent outside CI.
///
/// # Panics
/// When `CI=true` and the directory is missing: in CI the vectors must be there.
#[allow(clippy::panic)] // a missing vector set in CI is a test failure by design
pub fn shared_testdata(sub: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(sub);
    if root.exists() {
        return Some(root);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the shared test vectors are missing at {}",
            root.display()
        );
    }
    eprintln!(
        "\n*** SKIPPING shared vectors: {} not found (set up ../shared/testdata to run them) ***\n",
        root.display()
    );
    None
}
