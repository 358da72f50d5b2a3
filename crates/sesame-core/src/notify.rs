//! Messages to participants. They are written to a durable outbox first and sent off the
//! request path, so a slow or failing mail server neither delays a page nor loses a message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a message goes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", content = "to", rename_all = "lowercase")]
pub enum Recipient {
    Email(String),
    Sms(String),
    /// A client's back-channel logout URI; the body is the logout token.
    Backchannel(String),
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Email(_) => f.write_str("Email([redacted])"),
            Self::Sms(_) => f.write_str("Sms([redacted])"),
            Self::Backchannel(_) => f.write_str("Backchannel([redacted])"),
        }
    }
}

/// A rendered message, ready for the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub to: Recipient,
    pub subject: String,
    /// The text: the plain-text part of an e-mail, an SMS, or a logout token.
    pub body: String,
    /// The HTML alternative of an e-mail's text; `None` for SMS and back-channel messages.
    pub html: Option<String>,
    /// After this instant the secret inside (a code, a link) is dead: the text is dropped
    /// and the message is no longer sent.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("to", &self.to)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub message: Message,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
}

/// What a notice says, before it is put in words in the participant's language.
#[derive(Clone, PartialEq, Eq)]
pub enum Notice {
    /// The one-time code of a login, by e-mail.
    LoginCode {
        code: crate::SecretString,
        ttl_minutes: i64,
    },
    /// The one-time code of a login, by SMS, ending with the WebOTP line for `host`.
    LoginCodeSms {
        code: crate::SecretString,
        host: String,
    },
    /// The password was changed.
    PasswordChanged,
    /// A mobile phone was registered (masked number).
    PhoneRegistered { masked: String },
    /// The SMS with the link that verifies the phone.
    PhoneLink { url: String },
    /// The e-mail with the link that verifies the address.
    EmailLink { url: String },
    /// The e-mail with a password reset link.
    ResetLink { url: String, minutes: i64 },
    /// The SMS with a password reset link (only ever to a verified phone).
    ResetLinkSms { url: String },
    /// The e-mail with the link that activates an account.
    ActivationLink { url: String, hours: i64 },
}

impl std::fmt::Debug for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LoginCode { ttl_minutes, .. } => write!(f, "LoginCode(ttl={ttl_minutes}m)"),
            Self::LoginCodeSms { .. } => f.write_str("LoginCodeSms"),
            Self::PasswordChanged => f.write_str("PasswordChanged"),
            Self::PhoneRegistered { .. } => f.write_str("PhoneRegistered"),
            Self::PhoneLink { .. } => f.write_str("PhoneLink"),
            Self::EmailLink { .. } => f.write_str("EmailLink"),
            Self::ResetLink { .. } => f.write_str("ResetLink"),
            Self::ResetLinkSms { .. } => f.write_str("ResetLinkSms"),
            Self::ActivationLink { .. } => f.write_str("ActivationLink"),
        }
    }
}

/// A notice put in words.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Written {
    /// The e-mail's subject; empty for an SMS.
    pub subject: String,
    /// The plain text: the SMS, or the e-mail's text part.
    pub text: String,
    /// The e-mail's HTML alternative; `None` for an SMS.
    pub html: Option<String>,
}

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text may hold a code or a link.
        f.debug_struct("Written")
            .field("html", &self.html.is_some())
            .finish_non_exhaustive()
    }
}

/// Puts notices into words (a theme's message files and templates); implemented by the web
/// layer.
pub trait NoticeWriter: Send + Sync {
    /// The subject, text and HTML of `notice` in `lang`.
    fn write(&self, notice: &Notice, lang: &str) -> Written;
}

/// Told when the outbox could not deliver a message, so that another way can be tried
/// (a login code whose SMS fails goes by e-mail).
#[async_trait::async_trait]
pub trait DeliveryListener: Send + Sync {
    /// `message` failed: for good when `permanent`, else after `attempts` tries.
    async fn undelivered(&self, message: &Message, permanent: bool, attempts: u32);
}

/// Wakes whatever sends the outbox once a message is queued.
pub trait OutboxSignal: Send + Sync {
    /// A message was queued.
    fn wake(&self);
}
