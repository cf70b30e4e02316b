//! Vendor trust configuration: which roots and which firmware each vendor is trusted for.
//!
//! This module owns [`VendorRegistry`] (all vendors), [`VendorTrust`] (one vendor: roots,
//! firmware allowlist, optional leaf EKU), the builder used in code, and the file format read by
//! [`VendorRegistry::from_json`] / [`VendorRegistry::from_toml`]. Everything is validated when it
//! is loaded, so a running registry never meets a half-valid trust entry at check time.
//!
//! The file format is documented in the crate docs ("Configuration file").

use std::collections::BTreeMap;

use rustls_pki_types::{CertificateDer, TrustAnchor};
use serde::Deserialize;

use crate::cert::{CertFacts, CertInputError, single_certificate};
use crate::key::CertKey;
use crate::measurement::{FirmwareMeasurement, MeasurementError};

/// The `format` value of the configuration file this crate reads.
pub const CONFIG_FORMAT: &str = "cphar-vendor-trust/1";

/// Why a trust configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The JSON document does not parse or does not have the expected shape.
    #[error("vendor trust JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The TOML document does not parse or does not have the expected shape.
    #[error("vendor trust TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// `device_identity` is neither `"required"` nor `"optional"`.
    #[error(
        "vendor {vendor:?}: device_identity must be \"required\" or \"optional\", not {value:?}"
    )]
    BadDeviceIdentity {
        /// The vendor.
        vendor: String,
        /// What the file said.
        value: String,
    },
    /// A retiring root's `until` is not an RFC 3339 time.
    #[error("vendor {vendor:?}: retiring root until {until:?} is not an RFC 3339 time")]
    BadRetiringRoot {
        /// The vendor.
        vendor: String,
        /// What the file said.
        until: String,
    },
    /// The `format` field names another format.
    #[error("unsupported vendor trust format {found:?} (expected {CONFIG_FORMAT:?})")]
    UnsupportedFormat {
        /// What the file said.
        found: String,
    },
    /// A vendor id outside `[a-z0-9][a-z0-9._-]{0,63}`.
    #[error("invalid vendor id {0:?}: expected [a-z0-9][a-z0-9._-]{{0,63}}")]
    InvalidVendorId(String),
    /// The same vendor id twice.
    #[error("vendor {0:?} is configured twice")]
    DuplicateVendor(String),
    /// A vendor without any root certificate.
    #[error("vendor {0:?} has no root certificate")]
    NoRoots(String),
    /// A root certificate that cannot be read or is not usable as a CA root.
    #[error("vendor {vendor:?} root {index}: {detail}")]
    BadRoot {
        /// Vendor id.
        vendor: String,
        /// Zero-based position in the vendor's root list.
        index: usize,
        /// What is wrong.
        detail: String,
    },
    /// The same root certificate twice for one vendor.
    #[error("vendor {vendor:?} root {index} duplicates an earlier root")]
    DuplicateRoot {
        /// Vendor id.
        vendor: String,
        /// Zero-based position of the duplicate.
        index: usize,
    },
    /// An allowlist measurement that does not parse.
    #[error("vendor {vendor:?} firmware entry {index}: {source}")]
    BadMeasurement {
        /// Vendor id.
        vendor: String,
        /// Zero-based position in the allowlist.
        index: usize,
        /// Why.
        source: MeasurementError,
    },
    /// An allowlist scope field that is empty or not a single printable line.
    #[error("vendor {vendor:?} firmware entry {index}: {field} must be 1-128 printable characters")]
    BadScope {
        /// Vendor id.
        vendor: String,
        /// Zero-based position in the allowlist.
        index: usize,
        /// The field.
        field: &'static str,
    },
    /// Two allowlist entries with the same measurement and scope.
    #[error("vendor {vendor:?} firmware entry {index} duplicates entry {first}")]
    DuplicateFirmware {
        /// Vendor id.
        vendor: String,
        /// Zero-based position of the duplicate.
        index: usize,
        /// Zero-based position of the first occurrence.
        first: usize,
    },
    /// `leaf_eku` is not a dotted OID.
    #[error("vendor {vendor:?} leaf_eku {oid:?} is not a dotted object identifier")]
    BadEku {
        /// Vendor id.
        vendor: String,
        /// What was given.
        oid: String,
    },
}

