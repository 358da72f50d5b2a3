//! The webhook sender against a real HTTP endpoint on 127.0.0.1 playing the SMS operator.

use std::error::Error;

use chrono::Utc;

use super::*;
use crate::test_server::{Reply, TestServer};

const TOKEN: &str = "sk-live-0123456789abcdef";
const PHONE: &str = "+33612345678";
const TEXT: &str = "Votre code de sécurité : 123456\n\n@login.example.org #123456";

type TestResult = Result<(), Box<dyn Error>>;

fn sms(to: &str, text: &str) -> Message {
    Message {
        to: Recipient::Sms(to.into()),
        subject: String::new(),
        body: text.into(),
        html: None,
        expires_at: Utc::now() + chrono::TimeDelta::minutes(2),
    }
}

fn sender(url: &str, token: Option<&str>) -> Result<WebhookSms, url::ParseError> {
    let timeout = Duration::from_secs(5);
    Ok(WebhookSms::new(
        Url::parse(url)?,
        token.map(str::to_owned),
        timeout,
    ))
}

/// The error of sending the usual SMS to an operator that answers `status`.
async fn refusal(status: u16) -> Result<SendError, Box<dyn Error>> {
    let operator = TestServer::start(Reply::Status(status)).await?;
    let outcome = sender(&operator.url("/sms"), Some(TOKEN))?
        .send(&sms(PHONE, TEXT))
        .await;
    let error = outcome.err().ok_or("the SMS was accepted")?;
    assert_secrets_kept(&error);
    Ok(error)
}

