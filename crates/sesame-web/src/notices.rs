//! Notices put in words: e-mails (a plain-text part from the theme's message files and an
//! HTML alternative from its `mail/*.html` templates) and SMS texts.

use std::sync::Arc;

use serde_json::{Map, Value};
use sesame_core::notify::{Notice, NoticeWriter, Written};

use crate::theme::{Theme, Themes, fill};

/// Writes notices in the participant's language with the default theme's messages.
pub struct Notices {
    themes: Arc<Themes>,
    /// " (phone, e-mail)" of the support, or empty: the text part's `{support}`.
    support: String,
    /// The support's phone and e-mail, for the footer of the HTML part.
    contacts: Vec<String>,
    verify_hours: i64,
}

impl Notices {
    /// The writer, with the support contacts that notices mention.
    pub fn new(themes: Arc<Themes>, ui: &crate::UiSettings, verify_hours: i64) -> Self {
        let contacts: Vec<String> = [&ui.support_phone, &ui.support_email]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let support = if contacts.is_empty() {
            String::new()
        } else {
            format!(" ({})", contacts.join(", "))
        };
        Self {
            themes,
            support,
            contacts,
            verify_hours,
        }
    }

    /// An e-mail: the subject and text from the message keys `mail.{key}_subject` and
    /// `mail.{key}_body`, the HTML from the template `mail/{key}.html`, each with `args`.
    fn email(&self, theme: &Theme, lang: &str, key: &str, args: &[(&str, String)]) -> Written {
        let subject = theme.message(lang, &format!("mail.{key}_subject"));
        let text = fill(&theme.message(lang, &format!("mail.{key}_body")), args);
        let html = self.html(theme, lang, key, &subject, args);
        Written {
            subject,
            text,
            html,
        }
    }

    /// The HTML part; `None` (the text goes alone) if the template cannot be rendered.
    fn html(
        &self,
        theme: &Theme,
        lang: &str,
        key: &str,
        subject: &str,
        args: &[(&str, String)],
    ) -> Option<String> {
        let mut context: Map<String, Value> = args
            .iter()
            .map(|(name, value)| ((*name).to_owned(), Value::from(value.as_str())))
            .collect();
        context.insert("lang".into(), lang.into());
        context.insert("subject".into(), subject.into());
        context.insert("contacts".into(), self.contacts.clone().into());
        let template = format!("mail/{key}.html");
        match theme.render(&template, &Value::Object(context)) {
            Ok(html) => Some(html),
            Err(error) => {
                tracing::error!(
                    theme = theme.name(),
                    %template,
                    %error,
                    "mail template failed; the e-mail goes as text only"
                );
                None
            }
        }
    }

    /// An SMS: text only.
    fn sms(text: String) -> Written {
        Written {
            subject: String::new(),
            text,
            html: None,
        }
    }
}

