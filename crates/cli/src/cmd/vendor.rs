//! `cphar vendor …`: the vendor side of seal provisioning.
//!
//! Today only **development helpers** live here, named `dev-…` so they are never mistaken for
//! a production line: `dev-ca` makes a throw-away vendor PKI (root CA, device CA, the trust
//! file a registry needs to accept it) and `dev-cert` certifies a seal key made with `cphar
//! keygen`, writing the registration request for `cphar registry register`. Their CA keys sit
//! in plain files: fit for trying CPHAR out, not for real seals.

use crate::io;
use crate::provision;
use anyhow::{Context, Result, anyhow, bail};
use cphar_crypto::SigningKey;
use rcgen::{CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
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
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, ca_key)
        .with_context(|| format!("{} is not a usable CA certificate", DEVICE_CA_CERT))?;
    let key_pem = String::from_utf8(io::read_file(&a.key)?)
        .with_context(|| format!("{} is not a PEM key file", a.key.display()))?;
    let seal_key = SigningKey::from_pkcs8_pem(&key_pem)
        .with_context(|| format!("{} is not a usable seal key", a.key.display()))?;
    let key_pair = KeyPair::from_pem(&key_pem)
        .with_context(|| format!("{} is not a usable seal key", a.key.display()))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::OrganizationName,
        format!("{} (development)", a.vendor),
    );
    dn.push(DnType::CommonName, a.uid.clone());
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(1825);
    let leaf = params
        .signed_by(&key_pair, &issuer)
        .context("cannot issue the seal certificate")?;
    let mut registration = json!({
        "uid": a.uid,
        "vendor": a.vendor,
        "deviceType": a.device_type,
        "hardwareRevision": a.hardware_revision,
        "bal": a.bal,
        "publicJwk": seal_key.verifying_key().to_jwk().to_json(),
        "certificateChainPem": format!("{}{}", leaf.pem(), ca_cert),
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
