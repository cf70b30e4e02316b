//! Vendor attestation checks done when a seal is registered.
//!
//! A seal arrives for registration with its public key, device type, hardware revision, vendor
//! id, device certificate chain (leaf first) and firmware measurement ([`DeviceEvidence`]). The
//! registry accepts it only if [`VendorRegistry::check`] returns an [`AcceptedDevice`]:
//!
//! - the chain validates to one of the vendor's configured roots at a trusted time passed in
//!   (signatures, validity of every certificate including the root, basicConstraints,
//!   pathLenConstraint including the root's, name constraints);
//! - key usage: the leaf has keyUsage with digitalSignature, every intermediate has keyUsage
//!   with keyCertSign (a root's keyUsage, if present, must include keyCertSign: checked when the
//!   configuration is loaded);
//! - the supplied chain is exactly the verified path, leaf first (a copy of the root may close
//!   it), so what the registry records is what was verified;
//! - the leaf certificate's key equals the key being registered;
//! - the firmware measurement is on the vendor's allowlist for that device type and revision.
//!
//! Every refusal is an [`AttestationError`] with a stable [`AttestationError::reason_code`].
//!
//! # Configuration file (`cphar-vendor-trust/1`)
//!
//! One document lists every vendor. JSON and TOML carry the same fields; unknown fields are
//! errors (a typo in a security setting must not be silently ignored).
//!
//! ```toml
//! format = "cphar-vendor-trust/1"
//!
//! [[vendors]]
//! id = "acme-seals"                 # [a-z0-9][a-z0-9._-]{0,63}
//! roots = ['''
//! -----BEGIN CERTIFICATE-----
//! ...
//! -----END CERTIFICATE-----
//! ''']                               # one or more PEM roots, one certificate per string
//! leaf_eku = "1.3.6.1.4.1.99999.1"  # optional: EKU the device certificate must carry
//! device_identity = "required"      # optional ("optional" by default): the CPHAR
//!                                   # device-identity extension must be present
//! skus = ["seal-x1"]                # optional: SKUs the extension may certify
//! retiring_roots = [{ root = '''PEM''', until = "2027-06-30T00:00:00Z" }]
//!                                   # optional: roots being rotated out, accepted until
//!                                   # `until` in the "grace" rotation state
//!
//! [[vendors.firmware]]
//! measurement = "sha256:<64 lowercase hex>"   # or "sha384:<96 lowercase hex>"
//! device_type = "seal-x1"          # optional scope: only this device type
//! hardware_revision = "B"          # optional scope: only this hardware revision
//! label = "fw 4.2.1"               # optional, echoed in the accepted device record
//! ```
//!
//! The JSON form is the same tree: `{"format": "cphar-vendor-trust/1", "vendors": [{"id": …,
//! "roots": ["-----BEGIN CERTIFICATE-----\n…"], "leaf_eku": …, "firmware": [{"measurement":
//! …, "device_type": …, "hardware_revision": …, "label": …}]}]}`.
//!
//! A root must be a CA certificate (basicConstraints cA=TRUE), allow keyCertSign if it has a
//! keyUsage extension, and have an Ed25519, P-256 or P-384 key. Its validity period is checked
//! at every check against the trusted time; configure a re-issued root (same name and key) next
//! to the old one for a rotation window.
//!
//! An allowlist entry without `device_type` / `hardware_revision` applies to every device type /
//! revision of that vendor. Two entries with the same measurement and the same scope are an
//! error. A vendor may have an empty allowlist (onboarded, no firmware approved yet): every
//! registration for it then fails with `firmware_not_allowed`.
//!
//! # Sans-I/O
//!
//! Nothing here reads a clock, a file or the network. Configuration comes in as text
//! ([`VendorRegistry::from_json`], [`VendorRegistry::from_toml`]) or is built in code; the
//! trusted time is an argument. Revocation: CRLs verified by [`VendorRegistry::verify_crl`]
//! and looked up with [`CrlSet::status`] (the registry checks them at registration and at every
//! attestation); OCSP is not supported.
//!
//! # Path validation and policy split
//!
//! `rustls-webpki` builds and validates the path (signatures with Ed25519 / ECDSA P-256 /
//! P-384 only, validity, basicConstraints, pathLenConstraint of intermediates, unknown critical
//! extensions refused). webpki ignores keyUsage and does not keep a trust anchor's validity or
//! basicConstraints, so those are checked from an `x509-parser` reading of the same bytes.
//!
//! # EKU policy
//!
//! webpki applies an EKU rule to every certificate of the path without telling it which
//! certificate it is looking at, so this crate passes webpki a validator that only requires
//! EKU extensions to be well-formed, and applies the policy itself, per vendor:
//!
//! - vendor without `leaf_eku` (default): EKU content is not evaluated. Vendor device
//!   certificates are not TLS certificates and carry vendor-specific EKUs or none; authority
//!   comes from the vendor root, the key usage, the key binding and the firmware allowlist.
//! - vendor with `leaf_eku = "<oid>"`: the leaf must list that OID (anyExtendedKeyUsage does
//!   not satisfy it), and an intermediate that has an EKU extension must list the OID or
//!   anyExtendedKeyUsage. Configure it whenever the vendor marks device-identity certificates
//!   with an EKU: it stops other certificates issued under the same root (e.g. a vendor's
//!   server certificates) from being registered as seals.
//!
//! # Clone detection
//!
//! [`AcceptedDevice::clone_detection_key`] (issuer DER + serial) and
//! [`AcceptedDevice::leaf_spki_sha256`] are what the registry stores under a uniqueness
//! constraint; this crate has no state and does not see other registrations.

