//! Participants of the cohort and what Sesame knows of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::number::CohortNumber;

/// The opaque, stable identifier behind `sub` (DESIGN §5.10). Never the cohort number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub Uuid);

impl ParticipantId {
    /// A new random identifier.
    pub fn generate() -> Self {
        Self(Uuid::new_v4())
    }
}

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Steps a participant must complete after the second factor (DESIGN §3), in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequiredAction {
    UpdatePassword,
    RegisterPhone,
    VerifyEmail,
    AcceptTerms,
}

impl RequiredAction {
    /// Parses the name used in configuration, import files and the CLI.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "update-password" => Some(Self::UpdatePassword),
            "register-phone" => Some(Self::RegisterPhone),
            "verify-email" => Some(Self::VerifyEmail),
            "accept-terms" => Some(Self::AcceptTerms),
            _ => None,
        }
    }
}

/// Profile claims released with the `profile` scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
}

/// A participant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub id: ParticipantId,
    pub number: CohortNumber,
    pub email: Option<String>,
    pub email_verified: bool,
    /// E.164.
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub profile: Profile,
    /// A PHC string; `None` while the account waits for activation.
    pub password_hash: Option<crate::password::PasswordHash>,
    pub required_actions: Vec<RequiredAction>,
    /// When the participant ticked "no mobile"; asked again after `phone_reask_after`.
    pub phone_declined_at: Option<DateTime<Utc>>,
    /// The version of the terms accepted, and when.
    pub terms_accepted: Option<TermsAcceptance>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A recorded acceptance of the terms of use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsAcceptance {
    pub version: String,
    pub at: DateTime<Utc>,
}

/// One participant to create or update, as an import line or a seed gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRecord {
    pub number: CohortNumber,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub profile: Profile,
    pub password_hash: Option<crate::password::PasswordHash>,
    pub required_actions: Vec<RequiredAction>,
}

/// Masks an e-mail address for display: `j•••@example.org`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_use_their_config_names() {
        assert_eq!(
            RequiredAction::parse("update-password"),
            Some(RequiredAction::UpdatePassword)
        );
        assert_eq!(RequiredAction::parse("nope"), None);
        let json = serde_json::to_string(&RequiredAction::RegisterPhone).unwrap_or_default();
        assert_eq!(json, "\"register-phone\"");
        assert!(RequiredAction::UpdatePassword < RequiredAction::AcceptTerms);
    }

    #[test]
    fn email_is_masked() {
        assert_eq!(mask_email("jeanne@example.org"), "j•••@example.org");
        assert_eq!(mask_email("bad"), "•••");
    }
}
