//! Fresh SoftHSM2 tokens for tests.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once, when the module is initialized, and setting an
//! environment variable in a running test is `unsafe` (forbidden in this workspace). So a
//! test that needs a token calls [`run_with_fresh_token`]: the first time (in the test
//! harness's process) it makes a throw-away token directory and configuration, initializes
//! one token with `softhsm2-util`, re-runs **this one test** in a child process with
//! `SOFTHSM2_CONF` set, and checks the child passed; in the child it returns the token to use.
//! Every test therefore gets its own token and module instance.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The SoftHSM2 module on Debian.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The security officer PIN of test tokens.
pub const SO_PIN: &str = "so-pin-87654321";
/// The user PIN of test tokens.
pub const USER_PIN: &str = "user-pin-1234";
/// The label of the test token.
pub const TOKEN: &str = "cphar-test";

/// Set in the child process: the token directory.
const CHILD_MARKER: &str = "CPHAR_SOFTHSM_TEST_TOKENDIR";

/// A token ready in this (child) process.
#[derive(Debug, Clone)]
pub struct FreshToken {
    /// The module path.
    pub module: PathBuf,
    /// The token label.
    pub label: String,
    /// The user PIN.
    pub pin: String,
    /// The configuration file the module was pointed at (for child processes of the test,
    /// such as the `cphar` binary).
    pub conf: PathBuf,
}

/// What is missing to run SoftHSM2 tests, if anything.
#[must_use]
pub fn missing_tools() -> Option<String> {
    if !Path::new(MODULE).exists() {
        return Some(format!("the module {MODULE} does not exist"));
    }
    match Command::new("softhsm2-util").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("`softhsm2-util` cannot be run".into()),
    }
}

/// Writes a SoftHSM2 configuration whose tokens live in `dir/tokens` and initializes one
/// token labelled [`TOKEN`]; returns the configuration path.
///
/// # Errors
/// A one-line reason when the directory or the token cannot be made.
pub fn init_token(dir: &Path) -> Result<PathBuf, String> {
    let tokendir = dir.join("tokens");
    std::fs::create_dir_all(&tokendir).map_err(|e| format!("{}: {e}", tokendir.display()))?;
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokendir.display()
        ),
    )
    .map_err(|e| format!("{}: {e}", conf.display()))?;
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", TOKEN])
        .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
        .output()
        .map_err(|e| format!("softhsm2-util: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "softhsm2-util --init-token: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(conf)
}

/// Runs the calling test against a fresh token: returns `Some(token)` in the child process,
/// where the test body runs; in the parent it prepares the token, runs the child, asserts it
/// passed and returns `None` (the caller returns at once). `test_name` is the test's full
/// path as libtest names it (`module::test`, or just `test` at the top of a test crate).
///
/// Without SoftHSM2 it [`crate::skip`]s (a failure under `CI=true`) and returns `None`.
///
/// # Panics
/// In the parent, when the token cannot be made or the child test fails.
#[allow(clippy::panic)] // test support: a failed child is a failed test
#[must_use]
pub fn run_with_fresh_token(test_name: &str) -> Option<FreshToken> {
    if let Some(dir) = std::env::var_os(CHILD_MARKER) {
        return Some(FreshToken {
            module: PathBuf::from(MODULE),
            label: TOKEN.into(),
            pin: USER_PIN.into(),
            conf: PathBuf::from(dir).join("softhsm2.conf"),
        });
    }
    if let Some(missing) = missing_tools() {
        crate::skip(&format!(
            "{test_name}: {missing} (`apt-get install -y softhsm2 opensc`; scripts/test does)"
        ));
        return None;
    }
    let dir = TempDir::new(test_name).unwrap_or_else(|e| panic!("temporary directory: {e}"));
    let conf = init_token(&dir.0).unwrap_or_else(|e| panic!("{e}"));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let out = Command::new(exe)
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_MARKER, &dir.0)
        .output()
        .unwrap_or_else(|e| panic!("running the child test: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("--- child stdout ---\n{stdout}--- child stderr ---\n{stderr}");
    assert!(
        out.status.success(),
        "{test_name} failed on SoftHSM2 (output above)"
    );
    // The child must really have run the test, not filtered it out.
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test named {test_name}"
    );
    None
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let safe: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = std::env::temp_dir().join(format!(
            "cphar-softhsm-{safe}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
