//! Every screen of the participant guide in a real headless Chromium, in French and in
//! English, at a desktop and a phone width: the first login after the security upgrade,
//! "mot de passe oublié", logout, help and error pages. Each screen is saved as a PNG,
//! audited with axe-core against WCAG 2.1 A and AA, and weighed (at most 30 KB on the wire
//! with its CSS, scripts and images).
//!
//! The screenshots land in `$SESAME_SCREENSHOTS` if set, else in the build folder's
//! `tmp/screenshots`, one folder per language and width.

use std::path::PathBuf;
use std::time::Duration;

use sesame_core::participant::RequiredAction;
use sesame_testkit::chromium::{Callback, Chromium, axe_source};
use sesame_testkit::rp::{Rp, param};
use sesame_testkit::server::{RP, record};
use sesame_testkit::{TEST_PASSWORD, TestServer, extract_code};

const NUMBER: &str = "87654321";
const EMAIL: &str = "marie@example.org";
const NEW_PASSWORD: &str = "Nouveau-Mot2passe!";
const LIGHT_PAGE: u64 = 30 * 1024;

/// One browser going through the screens, keeping what each screen got wrong.
struct Tour {
    chromium: Chromium,
    dir: PathBuf,
    lang: &'static str,
    axe: String,
    shots: usize,
    heaviest: u64,
    problems: Vec<String>,
}

