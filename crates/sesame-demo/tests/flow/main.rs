//! The demo RP driven end to end through a fake provider, as a browser would drive it.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step should stop the test"
)]

mod fake_provider;

use fake_provider::{CLIENT_ID, CLIENT_SECRET, FakeProvider, Quirk, SUBJECT};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, LOCATION};
use sesame_demo::DemoRpConfig;
use std::sync::atomic::Ordering;
use tokio::net::TcpListener;

/// Starts the demo RP on a free loopback port, talking to `issuer`; returns its base URL.
async fn start_rp(issuer: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let config = DemoRpConfig {
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: CLIENT_SECRET.to_owned(),
        base_url: base_url.clone(),
    };
    tokio::spawn(sesame_demo::serve(listener, config, std::future::pending()));
    base_url
}

/// A browser: keeps cookies, follows redirects unless told not to.
fn browser(follow_redirects: bool) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let policy = match follow_redirects {
        true => reqwest::redirect::Policy::limited(10),
        false => reqwest::redirect::Policy::none(),
    };
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(policy)
        .build()
        .unwrap()
}

async fn setup(quirk: Quirk) -> (FakeProvider, String) {
    let op = fake_provider::start(quirk).await;
    let rp = start_rp(&op.issuer).await;
    (op, rp)
}

async fn get(client: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn login_shows_the_questionnaires_and_the_identity() {
    let (_op, rp) = setup(Quirk::None).await;
    let browser = browser(true);
    let (_, welcome) = get(&browser, &format!("{rp}/")).await;
    assert!(welcome.contains("Constances — Mon espace questionnaires"));

    let response = browser.get(format!("{rp}/login")).send().await.unwrap();
    assert_eq!(response.url().as_str(), format!("{rp}/"));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("Vos questionnaires en cours"), "{page}");
    assert!(page.contains(SUBJECT));
    assert!(page.contains("<code>12345678</code>"));
    assert!(page.contains("L&#39;Hôte &lt;Martin&gt;"));
    assert!(page.contains("<code>mfa</code>"));
    assert!(page.contains("pwd, otp, mfa"));
}

#[tokio::test]
async fn logout_returns_to_the_welcome_page() {
    let (_op, rp) = setup(Quirk::None).await;
    let browser = browser(true);
    browser.get(format!("{rp}/login")).send().await.unwrap();
    let response = browser.post(format!("{rp}/logout")).send().await.unwrap();
    let page = response.text().await.unwrap();
    assert!(page.contains("Se connecter"));
    assert!(!page.contains(SUBJECT));
}

#[tokio::test]
async fn a_wrong_state_is_refused_before_the_code_exchange() {
    let (op, rp) = setup(Quirk::None).await;
    let browser = browser(false);
    let response = browser.get(format!("{rp}/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/authorize?", op.issuer)));

    let forged = format!("{rp}/callback?code=code-1&state=forged&iss={}", op.issuer);
    let (status, page) = get(&browser, &forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("paramètre state"), "{page}");
    assert_eq!(op.seen.token_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_authorization_request_carries_pkce_state_and_nonce() {
    let (op, rp) = setup(Quirk::None).await;
    let response = browser(false)
        .get(format!("{rp}/login"))
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    let query: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let value = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(value("scope").as_deref(), Some("openid profile email"));
    assert_eq!(value("redirect_uri"), Some(format!("{rp}/callback")));
    assert!(value("state").is_some_and(|s| s.len() >= 22));
    assert!(value("nonce").is_some_and(|n| n.len() >= 22));
    assert!(location.as_str().starts_with(&op.issuer));
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("demo_rp="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
}

#[tokio::test]
async fn prompt_login_is_passed_on() {
    let (op, rp) = setup(Quirk::None).await;
    let response = browser(true)
        .get(format!("{rp}/login?prompt=login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(*op.seen.prompts.lock().unwrap(), vec!["login".to_owned()]);
    let (status, _) = get(&browser(true), &format!("{rp}/login?prompt=whatever")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_foreign_issuer_in_the_response_is_refused() {
    let (op, rp) = setup(Quirk::WrongIss).await;
    let (status, page) = get(&browser(true), &format!("{rp}/login")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("paramètre iss"), "{page}");
    assert_eq!(op.seen.token_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let (op, rp) = setup(Quirk::WrongNonce).await;
    let (status, page) = get(&browser(true), &format!("{rp}/login")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        page.contains("réponse que ce site ne peut pas accepter"),
        "{page}"
    );
    assert_eq!(op.seen.token_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_id_token_signed_with_an_unpublished_key_is_refused() {
    let (_op, rp) = setup(Quirk::ForeignKey).await;
    let (status, page) = get(&browser(true), &format!("{rp}/login")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(!page.contains(SUBJECT));
}

#[tokio::test]
async fn an_id_token_for_another_client_is_refused() {
    let (_op, rp) = setup(Quirk::WrongAudience).await;
    let (status, page) = get(&browser(true), &format!("{rp}/login")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(!page.contains(SUBJECT));
}

#[tokio::test]
async fn a_provider_error_is_shown_escaped() {
    let (_op, rp) = setup(Quirk::None).await;
    let url =
        format!("{rp}/callback?error=access_denied&error_description=%3Cb%3EAnnul%C3%A9%3C/b%3E");
    let (status, page) = get(&browser(true), &url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("access_denied"));
    assert!(page.contains("&lt;b&gt;Annulé&lt;/b&gt;"));
}

#[tokio::test]
async fn a_callback_without_a_login_is_refused() {
    let (op, rp) = setup(Quirk::None).await;
    let url = format!("{rp}/callback?code=code-1&state=abc&iss={}", op.issuer);
    let (status, page) = get(&browser(true), &url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("expiré ou a déjà été utilisée"));
}

#[tokio::test]
async fn a_provider_that_starts_late_is_discovered_on_a_later_try() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let rp = start_rp(&format!("http://{addr}")).await;
    let browser = browser(true);

    let (status, page) = get(&browser, &format!("{rp}/login")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(page.contains("Le service de connexion ne répond pas, réessayez dans un instant."));

    let listener = TcpListener::bind(addr).await.unwrap();
    fake_provider::start_on(listener, Quirk::None).await;
    let (status, page) = get(&browser, &format!("{rp}/login")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Vos questionnaires en cours"));
}

#[tokio::test]
async fn the_stylesheet_is_served() {
    let (_op, rp) = setup(Quirk::None).await;
    let response = browser(true)
        .get(format!("{rp}/static/demo.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}
