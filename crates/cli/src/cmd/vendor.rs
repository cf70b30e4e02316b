//! `cphar vendor …`: the vendor side of seal provisioning.
//!
//! **Development helpers**, named `dev-…` so they are never mistaken for a production line:
//! `dev-ca` makes a throw-away vendor PKI (root CA, device CA, the trust file a registry needs
//! to accept it) and `dev-cert` certifies a seal key made with `cphar keygen`, writing the
//! registration request for `cphar registry register`. Their CA keys sit in plain files: fit
//! for trying CPHAR out, not for real seals.
//!
//! **The provisioning line** (seed 001 "blank → keygen → cert inject → audit"), over a line
//! directory (`--line DIR`):
//!
//! * `intake` (station S-01) records a blank device — UID, hardware id, SKU, batch, operator,
//!   station, time — in `DIR/intake/UID.json` and issues its **one-time authorization token**
//!   (32 CSPRNG bytes, written owner-only to `--token-out`; only its SHA-256 is recorded);
//! * `provision` (S-02…) spends the token (compared in constant time, then marked used with an
//!   exclusive create of `DIR/used/UID`: a second use is refused even if the rest fails),
//!   generates the key pair **inside the device's PKCS#11 token** (non-extractable), has the
//!   token sign a CSR, checks the CSR's signature (proof of possession), issues the device
//!   certificate from the issuing CA with the CPHAR device-identity extension (BAL, key
//!   origin, non-exportable flag, SKU, hardware id, batch, provisioning record id;
//!   `docs/device-certificate.md`), verifies the chain at once against the vendor trust file,
//!   and writes the provisioning record (`DIR/records/ID.json`: operator, station, time,
//!   evidence reference, token hash, key protection as the token reported it, certificate
//!   serial and fingerprint) and the seal's registration request.
//!
//! Not here yet: an offline root kept in a token or encrypted file (the issuing CA is a
//! `dev-ca` directory), the lock step, and the RMA paths.

use crate::io;
use crate::provision;
use anyhow::{Context, Result, anyhow, bail};
use cphar_crypto::SigningKey;
use rcgen::{CertificateParams, DistinguishedName, DnType, Issuer, KeyPair};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Root CA certificate file in a `dev-ca` directory.
pub const ROOT_CERT: &str = "root-ca.pem";
/// Root CA private key (PKCS#8 PEM, 0600).
pub const ROOT_KEY: &str = "root-ca.key";
/// Device CA certificate (issued by the root; issues seal certificates).
pub const DEVICE_CA_CERT: &str = "device-ca.pem";
/// Device CA private key (PKCS#8 PEM, 0600).
pub const DEVICE_CA_KEY: &str = "device-ca.key";
/// The vendor trust file for the registry (`cphar-vendor-trust/1`, TOML).
pub const TRUST_FILE: &str = "vendors.toml";

/// Vendor operations.
#[derive(clap::Subcommand)]
pub enum Command {
    /// DEVELOPMENT ONLY: make a test vendor PKI (root CA, device CA, `vendors.toml`).
    DevCa(DevCaArgs),
    /// DEVELOPMENT ONLY: certify a seal key with a `dev-ca` device CA; writes the seal's
    /// registration request (`seal.json`).
    DevCert(DevCertArgs),
    /// Provisioning line, station S-01: record a blank device and issue its one-time
    /// authorization token.
    Intake(IntakeArgs),
    /// Provisioning line: spend the device's token, generate its key in its PKCS#11 token,
    /// certify it (CSR → device certificate with the identity extension), verify, record.
    Provision(ProvisionArgs),
    /// Issue a CRL from the issuing (device) CA revoking device certificates by serial; writes
    /// the bundle (the CRL and the CA certificate, PEM) a registry loads from `DATA_DIR/crls/`.
    Crl(CrlArgs),
}

