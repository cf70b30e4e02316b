//! `cphar`: the command-line face of CPHAR. Each subcommand is a thin driver in `cmd/` that
//! reads files, the clock and the CSPRNG, then calls the pure protocol core.
//!
//! Exit codes: 0 success (for `verify`: result `valid`), 1 a negative answer (`verify`: any
//! other result), 2 the command could not run (bad file, bad option, invalid input).
#![forbid(unsafe_code)]

mod cmd;
mod http;
mod io;
mod provision;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// CPHAR — proof that sealed physical reserves are still there.
#[derive(Parser)]
#[command(name = "cphar", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole system end to end over HTTP: seals, registry, attestation, attacks, audit.
    Demo(cmd::demo::Args),
    /// Canonicalize JSON (RFC 8785) from stdin to stdout; refuses non-I-JSON input.
    Jcs(cmd::jcs::Args),
    /// Verify a seal's ChallengeResponse offline (seed 002 §4.3.4); prints the result object.
    Verify(cmd::verify::Args),
    /// Generate a seal key pair: writes the private key file, prints the public JWK.
    Keygen(cmd::keygen::Args),
    /// Issue a ChallengeRequest with a fresh CSPRNG nonce.
    Challenge(cmd::challenge::Args),
    /// Export, verify and prove the audit log.
    #[command(subcommand)]
    Audit(cmd::audit::Command),
    /// Operate the registry directly on its database.
    Registry(cmd::registry::Args),
    /// Run the HTTP service (API, verifier, TSA, audit log).
    Serve(Box<cmd::serve::Args>),
    /// RFC 3161 timestamps: make requests, verify replies.
    #[command(subcommand)]
    Ts(cmd::ts::Command),
    /// Reserve reports: verify offline (and dev-only build / prove).
    #[command(subcommand)]
    Report(cmd::report::Command),
    /// Act as a software seal (or a simulated PUF seal, development only).
    #[command(subcommand)]
    Seal(cmd::seal::Command),
    /// Simulated PUF devices (development only): characterize, enroll.
    #[command(subcommand)]
    Puf(cmd::puf::Command),
    /// Calls to a running `cphar serve`: API tokens, attesting a lot.
    #[command(subcommand)]
    Client(cmd::client::Command),
    /// Vendor side of seal provisioning (for now: development helpers `dev-ca`, `dev-cert`).
    #[command(subcommand)]
    Vendor(cmd::vendor::Command),
    /// Print performance figures.
    #[command(subcommand)]
    Bench(cmd::bench::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Jcs(args) => cmd::jcs::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Keygen(args) => cmd::keygen::run(args),
        Command::Challenge(args) => cmd::challenge::run(args),
        Command::Audit(c) => cmd::audit::run(c),
        Command::Registry(args) => cmd::registry::run(args),
        Command::Serve(args) => cmd::serve::run(*args),
        Command::Report(c) => cmd::report::run(c),
        Command::Seal(c) => cmd::seal::run(c),
        Command::Puf(c) => cmd::puf::run(c),
        Command::Ts(c) => cmd::ts::run(c),
        Command::Vendor(c) => cmd::vendor::run(c),
        Command::Client(c) => cmd::client::run(c),
        Command::Bench(c) => cmd::bench::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line: the error and its causes, never a backtrace or a panic.
            eprintln!("cphar: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks over every subcommand (unique names, valid defaults…).
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
