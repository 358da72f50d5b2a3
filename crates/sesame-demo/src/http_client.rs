//! The back-channel HTTP client: reqwest 0.13 behind `openidconnect`'s `AsyncHttpClient`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// How long a back-channel call (discovery, JWKS, token, userinfo) may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a back-channel call failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// The request could not be sent or its answer not read.
    #[error("HTTP transport error")]
    Transport(#[from] reqwest::Error),
    /// The answer could not be turned into an `http::Response`.
    #[error("malformed HTTP response")]
    Response(#[from] http::Error),
}

/// A reqwest client that never follows redirects, usable by `openidconnect`.
#[derive(Clone, Debug)]
pub struct OidcHttp(reqwest::Client);

impl OidcHttp {
    /// Builds the client, installing the ring crypto provider for rustls first.
    pub fn new() -> Result<Self, HttpClientError> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self(client))
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpClientError> {
        let (parts, body) = request.into_parts();
        let response = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await?;
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let body = response.bytes().await?.to_vec();
        Ok(builder.body(body)?)
    }
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = HttpClientError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// reqwest with `rustls-no-provider` panics when building a client before a provider is
/// installed; installing twice is refused, which is fine: one is in place either way.
fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}
