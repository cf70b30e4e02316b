//! The CPHAR registry: the system of record for seals, lots and bindings.
//!
//! * [`seal`] and [`binding`] — the two lifecycles (seed 000, seed 002 §7) and their mapping;
//! * [`ident`] — the identifier grammar (lot ids, seal UIDs, subjects), defined once;
//! * [`model`] — stored records and **the** active reserve set rule ([`in_active_reserve`]);
//! * [`decide`] — pure decisions: records + command → [`ChangeSet`] or [`Refusal`];
//! * [`bea`] — Binding Enrollment Attestations (VC, `eddsa-jcs-2022`);
//! * [`did`] — lot DID documents generated from registry state;
//! * [`store`] — the storage interface the backends implement;
//! * [`service`] — the driver: load, decide, apply atomically, retry on conflict;
//! * [`batch`] — bulk seal registration, audited as one event committing to its items.

pub mod attest;
pub mod batch;
pub mod bea;
pub mod binding;
pub mod codes;
pub mod decide;
pub mod device;
pub mod did;
mod error;
pub mod event;
pub mod ident;
pub mod model;
pub mod policy;
pub mod reports;
pub mod seal;
pub mod service;
pub mod service_event;
pub mod status_list;
pub mod store;
mod wire;

pub use binding::BindingState;
pub use codes::RefusalCode;
pub use did::RegistryNames;
pub use error::Refusal;
pub use event::{EventType, RegistryEvent, StoredEvent};
pub use model::{BindingRecord, LotRecord, SealRecord, in_active_reserve};
pub use seal::SealState;
pub use service::{Clock, Registry, RegistryError, SystemClock};
pub use service_event::{ClockFact, ServiceEvent};
pub use store::{ChangeSet, Store, StoreError};
