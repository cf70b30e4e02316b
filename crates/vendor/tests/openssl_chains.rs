//! Chains made by the real `openssl` command-line tool, checked by this crate and cross-checked
//! with `openssl verify` at the same trusted time (`-attime`).
//!
//! Without `openssl` on PATH the test prints a loud skip, or fails when `CI=true`.

// Helpers outside #[test] fns are not covered by clippy.toml's test exemptions; a panic in
// them is a test failure, which is what we want.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

use cphar_vendor::{
    AcceptedDevice, AttestationError, CertPosition, DeviceEvidence, FirmwareMeasurement,
    FirmwareRule, PublicKeyBytes, UnixTime, VendorRegistry, VendorTrust,
};

const VENDOR: &str = "acme-seals";

/// Extension sections for every certificate shape the test needs.
const EXTENSIONS: &str = "\
[req]
distinguished_name = dn
[dn]

[v3_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[v3_inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[v3_inter_noca]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Minimal `openssl ca` setup, used only to issue a certificate with past dates
/// (`-startdate`/`-enddate`; `x509 -not_before` needs OpenSSL ≥ 3.4).
const CA_CONFIG: &str = "\
[ca]
default_ca = ca_default
[ca_default]
dir = .
database = index.txt
new_certs_dir = issued
serial = serial.txt
default_md = sha256
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
organizationName = optional
";

struct Openssl {
    dir: PathBuf,
}

impl Openssl {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `openssl verify` verdict at `at`: Ok or the failure text.
    fn verify(&self, at: u64, ca: &str, untrusted: Option<&str>, leaf: &str) -> Result<(), String> {
        let at = at.to_string();
        let mut args = vec!["verify", "-attime", &at, "-CAfile", ca];
        if let Some(u) = untrusted {
            args.extend(["-untrusted", u]);
        }
        args.push(leaf);
        let out = Command::new("openssl")
            .args(&args)
            .current_dir(&self.dir)
            .output()
            .expect("run openssl verify");
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    fn genkey(&self, name: &str, alg: &str) {
        match alg {
            "ed25519" => self.run(&["genpkey", "-algorithm", "ED25519", "-out", name]),
            curve => self.run(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                &format!("ec_paramgen_curve:{curve}"),
                "-out",
                name,
            ]),
        };
    }

    fn self_signed_root(&self, key: &str, cn: &str, out: &str) {
        self.run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            key,
            "-subj",
            &format!("/O=Acme Seals/CN={cn}"),
            "-days",
            "3650",
            "-config",
            "ext.cnf",
            "-extensions",
            "v3_root",
            "-set_serial",
            "1",
            "-out",
            out,
        ]);
    }

    fn csr(&self, key: &str, cn: &str, out: &str) {
        self.run(&[
            "req",
            "-new",
            "-key",
            key,
            "-subj",
            &format!("/O=Acme Seals/CN={cn}"),
            "-config",
            "ext.cnf",
            "-out",
            out,
        ]);
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(&self, csr: &str, ca: &str, ca_key: &str, serial: &str, section: &str, out: &str) {
        self.run(&[
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-set_serial",
            serial,
            "-days",
            "365",
            "-extfile",
            "ext.cnf",
            "-extensions",
            section,
            "-out",
            out,
        ]);
    }

    /// The raw public key of a private key file, taken from openssl's own SPKI output.
    fn raw_public_key(&self, key: &str) -> PublicKeyBytes {
        let out = Command::new("openssl")
            .args(["pkey", "-in", key, "-pubout", "-outform", "DER"])
            .current_dir(&self.dir)
            .output()
            .unwrap();
        assert!(out.status.success());
        let spki = out.stdout;
        // Fixed-size SPKIs: the key is the tail of the BIT STRING.
        match spki.len() {
            44 => PublicKeyBytes::ed25519(&spki[12..]).unwrap(),
            91 => PublicKeyBytes::p256_sec1(&spki[26..]).unwrap(),
            120 => PublicKeyBytes::p384_sec1(&spki[23..]).unwrap(),
            n => panic!("unexpected SPKI length {n}"),
        }
    }

    fn cert_field(&self, cert: &str, flag: &str) -> String {
        self.run(&["x509", "-in", cert, "-noout", flag])
            .trim()
            .to_owned()
    }
}

fn openssl_available() -> bool {
    static SKIP_NOTICE: Once = Once::new();
    if Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|out| out.status.success())
    {
        return true;
    }
    SKIP_NOTICE.call_once(|| {
        cphar_testdata::skip("openssl cross-checks: `openssl` not found on PATH");
    });
    false
}

