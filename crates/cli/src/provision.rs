//! Software seals for the demo and the load benchmark: a vendor PKI (root CA, device CA) made
//! with rcgen, seal keys whose device certificates it issues, and the vendor trust file the
//! registry checks registrations against.

use anyhow::{Context, Result, anyhow};
use cphar_crypto::{Algorithm, SigningKey};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{Value, json};

/// The demo vendor's id.
pub const VENDOR: &str = "acme-seals";
/// The firmware measurement the vendor publishes.
pub fn firmware() -> String {
    format!("sha256:{}", "5e".repeat(32))
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

/// A vendor PKI.
pub struct Vendor {
    root: Ca,
    device_ca: Ca,
}

/// A provisioned seal: its key and registration request.
pub struct Seal {
    /// Device UID.
    pub uid: String,
    /// The private key (never leaves the software seal).
    pub key: SigningKey,
    /// `POST /seals` body.
    pub registration: Value,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::OrganizationName, "Acme Seals");
    d.push(DnType::CommonName, cn);
    d
}

fn ca(cn: &str, key: KeyPair, issuer: Option<&Ca>) -> Result<Ca> {
    ca_named(dn(cn), key, issuer)
}

fn ca_named(name: DistinguishedName, key: KeyPair, issuer: Option<&Ca>) -> Result<Ca> {
    let mut p = CertificateParams::default();
    p.distinguished_name = name;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(3650);
    let cert = match issuer {
        None => p.self_signed(&key)?,
        Some(i) => p.signed_by(&key, &Issuer::from_params(&i.params, &i.key))?,
    };
    Ok(Ca {
        pem: cert.pem(),
        params: p,
        key,
    })
}

/// A CA's certificate and private key, as PEM text.
pub struct CaFiles {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8 PEM).
    pub key_pem: String,
}

/// A development vendor PKI for `vendor` (P-384 root, P-256 device CA), as files.
pub fn dev_ca(vendor: &str) -> Result<(CaFiles, CaFiles)> {
    let named = |cn: &str| {
        let mut d = DistinguishedName::new();
        d.push(DnType::OrganizationName, format!("{vendor} (development)"));
        d.push(DnType::CommonName, cn);
        d
    };
    let root = ca_named(
        named(&format!("{vendor} development root CA")),
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)?,
        None,
    )?;
    let device_ca = ca_named(
        named(&format!("{vendor} development device CA")),
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?,
        Some(&root),
    )?;
    let files = |c: &Ca| CaFiles {
        cert_pem: c.pem.clone(),
        key_pem: c.key.serialize_pem(),
    };
    Ok((files(&root), files(&device_ca)))
}

impl Vendor {
    /// A fresh vendor PKI (P-384 root, P-256 device CA).
    pub fn new() -> Result<Self> {
        let root = ca(
            "Acme Root CA",
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)?,
            None,
        )?;
        let device_ca = ca(
            "Acme Device CA",
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?,
            Some(&root),
        )?;
        Ok(Vendor { root, device_ca })
    }

    /// The vendor trust file (`cphar-vendor-trust/1`, JSON).
    pub fn trust_file(&self) -> String {
        json!({
            "format": "cphar-vendor-trust/1",
            "vendors": [{"id": VENDOR, "roots": [self.root.pem], "firmware": [{"measurement": firmware(), "label": "fw 4.2.1"}]}]
        })
        .to_string()
    }

    /// Provisions a seal: key generated "on the device", certificate from the device CA.
    pub fn seal(&self, uid: &str, alg: Algorithm, serial: u64) -> Result<Seal> {
        let rc = match alg {
            Algorithm::Ed25519 => &rcgen::PKCS_ED25519,
            Algorithm::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            other => return Err(anyhow!("no software seal of type {other}")),
        };
        let key_pair = KeyPair::generate_for(rc)?;
        let key = SigningKey::from_pkcs8_der(&key_pair.serialize_der()).context("seal key")?;
        let identity = cphar_vendor::DeviceIdentity {
            bal: 2,
            key_origin: cphar_vendor::KeyOrigin::GeneratedOnDevice,
            non_exportable: true,
            sku: "AS-100".into(),
            hardware_id: format!("HW-{uid}"),
            batch: "B-DEMO".into(),
            provisioning_record_id: format!("PR-{uid}"),
        };
        let p = device_params("Acme Seals", uid, &serial.to_be_bytes(), &identity)?;
        let signer = IdentitySigner(&self.device_ca.key);
        let leaf_pem = issue(
            &p,
            &key_pair,
            &Issuer::from_params(&self.device_ca.params, signer),
        )?;
        let registration = json!({
            "uid": uid,
            "vendor": VENDOR,
            "deviceType": "AS-100",
            "hardwareRevision": "C",
            "bal": "BAL-2",
            "publicJwk": key.verifying_key().to_jwk().to_json(),
            "certificateChainPem": format!("{leaf_pem}{}", self.device_ca.pem),
            "firmwareMeasurement": firmware(),
            "tamperEvidence": {"carrierClass": "bolt-seal", "specification": "ISO 17712:2013 H"},
        });
        Ok(Seal {
            uid: uid.to_owned(),
            key,
            registration,
        })
    }
}

/// An inspection request for `lot` closed by `seal`.
pub fn inspection(
    lot: &str,
    seal: &str,
    commodity: &str,
    amount: &str,
    unit: &str,
    grade: &str,
) -> Value {
    json!({
        "lotId": lot,
        "sealUid": seal,
        "commodity": commodity,
        "quantity": {"amount": amount, "unit": unit},
        "grade": grade,
        "containerId": format!("CONT-{lot}"),
        "location": "Vault 7, Zurich",
        "owner": "Reserve Holdings AG",
        "evidence": {"hash": format!("sha256:{}", "ab".repeat(32)), "uri": format!("https://evidence.example/{lot}")},
    })
}

pub use cphar_vendor::issue::{IdentitySigner, device_params, issue};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn issued_certificate_verifies_and_carries_the_identity() {
        let vendor = Vendor::new().unwrap();
        let seal = vendor.seal("SEAL-9", Algorithm::Ed25519, 9).unwrap();
        let trust = cphar_vendor::VendorRegistry::from_json(&vendor.trust_file()).unwrap();
        let chain = cphar_vendor::DeviceEvidence::chain_from_bytes(
            seal.registration["certificateChainPem"]
                .as_str()
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        let evidence = cphar_vendor::DeviceEvidence {
            vendor: VENDOR.into(),
            device_type: "AS-100".into(),
            hardware_revision: "C".into(),
            chain,
            firmware_measurement: firmware(),
        };
        let key = cphar_vendor::PublicKeyBytes::ed25519(&seal.key.verifying_key().public_bytes())
            .unwrap();
        let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
        let accepted = trust
            .check(&evidence, &key, cphar_vendor::UnixTime::from_secs(now))
            .unwrap();
        let identity = accepted.device_identity().expect("identity extension");
        assert_eq!(identity.bal, 2);
        assert_eq!(identity.sku, "AS-100");
        assert_eq!(identity.provisioning_record_id, "PR-SEAL-9");
    }
}
