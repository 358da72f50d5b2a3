//! The participant's login, through the pages, to an `openidconnect` RP.

use openidconnect::{OAuth2TokenResponse as _, TokenResponse as _};
use sesame_testkit::rp::{self, Rp, code_step, param, password_step};
use sesame_testkit::{Browser, TEST_PASSWORD};

use crate::setup;

#[tokio::test]
async fn participant_logs_in_to_an_openidconnect_rp() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&["profile", "email", "cohort"]);
    let back = rp::login(
        &server,
        &browser,
        &pending.url,
        "12345678",
        "jeanne@example.org",
    )
    .await
    .unwrap();
    assert!(back.starts_with("http://127.0.0.1:9/cb?"), "{back}");
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(pending.state.secret().as_str())
    );
    // RFC 9207 §2: iss in the authorization response.
    assert_eq!(param(&back, "iss").as_deref(), Some(server.issuer.as_str()));
    let code = param(&back, "code").unwrap();
    let done = rp.finish(&code, pending).await.unwrap();
    let claims = &done.claims;
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("mfa"));
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert!(claims.auth_time().is_some());
    assert_ne!(
        claims.subject().as_str(),
        "12345678",
        "sub is never the cohort number"
    );
    assert_eq!(
        done.userinfo.email().map(|e| e.as_str()),
        Some("jeanne@example.org")
    );
    assert_eq!(done.userinfo.subject(), claims.subject());
    let given = done
        .userinfo
        .given_name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned());
    assert_eq!(given.as_deref(), Some("Jeanne"));
    assert!(done.tokens.id_token().is_some());
    assert_eq!(done.tokens.token_type().as_ref(), "bearer");
    server.stop().await;
}

#[tokio::test]
async fn cohort_number_only_with_the_cohort_scope() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&["email"]);
    let back = rp::login(
        &server,
        &browser,
        &pending.url,
        "12345678",
        "jeanne@example.org",
    )
    .await
    .unwrap();
    let done = rp
        .finish(&param(&back, "code").unwrap(), pending)
        .await
        .unwrap();
    let raw = serde_json::to_value(&done.userinfo).unwrap();
    assert!(raw.get("cohort_number").is_none());
    assert!(raw.get("given_name").is_none(), "profile was not asked for");
    let id_token = serde_json::to_string(&done.claims).unwrap();
    assert!(!id_token.contains("12345678"));
}

#[tokio::test]
async fn unknown_number_and_wrong_password_look_the_same() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let wrong = {
        let page = browser.get(&rp.start(&[]).url).await.unwrap();
        password_step(&browser, &page, "12345678", "Not-The-Password-1")
            .await
            .unwrap()
    };
    let unknown = {
        let page = browser.get(&rp.start(&[]).url).await.unwrap();
        password_step(&browser, &page, "87654321", TEST_PASSWORD)
            .await
            .unwrap()
    };
    for page in [&wrong, &unknown] {
        assert_eq!(page.screen().as_deref(), Some("login"));
        assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    }
    let strip = |body: &str| {
        body.lines()
            .filter(|l| !l.contains("value=") && !l.contains("flow="))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&wrong.body).replace("87654321", "12345678"),
        strip(&unknown.body).replace("87654321", "12345678")
    );
    assert!(
        server.smtp.all().is_empty(),
        "no code is sent for a failed password"
    );
}

#[tokio::test]
async fn malformed_number_is_explained_and_kept() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let page = password_step(&browser, &page, "1234", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("invalid_number"));
    assert!(page.body.contains("value=\"1234\""));
    assert!(page.body.contains("aria-invalid=\"true\""));
}

