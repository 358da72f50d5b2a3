//! The refresh token grant (RFC 6749 §6, OIDC Core §12): tokens rotate at each use, a
//! replay after the grace period revokes the family (RFC 9700 §4.14.2).

use sesame_protocol::error::TokenErrorCode as Code;
use sesame_protocol::token::{RawTokenRequest, TokenResponse};

use super::token::{Issue, refuse};
use super::{Provider, ServiceError, TokenError};
use crate::audit::AuditKind;
use crate::client::Client;
use crate::crypto::token_digest;
use crate::session::SsoSession;
use crate::state::get_json;
use crate::store::RefreshToken;
use crate::tokens::Authentication;

impl Provider {
    pub(crate) async fn refresh(
        &self,
        client: &Client,
        form: &RawTokenRequest,
    ) -> Result<TokenResponse, TokenError> {
        let token = form
            .refresh_token
            .as_deref()
            .ok_or_else(|| refuse(Code::InvalidRequest, "refresh_token is required"))?;
        let digest = token_digest(token);
        let found = self
            .deps
            .refresh_tokens
            .get(&digest)
            .await
            .map_err(ServiceError::from)?;
        let record = found
            .filter(|r| r.client_id == client.id)
            .ok_or_else(dead)?;
        let now = self.now();
        if record.expires_at <= now {
            return Err(dead());
        }
        let grant = self.grant_is_alive(record.grant_id).await?;
        if !grant.offline && !self.session_alive(grant.session_id.as_deref()).await? {
            return Err(refuse(Code::InvalidGrant, "the login session has ended"));
        }
        let scopes = narrowed_scopes(&record, form.scope.as_deref())?;
        if !self
            .deps
            .refresh_tokens
            .mark_used(&digest, now)
            .await
            .map_err(ServiceError::from)?
        {
            self.reused(&digest, &record).await?;
        }
        let issue = Issue {
            client,
            grant_id: record.grant_id,
            scopes,
            auth: Authentication {
                participant: record.participant,
                auth_time: record.auth_time,
                acr: record.acr,
                amr: record.amr.clone(),
                sid: record.sid.clone(),
            },
            nonce: None,
            claims: None,
            refresh: true,
        };
        self.issue_tokens(issue).await
    }

    /// A token already used: fine within the grace period (two tabs refreshing at once),
    /// else a replay that revokes the whole family.
    async fn reused(&self, digest: &str, record: &RefreshToken) -> Result<(), TokenError> {
        let current = self
            .deps
            .refresh_tokens
            .get(digest)
            .await
            .map_err(ServiceError::from)?;
        let used_at = current.and_then(|r| r.used_at).or(record.used_at);
        let within_grace =
            used_at.is_some_and(|at| self.now() - at <= self.policy.tokens.refresh_grace);
        if within_grace {
            return Ok(());
        }
        self.deps
            .grants
            .revoke(record.grant_id, self.now())
            .await
            .map_err(ServiceError::from)?;
        let detail = serde_json::json!({"grant": record.grant_id});
        self.audit(
            AuditKind::RefreshReplayed,
            Some(record.participant),
            Some(&record.client_id),
            detail,
        )
        .await;
        Err(dead())
    }

    /// True while the SSO session exists and is live; does not extend it.
    pub(crate) async fn session_alive(&self, id: Option<&str>) -> Result<bool, ServiceError> {
        let Some(id) = id else { return Ok(false) };
        let session: Option<SsoSession> =
            get_json(self.deps.state.as_ref(), &format!("session:{id}")).await?;
        let Some(session) = session.filter(|s| s.is_live(&self.policy.session, self.now())) else {
            return Ok(false);
        };
        Ok(!self.ended_by_epoch(&session).await?)
    }
}

fn dead() -> TokenError {
    refuse(
        Code::InvalidGrant,
        "the refresh token is invalid, expired or revoked",
    )
}

/// RFC 6749 §6: a narrower scope may be asked for, never a wider one.
fn narrowed_scopes(record: &RefreshToken, asked: Option<&str>) -> Result<Vec<String>, TokenError> {
    let Some(asked) = asked else {
        return Ok(record.scopes.clone());
    };
    let wanted: Vec<String> = asked
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if wanted.iter().all(|s| record.scopes.contains(s)) {
        Ok(wanted)
    } else {
        Err(refuse(
            Code::InvalidScope,
            "the scope exceeds what was granted",
        ))
    }
}
