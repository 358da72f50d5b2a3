//! Protocol negatives, each with the answer its spec names.

use base64::Engine as _;
use serde_json::Value;
use sesame_testkit::rp::{Rp, param};
use sesame_testkit::server::{CALLBACK, PUBLIC, RP, RP_POST};
use sesame_testkit::{Browser, TestServer};

use crate::setup;
use crate::support::{CHALLENGE, VERIFIER, authorize_url, code_for, exchange, http};

#[tokio::test]
async fn rfc6749_4_1_2_1_unregistered_redirect_uri_is_an_error_page_never_a_redirect() {
    let (server, browser) = setup().await;
    for uri in [
        "https://evil.example/cb",
        "http://127.0.0.1:9/cb/extra",
        "http://127.0.0.1:9/cb?x=1",
        "http://127.0.0.1:10/cb",
    ] {
        let page = browser
            .get(&authorize_url(&server, RP.0, uri, ""))
            .await
            .unwrap();
        assert_eq!(page.status, 400, "{uri}");
        assert!(page.left_to.is_none());
        assert_eq!(page.error().as_deref(), Some("redirect_uri_mismatch"));
    }
    let page = browser
        .get(&authorize_url(&server, "nobody", CALLBACK, ""))
        .await
        .unwrap();
    assert_eq!(page.error().as_deref(), Some("unknown_client"));
}

#[tokio::test]
async fn rfc9700_2_1_1_public_client_without_pkce_is_refused() {
    let (server, browser) = setup().await;
    let page = browser
        .get(&authorize_url(
            &server,
            PUBLIC,
            "http://127.0.0.1:9/public-cb",
            "",
        ))
        .await
        .unwrap();
    let back = page.left_to.unwrap();
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
    assert_eq!(param(&back, "iss").as_deref(), Some(server.issuer.as_str()));
}

