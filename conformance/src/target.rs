//! The providers under test: Sesame in-process (its real server on a loopback port), or
//! the calibration peer (node-oidc-provider, `peer/server.mjs`) in a child process. Both get
//! the suite's static clients, and the harness logs in through their own pages.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use sesame_server::config::raw::ClientSection;
use sesame_testkit::browser::form_values;
use sesame_testkit::{Browser, Page, TEST_PASSWORD, TestServer, extract_code};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A static client of the suite: id, secret, and whether it authenticates with
/// `client_secret_post` (else `client_secret_basic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub id: &'static str,
    pub secret: &'static str,
    pub post: bool,
}

/// `client`, the suite's main client.
pub const CLIENT: Client = Client {
    id: "client",
    secret: "client-secret-0123456789abcdef",
    post: false,
};
/// `client2`, used by the refresh-token module to check that tokens are bound to a client.
pub const CLIENT2: Client = Client {
    id: "client2",
    secret: "client2-secret-0123456789abcdef",
    post: false,
};
/// `client_secret_post`, for `oidcc-server-client-secret-post`.
pub const CLIENT_POST: Client = Client {
    id: "client_secret_post",
    secret: "client-post-secret-0123456789ab",
    post: true,
};

/// Where the suite's RP receives responses; the harness reads them from the browser, so
/// nothing listens there.
pub const REDIRECT: &str = "http://127.0.0.1:9/test/a/sesame/callback";
/// The registered post-logout redirect.
pub const POST_LOGOUT: &str = "http://127.0.0.1:9/test/a/sesame/post_logout_redirect";

const NUMBER: &str = "12345678";
const EMAIL: &str = "jeanne@example.org";

/// Which provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Sesame,
    Peer,
}

enum Running {
    Sesame(Box<TestServer>),
    Peer(Child),
}

/// A provider under test, with the receiver of its back-channel logout tokens.
pub struct Target {
    pub kind: TargetKind,
    pub issuer: String,
    /// The throwaway certificate of an https issuer, for the test's clients to trust.
    pub cert_pem: Option<String>,
    running: Running,
    logout_tokens: Received,
    pub backchannel_uri: String,
}

impl Target {
    /// Starts the provider with the suite's clients.
    pub async fn start(kind: TargetKind) -> anyhow::Result<Self> {
        sesame_testkit::browser::install_crypto();
        let (backchannel_uri, logout_tokens) = logout_receiver().await?;
        let (issuer, running) = match kind {
            TargetKind::Sesame => start_sesame(&backchannel_uri).await?,
            TargetKind::Peer => start_peer(&backchannel_uri).await?,
        };
        let cert_pem = match &running {
            Running::Sesame(server) => server.cert_pem.clone(),
            Running::Peer(_) => None,
        };
        Ok(Self {
            kind,
            issuer,
            cert_pem,
            running,
            logout_tokens,
            backchannel_uri,
        })
    }

    /// A browser with no cookies for this provider.
    pub fn browser(&self) -> anyhow::Result<Browser> {
        Browser::trusting(&self.issuer, self.cert_pem.as_deref())
    }

    /// Plays the participant on the provider's pages until the browser leaves for the RP
    /// (a redirect, or a form-post page), or a page the participant cannot act on (an
    /// error, a logout confirmation) is shown.
    pub async fn interact(&self, browser: &Browser, mut page: Page) -> anyhow::Result<Page> {
        for _ in 0..8 {
            if page.left_to.is_some() || posts_to_rp(&page) {
                return Ok(page);
            }
            page = match (&self.running, page.screen().as_deref()) {
                (Running::Sesame(_), Some("login")) => {
                    let fields = [("number", NUMBER), ("password", TEST_PASSWORD)];
                    browser.submit(&page, "/login", &fields).await?
                }
                (Running::Sesame(server), Some("code")) => {
                    let mail = server
                        .smtp
                        .wait_for(EMAIL, Duration::from_secs(10))
                        .await
                        .context("no code mailed")?;
                    let code = extract_code(&mail.body).context("no code in the mail")?;
                    browser
                        .submit(&page, "/login/code", &[("code", &code)])
                        .await?
                }
                (Running::Peer(_), Some("login")) => {
                    let fields = [("login", "jeanne"), ("password", "secret")];
                    browser.submit(&page, "", &fields).await?
                }
                (Running::Peer(_), Some("consent")) => browser.submit(&page, "", &[]).await?,
                _ => return Ok(page),
            };
        }
        bail!("no way out of the provider's pages")
    }

