//! The provider's use cases, each a method on [`Provider`]: authorize, the login steps,
//! the token exchange and userinfo. They reach the world only through the traits of
//! [`Deps`], so the web layer stays thin and tests can drive them directly.

mod actions;
mod authorize;
mod captcha;
mod client_auth;
mod contacts;
mod limits;
mod links;
mod login;
mod logout;
mod recovery;
mod refresh;
mod revocation;
mod token;
mod userinfo;

pub use authorize::{AuthResponse, BrowserContext};
pub use contacts::LinkOutcome;
pub use limits::Device;
pub use links::LinkKind;
pub use login::{Credentials, FlowForm};
pub use logout::{LogoutOutcome, LogoutRequest};
pub use recovery::{LinkPassword, LinkRequest, RequestOutcome};
pub use revocation::Introspection;
pub use token::TokenError;
pub use userinfo::BearerError;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sesame_protocol::authorize::{AuthorizationRequest, PageError};

use crate::audit::{AuditEvent, AuditKind};
use crate::client::Client;
use crate::clock::Clock;
use crate::crypto::{Sealer, derive_key};
use crate::keys::{KeyError, KeyRing};
use crate::notify::{NoticeWriter, OutboxSignal};
use crate::participant::ParticipantId;
use crate::password::PasswordHash;
use crate::policy::Policy;
use crate::random::Random;
use crate::secret::SecretString;
use crate::session::SsoSession;
use crate::state::{StateError, StateStore};
use crate::store::{
    AuditStore, ClientStore, GrantStore, LinkStore, OutboxStore, ParticipantStore,
    RefreshTokenStore, StoreError,
};

/// Password hashing, run where it does not block the async runtime.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a new password.
    async fn hash(&self, password: SecretString) -> Option<PasswordHash>;
    /// Verifies a password against a stored hash.
    async fn verify(&self, password: SecretString, stored: PasswordHash) -> bool;
}

/// Hashes on the calling thread; for tests and tools only.
#[derive(Debug, Default, Clone, Copy)]
pub struct InlineHasher;

#[async_trait]
impl PasswordHasher for InlineHasher {
    async fn hash(&self, password: SecretString) -> Option<PasswordHash> {
        crate::password::hash(&password).ok()
    }
    async fn verify(&self, password: SecretString, stored: PasswordHash) -> bool {
        crate::password::verify(&password, &stored)
    }
}

/// Clients declared in the configuration file, then those stored in the database.
pub struct Clients {
    file: Vec<Client>,
    store: Arc<dyn ClientStore>,
}

impl Clients {
    /// Both sources; the caller has checked that no id appears in both.
    pub fn new(file: Vec<Client>, store: Arc<dyn ClientStore>) -> Self {
        Self { file, store }
    }

    /// Finds a client by id.
    pub async fn get(&self, id: &str) -> Result<Option<Client>, StoreError> {
        match self.file.iter().find(|c| c.id == id) {
            Some(client) => Ok(Some(client.clone())),
            None => self.store.get(id).await,
        }
    }
}

/// Everything the provider reaches through a trait.
pub struct Deps {
    pub participants: Arc<dyn ParticipantStore>,
    pub clients: Clients,
    pub grants: Arc<dyn GrantStore>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub links: Arc<dyn LinkStore>,
    pub audit: Arc<dyn AuditStore>,
    pub outbox: Arc<dyn OutboxStore>,
    pub outbox_signal: Arc<dyn OutboxSignal>,
    pub notices: Arc<dyn NoticeWriter>,
    pub state: Arc<dyn StateStore>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
}

/// An internal failure: the detail goes to the log, the participant sees a generic page
/// and the RP a `server_error`.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("sealing failed")]
    Seal,
}

/// Pages that end a ceremony without a way back to the RP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPage {
    /// The authorization request cannot be trusted.
    Request(PageError),
    /// A page came back without anything to restart from.
    Expired,
}

