//! `/token` (RFC 6749 §3.2): the authorization code grant (§4.1.3, OIDC Core §3.1.3),
//! refresh tokens (§6, OIDC Core §12) and client credentials (§4.4).

use chrono::Duration;
use serde_json::Map;
use sesame_protocol::error::{OAuthError, TokenErrorCode as Code};
use sesame_protocol::token::{RawTokenRequest, TokenResponse};
use uuid::Uuid;

use super::{Provider, ServiceError};
use crate::audit::AuditKind;
use crate::client::Client;
use crate::crypto::token_digest;
use crate::keys::SigningAlg;
use crate::participant::ParticipantId;
use crate::state::{get_json, put_json, take_json};
use crate::store::RefreshToken;
use crate::tokens::{
    AccessClaims, Authentication, IdTokenInput, IssuedCode, id_token_claims, profile_claims,
    stated_acr, subject,
};

/// A refused token request: the status, the body, and whether to send a Basic challenge.
#[derive(Debug)]
pub enum TokenError {
    Refused {
        status: u16,
        body: OAuthError<Code>,
        basic_challenge: bool,
    },
    Internal(ServiceError),
}

impl From<ServiceError> for TokenError {
    fn from(e: ServiceError) -> Self {
        Self::Internal(e)
    }
}

pub(crate) fn refuse(code: Code, why: &str) -> TokenError {
    TokenError::Refused {
        status: 400,
        body: OAuthError::new(code, why),
        basic_challenge: false,
    }
}

/// Everything a token set is issued from.
pub(crate) struct Issue<'a> {
    pub client: &'a Client,
    pub grant_id: Uuid,
    pub scopes: Vec<String>,
    pub auth: Authentication,
    pub nonce: Option<String>,
    pub claims: Option<sesame_protocol::claims::ClaimsRequest>,
    /// Issue a new refresh token (client allowed, and not client_credentials).
    pub refresh: bool,
}

impl Provider {
    /// Handles a token request. `authorization` is the raw `Authorization` header.
    pub async fn token(
        &self,
        authorization: Option<&str>,
        form: &RawTokenRequest,
    ) -> Result<TokenResponse, TokenError> {
        let client = self
            .authenticate_client(
                authorization,
                form.client_id.as_deref(),
                form.client_secret.as_deref(),
            )
            .await?;
        match form.grant_type.as_deref() {
            Some("authorization_code") => self.exchange_code(&client, form).await,
            Some("refresh_token") if client.refresh_tokens => self.refresh(&client, form).await,
            Some("client_credentials") if client.client_credentials && !client.is_public() => {
                self.client_credentials(&client, form).await
            }
            Some("refresh_token" | "client_credentials") => Err(refuse(
                Code::UnauthorizedClient,
                "this client may not use this grant type",
            )),
            None => Err(refuse(Code::InvalidRequest, "grant_type is required")),
            Some(_) => Err(refuse(Code::UnsupportedGrantType, "unsupported grant_type")),
        }
    }

    async fn exchange_code(
        &self,
        client: &Client,
        form: &RawTokenRequest,
    ) -> Result<TokenResponse, TokenError> {
        let code = form
            .code
            .as_deref()
            .ok_or_else(|| refuse(Code::InvalidRequest, "code is required"))?;
        let digest = token_digest(code);
        let key = format!("code:{digest}");
        let state = self.deps.state.as_ref();
        // Checked before it is taken, so that a leaked code presented by someone else
        // cannot burn the participant's login.
        let peeked: Option<IssuedCode> = get_json(state, &key).await.map_err(ServiceError::from)?;
        let Some(record) = peeked else {
            self.replayed(&digest).await?;
            return Err(unusable_code());
        };
        code_belongs_to_client(&record, client)?;
        redirect_uri_matches(&record, form)?;
        pkce_verifies(&record, form)?;
        if self.now() - record.issued_at > self.policy.tokens.code_ttl {
            return Err(unusable_code());
        }
        let taken: Option<IssuedCode> = take_json(state, &key).await.map_err(ServiceError::from)?;
        if taken.is_none() {
            // Another exchange took it first: this is a second use.
            self.replayed(&digest).await?;
            return Err(unusable_code());
        }
        let keep = self.policy.tokens.access_token_ttl + Duration::hours(1);
        put_json(
            state,
            &format!("code-used:{digest}"),
            &record.grant_id,
            keep,
        )
        .await
        .map_err(ServiceError::from)?;
        self.grant_is_alive(record.grant_id).await?;
        let issue = Issue {
            client,
            grant_id: record.grant_id,
            scopes: record.scopes,
            auth: record.auth,
            nonce: record.nonce,
            claims: record.claims,
            refresh: client.refresh_tokens,
        };
        self.issue_tokens(issue).await
    }

