//! `cphar registry …`: operate the registry directly on its database (SQLite data directory
//! by default, PostgreSQL with `--database-url postgres://…`).
//!
//! Refusals print their reason code and exit 1; bad options or files exit 2.

use crate::io;
use anyhow::{Context, Result, anyhow};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::RevocationReason;
use cphar_registry::batch::{BatchMode, batch_json, verify_item_proof};
use cphar_registry::decide::{RecordCustody, RecordInspection, RegisterSeal};
use cphar_registry::{LotRecord, Refusal, Registry, RegistryError};
use cphar_server::{Node, NodeConfig};
use cphar_store::AnyStore;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the registry lives and how it names things.
#[derive(clap::Args, Clone)]
pub struct Location {
    /// Data directory (SQLite database, Enrollment Authority key, vendor trust file).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "cphar-data",
        env = "CPHAR_DATA_DIR",
        global = true
    )]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (`postgres://…`); the data directory then holds only keys and config.
    #[arg(long, value_name = "URL", env = "CPHAR_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The registry's did:web host (lot DIDs are `did:web:HOST:lots:ID`) [default: the one
    /// the database recorded at its first start; for a new database `localhost%3A8080`, as
    /// for `cphar serve`]. Refused when it differs from the database's.
    #[arg(long, value_name = "HOST", env = "CPHAR_HOST", global = true)]
    pub host: Option<String>,
    /// Vendor trust file (JSON or TOML); default `DATA_DIR/vendors.toml` if it exists.
    #[arg(long, value_name = "FILE", env = "CPHAR_VENDORS", global = true)]
    pub vendors: Option<PathBuf>,
}

/// Options of `cphar registry`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    location: Location,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create the database and the Enrollment Authority key (idempotent).
    Init,
    /// Register a seal from a JSON file (vendor attestation is checked).
    Register(FileArgs),
    /// Print an enrollment challenge signed by the Enrollment Authority, for the device to
    /// sign (`cphar seal enroll`) before registration (seed 002 §4.2.2). Nothing is stored.
    EnrollmentChallenge,
    /// Register a manifest of seals (JSON Lines, one registration per line, each checked as
    /// `register`); the batch is audited as one event committing to the registered seals.
    /// Prints the per-line report; exit 1 if any line was refused (nothing of it written).
    Import(ImportArgs),
    /// Show a seal batch; with `--item N`, that item with its inclusion proof, checked.
    Batch(BatchArgs),
    /// Record an inspection from a JSON file (creates or re-inspects the lot).
    Inspect(FileArgs),
    /// Record a chain-of-custody event from a JSON file.
    Custody(FileArgs),
    /// Bind an inspected lot to the seal it was inspected with; issues the BEA.
    Bind(LotArgs),
    /// Independent auditor sign-off of the lot's binding.
    SignOff(LotArgs),
    /// Revoke the lot's binding (tamper_detected, device_failure, key_compromise, …).
    Revoke(ReasonArgs),
    /// Retire the lot's seal (device_replacement, binding_upgraded, authority_revoked).
    Retire(ReasonArgs),
    /// Replace the lot's seal by the one it was re-inspected with.
    Rebind(ReasonArgs),
    /// End the lot's life (object_decommissioned).
    Decommission(LotArgs),
    /// Close the lot's attestation cycle (Attested → Sealed).
    CloseCycle(LotArgs),
    /// Show a lot with its bindings, inspections, custody and history.
    Lot(ShowArgs),
    /// Show a seal with its history.
    Seal(ShowArgs),
    /// Print a lot DID document (the latest, or an older one with `--version-id N`).
    Did(DidArgs),
    /// List the active reserve set.
    Active(ListArgs),
    /// Enrollment Authority operations (TFP-1 §B.2).
    #[command(subcommand)]
    Authority(AuthorityCommand),
}

#[derive(clap::Subcommand)]
enum AuthorityCommand {
    /// Revoke the current EA key's credential, install a new key, suspend affected bindings.
    Revoke(ActorArgs),
    /// Re-enroll a suspended binding under the current EA key.
    Reenroll(LotArgs),
    /// Revoke (authority_revoked) suspended bindings whose 30-day window has closed.
    Expire(ActorArgs),
}

