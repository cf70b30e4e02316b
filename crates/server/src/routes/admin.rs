//! Administration: policy, API tokens, the Enrollment Authority key.

use super::registry::Empty;
use crate::auth::{Role, TokenGrant, issue_token, require};
use crate::extract::{ApiPath, Auth, JsonBody, RawBody};
use crate::problem::{ApiCode, Problem};
use axum::extract::State;
use cphar_registry::RefusalCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiResult, S, created, ok};

// ---------------------------------------------------------------------------------------------
// Admin

/// `GET /session` (any role): the role and subject of the presented token, so that a client
/// (the web dashboard) can offer only what the role may do. Nothing secret: the caller holds
/// the token already.
pub async fn session(Auth(c): Auth) -> ApiResult {
    ok(json!({
        "role": c.role.as_str(),
        "subject": c.subject,
        "verifierDid": c.verifier_did,
    }))
}

/// `GET /policy` (any role): the policy in force.
pub async fn get_policy(State(s): S, Auth(_): Auth) -> ApiResult {
    let p = s
        .node
        .registry
        .policy_in_force()
        .await?
        .ok_or_else(|| Problem::new(ApiCode::NoPolicy, "no policy is in force"))?;
    let rules: Vec<Value> = p
        .rules()
        .iter()
        .map(
            |r| json!({"id": r.id(), "effect": r.effect().as_str(), "reasonCode": r.reason_code()}),
        )
        .collect();
    ok(json!({"policyId": p.policy_id(), "version": p.version(), "rules": rules}))
}

/// `PUT /policy` (admin): puts a newer policy version in force (JSON form of the policy
/// file). The change is audited; a version not above every version of its id ever in force
/// (on any server, before any restart) is refused.
pub async fn put_policy(State(s): S, Auth(c): Auth, body: RawBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let bytes = body.bytes()?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Problem::new(ApiCode::MalformedJson, "not UTF-8"))?;
    let engine = cphar_policy::PolicyEngine::from_json(text)
        .map_err(|e| Problem::new(ApiCode::InvalidPolicy, e.to_string()))?;
    let change = s.node.registry.install_policy(&engine, &c.subject).await?;
    crate::telemetry::policy_changed(
        &change.new.policy_id,
        change.new.version,
        change.old.as_ref().map_or(0, |o| o.version),
    );
    ok(change.to_json())
}

/// `POST /tokens` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenBody {
    role: String,
    subject: String,
    expires_in_seconds: Option<u64>,
    /// For verifier tokens: the DID the verifier acts for (every challenge it asks for names
    /// it). Default: `did:web:HOST:verifiers:SUBJECT`.
    verifier_did: Option<String>,
}

/// `POST /tokens` (admin): a new API token, shown once.
pub async fn create_token(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let b: TokenBody = body.parse()?;
    let role: Role = b
        .role
        .parse()
        .map_err(|_| Problem::new(ApiCode::InvalidInput, "unknown role"))?;
    // The token's subject is the actor of everything done with it: one canonical spelling.
    let subject = cphar_registry::ident::normalize_subject(&b.subject)
        .map_err(|r| Problem::from(cphar_registry::RegistryError::Refused(r)))?;
    let verifier_did = match (role, b.verifier_did) {
        (Role::Verifier, Some(did)) if cphar_protocol::is_did(&did) => Some(did),
        (Role::Verifier, Some(_)) => {
            return Err(Problem::new(
                ApiCode::InvalidInput,
                "verifierDid must be a DID",
            ));
        }
        (Role::Verifier, None) => Some(default_verifier_did(&s.host, &subject)?),
        (_, Some(_)) => {
            return Err(Problem::new(
                ApiCode::InvalidInput,
                "verifierDid is only for verifier tokens",
            ));
        }
        (_, None) => None,
    };
    let now = s.now()?;
    let expires = token_expiry(&s.config, now, b.expires_in_seconds)?;
    let grant = TokenGrant {
        role,
        subject: &subject,
        verifier_did,
        expires: Some(expires),
    };
    let (text, id) = issue_token(&s, &grant, now, &c.subject).await?;
    created(json!({
        "id": id,
        "token": text,
        "role": role.as_str(),
        "subject": subject,
        "verifierDid": grant.verifier_did,
        "expiresAt": expires.to_string(),
    }))
}