/// Options of `cphar vendor crl`.
#[derive(clap::Args)]
pub struct CrlArgs {
    /// The issuing CA (a `dev-ca` directory).
    #[arg(long, value_name = "DIR", default_value = "vendor")]
    ca_dir: PathBuf,
    /// Serial (lower-case hex, as the registry records it) of a certificate to revoke;
    /// repeatable. None: an empty CRL (nothing revoked, freshness asserted).
    #[arg(long, value_name = "HEX")]
    revoke: Vec<String>,
    /// The CRL number (monotonic per issuer).
    #[arg(long, value_name = "N", default_value_t = 1)]
    number: u64,
    /// Seconds until nextUpdate.
    #[arg(long, value_name = "N", default_value_t = 86_400)]
    next_update_seconds: u64,
    /// Where to write the bundle (must not exist).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Options of `cphar vendor intake`.
#[derive(clap::Args)]
pub struct IntakeArgs {
    /// The provisioning line directory (created if missing).
    #[arg(long, value_name = "DIR")]
    line: PathBuf,
    /// The device UID.
    #[arg(long, value_name = "UID")]
    uid: String,
    /// The hardware id read from the device.
    #[arg(long, value_name = "ID")]
    hardware_id: String,
    /// The product SKU.
    #[arg(long)]
    sku: String,
    /// The manufacturing batch.
    #[arg(long)]
    batch: String,
    /// The operator at the intake station.
    #[arg(long)]
    operator: String,
    /// The intake station.
    #[arg(long)]
    station: String,
    /// Where to write the one-time authorization token (owner-only; must not exist).
    #[arg(long, value_name = "FILE")]
    token_out: PathBuf,
}

/// Options of `cphar vendor provision`.
#[derive(clap::Args)]
pub struct ProvisionArgs {
    /// The provisioning line directory.
    #[arg(long, value_name = "DIR")]
    line: PathBuf,
    /// The issuing CA (a `dev-ca` directory: device CA certificate and key, trust file).
    #[arg(long, value_name = "DIR", default_value = "vendor")]
    ca_dir: PathBuf,
    /// The device UID (as recorded at intake).
    #[arg(long, value_name = "UID")]
    uid: String,
    /// The device's one-time authorization token file (from `intake`).
    #[arg(long, value_name = "FILE")]
    authorization: PathBuf,
    /// The label of the key pair to generate in the device's token.
    #[arg(long, value_name = "LABEL")]
    key_label: String,
    /// The device token's configuration (TOML `module`, `token`, `pin`; mode 0600); without
    /// it `CPHAR_SEAL_PKCS11_*` are read.
    #[arg(long, value_name = "FILE")]
    pkcs11_config: Option<PathBuf>,
    /// The key's profile (default: Ed25519 when the token offers it, else P-256).
    #[arg(long, value_enum)]
    profile: Option<super::keygen::Profile>,
    /// The Binding Assurance Level the vendor certifies (BAL-2: secure element).
    #[arg(long, value_name = "BAL-n", default_value = "BAL-2")]
    bal: cphar_protocol::Bal,
    /// The operator running the station.
    #[arg(long)]
    operator: String,
    /// The provisioning station.
    #[arg(long)]
    station: String,
    /// Where the station's evidence (logs, photos) is kept.
    #[arg(long, value_name = "REF")]
    evidence_ref: String,
    /// Vendor id (as in the trust file).
    #[arg(long, value_name = "ID", default_value = provision::VENDOR)]
    vendor: String,
    /// Hardware revision.
    #[arg(long, default_value = "C")]
    hardware_revision: String,
    /// Firmware measurement the device runs (must be allowed by the trust file).
    #[arg(long, value_name = "DIGEST", default_value_t = provision::firmware())]
    firmware: String,
    /// The seal agent's URL, for scheduled attestation.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Where to write the registration request (JSON; must not exist).
    #[arg(long, value_name = "FILE", default_value = "seal.json")]
    out: PathBuf,
}

/// Options of `cphar vendor dev-ca`.
#[derive(clap::Args)]
pub struct DevCaArgs {
    /// Directory to create the files in (created if missing; existing files are kept and
    /// the command refuses).
    #[arg(long, value_name = "DIR", default_value = "vendor")]
    dir: PathBuf,
    /// The vendor id the trust file and the registrations name.
    #[arg(long, value_name = "ID", default_value = provision::VENDOR)]
    vendor: String,
    /// The firmware measurement the trust file allows (`sha256:<64 hex>`).
    #[arg(long, value_name = "DIGEST", default_value_t = provision::firmware())]
    firmware: String,
}

/// Options of `cphar vendor dev-cert`.
#[derive(clap::Args)]
pub struct DevCertArgs {
    /// A `dev-ca` directory.
    #[arg(long, value_name = "DIR", default_value = "vendor")]
    ca_dir: PathBuf,
    /// The seal's private key (from `cphar keygen`): its public half is certified.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The seal's device UID.
    #[arg(long, value_name = "UID")]
    uid: String,
    /// Where to write the registration request (JSON).
    #[arg(long, value_name = "FILE", default_value = "seal.json")]
    out: PathBuf,
    /// Vendor id (as given to `dev-ca`).
    #[arg(long, value_name = "ID", default_value = provision::VENDOR)]
    vendor: String,
    /// Device type / model.
    #[arg(long, default_value = "AS-100")]
    device_type: String,
    /// Hardware revision.
    #[arg(long, default_value = "C")]
    hardware_revision: String,
    /// The BAL the seal claims.
    #[arg(long, value_name = "BAL-n", default_value = "BAL-2")]
    bal: String,
    /// Firmware measurement the seal reports (must be allowed by the trust file).
    #[arg(long, value_name = "DIGEST", default_value_t = provision::firmware())]
    firmware: String,
    /// The seal agent's URL (`cphar seal serve`), for scheduled attestation.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Overwrite `--out`.
    #[arg(long)]
    force: bool,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::DevCa(a) => dev_ca(&a),
        Command::DevCert(a) => dev_cert(&a),
        Command::Intake(a) => intake(&a),
        Command::Provision(a) => provision_device(&a),
        Command::Crl(a) => crl(&a),
    }
}

