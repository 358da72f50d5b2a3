//! The demo site's routes and their thin handlers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use crate::DemoRpConfig;
use crate::callback::{self, CallbackParams, CallbackRefusal};
use crate::error::DemoError;
use crate::pages;
use crate::provider::{self, Provider};
use crate::sessions::{self, SessionStore};

/// No script, no frame, forms only to this site, styles from `/static` only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("../assets/demo.css");

#[derive(Clone)]
struct AppState {
    provider: Arc<Provider>,
    sessions: Arc<SessionStore>,
    secure_cookies: bool,
}

/// Builds the router of the demo site around fresh state.
pub fn router(config: DemoRpConfig) -> Router {
    let state = AppState {
        secure_cookies: config.base_url.starts_with("https://"),
        provider: Arc::new(Provider::new(config)),
        sessions: Arc::new(SessionStore::default()),
    };
    Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/logout", post(logout))
        .route("/static/demo.css", get(stylesheet))
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// The welcome page, or the participant's questionnaires once logged in.
async fn home(State(app): State<AppState>, jar: CookieJar) -> Response {
    let identity = sessions::session_id(&jar).and_then(|id| app.sessions.identity(id));
    match identity {
        Some(identity) => pages::html(StatusCode::OK, pages::dashboard(&identity)),
        None => pages::html(StatusCode::OK, pages::welcome()),
    }
}

#[derive(Debug, Deserialize)]
struct LoginParams {
    prompt: Option<String>,
}

/// Starts a login: remembers PKCE, `state` and `nonce`, and sends the browser to the provider.
async fn login(
    State(app): State<AppState>,
    jar: CookieJar,
    Query(params): Query<LoginParams>,
) -> Result<(CookieJar, Redirect), DemoError> {
    let prompt = params
        .prompt
        .as_deref()
        .map(provider::parse_prompt)
        .transpose()?;
    let connected = app.provider.connected().await?;
    let (url, pending) = connected.authorization_request(prompt);
    let id = app.sessions.start_login(pending);
    let jar = jar.add(sessions::cookie(id, app.secure_cookies));
    Ok((jar, Redirect::to(url.as_str())))
}

/// Finishes a login: checks the redirect back, exchanges the code and opens a session.
async fn callback(
    State(app): State<AppState>,
    jar: CookieJar,
    Query(params): Query<CallbackParams>,
) -> Result<(CookieJar, Redirect), DemoError> {
    let pending = sessions::session_id(&jar).and_then(|id| app.sessions.take_pending(id));
    callback::reject_provider_error(&params)?;
    let pending = pending.ok_or(CallbackRefusal::NoLoginInProgress)?;
    let connected = app.provider.connected().await?;
    let code = connected.check_callback(&params, &pending)?;
    let identity = match connected.finish_login(code, pending).await {
        Ok(identity) => identity,
        Err(err) => {
            // The keys may have rotated or the provider restarted: read discovery again.
            app.provider.forget().await;
            return Err(err);
        }
    };
    let id = app.sessions.open(identity);
    Ok((
        jar.add(sessions::cookie(id, app.secure_cookies)),
        Redirect::to("/"),
    ))
}

/// Forgets the local session and returns to the welcome page.
async fn logout(State(app): State<AppState>, jar: CookieJar) -> (CookieJar, Redirect) {
    if let Some(id) = sessions::session_id(&jar) {
        app.sessions.close(id);
    }
    (jar.remove(sessions::removal()), Redirect::to("/"))
}

async fn stylesheet() -> impl IntoResponse {
    let headers = [
        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=3600"),
    ];
    (headers, STYLESHEET)
}

/// Every answer: not cached unless it says otherwise, and locked down for the browser.
async fn security_headers(mut response: Response) -> Response {
    let headers: &mut HeaderMap = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let policy = HeaderValue::from_static(CONTENT_SECURITY_POLICY);
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