/// One allowlist entry: a firmware measurement, optionally scoped to a device type and/or a
/// hardware revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareRule {
    measurement: FirmwareMeasurement,
    device_type: Option<String>,
    hardware_revision: Option<String>,
    label: Option<String>,
}

impl FirmwareRule {
    /// A rule allowing `measurement` on every device type and revision of the vendor.
    pub fn new(measurement: FirmwareMeasurement) -> Self {
        Self {
            measurement,
            device_type: None,
            hardware_revision: None,
            label: None,
        }
    }

    /// Restricts the rule to one device type.
    #[must_use]
    pub fn device_type(mut self, device_type: impl Into<String>) -> Self {
        self.device_type = Some(device_type.into());
        self
    }

    /// Restricts the rule to one hardware revision.
    #[must_use]
    pub fn hardware_revision(mut self, revision: impl Into<String>) -> Self {
        self.hardware_revision = Some(revision.into());
        self
    }

    /// A human label (e.g. the firmware version), echoed in the accepted device record.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The allowed measurement.
    pub fn measurement(&self) -> &FirmwareMeasurement {
        &self.measurement
    }

    /// The device type scope, if any.
    pub fn device_type_scope(&self) -> Option<&str> {
        self.device_type.as_deref()
    }

    /// The hardware revision scope, if any.
    pub fn hardware_revision_scope(&self) -> Option<&str> {
        self.hardware_revision.as_deref()
    }

    /// The label, if any.
    pub fn label_text(&self) -> Option<&str> {
        self.label.as_deref()
    }

    pub(crate) fn allows(
        &self,
        measurement: &FirmwareMeasurement,
        device_type: &str,
        hardware_revision: &str,
    ) -> bool {
        self.measurement == *measurement
            && self.device_type.as_deref().is_none_or(|t| t == device_type)
            && self
                .hardware_revision
                .as_deref()
                .is_none_or(|r| r == hardware_revision)
    }
}

/// A configured root: the certificate as given plus what checks need from it.
#[derive(Debug, Clone)]
pub(crate) struct TrustedRoot {
    pub(crate) der: Vec<u8>,
    pub(crate) facts: CertFacts,
    pub(crate) fingerprint: [u8; 32],
    /// A retiring root (issuer rotation, seed 001 dual-certificate window): accepted until
    /// this time (Unix seconds), in the grace state.
    pub(crate) retire_after: Option<i64>,
}

/// Trust configuration for one vendor. Build with [`VendorTrust::builder`] or load a file with
/// [`VendorRegistry::from_json`] / [`VendorRegistry::from_toml`].
#[derive(Debug, Clone)]
pub struct VendorTrust {
    id: String,
    pub(crate) roots: Vec<TrustedRoot>,
    /// Parallel to `roots`: webpki's view of the same certificates.
    pub(crate) anchors: Vec<TrustAnchor<'static>>,
    pub(crate) firmware: Vec<FirmwareRule>,
    pub(crate) leaf_eku: Option<String>,
    /// Whether the leaf must carry the CPHAR device-identity extension.
    pub(crate) require_device_identity: bool,
    /// SKUs the vendor's certificates may certify (empty: any).
    pub(crate) skus: Vec<String>,
}

impl VendorTrust {
    /// Starts a vendor configuration.
    pub fn builder(id: impl Into<String>) -> VendorTrustBuilder {
        VendorTrustBuilder {
            id: id.into(),
            roots: Vec::new(),
            firmware: Vec::new(),
            leaf_eku: None,
            require_device_identity: false,
            skus: Vec::new(),
        }
    }

    /// The vendor id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// SHA-256 fingerprints of the configured roots, lowercase hex, in configuration order.
    pub fn root_fingerprints(&self) -> Vec<String> {
        self.roots
            .iter()
            .map(|r| crate::hex::encode(&r.fingerprint))
            .collect()
    }

