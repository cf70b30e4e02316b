//! Vendor certificate revocation lists (RFC 5280 §5), checked at registration and at every
//! attestation.
//!
//! A CRL is accepted into a [`CrlSet`] only after [`VendorRegistry::verify_crl`] checked it:
//! its issuer is a CA certificate that is one of the vendor's configured roots or is signed by
//! one (the issuing CA of a two-level vendor PKI), valid at the trusted time and allowed to
//! sign CRLs (keyUsage cRLSign); the CRL is signed by that CA's key, names it as issuer, and
//! has a `nextUpdate`. Then deciding a certificate's status is a pure lookup
//! ([`CrlSet::status`]): no parsing, no signature, no I/O — cheap enough for every attestation.
//!
//! Freshness: a CRL is **stale** at `now` when `nextUpdate` has passed, or when its
//! `thisUpdate` is older than the configured maximum age. A stale CRL proves nothing: the
//! status is [`CertificateStatus::CrlStale`], which callers refuse (fail closed).

use std::collections::{BTreeMap, HashMap};

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::cert::CertFacts;
use crate::config::VendorRegistry;
use crate::{UnixTime, hex};

/// Largest CRL accepted, in DER bytes.
pub const MAX_CRL_BYTES: usize = 4 * 1024 * 1024;

/// Why a CRL was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    /// Not a DER CRL (or too large).
    #[error("not a CRL: {0}")]
    Malformed(String),
    /// The issuer certificate is not a CA of a configured vendor, not valid now, or may not
    /// sign CRLs.
    #[error("CRL issuer not trusted: {0}")]
    UntrustedIssuer(String),
    /// The CRL's signature does not verify under the issuer's key, or names another issuer.
    #[error("CRL signature does not verify under its issuer's key")]
    BadSignature,
    /// No `nextUpdate`: freshness cannot be bounded.
    #[error("CRL has no nextUpdate")]
    NoNextUpdate,
}

impl CrlError {
    /// Stable reason code.
    #[must_use]
    pub fn reason_code(&self) -> &'static str {
        match self {
            CrlError::Malformed(_) => "crl_malformed",
            CrlError::UntrustedIssuer(_) => "crl_issuer_untrusted",
            CrlError::BadSignature => "crl_signature_invalid",
            CrlError::NoNextUpdate => "crl_next_update_missing",
        }
    }
}

/// A CRL whose signature and issuer were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCrl {
    vendor: String,
    issuer_dn: String,
    this_update: i64,
    next_update: i64,
    /// Revoked serials (lower-case hex, as [`crate::AcceptedDevice::leaf_serial_hex`]) and
    /// their revocation time.
    revoked: BTreeMap<String, i64>,
    fingerprint: [u8; 32],
}

impl VerifiedCrl {
    /// The vendor whose CA issued it.
    #[must_use]
    pub fn vendor(&self) -> &str {
        &self.vendor
    }

    /// The issuer's distinguished name (as device certificates' issuer is recorded).
    #[must_use]
    pub fn issuer_dn(&self) -> &str {
        &self.issuer_dn
    }

    /// `thisUpdate`, Unix seconds.
    #[must_use]
    pub fn this_update(&self) -> i64 {
        self.this_update
    }

    /// `nextUpdate`, Unix seconds.
    #[must_use]
    pub fn next_update(&self) -> i64 {
        self.next_update
    }

    /// SHA-256 of the CRL DER, hex.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.fingerprint)
    }

    /// How many certificates it revokes.
    #[must_use]
    pub fn revoked_count(&self) -> usize {
        self.revoked.len()
    }
}

/// A certificate's revocation status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateStatus {
    /// No CRL of its issuer is held: nothing is known.
    NoCrl,
    /// The issuer's CRL is fresh and does not list it.
    Good,
    /// The issuer's CRL lists it.
    Revoked {
        /// When it was revoked (Unix seconds).
        at: i64,
    },
    /// The issuer's CRL is past `nextUpdate` or older than the maximum age.
    CrlStale {
        /// The CRL's `nextUpdate` (Unix seconds).
        next_update: i64,
    },
}

impl CertificateStatus {
    /// Stable reason code of a status that refuses (`None` for [`CertificateStatus::Good`]
    /// and [`CertificateStatus::NoCrl`]).
    #[must_use]
    pub fn refusal_code(&self) -> Option<&'static str> {
        match self {
            CertificateStatus::Revoked { .. } => Some("device_certificate_revoked"),
            CertificateStatus::CrlStale { .. } => Some("crl_stale"),
            CertificateStatus::Good | CertificateStatus::NoCrl => None,
        }
    }
}

/// The newest verified CRL of each issuing CA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrlSet {
    by_issuer: HashMap<String, VerifiedCrl>,
    /// Longest a CRL is trusted after its `thisUpdate`, in seconds (`None`: until
    /// `nextUpdate` only).
    max_age_seconds: Option<i64>,
}

impl CrlSet {
    /// An empty set whose CRLs are trusted at most `max_age_seconds` after `thisUpdate`.
    #[must_use]
    pub fn new(max_age_seconds: Option<u64>) -> Self {
        CrlSet {
            by_issuer: HashMap::new(),
            max_age_seconds: max_age_seconds.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        }
    }

    /// Adds `crl`, keeping per issuer the one with the newest `thisUpdate`.
    pub fn insert(&mut self, crl: VerifiedCrl) {
        match self.by_issuer.get(&crl.issuer_dn) {
            Some(held) if held.this_update >= crl.this_update => {}
            _ => {
                self.by_issuer.insert(crl.issuer_dn.clone(), crl);
            }
        }
    }

