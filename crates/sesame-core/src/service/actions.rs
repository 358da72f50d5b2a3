//! Required actions (DESIGN §3): states of the login flow after the second factor, run in
//! a fixed order before any code is issued.

use serde::{Deserialize, Serialize};
use sesame_protocol::authorize::PageError;
use sesame_protocol::error::AuthorizeErrorCode;

use super::{BrowserContext, ErrorPage, FlowForm, Outcome, Provider, SealedRequest, ServiceError};
use crate::audit::AuditKind;
use crate::client::Client;
use crate::flow::{ActionStep, FlowNotice, FlowStep, LoginFlow};
use crate::notify::{Message, Notice, Recipient};
use crate::participant::{Participant, ParticipantId, RequiredAction};
use crate::password::{self, PasswordProblem};
use crate::secret::SecretString;
use crate::session::SsoSession;
use crate::state::{get_json, put_json};
use crate::tokens::subject;

/// Sessions of a participant created before `after` are dead, except `keep` (the session
/// in which the password was changed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionEpoch {
    pub after: chrono::DateTime<chrono::Utc>,
    pub keep: Option<String>,
}

impl Provider {
    /// What the participant must still do before `client` gets a code, in the fixed order.
    pub(crate) fn pending_actions(
        &self,
        participant: &Participant,
        client: &Client,
    ) -> Vec<RequiredAction> {
        let mut all: Vec<RequiredAction> = participant
            .required_actions
            .iter()
            .chain(&client.required_actions)
            .copied()
            .collect();
        all.sort();
        all.dedup();
        all.retain(|a| !self.satisfied(*a, participant));
        all
    }

    fn satisfied(&self, action: RequiredAction, p: &Participant) -> bool {
        let now = self.now();
        match action {
            RequiredAction::UpdatePassword => false,
            RequiredAction::RegisterPhone => {
                let declined = p
                    .phone_declined_at
                    .is_some_and(|at| now - at < self.policy.links.phone_reask_after);
                p.phone_verified || declined
            }
            RequiredAction::VerifyEmail => p.email_verified,
            RequiredAction::AcceptTerms => {
                let current = self.policy.terms_version.as_deref();
                current.is_none()
                    || p.terms_accepted.as_ref().map(|t| t.version.as_str()) == current
            }
        }
    }

    /// With a live session: a code at once, or the pending actions first. `prompt=none`
    /// cannot run an action: `interaction_required` (OIDC Core §3.1.2.6).
    pub(crate) async fn after_login(
        &self,
        sealed: SealedRequest,
        ctx: &BrowserContext,
        session: &SsoSession,
        client: &Client,
    ) -> Result<Outcome, ServiceError> {
        let Some(participant) = self.deps.participants.by_id(session.participant).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        if self.pending_actions(&participant, client).is_empty() {
            return Ok(Outcome::Respond(
                self.issue_code(&sealed.request, session).await?,
            ));
        }
        if sealed.request.prompt.none {
            let why = "a required action is pending";
            return Ok(Outcome::Respond(self.request_error(
                &sealed.request,
                AuthorizeErrorCode::InteractionRequired,
                why,
            )));
        }
        let flow = self
            .start_flow(
                sealed,
                ctx,
                Some(participant.number.as_str().to_owned()),
                None,
            )
            .await?;
        self.advance(flow, session).await
    }

