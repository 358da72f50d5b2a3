//! RP-Initiated Logout 1.0 (`/end_session`) and Back-Channel Logout 1.0: ending the SSO
//! session, revoking its grants and telling every RP of the session.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sesame_protocol::authorize::redirect_with;

use super::{BrowserContext, Provider, ServiceError};
use crate::audit::AuditKind;
use crate::client::Client;
use crate::keys::SigningAlg;
use crate::notify::{Message, Recipient};
use crate::participant::ParticipantId;
use crate::session::SsoSession;
use crate::state::get_json;
use crate::store::Grant;
use crate::tokens::{logout_token_claims, subject};

/// The parameters of a logout request (RP-Initiated Logout 1.0 §2).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub logout_hint: Option<String>,
    pub ui_locales: Option<String>,
}

/// What the web layer must do with a logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Ask the participant to confirm (the request does not prove which RP sent it).
    Confirm {
        sealed: String,
        client_name: Option<String>,
    },
    /// Logged out: go back to the RP, or show the logged-out page.
    Done { redirect: Option<String> },
    /// The request is not acceptable: an error page with this message key.
    Invalid(&'static str),
}

/// A checked request, sealed into the confirmation page.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Checked {
    redirect: Option<String>,
    /// The `sid` of a valid id_token_hint.
    hint_sid: Option<String>,
    client_name: Option<String>,
    browser: String,
}

impl Provider {
    /// Handles `/end_session` (GET or POST).
    pub async fn end_session(
        &self,
        request: &LogoutRequest,
        ctx: &BrowserContext,
    ) -> Result<LogoutOutcome, ServiceError> {
        let checked = match self.check_logout(request, ctx).await? {
            Ok(checked) => checked,
            Err(key) => return Ok(LogoutOutcome::Invalid(key)),
        };
        let session = self.live_session(ctx.session_id.as_deref()).await?;
        // §2: without a hint the OP cannot tell the request is genuine, and with a hint
        // for another session the participant must say which to end.
        let proven = checked
            .hint_sid
            .as_ref()
            .is_some_and(|sid| session.as_ref().is_none_or(|s| self.sid_for(&s.id) == *sid));
        if proven || session.is_none() {
            self.end(session).await?;
            return Ok(LogoutOutcome::Done {
                redirect: checked.redirect,
            });
        }
        let expires = self.now() + chrono::Duration::minutes(15);
        let sealed = self
            .logout_sealer
            .seal(&checked, Some(expires))
            .map_err(|_| ServiceError::Seal)?;
        Ok(LogoutOutcome::Confirm {
            sealed,
            client_name: checked.client_name,
        })
    }

    /// The participant confirmed the logout on Sesame's page.
    pub async fn confirm_logout(
        &self,
        sealed: &str,
        ctx: &BrowserContext,
    ) -> Result<LogoutOutcome, ServiceError> {
        let Ok(checked) = self.logout_sealer.open::<Checked>(sealed, self.now()) else {
            return Ok(LogoutOutcome::Invalid("expired"));
        };
        if !crate::crypto::constant_time_eq(checked.browser.as_bytes(), ctx.browser.as_bytes()) {
            return Ok(LogoutOutcome::Invalid("expired"));
        }
        let session = self.live_session(ctx.session_id.as_deref()).await?;
        self.end(session).await?;
        Ok(LogoutOutcome::Done {
            redirect: checked.redirect,
        })
    }

