//! The provider as the demo sees it: discovery (fetched on first use and cached), the
//! authorization request, the end of the code flow (exchange, ID token, userinfo), and the
//! two ends of a session at the provider (RP-Initiated and Back-Channel Logout).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreSubjectIdentifierType, CoreTokenIntrospectionResponse,
    CoreTokenType,
};
use openidconnect::{
    AccessToken, AdditionalProviderMetadata, AuthType, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse as _,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl,
    Scope, StandardErrorResponse, StandardTokenResponse, SubjectIdentifier, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use url::Url;

use crate::DemoRpConfig;
use crate::backchannel::{self, LogoutTarget, LogoutTokenRefusal};
use crate::callback::{self, CallbackParams, CallbackRefusal, Expected};
use crate::error::DemoError;
use crate::http_client::OidcHttp;
use crate::identity::{DemoUserInfo, Identity, SessionClaims};
use crate::sessions::{LoggedIn, PendingLogin};

/// Scopes asked for besides `openid`, which the client adds itself.
const SCOPES: [&str; 3] = ["profile", "email", "cohort"];

/// A logout token signed with an unknown key makes the demo read discovery (and the keys)
/// again, but not more often than this.
const KEYS_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Discovery fields the `openidconnect` crate does not model.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    /// RFC 9207: the provider puts `iss` in every authorization response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// RP-Initiated Logout 1.0 §2.1: where the browser goes to end the provider's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<EndSessionUrl>,
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

/// The token response, whose ID token may carry a `sid`.
type DemoTokenResponse = StandardTokenResponse<
    IdTokenFields<
        SessionClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// A client built from discovery: the authorization endpoint is always there, the token and
/// userinfo endpoints are optional in the metadata. It is `CoreClient` but for the ID token's
/// additional claims.
type DemoClient = Client<
    SessionClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    DemoTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
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
    post_logout_redirect_uri: PostLogoutRedirectUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
}

impl Settings {
    /// Parses the issuer, the redirect URI (`base_url` + `/callback`) and the post-logout
    /// redirect URI (`base_url` + `/`).
    pub fn from_config(config: &DemoRpConfig) -> Result<Self, url::ParseError> {
        let base = config.base_url.trim_end_matches('/');
        Ok(Self {
            issuer: IssuerUrl::new(config.issuer.clone())?,
            redirect_uri: RedirectUrl::new(format!("{base}/callback"))?,
            post_logout_redirect_uri: PostLogoutRedirectUrl::new(format!("{base}/"))?,
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

    /// Validates a back-channel logout token and returns the sessions it ends. A token signed
    /// with a key the demo has not seen makes it read discovery and the keys again, once.
    pub async fn check_logout_token(
        &self,
        token: &str,
    ) -> Result<LogoutTarget, LogoutTokenRefusal> {
        let unavailable = |_| LogoutTokenRefusal::KeysUnavailable;
        let connected = self.connected().await.map_err(unavailable)?;
        match connected.check_logout_token(token) {
            Err(LogoutTokenRefusal::UnknownKey)
                if connected.discovered.elapsed() >= KEYS_REFRESH_INTERVAL =>
            {
                self.forget().await;
                let connected = self.connected().await.map_err(unavailable)?;
                connected.check_logout_token(token)
            }
            checked => checked,
        }
    }
}

/// A discovered provider and the client built from its metadata.
pub struct Connected {
    http: OidcHttp,
    client: DemoClient,
    issuer: IssuerUrl,
    iss_required: bool,
    keys: CoreJsonWebKeySet,
    end_session_endpoint: Option<EndSessionUrl>,
    post_logout_redirect_uri: PostLogoutRedirectUrl,
    discovered: Instant,
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
        let end_session_endpoint = extra.end_session_endpoint.clone();
        let keys = metadata.jwks().clone();
        let client = DemoClient::from_provider_metadata(
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
            keys,
            end_session_endpoint,
            post_logout_redirect_uri: settings.post_logout_redirect_uri,
            discovered: Instant::now(),
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
    ) -> Result<LoggedIn, DemoError> {
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
        Ok(LoggedIn {
            identity: Identity::from_claims(claims, &userinfo),
            id_token: id_token.to_string(),
            sid: claims.additional_claims().sid.clone(),
        })
    }

    /// Where to send the browser so that the provider ends its session too (RP-Initiated
    /// Logout 1.0 §2), or `None` when discovery names no `end_session_endpoint`.
    pub fn end_session_url(&self, id_token: &str, state: &CsrfToken) -> Option<Url> {
        let mut url = self.end_session_endpoint.as_ref()?.url().clone();
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("client_id", self.client.client_id().as_str())
            .append_pair(
                "post_logout_redirect_uri",
                self.post_logout_redirect_uri.as_str(),
            )
            .append_pair("state", state.secret());
        Some(url)
    }

    /// Validates a back-channel logout token against these keys (Back-Channel Logout 1.0
    /// §2.6) and returns the sessions it ends.
    pub fn check_logout_token(&self, token: &str) -> Result<LogoutTarget, LogoutTokenRefusal> {
        let expected = backchannel::Expected {
            issuer: self.issuer.as_str(),
            client_id: self.client.client_id().as_str(),
            keys: &self.keys,
            now: Utc::now(),
        };
        backchannel::validate(token, &expected)
    }

    async fn exchange(
        &self,
        code: AuthorizationCode,
        pkce_verifier: PkceCodeVerifier,
    ) -> Result<DemoTokenResponse, DemoError> {
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
    fn the_post_logout_redirect_uri_is_the_base_url_plus_slash() {
        for base in ["http://127.0.0.1:8081", "http://127.0.0.1:8081/"] {
            let settings = Settings::from_config(&config(base));
            let uri = settings.map(|s| s.post_logout_redirect_uri.as_str().to_owned());
            assert_eq!(uri.ok().as_deref(), Some("http://127.0.0.1:8081/"));
        }
    }

    #[test]
    fn the_end_session_endpoint_is_read_from_discovery() {
        let with: ExtraMetadata =
            serde_json::from_str(r#"{"end_session_endpoint":"http://op/end_session?x=1"}"#)
                .unwrap_or_default();
        let url = with.end_session_endpoint.map(|u| u.url().to_string());
        assert_eq!(url.as_deref(), Some("http://op/end_session?x=1"));
        let without: Result<ExtraMetadata, _> = serde_json::from_str("{}");
        assert!(without.is_ok_and(|m| m.end_session_endpoint.is_none()));
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
