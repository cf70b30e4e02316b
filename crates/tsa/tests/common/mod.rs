//! Shared test helpers: the real `openssl` binary in a temp dir, dev chains, the clock.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;
use std::time::SystemTime;

use cphar_crypto::Algorithm;
use cphar_tsa::{DevChainParams, DevTsaChain, Oid, TsaConfig, TsaSigner, UnixTime, dev_tsa_chain};

pub const POLICY: &str = "1.3.6.1.4.1.99999.7.1";
pub const OTHER_POLICY: &str = "1.3.6.1.4.1.99999.7.2";

/// The test's "trusted clock": the system time (tests may read clocks; the library never does).
pub fn now() -> UnixTime {
    UnixTime::from_system_time(SystemTime::now()).unwrap()
}

pub fn dev_chain(alg: Algorithm) -> DevTsaChain {
    let now = now().secs();
    dev_tsa_chain(&DevChainParams {
        algorithm: alg,
        organization: "CPHAR Test",
        not_before: UnixTime::from_secs(now - 86_400).unwrap(),
        not_after: UnixTime::from_secs(now + 30 * 86_400).unwrap(),
    })
    .unwrap()
}

pub fn signer(chain: &DevTsaChain) -> TsaSigner {
    let mut config = TsaConfig::new(vec![chain.leaf_der().to_vec()], Oid::parse(POLICY).unwrap());
    config.accepted_policies = vec![Oid::parse(OTHER_POLICY).unwrap()];
    TsaSigner::new(&chain.key_pkcs8_der, config).unwrap()
}

/// Whether `openssl` can run. Under CI=true its absence fails the test; otherwise a loud notice
/// goes to the raw stderr handle (not captured by libtest) and the caller skips.
pub fn openssl_available() -> bool {
    static SKIP_NOTICE: Once = Once::new();
    if Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|out| out.status.success())
    {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("openssl is not on PATH and CI=true: the RFC 3161 openssl interop tests must run");
    }
    SKIP_NOTICE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPING cphar-tsa openssl interop tests: `openssl` not found on PATH; \
             RFC 3161 interop was NOT tested ***\n"
        );
    });
    false
}

/// A temp dir in which `openssl` runs.
pub struct Openssl {
    pub dir: tempfile::TempDir,
}

impl Openssl {
    pub fn new() -> Self {
        Openssl {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Runs `openssl args...` in the temp dir; returns the output whatever the status.
    pub fn try_run(&self, args: &[&str]) -> Output {
        Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    /// Runs `openssl args...` and requires success; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        assert!(
            out.status.success(),
            "openssl {} failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn dir_path(&self) -> &Path {
        self.dir.path()
    }
}

/// The value of a `Name: value` line in openssl `-text` output.
pub fn text_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// Parses openssl's `0x...` integer print.
pub fn parse_openssl_hex(v: &str) -> u128 {
    let hex = v.strip_prefix("0x").unwrap_or(v);
    u128::from_str_radix(hex, 16).unwrap()
}
