//! One module per subcommand.
pub mod audit;
pub mod bench;
pub mod bench_registry;
pub mod bench_report;
pub mod bench_service;
pub mod challenge;
pub mod client;
pub mod demo;
pub mod jcs;
pub mod keygen;
pub mod registry;
pub mod report;
pub mod seal;
pub mod serve;
pub mod ts;
pub mod vendor;
pub mod verify;
