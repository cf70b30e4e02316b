//! FIPS 140-3 power-on self-tests (seed 003 §1.5, §6.1 step 2).
//!
//! This module owns the evidence that the cryptography the process is about to use works and
//! that the binary is the one expected. Every known-answer test goes through the project's own
//! `cphar-crypto` functions — the code that will sign — never through a second implementation:
//!
//! | name | what |
//! | --- | --- |
//! | `sha256_kat` | SHA-256 of `"abc"` and `""` (FIPS 180-4 examples) |
//! | `sha384_kat` | SHA-384 of `"abc"` and `""` (FIPS 180-4 examples) |
//! | `ed25519_kat` | RFC 8032 §7.1 TEST 1 and TEST 2: sign from the seed, compare bytes, verify |
//! | `ecdsa_p256_kat` | a Wycheproof valid signature verifies, a modified one does not, sign-then-verify |
//! | `ecdsa_p384_kat` | the same for the P-384 audit key algorithm |
//! | `aes_cmac_kat` | RFC 4493 §4 examples 1–4 (profile C) |
//! | `continuous_rng` | two draws pass a fresh continuous test, and the process-wide test is healthy |
//! | `software_integrity` | SHA-384 of the running binary against the expected measurement |
//!
//! Without an expected measurement the software integrity check cannot fail: it reports
//! "unverified" with the measurement, which the audit epoch entry records so a verifier can
//! compare it with a reproducible build. A measurement that cannot be taken is a failure.
//!
//! [`Fault`]s are for tests and drills: an injected fault corrupts the expected value (or the
//! known-good input) one test compares against, so the real check code runs and fails. A fault
//! can only turn a pass into a failure, never the reverse, so leaving the hook in production
//! builds is harmless.

use std::io;
use std::path::{Path, PathBuf};

use cphar_crypto::{
    Algorithm, CRNGT_BLOCK, CmacAes128Key, ContinuousTest, SigningKey, VerifyingKey,
};
use serde_json::{Map, Value};

use crate::state::reason;
use crate::{hex, unhex};

/// A SHA-384 measurement.
pub type Measurement = [u8; 48];

/// One self-test: the name of the test an injected fault makes fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `sha256_kat`.
    Sha256Kat,
    /// `sha384_kat`.
    Sha384Kat,
    /// `ed25519_kat`.
    Ed25519Kat,
    /// `ecdsa_p256_kat`.
    EcdsaP256Kat,
    /// `ecdsa_p384_kat`.
    EcdsaP384Kat,
    /// `aes_cmac_kat`.
    AesCmacKat,
    /// `continuous_rng`.
    ContinuousRng,
    /// `software_integrity`.
    SoftwareIntegrity,
}

impl Fault {
    /// Every test, in the order they run.
    pub const ALL: [Fault; 8] = [
        Fault::Sha256Kat,
        Fault::Sha384Kat,
        Fault::Ed25519Kat,
        Fault::EcdsaP256Kat,
        Fault::EcdsaP384Kat,
        Fault::AesCmacKat,
        Fault::ContinuousRng,
        Fault::SoftwareIntegrity,
    ];

    /// The stable name of the test (as in [`TestResult::name`]).
    #[must_use]
    pub const fn test_name(self) -> &'static str {
        match self {
            Fault::Sha256Kat => "sha256_kat",
            Fault::Sha384Kat => "sha384_kat",
            Fault::Ed25519Kat => "ed25519_kat",
            Fault::EcdsaP256Kat => "ecdsa_p256_kat",
            Fault::EcdsaP384Kat => "ecdsa_p384_kat",
            Fault::AesCmacKat => "aes_cmac_kat",
            Fault::ContinuousRng => "continuous_rng",
            Fault::SoftwareIntegrity => "software_integrity",
        }
    }

    /// The module error reason code a failure of this test latches.
    #[must_use]
    pub const fn reason_code(self) -> &'static str {
        match self {
            Fault::SoftwareIntegrity => reason::SOFTWARE_INTEGRITY_FAILED,
            Fault::ContinuousRng => reason::RNG_FAILURE,
            Fault::Sha256Kat
            | Fault::Sha384Kat
            | Fault::Ed25519Kat
            | Fault::EcdsaP256Kat
            | Fault::EcdsaP384Kat
            | Fault::AesCmacKat => reason::SELF_TEST_FAILED,
        }
    }
}

