//! The participant as the demo site sees them once logged in: verified ID token claims plus
//! what userinfo released.

use std::ops::Deref;

use chrono::{DateTime, Utc};
use openidconnect::core::CoreGenderClaim;
use openidconnect::{AdditionalClaims, IdTokenClaims, LocalizedClaim, UserInfoClaims};
use serde::{Deserialize, Serialize};

/// Claims beyond the standard ones that the cohort's provider may release.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct CohortClaims {
    /// The participant's cohort number, released with the `cohort` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort_number: Option<String>,
}

impl AdditionalClaims for CohortClaims {}

/// A userinfo answer as the demo reads it.
pub type DemoUserInfo = UserInfoClaims<CohortClaims, CoreGenderClaim>;

/// ID token claims beyond the standard ones that the demo keeps.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct SessionClaims {
    /// The provider's session id (Back-Channel Logout 1.0 §2.1), named again by the logout
    /// token when that session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl AdditionalClaims for SessionClaims {}

/// The claims of a verified ID token as the demo reads them.
pub type DemoIdTokenClaims = IdTokenClaims<SessionClaims, CoreGenderClaim>;

/// What the demo shows of a logged-in participant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// The opaque subject identifier.
    pub sub: String,
    /// `given_name`, from userinfo or else the ID token.
    pub given_name: Option<String>,
    /// `family_name`, from userinfo or else the ID token.
    pub family_name: Option<String>,
    /// `email`, from userinfo or else the ID token.
    pub email: Option<String>,
    /// `cohort_number`, from userinfo.
    pub cohort_number: Option<String>,
    /// `acr` of the ID token.
    pub acr: Option<String>,
    /// `amr` of the ID token, in order.
    pub amr: Vec<String>,
    /// `auth_time` of the ID token.
    pub auth_time: Option<DateTime<Utc>>,
}

impl Identity {
    /// Combines the verified ID token claims with the userinfo answer (whose `sub` the
    /// userinfo request already checked against the ID token's).
    pub fn from_claims(id_token: &DemoIdTokenClaims, userinfo: &DemoUserInfo) -> Self {
        Self {
            sub: id_token.subject().to_string(),
            given_name: first(userinfo.given_name()).or_else(|| first(id_token.given_name())),
            family_name: first(userinfo.family_name()).or_else(|| first(id_token.family_name())),
            email: userinfo.email().or(id_token.email()).map(|e| e.to_string()),
            cohort_number: userinfo.additional_claims().cohort_number.clone(),
            acr: id_token.auth_context_ref().map(|acr| acr.to_string()),
            amr: id_token
                .auth_method_refs()
                .map(|amr| amr.iter().map(|m| m.to_string()).collect())
                .unwrap_or_default(),
            auth_time: id_token.auth_time(),
        }
    }

    /// An identity with only a subject, for tests.
    #[cfg(test)]
    pub fn with_subject(sub: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            ..Self::default()
        }
    }
}

/// The value without a language tag, or else the first one given.
fn first<T: Deref<Target = String>>(claim: Option<&LocalizedClaim<T>>) -> Option<String> {
    let claim = claim?;
    let value = claim
        .get(None)
        .or_else(|| claim.iter().next().map(|(_, v)| v))?;
    Some(value.deref().clone())
}
