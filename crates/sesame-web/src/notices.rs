//! Notices put in words: e-mails and SMS texts from the theme's message files.

use std::sync::Arc;

use sesame_core::notify::{Notice, NoticeWriter};

use crate::theme::{Themes, fill};

/// Writes notices in the participant's language with the default theme's messages.
pub struct Notices {
    themes: Arc<Themes>,
    /// " (phone, e-mail)" of the support, or empty.
    support: String,
    verify_hours: i64,
}

impl Notices {
    /// The writer, with the support contacts that notices mention.
    pub fn new(themes: Arc<Themes>, ui: &crate::UiSettings, verify_hours: i64) -> Self {
        let contacts: Vec<&str> = [ui.support_phone.as_deref(), ui.support_email.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let support = if contacts.is_empty() {
            String::new()
        } else {
            format!(" ({})", contacts.join(", "))
        };
        Self {
            themes,
            support,
            verify_hours,
        }
    }
}

impl NoticeWriter for Notices {
    fn write(&self, notice: &Notice, lang: &str) -> (String, String) {
        let theme = self.themes.get(None);
        let text = |key: &str, args: &[(&str, String)]| fill(&theme.message(lang, key), args);
        let support = ("support", self.support.clone());
        match notice {
            Notice::LoginCode { code, ttl_minutes } => {
                let args = [
                    ("code", code.expose().to_owned()),
                    ("minutes", ttl_minutes.to_string()),
                ];
                (
                    text("mail.code_subject", &[]),
                    text("mail.code_body", &args),
                )
            }
            Notice::LoginCodeSms { code, host } => {
                // WebOTP: the last line binds the code to the origin, so phones offer to
                // fill it in.
                let body = text("sms.code", &[("code", code.expose().to_owned())]);
                (
                    String::new(),
                    format!("{body}\n\n@{host} #{}", code.expose()),
                )
            }
            Notice::PasswordChanged => (
                text("mail.password_changed_subject", &[]),
                text("mail.password_changed_body", &[support]),
            ),
            Notice::PhoneRegistered { masked } => {
                let args = [("masked", masked.clone()), support];
                (
                    text("mail.phone_registered_subject", &[]),
                    text("mail.phone_registered_body", &args),
                )
            }
            Notice::PhoneLink { url } => (
                String::new(),
                text("sms.phone_link", &[("url", url.clone())]),
            ),
            Notice::EmailLink { url } => {
                let args = [
                    ("url", url.clone()),
                    ("hours", self.verify_hours.to_string()),
                ];
                (
                    text("mail.email_link_subject", &[]),
                    text("mail.email_link_body", &args),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::ThemeFiles;
    use sesame_core::SecretString;

    fn notices() -> Notices {
        let Ok(themes) = Themes::load(ThemeFiles::new(None), "base", &[]) else {
            panic!("load")
        };
        let ui = crate::UiSettings {
            support_phone: Some("01 23".into()),
            ..Default::default()
        };
        Notices::new(Arc::new(themes), &ui, 24)
    }

    #[test]
    fn code_mail_carries_the_code() {
        let notice = Notice::LoginCode {
            code: SecretString::new("123456"),
            ttl_minutes: 10,
        };
        let (subject, body) = notices().write(&notice, "fr");
        assert!(subject.contains("code"));
        assert!(body.contains("123456") && body.contains("10 minutes"));
    }

    #[test]
    fn sms_code_ends_with_the_webotp_line() {
        let notice = Notice::LoginCodeSms {
            code: SecretString::new("654321"),
            host: "login.example.org".into(),
        };
        let (_, body) = notices().write(&notice, "fr");
        assert!(body.ends_with("\n@login.example.org #654321"), "{body}");
    }

    #[test]
    fn notices_name_the_support() {
        let (_, body) = notices().write(&Notice::PasswordChanged, "fr");
        assert!(body.contains("(01 23)"));
    }
}