/// What to run the self-tests against.
#[derive(Debug, Clone, Default)]
pub struct SelfTestOptions {
    /// The expected SHA-384 of the binary; `None` leaves the check "unverified".
    pub expected_measurement: Option<Measurement>,
    /// The binary to measure; `None` measures [`std::env::current_exe`].
    pub binary_path: Option<PathBuf>,
    /// Faults to inject (tests and drills only; see the module documentation).
    pub inject: Vec<Fault>,
}

/// The outcome of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// Stable test name, e.g. `sha256_kat`.
    pub name: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed, or a note (e.g. "unverified").
    pub detail: Option<String>,
}

/// The outcome of the software integrity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrityStatus {
    /// The measurement equals the expected one.
    Verified,
    /// No expected measurement was configured; the measurement is only reported.
    Unverified,
    /// The measurement differs from the expected one, or could not be taken.
    Failed,
}

impl IntegrityStatus {
    /// `verified`, `unverified` or `failed`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            IntegrityStatus::Verified => "verified",
            IntegrityStatus::Unverified => "unverified",
            IntegrityStatus::Failed => "failed",
        }
    }
}

/// All power-on self-test results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfTestReport {
    /// One result per test, in [`Fault::ALL`] order.
    pub results: Vec<TestResult>,
    /// Lower-case hex SHA-384 of the binary, when it could be measured.
    pub binary_measurement: Option<String>,
    /// Outcome of the software integrity check.
    pub software_integrity: IntegrityStatus,
    /// Whether every test passed ("unverified" integrity counts as passed).
    pub passed: bool,
}

impl SelfTestReport {
    /// The first failed test as (module error reason code, detail), or `None` if all passed.
    #[must_use]
    pub fn failure(&self) -> Option<(&'static str, String)> {
        let failed = self.results.iter().find(|r| !r.passed)?;
        let code = Fault::ALL
            .iter()
            .find(|f| f.test_name() == failed.name)
            .map_or(reason::SELF_TEST_FAILED, |f| f.reason_code());
        let detail = match &failed.detail {
            Some(d) => format!("{}: {d}", failed.name),
            None => format!("{} failed", failed.name),
        };
        Some((code, detail))
    }

    /// The measurement as `sha384:<hex>` (the audit epoch entry's `binaryMeasurement`).
    #[must_use]
    pub fn binary_measurement_tagged(&self) -> Option<String> {
        self.binary_measurement
            .as_ref()
            .map(|m| format!("sha384:{m}"))
    }

    /// The report as JSON: `{"passed", "softwareIntegrity", "binaryMeasurement",
    /// "results": [{"name", "passed", "detail"}]}` (`detail` and `binaryMeasurement` may be
    /// `null`).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let results = self
            .results
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert("name".into(), Value::from(r.name));
                o.insert("passed".into(), Value::Bool(r.passed));
                o.insert(
                    "detail".into(),
                    r.detail.clone().map_or(Value::Null, Value::String),
                );
                Value::Object(o)
            })
            .collect();
        let mut o = Map::new();
        o.insert("passed".into(), Value::Bool(self.passed));
        o.insert(
            "softwareIntegrity".into(),
            Value::from(self.software_integrity.as_str()),
        );
        o.insert(
            "binaryMeasurement".into(),
            self.binary_measurement
                .clone()
                .map_or(Value::Null, Value::String),
        );
        o.insert("results".into(), Value::Array(results));
        Value::Object(o)
    }
}

/// SHA-384 of a file's bytes.
///
/// # Errors
/// Any error reading the file.
pub fn measure_file(path: &Path) -> io::Result<Measurement> {
    Ok(cphar_crypto::sha384(&std::fs::read(path)?))
}

/// SHA-384 of the running binary ([`std::env::current_exe`]).
///
/// # Errors
/// Any error locating or reading the binary.
pub fn measure_current_exe() -> io::Result<Measurement> {
    measure_file(&std::env::current_exe()?)
}

