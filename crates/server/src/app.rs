//! The router, its middleware, and `serve` (plain or TLS, graceful shutdown).

use crate::config::ServerConfig;
use crate::metrics::RequestLabels;
use crate::node::{Node, NodeConfig};
use crate::routes as r;
use crate::state::AppState;
use crate::tsa::TsaService;
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use std::net::SocketAddr;
use std::sync::Arc;

/// The API router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    // Routes anyone may call, limited per client address (`anonymous_rate_limit`). Liveness
    // and readiness probes are left out: they read nothing and must answer under a flood.
    let anonymous = Router::new()
        .route("/metrics", get(r::public::metrics))
        .route("/openapi.json", get(r::public::openapi))
        .route("/.well-known/did.json", get(r::public::registry_did))
        .route("/lots/{id}/did.json", get(r::public::did_document))
        .route("/reserve/active", get(r::public::active))
        .route("/status/revocations", get(r::public::revocations))
        .route(
            "/status/revocations/entries",
            get(r::public::revocation_entries),
        )
        .route(
            "/status/revocations/{list}",
            get(r::public::revocation_list),
        )
        .route("/audit/entries", get(r::audit::audit_entries))
        .route("/audit/leaves", get(r::audit::audit_leaves))
        .route("/audit/checkpoint", get(r::audit::audit_checkpoint))
        .route("/audit/proof/{seq}", get(r::audit::audit_proof))
        .route("/audit/consistency", get(r::audit::audit_consistency))
        .route("/tsa/certificate", get(r::public::tsa_certificate))
        .route("/tsa", post(r::public::tsa))
        .route("/reports", get(r::reports::list))
        .route("/reports/latest", get(r::reports::latest))
        .route("/reports/key", get(r::reports::key))
        .route("/reports/{n}", get(r::reports::get))
        .route("/ui", get(r::ui::root))
        .route("/ui/", get(r::ui::index))
        .route("/ui/{file}", get(r::ui::file))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            limit_anonymous,
        ));
    Router::new()
        .route("/health", get(r::public::health))
        .route("/ready", get(r::public::ready))
        .merge(anonymous)
        .route("/seals", post(r::registry::register_seal))
        .route(
            "/enrollment/challenges",
            post(r::registry::enrollment_challenge),
        )
        .route("/seals/{uid}", get(r::registry::get_seal))
        .route(
            crate::extract::BATCH_PATH,
            post(r::registry::register_batch),
        )
        .route("/seals:batch/{id}", get(r::registry::get_batch))
        .route(
            "/seals:batch/{id}/items/{index}",
            get(r::registry::get_batch_item),
        )
        .route("/inspections", post(r::registry::inspect))
        .route("/custody", post(r::registry::custody))
        .route("/lots/{id}", get(r::registry::get_lot))
        .route("/lots/{id}/bind", post(r::registry::bind))
        .route("/lots/{id}/sign-off", post(r::registry::sign_off))
        .route("/lots/{id}/revoke", post(r::registry::revoke))
        .route("/lots/{id}/retire", post(r::registry::retire))
        .route("/lots/{id}/rebind", post(r::registry::rebind))
        .route("/lots/{id}/decommission", post(r::registry::decommission))
        .route("/lots/{id}/close-cycle", post(r::registry::close_cycle))
        .route("/lots/{id}/reenroll", post(r::registry::reenroll))
        .route("/challenges", post(r::verifier::issue_challenge))
        .route(
            "/challenges/{id}/response",
            post(r::verifier::answer_challenge),
        )
        .route("/tokens", post(r::admin::create_token))
        .route("/tokens/{id}", delete(r::admin::revoke_token))
        .route("/authority/revoke", post(r::admin::revoke_authority))
        .route("/authority/expire", post(r::admin::expire_authority))
        .route("/session", get(r::admin::session))
        .route(
            "/policy",
            get(r::admin::get_policy).put(r::admin::put_policy),
        )
        .route("/reports", post(r::reports::publish))
        .route("/reports/{n}/leaves", get(r::reports::leaves))
        .route("/reports/{n}/proof", get(r::reports::proof))
        .fallback(r::public::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            read_body_first,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            count_requests,
        ))
        .with_state(state)
}

