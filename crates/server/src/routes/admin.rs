//! Administration: policy, API tokens, the Enrollment Authority key.

use super::registry::Empty;
use crate::auth::{Role, new_token, require};
use crate::extract::{ApiPath, Auth, JsonBody, RawBody};
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use cphar_protocol::Timestamp;
use cphar_registry::event::{EventType, RegistryEvent};
use cphar_registry::{ChangeSet, Store};
use cphar_store::TokenWrite;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiResult, S, created, ok};

// ---------------------------------------------------------------------------------------------
// Admin

/// `GET /policy` (any role): the active policy.
pub async fn get_policy(State(s): S, Auth(_): Auth) -> ApiResult {
    let Some(store) = &s.policy else {
        return Err(Problem::not_found("no_policy", "no policy is configured"));
    };
    let p = store.active();
    let rules: Vec<Value> = p
        .rules()
        .iter()
        .map(
            |r| json!({"id": r.id(), "effect": r.effect().as_str(), "reasonCode": r.reason_code()}),
        )
        .collect();
    ok(json!({"policyId": p.policy_id(), "version": p.version(), "rules": rules}))
}

/// `PUT /policy` (admin): replaces the policy with a newer version (JSON form of the policy
/// file). The change is audited; an older or equal version is refused.
pub async fn put_policy(State(s): S, Auth(c): Auth, body: RawBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let bytes = body.bytes()?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Problem::bad_request("malformed_json", "not UTF-8"))?;
    let engine = cphar_policy::PolicyEngine::from_json(text).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_policy",
            e.to_string(),
        )
    })?;
    let Some(store) = &s.policy else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no_policy",
            "start the server with a policy file to manage policies",
        ));
    };
    let now = s.now()?;
    let change = store
        .replace(engine)
        .map_err(|e| Problem::new(StatusCode::CONFLICT, e.code().as_str(), e.to_string()))?;
    crate::telemetry::policy_changed(
        &change.new.policy_id,
        change.new.version,
        change.old.version,
    );
    let event = RegistryEvent {
        event_type: EventType::PolicyChanged,
        subject: "policy".into(),
        actor: c.subject.clone(),
        at: now,
        reason_code: None,
        data: change.to_json(),
    };
    s.node
        .registry
        .store()
        .apply(ChangeSet {
            events: vec![event],
            ..ChangeSet::default()
        })
        .await?;
    ok(change.to_json())
}

/// `POST /tokens` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenBody {
    role: String,
    subject: String,
    expires_in_seconds: Option<u64>,
}

/// `POST /tokens` (admin): a new API token, shown once.
pub async fn create_token(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let b: TokenBody = body.parse()?;
    let role: Role = b.role.parse().map_err(|_| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "unknown role",
        )
    })?;
    // The token's subject is the actor of everything done with it: one canonical spelling.
    let subject = cphar_registry::ident::normalize_subject(&b.subject)
        .map_err(|r| Problem::from(cphar_registry::RegistryError::Refused(r)))?;
    let now = s.now()?;
    let expires = token_expiry(&s.config, now, b.expires_in_seconds)?;
    let (text, id) = issue_token_record(&s, role, &subject, now, Some(expires), &c.subject).await?;
    created(
        json!({"id": id, "token": text, "role": role.as_str(), "subject": subject, "expiresAt": expires.to_string()}),
    )
}

/// When a token made at `now` expires: after `expires_in_seconds` (1 ..=
/// `token_max_lifetime_seconds`), or after `token_default_lifetime_seconds` when the request
/// names none. Every token made through the API expires; only the bootstrap admin token
/// (written to the data directory at the first start) does not.
pub fn token_expiry(
    config: &crate::config::ServerConfig,
    now: Timestamp,
    expires_in_seconds: Option<u64>,
) -> Result<Timestamp, Problem> {
    let max = config.token_max_lifetime_seconds.max(1);
    let secs =
        expires_in_seconds.unwrap_or_else(|| config.token_default_lifetime_seconds.clamp(1, max));
    let refused = || {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_token_lifetime",
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

/// Creates a token and records it in the audit log; returns (token text, id).
pub async fn issue_token_record(
    s: &AppState,
    role: Role,
    subject: &str,
    now: Timestamp,
    expires: Option<Timestamp>,
    actor: &str,
) -> Result<(String, String), Problem> {
    let (text, row) = new_token(role, subject, now, expires)?;
    let id = row.id.clone();
    let event = RegistryEvent {
        event_type: EventType::TokenCreated,
        subject: format!("token:{id}"),
        actor: actor.to_owned(),
        at: now,
        reason_code: None,
        data: json!({"tokenId": id, "role": role.as_str(), "subject": subject, "expiresAt": expires.map(|t| t.to_string())}),
    };
    s.node
        .registry
        .store()
        .token_write(TokenWrite::Insert(row), event)
        .await?;
    Ok((text, id))
}

/// `DELETE /tokens/{id}` (admin).
pub async fn revoke_token(State(s): S, Auth(c): Auth, ApiPath(id): ApiPath<String>) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let now = s.now()?;
    let event = RegistryEvent {
        event_type: EventType::TokenRevoked,
        subject: format!("token:{id}"),
        actor: c.subject.clone(),
        at: now,
        reason_code: None,
        data: json!({"tokenId": id}),
    };
    match s
        .node
        .registry
        .store()
        .token_write(TokenWrite::Revoke(id.clone()), event)
        .await
    {
        Ok(_) => {
            s.tokens.forget(&id);
            ok(json!({"revoked": id}))
        }
        Err(cphar_registry::StoreError::Conflict(_)) => Err(Problem::not_found(
            "token_not_found",
            "no such unrevoked token",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /authority/revoke` (admin): revoke the current EA key, rotate to a new one.
pub async fn revoke_authority(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let _: Empty = body.parse()?;
    let current = s.node.registry.current_authority_key_id().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "authority_unavailable",
            "no EA key",
        )
    })?;
    let next = cphar_crypto::SigningKey::generate(cphar_crypto::Algorithm::Ed25519)
        .map_err(|e| Problem::unavailable("keygen_failed", e))?;
    let pem = next
        .to_pkcs8_pem()
        .map_err(|e| Problem::unavailable("keygen_failed", e))?;
    let staged = s
        .node
        .config
        .data_dir
        .join(format!("{}.next", crate::node::EA_KEY_FILE));
    let _ = std::fs::remove_file(&staged);
    crate::node::write_secret(&staged, pem.as_bytes())
        .map_err(|e| Problem::unavailable("key_storage", e))?;
    let new_id = s
        .node
        .registry
        .revoke_authority(&current, next, &c.subject)
        .await?;
    std::fs::rename(
        &staged,
        s.node.config.data_dir.join(crate::node::EA_KEY_FILE),
    )
    .map_err(|e| Problem::unavailable("key_storage", e))?;
    ok(json!({"revoked": current, "current": new_id}))
}

/// `POST /authority/expire` (admin): revoke suspended bindings past their window.
pub async fn expire_authority(State(s): S, Auth(c): Auth, body: JsonBody) -> ApiResult {
    require(&c, &[Role::Admin])?;
    let _: Empty = body.parse()?;
    ok(json!({"revoked": s.node.registry.expire_reenrollments(&c.subject).await?}))
}
