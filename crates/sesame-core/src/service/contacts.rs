//! The contact actions: *register-phone* (with its SMS link), *verify-email*,
//! *accept-terms*, and the pages the links lead to.

use super::links::LinkKind;
use super::{BrowserContext, ErrorPage, FlowForm, Outcome, Provider, ServiceError};
use crate::audit::AuditKind;
use crate::flow::{FlowNotice, FlowStep, LoginFlow};
use crate::notify::{Message, Notice, Recipient};
use crate::participant::{RequiredAction, TermsAcceptance, mask_email};
use crate::phone::{PhoneError, PhoneNumber, Region, default_regions};

/// What became of a verification link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Verified,
    /// Used, expired, replaced by a newer one, or its target changed since.
    Dead,
}

impl Provider {
    /// Regions SMS may go to.
    pub(crate) fn sms_regions(&self) -> Vec<Region> {
        if self.policy.sms_regions.is_empty() {
            default_regions()
        } else {
            self.policy.sms_regions.clone()
        }
    }

    /// *register-phone*: the number twice, or "no mobile". A number is stored unverified
    /// and gets an SMS with a link; codes keep going by e-mail until it is confirmed.
    pub async fn submit_phone(
        &self,
        form: &FlowForm,
        phone: &str,
        confirm: &str,
        declined: bool,
        ctx: &BrowserContext,
        lang: &str,
    ) -> Result<Outcome, ServiceError> {
        let (flow, step, session) = match self
            .action_flow(form, ctx, RequiredAction::RegisterPhone)
            .await?
        {
            Ok(found) => found,
            Err(outcome) => return Ok(outcome),
        };
        if step.sent_to.is_some() {
            // A page posted again (the back button): the link is already on its way.
            return Ok(Outcome::Show { flow_id: flow.id });
        }
        let Some(participant) = self.deps.participants.by_id(step.participant).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        if declined {
            self.deps
                .participants
                .set_phone_declined(participant.id, self.now())
                .await?;
            self.done_action(&participant, RequiredAction::RegisterPhone)
                .await?;
            self.audit(
                AuditKind::PhoneDeclined,
                Some(participant.id),
                None,
                serde_json::json!({}),
            )
            .await;
            return self.advance(flow, &session).await;
        }
        let regions = self.sms_regions();
        let number = match PhoneNumber::parse_mobile(phone, &regions) {
            Ok(number) => number,
            Err(error) => return self.phone_refused(flow, error).await,
        };
        if PhoneNumber::parse_mobile(confirm, &regions).ok().as_ref() != Some(&number) {
            return self.show_notice(flow, FlowNotice::PhoneMismatch).await;
        }
        if !self.may_send_link(participant.id).await? {
            return self.show_notice(flow, FlowNotice::TooManyCodes).await;
        }
        if !self.phone_may_receive(number.as_e164()).await? {
            let scope = super::limits::Scope::Phone;
            self.throttled("phone_link", scope, Some(participant.id), Some(ctx))
                .await;
            return self.show_notice(flow, FlowNotice::TooManyCodes).await;
        }
        self.deps
            .participants
            .set_phone(participant.id, Some(number.as_e164()), false, self.now())
            .await?;
        // DESIGN §5.8: a new phone ends the other sessions, as a password change does.
        self.end_sessions(participant.id, Some(&session.id)).await?;
        self.done_action(&participant, RequiredAction::RegisterPhone)
            .await?;
        self.send_phone_link(participant.id, &number, lang).await?;
        self.notify(
            &participant,
            Notice::PhoneRegistered {
                masked: number.mask(),
            },
            lang,
        )
        .await?;
        self.audit(
            AuditKind::PhoneRegistered,
            Some(participant.id),
            None,
            serde_json::json!({}),
        )
        .await;
        self.link_sent(flow, number.mask()).await
    }

    async fn phone_refused(
        &self,
        flow: LoginFlow,
        error: PhoneError,
    ) -> Result<Outcome, ServiceError> {
        let notice = match error {
            PhoneError::Country => FlowNotice::PhoneCountry,
            PhoneError::Invalid | PhoneError::NotMobile => FlowNotice::PhoneInvalid,
        };
        self.show_notice(flow, notice).await
    }

    /// Verification links count against the hourly cap of codes (DESIGN §5.4: SMS cost).
    async fn may_send_link(
        &self,
        participant: crate::participant::ParticipantId,
    ) -> Result<bool, ServiceError> {
        let key = format!("link-sends:{participant}");
        let sends = self
            .deps
            .state
            .incr(&key, chrono::Duration::hours(1))
            .await?;
        Ok(sends <= u64::from(self.policy.code.max_sends_per_hour))
    }

    pub(crate) async fn show_notice(
        &self,
        mut flow: LoginFlow,
        notice: FlowNotice,
    ) -> Result<Outcome, ServiceError> {
        flow.notice = Some(notice);
        self.save_flow(&flow).await?;
        Ok(Outcome::Show { flow_id: flow.id })
    }

    /// The flow now shows "a link was sent" and moves on from there.
    async fn link_sent(
        &self,
        mut flow: LoginFlow,
        masked: String,
    ) -> Result<Outcome, ServiceError> {
        if let FlowStep::Action(step) = &mut flow.step {
            step.sent_to = Some(masked);
        }
        flow.notice = None;
        self.save_flow(&flow).await?;
        Ok(Outcome::Show { flow_id: flow.id })
    }

