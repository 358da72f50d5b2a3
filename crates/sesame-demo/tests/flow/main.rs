//! The demo RP driven end to end through a fake provider, as a browser would drive it.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed step should stop the test"
)]

mod fake_provider;

use fake_provider::{CLIENT_ID, CLIENT_SECRET, FakeProvider, Key, Quirk, SUBJECT};
use reqwest::StatusCode;
use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Map, Value, json};
use sesame_demo::DemoRpConfig;
use std::sync::Arc;
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
    browser_with(follow_redirects, Arc::new(Jar::default()))
}

/// A browser that keeps its cookies in `jar`, which another may share.
fn browser_with(follow_redirects: bool, jar: Arc<Jar>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let policy = match follow_redirects {
        true => reqwest::redirect::Policy::limited(10),
        false => reqwest::redirect::Policy::none(),
    };
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(policy)
        .build()
        .unwrap()
}

/// The `Cookie` header `jar` sends to `rp`.
fn cookies_for(jar: &Jar, rp: &str) -> String {
    let url = url::Url::parse(rp).unwrap();
    let header = jar.cookies(&url).unwrap();
    header.to_str().unwrap().to_owned()
}

/// A browser, logged in at `rp`.
async fn logged_in(rp: &str) -> reqwest::Client {
    let browser = browser(true);
    let (_, page) = get(&browser, &format!("{rp}/login")).await;
    assert!(page.contains("Vos questionnaires en cours"), "{page}");
    browser
}

/// Whether `browser` sees its questionnaires at `rp`.
async fn is_logged_in(browser: &reqwest::Client, rp: &str) -> bool {
    let (status, page) = get(browser, &format!("{rp}/")).await;
    assert_eq!(status, StatusCode::OK);
    page.contains("Vos questionnaires en cours")
}

/// Posts `token` as the provider would; returns the status, `Cache-Control` and body.
async fn post_logout_token(rp: &str, token: &str) -> (StatusCode, String, String) {
    let response = browser(false)
        .post(format!("{rp}/backchannel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    let cache = response.headers()[CACHE_CONTROL]
        .to_str()
        .unwrap()
        .to_owned();
    (response.status(), cache, response.text().await.unwrap())
}

/// The query of `url` as pairs.
fn query_of(url: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs().into_owned().collect()
}

fn param(query: &[(String, String)], name: &str) -> Option<String> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
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
    assert!(page.contains("Déconnexion réussie"), "{page}");
}

#[tokio::test]
async fn logout_ends_the_session_here_and_at_the_provider() {
    let (op, rp) = setup(Quirk::None).await;
    let jar = Arc::new(Jar::default());
    let (follow, manual) = (
        browser_with(true, jar.clone()),
        browser_with(false, jar.clone()),
    );
    let (_, page) = get(&follow, &format!("{rp}/login")).await;
    assert!(page.contains("Vos questionnaires en cours"), "{page}");
    let session_cookie = cookies_for(&jar, &rp);
    let issued = op.seen.last_issued();

    let response = manual.post(format!("{rp}/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/end_session?", op.issuer)));
    let query = query_of(&location);
    assert_eq!(param(&query, "id_token_hint"), Some(issued.id_token));
    assert_eq!(
        param(&query, "post_logout_redirect_uri"),
        Some(format!("{rp}/"))
    );
    assert_eq!(param(&query, "client_id").as_deref(), Some(CLIENT_ID));
    assert!(param(&query, "state").is_some_and(|s| s.len() >= 22));
    assert_ne!(cookies_for(&jar, &rp), session_cookie);

    // The session is gone on the server, not only from this browser's cookie.
    let replay = browser(false)
        .get(format!("{rp}/"))
        .header(COOKIE, &session_cookie)
        .send()
        .await
        .unwrap();
    let page = replay.text().await.unwrap();
    assert!(page.contains("Se connecter") && !page.contains(SUBJECT));

    let response = follow.get(&location).send().await.unwrap();
    assert_eq!(
        response.url().as_str().split('?').next(),
        Some(format!("{rp}/").as_str())
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("Déconnexion réussie"), "{page}");
    assert!(page.contains("Se connecter") && !page.contains(SUBJECT));
    assert_eq!(op.seen.end_sessions.lock().unwrap().len(), 1);

    let (_, page) = get(&follow, &format!("{rp}/")).await;
    assert!(page.contains("Se connecter") && !page.contains("Déconnexion réussie"));
}

