//! The TSA: turns a `TimeStampReq` plus a caller-supplied serial and trusted time into a DER
//! `TimeStampResp`, always (a rejection carries the PKIFailureInfo; nothing panics).
//!
//! SS-3 ("the timestamp private key can be used only to create timestamps"): [`TsaSigner`]
//! takes the key as PKCS#8 bytes and keeps the only key object privately. It has no method
//! that signs caller-chosen bytes or exports the key: the only thing it signs is the DER
//! SignedAttributes it builds itself around a TSTInfo it built itself. It is not `Clone`.
//!
//! At construction it refuses a certificate `openssl ts -verify` would refuse (critical EKU with
//! only id-kp-timeStamping, keyUsage allowing signatures), a key that is not the certificate's,
//! and then runs a power-on self-test: it issues one token and verifies it (signature,
//! messageDigest, ESS binding, contents) before it can be used.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use cphar_crypto::{Algorithm, SigningKey};
use der::asn1::{Int, OctetString};
use der::{Any, Encode as _, Tag};
use parking_lot::Mutex;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::alg::{
    HashAlg, MessageImprint, OID_ATTR_CONTENT_TYPE, OID_ATTR_MESSAGE_DIGEST,
    OID_ATTR_SIGNING_CERT_V2, OID_ATTR_SIGNING_TIME, OID_CT_TSTINFO, OID_ECDSA_SHA256,
    OID_ECDSA_SHA384, OID_SIGNED_DATA, Oid,
};
use crate::asn1::{
    AttributeDer, EssCertIdV2, IssuerSerial, RawSet, SignedData, SignerInfo, SigningCertificateV2,
    TstInfo, tlv, uint_content,
};
use crate::cert::ParsedCert;
use crate::request::{RequestedPolicy, TimeStampRequest, make_request, parse_request};
use crate::response::{granted_response, rejection_response};
use crate::time::{Accuracy, GenTime, UnixTime, signing_time_der};
use crate::verify::verify_core;
use crate::{FailureInfo, TsaError};

/// Largest number of fractional genTime digits (what `openssl ts` supports).
pub const MAX_FRACTION_DIGITS: u8 = 6;

/// How the TSA issues tokens. Construct with [`TsaConfig::new`] and adjust the public fields.
#[derive(Clone, Debug)]
pub struct TsaConfig {
    /// The TSA certificate chain, DER, leaf (the TSA certificate) first; every certificate is
    /// put in tokens whose request has certReq true.
    pub chain_der: Vec<Vec<u8>>,
    /// The policy of tokens whose request names none.
    pub default_policy: Oid,
    /// Further policies a request may ask for (the default policy is always accepted).
    pub accepted_policies: Vec<Oid>,
    /// The accuracy stated in tokens (`None` or all-zero: the field is omitted).
    pub accuracy: Option<Accuracy>,
    /// Fractional digits of genTime, 0..=[`MAX_FRACTION_DIGITS`]; the clock reading is
    /// truncated, never rounded up.
    pub fraction_digits: u8,
    /// Whether to add the CMS signingTime signed attribute (genTime, whole seconds).
    pub signing_time: bool,
    /// Whether to put the TSA certificate's subject in the TSTInfo `tsa` field.
    pub tsa_name: bool,
    /// Whether to refuse a serial not above the last granted one (systemFailure) or a time
    /// before the last granted genTime (timeNotAvailable). A server that issues concurrently
    /// must then allocate the serial, read the clock and call `issue` under one lock.
    pub enforce_monotonic: bool,
}

impl TsaConfig {
    /// Defaults: accuracy 1 s, whole-second genTime, signingTime and `tsa` name included,
    /// monotonic serial/time enforced, no policy besides `default_policy`.
    #[must_use]
    pub fn new(chain_der: Vec<Vec<u8>>, default_policy: Oid) -> Self {
        TsaConfig {
            chain_der,
            default_policy,
            accepted_policies: Vec::new(),
            accuracy: Some(Accuracy::seconds(1)),
            fraction_digits: 0,
            signing_time: true,
            tsa_name: true,
            enforce_monotonic: true,
        }
    }
}

/// What [`TsaSigner::respond`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A token was issued with this serial and genTime (as encoded, i.e. truncated).
    Granted {
        /// The serial number in the token.
        serial: u128,
        /// The genTime in the token.
        gen_time: UnixTime,
    },
    /// The request was refused.
    Rejected(FailureInfo),
}

/// A response and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The DER `TimeStampResp`.
    pub response: Vec<u8>,
    /// Whether a token was issued.
    pub outcome: Outcome,
}