    /// The firmware allowlist.
    pub fn firmware(&self) -> &[FirmwareRule] {
        &self.firmware
    }

    /// The EKU the leaf must carry, if the vendor requires one (dotted OID).
    pub fn leaf_eku(&self) -> Option<&str> {
        self.leaf_eku.as_deref()
    }

    /// Whether device certificates must carry the CPHAR device-identity extension (and
    /// registrations must prove possession of the key: seed 002 §4.2.2).
    pub fn requires_device_identity(&self) -> bool {
        self.require_device_identity
    }

    /// The SKUs this vendor's certificates may certify (empty: any).
    pub fn skus(&self) -> &[String] {
        &self.skus
    }
}

/// Builds a [`VendorTrust`]; every input is validated by [`VendorTrustBuilder::build`].
#[derive(Debug, Clone)]
pub struct VendorTrustBuilder {
    id: String,
    roots: Vec<(Vec<u8>, Option<i64>)>,
    firmware: Vec<FirmwareRule>,
    leaf_eku: Option<String>,
    require_device_identity: bool,
    skus: Vec<String>,
}

impl VendorTrustBuilder {
    /// Requires the CPHAR device-identity extension in every device certificate.
    #[must_use]
    pub fn require_device_identity(mut self) -> Self {
        self.require_device_identity = true;
        self
    }

    /// Allows certificates certifying this SKU (once any is given, only those listed).
    #[must_use]
    pub fn allow_sku(mut self, sku: impl Into<String>) -> Self {
        self.skus.push(sku.into());
        self
    }

    /// Adds a root certificate, PEM (one CERTIFICATE section) or DER.
    #[must_use]
    pub fn root(mut self, cert: impl AsRef<[u8]>) -> Self {
        self.roots.push((cert.as_ref().to_vec(), None));
        self
    }

    /// Adds a retiring root (issuer rotation): chains to it are accepted until `until` (Unix
    /// seconds) in the `grace` rotation state, then refused (`outside_rotation_window`).
    #[must_use]
    pub fn retiring_root(mut self, cert: impl AsRef<[u8]>, until: i64) -> Self {
        self.roots.push((cert.as_ref().to_vec(), Some(until)));
        self
    }

    /// Adds a firmware allowlist entry.
    #[must_use]
    pub fn allow_firmware(mut self, rule: FirmwareRule) -> Self {
        self.firmware.push(rule);
        self
    }

    /// Requires the leaf certificate to carry this EKU (dotted OID); see the crate docs for the
    /// EKU policy.
    #[must_use]
    pub fn leaf_eku(mut self, oid: impl Into<String>) -> Self {
        self.leaf_eku = Some(oid.into());
        self
    }

    /// Validates everything and produces the vendor's trust entry.
    pub fn build(self) -> Result<VendorTrust, ConfigError> {
        let id = self.id;
        if !valid_vendor_id(&id) {
            return Err(ConfigError::InvalidVendorId(id));
        }
        if self.roots.is_empty() {
            return Err(ConfigError::NoRoots(id));
        }
        let mut roots: Vec<TrustedRoot> = Vec::with_capacity(self.roots.len());
        let mut anchors = Vec::with_capacity(self.roots.len());
        for (index, (input, retire_after)) in self.roots.iter().enumerate() {
            let bad = |detail: String| ConfigError::BadRoot {
                vendor: id.clone(),
                index,
                detail,
            };
            let der = single_certificate(input).map_err(|e| match e {
                CertInputError::TooMany { .. } => {
                    bad("more than one certificate in one root entry".to_owned())
                }
                other => bad(other.to_string()),
            })?;
            let (mut root, anchor) = load_root(der).map_err(bad)?;
            root.retire_after = *retire_after;
            if roots.iter().any(|r| r.der == root.der) {
                return Err(ConfigError::DuplicateRoot { vendor: id, index });
            }
            roots.push(root);
            anchors.push(anchor);
        }
        let mut firmware: Vec<FirmwareRule> = Vec::with_capacity(self.firmware.len());
        for (index, rule) in self.firmware.into_iter().enumerate() {
            for (field, value) in [
                ("device_type", &rule.device_type),
                ("hardware_revision", &rule.hardware_revision),
                ("label", &rule.label),
            ] {
                if value.as_deref().is_some_and(|v| !valid_label(v)) {
                    return Err(ConfigError::BadScope {
                        vendor: id,
                        index,
                        field,
                    });
                }
            }
            let same_scope = |r: &FirmwareRule| {
                r.measurement == rule.measurement
                    && r.device_type == rule.device_type
                    && r.hardware_revision == rule.hardware_revision
            };
            if let Some(first) = firmware.iter().position(same_scope) {
                return Err(ConfigError::DuplicateFirmware {
                    vendor: id,
                    index,
                    first,
                });
            }
            firmware.push(rule);
        }
        if let Some(oid) = &self.leaf_eku
            && !valid_dotted_oid(oid)
        {
            return Err(ConfigError::BadEku {
                vendor: id,
                oid: oid.clone(),
            });
        }
        Ok(VendorTrust {
            id,
            roots,
            anchors,
            firmware,
            leaf_eku: self.leaf_eku,
            require_device_identity: self.require_device_identity,
            skus: self.skus,
        })
    }
}