/// Most bytes of a body over the limit read and thrown away (see [`read_body_first`]).
const DRAIN_LIMIT_BYTES: usize = 1024 * 1024;
/// How long a client may take to send its body.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the request body before any handler answers: up to the body limit plus one byte is
/// kept (so the body extractor still answers 413 for more), and up to [`DRAIN_LIMIT_BYTES`]
/// beyond it are read and discarded. A server that answers (401, 403, 413) while the client
/// is still sending and then closes makes the client see a reset or an incomplete message
/// instead of the answer; reading first makes the answer arrive whatever the timing. Memory
/// stays bounded by the limit; larger bodies still get the connection closed.
async fn read_body_first(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    if axum::body::HttpBody::is_end_stream(req.body()) {
        return next.run(req).await;
    }
    let keep = crate::extract::body_limit(&s, req.uri().path()).saturating_add(1);
    let (parts, mut body) = req.into_parts();
    let mut kept: Vec<u8> = Vec::new();
    let mut discarded = 0usize;
    let read = async {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else {
                continue; // trailers
            };
            let take = keep.saturating_sub(kept.len()).min(data.len());
            kept.extend_from_slice(data.get(..take).unwrap_or_default());
            discarded += data.len() - take;
            if discarded > DRAIN_LIMIT_BYTES {
                break;
            }
        }
        Ok::<(), axum::Error>(())
    };
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) | Err(_) => {
            return crate::problem::Problem::new(
                crate::problem::ApiCode::BodyUnreadable,
                "the request body could not be read (closed early or too slow)",
            )
            .into_response();
        }
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(kept)))
        .await
}

async fn method_not_allowed() -> crate::problem::Problem {
    crate::problem::Problem::new(
        crate::problem::ApiCode::MethodNotAllowed,
        "this endpoint does not take that method",
    )
}

async fn limit_anonymous(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if let Err(e) = s.limit_client(peer) {
        return e.into_response();
    }
    next.run(req).await
}