    /// The logout tokens received so far, with every form parameter of their POST.
    pub fn logout_tokens(&self) -> Vec<LogoutPost> {
        self.logout_tokens
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    /// Stops the provider.
    pub async fn stop(self) {
        match self.running {
            Running::Sesame(server) => server.stop().await,
            Running::Peer(mut child) => {
                let _ = child.kill().await;
            }
        }
    }
}

/// A page whose form the browser submits to the RP by itself (form post).
pub fn posts_to_rp(page: &Page) -> bool {
    form_values(page, "").is_ok_and(|(action, _)| action.starts_with(REDIRECT))
}

async fn start_sesame(backchannel: &str) -> anyhow::Result<(String, Running)> {
    let backchannel = backchannel.to_owned();
    // Over https, with a certificate made for the run: the suite's https checks hold.
    let server = TestServer::start_https(move |raw| {
        let section = |c: Client| {
            let mut s = ClientSection::new(c.id, Some(c.secret), vec![REDIRECT.into()]);
            s.token_endpoint_auth_method = if c.post {
                "client_secret_post".into()
            } else {
                "client_secret_basic".into()
            };
            s.scopes = ["profile", "email", "phone", "offline_access"]
                .map(String::from)
                .to_vec();
            s.refresh_tokens = true;
            s.post_logout_redirect_uris = vec![POST_LOGOUT.into()];
            s
        };
        let mut main = section(CLIENT);
        main.backchannel_logout_uri = Some(backchannel);
        main.backchannel_logout_session_required = true;
        main.backchannel_logout_allow_private = true;
        raw.clients = vec![main, section(CLIENT2), section(CLIENT_POST)];
    })
    .await?;
    server.add_participant(NUMBER, EMAIL).await?;
    Ok((server.issuer.clone(), Running::Sesame(Box::new(server))))
}

/// The peer's folder, with its `node_modules` installed by `npm ci --prefix conformance/peer`.
fn peer_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peer")
}

async fn start_peer(backchannel: &str) -> anyhow::Result<(String, Running)> {
    let dir = peer_dir();
    if !dir.join("node_modules").is_dir() {
        bail!("the peer is not installed: npm ci --prefix conformance/peer");
    }
    let client = |c: Client, backchannel: Option<&str>| {
        let mut value = serde_json::json!({
            "client_id": c.id,
            "client_secret": c.secret,
            "redirect_uris": [REDIRECT],
            "post_logout_redirect_uris": [POST_LOGOUT],
            "token_endpoint_auth_method":
                if c.post { "client_secret_post" } else { "client_secret_basic" },
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        });
        if let Some(uri) = backchannel {
            value["backchannel_logout_uri"] = serde_json::json!(uri);
            value["backchannel_logout_session_required"] = serde_json::json!(true);
        }
        value
    };
    let clients = serde_json::json!([
        client(CLIENT, Some(backchannel)),
        client(CLIENT2, None),
        client(CLIENT_POST, None),
    ]);
    // A busy machine can make one start miss its deadline: a fresh port and another try.
    let mut failure = anyhow!("the peer did not start");
    for _ in 0..3 {
        match spawn_peer(&dir, &clients.to_string()).await {
            Ok(started) => return Ok(started),
            Err(error) => failure = error,
        }
    }
    Err(failure)
}

async fn spawn_peer(dir: &std::path::Path, clients: &str) -> anyhow::Result<(String, Running)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut child = Command::new("node")
        .arg(dir.join("server.mjs"))
        .env("PORT", port.to_string())
        .env("CLIENTS", clients)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("node (the calibration peer)")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no peer output"))?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if line.starts_with("ready") {
                return Ok::<_, anyhow::Error>(());
            }
        }
        bail!("the peer stopped before it was ready")
    })
    .await
    .context("the peer did not start")?;
    ready?;
    // Keep reading so that the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((format!("http://127.0.0.1:{port}"), Running::Peer(child)))
}

/// Each logout token received.
type Received = Arc<Mutex<Vec<LogoutPost>>>;

/// A back-channel logout POST as the RP received it.
#[derive(Debug, Clone)]
pub struct LogoutPost {
    pub token: String,
    /// Every form parameter.
    pub form: Vec<(String, String)>,
    pub content_type: String,
}

/// A loopback listener for back-channel logout POSTs.
async fn logout_receiver() -> anyhow::Result<(String, Received)> {
    let received: Received = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/backchannel_logout",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let kept = kept.clone();
            async move {
                let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                let token = form
                    .iter()
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                let content_type = headers
                    .get(axum::http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if let Ok(mut all) = kept.lock() {
                    all.push(LogoutPost {
                        token,
                        form,
                        content_type,
                    });
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/backchannel_logout", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, received))
}
