//! Assurance levels (`acr`) and authentication methods (`amr`, RFC 8176).

use serde::{Deserialize, Serialize};

/// Authentication context classes, ordered from weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Acr {
    /// Password only.
    Pwd,
    /// Password and a one-time code.
    Mfa,
}

impl Acr {
    /// The value as it appears in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Mfa => "mfa",
        }
    }

    /// Parses a configured or requested value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pwd" => Some(Self::Pwd),
            "mfa" => Some(Self::Mfa),
            _ => None,
        }
    }
}

/// Authentication method references (RFC 8176 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Amr {
    Pwd,
    /// A one-time code sent by e-mail.
    Otp,
    /// A one-time code sent by SMS.
    Sms,
    Mfa,
}

/// The channel a one-time code travelled by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

/// `amr` for a password followed by a code on `channel`.
pub fn amr_for_code(channel: Channel) -> Vec<Amr> {
    let code = match channel {
        Channel::Email => Amr::Otp,
        Channel::Sms => Amr::Sms,
    };
    vec![Amr::Pwd, code, Amr::Mfa]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8176_email_code_login() {
        let json = serde_json::to_string(&amr_for_code(Channel::Email)).unwrap_or_default();
        assert_eq!(json, r#"["pwd","otp","mfa"]"#);
        assert!(Acr::Mfa > Acr::Pwd);
    }
}