/// `--actor` in its canonical form (`cphar_registry::ident`): the separation-of-duties rules
/// compare actors, so `Operator-1` and `operator-1 ` are the same person.
fn parse_actor(raw: &str) -> Result<String, String> {
    cphar_registry::ident::normalize_subject(raw)
        .map_err(|r| format!("{}: {}", r.code(), r.message()))
}

#[derive(clap::Args)]
struct ActorArgs {
    /// The acting identity (trimmed, lower-cased; see the identifier grammar).
    #[arg(long, value_parser = parse_actor)]
    actor: String,
}

#[derive(clap::Args)]
struct FileArgs {
    /// The request as JSON (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// The acting identity (trimmed, lower-cased; see the identifier grammar).
    #[arg(long, value_parser = parse_actor)]
    actor: String,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The manifest (JSON Lines; `-` for stdin).
    file: PathBuf,
    /// Refuse the whole manifest if any line is refused (default: register the others).
    #[arg(long)]
    atomic: bool,
    /// The acting identity (trimmed, lower-cased; see the identifier grammar).
    #[arg(long, value_parser = parse_actor)]
    actor: String,
}

#[derive(clap::Args)]
struct BatchArgs {
    /// Batch id (`batch-…`).
    id: String,
    /// Print this item with its inclusion proof against the batch's root (verified first).
    #[arg(long, value_name = "N")]
    item: Option<u64>,
}

#[derive(clap::Args)]
struct LotArgs {
    /// Lot id.
    #[arg(long)]
    lot: String,
    /// The acting identity (trimmed, lower-cased; see the identifier grammar).
    #[arg(long, value_parser = parse_actor)]
    actor: String,
}

#[derive(clap::Args)]
struct ReasonArgs {
    /// Lot id.
    #[arg(long)]
    lot: String,
    /// Revocation reason code (seed 002 §4.4.2).
    #[arg(long)]
    reason: String,
    /// The acting identity (trimmed, lower-cased; see the identifier grammar).
    #[arg(long, value_parser = parse_actor)]
    actor: String,
}

#[derive(clap::Args)]
struct ShowArgs {
    /// Lot id or seal UID.
    id: String,
}

#[derive(clap::Args)]
struct DidArgs {
    /// Lot id.
    lot: String,
    /// A past `versionId`.
    #[arg(long, value_name = "N")]
    version_id: Option<u64>,
}

#[derive(clap::Args)]
struct ListArgs {
    /// Start after this lot id.
    #[arg(long)]
    after: Option<String>,
    /// At most this many lots.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

pub use cphar_server::node::EA_KEY_FILE;

/// Runs the command.
pub fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args))
}

impl Location {
    /// The start-up configuration for this location.
    pub fn node_config(&self, writable: bool) -> NodeConfig {
        let host = self
            .host
            .clone()
            .unwrap_or_else(|| cphar_server::config::DEFAULT_DID_HOST.to_owned());
        let mut config = NodeConfig::new(self.data_dir.clone(), host);
        config.host_configured = self.host.is_some();
        config.database_url.clone_from(&self.database_url);
        config.vendors.clone_from(&self.vendors);
        config.writable = writable;
        config.create_keys = writable;
        // One command that appends nothing (a refusal, a repeated `init`) opens no epoch.
        config.lazy_epoch = true;
        config
    }
}

/// Starts a node at `location`: self-tests, keys and (when `writable`) an audit epoch.
pub async fn open(location: &Location, writable: bool) -> Result<Node> {
    Node::start(location.node_config(writable))
        .await
        .map_err(|e| anyhow!("cannot start ({}): {e}", e.code()))
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("cannot read stdin")?;
        buf
    } else {
        io::read_file(path)?
    };
    let value = cphar_jcs::parse(&bytes)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    serde_json::from_value(value)
        .with_context(|| format!("{} is not a valid request", path.display()))
}

fn reason(text: &str) -> Result<RevocationReason> {
    text.parse().map_err(|_| {
        let all: Vec<&str> = RevocationReason::ALL.iter().map(|r| r.as_str()).collect();
        anyhow!("--reason: '{text}' is not one of {}", all.join(", "))
    })
}