    pub(crate) async fn grant_is_alive(&self, id: Uuid) -> Result<crate::store::Grant, TokenError> {
        let grant = self.deps.grants.get(id).await.map_err(ServiceError::from)?;
        grant
            .filter(|g| g.revoked_at.is_none())
            .ok_or_else(|| refuse(Code::InvalidGrant, "the grant was revoked"))
    }

    /// RFC 6749 §4.1.2: a code used twice revokes the tokens it already gave (its grant).
    async fn replayed(&self, digest: &str) -> Result<(), TokenError> {
        let state = self.deps.state.as_ref();
        let used: Option<Uuid> = get_json(state, &format!("code-used:{digest}"))
            .await
            .map_err(ServiceError::from)?;
        let Some(grant) = used else { return Ok(()) };
        self.deps
            .grants
            .revoke(grant, self.now())
            .await
            .map_err(ServiceError::from)?;
        self.audit(
            AuditKind::CodeReplayed,
            None,
            None,
            serde_json::json!({"grant": grant}),
        )
        .await;
        Ok(())
    }

    /// RFC 6749 §4.4: a token for the client itself, with no participant and no id_token.
    async fn client_credentials(
        &self,
        client: &Client,
        form: &RawTokenRequest,
    ) -> Result<TokenResponse, TokenError> {
        let requested = form.scope.as_deref().unwrap_or_default();
        let scopes: Vec<String> = sesame_protocol::scope::grantable(requested, &client.scopes)
            .into_iter()
            .filter(|s| s != "openid" && s != "offline_access")
            .collect();
        let now = self.now();
        let ttl = self.policy.tokens.access_token_ttl;
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: client.id.clone(),
            aud: self.issuer.clone(),
            client_id: client.id.clone(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            jti: self.deps.random.token(16),
            scope: scopes.join(" "),
            auth_time: None,
            acr: None,
            amr: Vec::new(),
            sid: None,
            gid: None,
            claims: Vec::new(),
        };
        let access_token = self.sign_access_token(&claims)?;
        self.audit(
            AuditKind::TokensIssued,
            None,
            Some(&client.id),
            serde_json::json!({"grant_type": "client_credentials"}),
        )
        .await;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: seconds(ttl),
            refresh_token: None,
            id_token: None,
            scope: claims.scope,
        })
    }

    pub(crate) fn sign_access_token(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let value = serde_json::to_value(claims).map_err(|_| ServiceError::Seal)?;
        Ok(self
            .keys
            .sign(SigningAlg::ES256, Some("at+jwt"), &value)
            .map_err(ServiceError::from)?)
    }

    /// Issues an access token, an id_token, and a refresh token when asked.
    pub(crate) async fn issue_tokens(&self, issue: Issue<'_>) -> Result<TokenResponse, TokenError> {
        let now = self.now();
        let client = issue.client;
        let ttl = self.policy.tokens.access_token_ttl;
        let scope = issue.scopes.join(" ");
        let sub = subject(client, issue.auth.participant, &self.pairwise_key);
        let claims_request = issue.claims.as_ref();
        let acr = stated_acr(issue.auth.acr, client.minimum_acr, claims_request);
        let access = AccessClaims {
            iss: self.issuer.clone(),
            sub: sub.clone(),
            aud: self.issuer.clone(),
            client_id: client.id.clone(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            jti: self.deps.random.token(16),
            scope: scope.clone(),
            auth_time: Some(issue.auth.auth_time.timestamp()),
            acr: Some(acr.clone()),
            amr: issue.auth.amr.clone(),
            sid: Some(issue.auth.sid.clone()),
            gid: Some(issue.grant_id),
            claims: claims_request
                .map(|c| c.userinfo.clone())
                .unwrap_or_default(),
        };
        let access_token = self.sign_access_token(&access)?;
        let extra = self
            .id_token_extra(client, issue.auth.participant, claims_request)
            .await?;
        let input = IdTokenInput {
            issuer: &self.issuer,
            client_id: &client.id,
            sub: &sub,
            auth: &issue.auth,
            acr: &acr,
            nonce: issue.nonce.as_deref(),
            access_token: &access_token,
            extra,
        };
        let id_claims = id_token_claims(input, now, self.policy.tokens.id_token_ttl);
        let id_token = self
            .keys
            .sign(client.id_token_alg, None, &id_claims)
            .map_err(ServiceError::from)?;
        let refresh_token = if issue.refresh {
            Some(self.new_refresh_token(&issue).await?)
        } else {
            None
        };
        self.audit(
            AuditKind::TokensIssued,
            Some(issue.auth.participant),
            Some(&client.id),
            serde_json::json!({}),
        )
        .await;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: seconds(ttl),
            refresh_token,
            id_token: Some(id_token),
            scope,
        })
    }

    /// Profile claims asked for in the id_token with the `claims` parameter.
    async fn id_token_extra(
        &self,
        client: &Client,
        participant: ParticipantId,
        claims: Option<&sesame_protocol::claims::ClaimsRequest>,
    ) -> Result<Map<String, serde_json::Value>, TokenError> {
        let Some(asked) = claims.map(|c| &c.id_token).filter(|a| !a.is_empty()) else {
            return Ok(Map::new());
        };
        let found = self
            .deps
            .participants
            .by_id(participant)
            .await
            .map_err(ServiceError::from)?;
        Ok(found
            .map(|p| profile_claims(&p, &[], asked, &client.scopes))
            .unwrap_or_default())
    }

    async fn new_refresh_token(&self, issue: &Issue<'_>) -> Result<String, TokenError> {
        let token = self.deps.random.token(32);
        let now = self.now();
        let record = RefreshToken {
            digest: token_digest(&token),
            grant_id: issue.grant_id,
            client_id: issue.client.id.clone(),
            participant: issue.auth.participant,
            scopes: issue.scopes.clone(),
            auth_time: issue.auth.auth_time,
            acr: issue.auth.acr,
            amr: issue.auth.amr.clone(),
            sid: issue.auth.sid.clone(),
            created_at: now,
            expires_at: now + self.policy.tokens.refresh_token_ttl,
            used_at: None,
        };
        self.deps
            .refresh_tokens
            .insert(&record)
            .await
            .map_err(ServiceError::from)?;
        Ok(token)
    }
}

