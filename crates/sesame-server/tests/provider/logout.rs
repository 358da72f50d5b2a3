//! RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.

use serde_json::Value;
use sesame_testkit::rp::param;
use sesame_testkit::server::{CALLBACK, RP};
use sesame_testkit::{Browser, TEST_PASSWORD};

use crate::support::{
    LIFE, LogoutReceiver, authorize_url, decode, http, lifecycle_server, lifecycle_tokens,
    userinfo_status,
};

const BYE: &str = "https://rp.example/bye";

fn end_session(server: &sesame_testkit::TestServer, query: &str) -> String {
    server.url(&format!("/end_session?{query}"))
}

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn rp_initiated_2_logout_with_id_token_hint_redirects_and_ends_sso() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    let url = end_session(
        &server,
        &format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}&state=bye1",
            enc(BYE)
        ),
    );
    let page = browser.get(&url).await.unwrap();
    let back = page.left_to.expect("redirected to the RP");
    assert!(back.starts_with(BYE));
    assert_eq!(param(&back, "state").as_deref(), Some("bye1"));
    // The SSO session is over: prompt=none now answers login_required.
    let again = browser
        .get(&authorize_url(&server, LIFE.0, CALLBACK, "&prompt=none"))
        .await
        .unwrap();
    assert_eq!(
        param(&again.left_to.unwrap(), "error").as_deref(),
        Some("login_required")
    );
    // And the tokens of the session's grants are dead.
    assert_eq!(
        userinfo_status(&server, tokens["access_token"].as_str().unwrap()).await,
        401
    );
}

#[tokio::test]
async fn rp_initiated_2_post_works_like_get() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    let page = browser
        .post_form(
            &server.url("/end_session"),
            &[("id_token_hint", hint), ("post_logout_redirect_uri", BYE)],
        )
        .await
        .unwrap();
    assert!(page.left_to.is_some_and(|u| u.starts_with(BYE)));
}

#[tokio::test]
async fn rp_initiated_2_without_a_hint_the_participant_confirms() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    lifecycle_tokens(&server, &browser, "openid").await;
    let page = browser
        .get(&end_session(&server, &format!("client_id={}", LIFE.0)))
        .await
        .unwrap();
    assert_eq!(page.screen().as_deref(), Some("logout-confirm"));
    let done = browser
        .submit(&page, "/end_session/confirm", &[])
        .await
        .unwrap();
    assert_eq!(done.screen().as_deref(), Some("logged-out"));
    assert!(done.body.contains("data-logged-out=\"true\""));
    let again = browser
        .get(&authorize_url(&server, LIFE.0, CALLBACK, "&prompt=none"))
        .await
        .unwrap();
    assert_eq!(
        param(&again.left_to.unwrap(), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn confirmation_from_another_browser_is_refused() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    lifecycle_tokens(&server, &browser, "openid").await;
    let page = browser.get(&end_session(&server, "")).await.unwrap();
    let other = Browser::new(&server.issuer).unwrap();
    let forged = other
        .submit(&page, "/end_session/confirm", &[])
        .await
        .unwrap();
    assert_eq!(forged.error().as_deref(), Some("expired"));
    let still = browser
        .get(&authorize_url(&server, LIFE.0, CALLBACK, "&prompt=none"))
        .await
        .unwrap();
    assert!(
        still.left_to.unwrap().contains("code="),
        "the session lives on"
    );
}

#[tokio::test]
async fn rp_initiated_3_redirect_uri_must_match_exactly() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    for uri in [
        format!("{BYE}?extra=1"),
        "https://evil.example/bye".to_owned(),
        format!("{BYE}/"),
    ] {
        let page = browser
            .get(&end_session(
                &server,
                &format!(
                    "id_token_hint={hint}&post_logout_redirect_uri={}",
                    enc(&uri)
                ),
            ))
            .await
            .unwrap();
        assert_eq!(
            (page.status, page.error().as_deref()),
            (400, Some("logout_redirect_mismatch")),
            "{uri}"
        );
        assert!(page.left_to.is_none());
    }
    // Without a client to check it against, a redirect URI is refused too.
    let page = browser
        .get(&end_session(
            &server,
            &format!("post_logout_redirect_uri={}", enc(BYE)),
        ))
        .await
        .unwrap();
    assert_eq!(page.error().as_deref(), Some("logout_redirect_mismatch"));
}

#[tokio::test]
async fn rp_initiated_2_client_id_must_match_the_hint() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    let page = browser
        .get(&end_session(
            &server,
            &format!("id_token_hint={hint}&client_id={}", RP.0),
        ))
        .await
        .unwrap();
    assert_eq!(page.error().as_deref(), Some("logout_client_mismatch"));
    let forged = format!("{}x", &hint[..hint.len() - 1]);
    let page = browser
        .get(&end_session(&server, &format!("id_token_hint={forged}")))
        .await
        .unwrap();
    assert_eq!(page.error().as_deref(), Some("logout_bad_hint"));
}