fn firmware() -> String {
    format!("sha384:{}", "5e".repeat(48))
}

fn evidence(o: &Openssl, pems: &[&str]) -> DeviceEvidence {
    let bundle: Vec<u8> = pems.iter().flat_map(|p| o.read(p)).collect();
    DeviceEvidence {
        vendor: VENDOR.to_owned(),
        device_type: "seal-x1".to_owned(),
        hardware_revision: "B".to_owned(),
        chain: DeviceEvidence::chain_from_bytes(&bundle).unwrap(),
        firmware_measurement: firmware(),
    }
}

fn registry_with_root(o: &Openssl, root: &str) -> VendorRegistry {
    let trust = VendorTrust::builder(VENDOR)
        .root(o.read(root))
        .allow_firmware(FirmwareRule::new(
            firmware().parse::<FirmwareMeasurement>().unwrap(),
        ))
        .build()
        .unwrap();
    let mut r = VendorRegistry::new();
    r.insert(trust).unwrap();
    r
}

fn setup() -> Option<(tempfile::TempDir, Openssl)> {
    if !openssl_available() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let o = Openssl {
        dir: tmp.path().to_path_buf(),
    };
    std::fs::write(o.path("ext.cnf"), EXTENSIONS).unwrap();
    Some((tmp, o))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// root (P-384) → intermediate (P-256, pathlen 0), made "now" by openssl; checks happen one
/// minute later.
struct Fixture {
    _tmp: tempfile::TempDir,
    o: Openssl,
    at_secs: u64,
    at: UnixTime,
    registry: VendorRegistry,
}

fn fixture() -> Option<Fixture> {
    let (tmp, o) = setup()?;
    let at_secs = now() + 60;
    o.genkey("root.key", "P-384");
    o.self_signed_root("root.key", "Acme Root CA", "root.pem");
    o.genkey("inter.key", "P-256");
    o.csr("inter.key", "Acme Device CA", "inter.csr");
    o.sign(
        "inter.csr",
        "root.pem",
        "root.key",
        "0x1001",
        "v3_inter",
        "inter.pem",
    );
    let registry = registry_with_root(&o, "root.pem");
    Some(Fixture {
        _tmp: tmp,
        o,
        at_secs,
        at: UnixTime::from_secs(at_secs),
        registry,
    })
}

impl Fixture {
    /// A device certificate under the intermediate; returns its PEM file name.
    fn leaf(&self, name: &str, alg: &str, serial: &str) -> String {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        self.o.genkey(&key, alg);
        self.o.csr(&key, &format!("seal {name}"), &csr);
        self.o
            .sign(&csr, "inter.pem", "inter.key", serial, "v3_leaf", &pem);
        pem
    }

    fn check(
        &self,
        chain: &[&str],
        key_file: &str,
        at: UnixTime,
    ) -> Result<AcceptedDevice, AttestationError> {
        self.registry.check(
            &evidence(&self.o, chain),
            &self.o.raw_public_key(key_file),
            at,
        )
    }
}

#[test]
fn valid_p256_and_ed25519_leaves_agree_with_openssl() {
    let Some(f) = fixture() else { return };
    for (alg, serial, name) in [
        ("P-256", "0x0abcdef1", "p256"),
        ("ed25519", "0x8000000000000001", "ed"),
    ] {
        let pem = f.leaf(name, alg, serial);
        let accepted = f
            .check(&[&pem, "inter.pem"], &format!("{name}.key"), f.at)
            .unwrap();
        // Serial and fingerprint agree with openssl's own report.
        assert_eq!(
            format!("serial={}", accepted.leaf_serial_hex().to_uppercase()),
            f.o.cert_field(&pem, "-serial")
        );
        let fp =
            f.o.run(&["x509", "-in", &pem, "-noout", "-fingerprint", "-sha256"])
                .trim()
                .rsplit('=')
                .next()
                .unwrap()
                .replace(':', "")
                .to_lowercase();
        assert_eq!(accepted.leaf_fingerprint_sha256(), fp);
        assert!(
            accepted
                .leaf_subject_dn()
                .contains(&format!("CN=seal {name}"))
        );
        assert!(accepted.leaf_issuer_dn().contains("CN=Acme Device CA"));
        assert_eq!(accepted.chain_fingerprints().len(), 3);
        // openssl agrees: valid.
        f.o.verify(f.at_secs, "root.pem", Some("inter.pem"), &pem)
            .unwrap();
        // The chain with the root copy at the end is the same verdict.
        f.check(
            &[&pem, "inter.pem", "root.pem"],
            &format!("{name}.key"),
            f.at,
        )
        .unwrap();
    }
    // DER from openssl decodes to the same certificate as the PEM.
    f.o.run(&[
        "x509",
        "-in",
        "inter.pem",
        "-outform",
        "DER",
        "-out",
        "inter.der",
    ]);
    assert_eq!(
        DeviceEvidence::chain_from_bytes(&f.o.read("inter.der")).unwrap(),
        DeviceEvidence::chain_from_bytes(&f.o.read("inter.pem")).unwrap()
    );
}

#[test]
fn wrong_key() {
    let Some(f) = fixture() else { return };
    for (alg, name) in [("P-256", "p256"), ("ed25519", "ed")] {
        let pem = f.leaf(name, alg, "0x42");
        let other = format!("other_{name}.key");
        f.o.genkey(&other, alg);
        let err = f.check(&[&pem, "inter.pem"], &other, f.at).unwrap_err();
        assert_eq!(err.reason_code(), "leaf_key_mismatch");
    }
    // Different key type altogether.
    let pem = f.leaf("p256b", "P-256", "0x43");
    f.o.genkey("ed_other.key", "ed25519");
    let err = f
        .check(&[&pem, "inter.pem"], "ed_other.key", f.at)
        .unwrap_err();
    assert_eq!(err.reason_code(), "leaf_key_mismatch");
}

#[test]
fn expired_leaf_issued_with_past_dates() {
    let Some(f) = fixture() else { return };
    let o = &f.o;
    std::fs::write(o.path("ca.cnf"), CA_CONFIG).unwrap();
    std::fs::write(o.path("index.txt"), "").unwrap();
    std::fs::write(o.path("serial.txt"), "2001\n").unwrap();
    std::fs::create_dir(o.path("issued")).unwrap();
    o.genkey("old.key", "P-256");
    o.csr("old.key", "seal old", "old.csr");
    o.run(&[
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-cert",
        "inter.pem",
        "-keyfile",
        "inter.key",
        "-in",
        "old.csr",
        "-out",
        "old.pem",
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20210101000000Z",
        "-extfile",
        "ext.cnf",
        "-extensions",
        "v3_leaf",
        "-notext",
    ]);
    let err = f
        .check(&["old.pem", "inter.pem"], "old.key", f.at)
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_expired");
    assert!(matches!(
        err,
        AttestationError::CertificateExpired {
            position: CertPosition::Leaf,
            ..
        }
    ));
    assert!(err.to_string().contains("2021-01-01T00:00:00Z"), "{err}");
    let verdict = o.verify(f.at_secs, "root.pem", Some("inter.pem"), "old.pem");
    assert!(verdict.unwrap_err().contains("expired"));

    // Inside the leaf's own period, the intermediate did not exist yet.
    let mid_2020 = UnixTime::from_secs(1_593_561_600);
    let err = f
        .check(&["old.pem", "inter.pem"], "old.key", mid_2020)
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_not_yet_valid");
    assert!(matches!(
        err,
        AttestationError::CertificateNotYetValid {
            position: CertPosition::Intermediate(1),
            ..
        }
    ));
}

#[test]
fn expired_by_check_time_after_not_after() {
    let Some(f) = fixture() else { return };
    let pem = f.leaf("short", "P-256", "0x44");
    // `x509 -days 365`: one year and two days later the leaf has expired.
    let later = f.at_secs + 367 * 86_400;
    let err = f
        .check(
            &[&pem, "inter.pem"],
            "short.key",
            UnixTime::from_secs(later),
        )
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_expired");
    assert!(
        f.o.verify(later, "root.pem", Some("inter.pem"), &pem)
            .unwrap_err()
            .contains("expired")
    );
}

#[test]
fn not_yet_valid() {
    let Some(f) = fixture() else { return };
    let pem = f.leaf("fresh", "P-256", "0x45");
    let before = f.at_secs - 86_400;
    let err = f
        .check(
            &[&pem, "inter.pem"],
            "fresh.key",
            UnixTime::from_secs(before),
        )
        .unwrap_err();
    assert_eq!(err.reason_code(), "certificate_not_yet_valid");
    assert!(
        f.o.verify(before, "root.pem", Some("inter.pem"), &pem)
            .unwrap_err()
            .contains("not yet valid")
    );
}

#[test]
fn non_ca_intermediate_refused_by_both() {
    let Some(f) = fixture() else { return };
    let o = &f.o;
    o.genkey("noca.key", "P-256");
    o.csr("noca.key", "Not A CA", "noca.csr");
    o.sign(
        "noca.csr",
        "root.pem",
        "root.key",
        "0x1002",
        "v3_inter_noca",
        "noca.pem",
    );
    o.genkey("leaf_noca.key", "ed25519");
    o.csr("leaf_noca.key", "seal under non-CA", "leaf_noca.csr");
    o.sign(
        "leaf_noca.csr",
        "noca.pem",
        "noca.key",
        "0x77",
        "v3_leaf",
        "leaf_noca.pem",
    );
    let err = f
        .check(&["leaf_noca.pem", "noca.pem"], "leaf_noca.key", f.at)
        .unwrap_err();
    assert_eq!(err.reason_code(), "not_a_ca");
    assert!(
        o.verify(f.at_secs, "root.pem", Some("noca.pem"), "leaf_noca.pem")
            .is_err(),
        "openssl must refuse a chain through a CA:FALSE intermediate too"
    );
}

#[test]
fn wrong_root_refused_by_both() {
    let Some(f) = fixture() else { return };
    let o = &f.o;
    let pem = f.leaf("p256", "P-256", "0x46");
    // Another root with the very same name; the chain was issued under the first.
    o.genkey("root2.key", "P-384");
    o.self_signed_root("root2.key", "Acme Root CA", "root2.pem");
    let err = registry_with_root(o, "root2.pem")
        .check(
            &evidence(o, &[&pem, "inter.pem"]),
            &o.raw_public_key("p256.key"),
            f.at,
        )
        .unwrap_err();
    assert_eq!(err.reason_code(), "untrusted_root");
    assert!(
        o.verify(f.at_secs, "root2.pem", Some("inter.pem"), &pem)
            .is_err()
    );
}

#[test]
fn path_length_refused_by_both() {
    let Some(f) = fixture() else { return };
    let o = &f.o;
    // The intermediate has pathlen:0; a second CA below it is refused.
    o.genkey("sub.key", "P-256");
    o.csr("sub.key", "Sub CA", "sub.csr");
    o.sign(
        "sub.csr",
        "inter.pem",
        "inter.key",
        "0x1003",
        "v3_root",
        "sub.pem",
    );
    o.genkey("leaf_sub.key", "P-256");
    o.csr("leaf_sub.key", "seal deep", "leaf_sub.csr");
    o.sign(
        "leaf_sub.csr",
        "sub.pem",
        "sub.key",
        "0x78",
        "v3_leaf",
        "leaf_sub.pem",
    );
    let err = f
        .check(
            &["leaf_sub.pem", "sub.pem", "inter.pem"],
            "leaf_sub.key",
            f.at,
        )
        .unwrap_err();
    assert_eq!(err.reason_code(), "path_length_exceeded");
    let both = [o.read("sub.pem"), o.read("inter.pem")].concat();
    std::fs::write(o.path("sub_chain.pem"), both).unwrap();
    assert!(
        o.verify(f.at_secs, "root.pem", Some("sub_chain.pem"), "leaf_sub.pem")
            .is_err()
    );
}

#[test]
fn compressed_ec_point_in_leaf() {
    let Some(f) = fixture() else { return };
    let o = &f.o;
    // Same key, compressed point form: the certificate's SPKI carries 0x02/0x03 ‖ X.
    o.genkey("plain.key", "P-256");
    o.run(&[
        "ec",
        "-in",
        "plain.key",
        "-conv_form",
        "compressed",
        "-out",
        "compressed.key",
    ]);
    o.csr("compressed.key", "seal compressed", "compressed.csr");
    o.sign(
        "compressed.csr",
        "inter.pem",
        "inter.key",
        "0x47",
        "v3_leaf",
        "compressed.pem",
    );
    // A compressed P-256 SPKI is 59 bytes (33-byte point); uncompressed would be 91.
    o.run(&[
        "x509",
        "-in",
        "compressed.pem",
        "-noout",
        "-pubkey",
        "-out",
        "compressed_pub.pem",
    ]);
    o.run(&[
        "pkey",
        "-pubin",
        "-in",
        "compressed_pub.pem",
        "-outform",
        "DER",
        "-out",
        "compressed_pub.der",
    ]);
    let spki = o.read("compressed_pub.der");
    assert_eq!(spki.len(), 59);
    assert!(matches!(spki[26], 0x02 | 0x03));
    // The registered key is the uncompressed form of the same point.
    f.check(&["compressed.pem", "inter.pem"], "plain.key", f.at)
        .unwrap();
    o.genkey("stranger.key", "P-256");
    let err = f
        .check(&["compressed.pem", "inter.pem"], "stranger.key", f.at)
        .unwrap_err();
    assert_eq!(err.reason_code(), "leaf_key_mismatch");
}