async fn run_async(args: Args) -> Result<ExitCode> {
    let read_only = matches!(
        args.command,
        Command::Lot(_)
            | Command::Seal(_)
            | Command::Did(_)
            | Command::Active(_)
            | Command::Batch(_)
    );
    let node = open(&args.location, !read_only).await?;
    let json = args.json;
    let outcome = execute(&node.registry, &args.location, args.command, json).await;
    node.close().await;
    match outcome? {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(refused) => {
            if json {
                println!(
                    "{}",
                    json!({"error": {"code": refused.code(), "message": refused.to_string()}})
                );
            } else {
                eprintln!("cphar: refused: {refused}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Runs one command: the outer `Result` is "could not run" (exit 2), the inner a refusal.
async fn execute(
    r: &Registry<AnyStore>,
    location: &Location,
    command: Command,
    json: bool,
) -> Result<Result<(), RegistryError>> {
    let done = |what: &str, value: Value| {
        if json {
            println!("{value}");
        } else {
            println!("{what}");
        }
    };
    let result: Result<(), RegistryError> = match command {
        Command::Init => {
            let authorities = r.authorities().await;
            match authorities {
                Ok(list) => {
                    let ids: Vec<&str> = list.iter().map(|a| a.key_id.as_str()).collect();
                    done(
                        &format!(
                            "registry ready ({}); EA keys: {}",
                            r.store().backend_name(),
                            ids.join(", ")
                        ),
                        json!({"backend": r.store().backend_name(), "authorities": ids}),
                    );
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        Command::Register(a) => {
            let cmd: RegisterSeal = read_json(&a.file)?;
            r.register_seal(&cmd, &a.actor).await.map(|seal| {
                done(
                    &format!(
                        "seal {} registered ({}), key {}",
                        seal.uid, seal.state, seal.key_thumbprint
                    ),
                    json!(seal),
                );
            })
        }
        Command::EnrollmentChallenge => r.enrollment_challenge().await.map(|challenge| {
            println!("{challenge}");
        }),
        Command::Import(a) => {
            let manifest = if a.file == Path::new("-") {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                    .context("cannot read stdin")?;
                buf
            } else {
                io::read_file(&a.file)?
            };
            let mode = if a.atomic {
                BatchMode::Atomic
            } else {
                BatchMode::Partial
            };
            match r.register_batch(&manifest, mode, &a.actor).await {
                Ok(outcome) => {
                    let summary = format!(
                        "{} of {} seals registered{}, {} lines refused",
                        outcome.accepted.len(),
                        outcome.lines,
                        outcome
                            .batch_id
                            .as_ref()
                            .map(|id| format!(" (batch {id})"))
                            .unwrap_or_default(),
                        outcome.refused.len()
                    );
                    if json {
                        println!("{}", outcome.to_json());
                    } else {
                        println!("{summary}");
                        for f in &outcome.refused {
                            println!(
                                "  line {}: {} {}",
                                f.line,
                                f.refusal.code(),
                                f.refusal.message()
                            );
                        }
                    }
                    match outcome.refused.first() {
                        None => Ok(()),
                        Some(first) => Err(RegistryError::Refused(Refusal::new(
                            first.refusal.kind(),
                            summary,
                        ))),
                    }
                }
                Err(e) => Err(e),
            }
        }
        Command::Batch(a) => match a.item {
            None => r.seal_batch(&a.id).await.map(|(batch, event)| {
                let value = batch_json(&batch, event.as_ref());
                if json {
                    println!("{value}");
                } else {
                    println!(
                        "batch {}: {} seals, root {}, by {}",
                        batch.id,
                        batch.items.len(),
                        batch.root,
                        batch.actor
                    );
                    for i in &batch.items {
                        println!("  {:>6} line {:>6} {}", i.index, i.line, i.uid);
                    }
                }
            }),
            Some(index) => match r.seal_batch_proof(&a.id, index).await {
                Ok(proof) => match verify_item_proof(&proof) {
                    Ok(()) => {
                        println!("{}", proof.to_json());
                        Ok(())
                    }
                    Err(refusal) => Err(RegistryError::Refused(refusal)),
                },
                Err(e) => Err(e),
            },
        },
        Command::Inspect(a) => {
            let cmd: RecordInspection = read_json(&a.file)?;
            r.record_inspection(&cmd, &a.actor).await.map(|id| {
                done(
                    &format!("inspection {id} recorded for lot {}", cmd.lot_id),
                    json!({"inspectionId": id, "lotId": cmd.lot_id}),
                );
            })
        }
        Command::Custody(a) => {
            let cmd: RecordCustody = read_json(&a.file)?;
            r.record_custody(&cmd, &a.actor).await.map(|id| {
                done(
                    &format!("custody event {id} recorded for lot {}", cmd.lot_id),
                    json!({"custodyId": id, "lotId": cmd.lot_id}),
                );
            })
        }
        Command::Bind(a) => r.bind(&a.lot, &a.actor).await.map(|b| {
            done(
                &format!("lot {} bound: {} ({}, {})", a.lot, b.id, b.state, b.bal),
                json!(b),
            );
        }),
        Command::SignOff(a) => r.sign_off(&a.lot, &a.actor).await.map(|lot| {
            done(
                &format!("lot {} signed off; active: {}", lot.lot_id, lot.active),
                json!(lot),
            );
        }),
        Command::Revoke(a) => {
            let why = reason(&a.reason)?;
            r.revoke(&a.lot, why, &a.actor).await.map(|()| {
                done(
                    &format!("lot {}: binding revoked ({why})", a.lot),
                    json!({"lotId": a.lot, "reason": why.as_str()}),
                )
            })
        }
        Command::Retire(a) => {
            let why = reason(&a.reason)?;
            r.retire(&a.lot, why, &a.actor).await.map(|()| {
                done(
                    &format!("lot {}: seal retired ({why})", a.lot),
                    json!({"lotId": a.lot, "reason": why.as_str()}),
                )
            })
        }
        Command::Rebind(a) => {
            let why = reason(&a.reason)?;
            r.rebind(&a.lot, why, &a.actor).await.map(|b| {
                done(
                    &format!("lot {} rebound: {} ({why})", a.lot, b.id),
                    json!(b),
                )
            })
        }
        Command::Decommission(a) => r.decommission(&a.lot, &a.actor).await.map(|()| {
            done(
                &format!("lot {} decommissioned", a.lot),
                json!({"lotId": a.lot}),
            )
        }),
        Command::CloseCycle(a) => r.close_cycle(&a.lot, &a.actor).await.map(|()| {
            done(
                &format!("lot {}: attestation cycle closed", a.lot),
                json!({"lotId": a.lot}),
            )
        }),
        Command::Lot(a) => show_lot(r, &a.id, json).await,
        Command::Seal(a) => show_seal(r, &a.id, json).await,
        Command::Did(a) => r
            .did_document(&a.lot, a.version_id)
            .await
            .map(|doc| println!("{doc}")),
        Command::Active(a) => r
            .active_reserve(a.after.as_deref(), a.limit)
            .await
            .map(|lots| {
                if json {
                    println!("{}", json!(lots));
                } else {
                    print_lots(&lots);
                }
            }),
        Command::Authority(AuthorityCommand::Revoke(a)) => {
            let current = r
                .current_authority_key_id()
                .ok_or_else(|| anyhow!("no Enrollment Authority key is installed"))?;
            let next =
                SigningKey::generate(Algorithm::Ed25519).context("EA key generation failed")?;
            // The new key is on disk before the database names it, so a crash in between
            // cannot leave a registered EA key without its private half.
            let key_path = location.data_dir.join(EA_KEY_FILE);
            let staged = location.data_dir.join(format!("{EA_KEY_FILE}.next"));
            let pem = next.to_pkcs8_pem().context("cannot encode the EA key")?;
            io::write_secret_file(&staged, pem.as_bytes(), true)?;
            let result = r.revoke_authority(&current, next, &a.actor).await;
            match &result {
                Ok(new_id) => {
                    std::fs::rename(&staged, &key_path).with_context(|| {
                        format!("cannot install the new EA key at {}", key_path.display())
                    })?;
                    done(
                        &format!("{current} revoked; new EA key {new_id}"),
                        json!({"revoked": current, "current": new_id}),
                    );
                }
                Err(_) => {
                    let _ = std::fs::remove_file(&staged);
                }
            }
            result.map(drop)
        }
        Command::Authority(AuthorityCommand::Reenroll(a)) => {
            r.reenroll(&a.lot, &a.actor).await.map(|()| {
                done(
                    &format!("lot {} re-enrolled", a.lot),
                    json!({"lotId": a.lot}),
                )
            })
        }
        Command::Authority(AuthorityCommand::Expire(a)) => {
            r.expire_reenrollments(&a.actor).await.map(|lots| {
                done(
                    &format!(
                        "{} binding(s) revoked with authority_revoked: {}",
                        lots.len(),
                        lots.join(", ")
                    ),
                    json!({"revoked": lots}),
                );
            })
        }
    };
    Ok(result)
}

async fn show_lot(r: &Registry<AnyStore>, lot_id: &str, json: bool) -> Result<(), RegistryError> {
    let lot = r.lot(lot_id).await?;
    let bindings = r.bindings(lot_id).await?;
    let inspections = r.inspections(lot_id).await?;
    let custody = r.custody(lot_id).await?;
    let history = r.lot_history(lot_id).await?;
    if json {
        println!(
            "{}",
            json!({"lot": lot, "bindings": bindings, "inspections": inspections, "custody": custody, "history": history})
        );
        return Ok(());
    }
    println!("lot {}  ({})", lot.lot_id, lot.did);
    println!(
        "  state        {}{}",
        lot.state,
        if lot.active { "  [ACTIVE RESERVE]" } else { "" }
    );
    println!(
        "  commodity    {} / {} {} / grade {}",
        lot.commodity, lot.quantity.amount, lot.quantity.unit, lot.grade
    );
    println!(
        "  container    {} at {} (owner {})",
        lot.container_id, lot.location, lot.owner
    );
    println!("  DID version  {}", lot.did_version);
    println!("bindings:");
    for b in &bindings {
        let signed = b
            .sign_off
            .as_ref()
            .map_or("not signed off".to_owned(), |s| {
                format!("signed off by {}", s.auditor)
            });
        let revoked = b.revocation.map_or(String::new(), |m| {
            format!(", revoked {} ({})", m.at, m.reason)
        });
        println!(
            "  {:<48} seal {:<20} {:<10} {} {signed}{revoked}",
            b.id,
            b.seal_uid,
            b.state.as_str(),
            b.bal
        );
    }
    println!("inspections:");
    for i in &inspections {
        println!(
            "  {} by {} at {}: seal {}, evidence {}",
            i.id, i.inspector, i.inspected_at, i.seal_uid, i.evidence.hash
        );
    }
    if !custody.is_empty() {
        println!("custody:");
        for c in &custody {
            println!(
                "  {} {} held by {} (recorded by {})",
                c.at, c.action, c.holder, c.recorded_by
            );
        }
    }
    print_history(&history);
    Ok(())
}

async fn show_seal(r: &Registry<AnyStore>, uid: &str, json: bool) -> Result<(), RegistryError> {
    let seal = r.seal(uid).await?;
    let history = r.seal_history(uid).await?;
    if json {
        println!("{}", json!({"seal": seal, "history": history}));
        return Ok(());
    }
    println!("seal {}", seal.uid);
    println!("  state        {}", seal.state);
    println!(
        "  device       {} {} rev {} ({})",
        seal.vendor, seal.device_type, seal.hardware_revision, seal.bal
    );
    println!("  key          {}", seal.key_thumbprint);
    println!(
        "  certificate  serial {} issued by {}",
        seal.certificate.serial, seal.certificate.issuer
    );
    println!("  firmware     {}", seal.firmware_measurement);
    println!("  lot          {}", seal.lot_id.as_deref().unwrap_or("-"));
    if let Some(t) = seal.last_attested_at {
        println!("  attested     {t}");
    }
    print_history(&history);
    Ok(())
}

fn print_history(history: &[cphar_registry::StoredEvent]) {
    println!("history:");
    for e in history {
        let reason = e
            .event
            .reason_code
            .as_deref()
            .map_or(String::new(), |r| format!(" [{r}]"));
        println!(
            "  #{:<6} {} {:<26} by {}{reason}",
            e.sequence,
            e.event.at,
            e.event.event_type.as_str(),
            e.event.actor
        );
    }
}

fn print_lots(lots: &[LotRecord]) {
    if lots.is_empty() {
        println!("(no lots in the active reserve set)");
        return;
    }
    println!(
        "{:<24} {:<16} {:>14} {:<8} {:<10} {:<20}",
        "LOT", "COMMODITY", "QUANTITY", "UNIT", "GRADE", "LOCATION"
    );
    for l in lots {
        println!(
            "{:<24} {:<16} {:>14} {:<8} {:<10} {:<20}",
            l.lot_id, l.commodity, l.quantity.amount, l.quantity.unit, l.grade, l.location
        );
    }
}