#[tokio::test]
async fn logout_without_session_shows_the_logged_out_page() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let page = browser.get(&end_session(&server, "")).await.unwrap();
    assert_eq!(page.screen().as_deref(), Some("logged-out"));
}

#[tokio::test]
async fn backchannel_2_4_every_rp_of_the_session_gets_a_logout_token() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    browser
        .get(&end_session(&server, &format!("id_token_hint={hint}")))
        .await
        .unwrap();
    let received = receiver.wait_for(1).await;
    assert_eq!(received.len(), 1);
    let (header, claims) = decode(&received[0]);
    let (_, id_claims) = decode(hint);
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], server.issuer.as_str());
    assert_eq!(claims["aud"], LIFE.0);
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert!(claims["iat"].is_i64() && claims["exp"].is_i64() && claims["jti"].is_string());
    assert_eq!(
        claims["events"],
        serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(
        claims.get("nonce").is_none(),
        "Back-Channel Logout §2.4: no nonce"
    );
    verify_signature(&server, &received[0]).await;
}

async fn verify_signature(server: &sesame_testkit::TestServer, token: &str) {
    let jwks: Value = http()
        .get(server.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (header, _) = decode(token);
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap();
    let jwk = josekit::jwk::Jwk::from_bytes(key.to_string().as_bytes()).unwrap();
    let verifier = josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap();
    assert!(
        josekit::jws::deserialize_compact(token, &verifier).is_ok(),
        "signed with a published key"
    );
}

#[tokio::test]
async fn design_5_11_loopback_receivers_need_the_operators_leave() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |raw| {
        for client in &mut raw.clients {
            client.backchannel_logout_allow_private = false;
        }
    })
    .await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    let hint = tokens["id_token"].as_str().unwrap();
    browser
        .get(&end_session(&server, &format!("id_token_hint={hint}")))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        receiver.wait_for(0).await.is_empty(),
        "nothing is sent to a loopback address"
    );
}

/// The demo questionnaire site, an `openidconnect` RP, logs a participant in and out:
/// the login goes through Sesame's pages, the logout through `/end_session`, and Sesame's
/// session ends with it.
#[tokio::test]
async fn the_openidconnect_demo_rp_logs_in_and_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rp = format!("http://{}", listener.local_addr().unwrap());
    let secret = "demo-rp-secret-0123456789";
    let base = rp.clone();
    let server = sesame_testkit::TestServer::start_with(move |raw| {
        let mut client = sesame_server::config::raw::ClientSection::new(
            "demo",
            Some(secret),
            vec![format!("{base}/callback")],
        );
        client.scopes = ["profile", "email", "cohort"].map(String::from).to_vec();
        client.post_logout_redirect_uris = vec![format!("{base}/")];
        raw.clients.push(client);
    })
    .await
    .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let config = sesame_demo::DemoRpConfig {
        issuer: server.issuer.clone(),
        client_id: "demo".into(),
        client_secret: secret.into(),
        base_url: rp.clone(),
    };
    tokio::spawn(sesame_demo::serve(listener, config, std::future::pending()));

    let browser = Browser::new(&server.issuer).unwrap();
    let page = browser.get(&format!("{rp}/login")).await.unwrap();
    let page = sesame_testkit::rp::password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let page = sesame_testkit::rp::code_step(&server, &browser, &page, "jeanne@example.org")
        .await
        .unwrap();
    let callback = page.left_to.expect("back to the demo site");
    let home = browser.get(&callback).await.unwrap();
    let home = browser
        .get(&home.left_to.expect("on to the home page"))
        .await
        .unwrap();
    assert!(
        home.body.contains("Vos questionnaires en cours"),
        "{}",
        home.body
    );
    assert!(home.body.contains("12345678"), "the cohort number is shown");

    // "Se déconnecter": the demo site sends the browser to /end_session and back.
    let out = browser
        .post_form(&format!("{rp}/logout"), &[])
        .await
        .unwrap();
    let back = out.left_to.expect("back to the demo site after the logout");
    assert!(back.starts_with(&rp), "{back}");
    let welcome = browser.get(&back).await.unwrap();
    assert!(welcome.body.contains("Se connecter"), "{}", welcome.body);
    let again = browser
        .get(&authorize_url(
            &server,
            "demo",
            &format!("{rp}/callback"),
            "&prompt=none",
        ))
        .await
        .unwrap();
    assert_eq!(
        param(&again.left_to.unwrap(), "error").as_deref(),
        Some("login_required"),
        "Sesame's session ended too"
    );
    server.stop().await;
}
