//! The demo channel: e-mails and SMS printed to the terminal, where the participant of
//! `sesame demo` reads the code, and a note for each back-channel logout.

use std::io::Write as _;

use async_trait::async_trait;
use sesame_core::notify::{Message, Recipient};
use sesame_core::phone::mask_e164;

use crate::mailer::{Mailer, SendError};

/// Prints every message to standard output in a readable block. The recipient is masked;
/// the text is printed whole, since reading it is the point of this mode (an e-mail's HTML
/// alternative says the same and is left out). It bypasses `tracing` on purpose, so no log
/// collector ever receives a code. A back-channel logout is only noted, with the relying
/// party's host: its token is never printed.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConsoleMailer;

impl ConsoleMailer {
    /// A mailer that prints to standard output.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let block = render(message);
        let mut out = std::io::stdout().lock();
        let written = out.write_all(block.as_bytes()).and_then(|()| out.flush());
        written.map_err(|e| SendError::Transient(format!("console write failed: {}", e.kind())))
    }
}

/// The block printed for `message`.
fn render(message: &Message) -> String {
    let mut block = match &message.to {
        // The body is a logout token, a bearer credential for the RP: it is not printed.
        Recipient::Backchannel(uri) => {
            return format!("──── back-channel logout to {} ────\n\n", host_of(uri));
        }
        Recipient::Email(address) => {
            let subject = &message.subject;
            format!(
                "──── e-mail to {} ────\nSubject: {subject}\n\n",
                mask_email(address)
            )
        }
        Recipient::Sms(phone) => format!("──── SMS to {} ────\n", mask_e164(phone)),
    };
    block.push_str(&message.body);
    if !block.ends_with('\n') {
        block.push('\n');
    }
    block.push('\n');
    block
}

/// The host of a back-channel logout URI, or a placeholder if it has none.
fn host_of(uri: &str) -> String {
    let url = url::Url::parse(uri).ok();
    match url.as_ref().and_then(url::Url::host_str) {
        Some(host) => host.to_owned(),
        None => "an invalid URI".into(),
    }
}

/// `jean.dupont@example.org` → `j•••@example.org`.
fn mask_email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn message(to: Recipient, body: &str) -> Message {
        let subject = "Votre code de connexion".into();
        Message {
            to,
            subject,
            body: body.into(),
            html: None,
            expires_at: Utc::now(),
        }
    }

    #[test]
    fn prints_only_the_text_part_of_an_email() {
        let email = Recipient::Email("jean.dupont@example.org".into());
        let multipart = Message {
            html: Some("<p>Votre code : <strong>123456</strong></p>".into()),
            ..message(email.clone(), "Votre code : 123456")
        };
        assert_eq!(
            render(&multipart),
            render(&message(email, "Votre code : 123456"))
        );
    }

    #[test]
    fn renders_an_email_with_a_masked_address() {
        let email = Recipient::Email("jean.dupont@example.org".into());
        let block = render(&message(email, "Votre code : 123456"));
        let expected = "──── e-mail to j•••@example.org ────\nSubject: Votre code de connexion\n\n\
                        Votre code : 123456\n\n";
        assert_eq!(block, expected);
    }

    #[test]
    fn renders_an_sms_with_a_masked_number() {
        let sms = Recipient::Sms("+33612345678".into());
        let block = render(&message(sms, "Code Sesame : 123456\n"));
        assert_eq!(
            block,
            "──── SMS to 06 •• •• •• 78 ────\nCode Sesame : 123456\n\n"
        );
        let reunion = Recipient::Sms("+262692123456".into());
        let block = render(&message(reunion, "Code Sesame : 123456"));
        assert_eq!(
            block,
            "──── SMS to 0692 •• •• 56 ────\nCode Sesame : 123456\n\n"
        );
    }

    #[test]
    fn prints_the_whole_sms_code_text() {
        let text = sesame_core::phone::sms_code_text("123456", "login.example.org");
        let block = render(&message(Recipient::Sms("+33612345678".into()), &text));
        assert!(
            block.ends_with("\n@login.example.org #123456\n\n"),
            "{block}"
        );
        assert!(block.contains("Votre code de sécurité : 123456"), "{block}");
    }

    #[test]
    fn renders_a_back_channel_logout_without_its_token() {
        let uri = "https://rp.example.org:8443/bcl?tenant=a".into();
        let block = render(&message(Recipient::Backchannel(uri), "eyJ.secret.token"));
        assert_eq!(block, "──── back-channel logout to rp.example.org ────\n\n");
        let bad = render(&message(Recipient::Backchannel("bcl".into()), "eyJ"));
        assert_eq!(bad, "──── back-channel logout to an invalid URI ────\n\n");
    }

    #[test]
    fn masks_odd_recipients() {
        assert_eq!(mask_email("no-at-sign"), "•••");
        assert_eq!(mask_e164("+336"), "•••36");
    }
}