    /// Moves a flow whose second factor is done to its next action, or answers the RP.
    pub(crate) async fn advance(
        &self,
        mut flow: LoginFlow,
        session: &SsoSession,
    ) -> Result<Outcome, ServiceError> {
        let Some(client) = self.deps.clients.get(&flow.request.client_id).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Request(
                PageError::UnknownClient,
            )));
        };
        let Some(participant) = self.deps.participants.by_id(session.participant).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        match self.pending_actions(&participant, &client).first() {
            Some(action) => {
                flow.step = FlowStep::Action(ActionStep {
                    participant: participant.id,
                    action: *action,
                    sent_to: None,
                });
                flow.notice = None;
                flow.problems.clear();
                self.save_flow(&flow).await?;
                Ok(Outcome::Show { flow_id: flow.id })
            }
            None => {
                self.deps.state.delete(&format!("flow:{}", flow.id)).await?;
                let expected = flow.hint_sub.as_deref();
                if expected
                    .is_some_and(|sub| sub != subject(&client, participant.id, &self.pairwise_key))
                {
                    // OIDC Core §3.1.2.1, §5.5.1: never tokens for another user than named.
                    let why = "the logged-in user is not the one the request named";
                    return Ok(Outcome::Respond(self.request_error(
                        &flow.request,
                        AuthorizeErrorCode::AccessDenied,
                        why,
                    )));
                }
                Ok(Outcome::Respond(
                    self.issue_code(&flow.request, session).await?,
                ))
            }
        }
    }

    /// The flow of an action page, at that action, with the live session of the same
    /// participant; otherwise the ceremony goes on from where it really is.
    pub(crate) async fn action_flow(
        &self,
        form: &FlowForm,
        ctx: &BrowserContext,
        expected: RequiredAction,
    ) -> Result<Result<(LoginFlow, ActionStep, SsoSession), Outcome>, ServiceError> {
        let flow = match self.flow_for_post(form, ctx, None).await? {
            Ok(flow) => flow,
            Err(outcome) => return Ok(Err(outcome)),
        };
        let FlowStep::Action(step) = flow.step.clone() else {
            return Ok(Err(Outcome::Show { flow_id: flow.id }));
        };
        let session = self.live_session(ctx.session_id.as_deref()).await?;
        let Some(session) = session.filter(|s| s.participant == step.participant) else {
            // The session ended meanwhile: log in again from the same request.
            return Ok(Err(self
                .recover(&self.seal_request(&flow)?, ctx, flow.number.clone())
                .await?));
        };
        if step.action != expected {
            return Ok(Err(Outcome::Show { flow_id: flow.id }));
        }
        Ok(Ok((flow, step, session)))
    }

    /// *update-password*: the current password, the new one twice (DESIGN §5.1).
    pub async fn submit_new_password(
        &self,
        form: &FlowForm,
        current: SecretString,
        new: SecretString,
        confirm: SecretString,
        ctx: &BrowserContext,
        lang: &str,
    ) -> Result<Outcome, ServiceError> {
        let (mut flow, step, session) = match self
            .action_flow(form, ctx, RequiredAction::UpdatePassword)
            .await?
        {
            Ok(found) => found,
            Err(outcome) => return Ok(outcome),
        };
        let Some(participant) = self.deps.participants.by_id(step.participant).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        let stored = participant
            .password_hash
            .clone()
            .unwrap_or_else(password::dummy_hash);
        if !self.verify_typed(current, stored.clone()).await {
            return self
                .refuse_password(flow, FlowNotice::WrongCurrentPassword, Vec::new())
                .await;
        }
        let new = password::normalize(new.expose());
        if new != password::normalize(confirm.expose()) {
            return self
                .refuse_password(flow, FlowNotice::PasswordMismatch, Vec::new())
                .await;
        }
        let mut problems = password::check_policy(
            &self.policy.password,
            &new,
            Some(participant.number.as_str()),
        );
        let new = SecretString::new(new);
        if problems.is_empty() && self.deps.hasher.verify(new.clone(), stored).await {
            problems.push(PasswordProblem::SameAsCurrent);
        }
        if !problems.is_empty() {
            return self
                .refuse_password(flow, FlowNotice::PasswordRefused, problems)
                .await;
        }
        let Some(hash) = self.deps.hasher.hash(new).await else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        self.deps
            .participants
            .set_password(participant.id, &hash, self.now())
            .await?;
        self.password_replaced(&participant, Some(&session.id), lang)
            .await?;
        self.audit(
            AuditKind::PasswordChanged,
            Some(participant.id),
            Some(&flow.request.client_id),
            serde_json::json!({}),
        )
        .await;
        flow.problems.clear();
        self.advance(flow, &session).await
    }

    async fn refuse_password(
        &self,
        mut flow: LoginFlow,
        notice: FlowNotice,
        problems: Vec<PasswordProblem>,
    ) -> Result<Outcome, ServiceError> {
        flow.problems = problems;
        flow.notice = Some(notice);
        self.save_flow(&flow).await?;
        Ok(Outcome::Show { flow_id: flow.id })
    }

    /// Verifies a typed password: as typed (imported hashes were made from the raw text),
    /// then NFKC-normalised as new passwords are (DESIGN §5.1) when that differs, so a
    /// password set here is accepted however the keyboard wrote it.
    pub(crate) async fn verify_typed(
        &self,
        typed: SecretString,
        stored: password::PasswordHash,
    ) -> bool {
        let normalized = password::normalize(typed.expose());
        let differs = normalized != typed.expose();
        if self.deps.hasher.verify(typed, stored.clone()).await {
            return true;
        }
        differs
            && self
                .deps
                .hasher
                .verify(SecretString::new(normalized), stored)
                .await
    }

    /// The page that said a link was sent: go on to the next action or the RP.
    pub async fn continue_flow(
        &self,
        form: &FlowForm,
        ctx: &BrowserContext,
    ) -> Result<Outcome, ServiceError> {
        let flow = match self.flow_for_post(form, ctx, None).await? {
            Ok(flow) => flow,
            Err(outcome) => return Ok(outcome),
        };
        let FlowStep::Action(step) = flow.step.clone() else {
            return Ok(Outcome::Show { flow_id: flow.id });
        };
        let session = self.live_session(ctx.session_id.as_deref()).await?;
        let Some(session) = session.filter(|s| s.participant == step.participant) else {
            return self
                .recover(&self.seal_request(&flow)?, ctx, flow.number.clone())
                .await;
        };
        if step.sent_to.is_none() {
            return Ok(Outcome::Show { flow_id: flow.id });
        }
        self.advance(flow, &session).await
    }

    /// Removes a done action from the participant's list.
    pub(crate) async fn done_action(
        &self,
        participant: &Participant,
        action: RequiredAction,
    ) -> Result<(), ServiceError> {
        let left: Vec<RequiredAction> = participant
            .required_actions
            .iter()
            .copied()
            .filter(|a| *a != action)
            .collect();
        self.deps
            .participants
            .set_required_actions(participant.id, &left, self.now())
            .await?;
        self.audit(
            AuditKind::ActionDone,
            Some(participant.id),
            None,
            serde_json::json!({"action": action}),
        )
        .await;
        Ok(())
    }

    /// DESIGN §5.8: a password change ends the sessions but `keep` and revokes their
    /// tokens, telling their RPs.
    pub(crate) async fn end_sessions(
        &self,
        participant: ParticipantId,
        keep: Option<&str>,
    ) -> Result<(), ServiceError> {
        let epoch = SessionEpoch {
            after: self.now(),
            keep: keep.map(str::to_owned),
        };
        let key = format!("session-epoch:{participant}");
        put_json(
            self.deps.state.as_ref(),
            &key,
            &epoch,
            self.policy.session.remember_me,
        )
        .await?;
        let revoked = self
            .deps
            .grants
            .revoke_for_participant(participant, keep, self.now())
            .await?;
        self.tell_relying_parties(&revoked).await?;
        Ok(())
    }

    /// True when a password change or reset ended this session.
    pub(crate) async fn ended_by_epoch(&self, session: &SsoSession) -> Result<bool, ServiceError> {
        let key = format!("session-epoch:{}", session.participant);
        let epoch: Option<SessionEpoch> = get_json(self.deps.state.as_ref(), &key).await?;
        Ok(epoch.is_some_and(|e| {
            session.created_at <= e.after && e.keep.as_deref() != Some(session.id.as_str())
        }))
    }

    /// Sends a notice by e-mail, if the participant has an address.
    pub(crate) async fn notify(
        &self,
        participant: &Participant,
        notice: Notice,
        lang: &str,
    ) -> Result<(), ServiceError> {
        let Some(email) = participant.email.clone() else {
            return Ok(());
        };
        let written = self.deps.notices.write(&notice, lang);
        let now = self.now();
        let message = Message {
            to: Recipient::Email(email),
            subject: written.subject,
            body: written.text,
            html: written.html,
            expires_at: now + chrono::Duration::days(2),
        };
        self.deps.outbox.enqueue(&message, now).await?;
        self.deps.outbox_signal.wake();
        Ok(())
    }
}
