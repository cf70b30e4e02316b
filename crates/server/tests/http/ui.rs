//! The web dashboard (`/ui/`) in a real browser: headless Chromium driven over WebDriver
//! (`chromedriver`, started per test on a port it picks, with a fresh profile directory) by
//! `fantoccini`, against a real server seeded through the API. The tests click through the
//! main paths, wait on conditions (an element's text, bounded by [`WAIT`]), never on fixed
//! delays, save a screenshot at each step into `<target>/ui-screenshots/` (the path is
//! printed), and fail on any browser console error that is not expected.
//!
//! * [`dashboard_files_are_served_with_strict_headers`] — content types, CSP, ETag, nothing
//!   but the dashboard's files;
//! * [`dashboard_main_paths`] — sign-in, overview totals, lot pages and proofs, the audit log
//!   and reports verified in the browser, a refusal, a sign-off, a phone, overdue lots;
//! * [`dashboard_refuses_a_wrong_token_and_works_by_keyboard`] — a wrong token, focus order,
//!   keyboard-only use, what operator, verifier and the public view are offered;
//! * [`dashboard_verifiers_reject_tampering`] — the in-browser verifiers on real and tampered
//!   checkpoints, audit logs and reports.
//!
//! Chromium and chromedriver: `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's
//! `chromium` and `chromium-driver`), or `CPHAR_CHROMIUM` / `CPHAR_CHROMEDRIVER`. Without them
//! the browser tests are skipped loudly, and fail under `CI=true`.

use crate::harness::*;
use cphar_protocol::DeviceStatus;
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use std::io::BufRead;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a condition may take to hold: generous, for a loaded 2-core CI machine.
const WAIT: Duration = Duration::from_secs(90);
/// Between two looks at a condition.
const POLL: Duration = Duration::from_millis(100);

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

// ---------------------------------------------------------------------------------------------
// The browser

/// A running chromedriver (killed on drop) and its Chromium profile directory.
struct Driver {
    child: std::process::Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    /// Ends chromedriver and the browser it started, even when the test failed before closing
    /// its session: they run in a process group of their own, ended as a whole.
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.is_file().then_some(path)
}

/// Starts chromedriver on a port of its choosing (`--port=0`, read back from its banner: no
/// race for a free port) and opens a headless Chromium session. `None` when either is missing
/// (after a loud skip; a failure under `CI=true`).
async fn browser(test: &str) -> Option<(Driver, Client)> {
    let chromium = tool("CPHAR_CHROMIUM", "/usr/bin/chromium");
    let chromedriver = tool("CPHAR_CHROMEDRIVER", "/usr/bin/chromedriver");
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        cphar_testdata::skip(&format!(
            "{test}: the browser tests need Chromium and chromedriver (Debian packages \
             `chromium` and `chromium-driver`, or CPHAR_CHROMIUM / CPHAR_CHROMEDRIVER)"
        ));
        return None;
    };
    let mut child = std::process::Command::new(&chromedriver)
        .arg("--port=0")
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                let _ = tx.send(rest.trim_end_matches('.').trim().parse::<u16>().ok());
            }
        }
    });
    let profile = tempfile::tempdir().unwrap();
    let mut driver = Driver {
        child,
        port: 0,
        profile,
    };
    driver.port = tokio::task::spawn_blocking(move || rx.recv_timeout(WAIT))
        .await
        .unwrap()
        .ok()
        .flatten()
        .expect("chromedriver did not report its port");
    let mut args = vec![
        "--headless=new".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--no-first-run".to_owned(),
        // No crash reporter: its handler would outlive the browser in a session of its own.
        "--disable-crash-reporter".to_owned(),
        "--disable-breakpad".to_owned(),
        "--window-size=1280,1000".to_owned(),
        format!("--user-data-dir={}", driver.profile.path().display()),
    ];
    // Chromium's sandbox cannot start as root (CI containers); elsewhere it stays on.
    if is_root() {
        args.push("--no-sandbox".to_owned());
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": args}),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .unwrap_or_else(|e| panic!("no WebDriver session: {e}"));
    Some((driver, client))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

/// Chromedriver's browser log (console messages, page errors, failed loads, CSP violations)
/// since the last call.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_owned()),
        )
    }
}

/// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct DevTools {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// One test's view of the browser: the client, where screenshots go, and the server.
struct Ui {
    c: Client,
    base: String,
    shots: PathBuf,
    prefix: &'static str,
}

