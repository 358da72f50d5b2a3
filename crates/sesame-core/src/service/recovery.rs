//! "Mot de passe oublié" and account activation (DESIGN §1 journeys 3 and 4): one answer
//! whatever happened, a link by e-mail (or SMS, to a verified phone only), and a new
//! password under the policy.

use super::limits::Scope;
use super::links::LinkKind;
use super::{BrowserContext, Provider, ServiceError};
use crate::CohortNumber;
use crate::audit::AuditKind;
use crate::notify::{Message, Notice, Recipient};
use crate::participant::Participant;
use crate::password::{self, PasswordProblem};
use crate::phone::PhoneNumber;
use crate::secret::SecretString;

/// What the request page answers: the same whatever the account (DESIGN §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    /// The number is not eight digits: said on the form, since it reveals nothing.
    InvalidNumber,
    /// "If these details match an account, a link was sent." Nothing more to do (the
    /// number asked too often).
    Answered,
    /// The same answer; the request is then carried out with [`Provider::carry_out`],
    /// after the answer is given, so that its cost tells nothing about the account.
    Accepted(LinkRequest),
    /// The anti-robot check must be done again.
    CaptchaFailed,
}

/// A forgot-password or activation request that passed the checks every request goes
/// through; what happens next depends on the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    kind: LinkKind,
    number: CohortNumber,
    contact: String,
    context: Option<String>,
    lang: String,
}

/// What became of a new password set through a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPassword {
    /// The password breaks a rule, or the two differ: the form again.
    Refused(Vec<PasswordProblem>),
    /// Done; `context` is the sealed request to log in to, if the link carried one.
    Done { context: Option<String> },
    /// Used, expired or replaced.
    Dead,
}

impl Provider {
    /// "Mot de passe oublié": number plus e-mail or phone. The answer never says whether
    /// anything was sent; an SMS only ever goes to a verified phone.
    pub async fn forgot_password(
        &self,
        number: &str,
        contact: &str,
        captcha: &str,
        context: Option<String>,
        lang: &str,
        ctx: &BrowserContext,
    ) -> Result<RequestOutcome, ServiceError> {
        let Ok(number) = crate::CohortNumber::parse(number) else {
            return Ok(RequestOutcome::InvalidNumber);
        };
        if !self.captcha_passes(captcha, number.as_str(), ctx).await? {
            return Ok(RequestOutcome::CaptchaFailed);
        }
        if !self.address_may_request(&number, ctx).await? {
            self.throttled("reset", Scope::Ip, None, Some(ctx)).await;
            return Ok(RequestOutcome::Answered);
        }
        Ok(RequestOutcome::Accepted(LinkRequest {
            kind: LinkKind::Reset,
            number,
            contact: contact.to_owned(),
            context,
            lang: lang.to_owned(),
        }))
    }

    /// Carries out an accepted request: a link if the details match an account.
    pub async fn carry_out(&self, request: LinkRequest) -> Result<(), ServiceError> {
        match request.kind {
            LinkKind::Activate => self.activation_link(&request).await,
            _ => self.reset_link(&request).await,
        }
    }

    async fn reset_link(&self, request: &LinkRequest) -> Result<(), ServiceError> {
        let LinkRequest {
            number,
            contact,
            context,
            lang,
            ..
        } = request;
        let context = context.clone();
        let participant = self.deps.participants.by_number(number).await?;
        let Some(participant) = participant.filter(|p| p.password_hash.is_some()) else {
            return Ok(());
        };
        let ttl = self.policy.links.reset_ttl;
        let route = if contact.contains('@') {
            same_email(&participant, contact).then(|| Recipient::Email(contact.trim().to_owned()))
        } else {
            let phone = PhoneNumber::parse_mobile(contact, &self.sms_regions()).ok();
            let verified = participant.phone_verified
                && phone.as_ref().map(PhoneNumber::as_e164) == participant.phone.as_deref();
            phone
                .filter(|_| verified)
                .map(|p| Recipient::Sms(p.into_e164()))
        };
        self.audit(
            AuditKind::ResetRequested,
            Some(participant.id),
            None,
            serde_json::json!({"matched": route.is_some()}),
        )
        .await;
        let Some(to) = route else {
            return Ok(());
        };
        // Counted only when the details match: requests with wrong details send nothing,
        // and must not use up the owner's share (§5.4).
        if !self.may_request(number, "reset").await? {
            self.throttled("reset", Scope::Account, Some(participant.id), None)
                .await;
            return Ok(());
        }
        if let Recipient::Sms(e164) = &to
            && !self.phone_may_receive(e164).await?
        {
            self.throttled("reset", Scope::Phone, Some(participant.id), None)
                .await;
            return Ok(());
        }
        let token = self
            .create_link(LinkKind::Reset, participant.id, None, context, ttl)
            .await?;
        let url = format!("{}/reset/{token}", self.issuer);
        let notice = match &to {
            Recipient::Sms(_) => Notice::ResetLinkSms { url },
            _ => Notice::ResetLink {
                url,
                minutes: ttl.num_minutes(),
            },
        };
        self.send_notice(to, &notice, lang, ttl).await?;
        self.audit(
            AuditKind::ResetLinkSent,
            Some(participant.id),
            None,
            serde_json::json!({}),
        )
        .await;
        Ok(())
    }