/// The time-stamping authority's signing side (see the module documentation for SS-3).
pub struct TsaSigner {
    key: SigningKey,
    digest: HashAlg,
    signature_algorithm: AlgorithmIdentifierOwned,
    sid: SignerIdentifier,
    leaf_validity: (u64, u64),
    tsa_name: Option<GeneralName>,
    /// DER of the constant signed attributes (contentType, signingCertificateV2).
    constant_attrs: Vec<Vec<u8>>,
    certificates: RawSet,
    chain_der: Vec<Vec<u8>>,
    default_policy: Oid,
    accepted_policies: Vec<Oid>,
    accuracy: Option<Accuracy>,
    fraction_digits: u8,
    signing_time: bool,
    monotonic: Option<Mutex<Option<(u128, UnixTime)>>>,
}

impl std::fmt::Debug for TsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaSigner")
            .field("algorithm", &self.key.algorithm())
            .field("default_policy", &self.default_policy)
            .finish_non_exhaustive()
    }
}

/// Data time-stamped by the power-on self-test.
const SELF_TEST_DATA: &[u8] = b"cphar-tsa power-on self-test";
const SELF_TEST_NONCE: [u8; 8] = [0x5e, 0x1f, 0x7e, 0x57, 0x00, 0x00, 0x00, 0x01];

impl TsaSigner {
    /// A signer from an unencrypted PKCS#8 DER key (ECDSA P-256 or P-384) and a config.
    ///
    /// # Errors
    /// [`TsaError::InvalidConfig`], [`TsaError::EkuInvalid`], [`TsaError::KeyUsageInvalid`],
    /// [`TsaError::KeyCertMismatch`], [`TsaError::UnsupportedAlgorithm`],
    /// [`TsaError::Crypto`] for an unusable key, [`TsaError::SelfTestFailed`].
    pub fn new(key_pkcs8_der: &[u8], config: TsaConfig) -> Result<Self, TsaError> {
        let key = SigningKey::from_pkcs8_der(key_pkcs8_der)
            .map_err(|e| TsaError::Crypto(format!("TSA key: {e}")))?;
        Self::with_key(key, config)
    }

    /// As [`TsaSigner::new`], from PKCS#8 PEM (`PRIVATE KEY`).
    ///
    /// # Errors
    /// As [`TsaSigner::new`].
    pub fn from_pkcs8_pem(key_pem: &str, config: TsaConfig) -> Result<Self, TsaError> {
        let key = SigningKey::from_pkcs8_pem(key_pem)
            .map_err(|e| TsaError::Crypto(format!("TSA key: {e}")))?;
        Self::with_key(key, config)
    }

