//! `/userinfo` (OIDC Core §5.3) with bearer tokens (RFC 6750).

use serde_json::Value;

use super::{Provider, ServiceError};
use crate::keys::SigningAlg;
use crate::tokens::{AccessClaims, userinfo_claims};

/// Why a bearer token was refused (RFC 6750 §3.1).
#[derive(Debug)]
pub enum BearerError {
    /// No token, or two ways of sending one: `invalid_request`, 400.
    InvalidRequest,
    /// Forged, expired, or its grant revoked: `invalid_token`, 401.
    InvalidToken,
    Internal(ServiceError),
}

impl From<ServiceError> for BearerError {
    fn from(e: ServiceError) -> Self {
        Self::Internal(e)
    }
}

impl Provider {
    /// Checks an access token: signature, type, issuer, expiry, and that its grant lives.
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
        let grant = self
            .deps
            .grants
            .get(claims.gid)
            .await
            .map_err(ServiceError::from)?;
        match grant {
            Some(g) if g.revoked_at.is_none() => Ok(claims),
            _ => Err(BearerError::InvalidToken),
        }
    }

    /// The claims userinfo returns for a token.
    pub async fn userinfo(&self, token: &str) -> Result<Value, BearerError> {
        let claims = self.access_claims(token).await?;
        let id = uuid::Uuid::parse_str(&claims.sub).map_err(|_| BearerError::InvalidToken)?;
        let participant = self
            .deps
            .participants
            .by_id(crate::participant::ParticipantId(id))
            .await;
        let participant = participant
            .map_err(ServiceError::from)?
            .ok_or(BearerError::InvalidToken)?;
        let scopes: Vec<String> = claims.scope.split(' ').map(str::to_owned).collect();
        Ok(userinfo_claims(&participant, &scopes))
    }
}
