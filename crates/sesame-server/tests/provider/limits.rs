//! Abuse limits (DESIGN §5.3, §5.4): per number, per device, per client address behind
//! trusted proxies, per phone; they slow down, never lock the owner out, and a throttled
//! attempt looks and costs the same as a wrong password.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sesame_core::audit::AuditKind;
use sesame_core::password::PasswordHash;
use sesame_core::secret::SecretString;
use sesame_core::service::PasswordHasher;
use sesame_core::state::{StateError, StateStore};
use sesame_core::store::{AuditFilter, AuditStore};
use sesame_testkit::rp::{self, Rp, password_step};
use sesame_testkit::server::record;
use sesame_testkit::server::{CALLBACK, RP};
use sesame_testkit::sms::SmsOperator;
use sesame_testkit::{Browser, Page, TEST_PASSWORD, TestServer};

use crate::support::authorize_url;

const MAIL: &str = "jeanne@example.org";
const WRONG: &str = "Wrong-Password-1";

/// The throttling decisions in the audit trail, as `(on, by, ip)`.
async fn throttled(server: &TestServer) -> Vec<(String, String, Option<String>)> {
    let mut filter = AuditFilter::newest(100);
    filter.kinds = vec![AuditKind::Throttled];
    let events = server.store.query(&filter).await.unwrap();
    events
        .into_iter()
        .map(|e| {
            let field = |k: &str| e.detail[k].as_str().unwrap_or_default().to_owned();
            (field("on"), field("by"), e.ip)
        })
        .collect()
}

/// A fresh login page that asks for the password even with a live session.
async fn login_page(server: &TestServer, browser: &Browser) -> Page {
    let url = authorize_url(server, RP.0, CALLBACK, "&prompt=login");
    browser.get(&url).await.unwrap()
}

async fn try_password(server: &TestServer, browser: &Browser, number: &str, pw: &str) -> Page {
    let page = login_page(server, browser).await;
    password_step(browser, &page, number, pw).await.unwrap()
}

fn trusting_loopback(per_ip: &'static str) -> impl FnOnce(&mut sesame_server::config::RawConfig) {
    move |raw| {
        raw.http.trusted_proxies = vec!["127.0.0.1/32".into()];
        raw.policy.limits.per_ip = per_ip.into();
    }
}

#[tokio::test]
async fn design_5_4_usual_browser_keeps_logging_in_while_someone_hammers_the_number() {
    let server = TestServer::start_with(|raw| raw.policy.limits.per_account = "3/1h".into())
        .await
        .unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let usual = Browser::new(&server.issuer).unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    rp::login(&server, &usual, &rp.start(&[]).url, "12345678", MAIL)
        .await
        .unwrap();

    let attacker = Browser::new(&server.issuer).unwrap();
    for _ in 0..5 {
        let page = try_password(&server, &attacker, "12345678", WRONG).await;
        assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    }
    // The attacker, even with the right password, is told what a wrong password is told.
    let page = try_password(&server, &attacker, "12345678", TEST_PASSWORD).await;
    assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    // So would a new browser of the owner: the throttle is per number…
    let stranger = Browser::new(&server.issuer).unwrap();
    let page = try_password(&server, &stranger, "12345678", TEST_PASSWORD).await;
    assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    // …but the browser that logged in before goes on to the code.
    let page = try_password(&server, &usual, "12345678", TEST_PASSWORD).await;
    assert_eq!(
        page.screen().as_deref(),
        Some("code"),
        "{:?}",
        page.notice()
    );

    // Its own failures still count, on a count of its own.
    for _ in 0..3 {
        try_password(&server, &usual, "12345678", WRONG).await;
    }
    let page = try_password(&server, &usual, "12345678", TEST_PASSWORD).await;
    assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));

    let decisions = throttled(&server).await;
    assert!(
        decisions
            .iter()
            .any(|(on, by, _)| on == "login" && by == "account")
    );
    assert!(
        decisions
            .iter()
            .any(|(on, by, _)| on == "login" && by == "device")
    );
    server.stop().await;
}