#[tokio::test]
async fn a_wrong_or_stale_logout_state_is_ignored() {
    let (_op, rp) = setup(Quirk::None).await;
    let jar = Arc::new(Jar::default());
    let (follow, manual) = (browser_with(true, jar.clone()), browser_with(false, jar));
    follow.get(format!("{rp}/login")).send().await.unwrap();
    let response = manual.post(format!("{rp}/logout")).send().await.unwrap();
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();

    let (status, page) = get(&follow, &format!("{rp}/?state=forged")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Se connecter") && !page.contains("Déconnexion réussie"));
    // The forged state used up the logout: the real one comes back stale.
    let (status, page) = get(&follow, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Se connecter") && !page.contains("Déconnexion réussie"));
    assert!(!page.contains(SUBJECT));
}

#[tokio::test]
async fn without_an_end_session_endpoint_logout_stays_local() {
    let (op, rp) = setup(Quirk::NoEndSession).await;
    let jar = Arc::new(Jar::default());
    let (follow, manual) = (browser_with(true, jar.clone()), browser_with(false, jar));
    follow.get(format!("{rp}/login")).send().await.unwrap();
    let response = manual.post(format!("{rp}/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/");
    assert!(!is_logged_in(&follow, &rp).await);
    assert!(op.seen.end_sessions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_logout_token_ends_the_session_it_names_only() {
    let (op, rp) = setup(Quirk::None).await;
    let first = logged_in(&rp).await;
    let first_sid = op.seen.last_issued().sid;
    let second = logged_in(&rp).await;
    assert_ne!(op.seen.last_issued().sid, first_sid);

    let claims = op.logout_claims(&first_sid);
    let token = op.sign_logout_token(&claims, "logout+jwt", Key::Published);
    let (status, cache, _) = post_logout_token(&rp, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cache, "no-store");
    assert!(!is_logged_in(&first, &rp).await);
    assert!(is_logged_in(&second, &rp).await);
}

#[tokio::test]
async fn a_logout_token_without_sid_ends_every_session_of_its_subject() {
    let (op, rp) = setup(Quirk::None).await;
    let (first, second) = (logged_in(&rp).await, logged_in(&rp).await);
    let mut claims = op.logout_claims("unused");
    claims.remove("sid");
    let token = op.sign_logout_token(&claims, "logout+jwt", Key::Published);
    let (status, _, _) = post_logout_token(&rp, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!is_logged_in(&first, &rp).await);
    assert!(!is_logged_in(&second, &rp).await);
}

#[tokio::test]
async fn bad_logout_tokens_are_refused_and_the_session_kept() {
    let (op, rp) = setup(Quirk::None).await;
    let browser = logged_in(&rp).await;
    let valid = op.logout_claims(&op.seen.last_issued().sid);
    let edited = |edit: fn(&mut Map<String, Value>)| {
        let mut claims = valid.clone();
        edit(&mut claims);
        op.sign_logout_token(&claims, "logout+jwt", Key::Published)
    };
    let bad: [(&str, String); 7] = [
        (
            "wrong signature",
            op.sign_logout_token(&valid, "logout+jwt", Key::Foreign),
        ),
        (
            "wrong aud",
            edited(|c| {
                c.insert("aud".into(), json!("another-client"));
            }),
        ),
        (
            "nonce",
            edited(|c| {
                c.insert("nonce".into(), json!("n-1"));
            }),
        ),
        (
            "no events",
            edited(|c| {
                c.remove("events");
            }),
        ),
        (
            "wrong typ",
            op.sign_logout_token(&valid, "JWT", Key::Published),
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
        ("empty", String::new()),
    ];
    for (case, token) in bad {
        let response = reqwest::Client::new()
            .post(format!("{rp}/backchannel-logout"))
            .form(&[("logout_token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{case}");
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "application/json",
            "{case}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({ "error": "invalid_request" }), "{case}");
        assert!(is_logged_in(&browser, &rp).await, "{case}");
    }

    let (status, _, _) = post_logout_token(&rp, &edited(|_| {})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!is_logged_in(&browser, &rp).await);
}

#[tokio::test]
async fn a_post_without_a_logout_token_is_refused() {
    let (_op, rp) = setup(Quirk::None).await;
    let client = reqwest::Client::new();
    let url = format!("{rp}/backchannel-logout");
    let no_field = client
        .post(&url)
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_field.status(), StatusCode::BAD_REQUEST);
    let not_a_form = client.post(&url).body("x").send().await.unwrap();
    assert_eq!(not_a_form.status(), StatusCode::BAD_REQUEST);
    let body: Value = not_a_form.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
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
    assert_eq!(
        value("scope").as_deref(),
        Some("openid profile email cohort")
    );
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
