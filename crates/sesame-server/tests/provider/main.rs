//! End-to-end tests of the provider: the real server on a loopback port, real SQLite,
//! a real SMTP listener, forms read from the real pages, and `openidconnect` as the RP.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod actions;
mod captcha;
mod chromium;
mod cli;
mod lifecycle;
mod limits;
mod login;
mod logout;
mod options;
mod protocol;
mod recovery;
mod screens;
mod support;

use sesame_testkit::{Browser, TestServer};

/// A server with one participant, and a fresh browser.
pub async fn setup() -> (TestServer, Browser) {
    let server = TestServer::start().await.expect("server starts");
    server
        .add_participant("12345678", "jeanne@example.org")
        .await
        .expect("participant");
    let browser = Browser::new(&server.issuer).expect("browser");
    (server, browser)
}
