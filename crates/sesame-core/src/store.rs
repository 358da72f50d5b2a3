//! Durable storage, as the domain needs it. `sesame-store` implements these traits on
//! SQLite and PostgreSQL; one contract suite checks every implementation.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{AuditEvent, AuditKind};
use crate::client::Client;
use crate::keys::StoredKey;
use crate::notify::{Message, OutboxEntry};
use crate::number::CohortNumber;
use crate::participant::{
    Participant, ParticipantId, ParticipantRecord, RequiredAction, TermsAcceptance,
};
use crate::password::PasswordHash;

/// The database failed. The detail is for the log, never for a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("already exists")]
    Conflict,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// How an imported record met the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created,
    Updated,
}

/// Participants and their credentials.
#[async_trait]
pub trait ParticipantStore: Send + Sync {
    /// Finds a participant by cohort number.
    async fn by_number(&self, number: &CohortNumber) -> Result<Option<Participant>, StoreError>;
    /// Finds a participant by id.
    async fn by_id(&self, id: ParticipantId) -> Result<Option<Participant>, StoreError>;
    /// Creates or updates every record in one transaction: all or nothing. An existing
    /// participant keeps its password unless `replace_passwords`.
    async fn upsert_batch(
        &self,
        records: &[ParticipantRecord],
        replace_passwords: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<UpsertOutcome>, StoreError>;
    /// Replaces a participant's password hash (rehash on login, password change).
    async fn set_password(
        &self,
        id: ParticipantId,
        hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// How many participants exist.
    async fn count(&self) -> Result<u64, StoreError>;
    /// Up to `limit` participants without a password (not yet activated) whose numbers
    /// come after `after`, in number order: the pages of `sesame user invite --all-pending`.
    async fn without_password(
        &self,
        after: Option<&CohortNumber>,
        limit: u64,
    ) -> Result<Vec<Participant>, StoreError>;
    /// Replaces a participant's pending required actions.
    async fn set_required_actions(
        &self,
        id: ParticipantId,
        actions: &[RequiredAction],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Adds an action to every participant that lacks it; returns how many changed.
    async fn require_for_all(
        &self,
        action: RequiredAction,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Sets the mobile phone (E.164) and whether it is verified; clears "no mobile".
    async fn set_phone(
        &self,
        id: ParticipantId,
        phone: Option<&str>,
        verified: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Records that the participant has no mobile or will not give it.
    async fn set_phone_declined(
        &self,
        id: ParticipantId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Marks the e-mail address verified (only if it is still `email`).
    async fn set_email_verified(
        &self,
        id: ParticipantId,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Records the acceptance of a terms version.
    async fn accept_terms(
        &self,
        id: ParticipantId,
        acceptance: &TermsAcceptance,
    ) -> Result<(), StoreError>;
}

/// Clients created at run time (CLI, admin API); file clients never reach the database.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Every stored client.
    async fn list(&self) -> Result<Vec<Client>, StoreError>;
    /// One client.
    async fn get(&self, id: &str) -> Result<Option<Client>, StoreError>;
    /// Adds a client; `Conflict` if the id is taken.
    async fn insert(&self, client: &Client) -> Result<(), StoreError>;
    /// Removes a client; true if it existed.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;
}

/// A participant's authorization of a client: what tokens hang on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: Uuid,
    pub participant: ParticipantId,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub session_id: Option<String>,
    /// `offline_access` was granted: its refresh tokens outlive the SSO session.
    pub offline: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Grants, whose revocation kills their tokens at once at userinfo and introspection.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Records a grant.
    async fn create(&self, grant: &Grant) -> Result<(), StoreError>;
    /// Reads a grant.
    async fn get(&self, id: Uuid) -> Result<Option<Grant>, StoreError>;
    /// Revokes a grant; revoking twice is harmless.
    async fn revoke(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// The grants made under an SSO session that are not revoked, oldest first.
    async fn by_session(&self, session_id: &str) -> Result<Vec<Grant>, StoreError>;
    /// Revokes every live grant of a participant except those of `keep_session`; returns
    /// the grants revoked.
    async fn revoke_for_participant(
        &self,
        participant: ParticipantId,
        keep_session: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Grant>, StoreError>;
}

/// A refresh token as stored: only its digest, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token, base64url.
    pub digest: String,
    /// The family: every token of a grant dies with it.
    pub grant_id: Uuid,
    pub client_id: String,
    pub participant: ParticipantId,
    pub scopes: Vec<String>,
    pub auth_time: DateTime<Utc>,
    pub acr: crate::acr::Acr,
    pub amr: Vec<crate::acr::Amr>,
    /// The `sid` claim of the login.
    pub sid: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when the token was exchanged for a new one.
    pub used_at: Option<DateTime<Utc>>,
}

/// Refresh tokens, rotated at each use.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new token.
    async fn insert(&self, token: &RefreshToken) -> Result<(), StoreError>;
    /// Finds a token by digest.
    async fn get(&self, digest: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// Marks a token used, atomically: true for the one caller that did it, false if it
    /// was already used.
    async fn mark_used(&self, digest: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Deletes tokens that expired before `before`; returns how many.
    async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Signing keys, private parts sealed.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key.
    async fn all(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Adds a key.
    async fn insert(&self, key: &StoredKey) -> Result<(), StoreError>;
}

/// Which audit events to read: every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only the events of this participant.
    pub participant: Option<ParticipantId>,
    /// Only events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only events strictly before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only events of these kinds; empty means every kind.
    pub kinds: Vec<AuditKind>,
    /// At most this many events, the newest.
    pub limit: u64,
}

impl AuditFilter {
    /// The newest `limit` events, whatever they are.
    pub fn newest(limit: u64) -> Self {
        Self {
            participant: None,
            since: None,
            until: None,
            kinds: Vec::new(),
            limit,
        }
    }
}

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an event.
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The events that pass `filter`, newest first.
    async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;
    /// The newest events, newest first.
    async fn recent(&self, limit: u64) -> Result<Vec<AuditEvent>, StoreError> {
        self.query(&AuditFilter::newest(limit)).await
    }
    /// Deletes events older than `before`; returns how many.
    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The durable notification outbox.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queues a message; returns its id.
    async fn enqueue(&self, message: &Message, now: DateTime<Utc>) -> Result<i64, StoreError>;
    /// Messages due for a sending attempt, oldest first, still within their expiry.
    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Marks a message sent and drops its text.
    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records a failed attempt and when to try again.
    async fn mark_failed(&self, id: i64, next_attempt_at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Drops the text of unsent messages whose secret has expired; returns how many.
    async fn expire(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A one-use link as stored: only the digest of its token (DESIGN §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    /// SHA-256 of the token, base64url.
    pub digest: String,
    /// What the link does (`reset`, `activate`, `verify-phone`, `verify-email`).
    pub kind: String,
    pub participant: ParticipantId,
    /// The phone number or e-mail address the link proves, if any.
    pub target: Option<String>,
    /// Where to go on afterwards (a sealed authorization request), if any.
    pub context: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Links sent by e-mail or SMS. Durable, so that a restart does not kill them and the
/// CLI can create them (`sesame user invite`).
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Stores a link and deletes every other link of the same kind for the participant,
    /// in one transaction: only the newest one works.
    async fn insert_replacing(&self, link: &StoredLink) -> Result<(), StoreError>;
    /// The live link with this digest and kind, without using it.
    async fn peek(
        &self,
        digest: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredLink>, StoreError>;
    /// Uses a live link: deletes and returns it, atomically (at most one caller gets it).
    async fn take(
        &self,
        digest: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredLink>, StoreError>;
    /// Deletes every link of a kind for a participant (reset links die when the password
    /// changes); returns how many.
    async fn revoke_all(&self, participant: ParticipantId, kind: &str) -> Result<u64, StoreError>;
    /// Deletes links that expired before `before`; returns how many.
    async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
