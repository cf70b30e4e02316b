//! Roles and API tokens. A token is `cphar_<id>.<secret>`: the id finds the stored record,
//! only the SHA-256 of the secret is stored, compared in constant time. Tokens are shown once,
//! expire, and can be revoked; every creation and revocation is an audit event.

use crate::problem::{ApiCode, Problem};
use axum::http::{HeaderMap, header};
use cphar_crypto::hex;
use cphar_protocol::Timestamp;
use cphar_registry::Store;
use cphar_store::{AnyStore, TokenRow};
use subtle::ConstantTimeEq;

cphar_protocol::wire_enum! {
    /// Who may call what.
    Role {
        /// Registers seals (seed 001 provisioning).
        Vendor => "vendor",
        /// Records inspections and custody.
        Inspector => "inspector",
        /// Binds, revokes, retires, rebinds, decommissions; records custody.
        Operator => "operator",
        /// Signs bindings off; reads everything.
        Auditor => "auditor",
        /// Challenges seals.
        Verifier => "verifier",
        /// Manages tokens, policy and the Enrollment Authority.
        Admin => "admin",
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Token id (the credential, for rate limiting).
    pub token_id: String,
    /// Role.
    pub role: Role,
    /// Identity acting (recorded as the actor of registry events).
    pub subject: String,
    /// For a verifier: the DID it acts for, bound to its token when the token was made.
    pub verifier_did: Option<String>,
}

/// Prefix of every token.
pub const TOKEN_PREFIX: &str = "cphar_";

/// A freshly made token: the secret text (shown once) and the row to store.
pub fn new_token(grant: &TokenGrant<'_>, now: Timestamp) -> Result<(String, TokenRow), Problem> {
    let id = cphar_crypto::random_bytes::<8>()
        .map_err(|e| Problem::unavailable(ApiCode::RngFailure, e))?;
    let secret = cphar_crypto::random_bytes::<32>()
        .map_err(|e| Problem::unavailable(ApiCode::RngFailure, e))?;
    let id = hex(&id);
    let secret = cphar_crypto::b64::encode(&secret);
    let row = TokenRow {
        id: id.clone(),
        secret_hash: hex(&cphar_crypto::sha256(secret.as_bytes())),
        role: grant.role.as_str().to_owned(),
        subject: grant.subject.to_owned(),
        verifier_did: grant.verifier_did.clone(),
        created_ns: nanos(now),
        expires_ns: grant.expires.map(nanos),
        revoked: false,
    };
    Ok((format!("{TOKEN_PREFIX}{id}.{secret}"), row))
}

/// What a new token grants.
pub struct TokenGrant<'a> {
    /// Its role.
    pub role: Role,
    /// The identity it acts as.
    pub subject: &'a str,
    /// For a verifier token, the DID it acts for.
    pub verifier_did: Option<String>,
    /// When it expires (`None`: never).
    pub expires: Option<Timestamp>,
}

/// Creates a token and records it in the audit log; returns (token text, id).
pub async fn issue_token(
    s: &crate::state::AppState,
    grant: &TokenGrant<'_>,
    now: Timestamp,
    actor: &str,
) -> Result<(String, String), Problem> {
    let (text, row) = new_token(grant, now)?;
    let id = row.id.clone();
    s.node.registry.create_token(row, actor).await?;
    Ok((text, id))
}

/// Authenticates the `Authorization: Bearer` header against the store.
pub async fn authenticate(
    headers: &HeaderMap,
    store: &AnyStore,
    cache: &TokenCache,
    now: Timestamp,
    on_miss: impl FnOnce() -> Result<(), Problem>,
) -> Result<Caller, Problem> {
    let unauthorized = |why: &str| Problem::new(ApiCode::Unauthenticated, why);
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("an API token is required (Authorization: Bearer …)"))?;
    let token = value
        .strip_prefix("Bearer ")
        .and_then(|t| t.strip_prefix(TOKEN_PREFIX))
        .ok_or_else(|| unauthorized("malformed Authorization header"))?;
    let (id, secret) = token
        .split_once('.')
        .ok_or_else(|| unauthorized("malformed token"))?;
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(unauthorized("malformed token"));
    }
    let row = match cache.get(id) {
        Some(row) => Some(row),
        None => {
            // A database read anyone can ask for with a made-up id: charged to the client.
            on_miss()?;
            let row = store.token(id).await.map_err(Problem::from)?;
            if let Some(r) = &row {
                cache.put(r.clone());
            }
            row
        }
    };
    // Compare something in every case so that unknown ids and wrong secrets cost the same.
    let presented = hex(&cphar_crypto::sha256(secret.as_bytes()));
    let stored = row
        .as_ref()
        .map_or_else(|| "0".repeat(64), |r| r.secret_hash.clone());
    let matches: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
    let row = match row {
        Some(r) if matches => r,
        _ => return Err(unauthorized("unknown token")),
    };
    if row.revoked {
        return Err(unauthorized("the token is revoked"));
    }
    if row.expires_ns.is_some_and(|e| nanos(now) >= e) {
        return Err(unauthorized("the token has expired"));
    }
    let role = row
        .role
        .parse::<Role>()
        .map_err(|_| unauthorized("the token has an unknown role"))?;
    Ok(Caller {
        token_id: row.id,
        role,
        subject: row.subject,
        verifier_did: row.verifier_did,
    })
}

/// Refuses a caller whose role is not among `allowed` (403 with `role_not_allowed`).
pub fn require(caller: &Caller, allowed: &[Role]) -> Result<(), Problem> {
    if allowed.contains(&caller.role) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        Err(Problem::new(
            ApiCode::RoleNotAllowed,
            format!(
                "this needs the role {}; the token is {}",
                names.join(" or "),
                caller.role
            ),
        ))
    }
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

/// Recently read token records, so that a busy client does not cost a database read per
/// request. An entry is trusted for [`TokenCache::TTL`]: a revocation made by this process
/// takes effect at once ([`TokenCache::forget`]), one made by another server process sharing
/// the database within the TTL. Secrets are still checked on every request.
pub struct TokenCache {
    entries: parking_lot::Mutex<std::collections::HashMap<String, (TokenRow, std::time::Instant)>>,
}

impl TokenCache {
    /// How long a cached record is trusted.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(2);
    /// Most records kept (the cache is cleared when full).
    const CAPACITY: usize = 10_000;

    /// An empty cache.
    pub fn new() -> Self {
        TokenCache {
            entries: parking_lot::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn get(&self, id: &str) -> Option<TokenRow> {
        let entries = self.entries.lock();
        entries
            .get(id)
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(row, _)| row.clone())
    }

    fn put(&self, row: TokenRow) {
        let mut entries = self.entries.lock();
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(row.id.clone(), (row, std::time::Instant::now()));
    }

    /// Drops a token's record (after revoking it).
    pub fn forget(&self, id: &str) {
        self.entries.lock().remove(id);
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}