fn write_public(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist)", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn dev_ca(a: &DevCaArgs) -> Result<ExitCode> {
    let (root, device_ca) = provision::dev_ca(&a.vendor)?;
    std::fs::create_dir_all(&a.dir)
        .with_context(|| format!("cannot create {}", a.dir.display()))?;
    for name in [
        ROOT_CERT,
        ROOT_KEY,
        DEVICE_CA_CERT,
        DEVICE_CA_KEY,
        TRUST_FILE,
    ] {
        if a.dir.join(name).exists() {
            bail!(
                "{} exists: dev-ca does not overwrite a vendor PKI",
                a.dir.join(name).display()
            );
        }
    }
    io::write_secret_file(&a.dir.join(ROOT_KEY), root.key_pem.as_bytes(), false)?;
    io::write_secret_file(
        &a.dir.join(DEVICE_CA_KEY),
        device_ca.key_pem.as_bytes(),
        false,
    )?;
    write_public(&a.dir.join(ROOT_CERT), &root.cert_pem)?;
    write_public(&a.dir.join(DEVICE_CA_CERT), &device_ca.cert_pem)?;
    let trust = trust_file_toml(&a.vendor, &root.cert_pem, &a.firmware);
    // The file must load as the registry will load it.
    cphar_vendor::VendorRegistry::from_toml(&trust)
        .map_err(|e| anyhow!("the trust file would not load: {e}"))?;
    write_public(&a.dir.join(TRUST_FILE), &trust)?;
    println!(
        "development vendor PKI for '{}' in {}: {ROOT_CERT}, {DEVICE_CA_CERT} (keys {ROOT_KEY}, \
         {DEVICE_CA_KEY}, 0600); trust file {TRUST_FILE} (copy it to the registry's data directory)",
        a.vendor,
        a.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The `cphar-vendor-trust/1` TOML for one vendor with one root and one allowed firmware.
fn trust_file_toml(vendor: &str, root_pem: &str, firmware: &str) -> String {
    format!(
        "# Vendor trust file made by `cphar vendor dev-ca` (DEVELOPMENT ONLY).\n\
         format = \"cphar-vendor-trust/1\"\n\n\
         [[vendors]]\n\
         id = \"{vendor}\"\n\
         roots = ['''\n{root}''']\n\n\
         [[vendors.firmware]]\n\
         measurement = \"{firmware}\"\n\
         label = \"development firmware\"\n",
        root = root_pem
    )
}

fn dev_cert(a: &DevCertArgs) -> Result<ExitCode> {
    let read = |name: &str| -> Result<String> {
        let path = a.ca_dir.join(name);
        String::from_utf8(io::read_file(&path)?)
            .with_context(|| format!("{} is not PEM text", path.display()))
    };
    let ca_cert = read(DEVICE_CA_CERT)?;
    let ca_key = KeyPair::from_pem(&read(DEVICE_CA_KEY)?)
        .with_context(|| format!("{} is not a usable CA key", DEVICE_CA_KEY))?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, provision::IdentitySigner(&ca_key))
        .with_context(|| format!("{} is not a usable CA certificate", DEVICE_CA_CERT))?;
    let key_pem = String::from_utf8(io::read_file(&a.key)?)
        .with_context(|| format!("{} is not a PEM key file", a.key.display()))?;
    let seal_key = SigningKey::from_pkcs8_pem(&key_pem)
        .with_context(|| format!("{} is not a usable seal key", a.key.display()))?;
    let key_pair = KeyPair::from_pem(&key_pem)
        .with_context(|| format!("{} is not a usable seal key", a.key.display()))?;
    let bal: cphar_protocol::Bal = a
        .bal
        .parse()
        .map_err(|_| anyhow!("--bal {} is not BAL-1..BAL-4", a.bal))?;
    // What a development key file honestly is: imported, exportable.
    let identity = cphar_vendor::DeviceIdentity {
        bal: bal_number(bal),
        key_origin: cphar_vendor::KeyOrigin::Imported,
        non_exportable: false,
        sku: a.device_type.clone(),
        hardware_id: format!("DEV-{}", a.uid),
        batch: "development".into(),
        provisioning_record_id: format!("DEV-{}", a.uid),
    };
    let mut serial = cphar_crypto::random_bytes::<16>().context("the CSPRNG failed")?;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let params = provision::device_params(
        &format!("{} (development)", a.vendor),
        &a.uid,
        &serial,
        &identity,
    )?;
    let leaf_pem = provision::issue(&params, &key_pair, &issuer)?;
    let mut registration = json!({
        "uid": a.uid,
        "vendor": a.vendor,
        "deviceType": a.device_type,
        "hardwareRevision": a.hardware_revision,
        "bal": a.bal,
        "publicJwk": seal_key.verifying_key().to_jwk().to_json(),
        "certificateChainPem": format!("{leaf_pem}{ca_cert}"),
        "firmwareMeasurement": a.firmware,
        "tamperEvidence": {"carrierClass": "bolt-seal", "specification": "ISO 17712:2013 H"},
    });
    if let (Some(endpoint), Some(obj)) = (&a.endpoint, registration.as_object_mut()) {
        obj.insert("endpoint".into(), json!(endpoint));
    }
    let text = format!("{registration:#}\n");
    if a.force {
        std::fs::write(&a.out, text)
            .with_context(|| format!("cannot write {}", a.out.display()))?;
    } else {
        write_public(&a.out, &text)?;
    }
    println!(
        "seal {} certified by {}; registration request in {}",
        a.uid,
        a.ca_dir.join(DEVICE_CA_CERT).display(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// The provisioning line

/// Format tag of an intake record.
const INTAKE_FORMAT: &str = "cphar-intake/1";
/// Format tag of a provisioning record.
const RECORD_FORMAT: &str = "cphar-provisioning-record/1";

/// The BAL as the identity extension's INTEGER.
fn bal_number(bal: cphar_protocol::Bal) -> u8 {
    match bal {
        cphar_protocol::Bal::Bal1 => 1,
        cphar_protocol::Bal::Bal2 => 2,
        cphar_protocol::Bal::Bal3 => 3,
        cphar_protocol::Bal::Bal4 => 4,
    }
}

/// An intake record (`DIR/intake/UID.json`).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IntakeRecord {
    format: String,
    device_uid: String,
    hardware_id: String,
    sku: String,
    batch: String,
    operator: String,
    station: String,
    intake_at: String,
    /// SHA-256 of the one-time authorization token, hex.
    authorization_sha256: String,
}

fn line_file(line: &Path, sub: &str, name: &str) -> Result<PathBuf> {
    cphar_registry::ident::check_seal_uid(name.trim_end_matches(".json"))
        .map_err(|e| anyhow!("{e}"))?;
    let dir = line.join(sub);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.join(name))
}

fn text_arg(name: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
        bail!("--{name} must be 1–128 printable characters");
    }
    Ok(())
}