    fn with_key(key: SigningKey, config: TsaConfig) -> Result<Self, TsaError> {
        let (digest, sig_oid) = match key.algorithm() {
            Algorithm::EcdsaP256Sha256 => (HashAlg::Sha256, OID_ECDSA_SHA256),
            Algorithm::EcdsaP384Sha384 => (HashAlg::Sha384, OID_ECDSA_SHA384),
            other => {
                return Err(TsaError::UnsupportedAlgorithm(format!(
                    "TSA key {other}: only ECDSA P-256 and P-384"
                )));
            }
        };
        let leaf_der = config
            .chain_der
            .first()
            .ok_or_else(|| TsaError::InvalidConfig("empty certificate chain".into()))?;
        let leaf = ParsedCert::parse(leaf_der)?;
        for der in config.chain_der.iter().skip(1) {
            ParsedCert::parse(der)?;
        }
        leaf.check_tsa_eku()?;
        leaf.check_signing_key_usage()?;
        if leaf.public_key_bytes() != Some(key.verifying_key().public_bytes().as_slice()) {
            return Err(TsaError::KeyCertMismatch);
        }
        if config.accuracy.is_some_and(|acc| !acc.is_valid()) {
            return Err(TsaError::InvalidConfig(
                "accuracy millis and micros must be 0..=999".into(),
            ));
        }
        if config.fraction_digits > MAX_FRACTION_DIGITS {
            return Err(TsaError::InvalidConfig(format!(
                "fraction_digits must be at most {MAX_FRACTION_DIGITS}"
            )));
        }

        let tbs = &leaf.cert.tbs_certificate;
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        });
        // ESS signingCertificateV2 (RFC 5035) with the SHA-256 certificate hash (the DEFAULT
        // algorithm, hence omitted) and issuerSerial: `openssl ts -verify` requires it.
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: octets(HashAlg::Sha256.digest(leaf_der))?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                    serial_number: tbs.serial_number.clone(),
                }),
            }],
            policies: None,
        };
        let constant_attrs = vec![
            attribute(OID_ATTR_CONTENT_TYPE, &encode(&OID_CT_TSTINFO)?)?,
            attribute(OID_ATTR_SIGNING_CERT_V2, &encode(&ess)?)?,
        ];
        let mut accepted_policies = config.accepted_policies.clone();
        if !accepted_policies.contains(&config.default_policy) {
            accepted_policies.push(config.default_policy);
        }

        let signer = TsaSigner {
            digest,
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: sig_oid,
                parameters: None,
            },
            sid,
            leaf_validity: leaf.validity_secs(),
            tsa_name: config
                .tsa_name
                .then(|| GeneralName::DirectoryName(tbs.subject.clone())),
            constant_attrs,
            certificates: RawSet::sorted(config.chain_der.clone()),
            chain_der: config.chain_der,
            default_policy: config.default_policy,
            accepted_policies,
            accuracy: config.accuracy.filter(|a| !a.is_zero()),
            fraction_digits: config.fraction_digits,
            signing_time: config.signing_time,
            monotonic: config.enforce_monotonic.then(|| Mutex::new(None)),
            key,
        };
        signer.self_test()?;
        Ok(signer)
    }

    /// Power-on self-test: one token through the whole path, checked by the verifier.
    fn self_test(&self) -> Result<(), TsaError> {
        let fail = |why: String| TsaError::SelfTestFailed(why);
        let imprint = MessageImprint::of_data(HashAlg::Sha256, SELF_TEST_DATA);
        let req_der = make_request(&imprint, Some(&SELF_TEST_NONCE), true, None)?;
        let req = parse_request(&req_der).map_err(|f| fail(format!("request refused: {f}")))?;
        let at = UnixTime::from_secs(self.leaf_validity.0)
            .ok_or_else(|| fail("certificate notBefore out of range".into()))?;
        let token = self
            .build_token(&req, 1, at, self.default_policy)
            .map_err(|f| fail(format!("issuing failed: {f}")))?;
        let core = verify_core(&token, &[], false).map_err(|e| fail(e.to_string()))?;
        let leaf = self.chain_der.first().map(Vec::as_slice);
        let ok = core.imprint == imprint
            && core.serial == [1]
            && core.tst.gen_time.0 == at
            && Some(core.signer.der.as_slice()) == leaf
            && core
                .tst
                .nonce
                .as_ref()
                .is_some_and(|n| n.as_bytes() == uint_content(&SELF_TEST_NONCE));
        if ok {
            Ok(())
        } else {
            Err(fail("token contents differ from the request".into()))
        }
    }

    /// Answers `request_der` with a DER `TimeStampResp`: granted with a token carrying
    /// `serial` and `gen_time` (the caller's trusted clock; truncated to the configured
    /// precision), or a rejection. Never panics; see [`parse_request`] for the failInfo of
    /// each format problem. Further refusals: `unacceptedPolicy` for a policy not accepted,
    /// `systemFailure` when `gen_time` is outside the TSA certificate's validity, when
    /// signing fails, or (with `enforce_monotonic`) for a serial not above the last one;
    /// `timeNotAvailable` (with `enforce_monotonic`) for a time before the last genTime.
    #[must_use]
    pub fn issue(&self, request_der: &[u8], serial: u128, gen_time: UnixTime) -> Vec<u8> {
        self.respond(request_der, serial, gen_time).response
    }

    /// As [`TsaSigner::issue`], also saying what was done (for the server's audit log).
    #[must_use]
    pub fn respond(&self, request_der: &[u8], serial: u128, gen_time: UnixTime) -> Issued {
        match self.try_issue(request_der, serial, gen_time) {
            Ok((token, gen_time)) => Issued {
                response: granted_response(&token),
                outcome: Outcome::Granted { serial, gen_time },
            },
            Err(failure) => Issued {
                response: rejection_response(failure),
                outcome: Outcome::Rejected(failure),
            },
        }
    }

    /// A rejection response with `failure`, for refusals decided by the caller: the trusted
    /// clock is unavailable (`TimeNotAvailable`), the TSA is in an error state after a failed
    /// self-test (`SystemFailure`), ...
    #[must_use]
    pub fn reject(&self, failure: FailureInfo) -> Vec<u8> {
        rejection_response(failure)
    }

    /// The TSA certificate chain (DER, leaf first), as configured.
    #[must_use]
    pub fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain_der
    }

    /// The signing key's algorithm (ECDSA P-256 or P-384).
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// The policy of tokens whose request names none.
    #[must_use]
    pub fn default_policy(&self) -> Oid {
        self.default_policy
    }

    fn try_issue(
        &self,
        request_der: &[u8],
        serial: u128,
        gen_time: UnixTime,
    ) -> Result<(Vec<u8>, UnixTime), FailureInfo> {
        let req = parse_request(request_der)?;
        let policy = match req.policy {
            None => self.default_policy,
            Some(RequestedPolicy::Oid(p)) if self.accepted_policies.contains(&p) => p,
            Some(_) => return Err(FailureInfo::UnacceptedPolicy),
        };
        let gen_time = gen_time.truncated(self.fraction_digits);
        let (not_before, not_after) = self.leaf_validity;
        if gen_time.secs() < not_before || gen_time.secs() > not_after {
            return Err(FailureInfo::SystemFailure);
        }
        if let Some(last) = &self.monotonic {
            let mut last = last.lock();
            if let Some((last_serial, last_time)) = *last {
                if serial <= last_serial {
                    return Err(FailureInfo::SystemFailure);
                }
                if gen_time < last_time {
                    return Err(FailureInfo::TimeNotAvailable);
                }
            }
            *last = Some((serial, gen_time));
        }
        let token = self.build_token(&req, serial, gen_time, policy)?;
        Ok((token, gen_time))
    }

    /// Builds and signs a TimeStampToken (DER ContentInfo).
    fn build_token(
        &self,
        req: &TimeStampRequest,
        serial: u128,
        gen_time: UnixTime,
        policy: Oid,
    ) -> Result<Vec<u8>, FailureInfo> {
        let sys = |_| FailureInfo::SystemFailure;
        let tst = TstInfo {
            version: Int::new(&[1]).map_err(sys)?,
            policy: policy.0,
            message_imprint: req.imprint_der.clone(),
            serial_number: Int::new(&uint_content(&serial.to_be_bytes())).map_err(sys)?,
            gen_time: GenTime(gen_time),
            accuracy: self.accuracy.map(Accuracy::to_der_struct),
            ordering: false,
            nonce: req.nonce_int.clone(),
            tsa: self.tsa_name.clone(),
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(sys)?;

        let mut attrs = self.constant_attrs.clone();
        let md = octets(self.digest.digest(&tst_der)).map_err(|_| FailureInfo::SystemFailure)?;
        attrs.push(
            attribute(OID_ATTR_MESSAGE_DIGEST, &md.to_der().map_err(sys)?)
                .map_err(|_| FailureInfo::SystemFailure)?,
        );
        if self.signing_time {
            let st = signing_time_der(gen_time).map_err(sys)?;
            attrs.push(
                attribute(OID_ATTR_SIGNING_TIME, &st).map_err(|_| FailureInfo::SystemFailure)?,
            );
        }
        let signed_attrs = RawSet::sorted(attrs);
        // The only signing operation of the TSA key: DER SignedAttributes built right here.
        let signature = self
            .key
            .sign(&signed_attrs.to_set_der())
            .map_err(|_| FailureInfo::SystemFailure)?;

        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.sid.clone(),
            digest_alg: self.digest.algorithm_identifier(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: self.signature_algorithm.clone(),
            signature: OctetString::new(signature).map_err(sys)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            // v3: the eContentType is not id-data (RFC 5652 §5.1).
            version: CmsVersion::V3,
            digest_algorithms: RawSet::sorted(vec![
                self.digest.algorithm_identifier().to_der().map_err(sys)?,
            ]),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: OID_CT_TSTINFO,
                econtent: Some(Any::new(Tag::OctetString, tst_der).map_err(sys)?),
            },
            certificates: req.cert_req.then(|| self.certificates.clone()),
            crls: None,
            signer_infos: RawSet::sorted(vec![signer_info.to_der().map_err(sys)?]),
        };
        let content_type = OID_SIGNED_DATA.to_der().map_err(sys)?;
        let content = tlv(0xa0, &signed_data.to_der().map_err(sys)?);
        Ok(tlv(0x30, &[content_type, content].concat()))
    }
}

fn octets(bytes: Vec<u8>) -> Result<OctetString, TsaError> {
    OctetString::new(bytes).map_err(|e| TsaError::Crypto(format!("octet string: {e}")))
}

fn encode<T: der::Encode>(value: &T) -> Result<Vec<u8>, TsaError> {
    value
        .to_der()
        .map_err(|e| TsaError::Crypto(format!("DER encoding: {e}")))
}

/// DER of an Attribute with one value (the value given as DER).
fn attribute(oid: der::asn1::ObjectIdentifier, value_der: &[u8]) -> Result<Vec<u8>, TsaError> {
    encode(&AttributeDer {
        oid,
        values: RawSet {
            value: value_der.to_vec(),
        },
    })
}