fn assert_secrets_kept(error: &SendError) {
    let text = error.to_string();
    for secret in [
        TOKEN,
        PHONE,
        "612345678",
        "123456",
        "sécurité",
        "127.0.0.1",
        "/sms",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn posts_the_number_and_text_as_json_with_the_bearer_token() -> TestResult {
    let mut operator = TestServer::start(Reply::Status(200)).await?;
    sender(&operator.url("/v1/sms?account=a"), Some(TOKEN))?
        .send(&sms(PHONE, TEXT))
        .await?;

    let request = operator.request().await.ok_or("no request")?;
    assert!(
        request
            .head
            .starts_with("POST /v1/sms?account=a HTTP/1.1\r\n"),
        "{}",
        request.head
    );
    let expected = "{\"to\":\"+33612345678\",\"text\":\"Votre code de sécurité : 123456\\n\\n\
                    @login.example.org #123456\"}";
    assert_eq!(request.body, expected);
    assert_eq!(request.header("content-type"), Some("application/json"));
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(request.header("authorization"), Some(bearer.as_str()));
    let host = format!("127.0.0.1:{}", operator.port());
    assert_eq!(request.header("host"), Some(host.as_str()));
    Ok(())
}

#[tokio::test]
async fn sends_no_authorization_without_a_token() -> TestResult {
    let mut operator = TestServer::start(Reply::Status(204)).await?;
    sender(&operator.url("/sms"), None)?
        .send(&sms(PHONE, "Bonjour"))
        .await?;
    let request = operator.request().await.ok_or("no request")?;
    assert_eq!(request.header("authorization"), None);
    assert_eq!(
        request.body,
        "{\"to\":\"+33612345678\",\"text\":\"Bonjour\"}"
    );
    Ok(())
}

#[tokio::test]
async fn takes_any_2xx_as_accepted() -> TestResult {
    for status in [200, 201, 202, 204, 299] {
        let operator = TestServer::start(Reply::Status(status)).await?;
        let outcome = sender(&operator.url("/sms"), Some(TOKEN))?
            .send(&sms(PHONE, TEXT))
            .await;
        assert_eq!(outcome, Ok(()), "{status}");
    }
    Ok(())
}

#[tokio::test]
async fn a_refusal_is_permanent() -> TestResult {
    for status in [400, 401, 403, 404, 422] {
        let error = refusal(status).await?;
        assert!(matches!(&error, SendError::Permanent(r) if r.contains(&status.to_string())));
    }
    Ok(())
}

#[tokio::test]
async fn throttling_timeouts_and_server_errors_are_transient() -> TestResult {
    for status in [408, 429, 500, 502, 503] {
        let error = refusal(status).await?;
        assert!(matches!(&error, SendError::Transient(r) if r.contains(&status.to_string())));
    }
    Ok(())
}

#[tokio::test]
async fn does_not_follow_redirects() -> TestResult {
    let mut operator = TestServer::start(Reply::Status(302)).await?;
    let outcome = sender(&operator.url("/sms"), Some(TOKEN))?
        .send(&sms(PHONE, TEXT))
        .await;
    assert!(
        matches!(outcome, Err(SendError::Permanent(_))),
        "{outcome:?}"
    );
    assert!(operator.request().await.is_some());
    assert_eq!(operator.connections().await?, 1);
    assert!(operator.received().is_none(), "the redirect was followed");
    Ok(())
}

#[tokio::test]
async fn a_silent_operator_times_out_transiently() -> TestResult {
    let operator = TestServer::start(Reply::Silence).await?;
    let url = Url::parse(&operator.url("/sms"))?;
    let timeout = Duration::from_millis(300);
    let sender = WebhookSms::new(url, Some(TOKEN.into()), timeout);
    let started = std::time::Instant::now();
    let outcome = sender.send(&sms(PHONE, TEXT)).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let error = outcome.err().ok_or("a silent operator accepted the SMS")?;
    assert!(
        matches!(&error, SendError::Transient(r) if r.contains("in time")),
        "{error}"
    );
    assert_secrets_kept(&error);
    Ok(())
}

#[tokio::test]
async fn an_unreachable_operator_is_a_transient_failure() -> TestResult {
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        listener.local_addr()?.port()
    };
    let url = format!("http://127.0.0.1:{port}/sms");
    let outcome = sender(&url, Some(TOKEN))?.send(&sms(PHONE, TEXT)).await;
    let error = outcome.err().ok_or("nobody accepted the SMS")?;
    assert!(
        matches!(&error, SendError::Transient(r) if r.contains("connection")),
        "{error}"
    );
    assert_secrets_kept(&error);
    Ok(())
}

#[tokio::test]
async fn refuses_other_channels_and_malformed_numbers_without_a_request() -> TestResult {
    let operator = TestServer::start(Reply::Status(200)).await?;
    let sender = sender(&operator.url("/sms"), Some(TOKEN))?;
    let mut email = sms(PHONE, TEXT);
    email.to = Recipient::Email("jean@example.org".into());
    for message in [
        email,
        sms("0612345678", TEXT),
        sms("+33 6 12", TEXT),
        sms("+", TEXT),
    ] {
        let outcome = sender.send(&message).await;
        let error = outcome.err().ok_or("the message was sent")?;
        assert!(matches!(error, SendError::Permanent(_)), "{error}");
        assert_secrets_kept(&error);
    }
    assert_eq!(operator.connections().await?, 0);
    Ok(())
}

#[test]
fn refuses_a_token_that_cannot_be_a_header() -> TestResult {
    let token = SecretString::new("line\nbreak");
    let error = bearer(&token).err().ok_or("a newline went into a header")?;
    assert!(matches!(error, SendError::Permanent(_)));
    assert!(!error.to_string().contains("line"));
    Ok(())
}

#[test]
fn debug_shows_neither_the_token_nor_the_path() -> TestResult {
    let sender = sender("https://sms.example.net/v1/send?key=k1", Some(TOKEN))?;
    let debug = format!("{sender:?}");
    assert!(debug.contains("sms.example.net"), "{debug}");
    for secret in [TOKEN, "/v1/send", "k1"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    Ok(())
}

#[test]
fn recognises_e164_numbers() {
    for good in ["+33612345678", "+262692123456", "+681821234"] {
        assert!(is_e164(good), "{good}");
    }
    for bad in [
        "33612345678",
        "+3361234",
        "+3361234567890123",
        "+33 612345678",
        "+33a",
    ] {
        assert!(!is_e164(bad), "{bad}");
    }
}
