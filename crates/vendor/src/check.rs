//! The registration check: evidence in, [`AcceptedDevice`] or one reason code out.
//!
//! This module owns the order of checks and the translation of webpki's verdicts into this
//! crate's reason codes. Order (the first failure decides the code):
//!
//! 1. vendor configured (`unknown_vendor`); device type / revision well-formed
//!    (`evidence_malformed`); measurement syntax (`firmware_measurement_malformed`);
//! 2. chain present and bounded (`chain_empty`, `chain_too_long`); every certificate parses
//!    under both x509-parser and webpki (`certificate_malformed`, …);
//! 3. webpki path validation to a configured root at the trusted time: signatures, validity,
//!    basicConstraints, pathLenConstraint of intermediates, name constraints;
//! 4. what webpki leaves out: the root's own validity and pathLenConstraint, the supplied
//!    chain being exactly the verified path, keyUsage, the vendor's EKU policy;
//! 5. the leaf key equals the registered key (`unsupported_key_algorithm`, `leaf_key_mismatch`);
//! 6. the firmware measurement is allowlisted for this device type and revision.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use webpki::{EndEntityCert, KeyPurposeIdIter};

use crate::accepted::AcceptedDevice;
use crate::cert::{ANY_EKU, CertFacts};
use crate::config::{TrustedRoot, VendorRegistry, VendorTrust, valid_label};
use crate::error::{AttestationError, CertPosition};
use crate::key::{KeyMatch, PublicKeyBytes};
use crate::measurement::FirmwareMeasurement;
use crate::{DeviceEvidence, MAX_CHAIN_CERTS, UnixTime};

/// Signature algorithms accepted on certificates: the seal key types, nothing else. RSA and
/// P-521 are deliberately absent; a vendor PKI using them fails `unsupported_signature_algorithm`.
static SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
];

/// EKU validator handed to webpki: accepts any well-formed EKU list.
///
/// webpki applies its validator to every certificate of the path without saying which one it
/// is looking at, so role-aware EKU policy (leaf must carry the vendor's EKU, CAs may constrain
/// it) is done afterwards in [`check_eku`]. Malformed EKU encodings still fail here.
struct WellFormedEku;

