//! The pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`): the
//! anti-robot widget's worker, the content security policy, the forms and the redirects
//! to the RP run as they do for participants.

use std::time::{Duration, Instant};

use sesame_testkit::TEST_PASSWORD;
use sesame_testkit::chromium::{Callback, Chromium};
use sesame_testkit::rp::{Rp, param};
use sesame_testkit::server::RP;
use sesame_testkit::{TestServer, extract_code};

const NUMBER: &str = "12345678";
const EMAIL: &str = "jeanne@example.org";

async fn server_with_callback() -> (TestServer, Callback) {
    let callback = Callback::start().await.unwrap();
    let url = callback.url.clone();
    let server = TestServer::start_with(move |raw| {
        raw.clients[0].redirect_uris.push(url);
    })
    .await
    .unwrap();
    server.add_participant(NUMBER, EMAIL).await.unwrap();
    (server, callback)
}

/// Solves the page's check `rounds` times with its button; the times, sorted.
async fn solve_times(chromium: &Chromium, rounds: usize) -> Vec<Duration> {
    let reset = "document.querySelector('input[name=altcha]').value = ''; \
                 document.querySelector('[data-captcha] button').disabled = false;";
    let solved = "return document.querySelector('input[name=altcha]').value;";
    let mut times = Vec::new();
    for _ in 0..rounds {
        chromium.eval(reset).await.unwrap();
        chromium.click("[data-captcha] button").await.unwrap();
        let took = chromium
            .wait_until(solved, Duration::from_secs(120))
            .await
            .unwrap();
        times.push(took);
    }
    times.sort();
    times
}

#[tokio::test]
async fn a_participant_logs_in_with_the_anti_robot_check_solved_by_the_page() {
    let (server, mut callback) = server_with_callback().await;
    let rp = Rp::discover_as(&server, RP.0, Some(RP.1), &callback.url)
        .await
        .unwrap();
    let pending = rp.start(&["profile"]);
    let chromium = Chromium::start().await.unwrap();

    chromium.goto(&pending.url).await.unwrap();
    assert_eq!(chromium.screen().await.unwrap().as_deref(), Some("login"));
    // The widget shows itself only when its script runs under the page's CSP.
    let shown = "return !document.querySelector('[data-captcha]').hidden;";
    assert_eq!(chromium.eval(shown).await.unwrap(), true);
    chromium.type_into("#number", NUMBER).await.unwrap();
    chromium
        .type_into("#password", TEST_PASSWORD)
        .await
        .unwrap();
    // Sending before the check is done solves it first, then sends the form.
    let started = Instant::now();
    chromium.click("form button[type=submit]").await.unwrap();
    let screen = chromium.wait_for_screen_change("login").await.unwrap();
    eprintln!(
        "chromium: check solved and form sent in {:?}",
        started.elapsed()
    );
    let notice = chromium.notice().await.unwrap();
    assert_eq!(screen.as_deref(), Some("code"), "notice {notice:?}");

    let mail = server
        .smtp
        .wait_for(EMAIL, Duration::from_secs(10))
        .await
        .unwrap();
    let code = extract_code(&mail.body).unwrap();
    chromium.type_into("#code", &code).await.unwrap();
    chromium.click("form button[type=submit]").await.unwrap();
    let landed = callback.next(Duration::from_secs(20)).await.unwrap();
    assert_eq!(
        param(&landed, "state").as_deref(),
        Some(pending.state.secret().as_str())
    );
    let code = param(&landed, "code").unwrap();
    let logged_in = rp.finish(&code, pending).await.unwrap();
    assert!(!logged_in.claims.subject().as_str().is_empty());

    // A second login from the same browser is silent: the SSO session carries it.
    let again = rp.start(&["profile"]);
    chromium.goto(&again.url).await.unwrap();
    let landed = callback.next(Duration::from_secs(20)).await.unwrap();
    assert!(param(&landed, "code").is_some(), "{landed}");
}

