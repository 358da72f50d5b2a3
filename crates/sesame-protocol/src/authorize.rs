//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and its validation.
//!
//! Validation is an ordered list of checks. The first two decide whether the client and
//! its redirect URI can be trusted; until they pass, errors are shown on a page and never
//! sent to the redirect URI (RFC 6749 §4.1.2.1, RFC 9700 §4.1).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::claims::{ClaimsError, ClaimsRequest};
use crate::error::{AuthorizeErrorCode as Code, OAuthError};
use crate::pkce::CodeChallenge;
use crate::scope;

/// The parameters of an authorization request, as received and not yet trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawAuthorizationRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub registration: Option<String>,
    pub claims: Option<String>,
    pub id_token_hint: Option<String>,
    pub display: Option<String>,
    pub claims_locales: Option<String>,
}

/// A parameter appeared twice, which RFC 6749 §3.1 forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateParameter(pub String);

impl RawAuthorizationRequest {
    /// Builds the request from decoded query or form pairs. Empty values count as absent
    /// (RFC 6749 §3.1); a parameter given twice is refused; unknown ones are ignored.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, DuplicateParameter> {
        let mut raw = Self::default();
        for (name, value) in pairs {
            let Some(slot) = raw.slot(name) else { continue };
            if slot.is_some() {
                return Err(DuplicateParameter(name.clone()));
            }
            if !value.is_empty() {
                *slot = Some(value.clone());
            }
        }
        Ok(raw)
    }

    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "client_id" => &mut self.client_id,
            "redirect_uri" => &mut self.redirect_uri,
            "response_type" => &mut self.response_type,
            "response_mode" => &mut self.response_mode,
            "scope" => &mut self.scope,
            "state" => &mut self.state,
            "nonce" => &mut self.nonce,
            "code_challenge" => &mut self.code_challenge,
            "code_challenge_method" => &mut self.code_challenge_method,
            "prompt" => &mut self.prompt,
            "max_age" => &mut self.max_age,
            "login_hint" => &mut self.login_hint,
            "ui_locales" => &mut self.ui_locales,
            "acr_values" => &mut self.acr_values,
            "request" => &mut self.request,
            "request_uri" => &mut self.request_uri,
            "registration" => &mut self.registration,
            "claims" => &mut self.claims,
            "id_token_hint" => &mut self.id_token_hint,
            "display" => &mut self.display,
            "claims_locales" => &mut self.claims_locales,
            _ => return None,
        })
    }
}

/// What the validation needs to know about the client named in the request.
#[derive(Debug, Clone, Copy)]
pub struct ClientView<'a> {
    pub redirect_uris: &'a [String],
    /// A public client has no secret and must use PKCE.
    pub public: bool,
    /// A native client may use any port on a loopback redirect URI (RFC 8252 §7.3).
    pub native: bool,
    pub scopes: &'a [String],
}

/// The `prompt` values Sesame acts on (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
}

/// How the authorization response travels (OAuth 2.0 Multiple Response Types §2.1,
/// Form Post Response Mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    #[default]
    Query,
    FormPost,
}

/// A validated authorization request for the code flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<CodeChallenge>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    /// Kept only when it is an 8-digit cohort number (DESIGN §5.6).
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    pub acr_values: Vec<String>,
    #[serde(default)]
    pub response_mode: ResponseMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsRequest>,
}

/// Why a request was refused, and where the answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or the redirect URI is not trusted: show a page, never redirect.
    Page(PageError),
    /// Send the error to the validated redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError<Code>,
        response_mode: ResponseMode,
    },
}

/// Errors shown on Sesame's own page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    MissingClientId,
    UnknownClient,
    MissingRedirectUri,
    RedirectUriMismatch,
    DuplicateParameter,
}

impl PageError {
    /// A stable key for the message files and logs.
    pub fn key(self) -> &'static str {
        match self {
            Self::MissingClientId => "missing_client_id",
            Self::UnknownClient => "unknown_client",
            Self::MissingRedirectUri => "missing_redirect_uri",
            Self::RedirectUriMismatch => "redirect_uri_mismatch",
            Self::DuplicateParameter => "duplicate_parameter",
        }
    }
}

