//! Security events for the audit table (DESIGN §5.9): typed, never free-form log lines.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::participant::ParticipantId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    LoginPasswordAccepted,
    LoginPasswordRefused,
    CodeSent,
    CodeRefused,
    CodeLockedOut,
    LoginSucceeded,
    TokensIssued,
    CodeReplayed,
    RefreshReplayed,
    TokenRevoked,
    LoggedOut,
    PasswordChanged,
    ActionDone,
    ActionRequired,
    PhoneRegistered,
    PhoneDeclined,
    PhoneVerified,
    EmailVerified,
    TermsAccepted,
    CaptchaRefused,
    ResetRequested,
    ResetLinkSent,
    ResetThrottled,
    /// A request refused by an abuse limit; the detail says which (DESIGN §5.4).
    Throttled,
    PasswordReset,
    ActivationLinkSent,
    Activated,
    GrantRevoked,
    ParticipantImported,
    ClientCreated,
    ClientDeleted,
    SigningKeyCreated,
}

impl AuditKind {
    /// The stored name.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// One audit record. `detail` carries no secret and no contact data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub kind: AuditKind,
    pub participant: Option<ParticipantId>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_snake_case_names() {
        assert_eq!(AuditKind::CodeReplayed.as_str(), "code_replayed");
    }
}