impl webpki::ExtendedKeyUsageValidator for WellFormedEku {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

impl VendorRegistry {
    /// Checks registration evidence for a seal whose key is `expected_key`, at trusted time `at`.
    ///
    /// Pure: no clock, no network, no revocation lookup. `at` must come from the registry's
    /// trusted time source. Returns the verified device record or the first failed check.
    pub fn check(
        &self,
        evidence: &DeviceEvidence,
        expected_key: &PublicKeyBytes,
        at: UnixTime,
    ) -> Result<AcceptedDevice, AttestationError> {
        let vendor =
            self.vendors
                .get(&evidence.vendor)
                .ok_or_else(|| AttestationError::UnknownVendor {
                    vendor: evidence.vendor.clone(),
                })?;
        for (field, value) in [
            ("device_type", &evidence.device_type),
            ("hardware_revision", &evidence.hardware_revision),
        ] {
            if !valid_label(value) {
                return Err(AttestationError::EvidenceMalformed { field });
            }
        }
        let measurement: FirmwareMeasurement = evidence
            .firmware_measurement
            .parse()
            .map_err(AttestationError::FirmwareMeasurementMalformed)?;
        let verified = verify_chain(vendor, &evidence.chain, at)?;
        let public_key = check_leaf_key(&verified.leaf, expected_key)?;
        check_identity(vendor, &verified.leaf, &evidence.device_type)?;
        let rule = vendor
            .firmware
            .iter()
            .find(|r| {
                r.allows(
                    &measurement,
                    &evidence.device_type,
                    &evidence.hardware_revision,
                )
            })
            .ok_or_else(|| AttestationError::FirmwareNotAllowed {
                vendor: vendor.id().to_owned(),
                measurement: measurement.to_string(),
                device_type: evidence.device_type.clone(),
                hardware_revision: evidence.hardware_revision.clone(),
            })?;

        let leaf = verified.leaf;
        Ok(AcceptedDevice {
            vendor: vendor.id().to_owned(),
            device_type: evidence.device_type.clone(),
            hardware_revision: evidence.hardware_revision.clone(),
            firmware: measurement,
            firmware_label: rule.label_text().map(str::to_owned),
            public_key,
            leaf_serial_hex: verified.leaf_serial_hex,
            leaf_issuer_dn: leaf.issuer_dn,
            leaf_subject_dn: leaf.subject_dn,
            leaf_issuer_der: leaf.issuer_raw,
            leaf_fingerprint: verified.fingerprints.first().copied().unwrap_or_default(),
            leaf_spki_sha256: crate::cert::sha256(&leaf.spki_raw),
            not_before: leaf.not_before,
            not_after: leaf.not_after,
            chain_fingerprints: verified.fingerprints,
            root_subject_dn: verified.root_subject_dn,
            verified_at: at,
            device_identity: leaf.device_identity.clone(),
            rotation_grace: verified.rotation_grace,
        })
    }
}

/// The vendor's device-identity policy: the extension present when required, and its SKU the
/// registered device type and one the vendor allows.
fn check_identity(
    vendor: &VendorTrust,
    leaf: &CertFacts,
    device_type: &str,
) -> Result<(), AttestationError> {
    let Some(identity) = &leaf.device_identity else {
        if vendor.require_device_identity {
            return Err(AttestationError::DeviceIdentityMissing {
                vendor: vendor.id().to_owned(),
            });
        }
        return Ok(());
    };
    if identity.sku != device_type {
        return Err(AttestationError::WrongSku {
            certified: identity.sku.clone(),
            expected: format!("the registered device type {device_type:?}"),
        });
    }
    if !vendor.skus.is_empty() && !vendor.skus.contains(&identity.sku) {
        return Err(AttestationError::WrongSku {
            certified: identity.sku.clone(),
            expected: format!("one of the vendor's SKUs {:?}", vendor.skus),
        });
    }
    Ok(())
}

/// What a valid chain yields for the record.
struct VerifiedChain {
    leaf: CertFacts,
    leaf_serial_hex: String,
    /// Leaf, intermediates, root.
    fingerprints: Vec<[u8; 32]>,
    root_subject_dn: String,
    /// Anchored on a retiring root (issuer rotation grace).
    rotation_grace: bool,
}

fn verify_chain(
    vendor: &VendorTrust,
    chain: &[Vec<u8>],
    at: UnixTime,
) -> Result<VerifiedChain, AttestationError> {
    if chain.is_empty() {
        return Err(AttestationError::ChainEmpty);
    }
    if chain.len() > MAX_CHAIN_CERTS {
        return Err(AttestationError::ChainTooLong {
            detail: format!(
                "{} certificates, at most {MAX_CHAIN_CERTS} accepted",
                chain.len()
            ),
        });
    }

    // Parse everything up front: a garbage certificate anywhere is reported as such, not as
    // whatever path-building error it would otherwise surface as.
    let mut facts = Vec::with_capacity(chain.len());
    for (index, der) in chain.iter().enumerate() {
        if crate::cert::looks_like_pem(der) {
            return Err(AttestationError::CertificateMalformed {
                index: Some(index),
                detail:
                    "PEM where DER is expected (split PEM with DeviceEvidence::chain_from_bytes)"
                        .to_owned(),
            });
        }
        let parsed =
            CertFacts::parse(der).map_err(|detail| AttestationError::CertificateMalformed {
                index: Some(index),
                detail,
            })?;
        facts.push(parsed);
    }
    let ders: Vec<CertificateDer<'_>> = chain
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let mut webpki_views = Vec::with_capacity(ders.len());
    for (index, der) in ders.iter().enumerate() {
        let view = EndEntityCert::try_from(der).map_err(|e| map_webpki(e, &facts, Some(index)))?;
        webpki_views.push(view);
    }
    let (leaf_view, _) = webpki_views
        .split_first()
        .ok_or(AttestationError::ChainEmpty)?;
    let (leaf_facts, _) = facts.split_first().ok_or(AttestationError::ChainEmpty)?;
    let leaf_serial_hex = leaf_facts.conforming_serial_hex().map_err(|detail| {
        AttestationError::CertificateMalformed {
            index: Some(0),
            detail: detail.to_owned(),
        }
    })?;

    let webpki_time =
        rustls_pki_types::UnixTime::since_unix_epoch(Duration::from_secs(at.as_secs()));
    let intermediates = ders.get(1..).unwrap_or_default();
    let verify = |anchors: &[TrustAnchor<'static>]| {
        leaf_view
            .verify_for_usage(
                SIGNATURE_ALGORITHMS,
                anchors,
                intermediates,
                webpki_time,
                WellFormedEku,
                None,
                None,
            )
            .map(|path| PathSummary::of(&path, anchors))
    };

    // webpki keeps only a root's name, key and name constraints, not its validity, so it is
    // given only the roots valid at `at`. That also handles a re-issued root (same name and
    // key, new dates): whichever copy is valid anchors the path.
    let at_secs = at.as_signed_secs();
    let valid_roots: Vec<usize> = (0..vendor.roots.len())
        .filter(|&i| {
            vendor.roots.get(i).is_some_and(|r| {
                r.facts.not_before <= at_secs
                    && at_secs <= r.facts.not_after
                    && r.retire_after.is_none_or(|t| at_secs <= t)
            })
        })
        .collect();
    let valid_anchors: Vec<TrustAnchor<'static>> = valid_roots
        .iter()
        .filter_map(|&i| vendor.anchors.get(i).cloned())
        .collect();
    let summary = match verify(&valid_anchors) {
        Ok(summary) => summary,
        Err(e) => {
            // Would the chain verify if out-of-date roots counted? Then the root's dates are
            // the reason, and that is what is reported.
            if valid_roots.len() < vendor.roots.len()
                && let Ok(with_all) = verify(&vendor.anchors)
                && let Some(root) = vendor.roots.get(with_all.anchor)
            {
                return Err(root_time_error(root, at_secs));
            }
            return Err(map_path_error(e, vendor, &facts));
        }
    };
    let root = valid_roots
        .get(summary.anchor)
        .and_then(|&i| vendor.roots.get(i))
        .ok_or_else(|| AttestationError::CertificateRejected {
            detail: "path anchor is not a configured root".to_owned(),
        })?;

    // The supplied chain must be exactly the verified path, optionally closed by a copy of
    // the anchoring root (or of a re-issue of it).
    let mut used = 0usize;
    for (expected_index, der) in (1..).zip(&summary.intermediates) {
        if chain.get(expected_index) != Some(der) {
            return Err(AttestationError::ChainNotAPath {
                index: expected_index,
            });
        }
        used = expected_index;
    }
    let tail = chain.get(used + 1..).unwrap_or_default();
    match tail {
        [] => {}
        [only]
            if vendor
                .roots
                .iter()
                .any(|r| r.der == *only && same_identity(r, root)) => {}
        _ => return Err(AttestationError::ChainNotAPath { index: used + 1 }),
    }

    check_path_policy(vendor, &facts, used, root)?;

    let mut fingerprints: Vec<[u8; 32]> = chain
        .iter()
        .take(used + 1)
        .map(|c| crate::cert::sha256(c))
        .collect();
    fingerprints.push(root.fingerprint);
    Ok(VerifiedChain {
        leaf: leaf_facts.clone(),
        leaf_serial_hex,
        fingerprints,
        root_subject_dn: root.facts.subject_dn.clone(),
        rotation_grace: root.retire_after.is_some(),
    })
}

/// What is kept of webpki's verified path: intermediates (DER, leaf's issuer first) and the
/// index of the anchor in the slice it was given.
struct PathSummary {
    intermediates: Vec<Vec<u8>>,
    anchor: usize,
}

impl PathSummary {
    fn of(path: &webpki::VerifiedPath<'_>, anchors: &[TrustAnchor<'_>]) -> Self {
        Self {
            intermediates: path
                .intermediate_certificates()
                .map(|c| c.der().to_vec())
                .collect(),
            // webpki returns a reference into the slice it was given; find it by address.
            anchor: anchors
                .iter()
                .position(|a| std::ptr::eq(a, path.anchor()))
                .unwrap_or(usize::MAX),
        }
    }
}