    /// "Activer mon compte": number plus the e-mail the study knows; a link only for an
    /// account that has no password yet.
    pub async fn request_activation(
        &self,
        number: &str,
        email: &str,
        captcha: &str,
        lang: &str,
        ctx: &BrowserContext,
    ) -> Result<RequestOutcome, ServiceError> {
        let Ok(number) = crate::CohortNumber::parse(number) else {
            return Ok(RequestOutcome::InvalidNumber);
        };
        if !self.captcha_passes(captcha, number.as_str(), ctx).await? {
            return Ok(RequestOutcome::CaptchaFailed);
        }
        if !self.address_may_request(&number, ctx).await? {
            self.throttled("activation", Scope::Ip, None, Some(ctx))
                .await;
            return Ok(RequestOutcome::Answered);
        }
        Ok(RequestOutcome::Accepted(LinkRequest {
            kind: LinkKind::Activate,
            number,
            contact: email.to_owned(),
            context: None,
            lang: lang.to_owned(),
        }))
    }

    async fn activation_link(&self, request: &LinkRequest) -> Result<(), ServiceError> {
        let participant = self.deps.participants.by_number(&request.number).await?;
        let pending =
            participant.filter(|p| p.password_hash.is_none() && same_email(p, &request.contact));
        let Some(participant) = pending else {
            return Ok(());
        };
        if !self.may_request(&request.number, "activate").await? {
            self.throttled("activation", Scope::Account, Some(participant.id), None)
                .await;
            return Ok(());
        }
        self.invite(&participant, &request.lang).await?;
        Ok(())
    }

    /// Sends an activation link to a participant without a password (also `sesame user
    /// invite`); false when there is nothing to send (a password, or no e-mail).
    pub async fn invite(
        &self,
        participant: &Participant,
        lang: &str,
    ) -> Result<bool, ServiceError> {
        let Some(email) = participant
            .email
            .clone()
            .filter(|_| participant.password_hash.is_none())
        else {
            return Ok(false);
        };
        let ttl = self.policy.links.verify_ttl;
        let token = self
            .create_link(LinkKind::Activate, participant.id, None, None, ttl)
            .await?;
        let url = format!("{}/activate/{token}", self.issuer);
        let notice = Notice::ActivationLink {
            url,
            hours: ttl.num_hours(),
        };
        self.send_notice(Recipient::Email(email), &notice, lang, ttl)
            .await?;
        self.audit(
            AuditKind::ActivationLinkSent,
            Some(participant.id),
            None,
            serde_json::json!({}),
        )
        .await;
        Ok(true)
    }

    async fn send_notice(
        &self,
        to: Recipient,
        notice: &Notice,
        lang: &str,
        ttl: chrono::Duration,
    ) -> Result<(), ServiceError> {
        let written = self.deps.notices.write(notice, lang);
        let now = self.now();
        let message = Message {
            to,
            subject: written.subject,
            body: written.text,
            html: written.html,
            expires_at: now + ttl,
        };
        self.deps.outbox.enqueue(&message, now).await?;
        self.deps.outbox_signal.wake();
        Ok(())
    }

    /// Requests per number and hour, counted whether or not the number exists, so that
    /// nobody can flood a participant's mailbox (DESIGN §5.4).
    async fn may_request(
        &self,
        number: &crate::CohortNumber,
        kind: &str,
    ) -> Result<bool, ServiceError> {
        let tag = self.number_tag(number);
        let count = self
            .deps
            .state
            .incr(
                &format!("{kind}-requests:{tag}"),
                chrono::Duration::hours(1),
            )
            .await?;
        Ok(count <= u64::from(self.policy.code.max_sends_per_hour))
    }

