//! The demo questionnaire site that `sesame demo` runs beside the provider.
//!
//! It stands in for the cohort's questionnaire application and is written the way an RP team
//! would write it with the `openidconnect` crate: discovery, the authorization code flow with
//! PKCE (S256), `state` and `nonce`, the code exchange with `client_secret_basic`, ID token
//! verification against the provider's JWKS, then a userinfo call. Logging out ends the
//! provider's session too (RP-Initiated Logout), and the provider can end the demo's sessions
//! by posting a logout token to `/backchannel-logout` (Back-Channel Logout). Nothing here
//! depends on the provider's own crates: the demo talks to Sesame only through the protocol.

mod backchannel;
mod callback;
mod error;
mod http_client;

pub use http_client::OidcHttp;
mod identity;
mod pages;
mod provider;
mod routes;
mod sessions;

use std::fmt;
use std::future::Future;

use anyhow::Context as _;

/// How the demo relying party reaches the provider and where it is itself served.
#[derive(Clone)]
pub struct DemoRpConfig {
    /// The provider's issuer, e.g. `http://127.0.0.1:8080`; discovery is read below it.
    pub issuer: String,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret, sent with `client_secret_basic`.
    pub client_secret: String,
    /// The demo's own base URL, e.g. `http://127.0.0.1:8081`; the redirect URI is
    /// `base_url + "/callback"`.
    pub base_url: String,
}

impl fmt::Debug for DemoRpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoRpConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// Builds the demo site's router, with its state (discovery cache, sessions) inside.
///
/// Discovery is fetched on first use, so the provider may start after this router.
pub fn router(config: DemoRpConfig) -> axum::Router {
    routes::router(config)
}

/// Serves the demo site on `listener` until `shutdown` completes.
///
/// The configuration's URLs are checked first, so a typo stops the start with a reason.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: DemoRpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    provider::Settings::from_config(&config).context("invalid demo RP configuration")?;
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown)
        .await
        .context("demo RP server failed")
}