#[tokio::test]
async fn design_5_4_an_address_is_throttled_across_numbers_behind_trusted_proxies() {
    let server = TestServer::start_with(trusting_loopback("4/1h"))
        .await
        .unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let robot = Browser::forwarded_for(&server.issuer, "198.51.100.7").unwrap();
    for number in ["11111111", "22222222", "33333333", "44444444"] {
        let page = try_password(&server, &robot, number, WRONG).await;
        assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    }
    // A fifth number, with its right password, from the same address: refused alike.
    let page = try_password(&server, &robot, "12345678", TEST_PASSWORD).await;
    assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    // Another address behind the same proxy is not affected.
    let neighbour = Browser::forwarded_for(&server.issuer, "198.51.100.8").unwrap();
    let page = try_password(&server, &neighbour, "12345678", TEST_PASSWORD).await;
    assert_eq!(page.screen().as_deref(), Some("code"));
    let decisions = throttled(&server).await;
    assert!(
        decisions.contains(&("login".into(), "ip".into(), Some("198.51.100.7".into()))),
        "{decisions:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn design_5_4_forwarded_for_from_an_untrusted_peer_is_not_believed() {
    let server = TestServer::start_with(|raw| raw.policy.limits.per_ip = "3/1h".into())
        .await
        .unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let robot = Browser::forwarded_for(&server.issuer, "198.51.100.7").unwrap();
    for number in ["11111111", "22222222", "33333333"] {
        try_password(&server, &robot, number, WRONG).await;
    }
    // Writing another address changes nothing: the peer is the client.
    let disguised = Browser::forwarded_for(&server.issuer, "203.0.113.50").unwrap();
    let page = try_password(&server, &disguised, "12345678", TEST_PASSWORD).await;
    assert_eq!(page.notice().as_deref(), Some("invalid_credentials"));
    let decisions = throttled(&server).await;
    assert!(
        decisions.contains(&("login".into(), "ip".into(), Some("127.0.0.1".into()))),
        "{decisions:?}"
    );
    server.stop().await;
}

async fn challenge_max(server: &TestServer, forwarded: &str, number: &str) -> u64 {
    let response = reqwest::Client::new()
        .get(server.url(&format!("/captcha/challenge?for={number}")))
        .header("x-forwarded-for", forwarded)
        .send()
        .await
        .unwrap();
    let challenge: serde_json::Value = response.json().await.unwrap();
    challenge["maxnumber"].as_u64().unwrap()
}

#[tokio::test]
async fn design_3_challenges_get_harder_for_an_address_that_keeps_failing() {
    let server = TestServer::start_with(trusting_loopback("100/1h"))
        .await
        .unwrap();
    let policy = sesame_core::policy::CaptchaPolicy::default();
    assert_eq!(
        challenge_max(&server, "198.51.100.7", "99999999").await,
        policy.max_number
    );
    let robot = Browser::forwarded_for(&server.issuer, "198.51.100.7").unwrap();
    for n in 0..10 {
        try_password(&server, &robot, &format!("1000000{n}"), WRONG).await;
    }
    // Any number asked from that address now gets the harder challenge; not elsewhere.
    assert_eq!(
        challenge_max(&server, "198.51.100.7", "99999999").await,
        policy.raised_max_number
    );
    assert_eq!(
        challenge_max(&server, "198.51.100.7", "").await,
        policy.raised_max_number
    );
    assert_eq!(
        challenge_max(&server, "198.51.100.8", "99999999").await,
        policy.max_number
    );
    server.stop().await;
}

#[tokio::test]
async fn design_5_4_texts_per_phone_are_capped_then_codes_go_by_email() {
    let operator = SmsOperator::start().await.unwrap();
    let wired = operator.clone();
    let server = TestServer::start_with(move |raw| {
        wired.configure(raw);
        raw.policy.limits.per_phone = "2/1d".into();
    })
    .await
    .unwrap();
    let mut participant = record("12345678", MAIL).unwrap();
    participant.phone = Some("+33612345678".into());
    participant.phone_verified = true;
    server.add(participant).await.unwrap();
    for sent in 1..=2 {
        let browser = Browser::new(&server.issuer).unwrap();
        let page = try_password(&server, &browser, "12345678", TEST_PASSWORD).await;
        assert_eq!(page.screen().as_deref(), Some("code"));
        operator
            .wait_for(sent, Duration::from_secs(10))
            .await
            .unwrap();
    }
    let browser = Browser::new(&server.issuer).unwrap();
    let page = try_password(&server, &browser, "12345678", TEST_PASSWORD).await;
    assert_eq!(page.screen().as_deref(), Some("code"));
    // The third code goes by e-mail, and the login goes through with it.
    let page = rp::code_step(&server, &browser, &page, MAIL).await.unwrap();
    assert!(page.left_to.is_some(), "{:?}", page.notice());
    assert_eq!(operator.all().len(), 2);
    let decisions = throttled(&server).await;
    assert!(
        decisions
            .iter()
            .any(|(on, by, _)| on == "code" && by == "phone")
    );
    server.stop().await;
}

#[tokio::test]
async fn design_5_4_forgot_password_requests_are_limited_per_address() {
    let server = TestServer::start_with(trusting_loopback("2/1h"))
        .await
        .unwrap();
    for number in ["11111111", "22222222", "33333333"] {
        server.add(record(number, MAIL).unwrap()).await.unwrap();
    }
    let robot = Browser::forwarded_for(&server.issuer, "198.51.100.7").unwrap();
    for number in ["11111111", "22222222", "33333333"] {
        let page = robot.get(&server.url("/reset")).await.unwrap();
        let sent = robot
            .submit(&page, "/reset", &[("number", number), ("contact", MAIL)])
            .await
            .unwrap();
        // The same answer every time.
        assert_eq!(sent.screen().as_deref(), Some("request-sent"));
    }
    server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    server
        .smtp
        .wait_for(MAIL, Duration::from_secs(10))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.smtp.all().len(), 2, "the third request sent nothing");
    let decisions = throttled(&server).await;
    assert!(
        decisions.contains(&("reset".into(), "ip".into(), Some("198.51.100.7".into()))),
        "{decisions:?}"
    );
    server.stop().await;
}

