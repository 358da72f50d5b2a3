//! The login pages' steps: password, one-time code, resend; and the recovery of a page
//! whose flow has expired (DESIGN §5.7).

use sesame_protocol::authorize::PageError;

use super::{ErrorPage, Outcome, Provider, SealedRequest, ServiceError};
use crate::acr::{Acr, Channel, amr_for_code};
use crate::audit::AuditKind;
use crate::flow::{CodeStep, FlowNotice, FlowStep, LoginFlow};
use crate::notify::{Message, Notice, Recipient};
use crate::number::CohortNumber;
use crate::otp::{self, CodeCheck, PendingCode};
use crate::participant::{Participant, mask_email};
use crate::password;
use crate::secret::SecretString;
use crate::service::BrowserContext;
use crate::session::SsoSession;
use crate::state::{get_json, put_json};

/// Which login an SMS code in the outbox belongs to, to send it by e-mail if the SMS fails.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SmsCodeRef {
    participant: crate::participant::ParticipantId,
    flow: String,
    lang: String,
}

#[async_trait::async_trait]
impl crate::notify::DeliveryListener for Provider {
    /// A login code whose SMS failed for good, or twice, goes by e-mail (DESIGN §1).
    async fn undelivered(&self, message: &crate::notify::Message, permanent: bool, attempts: u32) {
        let Recipient::Sms(number) = &message.to else {
            return;
        };
        if !permanent && attempts < 2 {
            return;
        }
        if let Err(error) = self.sms_failed(number).await {
            tracing::warn!(%error, "e-mail fallback for a failed SMS not done");
        }
    }
}

impl Provider {
    async fn sms_failed(&self, number: &str) -> Result<(), ServiceError> {
        let key = format!("sms-code-to:{number}");
        let reference: Option<SmsCodeRef> =
            crate::state::take_json(self.deps.state.as_ref(), &key).await?;
        let Some(reference) = reference else {
            return Ok(());
        };
        let Some(flow) = self.load_flow(&reference.flow).await? else {
            return Ok(());
        };
        let FlowStep::Code(step) = flow.step.clone() else {
            return Ok(());
        };
        if step.participant != reference.participant || step.channel != Channel::Sms {
            return Ok(());
        }
        let Some(participant) = self.deps.participants.by_id(step.participant).await? else {
            return Ok(());
        };
        let notice = Some(FlowNotice::SmsFailed);
        self.send_code(
            flow,
            &participant,
            step.remember,
            &reference.lang,
            notice,
            true,
        )
        .await?;
        Ok(())
    }
}

/// What the participant typed on the credentials page.
pub struct Credentials<'a> {
    /// The cohort number as typed.
    pub number: &'a str,
    pub password: SecretString,
    /// "Rester connecté" was ticked.
    pub remember: bool,
    /// The anti-robot solution (ALTCHA payload).
    pub captcha: &'a str,
}

/// The hidden fields every login form carries.
#[derive(Debug, Clone, Default)]
pub struct FlowForm {
    pub flow_id: String,
    pub csrf: String,
    pub sealed: String,
}

impl Provider {
    /// The flow a page shows, or how to recover when it is gone.
    pub async fn flow_for_page(
        &self,
        flow_id: &str,
        ctx: &BrowserContext,
    ) -> Result<Result<LoginFlow, Outcome>, ServiceError> {
        if let Some(flow) = self.load_flow(flow_id).await?
            && crate::crypto::constant_time_eq(flow.browser.as_bytes(), ctx.browser.as_bytes())
        {
            return Ok(Ok(flow));
        }
        let sealed = ctx.sealed_cookie.clone().unwrap_or_default();
        Ok(Err(self.recover(&sealed, ctx, None).await?))
    }

    /// The participant typed a number and a password.
    pub async fn submit_password(
        &self,
        form: &FlowForm,
        answer: Credentials<'_>,
        ctx: &BrowserContext,
        lang: &str,
    ) -> Result<Outcome, ServiceError> {
        let Credentials {
            number,
            password,
            remember,
            captcha,
        } = answer;
        let mut flow = match self.flow_for_post(form, ctx, Some(number)).await? {
            Ok(flow) => flow,
            Err(outcome) => return Ok(outcome),
        };
        flow.step = FlowStep::Credentials;
        // "Restez connecté" stays as ticked when the page comes back with an error.
        flow.remember = remember;
        let Ok(number) = CohortNumber::parse(number) else {
            flow.number = keepable(number);
            return self.show(flow, FlowNotice::InvalidNumber).await;
        };
        flow.number = Some(number.as_str().to_owned());
        let conformance = self.conformance_profile(&flow, &number);
        if !conformance && !self.captcha_passes(captcha, number.as_str(), ctx).await? {
            return self.show(flow, FlowNotice::CaptchaFailed).await;
        }
        let checked = self.check_password(&number, password, &flow, ctx).await?;
        let Some(participant) = checked else {
            return self.show(flow, FlowNotice::InvalidCredentials).await;
        };
        if conformance {
            let amr = vec![crate::acr::Amr::Pwd];
            return self
                .finish_login(flow, participant.id, (Acr::Pwd, amr), remember)
                .await;
        }
        self.send_code(flow, &participant, remember, lang, None, false)
            .await
    }