#[tokio::test]
async fn wrong_code_then_resend_kills_the_earlier_code() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&[]);
    let page = browser.get(&pending.url).await.unwrap();
    let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let first = server
        .smtp
        .wait_for("jeanne@example.org", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let first_code = sesame_testkit::extract_code(&first.body).unwrap();
    let wrong = if first_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let page = browser
        .submit(&page, "/login/code", &[("code", wrong)])
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("wrong_code"));
    // Too soon: the resend waits for `resend_after`.
    let page = browser.submit(&page, "/login/resend", &[]).await.unwrap();
    assert_eq!(page.notice().as_deref(), Some("resend_too_soon"));
    assert!(server.smtp.all().len() == 1);
    server.stop().await;
}

#[tokio::test]
async fn resend_after_the_delay_invalidates_the_first_code() {
    let server =
        sesame_testkit::TestServer::start_with(|raw| raw.policy.code.resend_after = "1s".into())
            .await
            .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let first = server
        .smtp
        .wait_for("jeanne@example.org", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = browser.submit(&page, "/login/resend", &[]).await.unwrap();
    assert_eq!(page.notice().as_deref(), Some("code_resent"));
    let second = server
        .smtp
        .wait_for("jeanne@example.org", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let old = sesame_testkit::extract_code(&first.body).unwrap();
    let new = sesame_testkit::extract_code(&second.body).unwrap();
    if old != new {
        let page = browser
            .submit(&page, "/login/code", &[("code", &old)])
            .await
            .unwrap();
        assert!(matches!(
            page.notice().as_deref(),
            Some("code_dead" | "wrong_code")
        ));
    }
    let page = browser
        .submit(&page, "/login/code", &[("code", &new)])
        .await
        .unwrap();
    assert!(page.left_to.is_some_and(|u| u.contains("code=")));
}

#[tokio::test]
async fn codes_die_after_max_attempts() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let mut page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let mail = server
        .smtp
        .wait_for("jeanne@example.org", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let code = sesame_testkit::extract_code(&mail.body).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        page = browser
            .submit(&page, "/login/code", &[("code", wrong)])
            .await
            .unwrap();
    }
    let page = browser
        .submit(&page, "/login/code", &[("code", &code)])
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("code_dead"));
    assert!(page.left_to.is_none());
}

#[tokio::test]
async fn sso_session_serves_a_second_request_without_a_login() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&[]);
    rp::login(
        &server,
        &browser,
        &pending.url,
        "12345678",
        "jeanne@example.org",
    )
    .await
    .unwrap();
    let again = browser.get(&rp.start(&[]).url).await.unwrap();
    assert!(
        again
            .left_to
            .as_deref()
            .is_some_and(|u| u.contains("code="))
    );
    // OIDC Core §3.1.2.1: prompt=login and max_age=0 demand a new login.
    for extra in ["&prompt=login", "&max_age=0"] {
        let page = browser
            .get(&format!("{}{extra}", rp.start(&[]).url))
            .await
            .unwrap();
        assert_eq!(page.screen().as_deref(), Some("login"), "{extra}");
    }
    let none = browser
        .get(&format!("{}&prompt=none", rp.start(&[]).url))
        .await
        .unwrap();
    assert!(none.left_to.as_deref().is_some_and(|u| u.contains("code=")));
}

#[tokio::test]
async fn stale_page_restarts_the_ceremony_with_the_number_kept() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    // DESIGN §5.7: an expired flow or CSRF token restarts from the sealed request.
    let page = browser
        .submit(
            &page,
            "/login",
            &[
                ("csrf", "stale"),
                ("number", "12345678"),
                ("password", TEST_PASSWORD),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.screen().as_deref(), Some("login"));
    assert_eq!(page.notice().as_deref(), Some("restarted"));
    assert!(page.body.contains("value=\"12345678\""));
    let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let page = code_step(&server, &browser, &page, "jeanne@example.org")
        .await
        .unwrap();
    assert!(page.left_to.is_some_and(|u| u.contains("code=")));
}

#[tokio::test]
async fn old_tab_after_the_login_continues_to_the_rp() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&[]);
    let old_tab = browser.get(&pending.url).await.unwrap();
    rp::login(
        &server,
        &browser,
        &pending.url,
        "12345678",
        "jeanne@example.org",
    )
    .await
    .unwrap();
    let page = password_step(&browser, &old_tab, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let back = page.left_to.expect("the old page continues to the RP");
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(pending.state.secret().as_str())
    );
}

