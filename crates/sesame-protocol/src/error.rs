//! Error codes of RFC 6749 §4.1.2.1 and §5.2, and OIDC Core §3.1.2.6.

use serde::Serialize;

/// Errors returned from the authorization endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizeErrorCode {
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
    InteractionRequired,
    LoginRequired,
    ConsentRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    RegistrationNotSupported,
    UnmetAuthenticationRequirements,
}

impl AuthorizeErrorCode {
    /// The code as it travels on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InteractionRequired => "interaction_required",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
        }
    }
}

/// Errors returned from the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// RFC 6750 §3.1, used by the userinfo endpoint.
    InvalidToken,
    ServerError,
}

impl TokenErrorCode {
    /// The code as it travels on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidToken => "invalid_token",
            Self::ServerError => "server_error",
        }
    }
}

/// An error body as RFC 6749 §5.2 lays it out. The description is written for the
/// RP developer; it never names an account or a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError<C> {
    pub error: C,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl<C> OAuthError<C> {
    /// An error with a description restricted to the RFC 6749 character set.
    pub fn new(error: C, description: &str) -> Self {
        Self {
            error,
            error_description: Some(sanitize_description(description)),
        }
    }
}

/// RFC 6749 §4.1.2.1: `error_description` uses %x20-21 / %x23-5B / %x5D-7E only.
pub fn sanitize_description(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6749_4_1_2_1_description_charset() {
        assert_eq!(sanitize_description("bad \"x\"\n\\é"), "bad x");
    }

    #[test]
    fn codes_serialise_as_on_the_wire() {
        let json = serde_json::to_string(&AuthorizeErrorCode::LoginRequired).unwrap_or_default();
        assert_eq!(json, "\"login_required\"");
        assert_eq!(TokenErrorCode::InvalidGrant.as_str(), "invalid_grant");
    }
}
