//! `cphar demo`: a guided run of the binding protocol with real keys and signatures — seals
//! provisioned, a lot's DID document published, challenges answered and verified, and the
//! attacks the protocol refuses (replay, impostor seal, tampering, revocation, flooding).
//!
//! Every decision is printed with its result and reason code; the command exits 0 only if
//! every decision is the one the protocol requires.

use anyhow::{Context, Result};
use cphar_crypto::{Algorithm, SigningKey};
use cphar_protocol::did::{MethodSpec, Revocation, document_json};
use cphar_protocol::ratelimit::{RateLimitConfig, RateLimiter};
use cphar_protocol::replay::NonceCache;
use cphar_protocol::seal::SoftwareSeal;
use cphar_protocol::{
    Bal, ChallengeParams, ChallengeRequest, ChallengeResponse, DeviceStatus, DidDocument, Outcome,
    RevocationReason, TFP_1, Timestamp, VerifierPolicy, verify,
};
use std::process::ExitCode;

/// No options.
#[derive(clap::Args)]
pub struct Args {}

const VERIFIER: &str = "did:web:verifier.example";

struct Demo {
    policy: VerifierPolicy,
    nonces: NonceCache,
    all_as_expected: bool,
}

impl Demo {
    fn challenge(&self, did: &str, version: Option<&str>) -> Result<ChallengeRequest> {
        Ok(ChallengeRequest::issue(ChallengeParams {
            did: did.into(),
            did_version: version.map(str::to_owned),
            nonce: cphar_crypto::random_bytes::<32>()?.to_vec(),
            timestamp: Timestamp::now_utc(),
            verifier: VERIFIER.into(),
            min_bal: Some(Bal::Bal2),
            request_pbac: None,
        })?)
    }

    /// Verifies, then enforces single use of the nonce, and prints the decision.
    fn decide(
        &mut self,
        what: &str,
        request: &ChallengeRequest,
        response: &ChallengeResponse,
        document: &DidDocument,
        expected: &str,
    ) {
        let now = Timestamp::now_utc();
        let outcome: Outcome = verify(request, response, document, &self.policy, now, None);
        let (result, detail) = if outcome.result.is_valid() {
            match self.nonces.check_and_remember(request.nonce_bytes(), now) {
                Ok(()) => ("valid".to_owned(), "-".to_owned()),
                Err(e) => ("refused".to_owned(), e.code().to_owned()),
            }
        } else {
            (
                outcome.result.as_str().to_owned(),
                outcome.detail.unwrap_or("-").to_owned(),
            )
        };
        let ok = result == expected;
        self.all_as_expected &= ok;
        println!(
            "  {:<44} {:<26} {:<24} {}",
            what,
            result,
            detail,
            if ok { "as required" } else { "UNEXPECTED" }
        );
    }
}