#[tokio::test]
async fn forged_sealed_request_gives_an_error_page() {
    let (server, browser) = setup().await;
    let page = browser
        .post_form(
            &server.url("/login"),
            &[
                ("flow", "x"),
                ("csrf", "y"),
                ("req", "forged"),
                ("number", "12345678"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 400);
    assert_eq!(page.error().as_deref(), Some("expired"));
}

#[tokio::test]
async fn pages_carry_the_security_headers_and_accessible_fields() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("content-security-policy").contains("script-src 'self'"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(!header("content-security-policy").contains("form-action"));
    assert!(page.body.contains("autocomplete=\"username\""));
    assert!(page.body.contains("inputmode=\"numeric\""));
    assert!(page.body.contains("autocomplete=\"current-password\""));
    assert!(page.body.contains("name=\"csrf\""));
    assert!(page.body.contains("<html lang=\"fr\">"));
    assert!(!page.body.contains("<script>") && !page.body.contains("style=\""));
}

#[tokio::test]
async fn english_is_chosen_from_ui_locales() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser
        .get(&format!("{}&ui_locales=en", rp.start(&[]).url))
        .await
        .unwrap();
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("Password"));
}

#[tokio::test]
async fn participant_logs_in_on_postgresql() {
    let base = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("e2e_{}", std::process::id());
    let store = sesame_store::SeaStore::connect_postgres_schema(&base, &schema)
        .await
        .unwrap();
    store.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let server = sesame_testkit::TestServer::start_with(|raw| raw.database.url = url)
        .await
        .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&["email"]);
    let back = rp::login(
        &server,
        &browser,
        &pending.url,
        "12345678",
        "jeanne@example.org",
    )
    .await
    .unwrap();
    let done = rp
        .finish(&param(&back, "code").unwrap(), pending)
        .await
        .unwrap();
    assert_eq!(
        done.userinfo.email().map(|e| e.as_str()),
        Some("jeanne@example.org")
    );
    server.stop().await;
    sesame_store::SeaStore::drop_postgres_schema(&base, &schema)
        .await
        .unwrap();
}

#[tokio::test]
async fn back_button_after_the_login_continues_to_the_rp() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&[]);
    let page = browser.get(&pending.url).await.unwrap();
    let code_page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let done = code_step(&server, &browser, &code_page, "jeanne@example.org")
        .await
        .unwrap();
    assert!(done.left_to.is_some());
    // DESIGN §5.7: the page the back button reloads is not a dead end.
    let again = browser.get(&code_page.url).await.unwrap();
    let back = again
        .left_to
        .clone()
        .unwrap_or_else(|| panic!("{:?} {:?} {}", again.screen(), again.error(), again.url));
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(pending.state.secret().as_str())
    );
}

#[tokio::test]
async fn malformed_number_takes_the_focus() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let page = password_step(&browser, &page, "1234", TEST_PASSWORD)
        .await
        .unwrap();
    let number_line = page
        .body
        .lines()
        .skip_while(|l| !l.contains("id=\"number\""))
        .take(3)
        .collect::<String>();
    assert!(number_line.contains("autofocus"), "{number_line}");
    drop(server);
}

