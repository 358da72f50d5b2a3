//! `/authorize`: validate, then reuse a live session or start a login flow.

use serde_json::Value;
use sesame_protocol::authorize::{
    self, AuthorizationRequest, AuthorizeError, PageError, RawAuthorizationRequest, ResponseMode,
    redirect_with,
};
use sesame_protocol::error::AuthorizeErrorCode;
use uuid::Uuid;

use super::{ErrorPage, Outcome, Provider, SealedRequest, ServiceError};
use crate::audit::AuditKind;
use crate::client::Client;
use crate::crypto::token_digest;
use crate::flow::{FlowNotice, FlowStep, LoginFlow};
use crate::keys::SigningAlg;
use crate::session::SsoSession;
use crate::state::{get_json, put_json};
use crate::store::Grant;
use crate::tokens::{Authentication, IssuedCode, subject};

/// What the browser brings with a request.
#[derive(Debug, Clone, Default)]
pub struct BrowserContext {
    /// The random value of the browser cookie.
    pub browser: String,
    /// The SSO session id from the session cookie, if any.
    pub session_id: Option<String>,
    /// The sealed request from the flow cookie, if any.
    pub sealed_cookie: Option<String>,
    /// The client's address, as far as trusted proxies tell (DESIGN §5.4).
    pub ip: Option<std::net::IpAddr>,
    /// The device cookie of a browser that completed logins before.
    pub device: Option<super::Device>,
}

/// An authorization response (success or error) for a validated redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(String, String)>,
}

impl AuthResponse {
    /// The redirect URI with the parameters in its query (`response_mode=query`).
    pub fn url(&self) -> String {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        redirect_with(&self.redirect_uri, &params)
    }
}

impl Provider {
    /// Handles an authorization request given as decoded query or form pairs.
    pub async fn authorize(
        &self,
        pairs: &[(String, String)],
        ctx: &BrowserContext,
    ) -> Result<Outcome, ServiceError> {
        let Ok(raw) = RawAuthorizationRequest::from_pairs(pairs) else {
            return Ok(Outcome::ErrorPage(ErrorPage::Request(
                PageError::DuplicateParameter,
            )));
        };
        let client = match raw.client_id.as_deref() {
            Some(id) => self.deps.clients.get(id).await?,
            None => None,
        };
        let request = match authorize::validate(&raw, client.as_ref().map(Client::view)) {
            Ok(request) => request,
            Err(AuthorizeError::Page(page)) => {
                return Ok(Outcome::ErrorPage(ErrorPage::Request(page)));
            }
            Err(AuthorizeError::Redirect {
                redirect_uri,
                state,
                error,
                response_mode,
            }) => {
                let why = error.error_description.as_deref().unwrap_or_default();
                let response = self.error_response(
                    &redirect_uri,
                    response_mode,
                    state.as_deref(),
                    error.error,
                    why,
                );
                return Ok(Outcome::Respond(response));
            }
        };
        let hint_sub = match raw
            .id_token_hint
            .as_deref()
            .map(|h| self.hint_subject(h, &request.client_id))
        {
            None => None,
            Some(Some(sub)) => Some(sub),
            Some(None) => {
                let why = "id_token_hint is not an id_token Sesame issued to this client";
                let response =
                    self.request_error(&request, AuthorizeErrorCode::InvalidRequest, why);
                return Ok(Outcome::Respond(response));
            }
        };
        // OIDC Core §5.5.1: a `sub` asked for by value names the user like a hint does.
        let hint_sub = hint_sub.or_else(|| request.claims.as_ref().and_then(|c| c.sub.clone()));
        let sealed = SealedRequest {
            request,
            started_at: self.now(),
            number: None,
            hint_sub,
        };
        self.continue_request(sealed, ctx, None, None).await
    }

    /// The `sub` of an id_token Sesame signed for `client_id`; expired ones count
    /// (OIDC Core §3.1.2.1: the hint may have expired).
    fn hint_subject(&self, hint: &str, client_id: &str) -> Option<String> {
        let claims = [SigningAlg::RS256, SigningAlg::ES256]
            .into_iter()
            .find_map(|alg| self.keys.verify_untyped(hint, alg))?;
        let aud_ok = match &claims["aud"] {
            Value::String(aud) => aud == client_id,
            Value::Array(list) => list.iter().any(|a| a == client_id),
            _ => false,
        };
        let iss_ok = claims["iss"] == self.issuer.as_str();
        (aud_ok && iss_ok)
            .then(|| claims["sub"].as_str().map(str::to_owned))
            .flatten()
    }

