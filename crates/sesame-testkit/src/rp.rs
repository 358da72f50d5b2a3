//! The relying party side of tests, with the `openidconnect` crate as RP teams use it.

use anyhow::{Context, anyhow};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreTokenResponse,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse as _,
};
use sesame_demo::OidcHttp;
use url::Url;

use crate::browser::{Browser, Page};
use crate::server::{CALLBACK, RP, TEST_PASSWORD, TestServer};

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// An RP with one login in progress.
pub struct Rp {
    pub client: Client,
    pub http: OidcHttp,
    pub metadata: CoreProviderMetadata,
}

/// What the RP keeps between the redirect and the callback.
pub struct Pending {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: PkceCodeVerifier,
}

/// The RP's result of a whole login.
pub struct LoggedIn {
    pub tokens: CoreTokenResponse,
    pub claims: CoreIdTokenClaims,
    pub userinfo: CoreUserInfoClaims,
}

impl Rp {
    /// Discovers the provider and builds the `rp` client.
    pub async fn discover(server: &TestServer) -> anyhow::Result<Self> {
        Self::discover_as(server, RP.0, Some(RP.1), CALLBACK).await
    }

    /// Discovers the provider for a given client.
    pub async fn discover_as(
        server: &TestServer,
        id: &str,
        secret: Option<&str>,
        redirect: &str,
    ) -> anyhow::Result<Self> {
        let http = OidcHttp::new()?;
        let issuer = IssuerUrl::new(server.issuer.clone())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .context("discovery")?;
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(id.into()),
            secret.map(|s| ClientSecret::new(s.into())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect.into())?);
        Ok(Self {
            client,
            http,
            metadata,
        })
    }

    /// Starts a login: the authorization URL with PKCE S256, state and nonce.
    pub fn start(&self, scopes: &[&str]) -> Pending {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in scopes {
            request = request.add_scope(Scope::new((*scope).into()));
        }
        let (url, state, nonce) = request.url();
        Pending {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    /// Exchanges a code, verifies the id_token and calls userinfo.
    pub async fn finish(&self, code: &str, pending: Pending) -> anyhow::Result<LoggedIn> {
        let tokens = self
            .client
            .exchange_code(AuthorizationCode::new(code.into()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow!("token exchange: {e:?}"))?;
        let id_token = tokens.id_token().ok_or_else(|| anyhow!("no id_token"))?;
        let claims = id_token
            .claims(&self.client.id_token_verifier(), &pending.nonce)?
            .clone();
        let userinfo: CoreUserInfoClaims = self
            .client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )?
            .request_async(&self.http)
            .await
            .map_err(|e| anyhow!("userinfo: {e:?}"))?;
        Ok(LoggedIn {
            tokens,
            claims,
            userinfo,
        })
    }
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Logs `number` in through the pages, reading the code from the SMTP listener; returns
/// the URL the provider sent the browser back to.
pub async fn login(
    server: &TestServer,
    browser: &Browser,
    url: &str,
    number: &str,
    email: &str,
) -> anyhow::Result<String> {
    let page = browser.get(url).await?;
    let page = password_step(browser, &page, number, TEST_PASSWORD).await?;
    let page = code_step(server, browser, &page, email).await?;
    let why = format!(
        "no redirect to the RP; page {:?} notice {:?}",
        page.screen(),
        page.notice()
    );
    page.left_to.ok_or_else(|| anyhow!(why))
}

/// Submits the login form.
pub async fn password_step(
    browser: &Browser,
    page: &Page,
    number: &str,
    password: &str,
) -> anyhow::Result<Page> {
    if page.screen().as_deref() != Some("login") {
        return Err(anyhow!(
            "expected the login page, got {:?} ({})",
            page.screen(),
            page.status
        ));
    }
    browser
        .submit(
            page,
            "/login",
            &[("number", number), ("password", password)],
        )
        .await
}

/// Reads the code from the mailbox and submits it.
pub async fn code_step(
    server: &TestServer,
    browser: &Browser,
    page: &Page,
    email: &str,
) -> anyhow::Result<Page> {
    if page.screen().as_deref() != Some("code") {
        return Err(anyhow!(
            "expected the code page, got {:?} notice {:?}",
            page.screen(),
            page.notice()
        ));
    }
    let mail = server
        .smtp
        .wait_for(email, std::time::Duration::from_secs(10))
        .await
        .ok_or_else(|| anyhow!("no e-mail"))?;
    let code =
        crate::smtp::extract_code(&mail.body).ok_or_else(|| anyhow!("no code in the e-mail"))?;
    browser
        .submit(page, "/login/code", &[("code", &code)])
        .await
}
