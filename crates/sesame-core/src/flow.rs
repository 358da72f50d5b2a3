//! The login flow: a state machine that carries the original authorization request from
//! the first page to the redirect back to the RP (password → code → done).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sesame_protocol::authorize::AuthorizationRequest;

use crate::acr::Channel;
use crate::participant::ParticipantId;

/// Why the page shows a message above the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowNotice {
    /// Number or password wrong, or the account unknown: one message for all three.
    InvalidCredentials,
    /// The number is not eight digits.
    InvalidNumber,
    /// The previous page had expired; the ceremony starts again.
    Restarted,
    WrongCode,
    /// The code expired or ran out of tries.
    CodeDead,
    CodeResent,
    /// Too many wrong codes for this account within the hour.
    CodeThrottled,
    /// A resend came before `resend_after`.
    ResendTooSoon,
    /// `max_sends_per_hour` codes were already sent.
    TooManyCodes,
    /// No address to send a code to: the support must help.
    NoContact,
    /// The current password typed on the password-change page is wrong.
    WrongCurrentPassword,
    /// The new password breaks the policy (the problems are listed).
    PasswordRefused,
    /// The two new passwords differ.
    PasswordMismatch,
    /// The phone number is not a mobile number of an allowed region.
    PhoneInvalid,
    /// The two phone numbers differ.
    PhoneMismatch,
    /// The phone number is in a region SMS may not go to.
    PhoneCountry,
    /// The terms must be accepted to go on.
    TermsNotAccepted,
    /// The SMS could not be sent; the code went by e-mail instead.
    SmsFailed,
    /// The anti-robot check is missing, forged, expired, replayed or too easy.
    CaptchaFailed,
}

/// Where the participant stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum FlowStep {
    /// Waiting for the cohort number and password.
    Credentials,
    /// The password was right; waiting for the one-time code.
    Code(CodeStep),
    /// The second factor is done; a required action is pending (DESIGN §3).
    Action(ActionStep),
}

/// A required action in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionStep {
    pub participant: ParticipantId,
    pub action: crate::participant::RequiredAction,
    /// Where a verification link was just sent (masked), once it was: the page then says
    /// so and moves on.
    #[serde(default)]
    pub sent_to: Option<String>,
}

/// The code step: who is logging in and where the latest code went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeStep {
    pub participant: ParticipantId,
    pub channel: Channel,
    /// The destination, masked for display.
    pub destination: String,
    pub sent_at: DateTime<Utc>,
    /// "Stay connected" was ticked with the password.
    pub remember: bool,
}

/// One login ceremony, kept in short-lived state under `flow:{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFlow {
    pub id: String,
    /// The browser the flow belongs to (a random value in a private cookie).
    pub browser: String,
    /// The anti-CSRF token every form of this flow carries.
    pub csrf: String,
    pub request: AuthorizationRequest,
    pub step: FlowStep,
    /// The number typed, kept so that a restarted page does not ask for it again.
    pub number: Option<String>,
    pub notice: Option<FlowNotice>,
    pub created_at: DateTime<Utc>,
    /// The `sub` of a valid `id_token_hint`: only that participant's session may answer.
    #[serde(default)]
    pub hint_sub: Option<String>,
    /// What was wrong with the last new password, rule by rule.
    #[serde(default)]
    pub problems: Vec<crate::password::PasswordProblem>,
    /// The theme of the client that asked (DESIGN §3), if it has one.
    #[serde(default)]
    pub theme: Option<String>,
    /// "Restez connecté" as last sent on the login form.
    #[serde(default)]
    pub remember: bool,
}

impl LoginFlow {
    /// True when `browser` and `csrf` are those this flow was made for.
    pub fn accepts(&self, browser: &str, csrf: &str) -> bool {
        crate::crypto::constant_time_eq(self.browser.as_bytes(), browser.as_bytes())
            && crate::crypto::constant_time_eq(self.csrf.as_bytes(), csrf.as_bytes())
    }

    /// Moves to the code step once the password is right.
    pub fn password_accepted(&mut self, step: FlowStep) {
        self.step = step;
        self.notice = None;
    }
}
