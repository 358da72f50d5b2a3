//! `/authorize`: validate, then reuse a live session or start a login flow.

use sesame_protocol::authorize::{
    self, AuthorizationRequest, AuthorizeError, PageError, RawAuthorizationRequest, redirect_with,
};
use sesame_protocol::error::AuthorizeErrorCode;
use uuid::Uuid;

use super::{ErrorPage, Outcome, Provider, SealedRequest, ServiceError};
use crate::audit::AuditKind;
use crate::client::Client;
use crate::crypto::token_digest;
use crate::flow::{FlowNotice, FlowStep, LoginFlow};
use crate::session::SsoSession;
use crate::state::{get_json, put_json};
use crate::store::Grant;
use crate::tokens::IssuedCode;

/// What the browser brings with a request.
#[derive(Debug, Clone, Default)]
pub struct BrowserContext {
    /// The random value of the browser cookie.
    pub browser: String,
    /// The SSO session id from the session cookie, if any.
    pub session_id: Option<String>,
    /// The sealed request from the flow cookie, if any.
    pub sealed_cookie: Option<String>,
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
        match authorize::validate(&raw, client.as_ref().map(Client::view)) {
            Ok(request) => {
                let sealed = SealedRequest {
                    request,
                    started_at: self.now(),
                    number: None,
                };
                self.continue_request(sealed, ctx, None, None).await
            }
            Err(AuthorizeError::Page(page)) => Ok(Outcome::ErrorPage(ErrorPage::Request(page))),
            Err(AuthorizeError::Redirect {
                redirect_uri,
                state,
                error,
            }) => {
                let why = error.error_description.as_deref().unwrap_or_default();
                Ok(Outcome::Redirect(self.error_url(
                    &redirect_uri,
                    state.as_deref(),
                    error.error,
                    why,
                )))
            }
        }
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
            let url = self.issue_code(request, &session).await?;
            return Ok(Outcome::Redirect(url));
        }
        if request.prompt.none {
            // OIDC Core §3.1.2.6: prompt=none and no usable session.
            let url = self.error_url(
                &request.redirect_uri,
                request.state.as_deref(),
                AuthorizeErrorCode::LoginRequired,
                "the end-user is not logged in",
            );
            return Ok(Outcome::Redirect(url));
        }
        let number = number.or_else(|| request.login_hint.clone());
        let flow = self.start_flow(sealed, ctx, number, notice).await?;
        Ok(Outcome::Show { flow_id: flow.id })
    }

    pub(crate) fn session_satisfies(
        &self,
        session: &SsoSession,
        sealed: &SealedRequest,
        client: &Client,
    ) -> bool {
        let request = &sealed.request;
        let fresh_enough = !request.prompt.login || session.auth_time >= sealed.started_at;
        let max_age_ok = session.satisfies_max_age(request.max_age, self.now())
            || (request.max_age.is_some() && session.auth_time >= sealed.started_at);
        fresh_enough && max_age_ok && session.acr >= client.minimum_acr
    }

    async fn start_flow(
        &self,
        sealed: SealedRequest,
        ctx: &BrowserContext,
        number: Option<String>,
        notice: Option<FlowNotice>,
    ) -> Result<LoginFlow, ServiceError> {
        let flow = LoginFlow {
            id: self.deps.random.token(18),
            browser: ctx.browser.clone(),
            csrf: self.deps.random.token(18),
            request: sealed.request,
            step: FlowStep::Credentials,
            number,
            notice,
            created_at: sealed.started_at,
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
        if !session.is_live(&self.policy.session, now) {
            self.deps.state.delete(&key).await?;
            return Ok(None);
        }
        session.last_seen = now;
        let ttl = session.ttl(&self.policy.session, now);
        put_json(self.deps.state.as_ref(), &key, &session, ttl).await?;
        Ok(Some(session))
    }

    /// Issues an authorization code for a request and a session; returns the redirect.
    pub(crate) async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &SsoSession,
    ) -> Result<String, ServiceError> {
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
            participant: session.participant,
            scopes: request.scopes.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.auth_time,
            acr: session.acr,
            amr: session.amr.clone(),
            sid: self.sid_for(&session.id),
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
        self.audit(
            AuditKind::LoginSucceeded,
            Some(session.participant),
            Some(&request.client_id),
            serde_json::json!({}),
        )
        .await;
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &request.state {
            params.push(("state", state));
        }
        params.push(("iss", &self.issuer));
        Ok(redirect_with(&request.redirect_uri, &params))
    }

    /// The `sid` claim: derived from the session id, so the id itself never leaves.
    pub(crate) fn sid_for(&self, session_id: &str) -> String {
        token_digest(session_id).chars().take(22).collect()
    }

    /// An error response to a validated redirect URI, with `iss` (RFC 9207 §2).
    pub(crate) fn error_url(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        code: AuthorizeErrorCode,
        description: &str,
    ) -> String {
        let description = sesame_protocol::error::sanitize_description(description);
        let mut params = vec![
            ("error", code.as_str()),
            ("error_description", description.as_str()),
        ];
        if let Some(state) = state {
            params.push(("state", state));
        }
        params.push(("iss", &self.issuer));
        redirect_with(redirect_uri, &params)
    }

    /// Seals a flow's request for its pages and cookie (valid one day).
    pub fn seal_request(&self, flow: &LoginFlow) -> Result<String, ServiceError> {
        let sealed = SealedRequest {
            request: flow.request.clone(),
            started_at: flow.created_at,
            number: flow.number.clone(),
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