    /// §2: the hint must be ours; `client_id` must agree with it; the redirect URI must
    /// be registered for the client, exactly (§3).
    async fn check_logout(
        &self,
        request: &LogoutRequest,
        ctx: &BrowserContext,
    ) -> Result<Result<Checked, &'static str>, ServiceError> {
        let hint = match request.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            None => None,
            Some(token) => match self.logout_hint(token) {
                Some(claims) => Some(claims),
                None => return Ok(Err("logout_bad_hint")),
            },
        };
        let hinted_client = hint.as_ref().and_then(|c| audience(&c["aud"]));
        let named = request.client_id.clone().filter(|c| !c.is_empty());
        if let (Some(a), Some(b)) = (&hinted_client, &named)
            && a != b
        {
            return Ok(Err("logout_client_mismatch"));
        }
        let client_id = hinted_client.or(named);
        let client = match &client_id {
            Some(id) => match self.deps.clients.get(id).await? {
                Some(client) => Some(client),
                None => return Ok(Err("unknown_client")),
            },
            None => None,
        };
        let redirect = match request
            .post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(uri) => match &client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                    let state = request.state.as_deref().map(|s| ("state", s));
                    Some(redirect_with(uri, &state.into_iter().collect::<Vec<_>>()))
                }
                _ => return Ok(Err("logout_redirect_mismatch")),
            },
        };
        let hint_sid = hint
            .as_ref()
            .and_then(|c| c["sid"].as_str().map(str::to_owned));
        let client_name = client.map(|c| c.name);
        Ok(Ok(Checked {
            redirect,
            hint_sid,
            client_name,
            browser: ctx.browser.clone(),
        }))
    }

    /// The claims of an id_token Sesame issued, expired or not.
    fn logout_hint(&self, token: &str) -> Option<Value> {
        let claims = [SigningAlg::RS256, SigningAlg::ES256]
            .into_iter()
            .find_map(|alg| self.keys.verify_untyped(token, alg))?;
        (claims["iss"] == self.issuer.as_str() && claims.get("sub").is_some()).then_some(claims)
    }

    /// Ends a session: deletes it, revokes its grants, and queues a logout token for every
    /// RP of the session that registered a back-channel URI.
    async fn end(&self, session: Option<SsoSession>) -> Result<(), ServiceError> {
        let Some(session) = session else {
            return Ok(());
        };
        self.deps
            .state
            .delete(&format!("session:{}", session.id))
            .await?;
        let grants = self.deps.grants.by_session(&session.id).await?;
        let now = self.now();
        for grant in &grants {
            self.deps.grants.revoke(grant.id, now).await?;
        }
        let told = self.tell_relying_parties(&grants).await?;
        let detail = json!({"clients": told});
        self.audit(
            AuditKind::LoggedOut,
            Some(session.participant),
            None,
            detail,
        )
        .await;
        Ok(())
    }

    /// Queues a logout token for each (client, session) of `grants` whose client
    /// registered a back-channel URI; returns how many clients were concerned.
    pub(crate) async fn tell_relying_parties(
        &self,
        grants: &[Grant],
    ) -> Result<usize, ServiceError> {
        let mut told = HashSet::new();
        for grant in grants {
            let Some(session_id) = &grant.session_id else {
                continue;
            };
            if told.insert((grant.client_id.clone(), session_id.clone()))
                && let Some(client) = self.deps.clients.get(&grant.client_id).await?
            {
                self.queue_logout_token(&client, grant.participant, session_id)
                    .await?;
            }
        }
        self.deps.outbox_signal.wake();
        Ok(told.len())
    }

    /// Back-Channel Logout 1.0 §2.4: `typ: logout+jwt`, the events member, no nonce.
    async fn queue_logout_token(
        &self,
        client: &Client,
        participant: ParticipantId,
        session_id: &str,
    ) -> Result<(), ServiceError> {
        let Some(backchannel) = &client.backchannel_logout else {
            return Ok(());
        };
        let now = self.now();
        let sub = subject(client, participant, &self.pairwise_key);
        let jti = self.deps.random.token(16);
        let sid = self.sid_for(session_id);
        let claims = logout_token_claims(&self.issuer, &client.id, &sub, &sid, &jti, now);
        let token = self
            .keys
            .sign(client.id_token_alg, Some("logout+jwt"), &claims)?;
        let message = Message {
            to: Recipient::Backchannel(backchannel.uri.clone()),
            subject: client.id.clone(),
            body: token,
            html: None,
            expires_at: now + chrono::Duration::minutes(10),
        };
        self.deps.outbox.enqueue(&message, now).await?;
        Ok(())
    }

    /// The SSO session a cookie names, without touching it.
    pub async fn session_of(&self, id: Option<&str>) -> Result<Option<SsoSession>, ServiceError> {
        let Some(id) = id else { return Ok(None) };
        Ok(get_json(self.deps.state.as_ref(), &format!("session:{id}")).await?)
    }
}

fn audience(aud: &Value) -> Option<String> {
    match aud {
        Value::String(a) => Some(a.clone()),
        Value::Array(list) => list.first().and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}
