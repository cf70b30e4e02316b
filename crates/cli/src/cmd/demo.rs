//! `cphar demo`: the whole system end to end, over HTTP. Starts a server on SQLite in a
//! temporary directory, provisions software seals, registers, inspects, binds, signs off and
//! attests them, shows the attacks the protocol refuses, breaks one seal and retires another,
//! prints the active reserve set, timestamps it (RFC 3161), verifies the audit log offline,
//! then stops the server and removes everything.

use crate::http::{Answer, Client};
use crate::provision::{self, Seal, Vendor};
use anyhow::{Context, Result, anyhow, bail};
use cphar_crypto::Algorithm;
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{Bal, ChallengeRequest, Timestamp};
use cphar_server::ServerConfig;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::process::ExitCode;

/// Options of `cphar demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Extra lots registered, bound and attested in bulk (with progress bars).
    #[arg(long, default_value_t = 12)]
    lots: u32,
}

struct Tokens {
    vendor: String,
    inspector: String,
    operator: String,
    auditor: String,
    verifier: String,
}

struct Demo {
    client: Client,
    t: Tokens,
}

fn line(ok: bool, what: &str, answer: &str) {
    println!("  {} {what:<58} {answer}", if ok { "✔" } else { "✘" });
}

fn outcome(a: &Answer) -> String {
    if a.status >= 400 {
        format!("{} {}", a.status, a.reason())
    } else if let Some(r) = a.body.get("result").and_then(Value::as_str) {
        match a.body.get("detail").and_then(Value::as_str) {
            Some(d) => format!("{r} ({d})"),
            None => r.to_owned(),
        }
    } else {
        format!("{}", a.status)
    }
}

impl Demo {
    async fn expect(&self, what: &str, a: Answer, want_ok: bool) -> Result<Answer> {
        let ok = a.status < 400 && a.body.get("result").is_none_or(|r| r == "valid");
        line(ok, what, &outcome(&a));
        if ok != want_ok {
            bail!("unexpected answer to '{what}': {} {}", a.status, a.body);
        }
        Ok(a)
    }

    async fn enroll(
        &self,
        seal: &Seal,
        lot: &str,
        commodity: (&str, &str, &str, &str),
        quiet: bool,
    ) -> Result<()> {
        let steps: [(&str, &str, &str, Value); 4] = [
            (
                "register seal",
                "/seals",
                &self.t.vendor,
                seal.registration.clone(),
            ),
            (
                "inspect lot",
                "/inspections",
                &self.t.inspector,
                provision::inspection(
                    lot,
                    &seal.uid,
                    commodity.0,
                    commodity.1,
                    commodity.2,
                    commodity.3,
                ),
            ),
            (
                "record custody",
                "/custody",
                &self.t.operator,
                json!({"lotId": lot, "holder": "Brinks courier 42", "action": "transferred"}),
            ),
            (
                "bind",
                &format!("/lots/{lot}/bind"),
                &self.t.operator,
                json!({}),
            ),
        ];
        for (what, path, token, body) in steps {
            let a = self.client.post(path, token, &body).await?;
            if quiet {
                if a.status >= 400 {
                    bail!("{what} {lot}: {} {}", a.status, a.body);
                }
            } else {
                self.expect(
                    &format!(
                        "{what} {}",
                        if what.contains("seal") {
                            &seal.uid
                        } else {
                            lot
                        }
                    ),
                    a,
                    true,
                )
                .await?;
            }
        }
        let a = self
            .client
            .post(
                &format!("/lots/{lot}/sign-off"),
                &self.t.auditor,
                &json!({}),
            )
            .await?;
        if quiet {
            if a.status >= 400 {
                bail!("sign-off {lot}: {} {}", a.status, a.body);
            }
        } else {
            self.expect(&format!("auditor signs off {lot}"), a, true)
                .await?;
        }
        Ok(())
    }