/// Checks a root certificate and builds webpki's anchor for it.
///
/// A root must parse under both parsers, be a CA (basicConstraints cA=TRUE), allow
/// certificate signing if it has a keyUsage extension, and have a key type this crate verifies
/// signatures with. Its validity period is checked at each [`VendorRegistry::check`] against
/// the trusted time passed in.
fn load_root(der: Vec<u8>) -> Result<(TrustedRoot, TrustAnchor<'static>), String> {
    let facts = CertFacts::parse(&der)?;
    let anchor = webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
        .map_err(|e| format!("not usable as a trust anchor: {e}"))?
        .to_owned();
    if !facts.is_ca() {
        return Err("not a CA certificate (basicConstraints cA is not TRUE)".to_owned());
    }
    if facts.key_usage.is_some() && !facts.has_key_cert_sign() {
        return Err("keyUsage does not include keyCertSign".to_owned());
    }
    if let CertKey::Other(desc) = &facts.key {
        return Err(format!(
            "unsupported root key ({desc}); roots must be Ed25519, P-256 or P-384"
        ));
    }
    let fingerprint = crate::cert::sha256(&der);
    Ok((
        TrustedRoot {
            der,
            facts,
            fingerprint,
            retire_after: None,
        },
        anchor,
    ))
}

fn valid_vendor_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let Some((first, rest)) = bytes.split_first() else {
        return false;
    };
    bytes.len() <= 64
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && rest.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// A device type, hardware revision or label: 1–128 characters, no control characters.
pub(crate) fn valid_label(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control)
}

/// `arc(.arc)+` with a first arc of 0–2 and no leading zeros.
fn valid_dotted_oid(oid: &str) -> bool {
    let arcs: Vec<&str> = oid.split('.').collect();
    let well_formed = arcs.len() >= 2
        && arcs.iter().all(|a| {
            !a.is_empty()
                && a.len() <= 20
                && a.bytes().all(|b| b.is_ascii_digit())
                && (a.len() == 1 || !a.starts_with('0'))
        });
    well_formed && matches!(arcs.first(), Some(&("0" | "1" | "2")))
}

/// Every vendor the registry trusts, keyed by vendor id.
#[derive(Debug, Clone, Default)]
pub struct VendorRegistry {
    pub(crate) vendors: BTreeMap<String, VendorTrust>,
}

impl VendorRegistry {
    /// An empty registry (every check fails with `unknown_vendor`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a vendor; a second entry for the same id is an error.
    pub fn insert(&mut self, trust: VendorTrust) -> Result<(), ConfigError> {
        if self.vendors.contains_key(trust.id()) {
            return Err(ConfigError::DuplicateVendor(trust.id));
        }
        self.vendors.insert(trust.id.clone(), trust);
        Ok(())
    }