#[tokio::test]
async fn rfc7636_plain_pkce_is_refused() {
    let (server, browser) = setup().await;
    let extra = format!("&code_challenge={VERIFIER}&code_challenge_method=plain");
    let page = browser
        .get(&authorize_url(&server, RP.0, CALLBACK, &extra))
        .await
        .unwrap();
    assert_eq!(
        param(&page.left_to.unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn rfc9700_2_1_1_verifier_without_challenge_is_refused() {
    let (server, browser) = setup().await;
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, ""),
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let (status, body, _) = exchange(&server, Some(RP), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn rfc7636_4_6_wrong_verifier_is_refused() {
    let (server, browser) = setup().await;
    let extra = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, &extra),
    )
    .await;
    let wrong = VERIFIER.replace('d', "e");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", wrong.as_str()),
    ];
    let (status, body, _) = exchange(&server, Some(RP), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn public_client_with_pkce_logs_in() {
    let (server, browser) = setup().await;
    let redirect = "http://127.0.0.1:9/public-cb";
    let extra = format!("&code_challenge={CHALLENGE}&code_challenge_method=S256");
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, PUBLIC, redirect, &extra),
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", redirect),
        ("code_verifier", VERIFIER),
        ("client_id", PUBLIC),
    ];
    let (status, body, headers) = exchange(&server, None, &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string() && body["access_token"].is_string());
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
}

#[tokio::test]
async fn rfc6749_4_1_2_code_reuse_fails_and_revokes_the_first_tokens() {
    let (server, browser) = setup().await;
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, ""),
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let (status, first, _) = exchange(&server, Some(RP), &form).await;
    assert_eq!(status, 200);
    let token = first["access_token"].as_str().unwrap().to_owned();
    let userinfo = http()
        .get(server.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    let (status, second, _) = exchange(&server, Some(RP), &form).await;
    assert_eq!(
        (status, second["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let userinfo = http()
        .get(server.url("/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    let challenge = userinfo
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test]
async fn expired_code_is_refused() {
    let server = TestServer::start_with(|raw| raw.policy.tokens.code_ttl = "1s".into())
        .await
        .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, ""),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let (status, body, _) = exchange(&server, Some(RP), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn rfc6749_5_2_wrong_client_secret_is_invalid_client() {
    let (server, browser) = setup().await;
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, ""),
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let (status, body, headers) =
        exchange(&server, Some((RP.0, "wrong-secret-0123456789")), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(
        headers
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("Basic"))
    );
    // The right secret still works: the failed attempt did not consume the code.
    let (status, _, _) = exchange(&server, Some(RP), &form).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn client_secret_post_and_mismatched_methods() {
    let (server, browser) = setup().await;
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP_POST.0, CALLBACK, ""),
    )
    .await;
    let base = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let (status, body, _) = exchange(&server, Some(RP_POST), &base).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "basic for a post client"
    );
    let mut form = base.to_vec();
    form.extend([("client_id", RP_POST.0), ("client_secret", RP_POST.1)]);
    let (status, body, _) = exchange(&server, None, &form).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn code_of_another_client_or_redirect_is_refused() {
    let (server, browser) = setup().await;
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, ""),
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/other"),
    ];
    let (status, body, _) = exchange(&server, Some(RP), &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn unsupported_grant_type_and_missing_code() {
    let (server, _) = setup().await;
    let (status, body, _) = exchange(&server, Some(RP), &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body, _) =
        exchange(&server, Some(RP), &[("grant_type", "authorization_code")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn oidc_core_3_1_2_6_prompt_none_without_session_is_login_required() {
    let (server, browser) = setup().await;
    let page = browser
        .get(&authorize_url(&server, RP.0, CALLBACK, "&prompt=none"))
        .await
        .unwrap();
    let back = page.left_to.unwrap();
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&back, "state").as_deref(), Some("st"));
    assert_eq!(param(&back, "iss").as_deref(), Some(server.issuer.as_str()));
    assert!(param(&back, "code").is_none());
}

#[tokio::test]
async fn userinfo_refuses_missing_forged_and_doubled_tokens() {
    let (server, _) = setup().await;
    let none = http().get(server.url("/userinfo")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let forged = http()
        .get(server.url("/userinfo"))
        .bearer_auth("eyJhbGciOiJub25lIn0.e30.")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let doubled = http()
        .post(server.url("/userinfo"))
        .bearer_auth("a")
        .form(&[("access_token", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(doubled.status(), 400);
}

#[tokio::test]
async fn discovery_is_truthful_and_jwks_has_rs256_and_es256() {
    let (server, _) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let doc: Value = http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], server.issuer.as_str());
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    let grants = serde_json::json!(["authorization_code", "refresh_token", "client_credentials"]);
    assert_eq!(doc["grant_types_supported"], grants);
    assert_eq!(
        doc["end_session_endpoint"],
        server.url("/end_session").as_str()
    );
    assert_eq!(doc["revocation_endpoint"], server.url("/revoke").as_str());
    assert_eq!(
        doc["introspection_endpoint"],
        server.url("/introspect").as_str()
    );
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(
        doc["response_modes_supported"],
        serde_json::json!(["query", "form_post"])
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public", "pairwise"])
    );
    assert_eq!(doc["request_parameter_supported"], false);
    assert_eq!(doc["claims_parameter_supported"], true);
    let jwks: Value = http()
        .get(server.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"ES256"));
    assert!(
        keys.iter()
            .all(|k| k["kid"].is_string() && k.get("d").is_none())
    );
    drop(rp);
}

#[tokio::test]
async fn access_token_is_an_rfc9068_jwt() {
    let (server, browser) = setup().await;
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, ""),
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let (_, body, _) = exchange(&server, Some(RP), &form).await;
    let token = body["access_token"].as_str().unwrap();
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
        "auth_time",
        "acr",
        "amr",
    ] {
        assert!(claims.get(claim).is_some(), "{claim}");
    }
    assert_eq!(claims["client_id"], RP.0);
}

#[tokio::test]
async fn a_leaked_code_presented_by_another_client_does_not_burn_it() {
    let (server, browser) = setup().await;
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, ""),
    )
    .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("client_id", PUBLIC),
    ];
    let (status, body, _) = exchange(&server, None, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
    ];
    let (status, _, _) = exchange(&server, Some(RP), &form).await;
    assert_eq!(status, 200);
}

/// RFC 6749 §4.1.2: racing exchanges of one code are a second use: at most one gets
/// tokens, and those die with the grant the replays revoke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_exchanges_of_one_code_leave_no_live_token() {
    let (server, browser) = setup().await;
    let code = code_for(
        &server,
        &browser,
        &authorize_url(&server, RP.0, CALLBACK, ""),
    )
    .await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (url, code) = (server.url("/token"), code.clone());
        set.spawn(async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
            ];
            let response = http()
                .post(url)
                .basic_auth(RP.0, Some(RP.1))
                .form(&form)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        });
    }
    let results = set.join_all().await;
    let issued: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert!(issued.len() <= 1, "{results:?}");
    for body in issued {
        let token = body["access_token"].as_str().unwrap();
        let userinfo = http()
            .get(server.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(userinfo.status(), 401);
    }
}