fn same_identity(a: &TrustedRoot, b: &TrustedRoot) -> bool {
    a.facts.subject_raw == b.facts.subject_raw && a.facts.spki_raw == b.facts.spki_raw
}

fn root_time_error(root: &TrustedRoot, at_secs: i64) -> AttestationError {
    if let Some(until) = root.retire_after
        && at_secs > until
        && root.facts.not_before <= at_secs
        && at_secs <= root.facts.not_after
    {
        return AttestationError::OutsideRotationWindow {
            until: rfc3339(until),
            at: rfc3339(at_secs),
        };
    }
    if at_secs < root.facts.not_before {
        AttestationError::CertificateNotYetValid {
            position: CertPosition::Root,
            not_before: rfc3339(root.facts.not_before),
            at: rfc3339(at_secs),
        }
    } else {
        AttestationError::CertificateExpired {
            position: CertPosition::Root,
            not_after: rfc3339(root.facts.not_after),
            at: rfc3339(at_secs),
        }
    }
}

fn map_path_error(e: webpki::Error, vendor: &VendorTrust, facts: &[CertFacts]) -> AttestationError {
    let detail = match e {
        webpki::Error::InvalidSignatureForPublicKey => {
            "a certificate signature does not verify under its issuer's key"
        }
        webpki::Error::CertDistrusted => "a key on the path is distrusted",
        webpki::Error::UnknownIssuer => "no configured root issued this chain",
        other => return map_webpki(other, facts, None),
    };
    AttestationError::UntrustedRoot {
        vendor: vendor.id().to_owned(),
        detail,
    }
}

