//! The admin API token file (`DATA_DIR/admin-token`): made at the first start, and again on
//! request when it was lost.
//!
//! The secret exists only in that file (the database keeps its SHA-256), so the file is
//! written — owner-only, create-new, synced — **before** the token is committed: if the
//! write fails nothing is committed and the next start tries again; if the commit fails the
//! file is removed. A lost file is recovered with [`reset`] (`cphar serve
//! --reset-admin-token`): a new admin token, written the same way and audited as
//! `token_created` by [`RESET_ACTOR`]; earlier tokens stay valid until revoked.

use crate::auth::{Role, TokenGrant, new_token};
use crate::node::write_secret;
use crate::state::AppState;
use std::path::Path;

/// The admin token file in the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// The actor recorded for a token made by [`reset`].
pub const RESET_ACTOR: &str = "registry.reset-admin-token";

/// Why no admin token file could be made.
#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    /// `reset` found a token file already there: it is not overwritten.
    #[error("{0} exists: remove it (after revoking the token it holds) before a reset")]
    FileExists(String),
    /// Reading the clock, drawing randomness, writing the file or the database failed.
    #[error("{0}")]
    Failed(String),
}

/// At the first start (no token in the database): a new admin token, written to `path`
/// before it is committed. Returns whether one was made. A file left at `path` by an
/// earlier start whose commit never happened holds no valid token and is replaced.
pub async fn bootstrap(state: &AppState, path: &Path) -> Result<bool, AdminTokenError> {
    let store = state.node.registry.store();
    let count = store
        .token_count()
        .await
        .map_err(|e| AdminTokenError::Failed(e.to_string()))?;
    if count > 0 {
        return Ok(false);
    }
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| {
            AdminTokenError::Failed(format!("cannot replace {}: {e}", path.display()))
        })?;
    }
    issue(state, path, "registry").await?;
    Ok(true)
}

/// Recovery: a new admin token written to `path` (which must not exist), then committed
/// and audited.
pub async fn reset(state: &AppState, path: &Path) -> Result<(), AdminTokenError> {
    if path.exists() {
        return Err(AdminTokenError::FileExists(path.display().to_string()));
    }
    issue(state, path, RESET_ACTOR).await
}

async fn issue(state: &AppState, path: &Path, actor: &str) -> Result<(), AdminTokenError> {
    let failed = |e: String| AdminTokenError::Failed(e);
    let now = state.now().map_err(|p| failed(p.detail))?;
    let grant = TokenGrant {
        role: Role::Admin,
        subject: "admin",
        verifier_did: None,
        expires: None,
    };
    let (text, row) = new_token(&grant, now).map_err(|p| failed(p.detail))?;
    let text = zeroize::Zeroizing::new(format!("{text}\n"));
    write_secret(path, text.as_bytes()).map_err(|e| failed(e.to_string()))?;
    if let Err(e) = state.node.registry.create_token(row, actor).await {
        // Never leave a file holding a token that does not exist.
        let cleanup = match std::fs::remove_file(path) {
            Ok(()) => String::new(),
            Err(r) => format!("; remove {} by hand ({r})", path.display()),
        };
        return Err(failed(format!(
            "cannot record the admin token: {e}{cleanup}"
        )));
    }
    Ok(())
}
