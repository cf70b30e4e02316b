//! `cphar bench registry`: bulk registration and binding throughput of a storage backend, and
//! lot-lookup latency once it holds the data.
//!
//! Each seal goes through the registry's own decisions — register, inspect, bind (with its
//! BEA signed by the EA key and the lot DID document generated), auditor sign-off — and the
//! resulting change sets are applied in batches of `--batch` seals per transaction. A producer
//! thread computes the next batch while the database writes the current one.
//!
//! Every event is sealed into the audit log (one P-384 signature each, strictly sequential
//! because each entry hashes the previous one), so the audit signing rate bounds the event
//! rate. Not measured here: X.509 chain validation of the vendor attestation (a per-registration
//! signature check, see `cargo bench -p cphar-vendor`) and key validation — the seals' keys
//! are random 32-byte Ed25519 `x` values that are never used to sign.

use anyhow::{Context, Result, anyhow};
use cphar_crypto::{Algorithm, Jwk, SigningKey};
use cphar_protocol::{Bal, Timestamp};
use cphar_registry::decide::{self, Authority, Ctx, Existing, RecordInspection, RegisterSeal};
use cphar_registry::model::{DeviceCertificate, Evidence, Quantity, TamperEvidence};
use cphar_registry::{ChangeSet, RegistryNames, Store};
use cphar_store::AnyStore;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::ops::Not;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Options of `cphar bench registry`.
#[derive(clap::Args)]
pub struct Args {
    /// Seals (and lots) to register and bind.
    #[arg(long, default_value_t = 1_000_000)]
    count: u64,
    /// Seals per transaction.
    #[arg(long, default_value_t = 1_000)]
    batch: u64,
    /// PostgreSQL URL; SQLite in a temporary directory when absent.
    #[arg(long, value_name = "URL", env = "CPHAR_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Lot lookups to time.
    #[arg(long, default_value_t = 100_000)]
    lookups: u64,
}

struct Batch {
    register: Vec<ChangeSet>,
    bind: Vec<ChangeSet>,
    compute: Duration,
}

