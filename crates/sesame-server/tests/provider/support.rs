//! Helpers shared by the protocol tests.

use serde_json::Value;
use sesame_testkit::rp;
use sesame_testkit::rp::param;
use sesame_testkit::{Browser, TestServer};

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub fn authorize_url(server: &TestServer, client: &str, redirect: &str, extra: &str) -> String {
    let redirect = url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>();
    server.url(&format!("/authorize?response_type=code&client_id={client}&redirect_uri={redirect}&scope=openid&state=st{extra}"))
}

/// Logs in through the pages and returns the code sent to the RP.
pub async fn code_for(server: &TestServer, browser: &Browser, url: &str) -> String {
    let back = rp::login(server, browser, url, "12345678", "jeanne@example.org")
        .await
        .unwrap();
    param(&back, "code").unwrap()
}

pub async fn exchange(
    server: &TestServer,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = http().post(server.url("/token")).form(form);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        headers,
    )
}

/// POSTs a form to a provider endpoint, with Basic client authentication if given.
pub async fn post(
    server: &TestServer,
    path: &str,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = http().post(server.url(path)).form(form);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The client of the token-lifecycle tests: refresh tokens, offline_access, back-channel.
pub const LIFE: (&str, &str) = ("rp-life", "rp-life-secret-0123456789");

/// The header and claims of a compact JWT, unverified.
pub fn decode(token: &str) -> (Value, Value) {
    use base64::Engine as _;
    let part = |i: usize| -> Value {
        let text = token.split('.').nth(i).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .unwrap(),
        )
        .unwrap()
    };
    (part(0), part(1))
}

/// Receives back-channel logout tokens on a loopback port.
pub struct LogoutReceiver {
    pub url: String,
    tokens: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LogoutReceiver {
    pub async fn start() -> Self {
        let tokens = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = tokens.clone();
        let app = axum::Router::new().route(
            "/backchannel",
            axum::routing::post(
                move |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                    let kept = kept.clone();
                    async move {
                        if let Some(token) = form.get("logout_token") {
                            kept.lock().unwrap().push(token.clone());
                        }
                        axum::http::StatusCode::OK
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, tokens }
    }

    /// Waits up to five seconds for `count` tokens.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..50 {
            let got = self.tokens.lock().unwrap().clone();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.tokens.lock().unwrap().clone()
    }
}

/// A server with the lifecycle client (`LIFE`) whose logout tokens go to `receiver`.
pub async fn lifecycle_server(
    receiver: &LogoutReceiver,
    tweak: impl FnOnce(&mut sesame_server::config::RawConfig),
) -> TestServer {
    let url = receiver.url.clone();
    let server = TestServer::start_with(move |raw| {
        let mut client = sesame_server::config::raw::ClientSection::new(
            LIFE.0,
            Some(LIFE.1),
            vec![sesame_testkit::server::CALLBACK.into()],
        );
        client.scopes = ["profile", "email", "offline_access"]
            .map(String::from)
            .to_vec();
        client.refresh_tokens = true;
        client.post_logout_redirect_uris = vec!["https://rp.example/bye".into()];
        client.backchannel_logout_uri = Some(url);
        client.backchannel_logout_allow_private = true;
        raw.clients.push(client);
        tweak(raw);
    })
    .await
    .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    server
}

/// Logs in as the lifecycle client and exchanges the code; returns the token response.
pub async fn lifecycle_tokens(server: &TestServer, browser: &Browser, scope: &str) -> Value {
    let url = authorize_url(
        server,
        LIFE.0,
        sesame_testkit::server::CALLBACK,
        &format!("&scope={scope}"),
    );
    let url = url.replace("&scope=openid&state", "&state");
    let code = code_for(server, browser, &url).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", sesame_testkit::server::CALLBACK),
    ];
    let (status, body, _) = exchange(server, Some(LIFE), &form).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Uses a refresh token.
pub async fn refresh(server: &TestServer, token: &str) -> (u16, Value) {
    post(
        server,
        "/token",
        Some(LIFE),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// The status of userinfo for an access token.
pub async fn userinfo_status(server: &TestServer, token: &str) -> u16 {
    http()
        .get(server.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