/// Validates a request for a client already looked up by `raw.client_id`.
pub fn validate(
    raw: &RawAuthorizationRequest,
    client: Option<ClientView<'_>>,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let (client_id, client) = client_is_known(raw, client)?;
    let redirect_uri = redirect_uri_is_registered(raw, &client)?;
    let response_mode = match raw.response_mode.as_deref() {
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    };
    let fail = |code: Code, why: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: raw.state.clone(),
        error: OAuthError::new(code, why),
        response_mode,
    };
    lengths_are_bounded(raw).map_err(|(c, w)| fail(c, w))?;
    no_request_objects(raw).map_err(|(c, w)| fail(c, w))?;
    response_type_is_code(raw).map_err(|(c, w)| fail(c, w))?;
    response_mode_is_supported(raw).map_err(|(c, w)| fail(c, w))?;
    let scopes = scope_has_openid(raw, &client).map_err(|(c, w)| fail(c, w))?;
    let code_challenge = pkce_is_sound(raw, &client).map_err(|(c, w)| fail(c, w))?;
    let prompt = prompt_is_consistent(raw).map_err(|(c, w)| fail(c, w))?;
    let max_age = max_age_is_number(raw).map_err(|(c, w)| fail(c, w))?;
    let claims = claims_are_sound(raw).map_err(|(c, w)| fail(c, w))?;
    Ok(AuthorizationRequest {
        client_id,
        redirect_uri,
        scopes,
        state: raw.state.clone(),
        nonce: raw.nonce.clone(),
        code_challenge,
        prompt,
        max_age,
        login_hint: raw.login_hint.clone().filter(|h| is_cohort_number(h)),
        ui_locales: words(raw.ui_locales.as_deref()),
        acr_values: words(raw.acr_values.as_deref()),
        response_mode,
        claims,
    })
}

type Check<T> = Result<T, (Code, &'static str)>;

fn client_is_known<'a>(
    raw: &RawAuthorizationRequest,
    client: Option<ClientView<'a>>,
) -> Result<(String, ClientView<'a>), AuthorizeError> {
    let id = raw
        .client_id
        .clone()
        .ok_or(AuthorizeError::Page(PageError::MissingClientId))?;
    let client = client.ok_or(AuthorizeError::Page(PageError::UnknownClient))?;
    Ok((id, client))
}

/// OIDC Core §3.1.2.1: redirect_uri is REQUIRED and MUST exactly match a registered one.
/// RFC 8252 §7.3: for native clients the port of a loopback URI is free.
fn redirect_uri_is_registered(
    raw: &RawAuthorizationRequest,
    client: &ClientView<'_>,
) -> Result<String, AuthorizeError> {
    let uri = raw
        .redirect_uri
        .clone()
        .ok_or(AuthorizeError::Page(PageError::MissingRedirectUri))?;
    if redirect_uri_allowed(client, &uri) {
        Ok(uri)
    } else {
        Err(AuthorizeError::Page(PageError::RedirectUriMismatch))
    }
}

/// True when `uri` is registered for the client, exactly or as a native loopback URI.
pub fn redirect_uri_allowed(client: &ClientView<'_>, uri: &str) -> bool {
    let exact = client.redirect_uris.iter().any(|r| r == uri);
    exact || (client.native && client.redirect_uris.iter().any(|r| same_loopback(r, uri)))
}

fn same_loopback(registered: &str, requested: &str) -> bool {
    let (Ok(mut a), Ok(mut b)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    // Only the port may differ: a URI that the parser had to rewrite (`127.1`,
    // `0x7f.0.0.1`, `/x/../cb`) is not the registered one.
    if b.as_str() != requested {
        return false;
    }
    let is_loopback =
        |u: &Url| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]"));
    if !is_loopback(&a) || !is_loopback(&b) {
        return false;
    }
    let cleared = a.set_port(None).is_ok() && b.set_port(None).is_ok();
    cleared && a == b
}

/// The longest `state` or `nonce` accepted. The request travels sealed in a cookie that
/// must stay under the browsers' 4 KB limit (DESIGN §5.7).
pub const MAX_STATE_LENGTH: usize = 512;

fn lengths_are_bounded(raw: &RawAuthorizationRequest) -> Check<()> {
    let too_long = |v: &Option<String>, max: usize| v.as_ref().is_some_and(|v| v.len() > max);
    if too_long(&raw.state, MAX_STATE_LENGTH) {
        return Err((
            Code::InvalidRequest,
            "state is too long (at most 512 characters)",
        ));
    }
    if too_long(&raw.nonce, MAX_STATE_LENGTH) {
        return Err((
            Code::InvalidRequest,
            "nonce is too long (at most 512 characters)",
        ));
    }
    let others = [
        &raw.ui_locales,
        &raw.acr_values,
        &raw.prompt,
        &raw.max_age,
        &raw.scope,
    ];
    if others.iter().any(|v| too_long(v, 256)) || too_long(&raw.claims, 2048) {
        return Err((Code::InvalidRequest, "a parameter is too long"));
    }
    Ok(())
}