/// Runs every power-on self-test and reports; never panics. Hand the report to
/// [`crate::state::ModuleState::complete_self_tests`].
#[must_use]
pub fn run_power_on_self_tests(options: &SelfTestOptions) -> SelfTestReport {
    let faulty = |f: Fault| options.inject.contains(&f);
    let mut results = vec![
        sha256_kat(faulty(Fault::Sha256Kat)),
        sha384_kat(faulty(Fault::Sha384Kat)),
        ed25519_kat(faulty(Fault::Ed25519Kat)),
        ecdsa_kat(&P256_KAT, faulty(Fault::EcdsaP256Kat)),
        ecdsa_kat(&P384_KAT, faulty(Fault::EcdsaP384Kat)),
        aes_cmac_kat(faulty(Fault::AesCmacKat)),
        continuous_rng(faulty(Fault::ContinuousRng)),
    ];
    let measured = match &options.binary_path {
        Some(path) => measure_file(path),
        None => measure_current_exe(),
    };
    let (integrity, status) = software_integrity(
        measured.as_ref().map_err(ToString::to_string).copied(),
        options.expected_measurement.as_ref(),
        faulty(Fault::SoftwareIntegrity),
    );
    results.push(integrity);
    let passed = results.iter().all(|r| r.passed);
    SelfTestReport {
        results,
        binary_measurement: measured.ok().map(|m| hex(&m)),
        software_integrity: status,
        passed,
    }
}

/// The pure part of the software integrity check: `measured` (or why it could not be
/// measured) against `expected`. With `fault`, the expected value is corrupted — and taken
/// from the measurement itself when none is configured — so the comparison fails.
#[must_use]
pub fn software_integrity(
    measured: Result<Measurement, String>,
    expected: Option<&Measurement>,
    fault: bool,
) -> (TestResult, IntegrityStatus) {
    const NAME: &str = "software_integrity";
    let measured = match measured {
        Ok(m) => m,
        Err(e) => {
            let r = fail(NAME, format!("cannot measure the binary: {e}"));
            return (r, IntegrityStatus::Failed);
        }
    };
    let expected = match (expected, fault) {
        (Some(e), false) => *e,
        (Some(e), true) => corrupt(*e),
        (None, true) => corrupt(measured),
        (None, false) => {
            let r = TestResult {
                name: NAME,
                passed: true,
                detail: Some("unverified: no expected measurement configured".to_owned()),
            };
            return (r, IntegrityStatus::Unverified);
        }
    };
    if measured == expected {
        (pass(NAME), IntegrityStatus::Verified)
    } else {
        let r = fail(
            NAME,
            format!(
                "measurement sha384:{} differs from expected sha384:{}",
                hex(&measured),
                hex(&expected)
            ),
        );
        (r, IntegrityStatus::Failed)
    }
}

// ---- known-answer vectors -------------------------------------------------------------------

/// FIPS 180-4 examples (NIST CSRC "Example Algorithms"): (message, SHA-256, SHA-384).
const SHA2_VECTORS: [(&[u8], &str, &str); 2] = [
    (
        b"abc",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a\
         43ff5bed8086072ba1e7cc2358baeca134c825a7",
    ),
    (
        b"",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf\
         63f6e1da274edebfe76f65fbd51ad2f14898b95b",
    ),
];

/// RFC 8032 §7.1 TEST 1 and TEST 2: (secret key, public key, message, signature).
const ED25519_VECTORS: [(&str, &str, &str, &str); 2] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
         5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
         085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
];

/// A fixed, known-good ECDSA verification vector.
struct EcdsaKat {
    name: &'static str,
    alg: Algorithm,
    /// Uncompressed SEC1 public key.
    public_key: &'static str,
    message: &'static str,
    /// DER signature.
    signature: &'static str,
}

/// Wycheproof `ecdsa_secp256r1_sha256_test.json`, tcId 2 ("pseudorandom signature", valid).
const P256_KAT: EcdsaKat = EcdsaKat {
    name: "ecdsa_p256_kat",
    alg: Algorithm::EcdsaP256Sha256,
    public_key: "0404aaec73635726f213fb8a9e64da3b8632e41495a944d0045b522eba7240fad5\
                 87d9315798aaa3a5ba01775787ced05eaaf7b4e09fc81d6d1aa546e8365d525d",
    message: "4d7367",
    signature: "30450220530bd6b0c9af2d69ba897f6b5fb59695cfbf33afe66dbadcf5b8d2a2a6538e23\
                022100d85e489cb7a161fd55ededcedbf4cc0c0987e3e3f0f242cae934c72caa3f43e9",
};