    async fn challenge(&self, lot: &str) -> Result<(String, ChallengeRequest)> {
        let a = self
            .client
            .post("/challenges", &self.t.verifier, &json!({"lotId": lot}))
            .await?;
        if a.status != 201 {
            bail!("challenge {lot}: {} {}", a.status, a.body);
        }
        let id = a
            .body
            .get("challengeId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("no challenge id"))?
            .to_owned();
        let request =
            ChallengeRequest::from_value(a.body.get("request").cloned().unwrap_or(Value::Null))?;
        Ok((id, request))
    }

    async fn answer(&self, id: &str, response: &Value) -> Result<Answer> {
        self.client
            .send(
                hyper::Method::POST,
                &format!("/challenges/{id}/response"),
                Some(&self.t.verifier),
                "application/json",
                response.to_string().into_bytes(),
            )
            .await
    }

    async fn attest(&self, seal: &Seal, lot: &str, method: &str) -> Result<Answer> {
        let (id, request) = self.challenge(lot).await?;
        let response = respond(seal, &request, method)?;
        self.answer(&id, &response).await
    }
}

async fn wait_for_seal(d: &Demo, uid: &str, want: &str) -> Result<String> {
    let mut last = String::new();
    for _ in 0..100 {
        let a = d
            .client
            .get(&format!("/seals/{uid}"), Some(&d.t.operator))
            .await?;
        last = a
            .body
            .pointer("/seal/state")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if last == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(last)
}

async fn wait_for_event(d: &Demo, lot: &str, reason: &str) -> Result<bool> {
    for _ in 0..150 {
        let a = d
            .client
            .get(&format!("/lots/{lot}"), Some(&d.t.operator))
            .await?;
        let found = a
            .body
            .get("history")
            .and_then(Value::as_array)
            .is_some_and(|h| {
                h.iter()
                    .any(|e| e.get("reasonCode").and_then(Value::as_str) == Some(reason))
            });
        if found {
            return Ok(true);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(false)
}

fn respond(seal: &Seal, request: &ChallengeRequest, method: &str) -> Result<Value> {
    let key = cphar_crypto::SigningKey::from_pkcs8_der(&seal.key.to_pkcs8_der()?)?;
    let soft = SoftwareSeal::new(key, method.to_owned(), Bal::Bal2);
    let response = soft.respond(request, Timestamp::now_utc())?;
    Ok(response.raw().clone())
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(&format!("  {what:<30} {{bar:30}} {{pos}}/{{len}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

/// Runs the demo.
pub fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(demo(args))
}

async fn demo(args: Args) -> Result<ExitCode> {
    println!("CPHAR demo — proof that sealed physical reserves are still there\n");
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let vendor = Vendor::new()?;
    let vendors = dir.path().join("vendors.json");
    std::fs::write(&vendors, vendor.trust_file())?;

    // 1. The server.
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().join("data"),
        vendors: Some(vendors),
        rate_limit: 1000,
        scheduler_interval_seconds: 1,
        // A short cadence so the scheduler's work shows within the demo.
        attestation_cadence_seconds: 4,
        host: Some("reserve.example".into()),
        ..ServerConfig::default()
    };
    let state = cphar_server::app::build_state(config)
        .await
        .map_err(|e| anyhow!(e))?;
    let admin = cphar_server::app::bootstrap_admin(&state)
        .await
        .map_err(|e| anyhow!(e))?
        .ok_or_else(|| anyhow!("no admin token"))?;
    let identity = state
        .node
        .identity
        .as_ref()
        .map(|k| k.verifying_key())
        .ok_or_else(|| anyhow!("no identity key"))?;
    let self_tests = state.node.self_tests.passed;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(cphar_server::app::serve(
        state,
        async {
            let _ = stopped.await;
        },
        bound_tx,
    ));
    let addr = bound_rx.await.context("the server did not start")?;
    println!(
        "server      http://{addr} (SQLite in a temporary directory); self-tests {}",
        if self_tests { "passed" } else { "FAILED" }
    );
    let client = Client::new(addr);

    let mut t = Vec::new();
    for (role, subject) in [
        ("vendor", "acme-provisioning"),
        ("inspector", "inspector-sgs-1"),
        ("operator", "operator-1"),
        ("auditor", "auditor-kpmg-1"),
        ("verifier", "verifier-bank-1"),
    ] {
        let a = client
            .post(
                "/tokens",
                &admin,
                &json!({"role": role, "subject": subject}),
            )
            .await?;
        t.push(
            a.body
                .get("token")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("token for {role}: {}", a.body))?
                .to_owned(),
        );
    }
    let [vendor_t, inspector, operator, auditor, verifier] =
        <[String; 5]>::try_from(t).map_err(|_| anyhow!("tokens"))?;
    let d = Demo {
        client,
        t: Tokens {
            vendor: vendor_t,
            inspector,
            operator,
            auditor,
            verifier,
        },
    };
    println!(
        "roles       vendor, inspector, operator, auditor, verifier (API tokens; only hashes stored)\n"
    );

    // 2. Enrollment of three lots, each step a decision.
    println!("enrollment:");
    let gold = vendor.seal("SEAL-GOLD-1", Algorithm::Ed25519, 1)?;
    let grain = vendor.seal("SEAL-GRAIN-1", Algorithm::EcdsaP256Sha256, 2)?;
    let pharma = vendor.seal("SEAL-PHARMA-1", Algorithm::Ed25519, 3)?;
    d.enroll(
        &gold,
        "LOT-GOLD-7",
        ("gold", "400.000", "troy_oz", "LBD 999.9"),
        false,
    )
    .await?;
    let a = d
        .client
        .post("/seals", &d.t.vendor, &gold.registration)
        .await?;
    d.expect("register SEAL-GOLD-1 again (same UID)", a, false)
        .await?;
    let mut clone = grain.registration.clone();
    if let Some(obj) = clone.as_object_mut() {
        obj.insert("uid".into(), json!("SEAL-CLONE-9"));
    }
    d.client
        .post("/seals", &d.t.vendor, &grain.registration)
        .await?;
    let a = d.client.post("/seals", &d.t.vendor, &clone).await?;
    d.expect("register SEAL-GRAIN-1's key under another UID", a, false)
        .await?;
    let rogue = Vendor::new()?.seal("SEAL-ROGUE-1", Algorithm::Ed25519, 9)?;
    let a = d
        .client
        .post("/seals", &d.t.vendor, &rogue.registration)
        .await?;
    d.expect("register a seal certified by an unknown CA", a, false)
        .await?;
    for (lot, seal, c) in [
        (
            "LOT-GRAIN-3",
            &grain,
            ("wheat", "2500.000", "t", "No. 1 CWRS"),
        ),
        (
            "LOT-PHARMA-5",
            &pharma,
            ("insulin", "12000", "vial", "GMP-A"),
        ),
    ] {
        let steps = [
            (
                "/inspections",
                &d.t.inspector,
                provision::inspection(lot, &seal.uid, c.0, c.1, c.2, c.3),
            ),
            (
                "/custody",
                &d.t.operator,
                json!({"lotId": lot, "holder": "warehouse-4", "action": "stored"}),
            ),
            (
                &format!("/lots/{lot}/bind") as &str,
                &d.t.operator,
                json!({}),
            ),
        ];
        if seal.uid != grain.uid {
            d.client
                .post("/seals", &d.t.vendor, &seal.registration)
                .await?;
        }
        for (path, token, body) in steps {
            let a = d.client.post(path, token, &body).await?;
            if a.status >= 400 {
                bail!("{path}: {} {}", a.status, a.body);
            }
        }
        line(
            true,
            &format!("register, inspect, custody, bind {lot}"),
            "201",
        );
    }
    let a = d
        .client
        .post("/lots/LOT-GRAIN-3/sign-off", &d.t.operator, &json!({}))
        .await?;
    d.expect("an operator token signs off LOT-GRAIN-3", a, false)
        .await?;
    // The same person holding an auditor token still may not approve their own binding.
    let twin = d
        .client
        .post(
            "/tokens",
            &admin,
            &json!({"role": "auditor", "subject": "operator-1"}),
        )
        .await?;
    let twin = twin
        .body
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let a = d
        .client
        .post("/lots/LOT-GRAIN-3/sign-off", &twin, &json!({}))
        .await?;
    d.expect(
        "operator-1, as auditor, signs off its own binding",
        a,
        false,
    )
    .await?;
    for lot in ["LOT-GRAIN-3", "LOT-PHARMA-5"] {
        let a = d
            .client
            .post(&format!("/lots/{lot}/sign-off"), &d.t.auditor, &json!({}))
            .await?;
        d.expect(&format!("auditor signs off {lot}"), a, true)
            .await?;
    }

    // 3. Bulk: more lots, with progress bars.
    if args.lots > 0 {
        println!(
            "\nbulk: {} more silver lots (LOT-BULK-*), enrolled and attested like the ones above, \
             to show the same path at volume (--lots N changes how many)",
            args.lots
        );
    }
    let mut bulk = Vec::new();
    let b = bar(u64::from(args.lots), "provisioning seals");
    for i in 0..args.lots {
        bulk.push((
            vendor.seal(
                &format!("SEAL-BULK-{i:03}"),
                Algorithm::Ed25519,
                100 + u64::from(i),
            )?,
            format!("LOT-BULK-{i:03}"),
        ));
        b.inc(1);
    }
    b.finish();
    let b = bar(u64::from(args.lots), "enrolling lots");
    for (seal, lot) in &bulk {
        d.enroll(seal, lot, ("silver", "1000.0", "troy_oz", "999"), true)
            .await?;
        b.inc(1);
    }
    b.finish();

    // 4. Attestation.
    println!("\nattestation (challenge → seal signs → verify):");
    let method = |lot: &str| format!("did:web:reserve.example:lots:{lot}#seal-1");
    for (seal, lot) in [
        (&gold, "LOT-GOLD-7"),
        (&grain, "LOT-GRAIN-3"),
        (&pharma, "LOT-PHARMA-5"),
    ] {
        let a = d.attest(seal, lot, &method(lot)).await?;
        d.expect(&format!("{lot} attested by {}", seal.uid), a, true)
            .await?;
    }
    let b = bar(u64::from(args.lots), "attesting bulk lots");
    for (seal, lot) in &bulk {
        let a = d.attest(seal, lot, &method(lot)).await?;
        if a.body.get("result").and_then(Value::as_str) != Some("valid") {
            bail!("bulk attestation of {lot}: {}", a.body);
        }
        b.inc(1);
    }
    b.finish();

    println!("\nattacks:");
    let (id, request) = d.challenge("LOT-GOLD-7").await?;
    let response = respond(&gold, &request, &method("LOT-GOLD-7"))?;
    d.expect("genuine answer", d.answer(&id, &response).await?, true)
        .await?;
    d.expect(
        "the same answer replayed",
        d.answer(&id, &response).await?,
        false,
    )
    .await?;
    let impostor = vendor.seal("SEAL-IMPOSTOR", Algorithm::Ed25519, 77)?;
    let a = d
        .attest(&impostor, "LOT-GOLD-7", &method("LOT-GOLD-7"))
        .await?;
    d.expect("an impostor device answers for LOT-GOLD-7", a, false)
        .await?;
    let (id, request) = d.challenge("LOT-PHARMA-5").await?;
    let mut forged = respond(&pharma, &request, &method("LOT-PHARMA-5"))?;
    if let Some(obj) = forged.as_object_mut() {
        obj.insert(
            "nonce".into(),
            json!(cphar_crypto::b64::encode(
                &cphar_crypto::random_bytes::<32>()?
            )),
        );
    }
    d.expect(
        "an answer to another nonce (relay of an old challenge)",
        d.answer(&id, &forged).await?,
        false,
    )
    .await?;

    // 5. Break one, retire one.
    println!("\nlifecycle:");
    let a = d
        .client
        .post(
            "/lots/LOT-GOLD-7/revoke",
            &d.t.operator,
            &json!({"reason": "tamper_detected"}),
        )
        .await?;
    d.expect("tamper detected on SEAL-GOLD-1 → Broken", a, true)
        .await?;
    let a = d.attest(&gold, "LOT-GOLD-7", &method("LOT-GOLD-7")).await?;
    d.expect("the broken seal answers a new challenge", a, false)
        .await?;
    let a = d
        .client
        .post(
            "/lots/LOT-GRAIN-3/retire",
            &d.t.operator,
            &json!({"reason": "device_replacement"}),
        )
        .await?;
    d.expect("SEAL-GRAIN-1 retired (device_replacement)", a, true)
        .await?;
    let a = d
        .client
        .post(
            "/lots/LOT-GRAIN-3/retire",
            &d.t.operator,
            &json!({"reason": "device_replacement"}),
        )
        .await?;
    d.expect("retire it again", a, false).await?;

    // 5b. A seal with a network transport, attested by the registry's scheduler.
    println!("\nnetwork seal (the registry's scheduler challenges it):");
    let net = vendor.seal("SEAL-NET-1", Algorithm::Ed25519, 500)?;
    let agent_seal = SoftwareSeal::new(
        cphar_crypto::SigningKey::from_pkcs8_der(&net.key.to_pkcs8_der()?)?,
        method("LOT-NET-1"),
        Bal::Bal2,
    );
    let limiter = cphar_protocol::ratelimit::RateLimiter::new(
        cphar_protocol::ratelimit::RateLimitConfig::default(),
    );
    let (agent_stop, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    let (agent_addr, agent) =
        crate::cmd::seal::spawn_agent(agent_seal, limiter, "127.0.0.1:0".parse()?, async {
            let _ = agent_stopped.await;
        })
        .await?;
    let mut registration = net.registration.clone();
    if let Some(obj) = registration.as_object_mut() {
        obj.insert(
            "endpoint".into(),
            json!(format!("http://{agent_addr}/challenge")),
        );
    }
    let net = Seal {
        registration,
        ..net
    };
    d.enroll(
        &net,
        "LOT-NET-1",
        ("platinum", "250.0", "troy_oz", "999.5"),
        true,
    )
    .await?;
    let state = wait_for_seal(&d, &net.uid, "attested").await?;
    line(
        state == "attested",
        &format!("scheduler attested {} at http://{agent_addr}", net.uid),
        &state,
    );
    let _ = agent_stop.send(());
    let _ = agent.await;
    let unreachable = wait_for_event(&d, "LOT-NET-1", "device_no_answer").await?;
    line(
        unreachable,
        "seal agent stopped: the next scheduled challenge",
        if unreachable {
            "device_unreachable"
        } else {
            "no record"
        },
    );
    if !unreachable {
        bail!("the scheduler did not record the unreachable seal");
    }

    // 6. The active reserve set, timestamped.
    let a = d
        .client
        .get("/reserve/active?limit=1000", Some(&d.t.auditor))
        .await?;
    let lots = a
        .body
        .get("lots")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    println!("\nactive reserve set ({} lots):", lots.len());
    println!(
        "  {:<14} {:<10} {:>12} {:<8} {:<12} {:<20}",
        "LOT", "COMMODITY", "QUANTITY", "UNIT", "GRADE", "ATTESTATION"
    );
    for l in lots.iter().take(8) {
        let s = |k: &str| l.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let q = |k: &str| {
            l.pointer(&format!("/quantity/{k}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        println!(
            "  {:<14} {:<10} {:>12} {:<8} {:<12} {:<20}",
            s("lotId"),
            s("commodity"),
            q("amount"),
            q("unit"),
            s("grade"),
            s("attestation")
        );
    }
    if lots.len() > 8 {
        println!("  … and {} more", lots.len() - 8);
    }
    let ids: Vec<&str> = lots
        .iter()
        .filter_map(|l| l.get("lotId").and_then(Value::as_str))
        .collect();
    if ids.contains(&"LOT-GOLD-7") || ids.contains(&"LOT-GRAIN-3") || !ids.contains(&"LOT-PHARMA-5")
    {
        bail!("the active reserve set is wrong: {ids:?}");
    }
    let report = cphar_jcs::canonicalize(&a.body)?;
    let imprint = cphar_tsa::MessageImprint::of_data(cphar_tsa::HashAlg::Sha256, &report);
    let query = cphar_tsa::make_request(
        &imprint,
        Some(&cphar_crypto::random_bytes::<8>()?),
        true,
        None,
    )?;
    let tsr = d
        .client
        .send(
            hyper::Method::POST,
            "/tsa",
            None,
            "application/timestamp-query",
            query,
        )
        .await?;
    let chain = d.client.get("/tsa/certificate", None).await?;
    let certs = cphar_tsa::certs_from_pem(&String::from_utf8_lossy(&chain.bytes))?;
    let anchors = cphar_tsa::TrustAnchors::from_der(
        certs
            .get(certs.len().saturating_sub(1)..)
            .unwrap_or_default(),
    )?;
    let now = cphar_tsa::UnixTime::from_system_time(std::time::SystemTime::now())
        .ok_or_else(|| anyhow!("time"))?;
    let stamp = cphar_tsa::verify_token(
        &tsr.bytes,
        &cphar_tsa::TokenCheck::for_data(&report),
        &anchors,
        now,
    )?;
    println!(
        "  report timestamped (RFC 3161): genTime {}, serial {}",
        stamp.gen_time,
        stamp.serial_hex()
    );

    // 7. The audit log, verified offline.
    let mut export = Vec::new();
    let mut from = 0u64;
    loop {
        let page = d
            .client
            .get(
                &format!("/audit/entries?from={from}&limit=10000"),
                Some(&d.t.auditor),
            )
            .await?;
        let n = page.bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        export.extend_from_slice(&page.bytes);
        if n == 0 {
            break;
        }
        from += n;
    }
    let verified = cphar_audit::verify_export(&export, Some(&identity))
        .map_err(|e| anyhow!("audit log: {e}"))?;
    let checkpoint = d.client.get("/audit/checkpoint", None).await?;
    let proof = d.client.get("/audit/proof/1", None).await?;
    cphar_audit::transparency::check_bundle(&proof.body, &identity, None)
        .map_err(|e| anyhow!("proof: {e}"))?;
    println!(
        "\naudit log   {} entries verified offline (SHA-384 chain, P-384 signatures, {} epoch(s)); inclusion proof checked",
        verified.entries,
        verified.epochs.len()
    );
    println!(
        "checkpoint  {}",
        String::from_utf8_lossy(&checkpoint.bytes)
            .lines()
            .take(3)
            .collect::<Vec<_>>()
            .join(" | ")
    );

    // 8. Stop.
    let _ = stop.send(());
    server
        .await
        .map_err(|e| anyhow!("server: {e}"))?
        .map_err(|e| anyhow!(e))?;
    drop(dir);
    println!("\nserver stopped; temporary data removed.");
    Ok(ExitCode::SUCCESS)
}
