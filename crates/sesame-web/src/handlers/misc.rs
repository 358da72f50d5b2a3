//! Help, health, static assets and the not-found page.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::PrivateCookieJar;
use serde::Deserialize;

use super::{choose_lang, page_lang};
use crate::AppState;
use crate::client::ClientIp;
use crate::pages::{base_context, error_page, render};

/// The query of pages that can switch language.
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// The help page with the support contacts.
pub async fn help(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let wanted = query.ok().and_then(|Query(q)| q.lang);
    let (jar, chosen) = choose_lang(&state, jar, wanted.as_deref());
    let lang = chosen.unwrap_or_else(|| page_lang(&state, &jar, &headers, &[]));
    let theme = state.themes.get(None);
    let context = base_context(&state, lang, theme.name(), Some(""));
    (jar, render(&state, StatusCode::OK, "help.html", context)).into_response()
}

/// The query of `/captcha/challenge`.
#[derive(Debug, Default, Deserialize)]
pub struct ForNumber {
    #[serde(default, rename = "for")]
    number: String,
}

/// `GET /captcha/challenge?for=NUMBER`: an ALTCHA v1 challenge, harder for a number that
/// keeps failing.
pub async fn captcha(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    client: ClientIp,
    query: Result<Query<ForNumber>, QueryRejection>,
) -> Response {
    let number = query.map(|Query(q)| q.number).unwrap_or_default();
    let (_, ctx) = super::browser_at(&state, jar, client);
    match state.provider.captcha_challenge(&number, &ctx).await {
        Ok(challenge) => axum::Json(challenge).into_response(),
        Err(error) => {
            tracing::error!(%error, "captcha challenge failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database and the short-lived state answer.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let deps = state.provider.deps();
    let probe = sesame_core::CohortNumber::parse("00000000");
    let database = match probe {
        Ok(number) => deps.participants.by_number(&number).await.is_ok(),
        Err(_) => false,
    };
    let short_lived = deps.state.ping().await.is_ok();
    if database && short_lived {
        (StatusCode::OK, "ready").into_response()
    } else {
        tracing::warn!(database, short_lived, "not ready");
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// A theme's static file, falling back to the base theme.
pub async fn asset(
    State(state): State<AppState>,
    Path((theme, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(bytes) = state
        .themes
        .files()
        .read_layered(&theme, &format!("static/{file}"))
    else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mime = match file.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    };
    // Revalidated on every use, so that a new release's scripts are never mixed with a
    // page of the same release served next to old cached ones (RFC 9111 §5.2.2.4).
    let digest = sesame_core::crypto::hmac_sha256(b"asset", &bytes);
    let tag = format!("\"{}\"", sesame_core::crypto::hex(&digest[..16]));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let out = response.headers_mut();
    if !unchanged {
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    if let Ok(value) = HeaderValue::from_str(&tag) {
        out.insert(header::ETAG, value);
    }
    response
}

/// Any other path.
pub async fn not_found(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
) -> Response {
    let lang = page_lang(&state, &jar, &headers, &[]);
    error_page(&state, lang, StatusCode::NOT_FOUND, "not_found")
}
