//! The verifier service: challenges and their answers. Both are registry operations
//! ([`cphar_registry::attest`]); these handlers authenticate, rate-limit and translate.
//!
//! The verifier DID a challenge names is the one bound to the caller's token when it was made:
//! a verifier cannot ask in another verifier's name, nor spend another verifier's rate limit.

use crate::auth::{Caller, Role, require};
use crate::extract::{ApiPath, Auth, JsonBody, RawBody};
use crate::problem::{ApiCode, Problem};
use axum::extract::State;
use cphar_protocol::Bal;
use cphar_registry::attest::{Answer, ChallengeOrder, IssuedChallenge};
use serde::Deserialize;

use super::{ApiResult, S, created, ok};

/// `POST /challenges` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChallengeBody {
    lot_id: String,
    min_bal: Option<String>,
    request_pbac: Option<bool>,
}

/// `POST /challenges` (verifier): a ChallengeRequest with a fresh 32-byte CSPRNG nonce, in the
/// name of the verifier DID bound to the caller's token.
pub async fn issue_challenge(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Verifier])?;
    let b: ChallengeBody = body.parse()?;
    let verifier = verifier_did(&c)?;
    let now = s.now()?;
    s.limit(&s.credential_limiter, &c.token_id, now)?;
    s.limit(&s.verifier_limiter, verifier, now)?;
    let min_bal = b
        .min_bal
        .map(|m| {
            m.parse::<Bal>()
                .map_err(|_| Problem::new(ApiCode::InvalidInput, "minBal must be BAL-1..BAL-4"))
        })
        .transpose()?;
    let order = ChallengeOrder {
        lot_id: &b.lot_id,
        verifier_did: verifier,
        min_bal,
        request_pbac: b.request_pbac,
    };
    let IssuedChallenge { id, request } = s
        .node
        .registry
        .issue_challenge(&order, &s.attestation)
        .await?;
    created(serde_json::json!({"challengeId": id, "request": request.raw()}))
}

/// `POST /challenges/{id}/response` (verifier): verifies the ChallengeResponse (raw JSON, the
/// signature covers the request as issued) against the lot's current DID document and records
/// the outcome. A challenge is answered once: a replayed response, from any server process, is
/// refused.
pub async fn answer_challenge(
    State(s): S,
    Auth(c): Auth,
    ApiPath(id): ApiPath<String>,
    body: RawBody,
) -> ApiResult {
    require(&c, &[Role::Verifier])?;
    let verifier = verifier_did(&c)?;
    let body = body.bytes()?;
    let received = s.now()?;
    s.limit(&s.credential_limiter, &c.token_id, received)?;
    // Checked before the challenge is spent: a 429 leaves it usable.
    s.limit(&s.verifier_limiter, verifier, received)?;
    let record =
        crate::attestation::record_answer(&s, &id, Answer::Response(&body), &c.subject, received)
            .await?;
    ok(record.to_json())
}

/// The verifier DID bound to the caller's token.
fn verifier_did(c: &Caller) -> Result<&str, Problem> {
    c.verifier_did.as_deref().ok_or_else(|| {
        Problem::new(
            ApiCode::VerifierDidUnbound,
            "this token is bound to no verifier DID: ask an admin for a verifier token",
        )
    })
}