/// Checks webpki does not do. `intermediates` is how many chain entries after the leaf are on
/// the verified path (chain indices `1..=intermediates`).
fn check_path_policy(
    vendor: &VendorTrust,
    facts: &[CertFacts],
    intermediates: usize,
    root: &TrustedRoot,
) -> Result<(), AttestationError> {
    let leaf = facts.first().ok_or(AttestationError::ChainEmpty)?;
    let path_cas = facts.get(1..=intermediates).unwrap_or_default();

    // basicConstraints: webpki enforces these; re-checked here from the second parser so a
    // disagreement between parsers fails closed.
    if leaf.is_ca() {
        return Err(AttestationError::LeafIsCa);
    }
    for (i, ca) in (1..).zip(path_cas) {
        if !ca.is_ca() {
            return Err(AttestationError::NotACa {
                position: CertPosition::Intermediate(i),
            });
        }
    }

    // pathLenConstraint counts the CA certificates below a CA (RFC 5280 §4.2.1.9). webpki
    // checks intermediates only; a trust anchor's own constraint is applied here too, since
    // the vendor root's constraint is part of the vendor's stated PKI.
    let ca_count = u32::try_from(intermediates).unwrap_or(u32::MAX);
    for (i, ca) in (1u32..).zip(path_cas) {
        let below = i - 1;
        if let Some(limit) = ca.path_len()
            && below > limit
        {
            return Err(AttestationError::PathLengthExceeded {
                detail: format!(
                    "intermediate certificate (chain index {i}) allows {limit} CA certificates below it, path has {below}"
                ),
            });
        }
    }
    if let Some(limit) = root.facts.path_len()
        && ca_count > limit
    {
        return Err(AttestationError::PathLengthExceeded {
            detail: format!(
                "vendor root allows {limit} CA certificates below it, path has {ca_count}"
            ),
        });
    }

    // keyUsage (webpki ignores it). CAs on the path must be allowed to sign certificates;
    // RFC 5280 §4.2.1.3 requires the extension in CA certificates that sign certificates.
    for (i, ca) in (1..).zip(path_cas) {
        if !ca.has_key_cert_sign() {
            return Err(AttestationError::KeyUsageInvalid {
                position: CertPosition::Intermediate(i),
                detail: if ca.key_usage.is_none() {
                    "keyUsage extension missing (keyCertSign required)"
                } else {
                    "keyUsage does not include keyCertSign"
                },
            });
        }
    }
    // The seal key signs challenges: the device certificate must say digitalSignature.
    if !leaf.has_digital_signature() {
        return Err(AttestationError::KeyUsageInvalid {
            position: CertPosition::Leaf,
            detail: if leaf.key_usage.is_none() {
                "keyUsage extension missing (digitalSignature required)"
            } else {
                "keyUsage does not include digitalSignature"
            },
        });
    }

    check_eku(vendor, leaf, path_cas)
}