/// When a token made at `now` expires: after `expires_in_seconds` (1 ..=
/// `token_max_lifetime_seconds`), or after `token_default_lifetime_seconds` when the request
/// names none. Every token made through the API expires; only the bootstrap admin token
/// (written to the data directory at the first start) does not.
pub fn token_expiry(
    config: &crate::config::ServerConfig,
    now: cphar_protocol::Timestamp,
    expires_in_seconds: Option<u64>,
) -> Result<cphar_protocol::Timestamp, Problem> {
    let max = config.token_max_lifetime_seconds.max(1);
    let secs =
        expires_in_seconds.unwrap_or_else(|| config.token_default_lifetime_seconds.clamp(1, max));
    let refused = || {
        Problem::new(
            ApiCode::InvalidTokenLifetime,
            format!("expiresInSeconds must be between 1 and {max}"),
        )
    };
    if secs == 0 || secs > max {
        return Err(refused());
    }
    let secs = i64::try_from(secs).map_err(|_| refused())?;
    now.checked_add(time::Duration::seconds(secs))
        .ok_or_else(refused)
}

/// The DID a verifier token acts for when none is given: one per subject, under the registry.
fn default_verifier_did(host: &str, subject: &str) -> Result<String, Problem> {
    if subject
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        Ok(format!("did:web:{host}:verifiers:{subject}"))
    } else {
        Err(Problem::new(
            ApiCode::InvalidInput,
            "give verifierDid: the subject cannot name a DID",
        ))
    }
}

/// `DELETE /tokens/{id}` (admin).
pub async fn revoke_token(State(s): S, Auth(c): Auth, ApiPath(id): ApiPath<String>) -> ApiResult {
    require(&c, &[Role::Admin])?;
    s.node.registry.revoke_token(&id, &c.subject).await?;
    s.tokens.forget(&id);
    ok(json!({"revoked": id}))
}

/// `POST /authority/revoke` (admin): revoke the current EA key, rotate to a new one.
pub async fn revoke_authority(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let _: Empty = body.parse()?;
    let current = s
        .node
        .registry
        .current_authority_key_id()
        .ok_or_else(|| Problem::new(RefusalCode::AuthorityUnavailable, "no EA key"))?;
    let next = cphar_crypto::SigningKey::generate(cphar_crypto::Algorithm::Ed25519)
        .map_err(|e| Problem::unavailable(ApiCode::KeygenFailed, e))?;
    let pem = next
        .to_pkcs8_pem()
        .map_err(|e| Problem::unavailable(ApiCode::KeygenFailed, e))?;
    let staged = s
        .node
        .config
        .data_dir
        .join(format!("{}.next", crate::node::EA_KEY_FILE));
    let _ = std::fs::remove_file(&staged);
    crate::node::write_secret(&staged, pem.as_bytes())
        .map_err(|e| Problem::unavailable(ApiCode::KeyStorage, e))?;
    let new_id = s
        .node
        .registry
        .revoke_authority(&current, next, &c.subject)
        .await?;
    std::fs::rename(
        &staged,
        s.node.config.data_dir.join(crate::node::EA_KEY_FILE),
    )
    .map_err(|e| Problem::unavailable(ApiCode::KeyStorage, e))?;
    ok(json!({"revoked": current, "current": new_id}))
}

/// `POST /authority/expire` (admin): revoke suspended bindings past their window.
pub async fn expire_authority(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let _: Empty = body.parse()?;
    ok(json!({"revoked": s.node.registry.expire_reenrollments(&c.subject).await?}))
}