/// Runs the benchmark.
pub fn run(args: Args) -> Result<ExitCode> {
    let batch = args.batch.max(1);
    let count = args.count.max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let store = runtime
        .block_on(async {
            match &args.database_url {
                Some(url) => AnyStore::open(url).await,
                None => AnyStore::open_data_dir(tmp.path()).await,
            }
        })
        .map_err(|e| anyhow!("cannot open the database: {e}"))?;
    if runtime
        .block_on(store.lots(None, 1))
        .map_err(|e| anyhow!("{e}"))?
        .is_empty()
        .not()
    {
        anyhow::bail!("the benchmark needs an empty database");
    }
    // Every event is sealed into the audit chain, as in production: open an epoch.
    let identity = std::sync::Arc::new(SigningKey::generate(Algorithm::Ed25519)?);
    let audit_key = SigningKey::generate(Algorithm::EcdsaP384Sha384)?;
    let start = cphar_audit::EpochStart {
        self_tests: json!({"benchmark": true}),
        binary_measurement: None,
        started_at: Timestamp::now_utc(),
    };
    runtime
        .block_on(store.open_epoch(cphar_store::EpochJob {
            audit_key: Box::new(audit_key),
            identity,
            start,
        }))
        .map_err(|e| anyhow!("cannot open the audit epoch: {e}"))?;
    let names = RegistryNames::new("bench.example");
    let ea_key = SigningKey::generate(Algorithm::Ed25519)?;
    let now = Timestamp::now_utc();
    let ctx = Ctx {
        actor: "bench",
        now,
    };
    let create = decide::create_authority(1, &names, &ea_key.verifying_key().to_jwk(), ctx)
        .map_err(|e| anyhow!("{e}"))?;
    let authority = create
        .authorities()
        .first()
        .cloned()
        .ok_or_else(|| anyhow!("no authority"))?;
    runtime
        .block_on(store.apply(create))
        .map_err(|e| anyhow!("{e}"))?;

    println!(
        "cphar bench registry — {} backend, {count} seals/lots, {batch} per transaction",
        store.backend_name()
    );
    let (tx, rx) = mpsc::sync_channel::<Result<Batch>>(2);
    let producer_names = names.clone();
    let producer = std::thread::spawn(move || {
        let mut start = 0;
        while start < count {
            let end = (start + batch).min(count);
            let made = make_batch(start, end, &producer_names, &authority, &ea_key, now);
            let failed = made.is_err();
            if tx.send(made).is_err() || failed {
                break;
            }
            start = end;
        }
    });

    let bar = ProgressBar::new(count);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seals {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut register_time, mut bind_time, mut compute) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut rows, mut events) = (0u64, 0u64);
    let started = Instant::now();
    for made in rx {
        let b = made?;
        compute += b.compute;
        let n = b.register.len() as u64;
        rows += b.register.iter().chain(&b.bind).map(row_count).sum::<u64>();
        events += b
            .register
            .iter()
            .chain(&b.bind)
            .map(|c| c.events().len() as u64)
            .sum::<u64>();
        let t = Instant::now();
        runtime
            .block_on(store.apply_batch(b.register))
            .map_err(|e| anyhow!("register batch: {e}"))?;
        register_time += t.elapsed();
        let t = Instant::now();
        runtime
            .block_on(store.apply_batch(b.bind))
            .map_err(|e| anyhow!("bind batch: {e}"))?;
        bind_time += t.elapsed();
        bar.inc(n);
    }
    producer
        .join()
        .map_err(|_| anyhow!("the producer thread failed"))?;
    bar.finish_and_clear();
    let wall = started.elapsed();

    let active = runtime
        .block_on(store.active_lots(None, 1))
        .map_err(|e| anyhow!("{e}"))?;
    anyhow::ensure!(!active.is_empty(), "no lot reached the active reserve set");

    // Lookups: random lot ids, one query each.
    let mut latencies = Vec::with_capacity(args.lookups as usize);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..args.lookups {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let id = lot_id(seed % count);
        let t = Instant::now();
        let lot = runtime
            .block_on(store.lot(&id))
            .map_err(|e| anyhow!("{e}"))?;
        latencies.push(t.elapsed());
        anyhow::ensure!(
            lot.is_some_and(|l| l.active),
            "lot {id} missing or inactive"
        );
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).copied().unwrap_or_default()
    };

    let secs = |d: Duration| d.as_secs_f64().max(1e-9);
    println!(
        "  seals registered and bound    {count} in {:.1} s wall ({:.0} seals/s end to end)",
        secs(wall),
        count as f64 / secs(wall)
    );
    println!(
        "  registrations (DB write)      {:>10.0} /s  ({:.1} s)",
        count as f64 / secs(register_time),
        secs(register_time)
    );
    println!(
        "  inspect+bind+sign-off (DB)    {:>10.0} /s  ({:.1} s)",
        count as f64 / secs(bind_time),
        secs(bind_time)
    );
    println!(
        "  record versions written       {:>10.0} /s  ({rows} incl. {events} events, before compaction)",
        rows as f64 / secs(register_time + bind_time)
    );
    println!(
        "  decisions computed (producer) {:>10.0} seals/s ({:.1} s, overlapped with writes)",
        count as f64 / secs(compute),
        secs(compute)
    );
    println!(
        "  lot lookup latency            p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs ({} lookups)",
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        pct(1.0).as_secs_f64() * 1e6,
        latencies.len()
    );
    println!(
        "  peak RSS                      {}",
        super::bench_service::peak_rss()
    );
    runtime.block_on(store.close());
    Ok(ExitCode::SUCCESS)
}

fn lot_id(i: u64) -> String {
    format!("LOT-{i:08}")
}

fn row_count(c: &ChangeSet) -> u64 {
    (c.seals().len()
        + c.lots().len()
        + c.bindings().len()
        + c.authorities().len()
        + c.inspections().len()
        + c.custody().len()
        + c.did_documents().len()
        + c.events().len()) as u64
}