    /// The vendor with this id.
    pub fn vendor(&self, id: &str) -> Option<&VendorTrust> {
        self.vendors.get(id)
    }

    /// Configured vendor ids, sorted.
    pub fn vendor_ids(&self) -> impl Iterator<Item = &str> {
        self.vendors.keys().map(String::as_str)
    }

    /// Loads a `cphar-vendor-trust/1` JSON document (see the module docs).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let file: FileFormat = serde_json::from_str(text)?;
        Self::from_file(file)
    }

    /// Loads a `cphar-vendor-trust/1` TOML document (see the module docs).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file: FileFormat = toml::from_str(text)?;
        Self::from_file(file)
    }

    fn from_file(file: FileFormat) -> Result<Self, ConfigError> {
        if file.format != CONFIG_FORMAT {
            return Err(ConfigError::UnsupportedFormat { found: file.format });
        }
        let mut registry = Self::new();
        for vendor in file.vendors {
            let mut builder = VendorTrust::builder(vendor.id.clone());
            for root in vendor.roots {
                builder = builder.root(root.as_bytes());
            }
            for (index, entry) in vendor.firmware.into_iter().enumerate() {
                let measurement =
                    entry
                        .measurement
                        .parse()
                        .map_err(|source| ConfigError::BadMeasurement {
                            vendor: vendor.id.clone(),
                            index,
                            source,
                        })?;
                builder = builder.allow_firmware(FirmwareRule {
                    measurement,
                    device_type: entry.device_type,
                    hardware_revision: entry.hardware_revision,
                    label: entry.label,
                });
            }
            if let Some(eku) = vendor.leaf_eku {
                builder = builder.leaf_eku(eku);
            }
            match vendor.device_identity.as_deref() {
                None | Some("optional") => {}
                Some("required") => builder = builder.require_device_identity(),
                Some(other) => {
                    return Err(ConfigError::BadDeviceIdentity {
                        vendor: vendor.id.clone(),
                        value: other.to_owned(),
                    });
                }
            }
            for sku in vendor.skus {
                builder = builder.allow_sku(sku);
            }
            for entry in vendor.retiring_roots {
                let until = time::OffsetDateTime::parse(
                    &entry.until,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| ConfigError::BadRetiringRoot {
                    vendor: vendor.id.clone(),
                    until: entry.until.clone(),
                })?;
                builder = builder.retiring_root(entry.root.as_bytes(), until.unix_timestamp());
            }
            registry.insert(builder.build()?)?;
        }
        Ok(registry)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    format: String,
    #[serde(default)]
    vendors: Vec<VendorEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorEntry {
    id: String,
    roots: Vec<String>,
    #[serde(default)]
    leaf_eku: Option<String>,
    #[serde(default)]
    firmware: Vec<FirmwareEntry>,
    /// `"required"` or `"optional"` (default).
    #[serde(default)]
    device_identity: Option<String>,
    #[serde(default)]
    skus: Vec<String>,
    /// Roots being rotated out: accepted until `until` (RFC 3339).
    #[serde(default)]
    retiring_roots: Vec<RetiringRootEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetiringRootEntry {
    root: String,
    until: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FirmwareEntry {
    // Parsed after deserialisation so the error can name the vendor and entry.
    measurement: String,
    #[serde(default)]
    device_type: Option<String>,
    #[serde(default)]
    hardware_revision: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_ids() {
        for ok in ["acme", "a", "0x", "acme-seals_2.eu"] {
            assert!(valid_vendor_id(ok), "{ok}");
        }
        for bad in ["", "Acme", "-acme", "acme seals", "ac/me", &"a".repeat(65)] {
            assert!(!valid_vendor_id(bad), "{bad}");
        }
    }

    #[test]
    fn dotted_oids() {
        for ok in ["1.3.6.1.4.1.99999.1", "2.5.29.37.0", "0.0"] {
            assert!(valid_dotted_oid(ok), "{ok}");
        }
        for bad in ["", "1", "3.1", "1..2", "1.02", "1.a", "1.2.", " 1.2"] {
            assert!(!valid_dotted_oid(bad), "{bad}");
        }
    }
}
