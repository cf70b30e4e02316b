//! `cphar audit …`: export the audit log, verify an export offline, sign checkpoints, and
//! make and check inclusion / consistency proofs.
//!
//! `verify` exits 0 when the export verifies under the pinned `--identity-key`, 1 naming the
//! first bad `sequenceNumber` and why, 2 when it cannot run, and 3 when it verified only
//! under the identity the log itself declares (`--trust-log-identity`, for exploration: a
//! log rewritten whole under a fresh identity passes that, so it is never reported as OK).
//! `check-proof` needs the identity key, and for a consistency bundle the old checkpoint
//! the caller holds: the bundle's own old root proves nothing.

use crate::cmd::registry::{Location, open};
use crate::io;
use anyhow::{Context, Result, anyhow, bail};
use cphar_audit::transparency::{self, Proven};
use cphar_crypto::{Jwk, VerifyingKey};
use cphar_registry::ServiceEvent;
use cphar_registry::store::TokenRow;
use cphar_store::AnyStore;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Audit log operations.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the audit log as JSON Lines (PROTOCOL.md "Audit log export").
    Export(ExportArgs),
    /// Verify an export offline: chain, signatures, epochs, identity, checkpoints.
    Verify(VerifyArgs),
    /// Sign a checkpoint of the current log with the registry identity key.
    Checkpoint(LocationArgs),
    /// Make an inclusion proof bundle for entry `--seq` against a fresh checkpoint.
    Prove(ProveArgs),
    /// Make a consistency proof bundle from an old tree size to the current log.
    Consistency(ConsistencyArgs),
    /// Check a proof bundle offline with the identity key.
    CheckProof(CheckProofArgs),
    /// Print the registry identity public key (JWK) that countersigns epochs and checkpoints.
    IdentityKey(LocationArgs),
    /// Append test events from concurrent writers, printing each acknowledged sequence number
    /// (crash tests and load).
    #[command(hide = true)]
    Stress(StressArgs),
}

/// Where the log is.
#[derive(clap::Args)]
pub struct LocationArgs {
    #[command(flatten)]
    location: Location,
}

/// Options of `cphar audit export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    location: Location,
    /// First sequence number.
    #[arg(long, default_value_t = 0)]
    from: u64,
}

/// Options of `cphar audit verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The export (JSON Lines); `-` for stdin.
    file: PathBuf,
    /// A signed checkpoint the export must be consistent with (repeatable).
    #[arg(long, value_name = "FILE")]
    checkpoint: Vec<PathBuf>,
    /// The registry identity public key (JWK file, from `cphar audit identity-key` or the
    /// registry's `/.well-known/did.json`) every epoch must be countersigned by.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "trust_log_identity"
    )]
    identity_key: Option<PathBuf>,
    /// DANGEROUS, for exploration: trust the identity key the log declares in its first
    /// epoch. Prints a warning and exits 3 (never 0) when the log is otherwise intact.
    #[arg(long, conflicts_with = "identity_key")]
    trust_log_identity: bool,
}

/// Exit code of `audit verify` when the log verified only under its own declared identity.
const UNPINNED: u8 = 3;

/// Options of `cphar audit prove`.
#[derive(clap::Args)]
pub struct ProveArgs {
    #[command(flatten)]
    location: Location,
    /// Sequence number of the entry.
    #[arg(long)]
    seq: u64,
}

/// Options of `cphar audit consistency`.
#[derive(clap::Args)]
pub struct ConsistencyArgs {
    #[command(flatten)]
    location: Location,
    /// The older tree size (e.g. from a checkpoint you hold).
    #[arg(long)]
    from: u64,
}

/// Options of `cphar audit check-proof`.
#[derive(clap::Args)]
pub struct CheckProofArgs {
    /// The proof bundle (JSON).
    file: PathBuf,
    /// The registry identity public key (JWK file).
    #[arg(long, value_name = "FILE")]
    identity_key: PathBuf,
    /// For a consistency bundle (required there): the old checkpoint you hold.
    #[arg(long, value_name = "FILE")]
    old_checkpoint: Option<PathBuf>,
}

/// Options of `cphar audit stress`.
#[derive(clap::Args)]
pub struct StressArgs {
    #[command(flatten)]
    location: Location,
    /// Concurrent writers.
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// Events per writer.
    #[arg(long, default_value_t = 1000)]
    count: u64,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(command))
}

