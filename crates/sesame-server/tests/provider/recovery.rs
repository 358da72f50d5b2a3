//! "Mot de passe oublié" and "Activer mon compte" (DESIGN §1 journeys 3 and 4, §5.8).

use std::time::Duration;

use sesame_testkit::rp::{self, Rp, param, password_step};
use sesame_testkit::server::record;
use sesame_testkit::sms::SmsOperator;
use sesame_testkit::{Browser, Page, TEST_PASSWORD, TestServer};

use crate::support::authorize_url;

const MAIL: &str = "jeanne@example.org";
const NEW: &str = "Nouveau-Mot2passe!";

fn the_link(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap()
        .to_owned()
}

async fn ask(browser: &Browser, server: &TestServer, number: &str, contact: &str) -> Page {
    let page = browser.get(&server.url("/reset")).await.unwrap();
    assert_eq!(page.screen().as_deref(), Some("reset-request"));
    browser
        .submit(&page, "/reset", &[("number", number), ("contact", contact)])
        .await
        .unwrap()
}

/// The link in the next mail to the participant.
async fn mailed_link(server: &TestServer) -> String {
    let mail = server.smtp.wait_for(MAIL, Duration::from_secs(10)).await;
    the_link(&mail.unwrap().body)
}

async fn set_new(browser: &Browser, server: &TestServer, link: &str, password: &str) -> Page {
    let page = browser.get(link).await.unwrap();
    let path = &link[server.issuer.len()..];
    browser
        .submit(&page, path, &[("new", password), ("confirm", password)])
        .await
        .unwrap()
}

#[tokio::test]
async fn forgot_password_by_email_then_log_in_with_the_new_one() {
    let server = TestServer::start().await.unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let sent = ask(&browser, &server, "12345678", "Jeanne@Example.org").await;
    assert_eq!(sent.screen().as_deref(), Some("request-sent"));
    let mail = server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    let link = the_link(&mail.body);
    assert!(link.starts_with(&format!("{}/reset/", server.issuer)));
    // GET shows a form and changes nothing.
    let weak = set_new(&browser, &server, &link, "court").await;
    assert_eq!(weak.notice().as_deref(), Some("password_refused"));
    let done = set_new(&browser, &server, &link, NEW).await;
    assert_eq!(done.screen().as_deref(), Some("reset-done"));
    assert!(done.body.contains("data-done=\"true\""));
    let notice = server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(notice.subject.contains("mot de passe"));
    // The link works once.
    let again = browser.get(&link).await.unwrap();
    assert_eq!(again.error().as_deref(), Some("link_dead"));
    // The next login takes the new password, and still asks for the code.
    let rp = Rp::discover(&server).await.unwrap();
    let page = browser.get(&rp.start(&[]).url).await.unwrap();
    let page = password_step(&browser, &page, "12345678", NEW)
        .await
        .unwrap();
    assert_eq!(
        page.screen().as_deref(),
        Some("code"),
        "the second factor is never skipped"
    );
}

