//! Request extractors that answer with problem details: strict JSON bodies (content type,
//! size, I-JSON, unknown members) and authenticated callers.

use crate::auth::{self, Caller};
use crate::problem::{ApiCode, Problem};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// A JSON body, read but not yet judged: handlers authorize the caller first and only then
/// [`JsonBody::parse`] it, so a caller without the role learns nothing about body validation.
pub struct JsonBody(Result<Bytes, Problem>);

impl JsonBody {
    /// Parses strictly (content type, size, I-JSON), then into `T` (unknown members refused
    /// where `T` says so).
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, Problem> {
        let bytes = self.0?;
        let value = cphar_jcs::parse(&bytes).map_err(|e| {
            Problem::new(
                ApiCode::MalformedJson,
                format!("the body is not I-JSON: {e}"),
            )
        })?;
        // serde's derived structs also take arrays (fields by position): only objects here.
        if !value.is_object() {
            return Err(Problem::new(
                ApiCode::InvalidInput,
                "the body must be a JSON object",
            ));
        }
        serde_json::from_value(value)
            .map_err(|e| Problem::new(ApiCode::InvalidInput, e.to_string()))
    }
}

impl FromRequest<Arc<AppState>> for JsonBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Problem> {
        Ok(JsonBody(raw_body(req, state, "application/json").await))
    }
}

fn content_type_is(req_headers: &axum::http::HeaderMap, expected: &str) -> bool {
    req_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// The path of bulk seal registration (`POST /seals:batch`), the one route taking a body
/// larger than the configured limit.
pub const BATCH_PATH: &str = "/seals:batch";

/// Most bytes of a bulk registration manifest (JSON Lines; at most
/// [`cphar_registry::batch::MAX_BATCH_LINES`] lines of at most
/// [`cphar_registry::batch::MAX_LINE_BYTES`] each).
pub const BATCH_BODY_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// The body size limit of a request path: the configured one, or the manifest limit for
/// [`BATCH_PATH`].
pub fn body_limit(state: &AppState, path: &str) -> usize {
    if path == BATCH_PATH {
        BATCH_BODY_LIMIT_BYTES.max(state.config.body_limit_bytes)
    } else {
        state.config.body_limit_bytes
    }
}

/// The raw bytes of a body of the given content type, within the size limit.
pub async fn raw_body(
    req: Request,
    state: &Arc<AppState>,
    content_type: &str,
) -> Result<Bytes, Problem> {
    if !content_type_is(req.headers(), content_type) {
        return Err(Problem::new(
            ApiCode::UnsupportedMediaType,
            format!("the body must be {content_type}"),
        ));
    }
    let limit = body_limit(state, req.uri().path());
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            Problem::new(
                ApiCode::BodyTooLarge,
                format!("the body exceeds {limit} bytes"),
            )
        })
}

/// The raw body of a given content type (RFC 3161 queries, ChallengeResponses kept as
/// sent); like [`JsonBody`], judged only when the handler asks ([`RawBody::bytes`]).
pub struct RawBody(Result<Bytes, Problem>);

impl RawBody {
    /// The bytes, or the content-type / size problem.
    pub fn bytes(self) -> Result<Bytes, Problem> {
        self.0
    }
}

impl FromRequest<Arc<AppState>> for RawBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Problem> {
        let wanted = match req.uri().path() {
            "/tsa" => "application/timestamp-query",
            BATCH_PATH => "application/x-ndjson",
            _ => "application/json",
        };
        Ok(RawBody(raw_body(req, state, wanted).await))
    }
}

/// The peer address of a request (absent for in-process calls without a socket).
pub fn peer_of(parts: &Parts) -> Option<std::net::SocketAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0)
}

/// The peer address of a request, as an extractor (never refuses).
pub struct Peer(pub Option<std::net::SocketAddr>);

impl FromRequestParts<Arc<AppState>> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &Arc<AppState>,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Peer(peer_of(parts)))
    }
}

/// An authenticated caller.
pub struct Auth(pub Caller);

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Problem> {
        let now = state.now()?;
        auth::authenticate(
            &parts.headers,
            state.node.registry.store(),
            &state.tokens,
            now,
            || state.limit_client(peer_of(parts)),
        )
        .await
        .map(Auth)
    }
}

/// Query parameters; a bad query string is a problem (`invalid_query`), not plain text.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Arc<AppState>> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| Problem::new(ApiCode::InvalidQuery, e.body_text()))
    }
}

/// Path parameters; a bad one is a problem (`invalid_path`).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Arc<AppState>> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| Problem::new(ApiCode::InvalidPath, e.body_text()))
    }
}

/// A position or version number taken from a query or path: 0 ..= 2^63 − 1, the range the
/// stores keep (a larger number is refused as `invalid_query` / `invalid_path`, a 400, rather
/// than reaching the store and failing there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "u64")]
pub struct Position(u64);

impl schemars::JsonSchema for Position {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Position")
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "minimum": 0, "maximum": i64::MAX})
    }
}

impl Position {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Position {
    type Error = String;

    fn try_from(n: u64) -> Result<Self, String> {
        if i64::try_from(n).is_ok() {
            Ok(Position(n))
        } else {
            Err(format!("{n} is beyond the largest position, {}", i64::MAX))
        }
    }
}