/// Wycheproof `ecdsa_secp384r1_sha384_test.json`, tcId 2 ("pseudorandom signature", valid).
const P384_KAT: EcdsaKat = EcdsaKat {
    name: "ecdsa_p384_kat",
    alg: Algorithm::EcdsaP384Sha384,
    public_key: "0429bdb76d5fa741bfd70233cb3a66cc7d44beb3b0663d92a8136650478bcefb61\
                 ef182e155a54345a5e8e5e88f064e5bc9a525ab7f764dad3dae1468c2b419f3b62\
                 b9ba917d5e8c4fb1ec47404a3fc76474b2713081be9db4c00e043ada9fc4a3",
    message: "4d7367",
    signature: "3066023100d7143a836608b25599a7f28dec6635494c2992ad1e2bbeecb7ef601a9c01\
                746e710ce0d9c48accb38a79ede5b9638f3402310080f9e165e8c61035bf8aa7b553\
                3960e46dd0e211c904a064edb6de41f797c0eae4e327612ee3f816f4157272bb4fabc9",
};

/// RFC 4493 §4 key.
const CMAC_KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c";
/// RFC 4493 §4: the 64-byte message whose prefixes are examples 1–4.
const CMAC_MESSAGE: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                            30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
/// RFC 4493 §4 examples 1–4: (message length, tag).
const CMAC_VECTORS: [(usize, &str); 4] = [
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
];

/// Message of the sign-then-verify tests.
const PCT_MESSAGE: &[u8] = b"cphar-integrity power-on self-test";

// ---- the tests ------------------------------------------------------------------------------

fn sha256_kat(fault: bool) -> TestResult {
    digest_kat(
        "sha256_kat",
        fault,
        |(_, expected, _)| expected,
        |m| cphar_crypto::sha256(m).to_vec(),
    )
}

fn sha384_kat(fault: bool) -> TestResult {
    digest_kat(
        "sha384_kat",
        fault,
        |(_, _, expected)| expected,
        |m| cphar_crypto::sha384(m).to_vec(),
    )
}

fn digest_kat(
    name: &'static str,
    fault: bool,
    pick: fn((&[u8], &'static str, &'static str)) -> &'static str,
    digest: fn(&[u8]) -> Vec<u8>,
) -> TestResult {
    for (i, vector) in SHA2_VECTORS.into_iter().enumerate() {
        let Some(expected) = unhex(pick(vector)) else {
            return fail(name, format!("vector {i}: malformed constant"));
        };
        let expected = corrupt_if(expected, fault);
        if digest(vector.0) != expected {
            return fail(
                name,
                format!("vector {i}: digest differs from the known answer"),
            );
        }
    }
    pass(name)
}

fn ed25519_kat(fault: bool) -> TestResult {
    const NAME: &str = "ed25519_kat";
    for (i, (secret, public, message, signature)) in ED25519_VECTORS.into_iter().enumerate() {
        let test = i + 1;
        let (Some(secret), Some(public), Some(message), Some(signature)) = (
            unhex(secret),
            unhex(public),
            unhex(message),
            unhex(signature),
        ) else {
            return fail(NAME, format!("TEST {test}: malformed constant"));
        };
        let Ok(seed) = <[u8; 32]>::try_from(secret.as_slice()) else {
            return fail(NAME, format!("TEST {test}: malformed constant"));
        };
        let expected = corrupt_if(signature, fault);
        let key = match SigningKey::from_ed25519_seed(&seed) {
            Ok(k) => k,
            Err(e) => return fail(NAME, format!("TEST {test}: key from seed: {e}")),
        };
        if key.verifying_key().public_bytes() != public {
            return fail(NAME, format!("TEST {test}: public key differs"));
        }
        match key.sign(&message) {
            Ok(sig) if sig == expected => {}
            Ok(_) => return fail(NAME, format!("TEST {test}: signature differs")),
            Err(e) => return fail(NAME, format!("TEST {test}: sign: {e}")),
        }
        let verified = VerifyingKey::from_public_bytes(Algorithm::Ed25519, &public)
            .and_then(|k| k.verify(&message, &expected));
        if let Err(e) = verified {
            return fail(NAME, format!("TEST {test}: verify: {e}"));
        }
    }
    pass(NAME)
}