    /// Verifies the password. An unknown number, a wrong password and a throttled attempt
    /// run the same steps — one lookup, one hash verification, the same counters — so
    /// that neither words nor timing tell them apart (§5.3).
    async fn check_password(
        &self,
        number: &CohortNumber,
        password: SecretString,
        flow: &LoginFlow,
        ctx: &BrowserContext,
    ) -> Result<Option<Participant>, ServiceError> {
        let participant = self.deps.participants.by_number(number).await?;
        let stored = participant.as_ref().and_then(|p| p.password_hash.clone());
        let hash = stored.clone().unwrap_or_else(password::dummy_hash);
        let rehash_input = password.clone();
        let counters = self.password_counters(number, ctx);
        let throttle = self.password_throttle(&counters).await?;
        let verified = self.verify_typed(password, hash).await;
        let ok = verified && stored.is_some() && throttle.is_none();
        let client = Some(flow.request.client_id.as_str());
        let Some(participant) = participant.filter(|_| ok) else {
            self.password_failed(&counters).await?;
            let detail = serde_json::json!({ "throttled": throttle.is_some() });
            self.audit(AuditKind::LoginPasswordRefused, None, client, detail)
                .await;
            if let Some(scope) = throttle {
                self.throttled("login", scope, None, Some(ctx)).await;
            }
            return Ok(None);
        };
        self.deps.state.delete(&counters.number).await?;
        self.audit(
            AuditKind::LoginPasswordAccepted,
            Some(participant.id),
            client,
            serde_json::json!({}),
        )
        .await;
        if stored.is_some_and(|h| h.needs_rehash()) {
            self.rehash(&participant, rehash_input).await;
        }
        Ok(Some(participant))
    }

    async fn rehash(&self, participant: &Participant, password: SecretString) {
        let Some(hash) = self.deps.hasher.hash(password).await else {
            return;
        };
        if let Err(error) = self
            .deps
            .participants
            .set_password(participant.id, &hash, self.now())
            .await
        {
            tracing::warn!(%error, "password rehash not stored");
        }
    }

    /// Sends a new code (killing the earlier one) and moves the flow to the code step.
    async fn send_code(
        &self,
        mut flow: LoginFlow,
        participant: &Participant,
        remember: bool,
        lang: &str,
        notice: Option<FlowNotice>,
        force_email: bool,
    ) -> Result<Outcome, ServiceError> {
        let Some(mut route) = self.code_route(participant, force_email) else {
            return self.show(flow, FlowNotice::NoContact).await;
        };
        if let Recipient::Sms(e164) = &route.1
            && !self.phone_may_receive(e164).await?
        {
            // The phone had its share of texts today: the code goes by e-mail (§5.4).
            let scope = super::limits::Scope::Phone;
            self.throttled("code", scope, Some(participant.id), None)
                .await;
            let Some(by_email) = self.code_route(participant, true) else {
                return self.show(flow, FlowNotice::TooManyCodes).await;
            };
            route = by_email;
        }
        let (channel, to, destination) = route;
        let failures = self
            .count(&format!("otp-failures:{}", participant.id))
            .await?;
        if failures >= u64::from(self.policy.code.max_failures_per_hour) {
            return self.show(flow, FlowNotice::CodeThrottled).await;
        }
        let sends_key = format!("otp-sends:{}", participant.id);
        let sends = self
            .deps
            .state
            .incr(&sends_key, chrono::Duration::hours(1))
            .await?;
        if sends > u64::from(self.policy.code.max_sends_per_hour) {
            return self.show(flow, FlowNotice::TooManyCodes).await;
        }
        let now = self.now();
        let code = otp::generate(self.deps.random.as_ref());
        let ttl = self.policy.code.ttl;
        let pending = PendingCode::new(&self.otp_key, &code, &flow.id, channel, now, ttl);
        // One live code per participant: a code sent in any flow kills the earlier ones.
        let key = format!("otp:{}", participant.id);
        put_json(self.deps.state.as_ref(), &key, &pending, ttl).await?;
        let notice_text = match channel {
            Channel::Email => Notice::LoginCode {
                code,
                ttl_minutes: ttl.num_minutes(),
            },
            Channel::Sms => Notice::LoginCodeSms {
                code,
                host: self.host(),
            },
        };
        let written = self.deps.notices.write(&notice_text, lang);
        let message = Message {
            to,
            subject: written.subject,
            body: written.text,
            html: written.html,
            expires_at: now + ttl,
        };
        // The flow and the SMS reference are written before the message can be sent, so a
        // failure always finds them.
        flow.password_accepted(FlowStep::Code(CodeStep {
            participant: participant.id,
            channel,
            destination,
            sent_at: now,
            remember,
        }));
        flow.notice = notice;
        self.save_flow(&flow).await?;
        if let Recipient::Sms(number) = &message.to {
            let reference = SmsCodeRef {
                participant: participant.id,
                flow: flow.id.clone(),
                lang: lang.to_owned(),
            };
            put_json(
                self.deps.state.as_ref(),
                &format!("sms-code-to:{number}"),
                &reference,
                ttl,
            )
            .await?;
        }
        self.deps.outbox.enqueue(&message, now).await?;
        self.deps.outbox_signal.wake();
        let client = Some(flow.request.client_id.as_str());
        let detail = serde_json::json!({ "channel": channel });
        self.audit(AuditKind::CodeSent, Some(participant.id), client, detail)
            .await;
        Ok(Outcome::Show { flow_id: flow.id })
    }