/// OIDC Core §5.5: a malformed `claims` is `invalid_request`; an essential `acr` that
/// cannot be met is `unmet_authentication_requirements` (OIDC Core §5.5.1.1).
fn claims_are_sound(raw: &RawAuthorizationRequest) -> Check<Option<ClaimsRequest>> {
    let Some(text) = raw.claims.as_deref() else {
        return Ok(None);
    };
    match ClaimsRequest::parse(text) {
        Ok(claims) => Ok(Some(claims)),
        Err(ClaimsError::Malformed) => Err((
            Code::InvalidRequest,
            "claims is not a valid JSON claims request",
        )),
        Err(ClaimsError::UnmetAcr) => Err((
            Code::UnmetAuthenticationRequirements,
            "no requested acr value can be met",
        )),
    }
}

fn no_request_objects(raw: &RawAuthorizationRequest) -> Check<()> {
    if raw.request.is_some() {
        return Err((
            Code::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if raw.request_uri.is_some() {
        return Err((Code::RequestUriNotSupported, "request_uri is not supported"));
    }
    if raw.registration.is_some() {
        return Err((
            Code::RegistrationNotSupported,
            "registration is not supported",
        ));
    }
    Ok(())
}

fn response_type_is_code(raw: &RawAuthorizationRequest) -> Check<()> {
    match raw.response_type.as_deref() {
        Some("code") => Ok(()),
        None => Err((Code::InvalidRequest, "response_type is required")),
        Some(_) => Err((
            Code::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
    }
}

fn response_mode_is_supported(raw: &RawAuthorizationRequest) -> Check<()> {
    match raw.response_mode.as_deref() {
        None | Some("query" | "form_post") => Ok(()),
        Some(_) => Err((
            Code::InvalidRequest,
            "response_mode must be query or form_post",
        )),
    }
}

/// OIDC Core §3.1.2.1: "OpenID Connect requests MUST contain the openid scope value."
fn scope_has_openid(raw: &RawAuthorizationRequest, client: &ClientView<'_>) -> Check<Vec<String>> {
    let requested = raw.scope.as_deref().unwrap_or_default();
    if !requested.split(' ').any(|s| s == "openid") {
        return Err((Code::InvalidScope, "the openid scope is required"));
    }
    Ok(scope::grantable(requested, client.scopes))
}

/// RFC 7636 §4.4.1 and RFC 9700 §2.1.1: S256 only; public clients MUST use PKCE.
fn pkce_is_sound(
    raw: &RawAuthorizationRequest,
    client: &ClientView<'_>,
) -> Check<Option<CodeChallenge>> {
    let challenge = CodeChallenge::parse(
        raw.code_challenge.as_deref(),
        raw.code_challenge_method.as_deref(),
    )
    .map_err(|_| {
        (
            Code::InvalidRequest,
            "code_challenge_method must be S256 with a valid code_challenge",
        )
    })?;
    if client.public && challenge.is_none() {
        return Err((
            Code::InvalidRequest,
            "public clients must send a PKCE code_challenge",
        ));
    }
    Ok(challenge)
}

/// OIDC Core §3.1.2.1: `none` MUST NOT be combined with any other value.
fn prompt_is_consistent(raw: &RawAuthorizationRequest) -> Check<Prompt> {
    let values = words(raw.prompt.as_deref());
    let mut prompt = Prompt::default();
    for value in &values {
        match value.as_str() {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" | "select_account" => {}
            _ => return Err((Code::InvalidRequest, "unknown prompt value")),
        }
    }
    if prompt.none && values.len() > 1 {
        return Err((
            Code::InvalidRequest,
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

fn max_age_is_number(raw: &RawAuthorizationRequest) -> Check<Option<u64>> {
    raw.max_age
        .as_deref()
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| (Code::InvalidRequest, "max_age must be a number of seconds"))
        })
        .transpose()
}

/// True for exactly eight ASCII digits.
pub fn is_cohort_number(value: &str) -> bool {
    value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit())
}

fn words(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Adds response parameters to a redirect URI, keeping its own query (RFC 6749 §3.1.2).
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        // Nothing to add: the registered URI exactly, without a bare `?`.
        Ok(_) if params.is_empty() => redirect_uri.to_owned(),
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.into()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

#[cfg(test)]
#[path = "authorize_tests.rs"]
mod tests;
