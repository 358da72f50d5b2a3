//! The demo site's routes and their thin handlers.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, RawQuery, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use axum_extra::extract::cookie::CookieJar;
use openidconnect::CsrfToken;
use serde::Deserialize;
use serde_json::json;

use crate::DemoRpConfig;
use crate::callback::{self, CallbackParams, CallbackRefusal};
use crate::error::DemoError;
use crate::pages;
use crate::provider::{self, Provider};
use crate::sessions::{self, SessionStore};

/// No script, no frame, styles from `/static` only; no `form-action`, which would block
/// the logout form's redirect to the provider's end_session endpoint.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

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
        .route("/backchannel-logout", post(backchannel_logout))
        .route("/static/demo.css", get(stylesheet))
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// The welcome page, or the participant's questionnaires once logged in. Back from the
/// provider's logout, with the `state` this browser was given, the welcome page says the
/// logout is done; any other `state` is ignored.
async fn home(State(app): State<AppState>, jar: CookieJar, RawQuery(query): RawQuery) -> Response {
    let id = sessions::session_id(&jar).map(str::to_owned);
    if let Some(identity) = id.as_deref().and_then(|id| app.sessions.identity(id)) {
        return pages::html(StatusCode::OK, pages::dashboard(&identity));
    }
    let returned = query.as_deref().and_then(logout_state);
    let finished = id
        .as_deref()
        .zip(returned.as_deref())
        .and_then(|(id, state)| app.sessions.finish_logout(id, state));
    let page = match finished {
        Some(true) => pages::logged_out(),
        Some(false) | None => pages::welcome(),
    };
    let page = pages::html(StatusCode::OK, page);
    match finished {
        // The cookie only named the logout, which is over.
        Some(_) => (jar.remove(sessions::removal()), page).into_response(),
        None => page,
    }
}

/// The first `state` of the query, if any.
fn logout_state(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
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
    let login = match connected.finish_login(code, pending).await {
        Ok(login) => login,
        Err(err) => {
            // The keys may have rotated or the provider restarted: read discovery again.
            app.provider.forget().await;
            return Err(err);
        }
    };
    let id = app.sessions.open(login);
    Ok((
        jar.add(sessions::cookie(id, app.secure_cookies)),
        Redirect::to("/"),
    ))
}

/// Forgets the local session, then sends the browser to the provider's
/// `end_session_endpoint` so that it ends its session too, with a fresh `state` bound to this
/// browser. Without a session or without that endpoint, returns to the welcome page.
async fn logout(State(app): State<AppState>, jar: CookieJar) -> (CookieJar, Redirect) {
    let id_token = sessions::session_id(&jar).and_then(|id| app.sessions.close(id));
    let back_home = (jar.clone().remove(sessions::removal()), Redirect::to("/"));
    let Some(id_token) = id_token else {
        return back_home;
    };
    let connected = match app.provider.connected().await {
        Ok(connected) => connected,
        Err(_) => {
            tracing::warn!("logged out locally only: the provider cannot be reached");
            return back_home;
        }
    };
    let state = CsrfToken::new_random();
    let Some(url) = connected.end_session_url(&id_token, &state) else {
        return back_home;
    };
    let id = app.sessions.start_logout(state);
    (
        jar.add(sessions::cookie(id, app.secure_cookies)),
        Redirect::to(url.as_str()),
    )
}

/// The form the provider posts to `/backchannel-logout`.
#[derive(Debug, Deserialize)]
struct BackchannelForm {
    logout_token: String,
}

/// Back-Channel Logout 1.0 §2.5–2.8: validates the logout token and ends every session it
/// names. 200 when done, 400 with `invalid_request` otherwise.
async fn backchannel_logout(
    State(app): State<AppState>,
    form: Result<Form<BackchannelForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        tracing::warn!("back-channel logout refused: no logout_token form field");
        return invalid_request();
    };
    match app.provider.check_logout_token(&form.logout_token).await {
        Ok(target) => {
            let closed = app.sessions.close_matching(&target);
            tracing::info!(closed, "back-channel logout");
            let no_store = [(header::CACHE_CONTROL, "no-store")];
            (StatusCode::OK, no_store).into_response()
        }
        Err(refusal) => {
            tracing::warn!("back-channel logout refused: {refusal}");
            invalid_request()
        }
    }
}

/// §2.8: the answer to a logout request that failed.
fn invalid_request() -> Response {
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    let body = Json(json!({ "error": "invalid_request" }));
    (StatusCode::BAD_REQUEST, no_store, body).into_response()
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
