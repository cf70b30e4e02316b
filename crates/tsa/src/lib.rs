//! Sans-I/O RFC 3161 time-stamping for CPHAR (PROTOCOL.md "Timestamps"): no clock reads, no
//! network, no files. The server and the CLI supply trusted time, serial numbers and bytes.
//!
//! | module | owns |
//! | --- | --- |
//! | [`signer`] | the TSA: [`TsaSigner::issue`] answers every request with a DER `TimeStampResp` (a token or a rejection with PKIFailureInfo); the TSA key signs nothing else (SS-3) |
//! | [`request`] | `TimeStampReq`: [`make_request`] for clients, [`parse_request`] with the failInfo of each format problem |
//! | [`response`] | `TimeStampResp`: [`PkiStatus`], [`FailureInfo`], [`parse_response`], [`rejection_response`] |
//! | [`verify`] | [`verify_token`]: CMS signature, messageDigest, ESS signingCertificateV2, TSA certificate EKU and path (rustls-webpki), imprint, nonce, policy |
//! | [`dev`] | [`dev_tsa_chain`]: a root CA and a TSA leaf (critical EKU timeStamping) via rcgen |
//! | `alg`, `time`, `cert`, `asn1` | OIDs and hashes, [`UnixTime`] and GeneralizedTime, certificate rules, DER declarations |
//!
//! Tokens are CMS SignedData (eContentType id-ct-TSTInfo) signed with ECDSA P-256/SHA-256 or
//! P-384/SHA-384 and carry the ESS signing-certificate-v2 attribute, so `openssl ts -verify`
//! accepts them (tests/openssl.rs runs it). Every refusal is a [`TsaError`] with a stable
//! [`TsaError::reason_code`]; no input makes anything here panic (tests/fuzz.rs).
//!
//! ```
//! use cphar_crypto::Algorithm;
//! use cphar_tsa::{
//!     DevChainParams, HashAlg, MessageImprint, Oid, TokenCheck, TrustAnchors, TsaConfig,
//!     TsaSigner, UnixTime, dev_tsa_chain, make_request, verify_token,
//! };
//!
//! let now = UnixTime::from_secs(1_770_000_000).unwrap();
//! let chain = dev_tsa_chain(&DevChainParams {
//!     algorithm: Algorithm::EcdsaP256Sha256,
//!     organization: "Example",
//!     not_before: UnixTime::from_secs(1_700_000_000).unwrap(),
//!     not_after: UnixTime::from_secs(1_900_000_000).unwrap(),
//! })?;
//! let policy = Oid::parse("1.3.6.1.4.1.99999.1.1")?;
//! let tsa = TsaSigner::new(&chain.key_pkcs8_der, TsaConfig::new(vec![chain.leaf_der().to_vec()], policy))?;
//!
//! let imprint = MessageImprint::of_data(HashAlg::Sha256, b"document");
//! let request = make_request(&imprint, Some(&[7; 8]), true, None)?;
//! let response = tsa.issue(&request, 1, now);
//!
//! let anchors = TrustAnchors::from_der(&[chain.root_der()])?;
//! let ts = verify_token(&response, &TokenCheck::for_data(b"document").nonce(&[7; 8]), &anchors, now)?;
//! assert_eq!(ts.gen_time, now);
//! assert_eq!(ts.serial_u128(), Some(1));
//! # Ok::<(), cphar_tsa::TsaError>(())
//! ```

mod alg;
mod asn1;
mod cert;
pub mod dev;
mod error;
pub mod request;
pub mod response;
pub mod signer;
mod time;
pub mod verify;

pub use crate::alg::{HashAlg, MessageImprint, Oid};
pub use crate::cert::{certs_from_pem, certs_to_pem};
pub use crate::dev::{DevChainParams, DevTsaChain, dev_tsa_chain};
pub use crate::error::TsaError;
pub use crate::request::{
    MAX_NONCE_LEN, RequestedPolicy, TimeStampRequest, make_request, parse_request,
};
pub use crate::response::{
    FailureInfo, PkiStatus, TimeStampResponse, parse_response, rejection_response,
};
pub use crate::signer::{Issued, MAX_FRACTION_DIGITS, Outcome, TsaConfig, TsaSigner};
pub use crate::time::{Accuracy, UnixTime};
pub use crate::verify::{TokenCheck, TrustAnchors, VerifiedTimestamp, verify_token};