impl Tour {
    async fn start(lang: &'static str, width: u32, height: u32) -> Self {
        let locale = if lang == "fr" { "fr-FR" } else { "en-US" };
        let label = if width < 600 { "phone" } else { "desktop" };
        let root = std::env::var_os("SESAME_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
        Self {
            chromium: Chromium::start_as(locale, width, height).await.unwrap(),
            dir: root.join(format!("{lang}-{label}")),
            lang,
            axe: axe_source().unwrap(),
            shots: 0,
            heaviest: 0,
            problems: Vec::new(),
        }
    }

    /// Checks the screen shown: the one expected, in the tour's language, accessible,
    /// light; and saves its picture.
    async fn visit(&mut self, journey: &str, expected: &str) {
        let c = &self.chromium;
        let screen = c.screen().await.unwrap().unwrap_or_default();
        assert_eq!(screen, expected, "{journey}: notice {:?}", c.notice().await);
        self.shots += 1;
        let name = format!("{journey}-{:02}-{screen}.png", self.shots);
        c.screenshot(&self.dir.join(&name)).await.unwrap();
        let lang = c
            .eval("return document.documentElement.lang;")
            .await
            .unwrap();
        if lang != self.lang {
            self.problems.push(format!("{name}: lang is {lang}"));
        }
        for violation in c.accessibility_violations(&self.axe).await.unwrap() {
            self.problems.push(format!("{name}: {violation}"));
        }
        let weight = c.page_weight().await.unwrap();
        self.heaviest = self.heaviest.max(weight);
        if weight > LIGHT_PAGE {
            self.problems.push(format!("{name}: {weight} bytes"));
        }
    }

    async fn send(&self, from: &str) {
        self.chromium
            .click("main form button[type=submit]")
            .await
            .unwrap();
        self.chromium.wait_for_screen_change(from).await.unwrap();
    }

    /// Sends the form and waits for the same screen back with a notice.
    async fn send_refused(&self) {
        self.chromium
            .click("main form button[type=submit]")
            .await
            .unwrap();
        self.chromium
            .wait_until(
                "return document.readyState === 'complete' \
                 && document.querySelector('[data-notice]') ? 'y' : null;",
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.chromium.type_into(css, text).await.unwrap();
    }
}

async fn server() -> (TestServer, Callback) {
    let callback = Callback::start().await.unwrap();
    let url = callback.url.clone();
    let server = TestServer::start_with(move |raw| {
        raw.clients[0].redirect_uris.push(url.clone());
        raw.clients[0].post_logout_redirect_uris.push(url);
        raw.ui.support_phone = Some("01 23 45 67 89".into());
        raw.ui.support_email = Some("support@example.org".into());
    })
    .await
    .unwrap();
    // As the demo's participant: the guide's first login after the security upgrade.
    let mut participant = record(NUMBER, EMAIL).unwrap();
    participant.required_actions = vec![
        RequiredAction::UpdatePassword,
        RequiredAction::RegisterPhone,
    ];
    server.add(participant).await.unwrap();
    (server, callback)
}

/// The next mail to the participant whose text has `wanted` (notices may come first).
async fn mail_with(server: &TestServer, wanted: &str) -> String {
    let mut found = None;
    for _ in 0..5 {
        let mail = server
            .smtp
            .wait_for(EMAIL, Duration::from_secs(10))
            .await
            .unwrap();
        if mail.body.contains(wanted) {
            found = Some(mail.body);
            break;
        }
    }
    found.expect("a mail with the wanted text")
}

async fn code_from_mail(server: &TestServer) -> String {
    extract_code(&mail_with(server, "code").await).unwrap()
}

/// The guide's first login: password, code, new password (with an error first), mobile
/// phone, the 15-second SMS page, back at the RP; then logout.
async fn first_login(tour: &mut Tour, server: &TestServer, callback: &mut Callback) {
    let rp = Rp::discover_as(server, RP.0, Some(RP.1), &callback.url)
        .await
        .unwrap();
    let pending = rp.start(&["profile"]);
    tour.chromium.goto(&pending.url).await.unwrap();
    tour.visit("first-login", "login").await;
    tour.type_into("#number", NUMBER).await;
    tour.type_into("#password", "Wrong-Password-1").await;
    // "Afficher" shows the password while pressed.
    let kind = "return document.querySelector('#password').type;";
    tour.chromium.click("[data-reveal=password]").await.unwrap();
    assert_eq!(tour.chromium.eval(kind).await.unwrap(), "text");
    tour.send_refused().await;
    tour.visit("first-login", "login").await;
    assert_eq!(tour.chromium.eval(kind).await.unwrap(), "password");
    tour.type_into("#password", TEST_PASSWORD).await;
    tour.send("login").await;
    tour.visit("first-login", "code").await;
    let code = code_from_mail(server).await;
    tour.type_into("#code", &code).await;
    tour.send("code").await;
    tour.visit("first-login", "update-password").await;
    tour.type_into("#current", TEST_PASSWORD).await;
    tour.type_into("#new", "court").await;
    tour.type_into("#confirm", "court").await;
    tour.send_refused().await;
    tour.visit("first-login", "update-password").await;
    // WCAG 3.3.1: the first field in error has the focus.
    let focused = tour
        .chromium
        .eval("return document.activeElement.id;")
        .await
        .unwrap();
    assert_eq!(focused, "new");
    tour.type_into("#current", TEST_PASSWORD).await;
    tour.type_into("#new", NEW_PASSWORD).await;
    tour.type_into("#confirm", NEW_PASSWORD).await;
    tour.send("update-password").await;
    tour.visit("first-login", "register-phone").await;
    tour.type_into("#phone", "06 12 34 56 78").await;
    tour.type_into("#phone_confirm", "06 12 34 56 78").await;
    tour.send("register-phone").await;
    tour.visit("first-login", "phone-sent").await;
    tour.chromium
        .click("#continue-form button[type=submit]")
        .await
        .unwrap();
    let landed = callback.next(Duration::from_secs(30)).await.unwrap();
    let code = param(&landed, "code").unwrap();
    rp.finish(&code, pending).await.unwrap();

    let logout = server.url(&format!(
        "/end_session?client_id={}&post_logout_redirect_uri={}",
        RP.0,
        url::form_urlencoded::byte_serialize(callback.url.as_bytes()).collect::<String>()
    ));
    tour.chromium.goto(&logout).await.unwrap();
    tour.visit("logout", "logout-confirm").await;
    tour.chromium
        .click("main form button[type=submit]")
        .await
        .unwrap();
    let back = callback.next(Duration::from_secs(30)).await;
    assert!(back.is_some(), "logout returns to the RP");
}

/// "Mot de passe oublié": from the login page, the request, the answer, the link, the new
/// password, "mot de passe modifié", and back to the login with the number kept.
async fn forgot_password(tour: &mut Tour, server: &TestServer, callback: &Callback) {
    let rp = Rp::discover_as(server, RP.0, Some(RP.1), &callback.url)
        .await
        .unwrap();
    tour.chromium.goto(&rp.start(&[]).url).await.unwrap();
    tour.chromium.click("a[href*='/reset']").await.unwrap();
    tour.chromium.wait_for_screen_change("login").await.unwrap();
    tour.visit("forgot", "reset-request").await;
    tour.type_into("#number", NUMBER).await;
    tour.type_into("#contact", EMAIL).await;
    tour.send("reset-request").await;
    tour.visit("forgot", "request-sent").await;
    let link = mail_with(server, "/reset/")
        .await
        .split_whitespace()
        .find(|w| w.contains("/reset/"))
        .unwrap()
        .to_owned();
    tour.chromium.goto(&link).await.unwrap();
    tour.visit("forgot", "reset-password").await;
    tour.type_into("#new", "Encore-Un-Mot2passe!").await;
    tour.type_into("#confirm", "Encore-Un-Mot2passe!").await;
    tour.send("reset-password").await;
    tour.visit("forgot", "reset-done").await;
    tour.send("reset-done").await;
    tour.visit("forgot", "login").await;
    let kept = tour
        .chromium
        .eval("return document.querySelector('#number').value;")
        .await
        .unwrap();
    assert_eq!(kept, NUMBER, "the number is kept");
    // The link again: dead, said plainly.
    tour.chromium.goto(&link).await.unwrap();
    tour.visit("forgot", "reset-done").await;
    let dead = tour
        .chromium
        .eval("return document.body.textContent;")
        .await
        .unwrap();
    assert!(!dead.as_str().unwrap_or_default().is_empty());
}

/// The pages around the journeys: activation, help, an error.
async fn other_pages(tour: &mut Tour, server: &TestServer) {
    tour.chromium.goto(&server.url("/activate")).await.unwrap();
    tour.visit("other", "activate-request").await;
    tour.chromium.goto(&server.url("/help")).await.unwrap();
    tour.visit("other", "help").await;
    let body = tour
        .chromium
        .eval("return document.body.textContent;")
        .await
        .unwrap();
    let body = body.as_str().unwrap_or_default();
    assert!(body.contains("01 23 45 67 89") && body.contains("support@example.org"));
    tour.chromium
        .goto(&server.url("/authorize?client_id=nobody"))
        .await
        .unwrap();
    tour.visit("other", "error").await;
}

async fn tour(lang: &'static str, width: u32, height: u32) {
    let (server, mut callback) = server().await;
    let mut tour = Tour::start(lang, width, height).await;
    first_login(&mut tour, &server, &mut callback).await;
    forgot_password(&mut tour, &server, &callback).await;
    other_pages(&mut tour, &server).await;
    eprintln!(
        "screens: {} in {}, the heaviest {} bytes",
        tour.shots,
        tour.dir.display(),
        tour.heaviest
    );
    assert!(tour.problems.is_empty(), "{:#?}", tour.problems);
    server.stop().await;
}

#[tokio::test]
async fn screens_in_french_on_a_desktop() {
    tour("fr", 1280, 900).await;
}

#[tokio::test]
async fn screens_in_french_on_a_phone() {
    tour("fr", 320, 640).await;
}

#[tokio::test]
async fn screens_in_english_on_a_desktop() {
    tour("en", 1280, 900).await;
}

#[tokio::test]
async fn screens_in_english_on_a_phone() {
    tour("en", 320, 640).await;
}

#[tokio::test]
async fn the_accessibility_audit_finds_a_field_without_a_label() {
    let server = TestServer::start().await.unwrap();
    let chromium = Chromium::start().await.unwrap();
    chromium.goto(&server.url("/help")).await.unwrap();
    let axe = axe_source().unwrap();
    assert_eq!(
        chromium.accessibility_violations(&axe).await.unwrap(),
        Vec::<String>::new()
    );
    chromium
        .eval("document.querySelector('main').appendChild(document.createElement('input'));")
        .await
        .unwrap();
    let found = chromium.accessibility_violations(&axe).await.unwrap();
    assert!(found.iter().any(|v| v.starts_with("label")), "{found:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_with_the_base_theme_looks_unlike_the_default_constances_theme() {
    use sesame_testkit::Browser;
    use sesame_testkit::server::{CALLBACK, RP_POST};

    let server = TestServer::start_with(|raw| raw.clients[1].theme = Some("base".into()))
        .await
        .unwrap();
    let url = |client: &str| crate::support::authorize_url(&server, client, CALLBACK, "");
    let constances = Browser::new(&server.issuer)
        .unwrap()
        .get(&url(RP.0))
        .await
        .unwrap();
    let base = Browser::new(&server.issuer)
        .unwrap()
        .get(&url(RP_POST.0))
        .await
        .unwrap();
    assert!(constances.body.contains("/static/constances/theme.css"));
    assert!(constances.body.contains("Numéro Constances"));
    assert!(!base.body.contains("theme.css"));
    assert!(base.body.contains("Numéro de participant"));
    // The constances theme has no login template: base's is used, with its own words.
    assert_eq!(constances.screen().as_deref(), Some("login"));
    assert_eq!(base.screen().as_deref(), Some("login"));
    server.stop().await;
}