    async fn send_phone_link(
        &self,
        participant: crate::participant::ParticipantId,
        number: &PhoneNumber,
        lang: &str,
    ) -> Result<(), ServiceError> {
        let ttl = self.policy.links.verify_ttl;
        let token = self
            .create_link(
                LinkKind::VerifyPhone,
                participant,
                Some(number.as_e164()),
                None,
                ttl,
            )
            .await?;
        let url = format!("{}/verify/phone/{token}", self.issuer);
        let notice = Notice::PhoneLink { url };
        let text = self.deps.notices.write(&notice, lang).text;
        let now = self.now();
        let message = Message {
            to: Recipient::Sms(number.as_e164().to_owned()),
            subject: String::new(),
            body: text,
            html: None,
            expires_at: now + ttl,
        };
        self.deps.outbox.enqueue(&message, now).await?;
        self.deps.outbox_signal.wake();
        Ok(())
    }

    /// *verify-email*: sends the link, then the page says so and moves on.
    pub async fn send_email_link(
        &self,
        form: &FlowForm,
        ctx: &BrowserContext,
        lang: &str,
    ) -> Result<Outcome, ServiceError> {
        let (flow, step, _) = match self
            .action_flow(form, ctx, RequiredAction::VerifyEmail)
            .await?
        {
            Ok(found) => found,
            Err(outcome) => return Ok(outcome),
        };
        if step.sent_to.is_some() {
            return Ok(Outcome::Show { flow_id: flow.id });
        }
        if !self.may_send_link(step.participant).await? {
            return self.show_notice(flow, FlowNotice::TooManyCodes).await;
        }
        let Some(participant) = self.deps.participants.by_id(step.participant).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        let Some(email) = participant.email.clone() else {
            return self.show_notice(flow, FlowNotice::NoContact).await;
        };
        let ttl = self.policy.links.verify_ttl;
        let token = self
            .create_link(
                LinkKind::VerifyEmail,
                participant.id,
                Some(&email),
                None,
                ttl,
            )
            .await?;
        let url = format!("{}/verify/email/{token}", self.issuer);
        let written = self.deps.notices.write(&Notice::EmailLink { url }, lang);
        let now = self.now();
        let message = Message {
            to: Recipient::Email(email.clone()),
            subject: written.subject,
            body: written.text,
            html: written.html,
            expires_at: now + ttl,
        };
        self.deps.outbox.enqueue(&message, now).await?;
        self.deps.outbox_signal.wake();
        self.done_action(&participant, RequiredAction::VerifyEmail)
            .await?;
        self.link_sent(flow, mask_email(&email)).await
    }

    /// *accept-terms*: records the version and the time.
    pub async fn submit_terms(
        &self,
        form: &FlowForm,
        accepted: bool,
        ctx: &BrowserContext,
    ) -> Result<Outcome, ServiceError> {
        let (flow, step, session) = match self
            .action_flow(form, ctx, RequiredAction::AcceptTerms)
            .await?
        {
            Ok(found) => found,
            Err(outcome) => return Ok(outcome),
        };
        if !accepted {
            return self.show_notice(flow, FlowNotice::TermsNotAccepted).await;
        }
        let Some(participant) = self.deps.participants.by_id(step.participant).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        let version = self.policy.terms_version.clone().unwrap_or_default();
        let acceptance = TermsAcceptance {
            version: version.clone(),
            at: self.now(),
        };
        self.deps
            .participants
            .accept_terms(participant.id, &acceptance)
            .await?;
        self.done_action(&participant, RequiredAction::AcceptTerms)
            .await?;
        self.audit(
            AuditKind::TermsAccepted,
            Some(participant.id),
            None,
            serde_json::json!({"version": version}),
        )
        .await;
        self.advance(flow, &session).await
    }

    /// What a verification link's page shows: the masked target, if the link is live.
    pub async fn link_target(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<Option<String>, ServiceError> {
        let record = self.peek_link(kind, token).await?;
        Ok(record.map(|r| {
            let target = r.target.unwrap_or_default();
            match kind {
                LinkKind::VerifyPhone => crate::phone::mask_e164(&target),
                _ => mask_email(&target),
            }
        }))
    }

    /// The POST of a verification link's page (GET never acts: mail scanners follow links).
    pub async fn confirm_link(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<LinkOutcome, ServiceError> {
        let Some(record) = self.use_link(kind, token).await? else {
            return Ok(LinkOutcome::Dead);
        };
        let Some(participant) = self.deps.participants.by_id(record.participant).await? else {
            return Ok(LinkOutcome::Dead);
        };
        let now = self.now();
        let target = record.target.clone().unwrap_or_default();
        let verified = match kind {
            LinkKind::VerifyPhone if participant.phone.as_deref() == Some(target.as_str()) => {
                self.deps
                    .participants
                    .set_phone(participant.id, Some(&target), true, now)
                    .await?;
                self.audit(
                    AuditKind::PhoneVerified,
                    Some(participant.id),
                    None,
                    serde_json::json!({}),
                )
                .await;
                true
            }
            LinkKind::VerifyEmail => {
                let done = self
                    .deps
                    .participants
                    .set_email_verified(participant.id, &target, now)
                    .await?;
                if done {
                    self.audit(
                        AuditKind::EmailVerified,
                        Some(participant.id),
                        None,
                        serde_json::json!({}),
                    )
                    .await;
                }
                done
            }
            LinkKind::VerifyPhone | LinkKind::Reset | LinkKind::Activate => false,
        };
        Ok(if verified {
            LinkOutcome::Verified
        } else {
            LinkOutcome::Dead
        })
    }
}