fn make_batch(
    start: u64,
    end: u64,
    names: &RegistryNames,
    authority: &cphar_registry::model::AuthorityRecord,
    ea_key: &SigningKey,
    now: Timestamp,
) -> Result<Batch> {
    let t = Instant::now();
    let mut register = Vec::with_capacity((end - start) as usize);
    let mut bind = Vec::with_capacity((end - start) as usize);
    let ea = Authority {
        record: authority,
        key: ea_key,
    };
    for i in start..end {
        let uid = format!("SEAL-{i:08}");
        // A random y-coordinate is a valid point about half the time; keys never sign here.
        let jwk = loop {
            let x = cphar_crypto::random_bytes::<32>()?;
            let candidate =
                json!({"kty": "OKP", "crv": "Ed25519", "x": cphar_crypto::b64::encode(&x)});
            if let Ok(jwk) = Jwk::from_json(&candidate) {
                break jwk;
            }
        };
        let cmd = RegisterSeal {
            uid: uid.clone(),
            vendor: "bench-vendor".into(),
            device_type: "BS-1".into(),
            hardware_revision: "A".into(),
            bal: "BAL-2".into(),
            public_jwk: jwk.to_json(),
            certificate_chain_pem: String::new(),
            firmware_measurement: format!("sha256:{}", "ab".repeat(32)),
            tamper_evidence: TamperEvidence {
                carrier_class: "bolt-seal".into(),
                specification: "ISO 17712".into(),
            },
            pid: None,
            endpoint: None,
            enrollment: None,
        };
        let certificate = DeviceCertificate {
            issuer: "CN=Bench Vendor CA".into(),
            subject: format!("CN={uid}"),
            serial: format!("{i:016x}"),
            fingerprint: "00".repeat(32),
            chain: Vec::new(),
            not_after: None,
            identity: None,
            chain_id: None,
            rotation_state: None,
        };
        let ctx = Ctx {
            actor: "vendor-ops",
            now,
        };
        let reg = decide::register(
            &cmd,
            Bal::Bal2,
            &jwk,
            certificate,
            &Existing::default(),
            ctx,
        )
        .map_err(|r| anyhow!("{}", r.refusal))?;
        let seal = reg
            .seals()
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("no seal"))?;
        register.push(reg);

        let lot = lot_id(i);
        let inspection = RecordInspection {
            lot_id: lot.clone(),
            seal_uid: uid,
            commodity: "gold".into(),
            quantity: Quantity {
                amount: "400.000".into(),
                unit: "troy_oz".into(),
            },
            grade: "LBD".into(),
            container_id: format!("CONT-{i}"),
            location: "Vault 1".into(),
            owner: "Reserve Owner".into(),
            evidence: Evidence {
                hash: format!("sha256:{}", "cd".repeat(32)),
                uri: format!("https://evidence.example/{i}"),
            },
            inspected_at: None,
        };
        let ins_ctx = Ctx {
            actor: "inspector-1",
            now,
        };
        let mut changes = decide::inspect(
            &inspection,
            &format!("insp-{i}"),
            None,
            Some(&seal),
            names,
            ins_ctx,
        )
        .map_err(|e| anyhow!("{e}"))?;
        let lot_rec = changes
            .lots()
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("no lot"))?;
        let seal = changes
            .seals()
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("no seal"))?;
        let bound = decide::bind(
            &lot_rec,
            &seal,
            &[],
            &ea,
            decide::NewCredential {
                id: &format!("urn:uuid:bench-{i}"),
                status_index: Some(i),
            },
            names,
            Ctx {
                actor: "operator-1",
                now,
            },
        )
        .map_err(|e| anyhow!("{e}"))?;
        let lot_rec = bound
            .lots()
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("no lot"))?;
        let binding = bound
            .bindings()
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("no binding"))?;
        let seal = bound
            .seals()
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("no seal"))?;
        let signed = decide::sign_off(
            &lot_rec,
            &binding,
            &seal,
            None,
            Ctx {
                actor: "auditor-1",
                now,
            },
        )
        .map_err(|e| anyhow!("{e}"))?;
        merge(&mut changes, bound);
        merge(&mut changes, signed);
        bind.push(changes);
    }
    Ok(Batch {
        register,
        bind,
        compute: t.elapsed(),
    })
}

/// Appends `next` to `into`: applied in order in one transaction, versions chain correctly.
fn merge(into: &mut ChangeSet, next: ChangeSet) {
    into.append(next);
}