    /// By SMS to a verified mobile of an allowed region, else by e-mail (DESIGN §1).
    fn code_route(
        &self,
        participant: &Participant,
        force_email: bool,
    ) -> Option<(Channel, Recipient, String)> {
        let mobile = participant
            .phone
            .as_deref()
            .filter(|_| participant.phone_verified && !force_email)
            .and_then(|p| crate::phone::PhoneNumber::parse_mobile(p, &self.sms_regions()).ok());
        if let Some(number) = mobile {
            return Some((
                Channel::Sms,
                Recipient::Sms(number.as_e164().to_owned()),
                number.mask(),
            ));
        }
        let email = participant.email.clone()?;
        Some((
            Channel::Email,
            Recipient::Email(email.clone()),
            mask_email(&email),
        ))
    }

    /// The issuer's host, for the WebOTP line of code SMS.
    fn host(&self) -> String {
        url::Url::parse(&self.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The participant typed the one-time code.
    pub async fn submit_code(
        &self,
        form: &FlowForm,
        typed: &str,
        ctx: &BrowserContext,
    ) -> Result<Outcome, ServiceError> {
        let (flow, step) = match self.code_flow(form, ctx).await? {
            Ok(found) => found,
            Err(outcome) => return Ok(outcome),
        };
        let CodeStep {
            participant,
            channel,
            remember,
            ..
        } = step;
        let failures_key = format!("otp-failures:{participant}");
        let failures = self.count(&failures_key).await?;
        if failures >= u64::from(self.policy.code.max_failures_per_hour) {
            self.audit(
                AuditKind::CodeLockedOut,
                Some(participant),
                None,
                serde_json::json!({}),
            )
            .await;
            return self.show(flow, FlowNotice::CodeThrottled).await;
        }
        let key = format!("otp:{participant}");
        let pending = get_json::<PendingCode>(self.deps.state.as_ref(), &key).await?;
        let Some(mut pending) = pending.filter(|p| p.flow == flow.id) else {
            return self.show(flow, FlowNotice::CodeDead).await;
        };
        let now = self.now();
        match pending.check(&self.otp_key, typed, self.policy.code.max_attempts, now) {
            CodeCheck::Accepted => {
                self.deps.state.delete(&key).await?;
                let proof = (Acr::Mfa, amr_for_code(channel));
                self.finish_login(flow, participant, proof, remember).await
            }
            CodeCheck::Wrong => {
                self.deps
                    .state
                    .incr(&failures_key, chrono::Duration::hours(1))
                    .await?;
                let ttl = pending.expires_at - now;
                put_json(self.deps.state.as_ref(), &key, &pending, ttl).await?;
                self.audit(
                    AuditKind::CodeRefused,
                    Some(participant),
                    None,
                    serde_json::json!({}),
                )
                .await;
                self.show(flow, FlowNotice::WrongCode).await
            }
            CodeCheck::Dead => self.show(flow, FlowNotice::CodeDead).await,
        }
    }

    /// The value of a counter (0 when absent).
    pub(crate) async fn count(&self, key: &str) -> Result<u64, ServiceError> {
        let value = self.deps.state.get(key).await?;
        Ok(value
            .and_then(|b| String::from_utf8(b).ok()?.parse().ok())
            .unwrap_or(0))
    }

    /// A keyed digest standing for a cohort number in state-store keys, so that the
    /// state store holds no cohort number.
    pub(crate) fn number_tag(&self, number: &CohortNumber) -> String {
        let digest = crate::crypto::hmac_sha256(&self.otp_key, number.as_str().as_bytes());
        crate::crypto::hex(&digest[..16])
    }

    /// The live flow of a code page, at the code step; any other state is answered by
    /// showing the flow where it stands, or by recovering it.
    async fn code_flow(
        &self,
        form: &FlowForm,
        ctx: &BrowserContext,
    ) -> Result<Result<(LoginFlow, CodeStep), Outcome>, ServiceError> {
        let flow = match self.flow_for_post(form, ctx, None).await? {
            Ok(flow) => flow,
            Err(outcome) => return Ok(Err(outcome)),
        };
        match flow.step.clone() {
            FlowStep::Code(step) => Ok(Ok((flow, step))),
            FlowStep::Credentials | FlowStep::Action(_) => {
                Ok(Err(Outcome::Show { flow_id: flow.id }))
            }
        }
    }

    /// The participant asked for a new code.
    pub async fn resend_code(
        &self,
        form: &FlowForm,
        by_email: bool,
        ctx: &BrowserContext,
        lang: &str,
    ) -> Result<Outcome, ServiceError> {
        let (flow, step) = match self.code_flow(form, ctx).await? {
            Ok(found) => found,
            Err(outcome) => return Ok(outcome),
        };
        // Switching from SMS to e-mail need not wait: the SMS may never come.
        let switching = by_email && step.channel == Channel::Sms;
        if !switching && self.now() - step.sent_at < self.policy.code.resend_after {
            return self.show(flow, FlowNotice::ResendTooSoon).await;
        }
        let Some(participant) = self.deps.participants.by_id(step.participant).await? else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        let notice = Some(FlowNotice::CodeResent);
        self.send_code(flow, &participant, step.remember, lang, notice, by_email)
            .await
    }

    /// Whether this login falls under the conformance-suite profile (`[certification]`).
    fn conformance_profile(&self, flow: &LoginFlow, number: &CohortNumber) -> bool {
        self.policy
            .conformance
            .as_ref()
            .is_some_and(|p| p.client_id == flow.request.client_id && p.number == *number)
    }

    async fn finish_login(
        &self,
        flow: LoginFlow,
        participant: crate::participant::ParticipantId,
        (acr, amr): (Acr, Vec<crate::acr::Amr>),
        remember: bool,
    ) -> Result<Outcome, ServiceError> {
        let now = self.now();
        let session = SsoSession {
            id: self.deps.random.token(32),
            participant,
            auth_time: now,
            acr,
            amr,
            remember,
            created_at: now,
            last_seen: now,
        };
        let ttl = session.ttl(&self.policy.session, now);
        put_json(
            self.deps.state.as_ref(),
            &format!("session:{}", session.id),
            &session,
            ttl,
        )
        .await?;
        let number_tag = flow
            .number
            .as_deref()
            .and_then(|n| CohortNumber::parse(n).ok())
            .map(|n| self.number_tag(&n));
        let then = self.advance(flow, &session).await?;
        Ok(Outcome::LoggedIn {
            session,
            number_tag,
            then: Box::new(then),
        })
    }

    async fn show(&self, mut flow: LoginFlow, notice: FlowNotice) -> Result<Outcome, ServiceError> {
        flow.notice = Some(notice);
        self.save_flow(&flow).await?;
        Ok(Outcome::Show { flow_id: flow.id })
    }

    async fn load_flow(&self, flow_id: &str) -> Result<Option<LoginFlow>, ServiceError> {
        if flow_id.is_empty() || flow_id.len() > 64 {
            return Ok(None);
        }
        Ok(get_json(self.deps.state.as_ref(), &format!("flow:{flow_id}")).await?)
    }

    /// The flow a POST belongs to, if it is live and the page is genuine; otherwise the
    /// ceremony continues from the sealed request (DESIGN §5.7).
    pub(crate) async fn flow_for_post(
        &self,
        form: &FlowForm,
        ctx: &BrowserContext,
        number: Option<&str>,
    ) -> Result<Result<LoginFlow, Outcome>, ServiceError> {
        if let Some(flow) = self.load_flow(&form.flow_id).await?
            && flow.accepts(&ctx.browser, &form.csrf)
        {
            return match self.already_logged_in(&flow, ctx, number).await? {
                Some(outcome) => Ok(Err(outcome)),
                None => Ok(Ok(flow)),
            };
        }
        let sealed = if form.sealed.is_empty() {
            ctx.sealed_cookie.clone().unwrap_or_default()
        } else {
            form.sealed.clone()
        };
        let typed = number.and_then(keepable);
        if let Some(outcome) = self.someone_else(&sealed, ctx, typed.as_deref()).await? {
            return Ok(Err(outcome));
        }
        Ok(Err(self.recover(&sealed, ctx, typed).await?))
    }

    /// An old login page posted with a number that is not the live session's: that person
    /// is asked for their own password, never signed in as the session's participant (a
    /// shared computer, the back button).
    async fn someone_else(
        &self,
        sealed: &str,
        ctx: &BrowserContext,
        typed: Option<&str>,
    ) -> Result<Option<Outcome>, ServiceError> {
        let Some(typed) = typed else {
            return Ok(None);
        };
        let Some(session) = self.live_session(ctx.session_id.as_deref()).await? else {
            return Ok(None);
        };
        let owner = match CohortNumber::parse(typed) {
            Ok(number) => self.deps.participants.by_number(&number).await?,
            Err(_) => None,
        };
        if owner.is_some_and(|p| p.id == session.participant) {
            return Ok(None);
        }
        let Some(sealed) = self.open_request(sealed) else {
            return Ok(None);
        };
        if !self.still_valid(&sealed.request).await? {
            return Ok(None);
        }
        let notice = Some(FlowNotice::Restarted);
        let flow = self
            .start_flow(sealed, ctx, Some(typed.to_owned()), notice)
            .await?;
        Ok(Some(Outcome::Show { flow_id: flow.id }))
    }

    /// A page of a flow whose login already finished in another tab, for the same person:
    /// continue to the RP with the live session (DESIGN §5.7).
    async fn already_logged_in(
        &self,
        flow: &LoginFlow,
        ctx: &BrowserContext,
        number: Option<&str>,
    ) -> Result<Option<Outcome>, ServiceError> {
        let Some(session) = self.live_session(ctx.session_id.as_deref()).await? else {
            return Ok(None);
        };
        let same_person = match (&flow.step, number.map(CohortNumber::parse)) {
            (FlowStep::Code(step), _) => step.participant == session.participant,
            (FlowStep::Credentials, Some(Ok(typed))) => {
                let found = self.deps.participants.by_number(&typed).await?;
                found.is_some_and(|p| p.id == session.participant)
            }
            _ => false,
        };
        let Some(client) = self.deps.clients.get(&flow.request.client_id).await? else {
            return Ok(None);
        };
        let sealed = SealedRequest {
            request: flow.request.clone(),
            started_at: flow.created_at,
            number: None,
            hint_sub: flow.hint_sub.clone(),
        };
        if !same_person || !self.session_satisfies(&session, &sealed, &client) {
            return Ok(None);
        }
        Ok(Some(self.advance(flow.clone(), &session).await?))
    }

    /// Restarts from a sealed request: straight to the RP when a live session already
    /// satisfies it (the login finished in another tab), else a new flow that keeps the
    /// number and says why the page starts again.
    pub(crate) async fn recover(
        &self,
        sealed: &str,
        ctx: &BrowserContext,
        number: Option<String>,
    ) -> Result<Outcome, ServiceError> {
        self.resume(sealed, ctx, number, Some(FlowNotice::Restarted))
            .await
    }

    /// [`Self::recover`], saying `notice` on the new page (nothing when the participant
    /// asked for the new login).
    pub(crate) async fn resume(
        &self,
        sealed: &str,
        ctx: &BrowserContext,
        number: Option<String>,
        notice: Option<FlowNotice>,
    ) -> Result<Outcome, ServiceError> {
        let Some(sealed) = self.open_request(sealed) else {
            return Ok(Outcome::ErrorPage(ErrorPage::Expired));
        };
        if !self.still_valid(&sealed.request).await? {
            return Ok(Outcome::ErrorPage(ErrorPage::Request(
                PageError::UnknownClient,
            )));
        }
        let number = number.or_else(|| sealed.number.clone());
        self.continue_request(sealed, ctx, number, notice).await
    }
}

/// Keeps what the participant typed as a number only if it looks like one.
fn keepable(number: &str) -> Option<String> {
    let trimmed = number.trim();
    let plausible = trimmed.len() <= 12 && trimmed.chars().all(|c| c.is_ascii_digit() || c == ' ');
    (plausible && !trimmed.is_empty()).then(|| trimmed.to_owned())
}