fn intake(a: &IntakeArgs) -> Result<ExitCode> {
    for (name, value) in [
        ("hardware-id", &a.hardware_id),
        ("sku", &a.sku),
        ("batch", &a.batch),
        ("operator", &a.operator),
        ("station", &a.station),
    ] {
        text_arg(name, value)?;
    }
    let path = line_file(&a.line, "intake", &format!("{}.json", a.uid))?;
    let token = zeroize::Zeroizing::new(cphar_crypto::hex(
        &cphar_crypto::random_bytes::<32>().context("the CSPRNG failed")?,
    ));
    let record = IntakeRecord {
        format: INTAKE_FORMAT.into(),
        device_uid: a.uid.clone(),
        hardware_id: a.hardware_id.clone(),
        sku: a.sku.clone(),
        batch: a.batch.clone(),
        operator: a.operator.clone(),
        station: a.station.clone(),
        intake_at: cphar_protocol::Timestamp::now_utc().to_string(),
        authorization_sha256: cphar_crypto::hex(&cphar_crypto::sha256(token.as_bytes())),
    };
    // The record first (exclusive: a device is taken in once), then the token.
    write_public(&path, &format!("{:#}\n", serde_json::to_value(&record)?))?;
    io::write_secret_file(&a.token_out, token.as_bytes(), false)?;
    println!(
        "device {} taken in at {}; intake record {}; one-time authorization token in {}",
        a.uid,
        a.station,
        path.display(),
        a.token_out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The device's token key as rcgen's CSR signer.
struct TokenSigner<'a> {
    key: &'a cphar_pkcs11::Pkcs11SealKey,
    public: Vec<u8>,
}

impl rcgen::PublicKeyData for TokenSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        match self.key.algorithm() {
            cphar_pkcs11::SealKeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
            cphar_pkcs11::SealKeyAlgorithm::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

impl rcgen::SigningKey for TokenSigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.key
            .try_sign(msg)
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

fn provision_device(a: &ProvisionArgs) -> Result<ExitCode> {
    use cphar_protocol::seal::SealKey;
    use subtle::ConstantTimeEq;
    for (name, value) in [
        ("operator", &a.operator),
        ("station", &a.station),
        ("evidence-ref", &a.evidence_ref),
    ] {
        text_arg(name, value)?;
    }
    let intake_path = line_file(&a.line, "intake", &format!("{}.json", a.uid))?;
    let intake: IntakeRecord = serde_json::from_slice(&io::read_file(&intake_path)?)
        .with_context(|| format!("{} is not an intake record", intake_path.display()))?;
    if intake.format != INTAKE_FORMAT || intake.device_uid != a.uid {
        bail!(
            "{} is not the intake record of {}",
            intake_path.display(),
            a.uid
        );
    }

    // S-02 gate: the one-time authorization, compared in constant time, then spent.
    let token = zeroize::Zeroizing::new(io::read_file(&a.authorization)?);
    let presented = cphar_crypto::hex(&cphar_crypto::sha256(token.trim_ascii()));
    if !bool::from(
        presented
            .as_bytes()
            .ct_eq(intake.authorization_sha256.as_bytes()),
    ) {
        bail!(
            "authorization_invalid: the token is not the one issued for {}",
            a.uid
        );
    }
    let used = line_file(&a.line, "used", &a.uid)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&used)
        .map_err(|_| {
            anyhow!(
                "authorization_used: the token of {} was already spent",
                a.uid
            )
        })?;

    // Key generation inside the device's boundary.
    let config = super::seal::pkcs11_config(a.pkcs11_config.as_deref())?;
    let prefer = a.profile.map(|p| match p {
        super::keygen::Profile::Ed25519 => cphar_pkcs11::SealKeyAlgorithm::Ed25519,
        super::keygen::Profile::P256 => cphar_pkcs11::SealKeyAlgorithm::P256,
    });
    let key = cphar_pkcs11::Pkcs11SealKey::generate(&config, &a.key_label, prefer)
        .map_err(|e| anyhow!("{e} ({})", e.reason_code()))?;
    let protection = key
        .protection()
        .map_err(|e| anyhow!("{e} ({})", e.reason_code()))?;
    let public = SealKey::verifying_key(&key);

    // CSR signed in the token; its signature proves possession before anything is issued.
    let mut csr_params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, a.uid.clone());
    csr_params.distinguished_name = dn;
    let signer = TokenSigner {
        key: &key,
        public: public.public_bytes(),
    };
    let csr_pem = csr_params
        .serialize_request(&signer)
        .and_then(|csr| csr.pem())
        .context("the token could not sign the CSR")?;
    let csr = rcgen::CertificateSigningRequestParams::from_pem(&csr_pem)
        .context("the CSR does not verify")?;

    // Certificate issuance with the identity extension.
    let record_id = format!(
        "PR-{}",
        cphar_crypto::hex(&cphar_crypto::random_bytes::<8>().context("the CSPRNG failed")?)
    );
    let identity = cphar_vendor::DeviceIdentity {
        bal: bal_number(a.bal),
        key_origin: cphar_vendor::KeyOrigin::GeneratedOnDevice,
        non_exportable: protection.is_contained(),
        sku: intake.sku.clone(),
        hardware_id: intake.hardware_id.clone(),
        batch: intake.batch.clone(),
        provisioning_record_id: record_id.clone(),
    };
    let mut serial = cphar_crypto::random_bytes::<16>().context("the CSPRNG failed")?;
    // Positive and 16 octets long (RFC 5280 §4.1.2.2).
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let params = provision::device_params(&a.vendor, &a.uid, &serial, &identity)?;
    let read = |name: &str| -> Result<String> {
        let path = a.ca_dir.join(name);
        String::from_utf8(io::read_file(&path)?)
            .with_context(|| format!("{} is not PEM text", path.display()))
    };
    let ca_cert = read(DEVICE_CA_CERT)?;
    let ca_key = KeyPair::from_pem(&read(DEVICE_CA_KEY)?)
        .with_context(|| format!("{DEVICE_CA_KEY} is not a usable CA key"))?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, provision::IdentitySigner(&ca_key))
        .with_context(|| format!("{DEVICE_CA_CERT} is not a usable CA certificate"))?;
    let leaf_pem = provision::issue(&params, &csr.public_key, &issuer)?;
    let chain_pem = format!("{leaf_pem}{ca_cert}");

    // Verify at once, as the registry will.
    let trust = cphar_vendor::VendorRegistry::from_toml(&read(TRUST_FILE)?)
        .map_err(|e| anyhow!("{TRUST_FILE}: {e}"))?;
    let chain = cphar_vendor::DeviceEvidence::chain_from_bytes(chain_pem.as_bytes())
        .map_err(|e| anyhow!("issued chain: {e}"))?;
    let evidence = cphar_vendor::DeviceEvidence {
        vendor: a.vendor.clone(),
        device_type: intake.sku.clone(),
        hardware_revision: a.hardware_revision.clone(),
        chain,
        firmware_measurement: a.firmware.clone(),
    };
    let key_bytes = match key.algorithm() {
        cphar_pkcs11::SealKeyAlgorithm::Ed25519 => {
            cphar_vendor::PublicKeyBytes::ed25519(&public.public_bytes())
        }
        cphar_pkcs11::SealKeyAlgorithm::P256 => {
            cphar_vendor::PublicKeyBytes::p256_sec1(&public.public_bytes())
        }
    }
    .map_err(|e| anyhow!("public key: {e}"))?;
    let now = cphar_protocol::Timestamp::now_utc();
    let accepted = trust
        .check(
            &evidence,
            &key_bytes,
            cphar_vendor::UnixTime::from_secs(u64::try_from(now.unix_seconds()).unwrap_or(0)),
        )
        .map_err(|e| {
            anyhow!(
                "the issued certificate does not verify ({}): {e}",
                e.reason_code()
            )
        })?;
    if accepted.device_identity() != Some(&identity) {
        bail!("the issued certificate does not carry the identity it was issued with");
    }

    let record = json!({
        "format": RECORD_FORMAT,
        "recordId": record_id,
        "deviceUid": a.uid,
        "hardwareId": intake.hardware_id,
        "sku": intake.sku,
        "batch": intake.batch,
        "operator": a.operator,
        "station": a.station,
        "provisionedAt": now.to_string(),
        "evidenceRef": a.evidence_ref,
        "authorizationSha256": intake.authorization_sha256,
        "intake": {"operator": intake.operator, "station": intake.station, "at": intake.intake_at},
        "key": {
            "label": a.key_label,
            "origin": identity.key_origin.as_str(),
            "publicJwk": public.to_jwk().to_json(),
            "token": {"sensitive": protection.sensitive, "alwaysSensitive": protection.always_sensitive,
                      "extractable": protection.extractable, "neverExtractable": protection.never_extractable},
        },
        "csrSha256": cphar_crypto::hex(&cphar_crypto::sha256(csr_pem.as_bytes())),
        "certificate": {
            "serial": accepted.leaf_serial_hex(),
            "fingerprintSha256": accepted.leaf_fingerprint_sha256(),
            "issuer": accepted.leaf_issuer_dn(),
            "bal": a.bal.as_str(),
        },
        "verifyResult": "accepted",
    });
    let record_path = line_file(&a.line, "records", &format!("{record_id}.json"))?;
    write_public(&record_path, &format!("{record:#}\n"))?;
    let mut registration = json!({
        "uid": a.uid,
        "vendor": a.vendor,
        "deviceType": intake.sku,
        "hardwareRevision": a.hardware_revision,
        "bal": a.bal.as_str(),
        "publicJwk": public.to_jwk().to_json(),
        "certificateChainPem": chain_pem,
        "firmwareMeasurement": a.firmware,
        "tamperEvidence": {"carrierClass": "bolt-seal", "specification": "ISO 17712:2013 H"},
    });
    if let (Some(endpoint), Some(obj)) = (&a.endpoint, registration.as_object_mut()) {
        obj.insert("endpoint".into(), json!(endpoint));
    }
    write_public(&a.out, &format!("{registration:#}\n"))?;
    println!(
        "device {} provisioned: key {} generated in token {} (non-extractable), certificate {} \
         issued and verified; record {}; registration request {}",
        a.uid,
        a.key_label,
        config.token_label,
        accepted.leaf_serial_hex(),
        record_path.display(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn crl(a: &CrlArgs) -> Result<ExitCode> {
    let read = |name: &str| -> Result<String> {
        let path = a.ca_dir.join(name);
        String::from_utf8(io::read_file(&path)?)
            .with_context(|| format!("{} is not PEM text", path.display()))
    };
    let ca_cert = read(DEVICE_CA_CERT)?;
    let ca_key = KeyPair::from_pem(&read(DEVICE_CA_KEY)?)
        .with_context(|| format!("{DEVICE_CA_KEY} is not a usable CA key"))?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, ca_key)
        .with_context(|| format!("{DEVICE_CA_CERT} is not a usable CA certificate"))?;
    let now = time::OffsetDateTime::now_utc();
    let mut revoked = Vec::new();
    for serial in &a.revoke {
        let bytes = io::decode_hex(serial)
            .with_context(|| format!("--revoke {serial} is not a hex serial"))?;
        revoked.push(rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from_slice(&bytes),
            revocation_time: now,
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        });
    }
    let params = rcgen::CertificateRevocationListParams {
        this_update: now,
        next_update: now
            + time::Duration::seconds(i64::try_from(a.next_update_seconds).unwrap_or(i64::MAX)),
        crl_number: rcgen::SerialNumber::from_slice(&a.number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    let crl = params
        .signed_by(&issuer)
        .context("cannot sign the CRL")?
        .pem()
        .context("cannot encode the CRL")?;
    write_public(&a.out, &format!("{crl}{ca_cert}"))?;
    println!(
        "CRL {} revoking {} certificate(s), nextUpdate in {} s: {} (copy it to the registry's \
         DATA_DIR/crls/)",
        a.number,
        a.revoke.len(),
        a.next_update_seconds,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
