//! The request options a certified provider honours: form_post, the claims parameter,
//! request objects, pairwise subjects, id_token_hint, display and claims_locales.

use scraper::{Html, Selector};
use serde_json::Value;
use sesame_testkit::rp::{self, param};
use sesame_testkit::server::{CALLBACK, RP, TEST_PASSWORD};
use sesame_testkit::{Browser, Page, TestServer};

use crate::setup;
use crate::support::{authorize_url, code_for, decode, exchange, http};

fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The action and fields of the form_post page.
fn posted(page: &Page) -> (String, Vec<(String, String)>) {
    let html = Html::parse_document(&page.body);
    let form = html
        .select(&Selector::parse("form#form-post").unwrap())
        .next()
        .expect("a form_post form");
    let action = form.value().attr("action").unwrap().to_owned();
    let fields = form
        .select(&Selector::parse("input[type=hidden]").unwrap())
        .map(|i| {
            (
                i.value().attr("name").unwrap().to_owned(),
                i.value().attr("value").unwrap().to_owned(),
            )
        })
        .collect();
    (action, fields)
}

async fn tokens_for(server: &TestServer, browser: &Browser, extra: &str) -> Value {
    let code = code_for(
        server,
        browser,
        &authorize_url(server, RP.0, CALLBACK, extra),
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let (status, body, _) = exchange(server, Some(RP), &form).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn userinfo(server: &TestServer, token: &str) -> Value {
    http()
        .get(server.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn form_post_2_the_response_is_posted_by_an_external_script() {
    let (server, browser) = setup().await;
    let url = authorize_url(&server, RP.0, CALLBACK, "&response_mode=form_post");
    let page = browser.get(&url).await.unwrap();
    let page = rp::password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let page = rp::code_step(&server, &browser, &page, "jeanne@example.org")
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.screen().as_deref(), Some("form-post"));
    let (action, fields) = posted(&page);
    assert_eq!(action, CALLBACK);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["code", "state", "iss"]);
    assert!(page.body.contains("/static/base/form_post.js\"></script>"));
    assert!(!page.body.contains("<script>"), "no inline script");
    let csp = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(!csp.contains("form-action"));
    let script = http()
        .get(server.url("/static/base/form_post.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
}

#[tokio::test]
async fn form_post_errors_are_posted_too() {
    let (server, browser) = setup().await;
    let page = browser
        .get(&authorize_url(
            &server,
            RP.0,
            CALLBACK,
            "&response_mode=form_post&prompt=none",
        ))
        .await
        .unwrap();
    let (action, fields) = posted(&page);
    assert_eq!(action, CALLBACK);
    assert!(fields.contains(&("error".into(), "login_required".into())));
    assert!(fields.contains(&("state".into(), "st".into())));
}

#[tokio::test]
async fn oidc_core_5_5_claims_asked_by_name_reach_userinfo_and_the_id_token() {
    let (server, browser) = setup().await;
    let claims = enc(r#"{"userinfo":{"email":null},"id_token":{"given_name":{"essential":true}}}"#);
    let tokens = tokens_for(&server, &browser, &format!("&claims={claims}")).await;
    let info = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        info["email"], "jeanne@example.org",
        "asked by name without the email scope"
    );
    assert!(info.get("given_name").is_none());
    let (_, id) = decode(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["given_name"], "Jeanne");
    assert!(id.get("email").is_none());
}

#[tokio::test]
async fn oidc_core_5_5_1_1_essential_acr() {
    let (server, browser) = setup().await;
    let unmet = enc(r#"{"id_token":{"acr":{"essential":true,"values":["phr"]}}}"#);
    let page = browser
        .get(&authorize_url(
            &server,
            RP.0,
            CALLBACK,
            &format!("&claims={unmet}"),
        ))
        .await
        .unwrap();
    assert_eq!(
        param(&page.left_to.unwrap(), "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    let pwd = enc(r#"{"id_token":{"acr":{"essential":true,"values":["pwd"]}}}"#);
    let tokens = tokens_for(&server, &browser, &format!("&claims={pwd}")).await;
    let (_, id) = decode(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        id["acr"], "mfa",
        "rp's minimum_acr is mfa: the token never states less"
    );
    let page = browser
        .get(&authorize_url(&server, RP.0, CALLBACK, "&claims=notjson"))
        .await
        .unwrap();
    assert_eq!(
        param(&page.left_to.unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn oidc_core_6_request_objects_are_refused_as_discovery_says() {
    let (server, browser) = setup().await;
    let page = browser
        .get(&authorize_url(
            &server,
            RP.0,
            CALLBACK,
            "&request=eyJhbGciOiJub25lIn0.e30.",
        ))
        .await
        .unwrap();
    assert_eq!(
        param(&page.left_to.unwrap(), "error").as_deref(),
        Some("request_not_supported")
    );
    let page = browser
        .get(&authorize_url(
            &server,
            RP.0,
            CALLBACK,
            "&request_uri=https%3A%2F%2Frp.example%2Fr",
        ))
        .await
        .unwrap();
    assert_eq!(
        param(&page.left_to.unwrap(), "error").as_deref(),
        Some("request_uri_not_supported")
    );
    let doc: Value = http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            doc["request_parameter_supported"].clone(),
            doc["request_uri_parameter_supported"].clone()
        ),
        (Value::Bool(false), Value::Bool(false))
    );
}

#[tokio::test]
async fn oidc_core_8_1_pairwise_subjects_per_sector() {
    let server = TestServer::start_with(|raw| {
        for (id, host) in [("pair-a", "a.example"), ("pair-b", "b.example")] {
            let mut c = sesame_server::config::raw::ClientSection::new(
                id,
                Some("pairwise-secret-0123456789"),
                vec![format!("https://{host}/cb")],
            );
            c.subject_type = "pairwise".into();
            raw.clients.push(c);
        }
    })
    .await
    .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let mut subs = Vec::new();
    for (id, host) in [
        ("pair-a", "a.example"),
        ("pair-b", "b.example"),
        ("pair-a", "a.example"),
    ] {
        let browser = Browser::new(&server.issuer).unwrap();
        let redirect = format!("https://{host}/cb");
        let back = rp::login(
            &server,
            &browser,
            &authorize_url(&server, id, &redirect, ""),
            "12345678",
            "jeanne@example.org",
        )
        .await
        .unwrap();
        let code = param(&back, "code").unwrap();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
        ];
        let (_, body, _) = exchange(&server, Some((id, "pairwise-secret-0123456789")), &form).await;
        let (_, claims) = decode(body["id_token"].as_str().unwrap());
        let info = userinfo(&server, body["access_token"].as_str().unwrap()).await;
        assert_eq!(info["sub"], claims["sub"]);
        subs.push(claims["sub"].as_str().unwrap().to_owned());
    }
    assert_ne!(subs[0], subs[1], "sectors cannot correlate");
    assert_eq!(subs[0], subs[2], "stable per sector");
}

#[tokio::test]
async fn id_token_hint_for_another_participant_needs_a_login() {
    let (server, browser) = setup().await;
    let tokens = tokens_for(&server, &browser, "").await;
    let hint = tokens["id_token"].as_str().unwrap().to_owned();
    // The same participant: prompt=none succeeds.
    let page = browser
        .get(&authorize_url(
            &server,
            RP.0,
            CALLBACK,
            &format!("&prompt=none&id_token_hint={hint}"),
        ))
        .await
        .unwrap();
    assert!(page.left_to.unwrap().contains("code="));
    // Another participant's session in another browser: login_required.
    server
        .add_participant("87654321", "paul@example.org")
        .await
        .unwrap();
    let other = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(&server, RP.0, CALLBACK, "");
    rp::login(&server, &other, &url, "87654321", "paul@example.org")
        .await
        .unwrap();
    let page = other
        .get(&authorize_url(
            &server,
            RP.0,
            CALLBACK,
            &format!("&prompt=none&id_token_hint={hint}"),
        ))
        .await
        .unwrap();
    assert_eq!(
        param(&page.left_to.unwrap(), "error").as_deref(),
        Some("login_required")
    );
    let page = other
        .get(&authorize_url(
            &server,
            RP.0,
            CALLBACK,
            "&id_token_hint=forged",
        ))
        .await
        .unwrap();
    assert_eq!(
        param(&page.left_to.unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn display_claims_locales_and_acr_values_are_accepted() {
    let (server, browser) = setup().await;
    let extra = "&display=touch&claims_locales=fr&acr_values=phr%20mfa";
    let tokens = tokens_for(&server, &browser, extra).await;
    let (_, id) = decode(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "mfa");
}

#[tokio::test]
async fn oidc_core_5_5_1_a_sub_asked_by_value_is_never_another_user() {
    let (server, browser) = setup().await;
    let claims = enc(r#"{"id_token":{"sub":{"value":"someone-else"}}}"#);
    let url = authorize_url(&server, RP.0, CALLBACK, &format!("&claims={claims}"));
    let back = rp::login(&server, &browser, &url, "12345678", "jeanne@example.org")
        .await
        .unwrap();
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert!(param(&back, "code").is_none());
    let none = browser.get(&format!("{url}&prompt=none")).await.unwrap();
    assert_eq!(
        param(&none.left_to.unwrap(), "error").as_deref(),
        Some("login_required")
    );
}
