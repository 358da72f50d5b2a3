//! The anti-robot check (DESIGN §3 "Pages", ALTCHA v1): missing, forged, expired,
//! replayed and too-easy solutions are refused; the work asked rises for a failing number.

use sesame_core::captcha::{Challenge, solve};
use sesame_testkit::rp::Rp;
use sesame_testkit::{Browser, TEST_PASSWORD, TestServer};

use crate::setup;

async fn challenge(browser_http: &reqwest::Client, server: &TestServer, number: &str) -> Challenge {
    let url = server.url(&format!("/captcha/challenge?for={number}"));
    browser_http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn login_page(server: &TestServer, browser: &Browser) -> sesame_testkit::Page {
    let rp = Rp::discover(server).await.unwrap();
    browser.get(&rp.start(&[]).url).await.unwrap()
}

#[tokio::test]
async fn missing_or_forged_solutions_are_refused_and_the_number_kept() {
    let (server, browser) = setup().await;
    for altcha in ["forged", "eyJ9"] {
        let page = login_page(&server, &browser).await;
        let fields = [
            ("number", "12345678"),
            ("password", TEST_PASSWORD),
            ("altcha", altcha),
        ];
        let page = browser.submit(&page, "/login", &fields).await.unwrap();
        assert_eq!(page.notice().as_deref(), Some("captcha_failed"), "{altcha}");
        assert!(page.body.contains("value=\"12345678\""));
    }
    assert!(server.smtp.all().is_empty(), "no password was even checked");
}

#[tokio::test]
async fn a_solution_works_once() {
    let (server, browser) = setup().await;
    let solved = solve(&challenge(&http(), &server, "12345678").await).unwrap();
    let page = login_page(&server, &browser).await;
    let fields = [
        ("number", "12345678"),
        ("password", "Wrong-Password-1"),
        ("altcha", solved.as_str()),
    ];
    let page = browser.submit(&page, "/login", &fields).await.unwrap();
    assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    let page = browser.submit(&page, "/login", &fields).await.unwrap();
    assert_eq!(page.notice().as_deref(), Some("captcha_failed"), "replayed");
}

#[tokio::test]
async fn expired_solutions_are_refused() {
    let server = TestServer::start_with(|raw| raw.policy.captcha.ttl = "1s".into())
        .await
        .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let solved = solve(&challenge(&http(), &server, "12345678").await).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let page = login_page(&server, &browser).await;
    let fields = [
        ("number", "12345678"),
        ("password", TEST_PASSWORD),
        ("altcha", solved.as_str()),
    ];
    let page = browser.submit(&page, "/login", &fields).await.unwrap();
    assert_eq!(page.notice().as_deref(), Some("captcha_failed"));
}

#[tokio::test]
async fn the_work_rises_for_a_failing_number_and_easy_solutions_are_refused() {
    let server = TestServer::start_with(|raw| {
        raw.policy.captcha.max_number = 1000;
        raw.policy.captcha.raised_max_number = 20000;
    })
    .await
    .unwrap();
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .unwrap();
    let browser = Browser::new(&server.issuer).unwrap();
    let easy = challenge(&http(), &server, "12345678").await;
    assert_eq!(easy.maxnumber, 1000);
    let easy = solve(&easy).unwrap();
    let mut page = login_page(&server, &browser).await;
    for _ in 0..3 {
        page = browser
            .submit(
                &page,
                "/login",
                &[("number", "12345678"), ("password", "Wrong-Password-1")],
            )
            .await
            .unwrap();
        assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    }
    assert_eq!(
        challenge(&http(), &server, "12345678").await.maxnumber,
        20000
    );
    assert_eq!(
        challenge(&http(), &server, "87654321").await.maxnumber,
        1000,
        "other numbers are not affected"
    );
    let fields = [
        ("number", "12345678"),
        ("password", TEST_PASSWORD),
        ("altcha", easy.as_str()),
    ];
    let page = browser.submit(&page, "/login", &fields).await.unwrap();
    assert_eq!(
        page.notice().as_deref(),
        Some("captcha_failed"),
        "solved before the rise: too easy now"
    );
    let page = browser
        .submit(
            &page,
            "/login",
            &[("number", "12345678"), ("password", TEST_PASSWORD)],
        )
        .await
        .unwrap();
    assert_eq!(
        page.screen().as_deref(),
        Some("code"),
        "a solution at the raised work passes"
    );
}

#[tokio::test]
async fn forgot_password_needs_the_check_too() {
    let (server, browser) = setup().await;
    let page = browser.get(&server.url("/reset")).await.unwrap();
    let page = browser
        .submit(
            &page,
            "/reset",
            &[
                ("number", "12345678"),
                ("contact", "jeanne@example.org"),
                ("altcha", "x"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.notice().as_deref(), Some("captcha_failed"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(server.smtp.all().is_empty());
}

#[tokio::test]
async fn pages_carry_the_widget_and_its_external_scripts() {
    let (server, browser) = setup().await;
    let page = login_page(&server, &browser).await;
    assert!(page.body.contains("name=\"altcha\""));
    assert!(page.body.contains("/static/base/altcha.js"));
    for script in ["/static/base/altcha.js", "/static/base/altcha-worker.js"] {
        let response = http().get(server.url(script)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{script}");
        // RFC 9111 §5.2.2.4 / RFC 9110 §13.1.2: revalidated on each use, by entity tag.
        assert_eq!(response.headers()["cache-control"], "public, no-cache");
        let tag = response.headers()["etag"].clone();
        let again = http()
            .get(server.url(script))
            .header("if-none-match", tag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{script}");
        assert_eq!(again.headers()["etag"], tag);
        let other = http()
            .get(server.url(script))
            .header("if-none-match", "\"stale\"")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 200, "{script}");
    }
}
