//! The SMTP mailer against a real SMTP listener over loopback TCP.
//!
//! The sink lives in sesame-testkit; it is compiled here in place because sesame-testkit
//! depends on the server, which depends on this crate.

#[path = "../../sesame-testkit/src/smtp.rs"]
mod smtp;

use std::error::Error;
use std::time::Duration;

use chrono::Utc;
use sesame_core::notify::{Message, Recipient};
use sesame_notify::{Mailer, SmtpMailer};
use smtp::{SmtpSink, extract_code};

const WAIT: Duration = Duration::from_secs(5);

fn email(to: &str, subject: &str, body: &str) -> Message {
    let to = Recipient::Email(to.into());
    let expires_at = Utc::now() + chrono::TimeDelta::minutes(10);
    Message {
        to,
        subject: subject.into(),
        body: body.into(),
        html: None,
        expires_at,
    }
}

#[tokio::test]
async fn delivers_a_french_code_that_the_sink_decodes_exactly() -> Result<(), Box<dyn Error>> {
    let sink = SmtpSink::start()?;
    let mailer = SmtpMailer::new(&sink.url(), "Sésame <noreply@example.org>")?;
    let subject = "Votre code de connexion à Sésame — valable 10 minutes";
    let body = "Bonjour Amélie,\n\nVoici votre code à usage unique : 482913\n\n\
                Il expire dans 10 minutes. Si vous n'êtes pas à l'origine de cette demande, \
                ignorez ce message : votre compte reste protégé.\n\n\
                .Une ligne qui commence par un point.\n— L'équipe Sésame\n";
    mailer
        .send(&email("amelie.durand@example.org", subject, body))
        .await?;

    let mail = sink
        .wait_for("amelie.durand@example.org", WAIT)
        .await
        .ok_or("no mail")?;
    assert_eq!(mail.subject, subject);
    assert_eq!((mail.body.as_str(), mail.html.as_deref()), (body, None));
    assert_eq!(extract_code(&mail.body).as_deref(), Some("482913"));
    assert_eq!(mail.from, "noreply@example.org");
    assert_eq!(mail.to, ["amelie.durand@example.org"]);
    assert_headers(&mail.raw);
    Ok(())
}

fn assert_headers(raw: &str) {
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        head.contains("content-type: text/plain; charset=utf-8"),
        "{head}"
    );
    assert!(head.contains("\r\ndate: "), "{head}");
    assert!(
        head.contains("\r\nmessage-id: <") && head.contains("@example.org>"),
        "{head}"
    );
}

#[tokio::test]
async fn sends_text_then_html_as_alternatives() -> Result<(), Box<dyn Error>> {
    let sink = SmtpSink::start()?;
    let mailer = SmtpMailer::new(&sink.url(), "Sésame <noreply@example.org>")?;
    let text = "Bonjour Amélie,\n\nVotre code de connexion est : 482913\n\n\
                Il est valable 10 minutes, à usage unique.\n";
    let html = "<!DOCTYPE html>\n<html lang=\"fr\">\n<body>\n<h1>Sésame</h1>\n\
                <p>Votre code de connexion est :</p>\n\
                <p style=\"font-size:24px;font-weight:bold;letter-spacing:4px\">482913</p>\n\
                <p>Il est valable 10 minutes. Si vous n&#x27;êtes pas à l&#x27;origine de cette \
                demande, ignorez ce message : «&nbsp;élève&nbsp;», «&nbsp;château&nbsp;».</p>\n\
                </body>\n</html>\n";
    let message = Message {
        html: Some(html.into()),
        ..email("amelie@example.org", "Votre code de connexion", text)
    };
    mailer.send(&message).await?;

    let mail = sink
        .wait_for("amelie@example.org", WAIT)
        .await
        .ok_or("no mail")?;
    assert_eq!(mail.subject, "Votre code de connexion");
    assert_eq!(mail.body, text);
    assert_eq!(mail.html.as_deref(), Some(html));
    assert_eq!(extract_code(&mail.body).as_deref(), Some("482913"));
    let raw = mail.raw.to_ascii_lowercase();
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("no body")?;
    assert!(
        head.contains("content-type: multipart/alternative;"),
        "{head}"
    );
    let plain = body.find("content-type: text/plain; charset=utf-8");
    let html = body.find("content-type: text/html; charset=utf-8");
    assert!(
        matches!((plain, html), (Some(p), Some(h)) if p < h),
        "{body}"
    );
    // Both parts carry non-ASCII text, so both went through a transfer encoding.
    assert_eq!(body.matches("content-transfer-encoding: 7bit").count(), 0);
    Ok(())
}

#[tokio::test]
async fn reuses_the_connection_for_several_mails() -> Result<(), Box<dyn Error>> {
    let sink = SmtpSink::start()?;
    let mailer = SmtpMailer::new(&sink.url(), "noreply@example.org")?;
    for n in 0..3 {
        let body = format!("Code : 10000{n}");
        mailer
            .send(&email("paul@example.org", "Code", &body))
            .await?;
    }
    for n in 0..3 {
        let mail = sink
            .wait_for("paul@example.org", WAIT)
            .await
            .ok_or("mail missing")?;
        assert_eq!(extract_code(&mail.body), Some(format!("10000{n}")));
    }
    assert_eq!(
        sink.wait_for("paul@example.org", Duration::from_millis(50))
            .await,
        None
    );
    assert_eq!(sink.all().len(), 3);
    Ok(())
}

#[tokio::test]
async fn keeps_plain_ascii_mails_intact() -> Result<(), Box<dyn Error>> {
    let sink = SmtpSink::start()?;
    let mailer = SmtpMailer::new(&sink.url(), "noreply@example.org")?;
    let body = "Your code: 271828\r\n.\r\nThat line was a lone dot.";
    mailer
        .send(&email("ann@example.org", "Your code", body))
        .await?;
    let mail = sink
        .wait_for("ann@example.org", WAIT)
        .await
        .ok_or("no mail")?;
    assert_eq!(mail.subject, "Your code");
    assert_eq!(mail.body, body.replace("\r\n", "\n"));
    assert!(
        mail.raw.contains("\r\n.\r\n"),
        "the lone dot is unstuffed in raw"
    );
    Ok(())
}

#[tokio::test]
async fn decodes_a_base64_body() -> Result<(), Box<dyn Error>> {
    let sink = SmtpSink::start()?;
    let mailer = SmtpMailer::new(&sink.url(), "noreply@example.org")?;
    let body = "Ça réussit à coup sûr : 314159 — «élève», «été», «château», «où», «déjà».\n";
    mailer.send(&email("zoe@example.org", "Été", body)).await?;
    let mail = sink
        .wait_for("zoe@example.org", WAIT)
        .await
        .ok_or("no mail")?;
    let raw = mail.raw.to_ascii_lowercase();
    assert!(raw.contains("content-transfer-encoding: base64"), "{raw}");
    assert_eq!((mail.subject.as_str(), mail.body.as_str()), ("Été", body));
    assert_eq!(extract_code(&mail.body).as_deref(), Some("314159"));
    Ok(())
}
