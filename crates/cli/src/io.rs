//! File and argument helpers shared by the subcommands: every failure names the file or
//! option it concerns.

use anyhow::{Context, Result, anyhow, bail};
use cphar_crypto::{Jwk, VerifyingKey};
use cphar_protocol::Timestamp;
use std::path::Path;

/// Largest input file accepted: protocol messages and DID documents are small.
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a whole file, refusing absurdly large ones.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_INPUT_BYTES {
        bail!(
            "{} is larger than {} bytes",
            path.display(),
            MAX_INPUT_BYTES
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Splits `NAME=VALUE`.
pub fn split_assignment<'a>(arg: &'a str, option: &str) -> Result<(&'a str, &'a str)> {
    match arg.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k, v)),
        _ => Err(anyhow!("{option} expects NAME=VALUE, got '{arg}'")),
    }
}

/// Reads a public JWK file into a verifying key.
pub fn read_public_jwk(path: &Path) -> Result<VerifyingKey> {
    let bytes = read_file(path)?;
    let value = cphar_jcs::parse(&bytes)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let jwk = Jwk::from_json(&value)
        .with_context(|| format!("{} is not a usable public JWK", path.display()))?;
    VerifyingKey::from_jwk(&jwk)
        .with_context(|| format!("{} is not a usable public JWK", path.display()))
}

/// Decodes hex (upper or lower case).
pub fn decode_hex(s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("'{s}' is not hex");
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| {
            let text = std::str::from_utf8(p)?;
            Ok(u8::from_str_radix(text, 16)?)
        })
        .collect()
}

/// Parses an RFC 3339 UTC time option.
pub fn parse_time(s: &str, option: &str) -> Result<Timestamp> {
    Timestamp::parse(s).map_err(|e| anyhow!("{option}: '{s}': {e}"))
}

/// Writes a secret file readable by the owner only (0600), refusing to overwrite unless
/// `force`. With `force` the old file is replaced atomically: the contents go to a new 0600
/// file in the same directory, which is then renamed over the path. So the result is 0600
/// whatever the old file's mode, a symlink at the path is replaced rather than followed, and
/// a crash leaves either the old file or the new one, never half of either.
pub fn write_secret_file(path: &Path, contents: &[u8], force: bool) -> Result<()> {
    use std::io::Write;
    if force {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // tempfile creates with O_EXCL and mode 0600.
        let mut file = tempfile::Builder::new()
            .prefix(".cphar-key-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        file.write_all(contents)
            .and_then(|()| file.as_file().sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        file.persist(path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    // create_new is O_CREAT|O_EXCL: it fails on any existing entry, symlinks included.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        format!(
            "cannot create {} (use --force to overwrite)",
            path.display()
        )
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