#[tokio::test]
async fn design_5_3_the_answer_is_the_same_whatever_happened() {
    let server = TestServer::start().await.unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let cases = [
        ("87654321", MAIL),
        ("12345678", "other@example.org"),
        ("12345678", "06 12 34 56 78"),
    ];
    let mut bodies = Vec::new();
    for (number, contact) in cases {
        let page = ask(&browser, &server, number, contact).await;
        assert_eq!(
            page.screen().as_deref(),
            Some("request-sent"),
            "{number} {contact}"
        );
        bodies.push(page.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the pages are identical"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(server.smtp.all().is_empty(), "nothing was sent");
    let bad = ask(&browser, &server, "1234", MAIL).await;
    assert_eq!(bad.notice().as_deref(), Some("invalid_number"));
}

#[tokio::test]
async fn design_5_3_a_reset_link_goes_by_sms_only_to_a_verified_phone() {
    let operator = SmsOperator::start().await.unwrap();
    let wired = operator.clone();
    let server = TestServer::start_with(move |raw| wired.configure(raw))
        .await
        .unwrap();
    let mut unverified = record("11111111", "a@example.org").unwrap();
    unverified.phone = Some("+33611111111".into());
    server.add(unverified).await.unwrap();
    let mut verified = record("22222222", "b@example.org").unwrap();
    verified.phone = Some("+33622222222".into());
    verified.phone_verified = true;
    server.add(verified).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    ask(&browser, &server, "11111111", "06 11 11 11 11").await;
    ask(&browser, &server, "22222222", "06 22 22 22 22").await;
    let sms = operator.wait_for(1, Duration::from_secs(10)).await.unwrap();
    assert_eq!(sms.to, "+33622222222");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(operator.all().len(), 1, "nothing to the unverified phone");
    let done = set_new(&browser, &server, &the_link(&sms.text), NEW).await;
    assert!(done.body.contains("data-done=\"true\""));
}

#[tokio::test]
async fn design_5_8_only_the_newest_link_works_and_links_expire() {
    let server = TestServer::start_with(|raw| raw.policy.links.reset_ttl = "2s".into())
        .await
        .unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    ask(&browser, &server, "12345678", MAIL).await;
    let first = the_link(
        &server
            .smtp
            .wait_for(MAIL, Duration::from_secs(10))
            .await
            .unwrap()
            .body,
    );
    ask(&browser, &server, "12345678", MAIL).await;
    let second = the_link(
        &server
            .smtp
            .wait_for(MAIL, Duration::from_secs(10))
            .await
            .unwrap()
            .body,
    );
    assert_eq!(
        browser.get(&first).await.unwrap().error().as_deref(),
        Some("link_dead")
    );
    let page = browser.get(&second).await.unwrap();
    assert_eq!(page.screen().as_deref(), Some("reset-password"));
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let path = &second[server.issuer.len()..];
    let late = browser
        .submit(&page, path, &[("new", NEW), ("confirm", NEW)])
        .await
        .unwrap();
    assert_eq!(late.error().as_deref(), Some("link_dead"));
}

#[tokio::test]
async fn design_5_8_a_reset_ends_the_sessions_elsewhere_and_returns_to_the_rp() {
    let server = TestServer::start().await.unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    let elsewhere = Browser::new(&server.issuer).unwrap();
    let url = authorize_url(
        &server,
        sesame_testkit::server::RP.0,
        sesame_testkit::server::CALLBACK,
        "",
    );
    rp::login(&server, &elsewhere, &url, "12345678", MAIL)
        .await
        .unwrap();
    // From a login page: "Mot de passe oublié ?" keeps the RP to return to.
    let browser = Browser::new(&server.issuer).unwrap();
    let login = browser.get(&rp.start(&[]).url).await.unwrap();
    let forgot_url = login
        .body
        .split("href=\"")
        .find(|s| s.starts_with("/reset?flow="))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let page = browser.get(&server.url(&forgot_url)).await.unwrap();
    browser
        .submit(
            &page,
            "/reset",
            &[("number", "12345678"), ("contact", MAIL)],
        )
        .await
        .unwrap();
    let mail = server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    let done = set_new(&browser, &server, &the_link(&mail.body), NEW).await;
    let none = elsewhere.get(&format!("{url}&prompt=none")).await.unwrap();
    assert_eq!(
        param(&none.left_to.unwrap(), "error").as_deref(),
        Some("login_required"),
        "the other session ended"
    );
    let again = browser.submit(&done, "/login/restart", &[]).await.unwrap();
    assert_eq!(again.screen().as_deref(), Some("login"));
    assert!(
        again.body.contains("value=\"12345678\""),
        "the number is kept"
    );
    assert_eq!(again.notice(), None, "nothing expired: no apology");
}

#[tokio::test]
async fn activation_sets_the_first_password() {
    let server = TestServer::start().await.unwrap();
    let mut pending = record("33333333", MAIL).unwrap();
    pending.password_hash = None;
    server.add(pending).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    // Without a password, the login says what a wrong password says.
    let rp = Rp::discover(&server).await.unwrap();
    let login = browser.get(&rp.start(&[]).url).await.unwrap();
    let refused = password_step(&browser, &login, "33333333", TEST_PASSWORD)
        .await
        .unwrap();
    assert_eq!(refused.notice().as_deref(), Some("invalid_credentials"));
    let page = browser.get(&server.url("/activate")).await.unwrap();
    assert_eq!(page.screen().as_deref(), Some("activate-request"));
    let sent = browser
        .submit(
            &page,
            "/activate",
            &[("number", "33333333"), ("contact", MAIL)],
        )
        .await
        .unwrap();
    assert_eq!(sent.screen().as_deref(), Some("request-sent"));
    let mail = server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    let link = the_link(&mail.body);
    assert!(link.contains("/activate/"));
    let done = set_new(&browser, &server, &link, NEW).await;
    assert_eq!(done.screen().as_deref(), Some("activate-done"));
    let login = browser.get(&rp.start(&[]).url).await.unwrap();
    let page = password_step(&browser, &login, "33333333", NEW)
        .await
        .unwrap();
    assert_eq!(page.screen().as_deref(), Some("code"));
    // An account with a password gets no activation link.
    let again = browser.get(&server.url("/activate")).await.unwrap();
    browser
        .submit(
            &again,
            "/activate",
            &[("number", "33333333"), ("contact", MAIL)],
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let activations = server
        .smtp
        .all()
        .iter()
        .filter(|m| m.body.contains("/activate/"))
        .count();
    assert_eq!(activations, 1);
}

#[tokio::test]
async fn forms_without_their_csrf_send_nothing() {
    let server = TestServer::start().await.unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let page = browser
        .post_form(
            &server.url("/reset"),
            &[
                ("number", "12345678"),
                ("contact", MAIL),
                ("csrf", "forged"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        page.screen().as_deref(),
        Some("reset-request"),
        "the page again"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.smtp.all().is_empty());
}

#[tokio::test]
async fn design_5_4_requests_with_wrong_details_do_not_use_up_the_owners_share() {
    let server = TestServer::start().await.unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let stranger = Browser::new(&server.issuer).unwrap();
    for _ in 0..6 {
        let sent = ask(&stranger, &server, "12345678", "nobody@example.net").await;
        assert_eq!(sent.screen().as_deref(), Some("request-sent"));
    }
    let owner = Browser::new(&server.issuer).unwrap();
    ask(&owner, &server, "12345678", MAIL).await;
    let mail = server.smtp.wait_for(MAIL, Duration::from_secs(10)).await;
    assert!(mail.is_some_and(|m| m.body.contains("/reset/")));
}

#[tokio::test]
async fn design_5_7_a_stale_request_page_comes_back_with_the_number_kept() {
    let server = TestServer::start().await.unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let page = browser.get(&server.url("/reset")).await.unwrap();
    // The same page posted from a browser that lost its cookies.
    let other = Browser::new(&server.issuer).unwrap();
    let again = other
        .submit(
            &page,
            "/reset",
            &[("number", "12345678"), ("contact", MAIL)],
        )
        .await
        .unwrap();
    assert_eq!(again.screen().as_deref(), Some("reset-request"));
    assert_eq!(again.notice().as_deref(), Some("restarted"));
    assert!(
        again.body.contains("value=\"12345678\""),
        "the number is kept"
    );
    let sent = other
        .submit(&again, "/reset", &[("contact", MAIL)])
        .await
        .unwrap();
    assert_eq!(sent.screen().as_deref(), Some("request-sent"));
}

#[tokio::test]
async fn design_5_1_a_reset_refuses_the_current_password() {
    let server = TestServer::start().await.unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    ask(&browser, &server, "12345678", MAIL).await;
    let link = mailed_link(&server).await;
    // The form names its account for password managers.
    let form = browser.get(&link).await.unwrap();
    assert!(
        form.body
            .contains(r#"name="username" value="12345678" autocomplete="username""#)
    );
    let same = set_new(&browser, &server, &link, TEST_PASSWORD).await;
    assert_eq!(same.notice().as_deref(), Some("password_refused"));
    let done = set_new(&browser, &server, &link, NEW).await;
    assert_eq!(done.screen().as_deref(), Some("reset-done"));
}

#[tokio::test]
async fn an_activation_link_dies_once_the_account_has_a_password() {
    let server = TestServer::start().await.unwrap();
    let mut pending = record("33333333", MAIL).unwrap();
    pending.password_hash = None;
    server.add(pending).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let page = browser.get(&server.url("/activate")).await.unwrap();
    browser
        .submit(
            &page,
            "/activate",
            &[("number", "33333333"), ("contact", MAIL)],
        )
        .await
        .unwrap();
    let link = mailed_link(&server).await;
    // The operator gives the account a password another way (an import).
    server.add(record("33333333", MAIL).unwrap()).await.unwrap();
    let dead = browser.get(&link).await.unwrap();
    assert_eq!(dead.status, 410);
    assert!(
        !dead.body.contains("name=\"new\""),
        "no form behind a dead link"
    );
}
