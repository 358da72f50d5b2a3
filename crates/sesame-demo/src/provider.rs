//! The provider as the demo sees it: discovery (fetched on first use and cached), the
//! authorization request, and the end of the code flow (exchange, ID token, userinfo).

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClient, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::{
    AccessToken, AdditionalProviderMetadata, AuthType, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    Scope, SubjectIdentifier, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use url::Url;

use crate::DemoRpConfig;
use crate::callback::{self, CallbackParams, CallbackRefusal, Expected};
use crate::error::DemoError;
use crate::http_client::OidcHttp;
use crate::identity::{DemoUserInfo, Identity};
use crate::sessions::PendingLogin;

/// Scopes asked for besides `openid`, which the client adds itself.
const SCOPES: [&str; 2] = ["profile", "email"];

/// Discovery fields the `openidconnect` crate does not model.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RFC 9207: the provider puts `iss` in every authorization response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

type DemoProviderMetadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A client built from discovery: the authorization endpoint is always there, the token and
/// userinfo endpoints are optional in the metadata.
type DemoClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The demo's configuration, parsed.
#[derive(Debug)]
pub struct Settings {
    issuer: IssuerUrl,
    redirect_uri: RedirectUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
}

impl Settings {
    /// Parses the issuer and the redirect URI (`base_url` + `/callback`).
    pub fn from_config(config: &DemoRpConfig) -> Result<Self, url::ParseError> {
        let base = config.base_url.trim_end_matches('/');
        Ok(Self {
            issuer: IssuerUrl::new(config.issuer.clone())?,
            redirect_uri: RedirectUrl::new(format!("{base}/callback"))?,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: ClientSecret::new(config.client_secret.clone()),
        })
    }
}

/// The provider, discovered on first use.
pub struct Provider {
    config: DemoRpConfig,
    discovered: RwLock<Option<Arc<Connected>>>,
}

impl Provider {
    /// A provider not contacted yet.
    pub fn new(config: DemoRpConfig) -> Self {
        Self {
            config,
            discovered: RwLock::new(None),
        }
    }

    /// The discovered provider, fetching discovery and the JWKS if not done yet. A failure is
    /// not cached: the next request tries again.
    pub async fn connected(&self) -> Result<Arc<Connected>, DemoError> {
        if let Some(connected) = self.discovered.read().await.as_ref() {
            return Ok(Arc::clone(connected));
        }
        let mut slot = self.discovered.write().await;
        if let Some(connected) = slot.as_ref() {
            return Ok(Arc::clone(connected));
        }
        let connected = Arc::new(Connected::discover(&self.config).await?);
        *slot = Some(Arc::clone(&connected));
        Ok(connected)
    }

    /// Drops the cached discovery, so that the next login reads it (and the keys) again.
    pub async fn forget(&self) {
        *self.discovered.write().await = None;
    }
}

/// A discovered provider and the client built from its metadata.
pub struct Connected {
    http: OidcHttp,
    client: DemoClient,
    issuer: IssuerUrl,
    iss_required: bool,
}

impl Connected {
    async fn discover(config: &DemoRpConfig) -> Result<Self, DemoError> {
        let settings = Settings::from_config(config).map_err(|err| {
            tracing::error!("demo RP configuration is invalid: {}", with_causes(&err));
            DemoError::Misconfigured
        })?;
        let http = OidcHttp::new().map_err(|err| {
            tracing::error!(
                "cannot build the demo RP's HTTP client: {}",
                with_causes(&err)
            );
            DemoError::Unavailable
        })?;
        let metadata = DemoProviderMetadata::discover_async(settings.issuer.clone(), &http)
            .await
            .map_err(|err| {
                tracing::warn!("discovery failed: {}", with_causes(&err));
                DemoError::Unavailable
            })?;
        Ok(Self::from_metadata(http, settings, metadata))
    }

    fn from_metadata(http: OidcHttp, settings: Settings, metadata: DemoProviderMetadata) -> Self {
        let extra = metadata.additional_metadata();
        let iss_required = extra.authorization_response_iss_parameter_supported == Some(true);
        let client = CoreClient::from_provider_metadata(
            metadata,
            settings.client_id,
            Some(settings.client_secret),
        )
        .set_redirect_uri(settings.redirect_uri)
        .set_auth_type(AuthType::BasicAuth);
        Self {
            http,
            client,
            issuer: settings.issuer,
            iss_required,
        }
    }

    /// A new authorization request (code flow, PKCE S256, fresh `state` and `nonce`) and the
    /// secrets to remember until the redirect back.
    pub fn authorization_request(&self, prompt: Option<CoreAuthPrompt>) -> (Url, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(SCOPES.map(|scope| Scope::new(scope.to_owned())))
            .set_pkce_challenge(challenge);
        if let Some(prompt) = prompt {
            request = request.add_prompt(prompt);
        }
        let (url, state, nonce) = request.url();
        (url, PendingLogin::new(state, nonce, verifier))
    }

    /// Checks the redirect back against the login in progress and returns its code.
    pub fn check_callback(
        &self,
        params: &CallbackParams,
        pending: &PendingLogin,
    ) -> Result<AuthorizationCode, CallbackRefusal> {
        let expected = Expected {
            state: &pending.state,
            issuer: self.issuer.as_str(),
            iss_required: self.iss_required,
        };
        callback::validate(params, &expected)
    }

    /// Exchanges the code, verifies the ID token (signature, issuer, audience, expiry,
    /// nonce), then asks userinfo about the same subject.
    pub async fn finish_login(
        &self,
        code: AuthorizationCode,
        pending: PendingLogin,
    ) -> Result<Identity, DemoError> {
        let tokens = self.exchange(code, pending.pkce_verifier).await?;
        let id_token = tokens.id_token().ok_or_else(|| {
            tracing::warn!("the token response has no id_token");
            DemoError::BadProviderAnswer
        })?;
        let verifier = self.client.id_token_verifier();
        let claims = id_token.claims(&verifier, &pending.nonce).map_err(|err| {
            tracing::warn!("the ID token does not verify: {}", with_causes(&err));
            DemoError::BadProviderAnswer
        })?;
        let subject = claims.subject().clone();
        let userinfo = self
            .userinfo(tokens.access_token().clone(), subject)
            .await?;
        Ok(Identity::from_claims(claims, &userinfo))
    }

    async fn exchange(
        &self,
        code: AuthorizationCode,
        pkce_verifier: PkceCodeVerifier,
    ) -> Result<CoreTokenResponse, DemoError> {
        let request = self.client.exchange_code(code).map_err(|err| {
            tracing::warn!("the provider has no token endpoint: {}", with_causes(&err));
            DemoError::BadProviderAnswer
        })?;
        request
            .set_pkce_verifier(pkce_verifier)
            .request_async(&self.http)
            .await
            .map_err(|err| {
                tracing::warn!("the code exchange failed: {}", with_causes(&err));
                DemoError::BadProviderAnswer
            })
    }

    async fn userinfo(
        &self,
        access_token: AccessToken,
        subject: SubjectIdentifier,
    ) -> Result<DemoUserInfo, DemoError> {
        let request = self
            .client
            .user_info(access_token, Some(subject))
            .map_err(|err| {
                tracing::warn!(
                    "the provider has no userinfo endpoint: {}",
                    with_causes(&err)
                );
                DemoError::BadProviderAnswer
            })?;
        request.request_async(&self.http).await.map_err(|err| {
            tracing::warn!("the userinfo call failed: {}", with_causes(&err));
            DemoError::BadProviderAnswer
        })
    }
}

/// An error and its causes on one line, for the log.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Reads `/login?prompt=…`; only the values OpenID Connect Core §3.1.2.1 defines are passed on.
pub fn parse_prompt(value: &str) -> Result<CoreAuthPrompt, DemoError> {
    match value {
        "login" => Ok(CoreAuthPrompt::Login),
        "none" => Ok(CoreAuthPrompt::None),
        "consent" => Ok(CoreAuthPrompt::Consent),
        "select_account" => Ok(CoreAuthPrompt::SelectAccount),
        _ => Err(DemoError::UnknownPrompt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> DemoRpConfig {
        DemoRpConfig {
            issuer: "http://127.0.0.1:8080".to_owned(),
            client_id: "demo".to_owned(),
            client_secret: "secret".to_owned(),
            base_url: base_url.to_owned(),
        }
    }

    #[test]
    fn the_redirect_uri_is_the_base_url_plus_callback() {
        for base in ["http://127.0.0.1:8081", "http://127.0.0.1:8081/"] {
            let settings = Settings::from_config(&config(base));
            let uri = settings.map(|s| s.redirect_uri.as_str().to_owned());
            assert_eq!(uri.ok().as_deref(), Some("http://127.0.0.1:8081/callback"));
        }
    }

    #[test]
    fn a_base_url_that_does_not_parse_is_refused() {
        assert!(Settings::from_config(&config("127.0.0.1:8081")).is_err());
    }

    #[test]
    fn only_standard_prompts_are_passed_on() {
        assert!(matches!(parse_prompt("login"), Ok(CoreAuthPrompt::Login)));
        assert!(matches!(
            parse_prompt("select_account"),
            Ok(CoreAuthPrompt::SelectAccount)
        ));
        assert!(matches!(
            parse_prompt("Login"),
            Err(DemoError::UnknownPrompt)
        ));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::fmt::Error);

    #[test]
    fn causes_are_logged_on_one_line() {
        let text = with_causes(&Outer(std::fmt::Error));
        assert_eq!(text, "outer: an error occurred when formatting an argument");
    }
}