impl Ui {
    fn new(c: Client, s: &Server, prefix: &'static str) -> Ui {
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .map_or_else(
                || PathBuf::from("ui-screenshots"),
                |t| t.join("ui-screenshots"),
            );
        std::fs::create_dir_all(&shots).unwrap();
        Ui {
            c,
            base: format!("http://{}", s.addr),
            shots,
            prefix,
        }
    }

    async fn resize(&self, width: u64, height: u64) {
        let px = |v: u64| u32::try_from(v).unwrap();
        self.c.set_window_size(px(width), px(height)).await.unwrap();
    }

    async fn open(&self, route: &str) {
        self.c
            .goto(&format!("{}/ui/{route}", self.base))
            .await
            .unwrap();
    }

    /// Saves a screenshot `<prefix>-<name>.png` of the whole page and prints where.
    /// WebDriver captures the viewport only: the page is captured through chromedriver's
    /// DevTools bridge (`Page.captureScreenshot` beyond the viewport) at its full size.
    async fn shot(&self, name: &str) {
        let size = self
            .c
            .execute(
                "const d = document.documentElement; return [d.scrollWidth, Math.min(d.scrollHeight, 8000)];",
                vec![],
            )
            .await
            .unwrap();
        let answer = self
            .c
            .issue_cmd(DevTools {
                cmd: "Page.captureScreenshot",
                params: json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
                }),
            })
            .await
            .unwrap();
        use base64ct::Encoding as _;
        let png = base64ct::Base64::decode_vec(answer["data"].as_str().unwrap()).unwrap();
        let path = self.shots.join(format!("{}-{name}.png", self.prefix));
        std::fs::write(&path, png).unwrap();
        shout(&format!("screenshot: {}", path.display()));
    }

    /// The text of `css` once it contains `needle` (waiting at most [`WAIT`]).
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = String::from("(no such element)");
        loop {
            if let Ok(e) = self.c.find(Locator::Css(css)).await
                && let Ok(t) = e.text().await
            {
                if t.contains(needle) {
                    return t;
                }
                last = t;
            }
            if Instant::now() > deadline {
                self.shot(&format!("timeout-{}", css.replace(['#', ' ', '.'], "_")))
                    .await;
                panic!("{css} did not show {needle:?} within {WAIT:?}; it shows {last:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `css` is present (and returns it).
    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.c.find(Locator::Css(css)).await {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "{css} did not appear within {WAIT:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap();
    }

    async fn exists(&self, css: &str) -> bool {
        self.c.find(Locator::Css(css)).await.is_ok()
    }

    /// Signs in through the form with `token`.
    async fn sign_in(&self, token: &str) {
        self.open("#/login").await;
        let input = self.wait_for("#token").await;
        input.clear().await.unwrap();
        input.send_keys(token).await.unwrap();
        self.click("#sign-in").await;
    }

    /// Fails on any console error since the last call except those naming one of `expected`.
    async fn assert_console_clean(&self, expected: &[&str]) {
        let log = self.c.issue_cmd(BrowserLog).await.unwrap();
        let entries = log.as_array().cloned().unwrap_or_default();
        let bad: Vec<&Value> = entries
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .filter(|e| {
                let m = e["message"].as_str().unwrap_or_default();
                !expected.iter().any(|x| m.contains(x))
            })
            .collect();
        assert!(bad.is_empty(), "browser console errors: {bad:#?}");
    }

    /// `(id, tag, text)` of the focused element.
    async fn focused(&self) -> (String, String, String) {
        let v = self
            .c
            .execute(
                "const e = document.activeElement; return [e.id, e.tagName.toLowerCase(), (e.textContent || '').trim()];",
                vec![],
            )
            .await
            .unwrap();
        let s = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
        (s(0), s(1), s(2))
    }

    async fn press(&self, key: &str) {
        self.c
            .active_element()
            .await
            .unwrap()
            .send_keys(key)
            .await
            .unwrap();
    }

    /// Puts the keyboard focus at the top of the page: on the skip link, the first stop.
    async fn focus_top(&self) {
        self.c
            .execute("document.querySelector('.skip').focus();", vec![])
            .await
            .unwrap();
    }

    /// Presses Tab until the focused element's text or id is `target` (at most 40 times).
    async fn tab_to(&self, target: &str) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..40 {
            self.press(TAB).await;
            let (id, tag, text) = self.focused().await;
            seen.push(if id.is_empty() {
                format!("{tag}:{text}")
            } else {
                format!("{tag}#{id}")
            });
            if id == target || text == target {
                return seen;
            }
        }
        panic!("Tab never reached {target:?}; focus went through {seen:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding through the API

fn inspection(lot: &str, uid: &str, commodity: &str, amount: &str, unit: &str) -> Value {
    let mut body = inspection_body(lot, uid);
    body["commodity"] = json!(commodity);
    body["quantity"] = json!({"amount": amount, "unit": unit});
    body
}

/// Registers, inspects, binds (and, with `sign_off`, signs off) a lot with its own seal.
async fn seed_lot(
    s: &Server,
    pki: &Pki,
    roles: &Roles,
    lot: &str,
    q: (&str, &str, &str),
    sign_off: bool,
) -> Seal {
    let uid = format!("SEAL-{lot}");
    let seal = pki.device(&uid);
    s.post("/seals", Some(&roles.vendor), &seal.register_body())
        .await
        .expect(201);
    s.post(
        "/inspections",
        Some(&roles.inspector),
        &inspection(lot, &uid, q.0, q.1, q.2),
    )
    .await
    .expect(201);
    s.post("/custody", Some(&roles.operator), &custody_body(lot))
        .await
        .expect(201);
    s.post(
        &format!("/lots/{lot}/bind"),
        Some(&roles.operator),
        &json!({}),
    )
    .await
    .expect(201);
    if sign_off {
        s.post(
            &format!("/lots/{lot}/sign-off"),
            Some(&roles.auditor),
            &json!({}),
        )
        .await
        .expect(200);
    }
    seal
}

/// One attestation of `lot` answered by `seal` reporting `status`: the registry's answer.
async fn attest(s: &Server, roles: &Roles, seal: &Seal, lot: &str, status: DeviceStatus) -> Value {
    let method = s.method(roles, lot).await;
    let (id, request) = s.challenge(&roles.verifier, lot).await;
    let body = seal.respond_with(&request, &method, status);
    s.answer(&roles.verifier, &id, body).await.expect(200)
}

/// `POST /reports`, retried while the previous report is from the same second (409
/// `report_too_soon` with `Retry-After`: reports are dated in whole seconds).
async fn publish_report(s: &Server, token: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = s.post("/reports", Some(token), &json!({})).await;
        if r.status == 409 && r.reason().as_deref() == Some("report_too_soon") {
            assert!(Instant::now() < deadline, "reports stayed too soon");
            tokio::time::sleep(POLL).await;
            continue;
        }
        return r.expect(201);
    }
}

/// A GET outside the API's schema checks (the dashboard's files are not API operations).
async fn raw_get(s: &Server, path: &str, token: Option<&str>) -> (u16, hyper::HeaderMap, Bytes) {
    raw(s, path, token, &[]).await
}

async fn raw(
    s: &Server,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, hyper::HeaderMap, Bytes) {
    let mut req = hyper::Request::get(format!("http://{}{path}", s.addr));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = s
        .client
        .request(req.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

// ---------------------------------------------------------------------------------------------
// Tests

/// The files: types, the strict CSP and companions, revalidation by ETag, nothing else served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_files_are_served_with_strict_headers() {
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let (status, headers, _) = raw_get(&s, "/ui", None).await;
    assert_eq!(
        (status, headers["location"].to_str().unwrap()),
        (308, "/ui/")
    );
    for (path, ct) in [
        ("/ui/", "text/html; charset=utf-8"),
        ("/ui/app.js", "text/javascript; charset=utf-8"),
        ("/ui/verify.js", "text/javascript; charset=utf-8"),
        ("/ui/app.css", "text/css; charset=utf-8"),
        ("/ui/favicon.svg", "image/svg+xml"),
    ] {
        let (status, h, body) = raw_get(&s, path, None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(h["content-type"], ct, "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-cache");
        assert!(!body.is_empty());
        // Revalidation: the same file answers 304 without a body.
        let etag = h["etag"].to_str().unwrap().to_owned();
        let (again, h2, body2) = raw(&s, path, None, &[("if-none-match", &etag)]).await;
        assert_eq!((again, body2.len()), (304, 0), "{path}");
        assert_eq!(h2["etag"].to_str().unwrap(), etag);
    }
    // No external origin anywhere in the page or scripts (no CDN).
    for file in [
        "/ui/",
        "/ui/app.js",
        "/ui/api.js",
        "/ui/audit.js",
        "/ui/reports.js",
        "/ui/app.css",
    ] {
        let (_, _, body) = raw_get(&s, file, None).await;
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
            "{file}"
        );
    }
    // Only the dashboard's own files; no path tricks.
    for path in [
        "/ui/nope.js",
        "/ui/..%2FCargo.toml",
        "/ui/app.js/",
        "/ui/.%2e/openapi.json",
    ] {
        let (status, h, body) = raw_get(&s, path, None).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(h["content-type"], "application/problem+json", "{path}");
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["reasonCode"], "no_such_route", "{path}");
    }
    s.stop().await;
}

/// Sign in → overview with the right totals → lot page with its timeline and DID document →
/// the broken lot → audit log verified in the browser → reports → a refusal shown → a sign-off
/// through the dashboard → the layout on a phone. Screenshots at each step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_main_paths() {
    let Some((_driver, client)) = browser("dashboard_main_paths").await else {
        return;
    };
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    // Active: LOT-A and LOT-B (copper, attested), LOT-C (gold, signed off: the sign-off is its
    // evidence; its seal has not answered a challenge yet).
    let a = seed_lot(
        &s,
        &pki,
        &roles,
        "LOT-A",
        ("copper cathode", "400.000", "kg"),
        true,
    )
    .await;
    let b = seed_lot(
        &s,
        &pki,
        &roles,
        "LOT-B",
        ("copper cathode", "250.5", "kg"),
        true,
    )
    .await;
    seed_lot(&s, &pki, &roles, "LOT-C", ("gold bar", "12.5", "kg"), true).await;
    // LOT-D's seal reports tampering: broken, out of the set. LOT-E awaits its sign-off.
    let d = seed_lot(
        &s,
        &pki,
        &roles,
        "LOT-D",
        ("copper cathode", "100", "kg"),
        true,
    )
    .await;
    seed_lot(&s, &pki, &roles, "LOT-E", ("gold bar", "1", "kg"), false).await;
    for (seal, lot) in [(&a, "LOT-A"), (&b, "LOT-B")] {
        assert_eq!(
            attest(&s, &roles, seal, lot, DeviceStatus::Operational).await["result"],
            "valid"
        );
    }
    // Report 1 counts LOT-D; then its seal reports tampering (broken, out of the set), and
    // report 2 lists it as departed.
    publish_report(&s, &roles.operator).await;
    let r = attest(&s, &roles, &d, "LOT-D", DeviceStatus::Tampered).await;
    assert_eq!(
        (r["detail"].as_str(), r["sealState"].as_str()),
        (Some("device_tampered"), Some("broken"))
    );
    publish_report(&s, &roles.operator).await;
    let mut ui = Ui::new(client, &s, "main");
    ui.open("").await;
    ui.wait_for("#login-form").await;
    ui.shot("01-login").await;

    // Overview: exact totals by commodity and unit, freshness, seals by state.
    ui.sign_in(&roles.auditor).await;
    ui.wait_text("#who-text", "Signed in as auditor-1 (auditor)")
        .await;
    let totals = ui.wait_text("#totals-table", "650.5").await;
    assert!(totals.contains("copper cathode kg 650.5 2"), "{totals}");
    assert!(totals.contains("gold bar kg 12.5 1"), "{totals}");
    assert!(
        !totals.contains("100"),
        "the broken lot is not counted: {totals}"
    );
    assert_eq!(ui.wait_text("#active-count", "3").await, "3");
    let freshness = ui.wait_text("#freshness-table", "attested").await;
    assert!(freshness.contains("attested 3"), "{freshness}");
    let seals = ui.wait_text("#seal-states-table", "attested").await;
    assert!(
        seals.contains("attested 2") && seals.contains("sealed 1"),
        "{seals}"
    );
    assert!(
        ui.wait_text("#overdue-table", "None.")
            .await
            .contains("None.")
    );
    ui.shot("02-overview").await;

    // The lot page: timeline of the lot and its seal, attestations, DID document.
    ui.click("#lots-table a[href='#/lot/LOT-A']").await;
    let timeline = ui.wait_text("#timeline", "attested").await;
    for step in [
        "seal registered",
        "lot inspected",
        "custody recorded",
        "seal bound",
        "binding signed off",
        "attested (BAL-2, device operational)",
    ] {
        assert!(timeline.contains(step), "{step} missing from {timeline}");
    }
    let did = ui
        .wait_text("#did-document", "did:web:registry.test:lots:LOT-A")
        .await;
    assert!(
        did.contains("assertionMethod") && did.contains("#seal-1"),
        "{did}"
    );
    assert!(
        ui.wait_text("#attestations-table", "attested")
            .await
            .contains("did:web:registry.test:verifiers:verifier-1")
    );
    assert!(
        ui.wait_text("#inspections-table", "inspector-1")
            .await
            .contains("400.000 kg")
    );
    assert!(
        ui.wait_text("#custody-table", "Example Logistics")
            .await
            .contains("received")
    );
    assert!(
        ui.wait_text("#lot-active", "yes")
            .await
            .contains("in the active reserve set")
    );
    assert!(
        ui.wait_text("#lot-facts", "copper cathode")
            .await
            .contains("Rotterdam")
    );
    // An auditor may not revoke: no such control; this binding is signed off already.
    assert!(!ui.exists("#revoke").await && !ui.exists("#sign-off").await);
    ui.click("#download-proof").await;
    ui.wait_text("#proof-status", "an inclusion proof").await;
    ui.shot("03-lot").await;

    // The broken lot: out of the set, binding revoked for tampering, seal broken.
    ui.open("#/lot/LOT-D").await;
    ui.wait_text("#lot-active", "no: out of the active reserve set")
        .await;
    let facts = ui.wait_text("#lot-facts", "Seal SEAL-LOT-D").await;
    assert!(facts.contains("broken"), "{facts}");
    assert!(
        ui.wait_text("#bindings-table", "tamper_detected")
            .await
            .contains("revoked")
    );
    assert!(
        ui.wait_text("#timeline", "binding revoked")
            .await
            .contains("tamper_detected")
    );
    ui.click("#download-proof").await;
    ui.wait_text("#proof-status", "a non-inclusion proof").await;
    ui.shot("04-lot-broken").await;

    // The audit log, verified in the browser (chain, signatures, epochs, checkpoint root).
    ui.click("nav a[data-route='audit']").await;
    let status = ui.wait_text("#audit-status", "verified").await;
    assert!(!status.contains("failed"), "{status}");
    let checks = ui.wait_text("#audit-checks", "entry signatures").await;
    assert!(checks.contains("Checkpoint signature verified"), "{checks}");
    assert!(
        ui.wait_text("#entries-table", "seal_attested")
            .await
            .contains("binding_revoked")
    );
    ui.shot("05-audit").await;

    // Reports: the list, then report 2 verified in the browser (signature, continuity with
    // report 1, leaves → RFC 9162 root and totals), its departure.
    ui.click("nav a[data-route='reports']").await;
    let list = ui.wait_text("#reports-table", "Report 1").await;
    assert!(
        list.find("Report 2") < list.find("Report 1"),
        "newest first: {list}"
    );
    assert!(list.contains("650.5 kg copper cathode"), "{list}");
    ui.shot("06-reports").await;
    ui.click("#reports-table a[href='#/reports/2']").await;
    let status = ui.wait_text("#report-status", "verified").await;
    assert!(
        !status.contains("invalid") && !status.contains("not verified"),
        "{status}"
    );
    let checks = ui
        .wait_text("#report-checks", "Signature verified in this browser")
        .await;
    for check in [
        "Report key",
        "Continues report 1",
        "RFC 9162 root and totals recomputed",
        "RFC 3161 token present",
        "Audit log: Hash chain (SHA-384)",
        "Report key certified in audit entry",
        "publication recorded in audit entry",
    ] {
        assert!(checks.contains(check), "{check} missing from {checks}");
    }
    let totals = ui.wait_text("#report-totals", "650.5").await;
    assert!(
        totals.contains("copper cathode kg 650.5 2") && totals.contains("gold bar kg 12.5 1"),
        "{totals}"
    );
    assert!(
        ui.wait_text("#report-departed", "LOT-D")
            .await
            .contains("tamper_detected")
    );
    ui.shot("07-report").await;
    ui.assert_console_clean(&[]).await;

    // A refusal shown clearly: an auditor who inspected the lot may not sign it off.
    let conflicted = s.token("auditor", "inspector-1").await;
    ui.click("#sign-out").await;
    ui.sign_in(&conflicted).await;
    ui.wait_text("#who-text", "inspector-1 (auditor)").await;
    ui.open("#/lot/LOT-E").await;
    ui.click("#sign-off").await;
    let refusal = ui.wait_text("#action-error", "separation_of_duties").await;
    assert!(refusal.starts_with("Refused by the registry"), "{refusal}");
    ui.shot("08-refusal").await;
    assert!(!s.active_ids().await.contains(&"LOT-E".to_owned()));
    // The independent auditor signs it off through the dashboard.
    ui.click("#sign-out").await;
    ui.sign_in(&roles.auditor).await;
    ui.wait_text("#who-text", "auditor-1").await;
    ui.open("#/lot/LOT-E").await;
    ui.click("#sign-off").await;
    ui.wait_text("#action-result", "Signed off").await;
    ui.wait_text("#lot-active", "yes").await;
    assert!(s.active_ids().await.contains(&"LOT-E".to_owned()));
    ui.shot("09-signed-off").await;
    // The refused sign-off is the only network error of this stretch.
    ui.assert_console_clean(&["/sign-off"]).await;

    // On a phone: one column, nothing wider than the screen.
    ui.c.set_window_size(390, 844).await.unwrap();
    ui.open("#/overview").await;
    ui.wait_text("#totals-table", "gold bar kg 13.5 2").await;
    let fits =
        ui.c.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "the page is wider than a phone's screen");
    ui.shot("10-phone").await;
    ui.assert_console_clean(&[]).await;

    // Overdue attestations: the same registry served with a one-second cadence (and a day of
    // grace, so nothing lapses). Once every lot's evidence is older than a second (seen
    // through the API), the overview lists them all as overdue.
    ui.resize(1280, 1000).await;
    let s = s
        .restart(
            &pki,
            Options {
                attestation_cadence_seconds: 1,
                attestation_grace_seconds: 86_400,
                ..Options::default()
            },
        )
        .await;
    let deadline = Instant::now() + WAIT;
    loop {
        let body = s.get("/reserve/active", None).await.expect(200);
        let lots = body["lots"].as_array().unwrap();
        if lots.len() == 4
            && lots
                .iter()
                .all(|l| l["attestation"] == "attestation_overdue")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lots never became overdue: {body}"
        );
        tokio::time::sleep(POLL).await;
    }
    ui.base = format!("http://{}", s.addr);
    ui.sign_in(&roles.auditor).await;
    let overdue = ui.wait_text("#overdue-table", "LOT-E").await;
    for lot in ["LOT-A", "LOT-B", "LOT-C"] {
        assert!(overdue.contains(lot), "{lot} missing from {overdue}");
    }
    assert!(!overdue.contains("LOT-D"), "{overdue}");
    assert!(
        ui.wait_text("#freshness-table", "attestation overdue")
            .await
            .contains("attestation overdue 4")
    );
    ui.shot("11-overdue").await;
    ui.assert_console_clean(&[]).await;

    ui.c.close().await.unwrap();
    s.stop().await;
}

