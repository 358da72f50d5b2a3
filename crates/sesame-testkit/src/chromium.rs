//! A real Chromium, headless, driven through chromedriver's W3C WebDriver API: the pages'
//! scripts, content security policy and forms run as they do for participants.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both end on drop.
pub struct Chromium {
    driver: Child,
    http: reqwest::Client,
    session: String,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Chromium {
    /// Starts chromedriver on a free loopback port and opens a headless session, in
    /// French, at a desktop size.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_as("fr-FR", 1024, 900).await
    }

    /// A headless session whose browser speaks `lang` (its `Accept-Language`), with a
    /// viewport `width` × `height` CSS pixels.
    pub async fn start_as(lang: &str, width: u32, height: u32) -> anyhow::Result<Self> {
        crate::browser::install_crypto();
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new(driver_path())
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver (apt-get install chromium chromium-driver)")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut this = Self {
            driver,
            http,
            session: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while this
            .http
            .get(format!("{base}/status"))
            .send()
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("chromedriver did not start");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut options = json!({
            "binary": browser_path(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-dev-shm-usage",
                     format!("--lang={lang}"), format!("--window-size={width},{height}")],
            "prefs": { "intl.accept_languages": lang },
        });
        if width < 600 {
            // A window cannot be that narrow: a phone's viewport is emulated instead.
            options["mobileEmulation"] = json!({ "deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 2, "touch": true,
            }});
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let created = this
            .call(
                reqwest::Method::POST,
                &format!("{base}/session"),
                capabilities,
            )
            .await?;
        let id = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session: {created}"))?;
        this.session = format!("{base}/session/{id}");
        Ok(this)
    }

