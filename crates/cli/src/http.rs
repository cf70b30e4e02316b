//! A small HTTP/1.1 JSON client for the CLI's own use of the API (demo, benchmarks).

use anyhow::{Context, Result, anyhow};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::net::SocketAddr;

/// A client for one server.
#[derive(Clone)]
pub struct Client {
    base: String,
    inner: HyperClient<HttpConnector, Full<Bytes>>,
}

/// An answer: status and body (JSON when it parses, else a string).
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
    /// Raw bytes.
    pub bytes: Bytes,
}

impl Answer {
    /// The problem's reason code, for error answers.
    pub fn reason(&self) -> &str {
        self.body
            .get("reasonCode")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

impl Client {
    /// A client for `http://addr`.
    pub fn new(addr: SocketAddr) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client {
            base: format!("http://{addr}"),
            inner: HyperClient::builder(TokioExecutor::new())
                .pool_max_idle_per_host(64)
                .build(connector),
        }
    }

    /// Sends a request.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Answer> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if !body.is_empty() || content_type != "application/json" {
            req = req.header("content-type", content_type);
        }
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .context("bad request")?;
        let resp = self
            .inner
            .request(req)
            .await
            .map_err(|e| anyhow!("HTTP request to {path} failed: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| anyhow!("reading the answer: {e}"))?
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(Answer {
            status,
            body,
            bytes,
        })
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Result<Answer> {
        self.send(
            Method::POST,
            path,
            Some(token),
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    /// GET.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Result<Answer> {
        self.send(Method::GET, path, token, "application/json", Vec::new())
            .await
    }
}