    /// "Se connecter" after a new password: a new login from the sealed request the link
    /// carried (number kept, DESIGN §5.7).
    pub async fn restart(
        &self,
        sealed: &str,
        ctx: &super::BrowserContext,
    ) -> Result<super::Outcome, ServiceError> {
        self.resume(sealed, ctx, None, None).await
    }

    /// The page behind a reset or activation link: the participant's number while the
    /// link is live (the form names the account for password managers), else `None`.
    pub async fn password_link_number(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<Option<String>, ServiceError> {
        let participant = self.link_participant(kind, token).await?;
        Ok(participant.map(|p| p.number.as_str().to_owned()))
    }

    /// The participant a live link is for; an activation link dies once the account has
    /// a password, however it got one.
    async fn link_participant(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<Option<Participant>, ServiceError> {
        let Some(link) = self.peek_link(kind, token).await? else {
            return Ok(None);
        };
        let participant = self.deps.participants.by_id(link.participant).await?;
        Ok(participant.filter(|p| kind != LinkKind::Activate || p.password_hash.is_none()))
    }

    /// Sets a new password through a reset or activation link (DESIGN §5.8): every other
    /// session and token ends, every outstanding reset link dies, a notice goes out.
    pub async fn set_password_by_link(
        &self,
        kind: LinkKind,
        token: &str,
        new: SecretString,
        confirm: SecretString,
        lang: &str,
    ) -> Result<LinkPassword, ServiceError> {
        let Some(participant) = self.link_participant(kind, token).await? else {
            return Ok(LinkPassword::Dead);
        };
        let new = password::normalize(new.expose());
        if new != password::normalize(confirm.expose()) {
            return Ok(LinkPassword::Refused(vec![PasswordProblem::Mismatch]));
        }
        let problems = password::check_policy(
            &self.policy.password,
            &new,
            Some(participant.number.as_str()),
        );
        if !problems.is_empty() {
            return Ok(LinkPassword::Refused(problems));
        }
        // DESIGN §5.1: not the password the account already has.
        if let Some(current) = participant.password_hash.clone()
            && self
                .deps
                .hasher
                .verify(SecretString::new(new.clone()), current)
                .await
        {
            return Ok(LinkPassword::Refused(vec![PasswordProblem::SameAsCurrent]));
        }
        let Some(link) = self.use_link(kind, token).await? else {
            return Ok(LinkPassword::Dead);
        };
        let Some(hash) = self.deps.hasher.hash(SecretString::new(new)).await else {
            return Ok(LinkPassword::Dead);
        };
        self.deps
            .participants
            .set_password(participant.id, &hash, self.now())
            .await?;
        self.password_replaced(&participant, None, lang).await?;
        let event = if kind == LinkKind::Activate {
            AuditKind::Activated
        } else {
            AuditKind::PasswordReset
        };
        self.audit(event, Some(participant.id), None, serde_json::json!({}))
            .await;
        // "Se connecter" starts a login for the same RP with the number already typed.
        let context = link
            .context
            .and_then(|sealed| self.open_request(&sealed))
            .and_then(|mut request| {
                request.number = Some(participant.number.as_str().to_owned());
                let expires = self.now() + chrono::Duration::days(1);
                self.request_sealer.seal(&request, Some(expires)).ok()
            });
        Ok(LinkPassword::Done { context })
    }

    /// After any new password: the `update-password` action is done, reset links die,
    /// sessions other than `keep` end with their tokens, and a notice is sent.
    pub(crate) async fn password_replaced(
        &self,
        participant: &Participant,
        keep: Option<&str>,
        lang: &str,
    ) -> Result<(), ServiceError> {
        if participant
            .required_actions
            .contains(&crate::participant::RequiredAction::UpdatePassword)
        {
            self.done_action(
                participant,
                crate::participant::RequiredAction::UpdatePassword,
            )
            .await?;
        }
        self.deps
            .links
            .revoke_all(participant.id, LinkKind::Reset.name())
            .await?;
        self.end_sessions(participant.id, keep).await?;
        self.notify(participant, Notice::PasswordChanged, lang)
            .await
    }
}

fn same_email(participant: &Participant, typed: &str) -> bool {
    let typed = typed.trim();
    !typed.is_empty()
        && participant
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(typed))
}