async fn count_requests(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    s.metrics
        .connections_open
        .set(i64::try_from(s.connections.open()).unwrap_or(i64::MAX));
    if let Some(code) = response.extensions().get::<crate::problem::ReasonCode>() {
        crate::telemetry::refusal(&route, &code.0, response.status().as_u16());
    }
    s.metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// Starts the node and its state from a server configuration.
pub async fn build_state(mut config: ServerConfig) -> Result<Arc<AppState>, String> {
    let mut node_config = NodeConfig::new(config.data_dir.clone(), config.did_host());
    node_config.host_configured = config.host.is_some();
    node_config.database_url.clone_from(&config.database_url);
    node_config.vendors.clone_from(&config.vendors);
    node_config.crl_dir.clone_from(&config.crl_dir);
    node_config.crl_max_age_seconds =
        (config.crl_max_age_seconds > 0).then_some(config.crl_max_age_seconds);
    node_config.expired_certificate = match config.expired_certificate.as_str() {
        "deny" => cphar_registry::device::ExpiredCertificate::Deny,
        "degrade" => cphar_registry::device::ExpiredCertificate::Degrade,
        other => {
            return Err(format!(
                "expired_certificate must be \"deny\" or \"degrade\", not {other:?}"
            ));
        }
    };
    node_config
        .expected_measurement
        .clone_from(&config.expected_measurement);
    node_config.clock.tolerance =
        std::time::Duration::from_millis(config.clock_tolerance_ms.max(1));
    node_config.report_key = true;
    let node = Node::start(node_config)
        .await
        .map_err(|e| format!("start-up failed ({}): {e}", e.code()))?;
    // The host the database holds, whatever the default would have been.
    config.host = Some(node.config.host.clone());
    let tsa = TsaService::load(
        &node,
        config.tsa_key.as_deref(),
        config.tsa_chain.as_deref(),
    )?;
    // The configured policy is put in force unless the database already holds one at least
    // as new (a restart never rolls the policy back; every server shares the one in force).
    if let Some(path) = &config.policy {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let engine = if path.extension().is_some_and(|e| e == "json") {
            cphar_policy::PolicyEngine::from_json(&text)
        } else {
            cphar_policy::PolicyEngine::from_toml(&text)
        }
        .map_err(|e| format!("{}: {e}", path.display()))?;
        match node.registry.start_with_policy(&engine, "registry").await {
            Ok(cphar_registry::policy::StartupPolicy::KeepInForce(p)) => tracing::warn!(
                target: "cphar::policy",
                policy_id = p.policy_id,
                version = p.version,
                "the database holds a policy at least as new as {}: it stays in force",
                path.display()
            ),
            Ok(_) => {}
            Err(e) => return Err(format!("policy {}: {e} ({})", path.display(), e.code())),
        }
    }
    let report_key = node
        .report_key
        .clone()
        .ok_or_else(|| "start-up failed: no report key".to_owned())?;
    Ok(Arc::new(AppState::new(node, config, tsa, report_key)))
}

/// Creates the first admin token when the registry has none; returns it (shown once).
pub async fn bootstrap_admin(state: &AppState) -> Result<Option<String>, String> {
    let store = state.node.registry.store();
    if store.token_count().await.map_err(|e| e.to_string())? > 0 {
        return Ok(None);
    }
    let now = state.now().map_err(|p| p.detail)?;
    let grant = crate::auth::TokenGrant {
        role: crate::auth::Role::Admin,
        subject: "admin",
        verifier_did: None,
        expires: None,
    };
    let (text, _) = crate::auth::issue_token(state, &grant, now, "registry")
        .await
        .map_err(|p| p.detail)?;
    Ok(Some(text))
}

/// Serves until `shutdown` completes. Returns the bound address through `bound`.
pub async fn serve(
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    bound: tokio::sync::oneshot::Sender<SocketAddr>,
) -> Result<(), String> {
    let config = state.config.clone();
    let app = router(Arc::clone(&state)).into_make_service_with_connect_info::<SocketAddr>();
    let acceptor = crate::conn::LimitAcceptor::new(Arc::clone(&state.connections));
    let header_timeout = std::time::Duration::from_millis(config.header_read_timeout_ms.max(1));
    let handle = axum_server::Handle::new();
    let graceful = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        graceful.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let _ = bound.send(addr);
    let maintenance = tokio::spawn(crate::scheduler::run(Arc::clone(&state)));
    let attestations = tokio::spawn(crate::scheduler::run_attestations(Arc::clone(&state)));
    let refusals = tokio::spawn(crate::refusals::run(Arc::clone(&state)));
    let reports = tokio::spawn(crate::scheduler::run_reports(Arc::clone(&state)));
    let result = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| format!("TLS configuration: {e}"))?;
            let tls = axum_server::tls_rustls::RustlsAcceptor::new(tls)
                .handshake_timeout(header_timeout)
                .acceptor(acceptor);
            let mut server = axum_server::from_tcp(listener)
                .map_err(|e| e.to_string())?
                .acceptor(tls)
                .first_request_timeout(header_timeout);
            server
                .http_builder()
                .http1()
                .header_read_timeout(header_timeout);
            server.handle(handle).serve(app).await
        }
        (None, None) => {
            let mut server = axum_server::from_tcp(listener)
                .map_err(|e| e.to_string())?
                .acceptor(acceptor)
                .first_request_timeout(header_timeout);
            server
                .http_builder()
                .http1()
                .header_read_timeout(header_timeout);
            server.handle(handle).serve(app).await
        }
        _ => return Err("tls_cert and tls_key go together".into()),
    };
    maintenance.abort();
    attestations.abort();
    refusals.abort();
    reports.abort();
    // What was refused since the last period still reaches the log.
    if crate::refusals::flush(&state).await.is_err() {
        state.metrics.audit_write_failures.inc();
    }
    state.node.close().await;
    result.map_err(|e| e.to_string())
}