/// The vendor EKU policy (see the crate docs): with `leaf_eku` configured, the leaf must list
/// it (anyExtendedKeyUsage does not count) and any intermediate that has an EKU extension must
/// list it or anyExtendedKeyUsage. Without `leaf_eku`, EKU content is not evaluated.
fn check_eku(
    vendor: &VendorTrust,
    leaf: &CertFacts,
    path_cas: &[CertFacts],
) -> Result<(), AttestationError> {
    let Some(required) = vendor.leaf_eku.as_deref() else {
        return Ok(());
    };
    let lists = |eku: &Option<Vec<String>>, oid: &str| {
        eku.as_ref().is_some_and(|l| l.iter().any(|o| o == oid))
    };
    if !lists(&leaf.eku, required) {
        return Err(AttestationError::ExtendedKeyUsageInvalid {
            detail: format!("leaf certificate does not list the vendor's device EKU {required}"),
        });
    }
    for (i, ca) in (1..).zip(path_cas) {
        if ca.eku.is_some() && !lists(&ca.eku, required) && !lists(&ca.eku, ANY_EKU) {
            return Err(AttestationError::ExtendedKeyUsageInvalid {
                detail: format!(
                    "intermediate certificate (chain index {i}) restricts EKU and does not allow {required}"
                ),
            });
        }
    }
    Ok(())
}

fn check_leaf_key(
    leaf: &CertFacts,
    expected: &PublicKeyBytes,
) -> Result<PublicKeyBytes, AttestationError> {
    match leaf.key.matches(expected) {
        KeyMatch::Equal => Ok(expected.clone()),
        KeyMatch::Unsupported(desc) => Err(AttestationError::UnsupportedKeyAlgorithm {
            detail: format!("{desc}; seal keys must be Ed25519, P-256 or P-384"),
        }),
        KeyMatch::InvalidCertKey(kind) => Err(AttestationError::UnsupportedKeyAlgorithm {
            detail: format!("leaf {kind} public key is not a valid key"),
        }),
        KeyMatch::AlgorithmDiffers { cert, expected } => Err(AttestationError::LeafKeyMismatch {
            detail: format!("certificate has a {cert} key, registered key is {expected}"),
        }),
        KeyMatch::KeyDiffers => Err(AttestationError::LeafKeyMismatch {
            detail: format!(
                "certificate {} key differs from the registered key",
                leaf.key.algorithm()
            ),
        }),
    }
}

fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

/// Which chain certificate has this notAfter / notBefore (webpki reports times, not indices).
fn position_by_time(facts: &[CertFacts], pick: impl Fn(&CertFacts) -> bool) -> CertPosition {
    match facts.iter().position(pick) {
        Some(0) => CertPosition::Leaf,
        Some(i) => CertPosition::Intermediate(i),
        None => CertPosition::Unknown,
    }
}