mod accepted;
mod cert;
mod check;
mod config;
pub mod crl;
mod error;
mod hex;
pub mod identity;
pub mod issue;
mod key;
mod measurement;

pub use accepted::AcceptedDevice;
pub use cert::{CertInputError, MAX_CERT_BYTES};
pub use config::{
    CONFIG_FORMAT, ConfigError, FirmwareRule, VendorRegistry, VendorTrust, VendorTrustBuilder,
};
pub use crl::{CertificateStatus, CrlError, CrlSet, VerifiedCrl};
pub use error::{AttestationError, CertPosition, REASON_CODES};
pub use identity::{DeviceIdentity, KeyOrigin};
pub use key::{KeyBytesError, PublicKeyBytes};
pub use measurement::{DigestAlgorithm, FirmwareMeasurement, MeasurementError};

/// Most certificates accepted in one device chain: the leaf, up to six intermediates (webpki's
/// own depth limit) and an optional copy of the root.
pub const MAX_CHAIN_CERTS: usize = 8;

/// A trusted time, in whole seconds since the Unix epoch (UTC).
///
/// Comes from the registry's trusted time source; this crate never reads a clock. A
/// certificate is valid at `t` when `notBefore <= t <= notAfter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The time `secs` seconds after 1970-01-01T00:00:00Z.
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// Seconds since the Unix epoch as `i64` (saturating), the type certificate times use.
    pub(crate) fn as_signed_secs(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

/// Vendor attestation evidence submitted with a seal registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEvidence {
    /// Vendor id, as configured in the [`VendorRegistry`].
    pub vendor: String,
    /// Device type (matched against allowlist scopes).
    pub device_type: String,
    /// Hardware revision (matched against allowlist scopes).
    pub hardware_revision: String,
    /// Device certificate chain, DER, leaf first. Use [`DeviceEvidence::chain_from_bytes`] for
    /// PEM bundles.
    pub chain: Vec<Vec<u8>>,
    /// Firmware measurement, `"sha256:<hex>"` or `"sha384:<hex>"`, lowercase hex.
    pub firmware_measurement: String,
}

impl DeviceEvidence {
    /// Splits a certificate chain given as PEM text (CERTIFICATE sections, leaf first) or as
    /// concatenated DER certificates into the `chain` form. At most [`MAX_CHAIN_CERTS`].
    pub fn chain_from_bytes(bytes: &[u8]) -> Result<Vec<Vec<u8>>, CertInputError> {
        cert::split_certificates(bytes, MAX_CHAIN_CERTS)
    }
}
