//! The life of tokens after the login: refresh (RFC 6749 §6, OIDC Core §12), revocation
//! (RFC 7009), introspection (RFC 7662, RFC 9470) and client credentials (RFC 6749 §4.4).

use serde_json::Value;
use sesame_testkit::Browser;
use sesame_testkit::server::RP;

use crate::support::{
    LIFE, LogoutReceiver, decode, lifecycle_server, lifecycle_tokens, post, refresh,
    userinfo_status,
};

fn text(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn refresh_rotates_and_the_new_id_token_keeps_sub_auth_time_and_acr() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let first = lifecycle_tokens(&server, &browser, "openid").await;
    let token1 = text(&first, "refresh_token");
    assert!(!token1.is_empty());
    let (status, second) = refresh(&server, &token1).await;
    assert_eq!(status, 200, "{second}");
    let token2 = text(&second, "refresh_token");
    assert_ne!(token1, token2, "refresh tokens rotate");
    let (_, a) = decode(&text(&first, "id_token"));
    let (_, b) = decode(&text(&second, "id_token"));
    for claim in ["sub", "auth_time", "acr", "aud", "iss", "sid"] {
        assert_eq!(a[claim], b[claim], "{claim}");
    }
    assert!(b.get("nonce").is_none());
    assert_eq!(
        userinfo_status(&server, &text(&second, "access_token")).await,
        200
    );
}

#[tokio::test]
async fn rfc9700_4_14_2_replay_after_the_grace_revokes_the_family() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |raw| {
        raw.policy.tokens.refresh_grace = "1s".into()
    })
    .await;
    let browser = Browser::new(&server.issuer).unwrap();
    let first = lifecycle_tokens(&server, &browser, "openid").await;
    let token1 = text(&first, "refresh_token");
    let (_, second) = refresh(&server, &token1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let (status, replay) = refresh(&server, &token1).await;
    assert_eq!(
        (status, text(&replay, "error")),
        (400, "invalid_grant".into())
    );
    let (status, _) = refresh(&server, &text(&second, "refresh_token")).await;
    assert_eq!(status, 400, "the whole family is revoked");
    assert_eq!(
        userinfo_status(&server, &text(&second, "access_token")).await,
        401
    );
    assert_eq!(
        userinfo_status(&server, &text(&first, "access_token")).await,
        401
    );
}

#[tokio::test]
async fn two_refreshes_racing_within_the_grace_both_succeed() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let first = lifecycle_tokens(&server, &browser, "openid").await;
    let token = text(&first, "refresh_token");
    let (a, b) = tokio::join!(refresh(&server, &token), refresh(&server, &token));
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    assert_eq!(
        userinfo_status(&server, &text(&a.1, "access_token")).await,
        200
    );
}

#[tokio::test]
async fn without_offline_access_refresh_dies_with_the_session() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |raw| raw.policy.session.idle = "1s".into()).await;
    let online = lifecycle_tokens(&server, &Browser::new(&server.issuer).unwrap(), "openid").await;
    let offline = lifecycle_tokens(
        &server,
        &Browser::new(&server.issuer).unwrap(),
        "openid%20offline_access",
    )
    .await;
    assert!(text(&offline, "scope").contains("offline_access"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, body) = refresh(&server, &text(&online, "refresh_token")).await;
    assert_eq!(
        (status, text(&body, "error")),
        (400, "invalid_grant".into())
    );
    let (status, body) = refresh(&server, &text(&offline, "refresh_token")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_their_client_and_scope_can_only_narrow() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid%20email").await;
    let token = text(&tokens, "refresh_token");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
    ];
    let (status, body) = post(&server, "/token", Some(RP), &form).await;
    assert_eq!(
        (status, text(&body, "error")),
        (400, "unauthorized_client".into()),
        "rp has no refresh tokens"
    );
    let wider = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
        ("scope", "openid email profile"),
    ];
    let (status, body) = post(&server, "/token", Some(LIFE), &wider).await;
    assert_eq!(
        (status, text(&body, "error")),
        (400, "invalid_scope".into())
    );
    let narrower = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
        ("scope", "openid"),
    ];
    let (status, body) = post(&server, "/token", Some(LIFE), &narrower).await;
    assert_eq!((status, text(&body, "scope")), (200, "openid".into()));
}

#[tokio::test]
async fn rfc7009_2_1_revoking_a_refresh_token_kills_its_family() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    let (status, _) = post(
        &server,
        "/revoke",
        Some(LIFE),
        &[
            ("token", &text(&tokens, "refresh_token")),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        refresh(&server, &text(&tokens, "refresh_token")).await.0,
        400
    );
    assert_eq!(
        userinfo_status(&server, &text(&tokens, "access_token")).await,
        401
    );
}

