//! `cphar keygen`: a software seal key. The private key goes to a file readable only by its
//! owner (PKCS#8 PEM); the public JWK goes to stdout.

use crate::io;
use anyhow::{Context, Result};
use cphar_crypto::{Algorithm, SigningKey};
use std::path::PathBuf;
use std::process::ExitCode;

/// Seal key profiles.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Profile {
    /// Profile A: Ed25519.
    Ed25519,
    /// Profile B: ECDSA P-256 with SHA-256.
    P256,
}

/// Options of `cphar keygen`.
#[derive(clap::Args)]
pub struct Args {
    /// Signature profile.
    #[arg(long, value_enum)]
    profile: Profile,
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(long, value_name = "FILE", default_value = "seal.key")]
    out: PathBuf,
    /// Overwrite an existing key file.
    #[arg(long)]
    force: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode> {
    let algorithm = match args.profile {
        Profile::Ed25519 => Algorithm::Ed25519,
        Profile::P256 => Algorithm::EcdsaP256Sha256,
    };
    let key = SigningKey::generate(algorithm).context("key generation failed")?;
    let pem = key
        .to_pkcs8_pem()
        .context("cannot encode the private key")?;
    io::write_secret_file(&args.out, pem.as_bytes(), args.force)?;
    println!("{}", key.verifying_key().to_jwk().to_json());
    Ok(ExitCode::SUCCESS)
}
