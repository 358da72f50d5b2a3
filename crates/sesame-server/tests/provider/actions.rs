//! The participant guide's first login: the code by e-mail, the forced password change,
//! the mobile registration with its SMS link; later logins with the code by SMS.

use std::time::Duration;

use sesame_core::participant::RequiredAction;
use sesame_testkit::rp::{self, Rp, param, password_step};
use sesame_testkit::server::record;
use sesame_testkit::sms::SmsOperator;
use sesame_testkit::{Browser, Page, TEST_PASSWORD, TestServer, extract_code};

use crate::support::{authorize_url, decode, exchange};

const MAIL: &str = "jeanne@example.org";
const NEW_PASSWORD: &str = "Nouveau-Mot2passe!";

async fn server_with_sms(actions: Vec<RequiredAction>) -> (TestServer, SmsOperator) {
    let operator = SmsOperator::start().await.unwrap();
    let wired = operator.clone();
    let server = TestServer::start_with(move |raw| wired.configure(raw))
        .await
        .unwrap();
    let mut participant = record("12345678", MAIL).unwrap();
    participant.required_actions = actions;
    server.add(participant).await.unwrap();
    (server, operator)
}

/// Password and e-mail code: returns the page after the code.
async fn through_the_code(server: &TestServer, browser: &Browser, url: &str) -> Page {
    let page = browser.get(url).await.unwrap();
    let page = password_step(browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    rp::code_step(server, browser, &page, MAIL).await.unwrap()
}

fn the_link(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn guide_first_login_after_the_security_upgrade() {
    let (server, operator) = server_with_sms(vec![
        RequiredAction::UpdatePassword,
        RequiredAction::RegisterPhone,
    ])
    .await;
    let browser = Browser::new(&server.issuer).unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&["phone"]);
    let page = through_the_code(&server, &browser, &pending.url).await;
    // Step 2 of the guide: the password change, refused until it meets the policy.
    assert_eq!(page.screen().as_deref(), Some("update-password"));
    let page = browser
        .submit(
            &page,
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", "court"),
                ("confirm", "court"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("password_refused"));
    assert!(page.body.contains("data-rule=\"length\" class=\"failed\""));
    let page = browser
        .submit(
            &page,
            "/login/password",
            &[
                ("current", "Wrong-Password-9!"),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("wrong_current_password"));
    let page = browser
        .submit(
            &page,
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", NEW_PASSWORD),
                ("confirm", "Autre-Mot2passe!"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("password_mismatch"));
    let page = browser
        .submit(
            &page,
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
        .unwrap();
    // Step 3: the mobile phone, twice.
    assert_eq!(
        page.screen().as_deref(),
        Some("register-phone"),
        "{:?}",
        page.notice()
    );
    let changed = server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        changed.subject.contains("mot de passe"),
        "the password-change notice: {}",
        changed.subject
    );
    let page = browser
        .submit(
            &page,
            "/login/phone",
            &[("phone", "06 12 34 56 78"), ("phone_confirm", "0612345679")],
        )
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("phone_mismatch"));
    let page = browser
        .submit(
            &page,
            "/login/phone",
            &[
                ("phone", "01 42 34 56 78"),
                ("phone_confirm", "01 42 34 56 78"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        page.notice().as_deref(),
        Some("phone_invalid"),
        "a landline is refused"
    );
    let page = browser
        .submit(
            &page,
            "/login/phone",
            &[
                ("phone", "06 12 34 56 78"),
                ("phone_confirm", "+33612345678"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.screen().as_deref(), Some("phone-sent"));
    assert!(page.body.replace('\u{a0}', " ").contains("06 •• •• •• 78"));
    assert!(page.body.contains("countdown.js") && page.body.contains("/login/continue"));
    let sms = operator.wait_for(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(sms.to, "+33612345678");
    let link = the_link(&sms.text);
    assert!(link.starts_with(&format!("{}/verify/phone/", server.issuer)));
    let registered = server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(registered.body.contains("06 •• •• •• 78"));
    // The link, opened on the phone (another client): GET shows a button, POST confirms.
    let phone = Browser::new(&server.issuer).unwrap();
    let confirm = phone.get(&link).await.unwrap();
    assert_eq!(confirm.screen().as_deref(), Some("verify-phone"));
    let done = phone
        .submit(&confirm, &link[server.issuer.len()..], &[])
        .await
        .unwrap();
    assert!(
        done.body.contains("data-verified=\"true\""),
        "{}",
        done.body
    );
    let again = phone
        .post_form(
            &link,
            &[("csrf", &csrf_of(&confirm, &link[server.issuer.len()..]))],
        )
        .await
        .unwrap();
    assert_eq!(
        again.error().as_deref(),
        Some("link_dead"),
        "a link works once"
    );
    // Back on the computer: "Continuer" (or the 15 seconds) leads to the application.
    let page = browser.submit(&page, "/login/continue", &[]).await.unwrap();
    let back = page.left_to.expect("back to the application");
    let done = rp
        .finish(&param(&back, "code").unwrap(), pending)
        .await
        .unwrap();
    let amr: Vec<String> = done
        .claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(
        done.userinfo.phone_number().map(|p| p.as_str()),
        Some("+33612345678")
    );
}

fn csrf_of(page: &Page, action: &str) -> String {
    let (_, values) = sesame_testkit::browser::form_values(page, action).unwrap_or_default();
    values
        .into_iter()
        .find(|(n, _)| n == "csrf")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[tokio::test]
async fn later_logins_get_the_code_by_sms_with_the_webotp_line() {
    let (server, operator) = server_with_sms(vec![]).await;
    let mut participant = record("12345678", MAIL).unwrap();
    participant.phone = Some("+33612345678".into());
    participant.phone_verified = true;
    server.add(participant).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&[]);
    let page = browser.get(&pending.url).await.unwrap();
    let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(page.screen().as_deref(), Some("code"));
    assert!(
        page.body.replace('\u{a0}', " ").contains("06 •• •• •• 78")
            && page.body.contains("name=\"channel\" value=\"email\"")
    );
    let sms = operator.wait_for(1, Duration::from_secs(10)).await.unwrap();
    let host = url::Url::parse(&server.issuer)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    let code = extract_code(&sms.text).unwrap();
    assert!(
        sms.text.ends_with(&format!("@{host} #{code}")),
        "{}",
        sms.text
    );
    assert!(sesame_core::phone::fits_one_segment(&sms.text));
    assert!(server.smtp.all().is_empty(), "no e-mail when the SMS goes");
    let page = browser
        .submit(&page, "/login/code", &[("code", &code)])
        .await
        .unwrap();
    let done = rp
        .finish(&param(&page.left_to.unwrap(), "code").unwrap(), pending)
        .await
        .unwrap();
    let amr: Vec<String> = done
        .claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    assert_eq!(amr, ["pwd", "sms", "mfa"], "RFC 8176: an SMS code");
}

#[tokio::test]
async fn the_code_can_come_by_email_instead() {
    let (server, operator) = server_with_sms(vec![]).await;
    let mut participant = record("12345678", MAIL).unwrap();
    participant.phone = Some("+33612345678".into());
    participant.phone_verified = true;
    server.add(participant).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    // The participant asks for it.
    let page = browser.get(&url).await.unwrap();
    let page = password_step(&browser, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    operator.wait_for(1, Duration::from_secs(10)).await.unwrap();
    let page = browser
        .submit(&page, "/login/resend", &[("channel", "email")])
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("code_resent"));
    let page = rp::code_step(&server, &browser, &page, MAIL).await.unwrap();
    assert!(page.left_to.is_some_and(|u| u.contains("code=")));
    // The operator refuses the SMS: the code goes by e-mail by itself.
    operator.set_failing(true);
    let other = Browser::new(&server.issuer).unwrap();
    let page = other.get(&url).await.unwrap();
    let page = password_step(&other, &page, "12345678", TEST_PASSWORD)
        .await
        .unwrap();
    let mail = server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .expect("the code by e-mail");
    let code = extract_code(&mail.body).unwrap();
    let reloaded = other.get(&page.url).await.unwrap();
    assert_eq!(reloaded.notice().as_deref(), Some("sms_failed"));
    let done = other
        .submit(&reloaded, "/login/code", &[("code", &code)])
        .await
        .unwrap();
    assert!(done.left_to.is_some_and(|u| u.contains("code=")));
}

#[tokio::test]
async fn no_mobile_is_remembered() {
    let (server, operator) = server_with_sms(vec![RequiredAction::RegisterPhone]).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let page = through_the_code(&server, &browser, &url).await;
    assert_eq!(page.screen().as_deref(), Some("register-phone"));
    let page = browser
        .submit(&page, "/login/phone", &[("no_mobile", "1")])
        .await
        .unwrap();
    assert!(page.left_to.is_some_and(|u| u.contains("code=")));
    assert!(operator.all().is_empty());
    let other = Browser::new(&server.issuer).unwrap();
    let page = through_the_code(&server, &other, &url).await;
    assert!(page.left_to.is_some(), "not asked again");
}

#[tokio::test]
async fn a_pending_action_cannot_be_skipped() {
    let (server, _operator) = server_with_sms(vec![RequiredAction::UpdatePassword]).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let page = through_the_code(&server, &browser, &url).await;
    assert_eq!(page.screen().as_deref(), Some("update-password"));
    // A new /authorize (a second tab, the back button) lands on the same action.
    let second = browser.get(&url).await.unwrap();
    assert_eq!(second.screen().as_deref(), Some("update-password"));
    assert!(second.left_to.is_none());
    // prompt=none cannot run an action: interaction_required (OIDC Core §3.1.2.6).
    let none = browser.get(&format!("{url}&prompt=none")).await.unwrap();
    assert_eq!(
        param(&none.left_to.unwrap(), "error").as_deref(),
        Some("interaction_required")
    );
    // Once done, both tabs go on.
    let page = browser
        .submit(
            &second,
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
        .unwrap();
    assert!(page.left_to.is_some_and(|u| u.contains("code=")));
    let old = browser
        .submit(
            &page_or(&second),
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
        .unwrap();
    assert!(
        old.left_to.is_some() || old.screen().is_some(),
        "the old tab is not a dead end"
    );
}

fn page_or(page: &Page) -> Page {
    page.clone()
}

#[tokio::test]
async fn design_5_8_a_password_change_ends_the_other_sessions() {
    let (server, _operator) = server_with_sms(vec![]).await;
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let elsewhere = Browser::new(&server.issuer).unwrap();
    let code = param(
        &through_the_code(&server, &elsewhere, &url)
            .await
            .left_to
            .unwrap(),
        "code",
    )
    .unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", sesame_testkit::server::CALLBACK),
    ];
    let (_, tokens, _) = exchange(&server, Some(sesame_testkit::server::RP), &form).await;
    let mut participant = record("12345678", MAIL).unwrap();
    participant.required_actions = vec![RequiredAction::UpdatePassword];
    server.add(participant).await.unwrap();
    let here = Browser::new(&server.issuer).unwrap();
    let page = through_the_code(&server, &here, &url).await;
    let page = here
        .submit(
            &page,
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
        .unwrap();
    assert!(page.left_to.is_some());
    let none = elsewhere.get(&format!("{url}&prompt=none")).await.unwrap();
    assert_eq!(
        param(&none.left_to.unwrap(), "error").as_deref(),
        Some("login_required"),
        "the other session ended"
    );
    let token = tokens["access_token"].as_str().unwrap();
    let status = crate::support::http()
        .get(server.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401, "its tokens too");
    let kept = here.get(&format!("{url}&prompt=none")).await.unwrap();
    assert!(
        kept.left_to.unwrap().contains("code="),
        "this session lives on"
    );
}

#[tokio::test]
async fn a_client_can_add_accept_terms() {
    let dir = tempfile::tempdir().unwrap();
    let terms = dir.path().join("terms.txt");
    std::fs::write(&terms, "Article 1.\n\nArticle 2.").unwrap();
    let server = TestServer::start_with(move |raw| {
        raw.terms.version = Some("v1".into());
        raw.terms.text_file = Some(terms);
        raw.clients[0].required_actions = vec!["accept-terms".into()];
    })
    .await
    .unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let page = through_the_code(&server, &browser, &url).await;
    assert_eq!(
        page.screen().as_deref(),
        Some("accept-terms"),
        "{:?} {:?} {:?}",
        page.left_to,
        page.error(),
        page.notice()
    );
    assert!(page.body.contains("Article 2."));
    let page = browser.submit(&page, "/login/terms", &[]).await.unwrap();
    assert_eq!(page.notice().as_deref(), Some("terms_not_accepted"));
    let page = browser
        .submit(&page, "/login/terms", &[("accept", "1")])
        .await
        .unwrap();
    assert!(page.left_to.is_some_and(|u| u.contains("code=")));
    // Another client of the same provider does not ask for them.
    let other = authorize_url(
        &server,
        sesame_testkit::server::RP_POST.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    assert!(browser.get(&other).await.unwrap().left_to.is_some());
    let (_, claims) = decode("e30.e30.e30");
    drop(claims);
}

#[tokio::test]
async fn design_5_1_a_new_password_works_however_the_keyboard_wrote_it() {
    let (server, _operator) = server_with_sms(vec![RequiredAction::UpdatePassword]).await;
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let browser = Browser::new(&server.issuer).unwrap();
    let page = through_the_code(&server, &browser, &url).await;
    // A no-break space (Option+Space on a Mac) and the "fi" ligature: NFKC changes both.
    let typed = "Mot de\u{a0}passe ﬁn 2026A";
    let page = browser
        .submit(
            &page,
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", typed),
                ("confirm", typed),
            ],
        )
        .await
        .unwrap();
    assert!(page.left_to.is_some(), "{:?}", page.notice());
    let other = Browser::new(&server.issuer).unwrap();
    let page = other.get(&url).await.unwrap();
    let page = password_step(&other, &page, "12345678", typed)
        .await
        .unwrap();
    assert_eq!(
        page.screen().as_deref(),
        Some("code"),
        "the same keystrokes log in"
    );
}

#[tokio::test]
async fn design_5_1_common_passwords_are_refused() {
    let (server, _operator) = server_with_sms(vec![RequiredAction::UpdatePassword]).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let page = through_the_code(&server, &browser, &url).await;
    let page = browser
        .submit(
            &page,
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", "Azerty123456!"),
                ("confirm", "Azerty123456!"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("password_refused"));
    assert!(page.body.contains("Azerty, Motdepasse"));
}

#[tokio::test]
async fn design_5_4_the_phone_step_cannot_be_replayed_to_send_sms() {
    let (server, operator) = server_with_sms(vec![RequiredAction::RegisterPhone]).await;
    let browser = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let form_page = through_the_code(&server, &browser, &url).await;
    let sent = browser
        .submit(
            &form_page,
            "/login/phone",
            &[("phone", "0612345678"), ("phone_confirm", "0612345678")],
        )
        .await
        .unwrap();
    assert_eq!(sent.screen().as_deref(), Some("phone-sent"));
    for n in 0..5 {
        let number = format!("061000000{n}");
        let again = browser
            .submit(
                &form_page,
                "/login/phone",
                &[("phone", &number), ("phone_confirm", &number)],
            )
            .await
            .unwrap();
        assert_eq!(again.screen().as_deref(), Some("phone-sent"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(operator.all().len(), 1, "one SMS, to the first number");
}

#[tokio::test]
async fn design_5_8_a_password_change_tells_the_other_sessions_rps() {
    let receiver = crate::support::LogoutReceiver::start().await;
    let server = crate::support::lifecycle_server(&receiver, |_| {}).await;
    let elsewhere = Browser::new(&server.issuer).unwrap();
    crate::support::lifecycle_tokens(&server, &elsewhere, "openid").await;
    let mut participant = record("12345678", "jeanne@example.org").unwrap();
    participant.required_actions = vec![RequiredAction::UpdatePassword];
    server.add(participant).await.unwrap();
    let here = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let page = through_the_code(&server, &here, &url).await;
    let page = here
        .submit(
            &page,
            "/login/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
        .unwrap();
    assert!(page.left_to.is_some());
    let tokens = receiver.wait_for(1).await;
    assert_eq!(tokens.len(), 1, "the RP of the ended session hears of it");
}

#[tokio::test]
async fn verify_email_sends_a_link_that_confirms_the_address() {
    let (server, _operator) = server_with_sms(vec![]).await;
    let mut participant = record("12345678", MAIL).unwrap();
    participant.email_verified = false;
    participant.required_actions = vec![RequiredAction::VerifyEmail];
    server.add(participant).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    let page = through_the_code(&server, &browser, &url).await;
    assert_eq!(page.screen().as_deref(), Some("verify-email"));
    let sent = browser.submit(&page, "/login/email", &[]).await.unwrap();
    assert_eq!(sent.screen().as_deref(), Some("email-sent"));
    let mail = server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    let html = mail.html.clone().unwrap_or_default().replace("&#x2f;", "/");
    assert!(html.contains("/verify/email/"), "multipart with HTML");
    let link = the_link(&mail.body);
    let reader = Browser::new(&server.issuer).unwrap();
    let confirm = reader.get(&link).await.unwrap();
    let done = reader
        .submit(&confirm, &link[server.issuer.len()..], &[])
        .await
        .unwrap();
    assert!(done.body.contains("data-verified=\"true\""));
    let page = browser.submit(&sent, "/login/continue", &[]).await.unwrap();
    assert!(page.left_to.is_some_and(|u| u.contains("code=")));
    let stored = sesame_core::store::ParticipantStore::by_number(
        server.store.as_ref(),
        &sesame_core::CohortNumber::parse("12345678").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(stored.email_verified);
}