fn ecdsa_kat(kat: &EcdsaKat, fault: bool) -> TestResult {
    let name = kat.name;
    let (Some(public), Some(message), Some(signature)) = (
        unhex(kat.public_key),
        unhex(kat.message),
        unhex(kat.signature),
    ) else {
        return fail(name, "malformed constant".to_owned());
    };
    let key = match VerifyingKey::from_public_bytes(kat.alg, &public) {
        Ok(k) => k,
        Err(e) => return fail(name, format!("known-answer public key: {e}")),
    };
    // The known-good signature verifies (a fault flips a bit of `s`, keeping the DER valid,
    // so the verification arithmetic itself rejects it)...
    let known_good = if fault {
        corrupt_last(signature.clone())
    } else {
        signature.clone()
    };
    if let Err(e) = key.verify(&message, &known_good) {
        return fail(name, format!("known-good signature: {e}"));
    }
    // ...and a modified one does not.
    if key.verify(&message, &corrupt_last(signature)).is_ok() {
        return fail(name, "modified signature was accepted".to_owned());
    }
    // Sign-then-verify with a fresh key (generation runs its own pairwise test too).
    let fresh = match SigningKey::generate(kat.alg) {
        Ok(k) => k,
        Err(e) => return fail(name, format!("key generation: {e}")),
    };
    let verified = fresh
        .sign(PCT_MESSAGE)
        .and_then(|sig| fresh.verifying_key().verify(PCT_MESSAGE, &sig));
    if let Err(e) = verified {
        return fail(name, format!("sign-then-verify: {e}"));
    }
    pass(name)
}

fn aes_cmac_kat(fault: bool) -> TestResult {
    const NAME: &str = "aes_cmac_kat";
    let (Some(key), Some(message)) = (unhex(CMAC_KEY), unhex(CMAC_MESSAGE)) else {
        return fail(NAME, "malformed constant".to_owned());
    };
    let key = match CmacAes128Key::from_slice(&key) {
        Ok(k) => k,
        Err(e) => return fail(NAME, format!("key: {e}")),
    };
    for (i, (len, tag)) in CMAC_VECTORS.into_iter().enumerate() {
        let example = i + 1;
        let (Some(msg), Some(tag)) = (message.get(..len), unhex(tag)) else {
            return fail(NAME, format!("example {example}: malformed constant"));
        };
        let expected = corrupt_if(tag, fault);
        if key.mac(msg).as_slice() != expected.as_slice() {
            return fail(NAME, format!("example {example}: tag differs"));
        }
        if let Err(e) = key.verify(msg, &expected) {
            return fail(NAME, format!("example {example}: verify: {e}"));
        }
    }
    pass(NAME)
}

fn continuous_rng(fault: bool) -> TestResult {
    const NAME: &str = "continuous_rng";
    // Each draw also runs the process-wide continuous test inside cphar-crypto.
    let draws = cphar_crypto::random_bytes::<CRNGT_BLOCK>()
        .and_then(|a| Ok((a, cphar_crypto::random_bytes::<CRNGT_BLOCK>()?)));
    let (first, second) = match draws {
        Ok(d) => d,
        Err(e) => return fail(NAME, format!("draw: {e}")),
    };
    // A fault replays the first block, as a stuck generator would.
    let second = if fault { first } else { second };
    let mut test = ContinuousTest::new();
    if test.check(first).is_err() || test.check(second).is_err() {
        return fail(NAME, "two consecutive blocks are equal".to_owned());
    }
    if !cphar_crypto::rng_healthy() {
        return fail(
            NAME,
            "the process-wide continuous test has failed".to_owned(),
        );
    }
    pass(NAME)
}

fn pass(name: &'static str) -> TestResult {
    TestResult {
        name,
        passed: true,
        detail: None,
    }
}

fn fail(name: &'static str, detail: String) -> TestResult {
    TestResult {
        name,
        passed: false,
        detail: Some(detail),
    }
}