async fn run_async(command: Command) -> Result<ExitCode> {
    match command {
        Command::Export(a) => {
            let node = open(&a.location, false).await?;
            let store = node.registry.store();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut from = a.from;
            loop {
                let page = store
                    .audit_entries(from, 10_000)
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                let Some((last, _)) = page.last() else { break };
                from = last + 1;
                for (_, line) in &page {
                    out.write_all(line.as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
            out.flush()?;
            node.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(a) => verify(&a),
        Command::Checkpoint(a) => {
            let node = open(&a.location, true).await?;
            let (note, size) = checkpoint(&node).await?;
            print!("{note}");
            eprintln!("checkpoint of {size} entries");
            node.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Prove(a) => {
            let node = open(&a.location, false).await?;
            let (lines, tree) = log_tree(node.registry.store()).await?;
            let (note, size) = signed_note(&node, &tree)?;
            let line = lines
                .get(usize::try_from(a.seq)?)
                .ok_or_else(|| anyhow!("no entry {} (the log has {size})", a.seq))?;
            let bundle = transparency::inclusion_bundle(&tree, a.seq, size, line, &note)
                .map_err(|e| anyhow!("{e}"))?;
            println!("{bundle}");
            node.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Consistency(a) => {
            let node = open(&a.location, false).await?;
            let (_, tree) = log_tree(node.registry.store()).await?;
            let (note, size) = signed_note(&node, &tree)?;
            let bundle = transparency::consistency_bundle(&tree, a.from, size, &note)
                .map_err(|e| anyhow!("{e}"))?;
            println!("{bundle}");
            node.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckProof(a) => {
            let bundle = cphar_jcs::parse(&io::read_file(&a.file)?)
                .with_context(|| format!("{} is not JSON", a.file.display()))?;
            let key = read_identity(&a.identity_key)?;
            let old = a.old_checkpoint.as_deref().map(read_text).transpose()?;
            if bundle.get("type").and_then(serde_json::Value::as_str) == Some("consistency")
                && old.is_none()
            {
                bail!(
                    "a consistency bundle is checked against the old checkpoint you hold: \
                     pass --old-checkpoint FILE (the bundle's own old root proves nothing)"
                );
            }
            match transparency::check_bundle(&bundle, &key, old.as_deref()) {
                Ok(Proven::Included { index, checkpoint }) => {
                    println!(
                        "entry {index} is included in the log of {} entries (checkpoint {})",
                        checkpoint.size,
                        checkpoint.time.unwrap_or_default()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Ok(Proven::Consistent {
                    old_size,
                    checkpoint,
                }) => {
                    println!(
                        "the log of {old_size} entries is a prefix of the log of {} entries: it only grew",
                        checkpoint.size
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("proof refused: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::IdentityKey(a) => {
            let node = open(&a.location, false).await?;
            let key = node
                .identity
                .as_ref()
                .ok_or_else(|| anyhow!("no identity key in {}", a.location.data_dir.display()))?;
            println!("{}", key.verifying_key().to_jwk().to_json());
            node.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stress(a) => stress(a).await,
    }
}

fn read_text(path: &Path) -> Result<String> {
    String::from_utf8(io::read_file(path)?)
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

fn read_identity(path: &Path) -> Result<VerifyingKey> {
    let value = cphar_jcs::parse(&io::read_file(path)?)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let jwk = Jwk::from_json(&value)
        .with_context(|| format!("{} is not a public JWK", path.display()))?;
    VerifyingKey::from_jwk(&jwk).with_context(|| format!("{} is not a usable key", path.display()))
}

fn verify(a: &VerifyArgs) -> Result<ExitCode> {
    let export = if a.file == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?
    };
    let identity = a.identity_key.as_deref().map(read_identity).transpose()?;
    if identity.is_none() {
        eprintln!(
            "WARNING: --trust-log-identity: the identity key is taken from the log itself; \
             a log rewritten whole under a fresh identity also passes. Pin it with --identity-key."
        );
    }
    let started = std::time::Instant::now();
    let report = match cphar_audit::verify_export(&export, identity.as_ref()) {
        Ok(r) => r,
        Err(failure) => {
            println!(
                "FAILED at sequenceNumber {}: {} — {}",
                failure.sequence_number,
                failure.reason.code(),
                failure.message
            );
            return Ok(ExitCode::from(1));
        }
    };
    let elapsed = started.elapsed();
    if !a.checkpoint.is_empty() {
        let lines: Vec<&[u8]> = export
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let tree = transparency::tree(&lines);
        let key = match &identity {
            Some(k) => k.clone(),
            None => first_identity(&export)?,
        };
        for path in &a.checkpoint {
            let note = read_text(path)?;
            let origin = transparency::claimed_origin(&note)
                .unwrap_or_default()
                .to_owned();
            let info = match transparency::open(&note, &origin, &key) {
                Ok(i) => i,
                Err(e) => {
                    println!("FAILED: checkpoint {}: {e}", path.display());
                    return Ok(ExitCode::from(1));
                }
            };
            let root = tree.root_at(info.size).ok();
            if root != Some(info.root) {
                println!(
                    "FAILED: checkpoint {} (size {}) does not match this export: the log was rewritten or truncated",
                    path.display(),
                    info.size
                );
                return Ok(ExitCode::from(1));
            }
            println!(
                "checkpoint {} (size {}) matches: the log only grew since",
                path.display(),
                info.size
            );
        }
    }
    let verdict = if identity.is_some() {
        "OK"
    } else {
        "UNPINNED (chain intact under the log's own identity, origin NOT verified)"
    };
    println!(
        "{verdict}: {} entries verified in {:.2} s ({:.0} entries/s), head {}",
        report.entries,
        elapsed.as_secs_f64(),
        report.entries as f64 / elapsed.as_secs_f64().max(1e-9),
        report.head_hash
    );
    println!("identity key {}", report.identity_key_thumbprint);
    println!("{} epoch(s):", report.epochs.len());
    for e in &report.epochs {
        println!(
            "  epoch at sequenceNumber {:<8} started {} audit key {}",
            e.sequence_number, e.started_at, e.audit_key_thumbprint
        );
    }
    Ok(if identity.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(UNPINNED)
    })
}

fn first_identity(export: &[u8]) -> Result<VerifyingKey> {
    let first = export
        .split(|&b| b == b'\n')
        .next()
        .ok_or_else(|| anyhow!("empty export"))?;
    let v = cphar_jcs::parse(first)?;
    let jwk = v
        .pointer("/eventData/identityKey")
        .ok_or_else(|| anyhow!("entry 0 names no identity key"))?;
    Ok(VerifyingKey::from_jwk(&Jwk::from_json(jwk)?)?)
}

async fn log_tree(store: &AnyStore) -> Result<(Vec<String>, cphar_tlog::MemoryTree)> {
    let mut lines = Vec::new();
    let mut from = 0;
    loop {
        let page = store
            .audit_entries(from, 10_000)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let Some((last, _)) = page.last() else { break };
        from = last + 1;
        lines.extend(page.into_iter().map(|(_, l)| l));
    }
    let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let tree = transparency::tree(&refs);
    Ok((lines, tree))
}

fn signed_note(node: &cphar_server::Node, tree: &cphar_tlog::MemoryTree) -> Result<(String, u64)> {
    let identity = node
        .identity
        .as_ref()
        .ok_or_else(|| anyhow!("no identity key"))?;
    let now = node.clock.now_for_signing().map_err(|e| anyhow!("{e}"))?;
    let note = transparency::sign(
        &transparency::origin(&node.config.host),
        tree.size(),
        tree.root(),
        now,
        identity,
    )
    .map_err(|e| anyhow!("{e}"))?;
    Ok((note, tree.size()))
}

/// Signs a checkpoint of the whole log, and records that it did (the record is the next
/// entry, outside the checkpoint).
async fn checkpoint(node: &cphar_server::Node) -> Result<(String, u64)> {
    let (_, tree) = log_tree(node.registry.store()).await?;
    let (note, size) = signed_note(node, &tree)?;
    node.registry
        .record(
            &[ServiceEvent::CheckpointSigned {
                tree_size: size,
                root_hash: cphar_crypto::b64::encode(&tree.root()),
            }],
            "registry",
        )
        .await
        .map_err(|e| anyhow!("cannot record the checkpoint: {e}"))?;
    Ok((note, size))
}

async fn stress(a: StressArgs) -> Result<ExitCode> {
    if a.writers == 0 {
        bail!("--writers must be at least 1");
    }
    let node = Arc::new(open(&a.location, true).await?);
    let stdout = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let mut tasks = Vec::new();
    for w in 0..a.writers {
        let node = Arc::clone(&node);
        let stdout = Arc::clone(&stdout);
        tasks.push(tokio::spawn(async move {
            for i in 0..a.count {
                // A real registry write (a token row and its audit event): an unusable
                // token, expired at birth, whose secret nobody holds.
                let now = node.clock.now_for_signing().map_err(|e| anyhow!("{e}"))?;
                let nanos = i64::try_from(now.unix_nanos()).unwrap_or(i64::MAX);
                let id = cphar_crypto::hex(&cphar_crypto::random_bytes::<8>()?);
                let row = TokenRow {
                    secret_hash: cphar_crypto::hex(&cphar_crypto::random_bytes::<32>()?),
                    id,
                    role: "vendor".into(),
                    subject: format!("stress-{w}-{i}"),
                    verifier_did: None,
                    created_ns: nanos,
                    expires_ns: Some(nanos),
                    revoked: false,
                };
                let seqs = node
                    .registry
                    .create_token(row, &format!("writer-{w}"))
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                // Acknowledged = durable: print only after the commit.
                if let (Some(seq), Ok(mut out)) = (seqs.first(), stdout.lock()) {
                    let _ = writeln!(out, "{seq}");
                    let _ = out.flush();
                }
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| anyhow!("writer failed: {e}"))??;
    }
    node.close().await;
    Ok(ExitCode::SUCCESS)
}
