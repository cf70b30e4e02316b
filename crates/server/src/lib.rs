//! The CPHAR service.
//!
//! * [`node`] — what every process that writes to the registry does first: power-on
//!   self-tests, the trusted clock, the registry identity key, a fresh audit key and the
//!   `audit_key_epoch` entry that opens its epoch. Until then nothing is signed.
#![forbid(unsafe_code)]

pub mod node;

pub use node::{Node, NodeConfig, StartError};