/// Counts hash verifications.
struct CountingHasher {
    inner: Arc<dyn PasswordHasher>,
    verifies: Arc<AtomicUsize>,
}

#[async_trait]
impl PasswordHasher for CountingHasher {
    async fn hash(&self, password: SecretString) -> Option<PasswordHash> {
        self.inner.hash(password).await
    }
    async fn verify(&self, password: SecretString, stored: PasswordHash) -> bool {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, stored).await
    }
}

/// Records each short-lived state operation as `op key-kind` (the key up to its first
/// colon: the kind of record, not whose).
struct RecordingState {
    inner: Arc<dyn StateStore>,
    ops: Arc<Mutex<Vec<String>>>,
}

impl RecordingState {
    fn note(&self, op: &str, key: &str) {
        let kind = key.split(':').next().unwrap_or_default();
        self.ops.lock().unwrap().push(format!("{op} {kind}"));
    }
}

#[async_trait]
impl StateStore for RecordingState {
    async fn put(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: chrono::Duration,
    ) -> Result<(), StateError> {
        self.note("put", key);
        self.inner.put(key, value, ttl).await
    }
    async fn put_new(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: chrono::Duration,
    ) -> Result<bool, StateError> {
        self.note("put_new", key);
        self.inner.put_new(key, value, ttl).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        self.note("get", key);
        self.inner.get(key).await
    }
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        self.note("take", key);
        self.inner.take(key).await
    }
    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.note("delete", key);
        self.inner.delete(key).await
    }
    async fn incr(&self, key: &str, ttl: chrono::Duration) -> Result<u64, StateError> {
        self.note("incr", key);
        self.inner.incr(key, ttl).await
    }
    async fn ping(&self) -> Result<(), StateError> {
        self.inner.ping().await
    }
}