    /// Reuses a live session that satisfies the request, or starts a flow.
    pub(crate) async fn continue_request(
        &self,
        sealed: SealedRequest,
        ctx: &BrowserContext,
        number: Option<String>,
        notice: Option<FlowNotice>,
    ) -> Result<Outcome, ServiceError> {
        let request = &sealed.request;
        let Some(client) = self.deps.clients.get(&request.client_id).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Request(
                PageError::UnknownClient,
            )));
        };
        if let Some(session) = self.live_session(ctx.session_id.as_deref()).await?
            && self.session_satisfies(&session, &sealed, &client)
        {
            return self.after_login(sealed, ctx, &session, &client).await;
        }
        if request.prompt.none {
            // OIDC Core §3.1.2.6: prompt=none and no usable session.
            let why = "the end-user is not logged in";
            return Ok(Outcome::Respond(self.request_error(
                request,
                AuthorizeErrorCode::LoginRequired,
                why,
            )));
        }
        let number = number.or_else(|| request.login_hint.clone());
        let flow = self.start_flow(sealed, ctx, number, notice).await?;
        Ok(Outcome::Show { flow_id: flow.id })
    }

    /// True when the session may answer the request without a new login.
    pub(crate) fn session_satisfies(
        &self,
        session: &SsoSession,
        sealed: &SealedRequest,
        client: &Client,
    ) -> bool {
        let request = &sealed.request;
        let logged_in_since = session.auth_time >= sealed.started_at;
        let fresh_enough = !request.prompt.login || logged_in_since;
        let max_age_ok = session.satisfies_max_age(request.max_age, self.now())
            || (request.max_age.is_some() && logged_in_since);
        let same_person = sealed
            .hint_sub
            .as_ref()
            .is_none_or(|sub| *sub == subject(client, session.participant, &self.pairwise_key));
        fresh_enough && max_age_ok && same_person && session.acr >= client.minimum_acr
    }

    pub(crate) async fn start_flow(
        &self,
        sealed: SealedRequest,
        ctx: &BrowserContext,
        number: Option<String>,
        notice: Option<FlowNotice>,
    ) -> Result<LoginFlow, ServiceError> {
        let client = self.deps.clients.get(&sealed.request.client_id).await?;
        let flow = LoginFlow {
            id: self.deps.random.token(18),
            browser: ctx.browser.clone(),
            csrf: self.deps.random.token(18),
            request: sealed.request,
            step: FlowStep::Credentials,
            number,
            notice,
            created_at: sealed.started_at,
            hint_sub: sealed.hint_sub,
            problems: Vec::new(),
            theme: client.and_then(|c| c.theme),
            remember: false,
        };
        self.save_flow(&flow).await?;
        Ok(flow)
    }

    pub(crate) async fn save_flow(&self, flow: &LoginFlow) -> Result<(), ServiceError> {
        let key = format!("flow:{}", flow.id);
        put_json(self.deps.state.as_ref(), &key, flow, self.policy.flow_ttl()).await?;
        Ok(())
    }

    /// The live SSO session for a cookie value, touched so that its idle time restarts.
    pub async fn live_session(&self, id: Option<&str>) -> Result<Option<SsoSession>, ServiceError> {
        let Some(id) = id else { return Ok(None) };
        let key = format!("session:{id}");
        let Some(mut session) = get_json::<SsoSession>(self.deps.state.as_ref(), &key).await?
        else {
            return Ok(None);
        };
        let now = self.now();
        if !session.is_live(&self.policy.session, now) || self.ended_by_epoch(&session).await? {
            self.deps.state.delete(&key).await?;
            return Ok(None);
        }
        session.last_seen = now;
        let ttl = session.ttl(&self.policy.session, now);
        put_json(self.deps.state.as_ref(), &key, &session, ttl).await?;
        Ok(Some(session))
    }

    /// Issues an authorization code for a request and a session.
    pub(crate) async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &SsoSession,
    ) -> Result<AuthResponse, ServiceError> {
        let now = self.now();
        let grant = Grant {
            id: Uuid::new_v4(),
            participant: session.participant,
            client_id: request.client_id.clone(),
            scopes: request.scopes.clone(),
            session_id: Some(session.id.clone()),
            offline: request.scopes.iter().any(|s| s == "offline_access"),
            created_at: now,
            revoked_at: None,
        };
        self.deps.grants.create(&grant).await?;
        let code = self.deps.random.token(32);
        let record = IssuedCode {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scopes: request.scopes.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth: Authentication {
                participant: session.participant,
                auth_time: session.auth_time,
                acr: session.acr,
                amr: session.amr.clone(),
                sid: self.sid_for(&session.id),
            },
            claims: request.claims.clone(),
            grant_id: grant.id,
            issued_at: now,
        };
        let key = format!("code:{}", token_digest(&code));
        put_json(
            self.deps.state.as_ref(),
            &key,
            &record,
            self.policy.tokens.code_ttl,
        )
        .await?;
        let client = Some(request.client_id.as_str());
        self.audit(
            AuditKind::LoginSucceeded,
            Some(session.participant),
            client,
            serde_json::json!({}),
        )
        .await;
        let mut params = vec![("code".to_owned(), code)];
        if let Some(state) = &request.state {
            params.push(("state".to_owned(), state.clone()));
        }
        params.push(("iss".to_owned(), self.issuer.clone()));
        Ok(AuthResponse {
            redirect_uri: request.redirect_uri.clone(),
            mode: request.response_mode,
            params,
        })
    }

    /// The `sid` claim: derived from the session id, so the id itself never leaves.
    pub(crate) fn sid_for(&self, session_id: &str) -> String {
        token_digest(session_id).chars().take(22).collect()
    }

    /// An error response for a validated request.
    pub(crate) fn request_error(
        &self,
        request: &AuthorizationRequest,
        code: AuthorizeErrorCode,
        why: &str,
    ) -> AuthResponse {
        self.error_response(
            &request.redirect_uri,
            request.response_mode,
            request.state.as_deref(),
            code,
            why,
        )
    }

    /// An error response to a validated redirect URI, with `iss` (RFC 9207 §2).
    pub(crate) fn error_response(
        &self,
        redirect_uri: &str,
        mode: ResponseMode,
        state: Option<&str>,
        code: AuthorizeErrorCode,
        description: &str,
    ) -> AuthResponse {
        let description = sesame_protocol::error::sanitize_description(description);
        let mut params = vec![
            ("error".to_owned(), code.as_str().to_owned()),
            ("error_description".to_owned(), description),
        ];
        if let Some(state) = state {
            params.push(("state".to_owned(), state.to_owned()));
        }
        params.push(("iss".to_owned(), self.issuer.clone()));
        AuthResponse {
            redirect_uri: redirect_uri.to_owned(),
            mode,
            params,
        }
    }

    /// Seals a flow's request for its pages and cookie (valid one day).
    pub fn seal_request(&self, flow: &LoginFlow) -> Result<String, ServiceError> {
        let sealed = SealedRequest {
            request: flow.request.clone(),
            started_at: flow.created_at,
            number: flow.number.clone(),
            hint_sub: flow.hint_sub.clone(),
        };
        let expires = self.now() + chrono::Duration::days(1);
        self.request_sealer
            .seal(&sealed, Some(expires))
            .map_err(|_| ServiceError::Seal)
    }

    /// Opens a sealed request; `None` if forged or expired.
    pub(crate) fn open_request(&self, sealed: &str) -> Option<SealedRequest> {
        self.request_sealer.open(sealed, self.now()).ok()
    }

    /// Checks that a sealed request's client still exists with that redirect URI.
    pub(crate) async fn still_valid(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<bool, ServiceError> {
        let client = self.deps.clients.get(&request.client_id).await?;
        Ok(client
            .is_some_and(|c| authorize::redirect_uri_allowed(&c.view(), &request.redirect_uri)))
    }
}
