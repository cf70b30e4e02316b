//! Administration: policy, API tokens, the Enrollment Authority key.

use super::registry::Empty;
use crate::auth::{Role, new_token, require};
use crate::extract::{ApiPath, Auth, JsonBody, RawBody};
use crate::problem::{ApiCode, Problem};
use crate::state::AppState;
use axum::extract::State;
use cphar_protocol::Timestamp;
use cphar_registry::event::{EventType, RegistryEvent};
use cphar_registry::{ChangeSet, RefusalCode, Store};
use cphar_store::TokenWrite;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiResult, S, created, ok};

// ---------------------------------------------------------------------------------------------
// Admin

/// `GET /policy` (any role): the active policy.
pub async fn get_policy(State(s): S, Auth(_): Auth) -> ApiResult {
    let Some(store) = &s.policy else {
        return Err(Problem::new(ApiCode::NoPolicy, "no policy is configured"));
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
        .map_err(|_| Problem::new(ApiCode::MalformedJson, "not UTF-8"))?;
    let engine = cphar_policy::PolicyEngine::from_json(text)
        .map_err(|e| Problem::new(ApiCode::InvalidPolicy, e.to_string()))?;
    let Some(store) = &s.policy else {
        return Err(Problem::new(
            ApiCode::PolicyNotManaged,
            "start the server with a policy file to manage policies",
        ));
    };
    let now = s.now()?;
    let change = store
        .replace(engine)
        .map_err(|e| Problem::new(e.code(), e.to_string()))?;
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
    let role: Role = b
        .role
        .parse()
        .map_err(|_| Problem::new(ApiCode::InvalidInput, "unknown role"))?;
    if b.subject.is_empty() || b.subject.len() > 128 || b.subject.chars().any(char::is_control) {
        return Err(Problem::new(
            ApiCode::InvalidInput,
            "subject must be 1-128 printable characters",
        ));
    }
    let now = s.now()?;
    let expires = b.expires_in_seconds.and_then(|secs| {
        now.checked_add(time::Duration::seconds(
            i64::try_from(secs).unwrap_or(i64::MAX),
        ))
    });
    let (text, id) = issue_token_record(&s, role, &b.subject, now, expires, &c.subject).await?;
    created(json!({"id": id, "token": text, "role": role.as_str(), "subject": b.subject}))
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
        Err(cphar_registry::StoreError::Conflict(_)) => Err(Problem::new(
            ApiCode::TokenNotFound,
            "no such unrevoked token",
        )),
        Err(e) => Err(e.into()),
    }
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
