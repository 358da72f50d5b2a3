//! Token revocation (RFC 7009) and introspection (RFC 7662, with RFC 9470's `acr`,
//! `amr` and `auth_time`).

use serde_json::{Value, json};
use sesame_protocol::error::{OAuthError, TokenErrorCode as Code};
use sesame_protocol::token::RawTokenQuery;

use super::token::refuse;
use super::{Provider, ServiceError, TokenError};
use crate::audit::AuditKind;
use crate::client::Client;
use crate::crypto::token_digest;
use crate::keys::SigningAlg;
use crate::store::RefreshToken;
use crate::tokens::{AccessClaims, subject};

/// An introspection answer.
pub type Introspection = Value;

impl Provider {
    /// RFC 7009 §2.1: revokes a token of the calling client. Unknown or foreign tokens
    /// are not an error (§2.2). A refresh token takes its whole family (grant) with it.
    pub async fn revoke(
        &self,
        authorization: Option<&str>,
        form: &RawTokenQuery,
    ) -> Result<(), TokenError> {
        let client = self
            .authenticate_client(
                authorization,
                form.client_id.as_deref(),
                form.client_secret.as_deref(),
            )
            .await?;
        let token = form.token.as_deref().filter(|t| !t.is_empty());
        let token = token.ok_or_else(|| refuse(Code::InvalidRequest, "token is required"))?;
        if let Some(record) = self
            .refresh_record(token)
            .await?
            .filter(|r| r.client_id == client.id)
        {
            self.deps
                .grants
                .revoke(record.grant_id, self.now())
                .await
                .map_err(ServiceError::from)?;
            let detail = json!({"grant": record.grant_id, "type": "refresh_token"});
            self.audit(
                AuditKind::TokenRevoked,
                Some(record.participant),
                Some(&client.id),
                detail,
            )
            .await;
            return Ok(());
        }
        if let Some(claims) = self
            .own_access_token(token)
            .filter(|c| c.client_id == client.id)
        {
            let left = claims.exp - self.now().timestamp();
            if left > 0 {
                let key = format!("revoked-jti:{}", claims.jti);
                let ttl = chrono::Duration::seconds(left);
                self.deps
                    .state
                    .put(&key, b"1".to_vec(), ttl)
                    .await
                    .map_err(ServiceError::from)?;
            }
            self.audit(
                AuditKind::TokenRevoked,
                None,
                Some(&client.id),
                json!({"type": "access_token"}),
            )
            .await;
        }
        Ok(())
    }

    /// RFC 7662 §2: the state of a token, for an authenticated confidential client.
    pub async fn introspect(
        &self,
        authorization: Option<&str>,
        form: &RawTokenQuery,
    ) -> Result<Introspection, TokenError> {
        let client = self
            .authenticate_client(
                authorization,
                form.client_id.as_deref(),
                form.client_secret.as_deref(),
            )
            .await?;
        if client.is_public() {
            let body = OAuthError::new(Code::InvalidClient, "public clients cannot introspect");
            return Err(TokenError::Refused {
                status: 401,
                body,
                basic_challenge: false,
            });
        }
        let token = form.token.as_deref().filter(|t| !t.is_empty());
        let token = token.ok_or_else(|| refuse(Code::InvalidRequest, "token is required"))?;
        if self.own_access_token(token).is_some() {
            return match self.access_claims(token).await {
                Ok(claims) => Ok(access_answer(&claims)),
                Err(super::BearerError::Internal(e)) => Err(e.into()),
                Err(_) => Ok(json!({"active": false})),
            };
        }
        match self.refresh_record(token).await? {
            // A refresh token is the business of its own client only (RFC 7662 §4).
            Some(record)
                if record.client_id == client.id && self.refresh_is_active(&record).await? =>
            {
                self.refresh_answer(&record).await
            }
            _ => Ok(json!({"active": false})),
        }
    }

    async fn refresh_record(&self, token: &str) -> Result<Option<RefreshToken>, TokenError> {
        Ok(self
            .deps
            .refresh_tokens
            .get(&token_digest(token))
            .await
            .map_err(ServiceError::from)?)
    }

    /// The claims of a well-signed access token of ours, expired or not.
    fn own_access_token(&self, token: &str) -> Option<AccessClaims> {
        let claims = self.keys.verify(token, SigningAlg::ES256, "at+jwt")?;
        serde_json::from_value::<AccessClaims>(claims)
            .ok()
            .filter(|c| c.iss == self.issuer)
    }

    async fn refresh_is_active(&self, record: &RefreshToken) -> Result<bool, TokenError> {
        if record.used_at.is_some() || record.expires_at <= self.now() {
            return Ok(false);
        }
        let grant = self
            .deps
            .grants
            .get(record.grant_id)
            .await
            .map_err(ServiceError::from)?;
        let Some(grant) = grant.filter(|g| g.revoked_at.is_none()) else {
            return Ok(false);
        };
        Ok(grant.offline || self.session_alive(grant.session_id.as_deref()).await?)
    }

    async fn refresh_answer(&self, record: &RefreshToken) -> Result<Introspection, TokenError> {
        let owner: Option<Client> = self
            .deps
            .clients
            .get(&record.client_id)
            .await
            .map_err(ServiceError::from)?;
        let Some(owner) = owner else {
            return Ok(json!({"active": false}));
        };
        Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "scope": record.scopes.join(" "),
            "client_id": record.client_id,
            "sub": subject(&owner, record.participant, &self.pairwise_key),
            "iss": self.issuer,
            "iat": record.created_at.timestamp(),
            "exp": record.expires_at.timestamp(),
            "auth_time": record.auth_time.timestamp(),
            "acr": record.acr.as_str(),
            "amr": record.amr,
        }))
    }
}

fn access_answer(claims: &AccessClaims) -> Introspection {
    let mut answer = json!({
        "active": true,
        "token_type": "Bearer",
        "scope": claims.scope,
        "client_id": claims.client_id,
        "sub": claims.sub,
        "iss": claims.iss,
        "aud": claims.aud,
        "iat": claims.iat,
        "exp": claims.exp,
        "jti": claims.jti,
    });
    if let Some(map) = answer.as_object_mut() {
        if let Some(t) = claims.auth_time {
            map.insert("auth_time".into(), json!(t));
        }
        if let Some(acr) = &claims.acr {
            map.insert("acr".into(), json!(acr));
        }
        if !claims.amr.is_empty() {
            map.insert("amr".into(), json!(claims.amr));
        }
    }
    answer
}