    /// The CRLs held.
    pub fn iter(&self) -> impl Iterator<Item = &VerifiedCrl> {
        self.by_issuer.values()
    }

    /// Whether no CRL is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_issuer.is_empty()
    }

    /// The status at `now` (Unix seconds) of the certificate `serial_hex` issued by
    /// `issuer_dn`.
    #[must_use]
    pub fn status(&self, issuer_dn: &str, serial_hex: &str, now: i64) -> CertificateStatus {
        let Some(crl) = self.by_issuer.get(issuer_dn) else {
            return CertificateStatus::NoCrl;
        };
        let too_old = self
            .max_age_seconds
            .is_some_and(|max| now.saturating_sub(crl.this_update) > max);
        if now > crl.next_update || too_old {
            return CertificateStatus::CrlStale {
                next_update: crl.next_update,
            };
        }
        match crl.revoked.get(serial_hex) {
            Some(&at) => CertificateStatus::Revoked { at },
            None => CertificateStatus::Good,
        }
    }
}

impl VendorRegistry {
    /// Checks a CRL (DER) issued by the CA certificate `issuer_der` (DER) at trusted time
    /// `at`; see the module docs.
    ///
    /// # Errors
    /// [`CrlError`].
    pub fn verify_crl(
        &self,
        crl_der: &[u8],
        issuer_der: &[u8],
        at: UnixTime,
    ) -> Result<VerifiedCrl, CrlError> {
        if crl_der.len() > MAX_CRL_BYTES {
            return Err(CrlError::Malformed(format!(
                "{} bytes, more than {MAX_CRL_BYTES}",
                crl_der.len()
            )));
        }
        let (rest, crl) = CertificateRevocationList::from_der(crl_der)
            .map_err(|e| CrlError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CrlError::Malformed("bytes after the CRL".into()));
        }
        let untrusted = |m: &str| CrlError::UntrustedIssuer(m.to_owned());
        let facts = CertFacts::parse(issuer_der).map_err(CrlError::UntrustedIssuer)?;
        let (_, issuer) = X509Certificate::from_der(issuer_der)
            .map_err(|e| CrlError::UntrustedIssuer(e.to_string()))?;
        let at_secs = at.as_signed_secs();
        if !facts.is_ca() || facts.not_before > at_secs || at_secs > facts.not_after {
            return Err(untrusted("not a CA certificate valid now"));
        }
        // keyUsage cRLSign (bit 6), when keyUsage is present.
        if facts.key_usage.is_some_and(|ku| ku & (1 << 6) == 0) {
            return Err(untrusted("the CA may not sign CRLs (keyUsage)"));
        }
        // The issuer is a configured root or signed by one.
        let vendor = self
            .vendors
            .values()
            .find(|v| {
                v.roots.iter().any(|root| {
                    root.der == issuer_der
                        || (root.facts.subject_raw == facts.issuer_raw
                            && X509Certificate::from_der(&root.der).is_ok_and(|(_, r)| {
                                issuer.verify_signature(Some(r.public_key())).is_ok()
                            }))
                })
            })
            .ok_or_else(|| untrusted("not a configured root nor signed by one"))?;
        if crl.tbs_cert_list.issuer.as_raw() != facts.subject_raw.as_slice() {
            return Err(CrlError::BadSignature);
        }
        crl.verify_signature(issuer.public_key())
            .map_err(|_| CrlError::BadSignature)?;
        let next_update = crl.next_update().ok_or(CrlError::NoNextUpdate)?.timestamp();
        let revoked = crl
            .iter_revoked_certificates()
            .map(|r| (serial_hex(r.raw_serial()), r.revocation_date.timestamp()))
            .collect();
        Ok(VerifiedCrl {
            vendor: vendor.id().to_owned(),
            issuer_dn: facts.subject_dn.clone(),
            this_update: crl.last_update().timestamp(),
            next_update,
            revoked,
            fingerprint: crate::cert::sha256(crl_der),
        })
    }
}

/// Splits a CRL bundle: PEM text with one `X509 CRL` section and one `CERTIFICATE` section
/// (the issuing CA). Returns both DER.
///
/// # Errors
/// [`CrlError::Malformed`] for anything else.
pub fn bundle_from_pem(text: &str) -> Result<(Vec<u8>, Vec<u8>), CrlError> {
    use rustls_pki_types::pem::{PemObject, SectionKind};
    let bad = || CrlError::Malformed("expected one X509 CRL and one CERTIFICATE in PEM".into());
    let mut crl = None;
    let mut issuer = None;
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(text.as_bytes()) {
        match item.map_err(|e| CrlError::Malformed(e.to_string()))? {
            (SectionKind::Crl, der) if crl.is_none() => crl = Some(der),
            (SectionKind::Certificate, der) if issuer.is_none() => issuer = Some(der),
            _ => return Err(bad()),
        }
    }
    Ok((crl.ok_or_else(bad)?, issuer.ok_or_else(bad)?))
}

/// A DER INTEGER's content as the registry records serials: lower-case hex of the magnitude
/// (a leading sign byte dropped).
fn serial_hex(raw: &[u8]) -> String {
    match raw {
        [0, rest @ ..] if !rest.is_empty() => hex::encode(rest),
        other => hex::encode(other),
    }
}
