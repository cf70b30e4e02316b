//! The CPHAR service.
//!
//! * [`node`] — what every process that writes to the registry does first: power-on
//!   self-tests, the trusted clock, the registry identity key, a fresh audit key and the
//!   `audit_key_epoch` entry that opens its epoch. Until then nothing is signed.
//! * [`app`] — the HTTP router, middleware and `serve` (TLS, graceful shutdown);
//!   [`routes`] the handlers, [`auth`] roles and tokens, [`extract`] strict request parsing,
//!   [`problem`] RFC 9457 errors, [`openapi`] the API document from the types in [`schema`],
//!   [`access`] who reads what;
//! * [`conn`] — the connection cap and idle timeout; [`refusals`] — refused RFC 3161 queries
//!   counted and audited once per period;
//! * [`tsa`] — the RFC 3161 service; [`transparency`] — checkpoints and proofs over HTTP;
//!   [`reports`] — publishing signed reserve reports (timestamped by that TSA) and serving
//!   their proofs;
//! * [`attestation`] — every recorded answer's metrics and telemetry around the registry's
//!   attestation operation; [`scheduler`] — clock validation, attestation cadence, lapsed
//!   evidence, re-enrollment expiry; [`agent`] — challenging seals that expose a network
//!   transport;
//! * [`metrics`] — Prometheus metrics; [`telemetry`] — structured logs with seed 001's
//!   telemetry field names; [`config`] — the configuration file;
//! * [`admin_token`] — the admin token file, written before its token is committed.
#![forbid(unsafe_code)]

pub mod access;
pub mod admin_token;
pub mod agent;
pub mod app;
pub mod attestation;
pub mod auth;
pub mod config;
pub mod conn;
pub mod extract;
pub mod metrics;
pub mod node;
pub mod openapi;
pub mod problem;
pub mod refusals;
pub mod reports;
pub mod routes;
pub mod scheduler;
pub mod schema;
pub mod state;
pub mod telemetry;
pub mod transparency;
pub mod tsa;

pub use config::ServerConfig;
pub use node::{Node, NodeConfig, StartError};
pub use state::AppState;