fn seconds(d: Duration) -> u64 {
    u64::try_from(d.num_seconds()).unwrap_or(0)
}

fn unusable_code() -> TokenError {
    refuse(Code::InvalidGrant, "the code is invalid, expired or used")
}

fn code_belongs_to_client(record: &IssuedCode, client: &Client) -> Result<(), TokenError> {
    if record.client_id == client.id {
        Ok(())
    } else {
        Err(refuse(
            Code::InvalidGrant,
            "the code was issued to another client",
        ))
    }
}

/// RFC 6749 §4.1.3: redirect_uri is REQUIRED when the request had one, and identical.
fn redirect_uri_matches(record: &IssuedCode, form: &RawTokenRequest) -> Result<(), TokenError> {
    if form.redirect_uri.as_deref() == Some(record.redirect_uri.as_str()) {
        Ok(())
    } else {
        Err(refuse(
            Code::InvalidGrant,
            "redirect_uri does not match the authorization request",
        ))
    }
}

/// RFC 7636 §4.6, and RFC 9700 §2.1.1: a verifier without a challenge is refused too.
fn pkce_verifies(record: &IssuedCode, form: &RawTokenRequest) -> Result<(), TokenError> {
    match (&record.code_challenge, form.code_verifier.as_deref()) {
        (None, None) => Ok(()),
        (Some(challenge), Some(verifier)) if challenge.verify(verifier) => Ok(()),
        (Some(_), Some(_)) => Err(refuse(
            Code::InvalidGrant,
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(refuse(Code::InvalidGrant, "code_verifier is required")),
        (None, Some(_)) => Err(refuse(
            Code::InvalidGrant,
            "code_verifier sent but no code_challenge was",
        )),
    }
}
