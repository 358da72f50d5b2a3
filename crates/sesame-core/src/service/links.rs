//! One-use links sent by SMS or e-mail (DESIGN §5.8): 256-bit random tokens kept only as
//! digests, with a short life, the newest of a kind per participant the only valid one.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Provider, ServiceError};
use crate::crypto::token_digest;
use crate::participant::ParticipantId;
use crate::state::{get_json, put_json, take_json};

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    VerifyPhone,
    VerifyEmail,
}

impl LinkKind {
    fn name(self) -> &'static str {
        match self {
            Self::VerifyPhone => "verify-phone",
            Self::VerifyEmail => "verify-email",
        }
    }
}

/// A link as kept in short-lived state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub kind: LinkKind,
    pub participant: ParticipantId,
    /// The phone number (E.164) or e-mail address the link proves.
    pub target: String,
    pub created_at: DateTime<Utc>,
}

impl Provider {
    /// Makes a link token; any earlier link of the same kind for the participant dies.
    pub(crate) async fn create_link(
        &self,
        kind: LinkKind,
        participant: ParticipantId,
        target: &str,
        ttl: Duration,
    ) -> Result<String, ServiceError> {
        let token = self.deps.random.token(32);
        let digest = token_digest(&token);
        let record = LinkRecord {
            kind,
            participant,
            target: target.to_owned(),
            created_at: self.now(),
        };
        let state = self.deps.state.as_ref();
        put_json(state, &format!("link:{digest}"), &record, ttl).await?;
        put_json(state, &latest_key(kind, participant), &digest, ttl).await?;
        Ok(token)
    }

    /// The live link behind a token, without using it (the GET page).
    pub async fn peek_link(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<Option<LinkRecord>, ServiceError> {
        let digest = token_digest(token);
        let record: Option<LinkRecord> =
            get_json(self.deps.state.as_ref(), &format!("link:{digest}")).await?;
        let Some(record) = record.filter(|r| r.kind == kind) else {
            return Ok(None);
        };
        Ok(self.is_latest(&record, &digest).await?.then_some(record))
    }

    /// Uses a link once (the POST): single use, newest only.
    pub(crate) async fn use_link(
        &self,
        kind: LinkKind,
        token: &str,
    ) -> Result<Option<LinkRecord>, ServiceError> {
        let digest = token_digest(token);
        let record: Option<LinkRecord> =
            take_json(self.deps.state.as_ref(), &format!("link:{digest}")).await?;
        let Some(record) = record.filter(|r| r.kind == kind) else {
            return Ok(None);
        };
        if !self.is_latest(&record, &digest).await? {
            return Ok(None);
        }
        self.deps
            .state
            .delete(&latest_key(kind, record.participant))
            .await?;
        Ok(Some(record))
    }

    /// The anti-CSRF value of a link's page for one browser.
    pub fn link_csrf(&self, browser: &str, token: &str) -> String {
        let mac = crate::crypto::hmac_sha256(
            &self.otp_key,
            format!("link-csrf\u{0}{browser}\u{0}{token}").as_bytes(),
        );
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, mac)
    }

    /// Checks a link page's anti-CSRF value.
    pub fn link_csrf_matches(&self, browser: &str, token: &str, presented: &str) -> bool {
        crate::crypto::constant_time_eq(
            self.link_csrf(browser, token).as_bytes(),
            presented.as_bytes(),
        )
    }

    async fn is_latest(&self, record: &LinkRecord, digest: &str) -> Result<bool, ServiceError> {
        let latest: Option<String> = get_json(
            self.deps.state.as_ref(),
            &latest_key(record.kind, record.participant),
        )
        .await?;
        Ok(latest.as_deref() == Some(digest))
    }
}

fn latest_key(kind: LinkKind, participant: ParticipantId) -> String {
    format!("link-latest:{}:{participant}", kind.name())
}