#[tokio::test]
async fn the_check_button_solves_and_says_so_on_the_forgot_password_page() {
    let (server, _callback) = server_with_callback().await;
    let chromium = Chromium::start().await.unwrap();
    chromium.goto(&server.url("/reset")).await.unwrap();
    assert_eq!(
        chromium.screen().await.unwrap().as_deref(),
        Some("reset-request")
    );
    chromium.type_into("#number", NUMBER).await.unwrap();
    chromium.type_into("#contact", EMAIL).await.unwrap();
    let times = solve_times(&chromium, 5).await;
    eprintln!("chromium: anti-robot check solved in {times:?}");
    let pressed =
        "return document.querySelector('[data-captcha] button').getAttribute('aria-pressed');";
    assert_eq!(chromium.eval(pressed).await.unwrap(), "true");
    let status = "return document.querySelector('[data-captcha-status]').textContent;";
    assert!(
        !chromium
            .eval(status)
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .is_empty()
    );

    chromium.click("form button[type=submit]").await.unwrap();
    let screen = chromium
        .wait_for_screen_change("reset-request")
        .await
        .unwrap();
    let notice = chromium.notice().await.unwrap();
    assert_eq!(screen.as_deref(), Some("request-sent"), "notice {notice:?}");
    let mail = server.smtp.wait_for(EMAIL, Duration::from_secs(10)).await;
    assert!(mail.is_some(), "the reset link is mailed");
}

#[tokio::test]
async fn the_back_button_after_sending_the_password_never_shows_an_error() {
    let (server, _callback) = server_with_callback().await;
    let rp = Rp::discover(&server).await.unwrap();
    let pending = rp.start(&["profile"]);
    let chromium = Chromium::start().await.unwrap();
    chromium.goto(&pending.url).await.unwrap();
    chromium.type_into("#number", NUMBER).await.unwrap();
    chromium
        .type_into("#password", TEST_PASSWORD)
        .await
        .unwrap();
    chromium.click("form button[type=submit]").await.unwrap();
    assert_eq!(
        chromium
            .wait_for_screen_change("login")
            .await
            .unwrap()
            .as_deref(),
        Some("code")
    );
    // The participant goes back and sends the login form again, as the guide's stale
    // page trouble describes: the flow goes on instead of failing.
    chromium.back().await.unwrap();
    let screen = chromium.screen().await.unwrap();
    assert_ne!(screen.as_deref(), Some("error"));
    if screen.as_deref() == Some("login") {
        chromium
            .eval("document.querySelector('#password').value = '';")
            .await
            .unwrap();
        chromium
            .type_into("#password", TEST_PASSWORD)
            .await
            .unwrap();
        chromium.click("form button[type=submit]").await.unwrap();
        let after = chromium.wait_for_screen_change("login").await.unwrap();
        let notice = chromium.notice().await.unwrap();
        assert_eq!(after.as_deref(), Some("code"), "notice {notice:?}");
    }
}

#[tokio::test]
async fn the_page_solves_the_raised_check_asked_for_a_number_that_keeps_failing() {
    let (server, _callback) = server_with_callback().await;
    let rp = Rp::discover(&server).await.unwrap();
    let browser = sesame_testkit::Browser::new(&server.issuer).unwrap();
    for _ in 0..3 {
        let page = browser.get(&rp.start(&[]).url).await.unwrap();
        let page = sesame_testkit::rp::password_step(&browser, &page, NUMBER, "Wrong-Password-1!")
            .await
            .unwrap();
        assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    }
    let chromium = Chromium::start().await.unwrap();
    chromium.goto(&server.url("/reset")).await.unwrap();
    chromium.type_into("#number", NUMBER).await.unwrap();
    chromium.type_into("#contact", EMAIL).await.unwrap();
    let asked = "var x = new XMLHttpRequest(); x.open('GET', '/captcha/challenge?for=12345678', false); \
                 x.send(); return JSON.parse(x.responseText).maxnumber;";
    assert_eq!(chromium.eval(asked).await.unwrap(), 500_000);
    let times = solve_times(&chromium, 5).await;
    eprintln!("chromium: raised anti-robot check solved in {times:?}");
    chromium.click("form button[type=submit]").await.unwrap();
    let screen = chromium
        .wait_for_screen_change("reset-request")
        .await
        .unwrap();
    let notice = chromium.notice().await.unwrap();
    assert_eq!(screen.as_deref(), Some("request-sent"), "notice {notice:?}");
}