    async fn call(&self, method: reqwest::Method, url: &str, body: Value) -> anyhow::Result<Value> {
        let request = self.http.request(method.clone(), url);
        let request = if method == reqwest::Method::GET {
            request
        } else {
            request.json(&body)
        };
        let answer: Value = request.send().await?.json().await?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if let Some(error) = value.get("error").and_then(Value::as_str) {
            let message = value["message"].as_str().unwrap_or_default();
            bail!("webdriver {error}: {message}");
        }
        Ok(value)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.session);
        self.call(reqwest::Method::POST, &url, body).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.session);
        self.call(reqwest::Method::GET, &url, Value::Null).await
    }

    /// Navigates to a URL and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    /// The address of the current page.
    pub async fn url(&self) -> anyhow::Result<String> {
        let value = self.get("/url").await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Goes one step back in the history.
    pub async fn back(&self) -> anyhow::Result<()> {
        self.post("/back", json!({})).await.map(drop)
    }

    /// Runs a script in the page and returns its result.
    pub async fn eval(&self, script: &str) -> anyhow::Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// Saves a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &std::path::Path) -> anyhow::Result<()> {
        use base64::Engine as _;
        let value = self.get("/screenshot").await?;
        let encoded = value.as_str().ok_or_else(|| anyhow!("no screenshot"))?;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Runs axe-core (its source given) on the page against WCAG 2.1 levels A and AA;
    /// returns the violations as `rule: target…` lines.
    pub async fn accessibility_violations(&self, axe_source: &str) -> anyhow::Result<Vec<String>> {
        self.eval(axe_source).await?;
        let run = "var done = arguments[arguments.length - 1]; \
                   axe.run(document, { runOnly: { type: 'tag', values: \
                     ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }) \
                   .then(function (r) { done(r.violations.map(function (v) { \
                     return v.id + ': ' + v.nodes.map(function (n) { \
                       return n.target.join(' '); }).join(', '); })); }) \
                   .catch(function (e) { done(['axe failed: ' + e]); });";
        let value = self
            .post("/execute/async", json!({ "script": run, "args": [] }))
            .await?;
        let lines = value
            .as_array()
            .ok_or_else(|| anyhow!("axe gave no answer: {value}"))?;
        Ok(lines
            .iter()
            .filter_map(|l| l.as_str().map(str::to_owned))
            .collect())
    }

    /// The bytes the current page took on the wire: the document and every file it
    /// loaded (headers included), as if nothing were cached.
    pub async fn page_weight(&self) -> anyhow::Result<u64> {
        let script = "var all = performance.getEntriesByType('navigation') \
                        .concat(performance.getEntriesByType('resource')); \
                      return all.reduce(function (sum, e) { \
                        return sum + Math.max(e.transferSize, e.encodedBodySize + 300); }, 0);";
        let value = self.eval(script).await?;
        value
            .as_f64()
            .map(|bytes| bytes as u64)
            .ok_or_else(|| anyhow!("no page weight: {value}"))
    }

    /// The `data-page` of the body: which screen is shown.
    pub async fn screen(&self) -> anyhow::Result<Option<String>> {
        let value = self
            .eval("return document.body ? document.body.getAttribute('data-page') : null;")
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// The `data-notice` shown, if any.
    pub async fn notice(&self) -> anyhow::Result<Option<String>> {
        let script = "var n = document.querySelector('[data-notice]'); \
                      return n ? n.getAttribute('data-notice') : null;";
        Ok(self.eval(script).await?.as_str().map(str::to_owned))
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        let value = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await
            .with_context(|| format!("element {css}"))?;
        let id = value[ELEMENT]
            .as_str()
            .ok_or_else(|| anyhow!("no element {css}"))?;
        Ok(Element(id.to_owned()))
    }

    /// Types text into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let element = self.find(css).await?;
        let path = format!("/element/{}/value", element.0);
        self.post(&path, json!({ "text": text })).await.map(drop)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.find(css).await?;
        let path = format!("/element/{}/click", element.0);
        self.post(&path, json!({})).await.map(drop)
    }

    /// Waits until `script` returns a truthy value; returns how long it took.
    pub async fn wait_until(&self, script: &str, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let value = self.eval(script).await?;
            let done = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if done {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                bail!("timed out waiting for: {script}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for a screen other than `from` (after a form was sent).
    pub async fn wait_for_screen_change(&self, from: &str) -> anyhow::Result<Option<String>> {
        let script = format!(
            "return document.readyState === 'complete' && document.body \
             && document.body.getAttribute('data-page') !== '{from}' ? 'y' : null;"
        );
        self.wait_until(&script, Duration::from_secs(30)).await?;
        self.screen().await
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Best effort: closing the session ends the browser; the driver is killed next.
            // A client of its own: the pooled connections of `self.http` belong to the
            // test's runtime, which waits here.
            let url = self.session.clone();
            let _ = std::thread::spawn(move || {
                let Ok(http) = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                else {
                    return;
                };
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async move {
                        let _ = http.delete(url).send().await;
                    });
                }
            })
            .join();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The source of axe-core, installed by `npm ci --prefix crates/sesame-testkit/axe`.
pub fn axe_source() -> anyhow::Result<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/axe/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path)
        .with_context(|| format!("{path} (npm ci --prefix crates/sesame-testkit/axe)"))
}

fn driver_path() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
}

fn browser_path() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// A relying party's redirect URI on loopback that records the addresses it was sent to.
pub struct Callback {
    pub url: String,
    hits: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Callback {
    /// Listens on a free loopback port; `/cb` answers every request with a short page.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/cb", listener.local_addr()?);
        let origin = format!("http://{}", listener.local_addr()?);
        let (sender, hits) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut buffer = [0_u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let target = text.split_whitespace().nth(1).unwrap_or_default();
                if target.starts_with("/cb") {
                    let _ = sender.send(format!("{origin}{target}"));
                }
                let page = "<!doctype html><title>RP</title><body data-page=\"rp\">ok</body>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        Ok(Self { url, hits })
    }

    /// The next address the browser was sent to, within `limit`.
    pub async fn next(&mut self, limit: Duration) -> Option<String> {
        tokio::time::timeout(limit, self.hits.recv())
            .await
            .ok()
            .flatten()
    }
}
