//! Request handlers, grouped by audience.

pub mod login;
pub mod logout;
pub mod misc;
pub mod protocol;
pub mod recovery;
pub mod verify;

use axum::http::HeaderMap;
use axum_extra::extract::cookie::PrivateCookieJar;
use sesame_core::service::{BrowserContext, Device};

use crate::AppState;
use crate::client::ClientIp;
use crate::cookies;

/// Reads the browser's cookies, minting the browser cookie when it is missing.
pub fn browser(state: &AppState, jar: PrivateCookieJar) -> (PrivateCookieJar, BrowserContext) {
    let existing = state
        .cookies
        .get(&jar, cookies::BROWSER)
        .filter(|v| v.len() >= 16);
    let (jar, browser) = match existing {
        Some(value) => (jar, value),
        None => {
            let value = sesame_core::random::Random::token(&sesame_core::random::OsRandom, 18);
            (
                jar.add(state.cookies.build(cookies::BROWSER, value.clone(), None)),
                value,
            )
        }
    };
    let ctx = BrowserContext {
        browser,
        session_id: state.cookies.get(&jar, cookies::SESSION),
        sealed_cookie: state.cookies.get(&jar, cookies::REQUEST),
        ip: None,
        device: state
            .cookies
            .get(&jar, cookies::DEVICE)
            .and_then(|v| Device::parse(&v)),
    };
    (jar, ctx)
}

/// [`browser`], for a request whose client address counts (abuse limits).
pub fn browser_at(
    state: &AppState,
    jar: PrivateCookieJar,
    client: ClientIp,
) -> (PrivateCookieJar, BrowserContext) {
    let (jar, mut ctx) = browser(state, jar);
    ctx.ip = client.0;
    (jar, ctx)
}

/// Records a language the participant picked with `?lang=`, for a year.
pub fn choose_lang(
    state: &AppState,
    jar: PrivateCookieJar,
    wanted: Option<&str>,
) -> (PrivateCookieJar, Option<&'static str>) {
    match wanted.and_then(crate::lang::supported) {
        Some(lang) => {
            let year = Some(chrono::Duration::days(365));
            (
                jar.add(state.cookies.build(cookies::LANG, lang.to_owned(), year)),
                Some(lang),
            )
        }
        None => (jar, None),
    }
}

/// The language for a page without a flow.
pub fn page_lang(
    state: &AppState,
    jar: &PrivateCookieJar,
    headers: &HeaderMap,
    ui_locales: &[String],
) -> &'static str {
    let chosen = state.cookies.get(jar, cookies::LANG);
    let accept = headers
        .get(http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    crate::lang::negotiate(chosen.as_deref(), ui_locales, accept)
}

/// Decodes a query string or form body into pairs; never fails (bad escapes are kept
/// as replacement characters).
pub fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}
