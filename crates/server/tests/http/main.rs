//! End-to-end HTTP tests of the CPHAR server: real servers on 127.0.0.1:0, real requests.
//!
//! * [`attestation`] — tamper reports, lapsed evidence, policy deny/degrade and anti-rollback
//!   across restarts and servers, verifier DIDs bound to tokens;
//! * [`audit_complete`] — clock breaches, served checkpoints and the module error state reach
//!   the audit log;
//! * [`lifecycle`] — the whole seed 000 lifecycle, challenge/response, revocation, retirement,
//!   decommissioning, the audit log verified offline, checkpoints and proofs (SQLite and
//!   PostgreSQL);
//! * [`replay`] — replayed responses and the response-time bound;
//! * [`cluster`] — two server processes on one PostgreSQL never accept a nonce twice;
//! * [`confidential`] — what anonymous callers, other roles and other operators cannot read;
//! * [`roles`] — the role × endpoint matrix and routing of every OpenAPI operation;
//! * [`batch`] — bulk seal registration (JSON Lines), per-line report, item proofs;
//! * [`bad_input`] — malformed, oversized, mistyped bodies, floods, and a property test;
//! * [`redteam`] — regressions for an outside red team's findings (floods, idle
//!   connections, token lifetimes, identifiers, out-of-range numbers, nested unknown members);
//! * [`admin_token`] — the admin token file written before its token is committed; reset;
//! * [`identity`] — a process with other keys than the database knows does not start;
//!   owner-only data directory;
//! * [`status`] — a stripped tamper report is not valid (authenticated device status);
//! * [`tsa`] — RFC 3161 through HTTP, checked by `openssl ts -verify`;
//! * [`reports`] — signed reserve reports published, fetched and verified offline, departures
//!   and non-inclusion proofs, who reads leaves and proofs, the report key's one identity;
//! * [`scheduler`] — seal agents challenged concurrently within the configured bound;
//! * [`schemas`] — every operation answered with its documented success; [`conformance`]
//!   checks every answer of the suite against the OpenAPI schemas;
//! * [`service`] — OpenAPI document, health and readiness (also in the module error state);
//! * [`ui`] — the web dashboard in headless Chromium (WebDriver): sign-in, overview totals,
//!   lot pages, the audit log verified in the browser, reports, refusals, keyboard and phone
//!   layout, with screenshots.
//! * [`device`] — hardware seals and the device certificate's life: each registration refusal
//!   (self-declared BAL, no proof of possession, wrong SKU, revoked, stale CRL), revocation
//!   and expiry re-checked at attestation, a SoftHSM2 seal's whole lifecycle;
//! * [`service`] — OpenAPI document, health and readiness (also in the module error state).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod conformance;
mod harness;

mod admin_token;
mod attestation;
mod audit_complete;
mod bad_input;
mod batch;
mod cluster;
mod confidential;
mod device;
mod identity;
mod lifecycle;
mod redteam;
mod replay;
mod reports;
mod roles;
mod scheduler;
mod schemas;
mod service;
mod status;
mod tsa;
mod ui;