#[tokio::test]
async fn design_5_4_wrong_passwords_are_throttled_per_number_like_a_wrong_password() {
    let server =
        sesame_testkit::TestServer::start_with(|raw| raw.policy.limits.per_account = "3/1h".into())
            .await
            .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    let mut page = browser.get(&rp.start(&[]).url).await.unwrap();
    for _ in 0..3 {
        page = password_step(&browser, &page, "12345678", "Wrong-Password-1")
            .await
            .unwrap();
        assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    }
    // The right password now gets the same answer, and no code is sent.
    let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    assert!(server.smtp.all().is_empty());
    // Another number is not affected.
    server
        .add_participant("87654321", "paul@example.org")
        .await
        .unwrap();
    let page = password_step(&browser, &page, "87654321", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(page.screen().as_deref(), Some("code"));
}

#[tokio::test]
async fn design_5_2_a_code_sent_in_another_flow_kills_the_earlier_code() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let mail = "jeanne@example.org";
    let page_a = browser.get(&rp.start(&[]).url).await.unwrap();
    let page_a = password_step(&browser, &page_a, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let first = server
        .smtp
        .wait_for(mail, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let other = Browser::new(&server.issuer).unwrap();
    let page_b = other.get(&rp.start(&[]).url).await.unwrap();
    password_step(&other, &page_b, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    server
        .smtp
        .wait_for(mail, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let code = sesame_testkit::extract_code(&first.body).unwrap();
    let page = browser
        .submit(&page_a, "/login/code", &[("code", &code)])
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("code_dead"));
}

#[tokio::test]
async fn design_5_2_no_more_codes_once_the_account_is_locked_out() {
    let server = sesame_testkit::TestServer::start_with(|raw| {
        raw.policy.code.max_failures_per_hour = 2;
        raw.policy.code.max_sends_per_hour = 2;
    })
    .await
    .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let mut page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let mail = server
        .smtp
        .wait_for("jeanne@example.org", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let code = sesame_testkit::extract_code(&mail.body).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        page = browser
            .submit(&page, "/login/code", &[("code", wrong)])
            .await
            .unwrap();
    }
    let page = browser
        .submit(&page, "/login/code", &[("code", &code)])
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("code_throttled"));
    let again = browser.get(&rp.start(&[]).url).await.unwrap();
    let again = password_step(&browser, &again, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(again.notice().as_deref(), Some("code_throttled"));
    assert_eq!(
        server.smtp.all().len(),
        1,
        "no code is sent to a locked-out account"
    );
}

#[tokio::test]
async fn hourly_send_limit_is_explained() {
    let server =
        sesame_testkit::TestServer::start_with(|raw| raw.policy.code.max_sends_per_hour = 1)
            .await
            .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    for expected in [None, Some("too_many_codes")] {
        let page = browser.get(&rp.start(&[]).url).await.unwrap();
        let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
            .await
            .unwrap();
        assert_eq!(page.notice().as_deref(), expected);
    }
}

#[tokio::test]
async fn restarted_code_page_keeps_the_number() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let page = browser
        .submit(
            &page,
            "/login/code",
            &[("flow", "gone"), ("code", "123456")],
        )
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("restarted"));
    assert!(page.body.contains("value=\"12345678\""));
}

#[tokio::test]
async fn help_page_switches_language() {
    let (server, browser) = setup().await;
    let page = browser.get(&server.url("/help?lang=en")).await.unwrap();
    assert!(page.body.contains("<html lang=\"en\">"));
    let page = browser.get(&server.url("/help")).await.unwrap();
    assert!(
        page.body.contains("<html lang=\"en\">"),
        "the choice is remembered"
    );
    let error = browser
        .get(&server.url("/authorize?client_id=nobody"))
        .await
        .unwrap();
    assert!(
        !error.body.contains("lang=fr\""),
        "error pages offer no switch that would lose the request"
    );
}

/// DESIGN §3: legacy hashes are verified against the password as typed, then replaced.
#[tokio::test]
async fn legacy_hashes_log_in_and_are_replaced_by_argon2id() {
    use base64::Engine as _;
    let bcrypt = bcrypt::hash(TEST_PASSWORD, 4).unwrap();
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(TEST_PASSWORD.as_bytes(), b"legacySalt1", 1000, &mut key);
    let django = format!(
        "pbkdf2_sha256$1000$legacySalt1${}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let server = sesame_testkit::TestServer::start().await.unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    for (n, hash) in [bcrypt, django].into_iter().enumerate() {
        let number = format!("1000000{n}");
        let mut record = sesame_testkit::server::record(&number, "legacy@example.org").unwrap();
        record.password_hash = Some(sesame_core::password::PasswordHash::parse(&hash).unwrap());
        server.add(record).await.unwrap();
        let browser = Browser::new(&server.issuer).unwrap();
        let back = rp::login(
            &server,
            &browser,
            &rp.start(&[]).url,
            &number,
            "legacy@example.org",
        )
        .await
        .unwrap();
        assert!(back.contains("code="));
        let stored = sesame_core::store::ParticipantStore::by_number(
            server.store.as_ref(),
            &sesame_core::CohortNumber::parse(&number).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(
            stored
                .password_hash
                .unwrap()
                .as_str()
                .starts_with("$argon2id$"),
            "rehashed at login"
        );
    }
}

#[tokio::test]
async fn a_code_used_once_is_dead_for_the_next_login() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let mail = server
        .smtp
        .wait_for("jeanne@example.org", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let code = sesame_testkit::extract_code(&mail.body).unwrap();
    assert!(
        browser
            .submit(&page, "/login/code", &[("code", &code)])
            .await
            .unwrap()
            .left_to
            .is_some()
    );
    let other = Browser::new(&server.issuer).unwrap();
    let page = other.get(&rp.start(&[]).url).await.unwrap();
    let page = password_step(&other, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    server
        .smtp
        .wait_for("jeanne@example.org", std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let page = other
        .submit(&page, "/login/code", &[("code", &code)])
        .await
        .unwrap();
    assert!(
        page.left_to.is_none(),
        "the first code does not open the second login"
    );
}

/// "Restez connecté": ticked, the session cookie outlives the browser; unticked, it ends
/// with it (no Max-Age).
#[tokio::test]
async fn stay_connected_on_and_off() {
    let (server, _) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    for remember in [true, false] {
        let browser = Browser::new(&server.issuer).unwrap();
        let page = browser.get(&rp.start(&[]).url).await.unwrap();
        let mut fields = vec![("number", "12345678"), ("password", TEST_PASSWORD)];
        if remember {
            fields.push(("remember", "1"));
        }
        let page = browser.submit(&page, "/login", &fields).await.unwrap();
        let mail = server
            .smtp
            .wait_for("jeanne@example.org", std::time::Duration::from_secs(10))
            .await
            .unwrap();
        let code = sesame_testkit::extract_code(&mail.body).unwrap();
        let (target, mut values) =
            sesame_testkit::browser::form_values(&page, "/login/code").unwrap();
        values.retain(|(n, _)| n != "code");
        values.push(("code".into(), code));
        let raw = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // The same browser's cookies are needed: replay them from the page's own request.
        let response = browser_post(&browser, &raw, &target, &values).await;
        let cookie = response
            .iter()
            .find(|c| c.starts_with("sesame_session="))
            .cloned()
            .unwrap_or_default();
        assert_eq!(cookie.contains("Max-Age="), remember, "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    }
}

/// Posts a form with the browser's cookie jar and returns the Set-Cookie headers.
async fn browser_post(
    browser: &Browser,
    _raw: &reqwest::Client,
    url: &str,
    values: &[(String, String)],
) -> Vec<String> {
    browser.post_raw(url, values).await.unwrap()
}

#[tokio::test]
async fn design_5_7_an_old_page_posted_with_another_number_asks_for_that_persons_password() {
    let (server, browser) = setup().await;
    server
        .add_participant("87654321", "paul@example.org")
        .await
        .unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    let old = rp.start(&[]);
    let old_page = browser.get(&old.url).await.unwrap();
    // The login finishes in another tab.
    let jeanne = rp.start(&[]);
    let back = rp::login(
        &server,
        &browser,
        &jeanne.url,
        "12345678",
        "jeanne@example.org",
    )
    .await
    .unwrap();
    let jeanne = rp
        .finish(&param(&back, "code").unwrap(), jeanne)
        .await
        .unwrap();
    // The old page, posted as the same person, continues with the live session.
    let same = password_step(&browser, &old_page, "12345678", "")
        .await
        .unwrap();
    assert!(same.left_to.is_some(), "{:?}", same.notice());
    // Posted again with another participant's number: never signed in as Jeanne.
    let other = password_step(&browser, &old_page, "87654321", TEST_PASSWORD)
        .await
        .unwrap();
    assert!(other.left_to.is_none(), "went to {:?}", other.left_to);
    assert_eq!(other.screen().as_deref(), Some("login"));
    assert!(
        other.body.contains("value=\"87654321\""),
        "the number is kept"
    );
    let code = password_step(&browser, &other, "87654321", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(code.screen().as_deref(), Some("code"));
    let done = code_step(&server, &browser, &code, "paul@example.org")
        .await
        .unwrap();
    let paul = rp
        .finish(&param(&done.left_to.unwrap(), "code").unwrap(), old)
        .await
        .unwrap();
    assert_ne!(paul.claims.subject(), jeanne.claims.subject());
}

#[tokio::test]
async fn the_conformance_profile_skips_the_check_and_the_code_for_its_pair_only() {
    let server = sesame_testkit::TestServer::start_https(|raw| {
        raw.clients[0].minimum_acr = "pwd".into();
        raw.certification
            .insecure_no_captcha_no_code_for_conformance_suite = true;
        raw.certification.client = Some(raw.clients[0].id.clone());
        raw.certification.participant = Some("12345678".into());
    })
    .await
    .unwrap();
    assert!(server.issuer.starts_with("https://"));
    for (number, mail) in [
        ("12345678", "jeanne@example.org"),
        ("87654321", "paul@example.org"),
    ] {
        server.add_participant(number, mail).await.unwrap();
    }
    let trusted = || Browser::trusting(&server.issuer, server.cert_pem.as_deref()).unwrap();
    let url = |client: &str| {
        crate::support::authorize_url(&server, client, sesame_testkit::server::CALLBACK, "")
    };
    // The pair: no anti-robot answer at all, the password alone, straight to the RP.
    let browser = trusted();
    let page = browser
        .get(&url(sesame_testkit::server::RP.0))
        .await
        .unwrap();
    let (action, mut values) = sesame_testkit::browser::form_values(&page, "/login").unwrap();
    for (name, value) in &mut values {
        match name.as_str() {
            "number" => *value = "12345678".into(),
            "password" => *value = TEST_PASSWORD.into(),
            "altcha" => *value = "not-solved".into(),
            _ => {}
        }
    }
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = browser.post_form(&action, &pairs).await.unwrap();
    assert!(done.left_to.is_some(), "{:?}", done.notice());
    assert!(server.smtp.all().is_empty(), "no code sent");
    // Another participant of that client, and the same participant elsewhere: the code.
    let other = trusted();
    let page = other.get(&url(sesame_testkit::server::RP.0)).await.unwrap();
    let page = password_step(&other, &page, "87654321", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(page.screen().as_deref(), Some("code"));
    let elsewhere = trusted();
    let page = elsewhere
        .get(&url(sesame_testkit::server::RP_POST.0))
        .await
        .unwrap();
    let page = password_step(&elsewhere, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(page.screen().as_deref(), Some("code"));
    server.stop().await;
}

#[tokio::test]
async fn stay_connected_stays_ticked_after_a_wrong_password() {
    let (server, browser) = setup().await;
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let ticked = "id=\"remember\" name=\"remember\" type=\"checkbox\" value=\"1\" checked";
    assert!(!page.body.contains(ticked));
    let fields = [
        ("number", "12345678"),
        ("password", "Wrong-Password-1"),
        ("remember", "1"),
    ];
    let page = browser.submit(&page, "/login", &fields).await.unwrap();
    assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    assert!(page.body.contains(ticked), "the box is still ticked");
    server.stop().await;
}
