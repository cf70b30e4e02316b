//! UORA secure physical binding (seed 002) as CPHAR implements it: the ChallengeRequest and
//! ChallengeResponse messages, object DID documents, and the verification procedure.
//!
//! Everything here is sans-I/O: no clock is read, no file or socket touched, no randomness
//! drawn. Time, nonces and keys come in as arguments, so the procedure is deterministic and
//! tests run on virtual time. Drivers (the CLI, the server) do the I/O.
//!
//! - [`codes`]: result codes, details, BALs, revocation reasons — declared once.
//! - [`message`], [`did`]: strict parsing of what verifiers, seals and resolvers send.
//! - [`verify`]: the §4.3.4 procedure, step by step.
//! - [`pid`], [`pbac`], [`continuous`], [`risk`]: Appendix A, C, D and §6.3.
//! - [`replay`], [`ratelimit`]: thread-safe, bounded guards the server puts in front.
//! - [`seal`]: a software seal answering challenges.
//! - [`domain`]: the type-tagged envelope for everything else a seal key signs (CPHAR
//!   extensions: continuous attestations, authenticated device status).
#![forbid(unsafe_code)]

pub mod codes;
pub mod continuous;
pub mod did;
pub mod domain;
mod fields;
pub mod message;
pub mod pbac;
pub mod pid;
pub mod ratelimit;
pub mod replay;
pub mod risk;
pub mod seal;
pub mod signed;
pub mod timestamp;
pub mod verify;

pub use codes::{Bal, Detail, DeviceStatus, ResultCode, RevocationReason, TFP_1};
pub use did::{BindingMethod, DidDocument, MethodKey};
pub use fields::{FieldError, is_did};
pub use message::{ChallengeParams, ChallengeRequest, ChallengeResponse, MessageError};
pub use timestamp::Timestamp;
pub use verify::{
    Outcome, ResponseTiming, TamperReport, Verified, VerifierPolicy, verify, verify_json,
};
