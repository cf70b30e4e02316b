//! The web dashboard under `/ui/`: static HTML, CSS and JavaScript modules compiled into the
//! binary (`crates/server/ui/`), no build step, nothing fetched from elsewhere.
//!
//! The dashboard is a client of the public API like any other: it holds the API token the
//! user typed (in `sessionStorage`) and sends it as the bearer header; the server decides
//! what each role may read or do. These routes only serve files, so they need no token.
//!
//! Every answer carries a strict Content-Security-Policy (only this origin's scripts, styles,
//! images and API; no inline script, no framing, no plugins), `nosniff`, no referrer, and an
//! `ETag` of the file's SHA-256 with `Cache-Control: no-cache`: browsers keep the files but
//! revalidate them (a 304 costs nothing), so an upgraded server is never shadowed by stale
//! scripts.

use crate::problem::{ApiCode, Problem};
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::LazyLock;

/// The policy sent with every dashboard file. `connect-src 'self'` keeps the scripts talking
/// only to this server; `frame-ancestors 'none'` prevents click-jacking.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    /// Its name under `/ui/`.
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../ui/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the dashboard.
static ASSETS: [Asset; 12] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("verify.js", JS),
    asset!("overview.js", JS),
    asset!("lot.js", JS),
    asset!("audit.js", JS),
    asset!("reports.js", JS),
    asset!("decimal.js", JS),
];

/// The strong validator of each asset (quoted hex SHA-256), in [`ASSETS`] order.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{}\"", cphar_crypto::hex(&cphar_crypto::sha256(a.body))))
        .collect()
});

/// `GET /ui`: to the dashboard's page.
pub async fn root() -> Redirect {
    Redirect::permanent("/ui/")
}

/// `GET /ui/`: the dashboard's page.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /ui/{file}`: one of the dashboard's files; anything else is 404 `no_such_route`.
pub async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some((position, asset)) = ASSETS.iter().enumerate().find(|(_, a)| a.name == name) else {
        return Problem::new(ApiCode::NoSuchRoute, "no such dashboard file").into_response();
    };
    let etag = ETAGS.get(position).map_or("", String::as_str);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_distinct_and_typed() {
        let mut names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
        for a in &ASSETS {
            assert!(!a.body.is_empty(), "{} is empty", a.name);
            let ext = a.name.rsplit('.').next().unwrap_or_default();
            let expected = match ext {
                "html" => "text/html",
                "css" => "text/css",
                "js" => "text/javascript",
                "svg" => "image/svg+xml",
                other => panic!("no content type for .{other}"),
            };
            assert!(a.content_type.starts_with(expected), "{}", a.name);
        }
    }

    #[test]
    fn every_file_of_the_directory_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort_unstable();
        let mut served: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
        served.sort_unstable();
        assert_eq!(on_disk, served, "crates/server/ui/ and ASSETS differ");
    }

    #[test]
    fn no_inline_script_or_style_in_the_page() {
        let page = std::str::from_utf8(ASSETS[0].body).unwrap_or_default();
        assert!(page.contains("<script type=\"module\" src=\"/ui/app.js\"></script>"));
        // Only external scripts: every <script carries a src.
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script type=\"module\" src=").count()
        );
        assert!(!page.contains("<style") && !page.contains("style="));
        // No inline event handler attributes (` onclick=`, ` onload=` …).
        let handlers = page.match_indices(" on").filter(|(at, _)| {
            let rest = &page[at + 3..];
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert_eq!(handlers.count(), 0);
    }
}
