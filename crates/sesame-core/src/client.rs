//! Relying parties registered with Sesame.

use serde::{Deserialize, Serialize};

use crate::acr::Acr;
use crate::crypto::{constant_time_eq, token_digest};
use crate::keys::SigningAlg;

/// How a client proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    /// The `token_endpoint_auth_method` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    /// Parses a `token_endpoint_auth_method` name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// `web` clients have exact redirect URIs; `native` ones may use any loopback port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    Web,
    Native,
}

/// Where a client was declared: the configuration file (read-only) or the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientSource {
    File,
    Database,
}

/// The SHA-256 digest of a client secret; the secret itself is never kept.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretDigest(String);

impl SecretDigest {
    /// Digests a secret.
    pub fn of(secret: &str) -> Self {
        Self(token_digest(secret))
    }

    /// Wraps a digest read from storage.
    pub fn from_stored(digest: String) -> Self {
        Self(digest)
    }

    /// The digest, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares a presented secret in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        constant_time_eq(token_digest(presented).as_bytes(), self.0.as_bytes())
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest([redacted])")
    }
}

/// How `sub` is computed for a client (OIDC Core §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SubjectType {
    /// The participant's opaque identifier, the same for every client.
    Public,
    /// A value derived from the participant and the sector: clients of different
    /// sectors cannot correlate participants.
    Pairwise { sector: String },
}

/// Where and how the client receives back-channel logout tokens (Back-Channel Logout 1.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackchannelLogout {
    pub uri: String,
    /// The client needs `sid` in the logout token.
    pub session_required: bool,
    /// The operator allows this URI's host even if it resolves to a private or loopback
    /// address (DESIGN §5.11).
    pub allow_private: bool,
}

/// A relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub secret: Option<SecretDigest>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: AuthMethod,
    pub application_type: ApplicationType,
    pub scopes: Vec<String>,
    pub id_token_alg: SigningAlg,
    pub minimum_acr: Acr,
    pub theme: Option<String>,
    pub home_url: Option<String>,
    pub source: ClientSource,
    /// Refresh tokens are issued to this client.
    pub refresh_tokens: bool,
    /// The client may use the `client_credentials` grant (service calls, no participant).
    pub client_credentials: bool,
    pub subject: SubjectType,
    pub backchannel_logout: Option<BackchannelLogout>,
    /// Actions this client adds before its codes (DESIGN §3 "Required actions").
    pub required_actions: Vec<crate::participant::RequiredAction>,
}

impl Client {
    /// A public client has no secret and must use PKCE.
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// The view the protocol's request validation needs.
    pub fn view(&self) -> sesame_protocol::authorize::ClientView<'_> {
        sesame_protocol::authorize::ClientView {
            redirect_uris: &self.redirect_uris,
            public: self.is_public(),
            native: self.application_type == ApplicationType::Native,
            scopes: &self.scopes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_digest_matches_only_the_secret() {
        let d = SecretDigest::of("s3cret");
        assert!(d.matches("s3cret"));
        assert!(!d.matches("s3cret "));
        assert!(!format!("{d:?}").contains(d.as_str()));
    }
}
