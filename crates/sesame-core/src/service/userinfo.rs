//! `/userinfo` (OIDC Core §5.3) with bearer tokens (RFC 6750).

use serde_json::Value;

use super::{Provider, ServiceError};
use crate::keys::SigningAlg;
use crate::tokens::{AccessClaims, profile_claims, subject};

/// Why a bearer token was refused (RFC 6750 §3.1).
#[derive(Debug)]
pub enum BearerError {
    /// No token, or two ways of sending one: `invalid_request`, 400.
    InvalidRequest,
    /// Forged, expired, revoked, or its grant revoked: `invalid_token`, 401.
    InvalidToken,
    Internal(ServiceError),
}

impl From<ServiceError> for BearerError {
    fn from(e: ServiceError) -> Self {
        Self::Internal(e)
    }
}

impl Provider {
    /// Checks an access token: signature, type, issuer, expiry, revocation, and that its
    /// grant lives.
    pub async fn access_claims(&self, token: &str) -> Result<AccessClaims, BearerError> {
        let claims = self
            .keys
            .verify(token, SigningAlg::ES256, "at+jwt")
            .ok_or(BearerError::InvalidToken)?;
        let claims: AccessClaims =
            serde_json::from_value(claims).map_err(|_| BearerError::InvalidToken)?;
        if claims.iss != self.issuer || claims.exp <= self.now().timestamp() {
            return Err(BearerError::InvalidToken);
        }
        if self
            .deps
            .state
            .get(&format!("revoked-jti:{}", claims.jti))
            .await
            .map_err(ServiceError::from)?
            .is_some()
        {
            return Err(BearerError::InvalidToken);
        }
        if let Some(gid) = claims.gid {
            let grant = self
                .deps
                .grants
                .get(gid)
                .await
                .map_err(ServiceError::from)?;
            if grant.is_none_or(|g| g.revoked_at.is_some()) {
                return Err(BearerError::InvalidToken);
            }
        }
        Ok(claims)
    }

    /// The claims userinfo returns for a token: `sub` as the client sees it, the claims of
    /// the granted scopes, and those asked for by name.
    pub async fn userinfo(&self, token: &str) -> Result<Value, BearerError> {
        let claims = self.access_claims(token).await?;
        // A client_credentials token speaks for no participant.
        let gid = claims.gid.ok_or(BearerError::InvalidToken)?;
        let grant = self
            .deps
            .grants
            .get(gid)
            .await
            .map_err(ServiceError::from)?;
        let grant = grant.ok_or(BearerError::InvalidToken)?;
        let participant = self
            .deps
            .participants
            .by_id(grant.participant)
            .await
            .map_err(ServiceError::from)?;
        let participant = participant.ok_or(BearerError::InvalidToken)?;
        let client = self
            .deps
            .clients
            .get(&claims.client_id)
            .await
            .map_err(ServiceError::from)?;
        let client = client.ok_or(BearerError::InvalidToken)?;
        let scopes: Vec<String> = claims.scope.split(' ').map(str::to_owned).collect();
        let mut out = profile_claims(&participant, &scopes, &claims.claims, &client.scopes);
        out.insert(
            "sub".into(),
            Value::String(subject(&client, participant.id, &self.pairwise_key)),
        );
        Ok(Value::Object(out))
    }
}
