//! `cphar jcs`: RFC 8785 canonical form of stdin.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::process::ExitCode;

/// No options: JSON on stdin, canonical JSON on stdout.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_: Args) -> Result<ExitCode> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("cannot read stdin")?;
    let canonical = cphar_jcs::canonicalize_json(&input).context("invalid JSON on stdin")?;
    let mut out = std::io::stdout().lock();
    out.write_all(&canonical)
        .and_then(|()| out.flush())
        .context("cannot write stdout")?;
    Ok(ExitCode::SUCCESS)
}