/// Runs the command.
pub fn run(_: Args) -> Result<ExitCode> {
    let mut demo = Demo {
        policy: VerifierPolicy::default(),
        nonces: NonceCache::new(cphar_protocol::verify::DEFAULT_SKEW * 2, 100_000),
        all_as_expected: true,
    };
    println!(
        "CPHAR demo — UORA binding protocol with software seals (keys never leave the seal)\n"
    );

    println!("1. Provisioning seals");
    let gold_key = SigningKey::generate(Algorithm::Ed25519).context("key generation")?;
    let grain_key = SigningKey::generate(Algorithm::EcdsaP256Sha256).context("key generation")?;
    let impostor_key = SigningKey::generate(Algorithm::Ed25519).context("key generation")?;
    for (name, key) in [
        ("seal-gold (profile A, Ed25519)", &gold_key),
        ("seal-grain (profile B, P-256)", &grain_key),
    ] {
        let thumb = key.verifying_key().to_jwk().thumbprint_b64()?;
        println!("  {name:<32} JWK thumbprint {thumb}");
    }

    println!("\n2. Registry publishes the lots' DID documents (BAL-2, TFP-1)");
    let gold_did = "did:web:registry.example:lots:GOLD-0001";
    let grain_did = "did:web:registry.example:lots:GRAIN-0042";
    let spec = |did: &str, key: &SigningKey, revoked: Option<Revocation>| MethodSpec {
        id: format!("{did}#seal-1"),
        controller: did.to_owned(),
        jwk: key.verifying_key().to_jwk(),
        bal: Bal::Bal2,
        tfp: Some(TFP_1.to_owned()),
        revoked,
        pid: None,
        pbac: None,
        profile_c_risk_acceptance: None,
    };
    let gold_doc = DidDocument::from_value(document_json(
        gold_did,
        1,
        &[spec(gold_did, &gold_key, None)],
    ))?;
    let grain_doc = DidDocument::from_value(document_json(
        grain_did,
        1,
        &[spec(grain_did, &grain_key, None)],
    ))?;
    println!("  {gold_did} (version 1)\n  {grain_did} (version 1)");

    println!("\n3. Verifiers challenge the seals");
    println!(
        "  {:<44} {:<26} {:<24} check",
        "decision", "result", "reason code"
    );
    let gold_seal = SoftwareSeal::new(gold_key, format!("{gold_did}#seal-1"), Bal::Bal2);
    let grain_seal = SoftwareSeal::new(grain_key, format!("{grain_did}#seal-1"), Bal::Bal2);
    let req = demo.challenge(gold_did, None)?;
    let resp = gold_seal.respond(&req, Timestamp::now_utc())?;
    demo.decide(
        "GOLD-0001 answers a fresh challenge",
        &req,
        &resp,
        &gold_doc,
        "valid",
    );
    demo.decide(
        "the same answer replayed",
        &req,
        &resp,
        &gold_doc,
        "refused",
    );
    let req = demo.challenge(grain_did, Some("1"))?;
    let resp = grain_seal.respond(&req, Timestamp::now_utc())?;
    demo.decide(
        "GRAIN-0042 answers (pinned version 1)",
        &req,
        &resp,
        &grain_doc,
        "valid",
    );

    println!("\n4. Attacks and failures");
    let impostor = SoftwareSeal::new(impostor_key, format!("{gold_did}#seal-1"), Bal::Bal2);
    let req = demo.challenge(gold_did, None)?;
    let resp = impostor.respond(&req, Timestamp::now_utc())?;
    demo.decide(
        "an impostor seal answers for GOLD-0001",
        &req,
        &resp,
        &gold_doc,
        "invalid_signature",
    );
    let mut broken = SoftwareSeal::new(
        SigningKey::from_pkcs8_pem(&gold_seal.key().to_pkcs8_pem()?)?,
        format!("{gold_did}#seal-1"),
        Bal::Bal2,
    );
    broken.set_status(DeviceStatus::Tampered);
    let req = demo.challenge(gold_did, None)?;
    let resp = broken.respond(&req, Timestamp::now_utc())?;
    demo.decide(
        "GOLD-0001 seal reports tampering",
        &req,
        &resp,
        &gold_doc,
        "verification_inconclusive",
    );
    let revoked = Some(Revocation {
        timestamp: Timestamp::now_utc(),
        reason: RevocationReason::TamperDetected,
    });
    let gold_doc_v2 = DidDocument::from_value(document_json(
        gold_did,
        2,
        &[spec(gold_did, gold_seal.key(), revoked)],
    ))?;
    let req = demo.challenge(gold_did, None)?;
    let resp = gold_seal.respond(&req, Timestamp::now_utc())?;
    demo.decide(
        "GOLD-0001 after revocation (version 2)",
        &req,
        &resp,
        &gold_doc_v2,
        "revoked_binding",
    );
    let req = demo.challenge(gold_did, Some("1"))?;
    let resp = gold_seal.respond(&req, Timestamp::now_utc())?;
    demo.decide(
        "challenge pinned to a version not resolved",
        &req,
        &resp,
        &gold_doc_v2,
        "version_unavailable",
    );

    println!("\n5. Rate limiting (seed 002 §4.3.7: 10 per 60 s per verifier DID)");
    let limiter = RateLimiter::new(RateLimitConfig::default());
    let now = Timestamp::now_utc();
    let accepted = (0..12)
        .filter(|_| limiter.check(VERIFIER, now).is_ok())
        .count();
    let refused = limiter.check(VERIFIER, now).err();
    println!(
        "  13 challenges in one instant: {accepted} accepted, then refused with {} (retry after {})",
        refused.map_or("-", |r| r.code()),
        refused.map_or(String::from("-"), |r| r.retry_after.to_string())
    );
    demo.all_as_expected &= accepted == 10 && refused.is_some();

    println!();
    if demo.all_as_expected {
        println!("Every decision is the one the protocol requires.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("Some decisions were not the required ones.");
        Ok(ExitCode::from(1))
    }
}