/// Translates a webpki error into this crate's codes. `index` is the certificate being parsed
/// when the error came from parsing, `None` when it came from path validation.
fn map_webpki(e: webpki::Error, facts: &[CertFacts], index: Option<usize>) -> AttestationError {
    use webpki::Error as W;
    let secs = |t: rustls_pki_types::UnixTime| i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
    match e {
        W::CertExpired { time, not_after } => {
            let limit = secs(not_after);
            AttestationError::CertificateExpired {
                position: position_by_time(facts, |f| f.not_after == limit),
                not_after: rfc3339(limit),
                at: rfc3339(secs(time)),
            }
        }
        W::CertNotValidYet { time, not_before } => {
            let limit = secs(not_before);
            AttestationError::CertificateNotYetValid {
                position: position_by_time(facts, |f| f.not_before == limit),
                not_before: rfc3339(limit),
                at: rfc3339(secs(time)),
            }
        }
        W::EndEntityUsedAsCa => AttestationError::NotACa {
            // The first non-CA certificate after the leaf is the one webpki tried as an issuer.
            position: facts
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, f)| !f.is_ca())
                .map_or(CertPosition::Unknown, |(i, _)| {
                    CertPosition::Intermediate(i)
                }),
        },
        W::CaUsedAsEndEntity => AttestationError::LeafIsCa,
        W::PathLenConstraintViolated => AttestationError::PathLengthExceeded {
            detail: "an intermediate's pathLenConstraint is exceeded".to_owned(),
        },
        W::MaximumPathDepthExceeded
        | W::MaximumSignatureChecksExceeded
        | W::MaximumPathBuildCallsExceeded
        | W::MaximumNameConstraintComparisonsExceeded => AttestationError::ChainTooLong {
            detail: format!("path building limit reached ({e})"),
        },
        W::UnknownIssuer | W::InvalidSignatureForPublicKey | W::CertDistrusted => {
            AttestationError::CertificateRejected {
                detail: e.to_string(),
            }
        }
        W::EmptyEkuExtension | W::RequiredEkuNotFoundContext(_) => {
            AttestationError::ExtendedKeyUsageInvalid {
                detail: e.to_string(),
            }
        }
        W::NameConstraintViolation => AttestationError::NameConstraintViolation,
        W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            AttestationError::UnsupportedSignatureAlgorithm {
                detail: e.to_string(),
            }
        }
        W::UnsupportedCriticalExtension | W::UnsupportedCertVersion | W::UnsupportedNameType => {
            AttestationError::UnsupportedCertificateFeature {
                detail: e.to_string(),
            }
        }
        W::BadDer
        | W::BadDerTime
        | W::TrailingData(_)
        | W::MalformedExtensions
        | W::ExtensionValueInvalid
        | W::InvalidSerialNumber
        | W::InvalidCertValidity
        | W::MalformedNameConstraint
        | W::MalformedDnsIdentifier
        | W::InvalidNetworkMaskConstraint
        | W::SignatureAlgorithmMismatch => AttestationError::CertificateMalformed {
            index,
            detail: e.to_string(),
        },
        #[allow(deprecated)]
        W::RequiredEkuNotFound => AttestationError::ExtendedKeyUsageInvalid {
            detail: e.to_string(),
        },
        #[allow(deprecated)]
        W::UnsupportedSignatureAlgorithm | W::UnsupportedSignatureAlgorithmForPublicKey => {
            AttestationError::UnsupportedSignatureAlgorithm {
                detail: e.to_string(),
            }
        }
        // Revocation and CRL errors cannot occur (no revocation options are passed); anything
        // webpki adds later lands here rather than under a more specific code.
        other => AttestationError::CertificateRejected {
            detail: other.to_string(),
        },
    }
}
