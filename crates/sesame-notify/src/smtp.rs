//! E-mail over SMTP with lettre, configured by the `[email]` section.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sesame_core::notify::{Message, Recipient};

use crate::failure::io_error_kind;
use crate::mailer::{Mailer, SendError};

/// How long to wait for the server to connect or to answer one command. Kept short: a
/// message that fails now is retried by the dispatcher, and the outbox waits meanwhile.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// The `[email]` settings are unusable. The text names the setting and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `smtp_url` is not a URL lettre understands.
    #[error("[email] smtp_url is invalid: {0}")]
    SmtpUrl(String),
    /// `from` is not a mailbox (`addr@host` or `Name <addr@host>`).
    #[error("[email] from is not a valid address: {0}")]
    FromAddress(String),
    /// The mailer was built outside a Tokio runtime, which its connection pool needs.
    #[error("the SMTP mailer must be created inside a Tokio runtime")]
    NoRuntime,
}

/// Sends e-mail through an SMTP server, reusing pooled connections.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry credentials; the sender address is configuration, not personal.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl SmtpMailer {
    /// A mailer for `smtp_url` (a lettre URL such as `smtp://127.0.0.1:2525`,
    /// `smtp://host:587?tls=required` or `smtps://user:pass@host`) sending as `from`.
    /// Must be called inside a Tokio runtime.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, ConfigError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| ConfigError::FromAddress(format!("{e}")))?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| ConfigError::SmtpUrl(e.to_string()))?;
        // Building spawns the pool's cleanup task, which panics outside a runtime.
        tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let transport = builder.timeout(Some(SERVER_TIMEOUT)).build();
        Ok(Self { transport, from })
    }

    /// The mail for `to`, with a Date and a Message-ID in the sender's domain: UTF-8 text,
    /// or `multipart/alternative` with the text first and the HTML second when there is HTML.
    fn compose(&self, to: &str, message: &Message) -> Result<lettre::Message, SendError> {
        let to: Address = to
            .parse()
            .map_err(|_| SendError::Permanent("the recipient address is invalid".into()))?;
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(message.subject.as_str())
            .date_now()
            .message_id(Some(self.message_id()));
        let text = message.body.clone();
        let mail = match &message.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html.clone())),
            None => builder.header(ContentType::TEXT_PLAIN).body(text),
        };
        mail.map_err(|_| SendError::Permanent("the mail could not be built".into()))
    }

    fn message_id(&self) -> String {
        format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.from.email.domain()
        )
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let to = match &message.to {
            Recipient::Email(to) => to,
            Recipient::Sms(_) => {
                return Err(SendError::Permanent(
                    "an SMS cannot be sent by e-mail".into(),
                ));
            }
            Recipient::Backchannel(_) => {
                let reason = "a back-channel logout cannot be sent by e-mail";
                return Err(SendError::Permanent(reason.into()));
            }
        };
        let mail = self.compose(to, message)?;
        self.transport
            .send(mail)
            .await
            .map(drop)
            .map_err(|e| classify(&e))
    }
}

/// A 5xx answer will not change on a retry; everything else might.
fn classify(error: &SmtpError) -> SendError {
    let reason = describe(error);
    if error.is_permanent() {
        SendError::Permanent(reason)
    } else {
        SendError::Transient(reason)
    }
}

/// What went wrong, without lettre's full text: a server's answer often repeats the
/// recipient address, so only its code is kept.
fn describe(error: &SmtpError) -> String {
    if let Some(code) = error.status() {
        return format!("the server answered {code}");
    }
    if error.is_timeout() {
        return "the server did not answer in time".into();
    }
    let stage = if error.is_tls() {
        "TLS"
    } else if error.is_response() {
        "unreadable server answer"
    } else if error.is_client() {
        "SMTP client"
    } else {
        "connection"
    };
    match io_error_kind(error) {
        Some(kind) => format!("{stage} error: {kind}"),
        None => format!("{stage} error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn message(to: Recipient) -> Message {
        let body = "Votre code : 123456".into();
        Message {
            to,
            subject: "Code".into(),
            body,
            html: None,
            expires_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn refuses_bad_settings() {
        let bad_url = SmtpMailer::new("http://example.org", "a@example.org");
        assert!(matches!(bad_url, Err(ConfigError::SmtpUrl(_))));
        let bad_from = SmtpMailer::new("smtp://127.0.0.1:2525", "not an address");
        assert!(matches!(bad_from, Err(ConfigError::FromAddress(_))));
    }

    #[test]
    fn refuses_to_start_outside_a_runtime() {
        let mailer = SmtpMailer::new("smtp://127.0.0.1:2525", "Sesame <a@example.org>");
        assert!(matches!(mailer, Err(ConfigError::NoRuntime)));
    }

    #[tokio::test]
    async fn bad_recipients_are_permanent_and_not_echoed() -> Result<(), ConfigError> {
        let mailer = SmtpMailer::new("smtp://127.0.0.1:9", "Sesame <noreply@example.org>")?;
        let sms = mailer
            .send(&message(Recipient::Sms("+33612345678".into())))
            .await;
        assert!(matches!(sms, Err(SendError::Permanent(_))));
        let logout = Recipient::Backchannel("https://rp.example.org/bcl".into());
        let logout = mailer.send(&message(logout)).await;
        assert!(matches!(logout, Err(SendError::Permanent(_))));
        let bad = mailer
            .send(&message(Recipient::Email("jean@@exa mple".into())))
            .await;
        assert!(matches!(&bad, Err(SendError::Permanent(r)) if !r.contains("jean")));
        Ok(())
    }

    #[tokio::test]
    async fn an_unreachable_server_is_transient() -> Result<(), Box<dyn std::error::Error>> {
        // A port just freed on loopback: the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("smtp://127.0.0.1:{port}");
        let mailer = SmtpMailer::new(&url, "noreply@example.org")?;
        let sent = mailer
            .send(&message(Recipient::Email("j@example.org".into())))
            .await;
        assert!(matches!(&sent, Err(SendError::Transient(r)) if !r.contains("j@example")));
        Ok(())
    }

    #[tokio::test]
    async fn message_ids_are_in_the_senders_domain() -> Result<(), ConfigError> {
        let mailer = SmtpMailer::new("smtp://127.0.0.1:9", "Sesame <noreply@example.org>")?;
        let id = mailer.message_id();
        assert!(id.starts_with('<') && id.ends_with("@example.org>"), "{id}");
        assert_ne!(id, mailer.message_id());
        Ok(())
    }
}