/// Flips the lowest bit of the first byte.
fn corrupt<T: AsMut<[u8]>>(mut value: T) -> T {
    if let Some(b) = value.as_mut().first_mut() {
        *b ^= 1;
    }
    value
}

/// Flips the lowest bit of the last byte (for a DER ECDSA signature: the last byte of `s`).
fn corrupt_last(mut value: Vec<u8>) -> Vec<u8> {
    if let Some(b) = value.last_mut() {
        *b ^= 1;
    }
    value
}

/// With `fault`, [`corrupt`]s `value`; an empty value gains a byte instead.
fn corrupt_if(mut value: Vec<u8>, fault: bool) -> Vec<u8> {
    if fault {
        if value.is_empty() {
            value.push(0);
        } else {
            value = corrupt(value);
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_decode() {
        for (_, a, b) in SHA2_VECTORS {
            assert_eq!(unhex(a).unwrap().len(), 32);
            assert_eq!(unhex(b).unwrap().len(), 48);
        }
        for (s, p, m, sig) in ED25519_VECTORS {
            assert_eq!(unhex(s).unwrap().len(), 32);
            assert_eq!(unhex(p).unwrap().len(), 32);
            assert!(unhex(m).is_some());
            assert_eq!(unhex(sig).unwrap().len(), 64);
        }
        assert_eq!(unhex(P256_KAT.public_key).unwrap().len(), 65);
        assert_eq!(unhex(P384_KAT.public_key).unwrap().len(), 97);
        assert_eq!(unhex(CMAC_MESSAGE).unwrap().len(), 64);
    }

    #[test]
    fn each_kat_passes_and_fails_under_its_fault() {
        type Kat = fn(bool) -> TestResult;
        let kats: [(&str, Kat); 6] = [
            ("sha256_kat", sha256_kat),
            ("sha384_kat", sha384_kat),
            ("ed25519_kat", ed25519_kat),
            ("ecdsa_p256_kat", |f| ecdsa_kat(&P256_KAT, f)),
            ("ecdsa_p384_kat", |f| ecdsa_kat(&P384_KAT, f)),
            ("aes_cmac_kat", aes_cmac_kat),
        ];
        for (name, kat) in kats {
            let ok = kat(false);
            assert_eq!(ok, pass(name), "{name}");
            let bad = kat(true);
            assert_eq!(bad.name, name);
            assert!(!bad.passed, "{name} passed under its fault");
            assert!(bad.detail.is_some());
        }
    }

    #[test]
    fn continuous_rng_fault_fails() {
        assert!(continuous_rng(false).passed);
        let bad = continuous_rng(true);
        assert!(!bad.passed);
        // The injected fault used a private test: the process-wide one stays healthy.
        assert!(cphar_crypto::rng_healthy());
    }

    #[test]
    fn integrity_policy() {
        let m = [7u8; 48];
        let (r, s) = software_integrity(Ok(m), Some(&m), false);
        assert!(r.passed);
        assert_eq!(s, IntegrityStatus::Verified);
        let (r, s) = software_integrity(Ok(m), None, false);
        assert!(r.passed);
        assert_eq!(s, IntegrityStatus::Unverified);
        let (r, s) = software_integrity(Ok(m), Some(&[8u8; 48]), false);
        assert!(!r.passed);
        assert_eq!(s, IntegrityStatus::Failed);
        let (r, s) = software_integrity(Ok(m), Some(&m), true);
        assert!(!r.passed);
        assert_eq!(s, IntegrityStatus::Failed);
        let (r, s) = software_integrity(Ok(m), None, true);
        assert!(!r.passed);
        assert_eq!(s, IntegrityStatus::Failed);
        let (r, s) = software_integrity(Err("gone".into()), None, false);
        assert!(!r.passed);
        assert_eq!(s, IntegrityStatus::Failed);
    }

    #[test]
    fn corrupt_changes_every_value() {
        assert_eq!(corrupt_if(vec![], true), vec![0]);
        assert_eq!(corrupt_if(vec![2, 3], true), vec![3, 3]);
        assert_eq!(corrupt_if(vec![2, 3], false), vec![2, 3]);
    }
}
