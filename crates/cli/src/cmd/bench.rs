//! `cphar bench verify`: the cost of the whole verification procedure next to the bare
//! signature check it contains, measured in the same run on the same machine.
//!
//! Three rates per profile: the bare `verify(signature)` call; the procedure on parsed
//! inputs (a verifier holding the request it issued and the DID document it resolved, keys
//! decoded once — the server's path); and the procedure from raw JSON bytes (parse, I-JSON
//! checks, JCS and all — the offline CLI's path).

use anyhow::{Context, Result};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::did::{MethodSpec, document_json};
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{
    Bal, ChallengeParams, ChallengeRequest, DidDocument, ResultCode, TFP_1, Timestamp,
    VerifierPolicy, verify, verify_json,
};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Benchmarks.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Verifications per second for profiles A and B, beside the bare signature check.
    Verify(VerifyArgs),
    /// A signed reserve report over many lots, beside the bare SHA-256 Merkle root of its leaves.
    Report(super::bench_report::Args),
    /// Register and bind many seals/lots in SQLite or PostgreSQL; rows/s and lookup latency.
    Registry(super::bench_registry::Args),
    /// Durable audit appends and offline log verification, beside bare insert/sign/verify.
    Audit(super::bench_service::AuditArgs),
    /// Audited RFC 3161 tokens per second over loopback HTTP.
    Tsa(super::bench_service::LoadArgs),
    /// Concurrent verifiers: challenge → seal → verify → audit over loopback HTTP.
    Attest(super::bench_service::LoadArgs),
}

/// Options of `cphar bench verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Seconds per measurement round.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Rounds (the median is reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

/// Runs the command.
pub fn run(command: Command) -> Result<ExitCode> {
    let args = match command {
        Command::Verify(args) => args,
        Command::Report(args) => return super::bench_report::run(args),
        Command::Registry(args) => return super::bench_registry::run(args),
        Command::Audit(args) => return super::bench_service::audit(args),
        Command::Tsa(args) => return super::bench_service::tsa(args),
        Command::Attest(args) => return super::bench_service::attest(args),
    };
    let round = Duration::from_secs_f64(args.seconds.max(0.05));
    let rounds = args.rounds.max(1);
    println!(
        "cphar bench verify — one thread, {} round(s) of {:.2} s, median reported",
        rounds,
        round.as_secs_f64()
    );
    println!(
        "{:<22} {:>14} {:>16} {:>8} {:>16} {:>8}",
        "profile", "bare verify/s", "procedure/s", "ratio", "from JSON/s", "ratio"
    );
    for (name, alg) in [
        ("A (Ed25519)", Algorithm::Ed25519),
        ("B (ECDSA P-256, DER)", Algorithm::EcdsaP256Sha256),
    ] {
        let f = Fixture::new(alg)?;
        let (mut bare, mut proc_, mut json) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            bare.push(rate(round, || {
                f.key
                    .verify(f.request.canonical_bytes(), &f.signature)
                    .is_ok()
            }));
            proc_.push(rate(round, || {
                verify(&f.request, &f.response, &f.document, &f.policy, f.now, None).result
                    == ResultCode::Valid
            }));
            json.push(rate(round, || {
                verify_json(
                    &f.request_json,
                    &f.response_json,
                    &f.document_json,
                    &f.policy,
                    f.now,
                    None,
                )
                .result
                    == ResultCode::Valid
            }));
        }
        let (b, p, j) = (median(bare), median(proc_), median(json));
        println!(
            "{:<22} {:>14.0} {:>16.0} {:>7.3}x {:>16.0} {:>7.3}x",
            name,
            b,
            p,
            b / p,
            j,
            b / j
        );
    }
    println!("ratio = cost of one verification / cost of the bare signature check (goal ≤ 1.1x)");
    Ok(ExitCode::SUCCESS)
}

struct Fixture {
    key: cphar_crypto::VerifyingKey,
    signature: Vec<u8>,
    request: ChallengeRequest,
    response: cphar_protocol::ChallengeResponse,
    document: DidDocument,
    request_json: Vec<u8>,
    response_json: Vec<u8>,
    document_json: Vec<u8>,
    policy: VerifierPolicy,
    now: Timestamp,
}

impl Fixture {
    fn new(alg: Algorithm) -> Result<Self> {
        let did = "did:web:reg.example:lots:LOT-BENCH";
        let method_id = format!("{did}#seal-1");
        let signing = SigningKey::generate(alg).context("key generation")?;
        let key = signing.verifying_key();
        let now = Timestamp::parse("2026-11-23T10:00:00Z")?;
        let spec = MethodSpec {
            id: method_id.clone(),
            controller: did.into(),
            jwk: key.to_jwk(),
            bal: Bal::Bal2,
            tfp: Some(TFP_1.into()),
            revoked: None,
            pid: None,
            pbac: None,
            profile_c_risk_acceptance: None,
            status_signature: false,
            max_attestation_interval_seconds: None,
        };
        let document_value = document_json(did, 1, &[spec]);
        let document = DidDocument::from_value(document_value.clone())?;
        let request = ChallengeRequest::issue(ChallengeParams {
            did: did.into(),
            did_version: None,
            nonce: cphar_crypto::random_bytes::<32>()?.to_vec(),
            timestamp: now,
            verifier: "did:web:verifier.example".into(),
            min_bal: Some(Bal::Bal2),
            request_pbac: None,
        })?;
        let seal = SoftwareSeal::new(signing, method_id, Bal::Bal2);
        let response = seal.respond(&request, now)?;
        let signature = cphar_crypto::b64::decode(response.signature())?;
        let policy = VerifierPolicy::default();
        let check = verify(&request, &response, &document, &policy, now, None);
        anyhow::ensure!(
            check.result == ResultCode::Valid,
            "fixture does not verify: {check:?}"
        );
        Ok(Fixture {
            request_json: serde_json::to_vec(request.raw())?,
            response_json: serde_json::to_vec(response.raw())?,
            document_json: serde_json::to_vec(&document_value)?,
            key,
            signature,
            request,
            response,
            document,
            policy,
            now,
        })
    }
}

/// Operations per second of `op` over about `round`; every result must be `true`.
fn rate(round: Duration, mut op: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    let mut n: u64 = 0;
    let mut ok = true;
    while start.elapsed() < round {
        for _ in 0..32 {
            ok &= black_box(op());
        }
        n += 32;
    }
    assert!(ok, "a benchmarked verification failed");
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
