//! The result of a successful check.
//!
//! This module owns [`AcceptedDevice`]. Its fields are private and it has no public
//! constructor, no `Default` and no `Deserialize`: the only way to obtain one is
//! [`VendorRegistry::check`](crate::VendorRegistry::check) returning `Ok`, so holding one is
//! proof the evidence was verified ("verified is a type only verification can build").

use crate::key::PublicKeyBytes;
use crate::measurement::FirmwareMeasurement;
use crate::{UnixTime, hex};

/// A device whose vendor attestation evidence passed every check.
///
/// Carries what the registry records for audit and clone detection. For uniqueness, use
/// [`AcceptedDevice::clone_detection_key`] (issuer + serial, RFC 5280's certificate identity)
/// and/or [`AcceptedDevice::leaf_spki_sha256`] (the same key certified twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedDevice {
    pub(crate) vendor: String,
    pub(crate) device_type: String,
    pub(crate) hardware_revision: String,
    pub(crate) firmware: FirmwareMeasurement,
    pub(crate) firmware_label: Option<String>,
    pub(crate) public_key: PublicKeyBytes,
    pub(crate) leaf_serial_hex: String,
    pub(crate) leaf_issuer_dn: String,
    pub(crate) leaf_subject_dn: String,
    pub(crate) leaf_issuer_der: Vec<u8>,
    pub(crate) leaf_fingerprint: [u8; 32],
    pub(crate) leaf_spki_sha256: [u8; 32],
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) chain_fingerprints: Vec<[u8; 32]>,
    pub(crate) root_subject_dn: String,
    pub(crate) verified_at: UnixTime,
    pub(crate) device_identity: Option<crate::identity::DeviceIdentity>,
    pub(crate) rotation_grace: bool,
}

impl AcceptedDevice {
    /// What the vendor's device-identity extension asserts (BAL, key origin, SKU, …), if
    /// the leaf carries one.
    pub fn device_identity(&self) -> Option<&crate::identity::DeviceIdentity> {
        self.device_identity.as_ref()
    }

    /// Issuer rotation state of the accepted chain (seed 001): `"grace"` when it is anchored
    /// on a retiring root inside its window, else `"active"`.
    pub fn rotation_state(&self) -> &'static str {
        if self.rotation_grace {
            "grace"
        } else {
            "active"
        }
    }

    /// The chain id: SHA-256 of the anchoring root certificate, lower-case hex.
    pub fn chain_id(&self) -> String {
        self.chain_fingerprints
            .last()
            .map(|f| hex::encode(f))
            .unwrap_or_default()
    }

    /// The vendor id whose trust configuration accepted the device.
    pub fn vendor(&self) -> &str {
        &self.vendor
    }

    /// Device type as registered (and matched against the firmware allowlist scope).
    pub fn device_type(&self) -> &str {
        &self.device_type
    }

    /// Hardware revision as registered (and matched against the firmware allowlist scope).
    pub fn hardware_revision(&self) -> &str {
        &self.hardware_revision
    }

    /// The accepted firmware measurement.
    pub fn firmware(&self) -> &FirmwareMeasurement {
        &self.firmware
    }

    /// The label of the allowlist entry that accepted the firmware, if it had one.
    pub fn firmware_label(&self) -> Option<&str> {
        self.firmware_label.as_deref()
    }

    /// The registered public key, proven equal to the leaf certificate's key.
    pub fn public_key(&self) -> &PublicKeyBytes {
        &self.public_key
    }

    /// Leaf serial number: lowercase hex of the positive integer, no sign padding (the form
    /// `openssl x509 -serial` prints, lower-cased).
    pub fn leaf_serial_hex(&self) -> &str {
        &self.leaf_serial_hex
    }

    /// Leaf issuer distinguished name (RFC 4514-style, for display and audit).
    pub fn leaf_issuer_dn(&self) -> &str {
        &self.leaf_issuer_dn
    }

    /// Leaf subject distinguished name (RFC 4514-style, for display and audit).
    pub fn leaf_subject_dn(&self) -> &str {
        &self.leaf_subject_dn
    }

    /// The leaf issuer name exactly as encoded (DER), the byte-exact half of the certificate
    /// identity.
    pub fn leaf_issuer_der(&self) -> &[u8] {
        &self.leaf_issuer_der
    }

    /// Uniqueness key for clone detection: `<sha256(issuer DER) hex>:<serial hex>`.
    ///
    /// Two registrations with the same key present the same certificate identity; the registry
    /// must refuse the second (or flag a clone). Built from the DER name, not the display
    /// string, so differently-spelled equal-looking names do not collide.
    pub fn clone_detection_key(&self) -> String {
        format!(
            "{}:{}",
            hex::encode(&crate::cert::sha256(&self.leaf_issuer_der)),
            self.leaf_serial_hex
        )
    }

    /// SHA-256 of the leaf certificate DER, lowercase hex.
    pub fn leaf_fingerprint_sha256(&self) -> String {
        hex::encode(&self.leaf_fingerprint)
    }

    /// SHA-256 of the leaf's SubjectPublicKeyInfo DER, lowercase hex.
    pub fn leaf_spki_sha256(&self) -> String {
        hex::encode(&self.leaf_spki_sha256)
    }

    /// Leaf notBefore, Unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// Leaf notAfter, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// SHA-256 fingerprints (lowercase hex) of the verified path: leaf, each intermediate in
    /// order, then the configured root that anchored it.
    pub fn chain_fingerprints(&self) -> Vec<String> {
        self.chain_fingerprints
            .iter()
            .map(|f| hex::encode(f))
            .collect()
    }

    /// SHA-256 fingerprint of the anchoring root, lowercase hex.
    pub fn root_fingerprint(&self) -> String {
        self.chain_fingerprints
            .last()
            .map(|f| hex::encode(f))
            .unwrap_or_default()
    }

    /// Subject DN of the anchoring root.
    pub fn root_subject_dn(&self) -> &str {
        &self.root_subject_dn
    }

    /// The trusted time the chain was validated at.
    pub fn verified_at(&self) -> UnixTime {
        self.verified_at
    }
}