/// A wrong token is refused with a clear message; the keyboard reaches every main action;
/// the public view (no token) still verifies the audit checkpoint against the leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_refuses_a_wrong_token_and_works_by_keyboard() {
    let Some((_driver, client)) =
        browser("dashboard_refuses_a_wrong_token_and_works_by_keyboard").await
    else {
        return;
    };
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    seed_lot(&s, &pki, &roles, "LOT-K", ("wheat", "20", "t"), true).await;
    let ui = Ui::new(client, &s, "keys");
    ui.open("").await;
    ui.wait_for("#login-form").await;

    // Focus order from the top: skip link, brand, nav, sign-in, the form, the public view.
    ui.focus_top().await;
    let mut order = vec![format!("a:{}", ui.focused().await.2)];
    order.extend(ui.tab_to("public-view").await);
    let position = |what: &str| {
        order
            .iter()
            .position(|x| x.contains(what))
            .unwrap_or_else(|| panic!("{what} not reached by Tab: {order:?}"))
    };
    assert!(position("Skip to content") < position("Overview"));
    assert!(
        position("Overview") < position("Audit log") && position("Audit log") < position("Reports")
    );
    assert!(position("Reports") < position("input#token"));
    assert!(position("input#token") < position("button#sign-in"));
    // Focus is visible: an outline on the focused button.
    let outline =
        ui.c.execute(
            "return getComputedStyle(document.activeElement).outlineStyle;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        outline,
        json!("solid"),
        "focused elements must show a visible outline"
    );

    // A wrong token: a clear error, focus back in the field.
    let field = ui.wait_for("#token").await;
    field.click().await.unwrap();
    field
        .send_keys("cphar_0123456789abcdef.not-a-real-secret")
        .await
        .unwrap();
    ui.press(ENTER).await;
    let error = ui.wait_text("#login-error", "not accepted").await;
    assert!(error.contains("unauthenticated"), "{error}");
    assert_eq!(ui.focused().await.0, "token");
    ui.shot("01-wrong-token").await;
    ui.assert_console_clean(&["/session"]).await;

    // The admin token, typed and submitted with the keyboard only.
    field.clear().await.unwrap();
    field.send_keys(&s.admin).await.unwrap();
    ui.press(ENTER).await;
    ui.wait_text("#who-text", "admin (admin)").await;
    ui.wait_text("#totals-table", "wheat t 20 1").await;
    // From the page: Tab to the audit log link, Enter.
    ui.focus_top().await;
    ui.tab_to("Audit log").await;
    ui.press(ENTER).await;
    ui.wait_text("#audit-status", "verified").await;
    // Back to the overview, then Tab to the lot search, type an id, Enter.
    ui.focus_top().await;
    ui.tab_to("Overview").await;
    ui.press(ENTER).await;
    ui.wait_for("#lot-id").await;
    ui.focus_top().await;
    ui.tab_to("lot-id").await;
    ui.press("LOT-K").await;
    ui.press(ENTER).await;
    ui.wait_text("#did-document", "did:web:registry.test:lots:LOT-K")
        .await;
    ui.shot("02-keyboard-lot").await;

    // The operator who bound the lot: may revoke it and publish reports, may not sign off.
    ui.click("#sign-out").await;
    ui.sign_in(&roles.operator).await;
    ui.wait_text("#who-text", "operator-1 (operator)").await;
    ui.open("#/lot/LOT-K").await;
    ui.wait_for("#revoke").await;
    assert!(!ui.exists("#sign-off").await);
    ui.open("#/reports").await;
    ui.click("#create-report").await;
    ui.wait_text("h1", "Report 1").await;
    let status = ui.wait_text("#report-status", "verified").await;
    assert!(
        !status.contains("invalid") && !status.contains("not verified"),
        "{status}"
    );
    assert!(
        ui.wait_text("#report-totals", "wheat t 20 1")
            .await
            .contains("wheat")
    );
    // Its audit view: the checkpoint against the public leaves, and its own entries among them.
    ui.open("#/audit").await;
    ui.wait_text("#audit-status", "verified").await;
    let checks = ui.wait_text("#audit-checks", "entries you may read").await;
    assert!(!checks.contains(" 0 of the"), "{checks}");
    assert!(
        ui.wait_text("#entries-table", "seal_bound")
            .await
            .contains("operator-1")
    );
    ui.shot("03-operator-audit").await;
    // The verifier: nothing to act on, no details.
    let verifier = s.token("verifier", "verifier-9").await;
    ui.click("#sign-out").await;
    ui.sign_in(&verifier).await;
    ui.wait_text("#who-text", "verifier-9 (verifier)").await;
    ui.open("#/lot/LOT-K").await;
    ui.wait_text("#did-document", "LOT-K").await;
    assert!(!ui.exists("#actions").await && !ui.exists("#lot-facts").await);
    ui.open("#/reports").await;
    ui.wait_for("#reports-table").await;
    assert!(!ui.exists("#create-report").await);

    // The public view: no token, no lot details, the checkpoint verified from the leaves.
    ui.click("#sign-out").await;
    ui.click("#public-view").await;
    ui.wait_text("#who-text", "Public view").await;
    ui.wait_text("#totals", "need an auditor, admin or operator token")
        .await;
    assert_eq!(ui.wait_text("#active-count", "1").await, "1");
    ui.click("nav a[data-route='audit']").await;
    let status = ui.wait_text("#audit-status", "verified").await;
    assert!(status.contains("leaf hashes"), "{status}");
    ui.shot("04-public-audit").await;
    // No report was published here: `/reports/latest` answering 404 is the expected state.
    ui.assert_console_clean(&["/reports/latest"]).await;

    ui.c.close().await.unwrap();
    s.stop().await;
}

