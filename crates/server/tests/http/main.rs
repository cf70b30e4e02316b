//! End-to-end HTTP tests of the CPHAR server: real servers on 127.0.0.1:0, real requests.
//!
//! * [`lifecycle`] — the whole seed 000 lifecycle, challenge/response, revocation, retirement,
//!   decommissioning, the audit log verified offline, checkpoints and proofs (SQLite and
//!   PostgreSQL);
//! * [`replay`] — replayed responses and the response-time bound;
//! * [`cluster`] — two server processes on one PostgreSQL never accept a nonce twice;
//! * [`admin_token`] — the admin token file written before its token is committed; reset;
//! * [`identity`] — a process with other keys than the database knows does not start;
//!   owner-only data directory;
//! * [`roles`] — the role × endpoint matrix and routing of every OpenAPI operation;
//! * [`bad_input`] — malformed, oversized, mistyped bodies, floods, and a property test;
//! * [`status`] — a stripped tamper report is not valid (authenticated device status);
//! * [`tsa`] — RFC 3161 through HTTP, checked by `openssl ts -verify`;
//! * [`service`] — OpenAPI document, health and readiness (also in the module error state).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod harness;

mod admin_token;
mod bad_input;
mod cluster;
mod identity;
mod lifecycle;
mod replay;
mod roles;
mod service;
mod status;
mod tsa;