impl NoticeWriter for Notices {
    fn write(&self, notice: &Notice, lang: &str) -> Written {
        let theme = self.themes.get(None);
        let support = ("support", self.support.clone());
        match notice {
            Notice::LoginCode { code, ttl_minutes } => {
                let args = [
                    ("code", code.expose().to_owned()),
                    ("minutes", ttl_minutes.to_string()),
                ];
                self.email(&theme, lang, "code", &args)
            }
            Notice::LoginCodeSms { code, host } => {
                let body = fill(
                    &theme.message(lang, "sms.code"),
                    &[("code", code.expose().to_owned())],
                );
                // WebOTP: the last line binds the code to the origin, so phones offer to
                // fill it in.
                Self::sms(format!("{body}\n\n@{host} #{}", code.expose()))
            }
            Notice::PasswordChanged => self.email(&theme, lang, "password_changed", &[support]),
            Notice::PhoneRegistered { masked } => {
                let args = [("masked", masked.clone()), support];
                self.email(&theme, lang, "phone_registered", &args)
            }
            Notice::PhoneLink { url } => Self::sms(fill(
                &theme.message(lang, "sms.phone_link"),
                &[("url", url.clone())],
            )),
            Notice::ResetLink { url, minutes } => {
                let args = [("url", url.clone()), ("minutes", minutes.to_string())];
                self.email(&theme, lang, "reset_link", &args)
            }
            Notice::ResetLinkSms { url } => Self::sms(fill(
                &theme.message(lang, "sms.reset_link"),
                &[("url", url.clone())],
            )),
            Notice::ActivationLink { url, hours } => {
                let args = [("url", url.clone()), ("hours", hours.to_string())];
                self.email(&theme, lang, "activation_link", &args)
            }
            Notice::EmailLink { url } => {
                let args = [
                    ("url", url.clone()),
                    ("hours", self.verify_hours.to_string()),
                ];
                self.email(&theme, lang, "email_link", &args)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::ThemeFiles;
    use sesame_core::SecretString;

    const LANGS: [&str; 2] = ["fr", "en"];

    fn notices() -> Notices {
        let Ok(themes) = Themes::load(ThemeFiles::new(None), "base", &[]) else {
            panic!("load")
        };
        let ui = crate::UiSettings {
            support_phone: Some("01 23".into()),
            support_email: Some("aide@example.org".into()),
            ..Default::default()
        };
        Notices::new(Arc::new(themes), &ui, 24)
    }

    fn code_mail() -> Notice {
        Notice::LoginCode {
            code: SecretString::new("123456"),
            ttl_minutes: 10,
        }
    }

    /// A link as the provider builds it from the issuer, with characters HTML must escape.
    const LINK: &str = "https://login.example.org/sesame/verify/email/a<b>&c\"d'e";

    fn email_link() -> Notice {
        Notice::EmailLink { url: LINK.into() }
    }

    /// Every e-mail notice, with what its HTML must show.
    fn emails() -> Vec<(Notice, &'static str)> {
        vec![
            (code_mail(), "123456"),
            (Notice::PasswordChanged, "01 23"),
            (
                Notice::PhoneRegistered {
                    masked: "06 •• •• •• 78".into(),
                },
                "06 •• •• •• 78",
            ),
            (email_link(), LINK),
        ]
    }

    /// What minijinja's HTML escaping makes of `text`.
    fn escaped(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;")
    }

    fn html(notice: &Notice, lang: &str) -> String {
        let Some(html) = notices().write(notice, lang).html else {
            panic!("no HTML for {notice:?} in {lang}")
        };
        html
    }

    #[test]
    fn code_mail_carries_the_code() {
        let written = notices().write(&code_mail(), "fr");
        assert!(written.subject.contains("code"));
        assert!(written.text.contains("123456") && written.text.contains("10 minutes"));
    }

    #[test]
    fn the_text_part_is_the_message_file_body() {
        let written = notices().write(&code_mail(), "fr");
        // The message file puts a narrow no-break space before each colon.
        let expected = "Bonjour,\n\nVotre code de connexion est\u{202f}: 123456\n\n\
                        Il est valable 10 minutes. Si vous n'êtes pas à l'origine de cette \
                        demande, ignorez ce message\u{202f}: sans ce code, personne ne peut se \
                        connecter à votre compte.\n";
        assert_eq!(written.text, expected);
        let link = notices().write(&email_link(), "en").text;
        assert!(link.contains(&format!("\n{LINK}\n\n")), "{link}");
    }

    #[test]
    fn sms_code_ends_with_the_webotp_line() {
        let notice = Notice::LoginCodeSms {
            code: SecretString::new("654321"),
            host: "login.example.org".into(),
        };
        let written = notices().write(&notice, "fr");
        assert!(
            written.text.ends_with("\n@login.example.org #654321"),
            "{}",
            written.text
        );
    }

    #[test]
    fn sms_have_no_subject_and_no_html() {
        let sms = [
            Notice::LoginCodeSms {
                code: SecretString::new("654321"),
                host: "login.example.org".into(),
            },
            Notice::PhoneLink { url: LINK.into() },
        ];
        for notice in sms {
            let written = notices().write(&notice, "fr");
            assert_eq!((written.subject.as_str(), written.html), ("", None));
        }
    }

    #[test]
    fn notices_name_the_support() {
        let written = notices().write(&Notice::PasswordChanged, "fr");
        assert!(written.text.contains("(01 23, aide@example.org)"));
    }

    #[test]
    fn every_email_has_html_in_each_language_with_its_content_escaped() {
        for (notice, shown) in emails() {
            for lang in LANGS {
                let html = html(&notice, lang);
                assert!(html.contains(&escaped(shown)), "{lang} {notice:?}: {html}");
                assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{html}");
                assert!(
                    html.contains("<h1 ") && html.contains(">Sesame</h1>"),
                    "{html}"
                );
            }
        }
    }

    #[test]
    fn the_html_is_in_the_participants_language() {
        let (fr, en) = (html(&code_mail(), "fr"), html(&code_mail(), "en"));
        assert!(fr.contains("Votre code de connexion est\u{202f}:"), "{fr}");
        assert!(en.contains("Your login code is:"), "{en}");
        let link = html(&email_link(), "en");
        assert!(link.contains("Open the confirmation page</a>"), "{link}");
        assert!(link.contains("valid for 24 hours"), "{link}");
    }

    #[test]
    fn the_link_is_escaped_and_never_raw() {
        let html = html(&email_link(), "fr");
        assert!(!html.contains("a<b>") && !html.contains("&c\""), "{html}");
        let href = format!("href=\"{}\"", escaped(LINK));
        assert_eq!(
            html.matches(&href).count(),
            2,
            "button and fallback: {html}"
        );
    }

    #[test]
    fn the_only_links_are_the_notices_own() {
        for (notice, _) in emails() {
            let html = html(&notice, "fr");
            let own = usize::from(matches!(notice, Notice::EmailLink { .. })) * 2;
            assert_eq!(html.matches("href=").count(), own, "{notice:?}: {html}");
            assert!(
                !html.contains("<script") && !html.contains("<img"),
                "{html}"
            );
        }
    }

    #[test]
    fn the_footer_lists_the_support_contacts() {
        let html = html(&Notice::PasswordChanged, "en");
        assert!(
            html.contains("Support: 01 23, aide@example.org</p>\n</footer>"),
            "{html}"
        );
        let themes = notices().themes;
        let bare = Notices::new(themes, &crate::UiSettings::default(), 24);
        let html = bare.write(&Notice::PasswordChanged, "en").html;
        assert!(html.is_some_and(|h| !h.contains("<footer")));
    }
}