#[tokio::test]
async fn rfc7009_2_1_revoking_an_access_token_kills_only_it() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    let (status, _) = post(
        &server,
        "/revoke",
        Some(LIFE),
        &[("token", &text(&tokens, "access_token"))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        userinfo_status(&server, &text(&tokens, "access_token")).await,
        401
    );
    assert_eq!(
        refresh(&server, &text(&tokens, "refresh_token")).await.0,
        200
    );
}

#[tokio::test]
async fn rfc7009_2_2_unknown_or_foreign_tokens_answer_200_and_bad_clients_401() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    assert_eq!(
        post(&server, "/revoke", Some(LIFE), &[("token", "nonsense")])
            .await
            .0,
        200
    );
    // Another client cannot revoke this client's token.
    assert_eq!(
        post(
            &server,
            "/revoke",
            Some(RP),
            &[("token", &text(&tokens, "refresh_token"))]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        refresh(&server, &text(&tokens, "refresh_token")).await.0,
        200
    );
    assert_eq!(
        post(
            &server,
            "/revoke",
            Some((LIFE.0, "wrong-secret-xxxxxxxx")),
            &[("token", "x")]
        )
        .await
        .0,
        401
    );
    assert_eq!(post(&server, "/revoke", Some(LIFE), &[]).await.0, 400);
}

#[tokio::test]
async fn rfc7662_2_2_active_tokens_carry_rfc9470_claims() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid%20email").await;
    let (status, answer) = post(
        &server,
        "/introspect",
        Some(RP),
        &[("token", &text(&tokens, "access_token"))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], LIFE.0);
    assert_eq!(answer["scope"], "openid email");
    assert_eq!(answer["acr"], "mfa");
    assert_eq!(answer["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert!(answer["auth_time"].is_i64() && answer["exp"].is_i64() && answer["sub"].is_string());
    let (_, foreign) = post(
        &server,
        "/introspect",
        Some(RP),
        &[("token", &text(&tokens, "refresh_token"))],
    )
    .await;
    assert_eq!(
        foreign,
        serde_json::json!({"active": false}),
        "RFC 7662 §4: only its client sees a refresh token"
    );
    let (_, refresh_answer) = post(
        &server,
        "/introspect",
        Some(LIFE),
        &[("token", &text(&tokens, "refresh_token"))],
    )
    .await;
    assert_eq!(
        (
            refresh_answer["active"].clone(),
            refresh_answer["token_type"].clone()
        ),
        (Value::Bool(true), Value::from("refresh_token"))
    );
}

#[tokio::test]
async fn rfc7662_2_2_revoked_and_unknown_tokens_are_inactive() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let tokens = lifecycle_tokens(&server, &browser, "openid").await;
    post(
        &server,
        "/revoke",
        Some(LIFE),
        &[("token", &text(&tokens, "refresh_token"))],
    )
    .await;
    for token in [
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
        "nonsense".into(),
    ] {
        let (status, answer) = post(&server, "/introspect", Some(LIFE), &[("token", &token)]).await;
        assert_eq!(
            (status, answer),
            (200, serde_json::json!({"active": false}))
        );
    }
}

#[tokio::test]
async fn rfc7662_2_1_callers_must_authenticate_as_confidential_clients() {
    let receiver = LogoutReceiver::start().await;
    let server = lifecycle_server(&receiver, |_| {}).await;
    assert_eq!(
        post(&server, "/introspect", None, &[("token", "x")])
            .await
            .0,
        401
    );
    let public = [
        ("token", "x"),
        ("client_id", sesame_testkit::server::PUBLIC),
    ];
    assert_eq!(post(&server, "/introspect", None, &public).await.0, 401);
}

#[tokio::test]
async fn rfc6749_4_4_client_credentials_speak_for_no_participant() {
    let server = sesame_testkit::TestServer::start_with(|raw| {
        let mut client = sesame_server::config::raw::ClientSection::new(
            "service",
            Some("service-secret-0123456789"),
            vec![sesame_testkit::server::CALLBACK.into()],
        );
        client.client_credentials = true;
        client.scopes = vec!["profile".into()];
        raw.clients.push(client);
    })
    .await
    .unwrap();
    let service = ("service", "service-secret-0123456789");
    let (status, body) = post(
        &server,
        "/token",
        Some(service),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "profile openid"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "profile");
    let token = text(&body, "access_token");
    assert_eq!(userinfo_status(&server, &token).await, 401);
    let (_, answer) = post(&server, "/introspect", Some(service), &[("token", &token)]).await;
    assert_eq!(
        (answer["active"].clone(), answer["sub"].clone()),
        (Value::Bool(true), Value::from("service"))
    );
    assert!(answer.get("acr").is_none());
    let (status, body) = post(
        &server,
        "/token",
        Some(RP),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, text(&body, "error")),
        (400, "unauthorized_client".into())
    );
}
