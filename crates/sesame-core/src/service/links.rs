//! One-use links sent by SMS or e-mail (DESIGN §5.8): 256-bit random tokens kept only as
//! digests in the durable store, with a short life, the newest of a kind per participant
//! the only valid one. GET pages never use them; only a POST does.

use chrono::{DateTime, Duration, Utc};

use super::{Provider, ServiceError};
use crate::crypto::token_digest;
use crate::participant::ParticipantId;
use crate::store::StoredLink;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    VerifyPhone,
    VerifyEmail,
    Reset,
    Activate,
}

impl LinkKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::VerifyPhone => "verify-phone",
            Self::VerifyEmail => "verify-email",
            Self::Reset => "reset",
            Self::Activate => "activate",
        }
    }
}

/// A live link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    pub kind: LinkKind,
    pub participant: ParticipantId,
    /// The phone number (E.164) or e-mail address the link proves, if any.
    pub target: Option<String>,
    /// A sealed authorization request to go back to afterwards, if any.
    pub context: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn record(kind: LinkKind, stored: StoredLink) -> LinkRecord {
    LinkRecord {
        kind,
        participant: stored.participant,
        target: stored.target,
        context: stored.context,
        created_at: stored.created_at,
    }
}

impl Provider {
    /// Makes a link token; any earlier link of the same kind for the participant dies.
    pub(crate) async fn create_link(
        &self,
        kind: LinkKind,
        participant: ParticipantId,
        target: Option<&str>,
        context: Option<String>,
        ttl: Duration,
    ) -> Result<String, ServiceError> {
        let token = self.deps.random.token(32);
        let now = self.now();
        let link = StoredLink {
            digest: token_digest(&token),
            kind: kind.name().to_owned(),
            participant,
            target: target.map(str::to_owned),
            context,
            created_at: now,
            expires_at: now + ttl,
        };
        self.deps.links.insert_replacing(&link).await?;
        Ok(token)
    }

    /// The live link behind a token, without using it (the GET page).
    pub async fn peek_link(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<Option<LinkRecord>, ServiceError> {
        let found = self
            .deps
            .links
            .peek(&token_digest(token), kind.name(), self.now())
            .await?;
        Ok(found.map(|s| record(kind, s)))
    }

    /// Uses a link once (the POST): single use, newest only.
    pub(crate) async fn use_link(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<Option<LinkRecord>, ServiceError> {
        let found = self
            .deps
            .links
            .take(&token_digest(token), kind.name(), self.now())
            .await?;
        Ok(found.map(|s| record(kind, s)))
    }

    /// The anti-CSRF value of a link's page for one browser.
    pub fn link_csrf(&self, browser: &str, token: &str) -> String {
        self.form_csrf(browser, token)
    }

    /// Checks a link page's anti-CSRF value.
    pub fn link_csrf_matches(&self, browser: &str, token: &str, presented: &str) -> bool {
        crate::crypto::constant_time_eq(
            self.link_csrf(browser, token).as_bytes(),
            presented.as_bytes(),
        )
    }

    /// The anti-CSRF value of one of Sesame's own forms outside a login flow, bound to the
    /// browser cookie and to what the form is for.
    pub fn form_csrf(&self, browser: &str, purpose: &str) -> String {
        let input = format!("form-csrf\u{0}{browser}\u{0}{purpose}");
        let mac = crate::crypto::hmac_sha256(&self.otp_key, input.as_bytes());
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, mac)
    }

    /// Checks a form's anti-CSRF value.
    pub fn form_csrf_matches(&self, browser: &str, purpose: &str, presented: &str) -> bool {
        crate::crypto::constant_time_eq(
            self.form_csrf(browser, purpose).as_bytes(),
            presented.as_bytes(),
        )
    }
}
