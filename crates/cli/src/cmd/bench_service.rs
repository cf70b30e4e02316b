//! Service benchmarks, each printed beside the same run's bare cost of what it must do:
//!
//! * `audit` — durable audit appends per second (1 writer and 8 concurrent writers) on SQLite
//!   and, with `--database-url`, PostgreSQL, beside the bare durable-insert rate and the bare
//!   P-384 signing rate; then offline verification of an N-entry export on all cores beside the
//!   bare parallel P-384 verify rate.
//! * `tsa` — audited RFC 3161 tokens per second over loopback HTTP.
//! * `attest` — N concurrent verifiers running challenge → software seal signs → verify →
//!   audit append over loopback HTTP: attestations per second and p50/p99 latency, beside the
//!   bare crypto each attestation needs (seal signature, verification, audit signature).

use crate::http::Client;
use crate::provision::{self, Vendor};
use anyhow::{Context, Result, anyhow, bail};
use cphar_audit::{EpochStart, GENESIS_HASH};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{Bal, ChallengeRequest, Timestamp};
use cphar_registry::{Registry, RegistryNames, ServiceEvent, SystemClock};
use cphar_server::ServerConfig;
use cphar_store::{AnyStore, EpochJob};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `cphar bench audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Appends per measurement.
    #[arg(long, default_value_t = 20_000)]
    appends: u64,
    /// Entries of the export verified offline.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Also measure PostgreSQL.
    #[arg(long, value_name = "URL", env = "CPHAR_BENCH_DATABASE_URL")]
    database_url: Option<String>,
}

/// Options of `cphar bench tsa` and `cphar bench attest`.
#[derive(clap::Args)]
pub struct LoadArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// This process's peak resident set size (`VmHWM` of `/proc/self/status`), for the report.
pub(crate) fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_owned()))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// One audited append: the record the TSA writes for every token it issues.
fn fact(i: u64) -> [ServiceEvent; 1] {
    [ServiceEvent::TimestampIssued {
        serial: format!("{i:x}"),
        gen_time: Timestamp::now_utc().to_string(),
    }]
}

/// Bare single-core P-384 signing rate over ~1 s.
fn bare_sign_rate() -> Result<f64> {
    let key = SigningKey::generate(Algorithm::EcdsaP384Sha384)?;
    let msg = [7u8; 400];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        key.sign(&msg)?;
        n += 1;
    }
    Ok(rate(n, started.elapsed()))
}

async fn append_rates(registry: Arc<Registry<AnyStore>>, n: u64) -> Result<(f64, f64)> {
    let started = Instant::now();
    for i in 0..n {
        registry
            .record(&fact(i), "bench")
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    let single = rate(n, started.elapsed());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let registry = Arc::clone(&registry);
        tasks.push(tokio::spawn(async move {
            for i in 0..n / 8 {
                registry
                    .record(&fact(w * n + i), "bench")
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((single, rate(n / 8 * 8, started.elapsed())))
}

async fn open_audited(store: &AnyStore) -> Result<()> {
    let start = EpochStart {
        self_tests: json!({"benchmark": true}),
        binary_measurement: None,
        started_at: Timestamp::now_utc(),
    };
    store
        .open_epoch(EpochJob {
            audit_key: Box::new(SigningKey::generate(Algorithm::EcdsaP384Sha384)?),
            identity: Arc::new(SigningKey::generate(Algorithm::Ed25519)?),
            start,
        })
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// `cphar bench audit`.
pub fn audit(args: AuditArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("cphar bench audit — {cores} cores; appends are durable (acknowledged after commit)");
    let sign = bare_sign_rate()?;
    println!(
        "  bare P-384 signing, 1 core           {sign:>10.0} /s   (the chain is sequential: one signer)"
    );
    let mut backends: Vec<(&str, Option<String>)> = vec![("sqlite", None)];
    if let Some(url) = &args.database_url {
        backends.push(("postgres", Some(url.clone())));
    }
    for (name, url) in backends {
        let dir = tempfile::tempdir()?;
        let store = runtime
            .block_on(async {
                match &url {
                    Some(u) => AnyStore::open(u).await,
                    None => AnyStore::open_data_dir(dir.path()).await,
                }
            })
            .map_err(|e| anyhow!("{e}"))?;
        let bare_n = (args.appends / 10).max(200);
        let bare = runtime
            .block_on(store.bare_durable_inserts(bare_n))
            .map_err(|e| anyhow!("{e}"))?;
        runtime.block_on(open_audited(&store))?;
        let registry = Arc::new(Registry::new(
            store,
            RegistryNames::new("bench.example"),
            cphar_vendor::VendorRegistry::new(),
            Arc::new(SystemClock),
        ));
        let (single, eight) =
            runtime.block_on(append_rates(Arc::clone(&registry), args.appends))?;
        println!(
            "  {name:<8} bare durable insert          {:>10.0} /s   (one row per commit, no audit)",
            rate(bare_n, bare)
        );
        println!(
            "  {name:<8} audited appends, 1 writer    {single:>10.0} /s   {:.2}x of bare signing",
            single / sign
        );
        println!(
            "  {name:<8} audited appends, 8 writers   {eight:>10.0} /s   {:.2}x of bare signing (group commit)",
            eight / sign
        );
        runtime.block_on(registry.store().close());
    }

    // Offline verification of a large export.
    println!(
        "  building a {}-entry export (signing, one core) …",
        args.entries
    );
    let key = SigningKey::generate(Algorithm::EcdsaP384Sha384)?;
    let identity = SigningKey::generate(Algorithm::Ed25519)?;
    let start = EpochStart {
        self_tests: json!({}),
        binary_measurement: None,
        started_at: Timestamp::now_utc(),
    };
    let (genesis, signer) =
        cphar_audit::open_epoch(Box::new(key), &identity, 0, GENESIS_HASH, &start)?;
    let mut export = Vec::with_capacity(args.entries as usize * 450);
    export.extend_from_slice(&genesis.canonical);
    export.push(b'\n');
    let mut prev = genesis.hash;
    let t = Timestamp::now_utc();
    for seq in 1..args.entries {
        let data = json!({"subject": format!("lot:L{}", seq % 1000), "actor": "bench", "data": {"n": seq}});
        let Value::Object(map) = data else {
            bail!("unreachable")
        };
        let entry = signer
            .seal(seq, t, "seal_attested", map, &prev)
            .map_err(|e| anyhow!("{e}"))?;
        export.extend_from_slice(&entry.canonical);
        export.push(b'\n');
        prev = entry.hash;
    }
    let started = Instant::now();
    let report = cphar_audit::verify_export(&export, Some(&identity.verifying_key()))
        .map_err(|e| anyhow!("{e}"))?;
    let verify_rate = rate(report.entries, started.elapsed());
    // Bare parallel verify: the same number of signature checks, all cores.
    let vk = SigningKey::generate(Algorithm::EcdsaP384Sha384)?;
    let pairs = (0..256u32)
        .map(|i| {
            let m = i.to_be_bytes().repeat(100);
            vk.sign(&m).map(|s| (m, s))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vkey = vk.verifying_key();
    let per_thread = (report.entries / cores as u64).max(1);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            let (pairs, vkey) = (&pairs, &vkey);
            scope.spawn(move || {
                for i in 0..per_thread {
                    if let Some((m, s)) = pairs.get((i % 256) as usize) {
                        let _ = vkey.verify(m, s);
                    }
                }
            });
        }
    });
    let bare_verify = rate(per_thread * cores as u64, started.elapsed());
    println!(
        "  offline verification of the export   {verify_rate:>10.0} entries/s ({cores} cores, {} entries)",
        report.entries
    );
    println!(
        "  bare parallel P-384 verify           {bare_verify:>10.0} /s   ratio {:.2}x",
        verify_rate / bare_verify
    );
    println!("  peak RSS                             {}", peak_rss());
    Ok(ExitCode::SUCCESS)
}

/// A server on loopback with everything the load benchmarks need.
async fn server(
    extra: impl FnOnce(&mut ServerConfig),
) -> Result<(
    Arc<cphar_server::AppState>,
    Client,
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), String>>,
    tempfile::TempDir,
    Vendor,
)> {
    let dir = tempfile::tempdir()?;
    let vendor = Vendor::new()?;
    let vendors = dir.path().join("vendors.json");
    std::fs::write(&vendors, vendor.trust_file())?;
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().join("data"),
        vendors: Some(vendors),
        rate_limit: u32::MAX,
        // The load comes from one address: no per-client limit on the public routes.
        anonymous_rate_limit: u32::MAX,
        max_connections: 100_000,
        host: Some("bench.example".into()),
        ..ServerConfig::default()
    };
    extra(&mut config);
    let state = cphar_server::app::build_state(config)
        .await
        .map_err(|e| anyhow!(e))?;
    let admin = cphar_server::app::bootstrap_admin(&state)
        .await
        .map_err(|e| anyhow!(e))?
        .ok_or_else(|| anyhow!("admin"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let handle = tokio::spawn(cphar_server::app::serve(
        Arc::clone(&state),
        async {
            let _ = stopped.await;
        },
        tx,
    ));
    let addr = rx.await.context("server did not start")?;
    Ok((state, Client::new(addr), admin, stop, handle, dir, vendor))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// `cphar bench tsa`.
pub fn tsa(args: LoadArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (state, client, _admin, stop, handle, _dir, _vendor) = server(|_| {}).await?;
        let (size0, _) = state
            .node
            .registry
            .store()
            .audit_head()
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let imprint =
            cphar_tsa::MessageImprint::of_data(cphar_tsa::HashAlg::Sha256, b"reserve report");
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let mut tasks = Vec::new();
        for _ in 0..args.clients {
            let client = client.clone();
            let imprint = imprint.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let q = cphar_tsa::make_request(
                        &imprint,
                        Some(&cphar_crypto::random_bytes::<8>()?),
                        true,
                        None,
                    )?;
                    let t = Instant::now();
                    let a = client
                        .send(
                            hyper::Method::POST,
                            "/tsa",
                            None,
                            "application/timestamp-query",
                            q,
                        )
                        .await?;
                    if a.status != 200 {
                        bail!("TSA answered {}", a.status);
                    }
                    lat.push(t.elapsed());
                }
                Ok::<_, anyhow::Error>(lat)
            }));
        }
        let started = Instant::now();
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await??);
        }
        let elapsed = started.elapsed();
        lat.sort_unstable();
        let (size1, _) = state
            .node
            .registry
            .store()
            .audit_head()
            .await
            .map_err(|e| anyhow!("{e}"))?;
        println!(
            "cphar bench tsa — {} clients, {} s, loopback HTTP, SQLite, every token audited",
            args.clients, args.seconds
        );
        println!(
            "  tokens                {:>10.0} /s  ({} tokens, {} audit entries)",
            rate(lat.len() as u64, elapsed),
            lat.len(),
            size1 - size0
        );
        println!(
            "  latency               p50 {:.1} ms, p99 {:.1} ms",
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        );
        // Each token is audited: one P-384 audit signature per token bounds the rate.
        let sign = bare_sign_rate()?;
        println!(
            "  bare P-384 signing    {sign:>10.0} /s  (1 core)  ratio {:.2}x",
            rate(lat.len() as u64, elapsed) / sign
        );
        println!("  peak RSS              {}", peak_rss());
        let _ = stop.send(());
        handle
            .await
            .map_err(|e| anyhow!("{e}"))?
            .map_err(|e| anyhow!(e))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `cphar bench attest`.
pub fn attest(args: LoadArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (state, client, admin, stop, handle, _dir, vendor) = server(|c| c.skew_seconds = 600).await?;
        let mut tokens = Vec::new();
        for (role, subject) in [("vendor", "v"), ("inspector", "i"), ("operator", "o"), ("auditor", "a"), ("verifier", "bench-verifier")] {
            let a = client.post("/tokens", &admin, &json!({"role": role, "subject": subject})).await?;
            tokens.push(a.body.get("token").and_then(Value::as_str).unwrap_or_default().to_owned());
        }
        let [vt, it, ot, at, vf] = <[String; 5]>::try_from(tokens).map_err(|_| anyhow!("tokens"))?;
        // One lot per client, each with its own seal.
        let mut seals = Vec::new();
        for i in 0..args.clients {
            let seal = vendor.seal(&format!("SEAL-{i:04}"), Algorithm::Ed25519, i as u64 + 1)?;
            let lot = format!("LOT-{i:04}");
            for (path, token, body) in [
                ("/seals".to_owned(), &vt, seal.registration.clone()),
                ("/inspections".to_owned(), &it, provision::inspection(&lot, &seal.uid, "gold", "400", "troy_oz", "999")),
                (format!("/lots/{lot}/bind"), &ot, json!({})),
                (format!("/lots/{lot}/sign-off"), &at, json!({})),
            ] {
                let a = client.post(&path, token, &body).await?;
                if a.status >= 400 {
                    bail!("{path}: {} {}", a.status, a.body);
                }
            }
            let method = format!("did:web:bench.example:lots:{lot}#seal-1");
            seals.push((lot, SoftwareSeal::new(SigningKey::from_pkcs8_der(&seal.key.to_pkcs8_der()?)?, method, Bal::Bal2)));
        }
        let (size0, _) = state.node.registry.store().audit_head().await.map_err(|e| anyhow!("{e}"))?;
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        let mut tasks = Vec::new();
        for (lot, seal) in seals {
            let (client, vf) = (client.clone(), vf.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let a = client.post("/challenges", &vf, &json!({"lotId": lot})).await?;
                    let id = a.body.get("challengeId").and_then(Value::as_str).unwrap_or_default().to_owned();
                    let request = ChallengeRequest::from_value(a.body.get("request").cloned().unwrap_or(Value::Null))?;
                    let response = seal.respond(&request, Timestamp::now_utc())?;
                    let a = client
                        .send(hyper::Method::POST, &format!("/challenges/{id}/response"), Some(&vf), "application/json", response.raw().to_string().into_bytes())
                        .await?;
                    if a.body.get("result").and_then(Value::as_str) == Some("valid") {
                        lat.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                Ok::<_, anyhow::Error>((lat, errors))
            }));
        }
        let started = Instant::now();
        let (mut lat, mut errors) = (Vec::new(), 0);
        for t in tasks {
            let (l, e) = t.await??;
            lat.extend(l);
            errors += e;
        }
        let elapsed = started.elapsed();
        lat.sort_unstable();
        let (size1, _) = state.node.registry.store().audit_head().await.map_err(|e| anyhow!("{e}"))?;
        // The bare crypto of one attestation: seal signature (Ed25519), its verification, and
        // the audit entry's P-384 signature.
        let seal_key = SigningKey::generate(Algorithm::Ed25519)?;
        let audit_key = SigningKey::generate(Algorithm::EcdsaP384Sha384)?;
        let msg = [1u8; 300];
        let sig = seal_key.sign(&msg)?;
        let vk = seal_key.verifying_key();
        let n = 2000;
        let t = Instant::now();
        for _ in 0..n {
            seal_key.sign(&msg)?;
            vk.verify(&msg, &sig)?;
            audit_key.sign(&msg)?;
        }
        let bare = rate(n, t.elapsed());
        println!("cphar bench attest — {} verifiers, {} s, loopback HTTP, SQLite, software seals", args.clients, args.seconds);
        println!("  attestations          {:>10.0} /s  ({} valid, {} errors, {} audit entries)", rate(lat.len() as u64, elapsed), lat.len(), errors, size1 - size0);
        println!("  latency               p50 {:.1} ms, p99 {:.1} ms", percentile(&lat, 0.5).as_secs_f64() * 1e3, percentile(&lat, 0.99).as_secs_f64() * 1e3);
        println!("  bare crypto, 1 core   {bare:>10.0} attestations/s (seal sign + verify + audit signature)  ratio {:.2}x", rate(lat.len() as u64, elapsed) / bare);
        println!("  peak RSS              {} (server and load generator in this process)", peak_rss());
        let _ = stop.send(());
        handle.await.map_err(|e| anyhow!("{e}"))?.map_err(|e| anyhow!(e))?;
        Ok(ExitCode::SUCCESS)
    })
}
