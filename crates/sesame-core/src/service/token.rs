//! `/token` for the authorization code grant (RFC 6749 §4.1.3, OIDC Core §3.1.3).

use chrono::Duration;
use sesame_protocol::error::{OAuthError, TokenErrorCode as Code};
use sesame_protocol::token::{ClientAuth, RawTokenRequest, TokenResponse, client_auth};

use super::{Provider, ServiceError};
use crate::audit::AuditKind;
use crate::client::{AuthMethod, Client};
use crate::crypto::token_digest;
use crate::keys::SigningAlg;
use crate::state::{get_json, put_json, take_json};
use crate::tokens::{AccessClaims, IssuedCode, id_token_claims};

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

fn refuse(code: Code, why: &str) -> TokenError {
    TokenError::Refused {
        status: 400,
        body: OAuthError::new(code, why),
        basic_challenge: false,
    }
}

impl Provider {
    /// Handles a token request. `authorization` is the raw `Authorization` header.
    pub async fn token(
        &self,
        authorization: Option<&str>,
        form: &RawTokenRequest,
    ) -> Result<TokenResponse, TokenError> {
        let client = self.authenticate_client(authorization, form).await?;
        match form.grant_type.as_deref() {
            Some("authorization_code") => self.exchange_code(&client, form).await,
            None => Err(refuse(Code::InvalidRequest, "grant_type is required")),
            Some(_) => Err(refuse(
                Code::UnsupportedGrantType,
                "only authorization_code is supported",
            )),
        }
    }

    /// RFC 6749 §2.3 and §5.2: a failed client authentication is `invalid_client`, with
    /// 401 and a challenge when the client used the Authorization header.
    async fn authenticate_client(
        &self,
        authorization: Option<&str>,
        form: &RawTokenRequest,
    ) -> Result<Client, TokenError> {
        let auth = client_auth(authorization, form).map_err(|body| TokenError::Refused {
            status: 401,
            body,
            basic_challenge: authorization.is_some(),
        })?;
        let basic = matches!(auth, ClientAuth::Basic { .. });
        let fail = |why: &str| TokenError::Refused {
            status: 401,
            body: OAuthError::new(Code::InvalidClient, why),
            basic_challenge: basic,
        };
        let client = self
            .deps
            .clients
            .get(auth.client_id())
            .await
            .map_err(ServiceError::from)?;
        let Some(client) = client else {
            return Err(fail("client authentication failed"));
        };
        let method_ok = matches!(
            (&auth, client.auth_method),
            (ClientAuth::Basic { .. }, AuthMethod::ClientSecretBasic)
                | (ClientAuth::Post { .. }, AuthMethod::ClientSecretPost)
                | (ClientAuth::None { .. }, AuthMethod::None)
        );
        let secret_ok = match (auth.secret(), &client.secret) {
            (Some(presented), Some(digest)) => digest.matches(presented),
            (None, None) => true,
            _ => false,
        };
        if method_ok && secret_ok {
            Ok(client)
        } else {
            Err(fail("client authentication failed"))
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
        let grant = self
            .deps
            .grants
            .get(record.grant_id)
            .await
            .map_err(ServiceError::from)?;
        if grant.is_none_or(|g| g.revoked_at.is_some()) {
            return Err(refuse(Code::InvalidGrant, "the grant was revoked"));
        }
        self.issue_tokens(client, &record).await
    }

    /// RFC 6749 §4.1.2: a code used twice revokes the tokens it already gave (its grant).
    async fn replayed(&self, digest: &str) -> Result<(), TokenError> {
        let state = self.deps.state.as_ref();
        let used: Option<uuid::Uuid> = get_json(state, &format!("code-used:{digest}"))
            .await
            .map_err(ServiceError::from)?;
        let Some(grant) = used else { return Ok(()) };
        self.deps
            .grants
            .revoke(grant, self.now())
            .await
            .map_err(ServiceError::from)?;
        let detail = serde_json::json!({"grant": grant});
        self.audit(AuditKind::CodeReplayed, None, None, detail)
            .await;
        Ok(())
    }

    async fn issue_tokens(
        &self,
        client: &Client,
        record: &IssuedCode,
    ) -> Result<TokenResponse, TokenError> {
        let now = self.now();
        let ttl = self.policy.tokens.access_token_ttl;
        let scope = record.scopes.join(" ");
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: record.participant.to_string(),
            aud: self.issuer.clone(),
            client_id: client.id.clone(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            jti: self.deps.random.token(16),
            scope: scope.clone(),
            auth_time: record.auth_time.timestamp(),
            acr: record.acr,
            amr: record.amr.clone(),
            gid: record.grant_id,
        };
        let claims = serde_json::to_value(&claims).map_err(|_| ServiceError::Seal)?;
        let access_token = self
            .keys
            .sign(SigningAlg::ES256, Some("at+jwt"), &claims)
            .map_err(ServiceError::from)?;
        let id_claims = id_token_claims(
            &self.issuer,
            record,
            &access_token,
            now,
            self.policy.tokens.id_token_ttl,
        );
        let id_token = self
            .keys
            .sign(client.id_token_alg, None, &id_claims)
            .map_err(ServiceError::from)?;
        self.audit(
            AuditKind::TokensIssued,
            Some(record.participant),
            Some(&client.id),
            serde_json::json!({}),
        )
        .await;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: u64::try_from(ttl.num_seconds()).unwrap_or(0),
            id_token,
            scope,
        })
    }
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