/// The dashboard's verifiers, run in the browser on real data from the server and on tampered
/// copies of it: a checkpoint, the audit log and a report pass as served and fail, with the
/// reason, once changed; the JavaScript RFC 9162 roots equal `cphar-tlog`'s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_verifiers_reject_tampering() {
    let Some((_driver, client)) = browser("dashboard_verifiers_reject_tampering").await else {
        return;
    };
    let pki = Pki::new();
    let s = Server::start(&pki, Options::default()).await;
    let roles = s.roles().await;
    let seal = seed_lot(&s, &pki, &roles, "LOT-T", ("tin", "3.25", "t"), true).await;
    attest(&s, &roles, &seal, "LOT-T", DeviceStatus::Operational).await;
    let report = publish_report(&s, &roles.operator).await;
    let key = s.get("/reports/key", None).await.expect(200)["publicKeyJwk"].clone();
    let note = s.get("/audit/checkpoint", None).await.text();
    let lines: Vec<String> = String::from_utf8(s.audit_export().await)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    // The identity key as pinned from the data directory, not as the server publishes it.
    let identity = s.identity().to_jwk().to_json();
    let ui = Ui::new(client, &s, "verifiers");
    ui.open("#/login").await;
    ui.wait_for("#login-form").await;

    let script = r#"
      const [note, identity, lines, report, key, done] = arguments;
      (async () => {
        const v = await import('/ui/verify.js');
        const audit = await import('/ui/audit.js');
        const reports = await import('/ui/reports.js');
        const attempt = async (f) => {
          try { await f(); return 'ok'; } catch (e) { return e.code || e.message; }
        };
        const origin = 'registry.test/audit';
        const out = {};
        out.checkpoint = await attempt(() => v.openCheckpoint(note, origin, identity));
        const body = note.split('\n');
        body[1] = String(Number(body[1]) + 1);
        out.checkpointSize = await attempt(() => v.openCheckpoint(body.join('\n'), origin, identity));
        out.checkpointOrigin = await attempt(() => v.openCheckpoint(note, 'elsewhere.test/audit', identity));
        const sig = note.lastIndexOf(' ') + 12;
        const flipped = note.slice(0, sig) + (note[sig] === 'A' ? 'B' : 'A') + note.slice(sig + 1);
        out.checkpointSignature = await attempt(() => v.openCheckpoint(flipped, origin, identity));
        out.roots = [];
        for (let n = 0; n <= 9; n++) {
          const leaves = await Promise.all([...Array(n).keys()].map((i) => v.leafHash(v.bytes(`leaf-${i}`))));
          out.roots.push(v.hex(await v.merkleRoot(leaves)));
        }
        const id = { jwk: identity, thumbprint: await v.thumbprint(identity) };
        out.entries = await attempt(() => audit.checkEntries(lines, id));
        const changed = JSON.parse(lines[3]);
        changed.eventData.actor = 'mallory';
        out.entryChanged = await attempt(() => audit.checkEntries([...lines.slice(0, 3), v.jcs(changed), ...lines.slice(4)], id));
        out.entryDropped = await attempt(() => audit.checkEntries([...lines.slice(0, 2), ...lines.slice(3)], id));
        const swapped = [...lines];
        [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
        out.entriesSwapped = await attempt(() => audit.checkEntries(swapped, id));
        out.report = await attempt(() => reports.verifyReport(report, key, null));
        const inflated = JSON.parse(JSON.stringify(report));
        inflated.totals[0].quantity = '1000';
        out.reportTotals = await attempt(() => reports.verifyReport(inflated, key, null));
        out.reportKey = await attempt(() => reports.verifyReport(report, identity, null));
        const recounted = JSON.parse(JSON.stringify(report));
        recounted.lotCount += 1;
        out.reportCount = await attempt(() => reports.verifyReport(recounted, key, null));
        done(out);
      })().catch((e) => done({ error: String(e) }));
    "#;
    let out =
        ui.c.execute_async(
            script,
            vec![json!(note), identity, json!(lines), report, key],
        )
        .await
        .unwrap();
    assert!(out.get("error").is_none(), "{out}");
    assert_eq!(out["checkpoint"], "ok", "{out}");
    assert_eq!(
        out["checkpointSize"],
        "the checkpoint signature does not verify with the identity key"
    );
    assert_eq!(
        out["checkpointOrigin"],
        "checkpoint of \"registry.test/audit\", expected \"elsewhere.test/audit\""
    );
    assert_eq!(
        out["checkpointSignature"],
        "the checkpoint signature does not verify with the identity key"
    );
    assert_eq!(out["entries"], "ok", "{out}");
    assert_eq!(out["entryChanged"], "bad_signature");
    assert_eq!(out["entryDropped"], "sequence_gap");
    assert_eq!(out["entriesSwapped"], "sequence_gap");
    assert_eq!(out["report"], "ok", "{out}");
    assert_eq!(out["reportTotals"], "signature_invalid");
    assert_eq!(out["reportKey"], "report_key_mismatch");
    assert_eq!(out["reportCount"], "signature_invalid");
    for n in 0..=9usize {
        let leaves: Vec<_> = (0..n)
            .map(|i| cphar_tlog::leaf_hash(format!("leaf-{i}").as_bytes()))
            .collect();
        assert_eq!(
            out["roots"][n],
            cphar_crypto::hex(&cphar_tlog::root(&leaves)),
            "RFC 9162 root of {n} leaves"
        );
    }
    ui.assert_console_clean(&[]).await;
    ui.c.close().await.unwrap();
    s.stop().await;
}