/// What the web layer must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Show Sesame's error page.
    ErrorPage(ErrorPage),
    /// Show the login flow's current step (`/login?flow=…`).
    Show { flow_id: String },
    /// Answer the RP's authorization request (a code or an error).
    Respond(AuthResponse),
    /// The second factor is done: set the session cookie, then go on.
    LoggedIn {
        session: SsoSession,
        /// The tag of the number logged in as, for the browser's device cookie.
        number_tag: Option<String>,
        then: Box<Outcome>,
    },
}

/// The authorization request as the pages carry it: sealed, so it cannot be read or
/// altered, and usable to restart a ceremony whose flow has expired (DESIGN §5.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedRequest {
    pub request: AuthorizationRequest,
    pub started_at: DateTime<Utc>,
    /// The cohort number typed so far, kept across a restart.
    #[serde(default)]
    pub number: Option<String>,
    /// The `sub` of a valid `id_token_hint`.
    #[serde(default)]
    pub hint_sub: Option<String>,
}

/// What the provider is configured with.
pub struct Settings {
    pub issuer: String,
    pub policy: Policy,
    pub cookie_secret: SecretString,
    pub master_secret: SecretString,
    pub captcha_secret: SecretString,
}

/// The provider: settings, keys and dependencies.
pub struct Provider {
    pub(crate) deps: Deps,
    pub(crate) issuer: String,
    pub(crate) policy: Policy,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) otp_key: [u8; 32],
    pub(crate) request_sealer: Sealer,
    /// Keys pairwise subjects; derived from the master key so that it never changes
    /// when the cookie key is rotated.
    pub(crate) pairwise_key: [u8; 32],
    pub(crate) captcha_key: [u8; 32],
    pub(crate) logout_sealer: Sealer,
}

impl Provider {
    /// Builds a provider. `cookie_secret` keys the sealed requests and code digests;
    /// `master_secret` keys the pairwise subjects.
    pub fn new(deps: Deps, settings: Settings, keys: Arc<KeyRing>) -> Self {
        let Settings {
            issuer,
            policy,
            cookie_secret,
            master_secret,
            captcha_secret,
        } = settings;
        Self {
            deps,
            issuer,
            policy,
            keys,
            otp_key: derive_key(cookie_secret.expose().as_bytes(), "otp"),
            request_sealer: Sealer::new(cookie_secret.expose().as_bytes(), "authorization-request"),
            logout_sealer: Sealer::new(cookie_secret.expose().as_bytes(), "logout-request"),
            pairwise_key: derive_key(master_secret.expose().as_bytes(), "pairwise-subject"),
            captcha_key: derive_key(captcha_secret.expose().as_bytes(), "captcha"),
        }
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The signing keys.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The dependencies, for health checks.
    pub fn deps(&self) -> &Deps {
        &self.deps
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.deps.clock.now()
    }

    /// Records an audit event; a failure is logged, never shown.
    pub(crate) async fn audit(
        &self,
        kind: AuditKind,
        participant: Option<ParticipantId>,
        client_id: Option<&str>,
        detail: serde_json::Value,
    ) {
        self.audit_from(None, kind, participant, client_id, detail)
            .await;
    }

    /// [`Self::audit`], naming the client address the event came from.
    pub(crate) async fn audit_from(
        &self,
        ip: Option<std::net::IpAddr>,
        kind: AuditKind,
        participant: Option<ParticipantId>,
        client_id: Option<&str>,
        detail: serde_json::Value,
    ) {
        let event = AuditEvent {
            at: self.now(),
            kind,
            participant,
            client_id: client_id.map(str::to_owned),
            ip: ip.map(|ip| ip.to_string()),
            detail,
        };
        if let Err(error) = self.deps.audit.record(&event).await {
            tracing::error!(%error, audit.kind = ?kind, "audit event not recorded");
        }
    }
}

#[cfg(test)]
mod tests;
