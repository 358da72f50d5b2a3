//! The HTTP face of Sesame: axum routers for the protocol endpoints and the participant
//! pages, the page renderer, cookies and security headers. Handlers parse, call one
//! provider method, and render; the rules live in `sesame-core`.

pub mod client;
pub mod cookies;
mod handlers;
pub mod headers;
pub mod lang;
pub mod notices;
mod pages;
pub mod theme;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use axum_extra::extract::cookie::Key;
use sesame_core::service::Provider;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use url::Url;

use crate::cookies::CookiePolicy;
use crate::theme::Themes;

/// What the pages show besides the ceremony (DESIGN §3 `[ui]`).
#[derive(Debug, Clone, Default)]
pub struct UiSettings {
    pub home_url: Option<String>,
    pub support_phone: Option<String>,
    pub support_email: Option<String>,
    pub remember_me_default: bool,
    /// The terms of use shown by the `accept-terms` action.
    pub terms_text: Option<String>,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of [`AppState`].
pub struct Inner {
    pub provider: Arc<Provider>,
    pub themes: Arc<Themes>,
    pub cookies: CookiePolicy,
    pub key: Key,
    pub ui: UiSettings,
    /// The issuer's path, without a trailing slash (empty at the root).
    pub base_path: String,
    pub https: bool,
    /// Taken by each forgot-password or activation request carried out after its answer,
    /// so that they run one at a time.
    pub link_requests: Arc<tokio::sync::Mutex<()>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl AppState {
    /// Builds the state. `cookie_secret` must be at least 32 bytes; the cookie key is
    /// derived from it so cookies survive restarts and work across nodes.
    pub fn new(
        provider: Arc<Provider>,
        themes: Arc<Themes>,
        ui: UiSettings,
        cookie_secret: &[u8],
        trusted_proxies: Vec<ipnet::IpNet>,
    ) -> Result<Self, url::ParseError> {
        let issuer = Url::parse(provider.issuer())?;
        let base_path = issuer.path().trim_end_matches('/').to_owned();
        let key = Key::derive_from(&sesame_core::crypto::derive_key(cookie_secret, "cookies"));
        Ok(Self(Arc::new(Inner {
            cookies: CookiePolicy::for_issuer(&issuer),
            https: issuer.scheme() == "https",
            provider,
            themes,
            key,
            ui,
            base_path,
            link_requests: Arc::default(),
            trusted_proxies,
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.key.clone()
    }
}

/// The path as logs may show it: link tokens are secrets (DESIGN §5.9).
fn redacted_path(path: &str) -> String {
    const SECRET_AFTER: &[&str] = &["/verify/phone/", "/verify/email/", "/reset/", "/activate/"];
    for prefix in SECRET_AFTER {
        if let Some(at) = path.find(prefix) {
            return format!("{}{prefix}…", &path[..at]);
        }
    }
    path.to_owned()
}

/// The whole application, mounted under the issuer's path.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(handlers::protocol::discovery),
        )
        .route("/jwks", get(handlers::protocol::jwks))
        .route(
            "/authorize",
            get(handlers::protocol::authorize_get).post(handlers::protocol::authorize_post),
        )
        .route("/token", post(handlers::protocol::token))
        .route("/revoke", post(handlers::protocol::revoke))
        .route("/introspect", post(handlers::protocol::introspect))
        .route(
            "/end_session",
            get(handlers::logout::get).post(handlers::logout::post),
        )
        .route("/end_session/confirm", post(handlers::logout::confirm))
        .route(
            "/userinfo",
            get(handlers::protocol::userinfo_get).post(handlers::protocol::userinfo_post),
        )
        .route(
            "/login",
            get(handlers::login::show).post(handlers::login::password),
        )
        .route("/login/code", post(handlers::login::code))
        .route("/login/resend", post(handlers::login::resend))
        .route("/login/password", post(handlers::login::new_password))
        .route("/login/phone", post(handlers::login::phone))
        .route("/login/email", post(handlers::login::email))
        .route("/login/terms", post(handlers::login::terms))
        .route("/login/continue", post(handlers::login::proceed))
        .route("/login/restart", post(handlers::recovery::restart))
        .route(
            "/reset",
            get(handlers::recovery::reset_page).post(handlers::recovery::reset_request),
        )
        .route(
            "/reset/{token}",
            get(handlers::recovery::reset_link).post(handlers::recovery::reset_set),
        )
        .route(
            "/activate",
            get(handlers::recovery::activate_page).post(handlers::recovery::activate_request),
        )
        .route(
            "/activate/{token}",
            get(handlers::recovery::activate_link).post(handlers::recovery::activate_set),
        )
        .route(
            "/verify/phone/{token}",
            get(handlers::verify::phone_page).post(handlers::verify::phone_confirm),
        )
        .route(
            "/verify/email/{token}",
            get(handlers::verify::email_page).post(handlers::verify::email_confirm),
        )
        .route("/help", get(handlers::misc::help))
        .route("/captcha/challenge", get(handlers::misc::captcha))
        .route("/healthz", get(handlers::misc::healthz))
        .route("/readyz", get(handlers::misc::readyz))
        .route("/static/{theme}/{*file}", get(handlers::misc::asset))
        .fallback(handlers::misc::not_found);
    let https = state.https;
    let base = state.base_path.clone();
    let app = if base.is_empty() {
        routes
    } else {
        Router::new().nest(&base, routes)
    };
    app.with_state(state)
        .layer(axum::middleware::from_fn(move |req, next| headers::security_headers(https, req, next)))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
            tracing::info_span!("http", method = %req.method(), path = %redacted_path(req.uri().path()), request.id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

#[cfg(test)]
mod tests {
    use super::redacted_path;

    #[test]
    fn design_5_9_link_tokens_never_reach_the_logs() {
        assert_eq!(redacted_path("/verify/phone/abc123"), "/verify/phone/…");
        assert_eq!(redacted_path("/sesame/reset/abc"), "/sesame/reset/…");
        assert_eq!(redacted_path("/login"), "/login");
    }
}