#[tokio::test]
async fn design_5_3_unknown_number_wrong_password_and_throttle_run_the_same_steps() {
    let verifies = Arc::new(AtomicUsize::new(0));
    let ops = Arc::new(Mutex::new(Vec::new()));
    let (v, o) = (verifies.clone(), ops.clone());
    let server = TestServer::start_watched(
        |raw| raw.policy.limits.per_account = "2/1h".into(),
        move |deps| {
            deps.hasher = Arc::new(CountingHasher {
                inner: deps.hasher.clone(),
                verifies: v,
            });
            deps.state = Arc::new(RecordingState {
                inner: deps.state.clone(),
                ops: o,
            });
        },
    )
    .await
    .unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let mut pending = record("33333333", MAIL).unwrap();
    pending.password_hash = None;
    server.add(pending).await.unwrap();
    let browser = Browser::new(&server.issuer).unwrap();

    // One password POST (and the page it leads to): the verifications and state steps.
    let attempt = async |number: &str, password: &str| {
        let page = login_page(&server, &browser).await;
        let (hashes, steps) = (verifies.load(Ordering::SeqCst), ops.lock().unwrap().len());
        let answer = password_step(&browser, &page, number, password)
            .await
            .unwrap();
        let done = ops.lock().unwrap()[steps..].to_vec();
        (
            answer.notice(),
            verifies.load(Ordering::SeqCst) - hashes,
            done,
        )
    };
    let unknown = attempt("99999999", WRONG).await;
    let wrong = attempt("12345678", WRONG).await;
    attempt("12345678", WRONG).await;
    let throttled = attempt("12345678", TEST_PASSWORD).await;
    let without_password = attempt("33333333", TEST_PASSWORD).await;

    assert_eq!(unknown.0.as_deref(), Some("invalid_credentials"));
    assert_eq!(
        unknown.1, 1,
        "a dummy hash is verified for an unknown number"
    );
    assert!(unknown.2.contains(&"incr password-failures".to_owned()));
    for (name, other) in [
        ("wrong password", &wrong),
        ("throttled", &throttled),
        ("no password yet", &without_password),
    ] {
        assert_eq!(other, &unknown, "{name} differs from an unknown number");
    }
    server.stop().await;
}

#[tokio::test]
async fn design_5_4_a_browser_the_number_knows_asks_for_its_reset_whatever_its_address_did() {
    let server = TestServer::start_with(trusting_loopback("2/1h"))
        .await
        .unwrap();
    server.add(record("12345678", MAIL).unwrap()).await.unwrap();
    let owner = Browser::forwarded_for(&server.issuer, "198.51.100.7").unwrap();
    let rp = Rp::discover(&server).await.unwrap();
    rp::login(&server, &owner, &rp.start(&[]).url, "12345678", MAIL)
        .await
        .unwrap();
    // Someone behind the same address uses up its share of requests.
    let robot = Browser::forwarded_for(&server.issuer, "198.51.100.7").unwrap();
    for number in ["11111111", "22222222", "33333333"] {
        let page = robot.get(&server.url("/reset")).await.unwrap();
        robot
            .submit(&page, "/reset", &[("number", number), ("contact", MAIL)])
            .await
            .unwrap();
    }
    let page = owner.get(&server.url("/reset")).await.unwrap();
    owner
        .submit(
            &page,
            "/reset",
            &[("number", "12345678"), ("contact", MAIL)],
        )
        .await
        .unwrap();
    let mut found = false;
    for _ in 0..3 {
        let mail = server.smtp.wait_for(MAIL, Duration::from_secs(10)).await;
        if mail.is_some_and(|m| m.body.contains("/reset/")) {
            found = true;
            break;
        }
    }
    assert!(found, "the owner's link is sent");
    server.stop().await;
}
