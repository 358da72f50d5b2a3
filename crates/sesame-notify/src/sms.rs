//! SMS through an operator's HTTP gateway (DESIGN §3, `[sms] provider = "webhook"`): each
//! message is POSTed as JSON `{"to": "+33612345678", "text": "…"}`, with the operator's
//! token as a bearer token, and any 2xx answer means the operator took it.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::redirect::Policy;
use serde::Serialize;
use sesame_core::SecretString;
use sesame_core::notify::{Message, Recipient};
use url::Url;

use crate::failure::{Peer, http_failure};
use crate::mailer::{Mailer, SendError};

/// Hands [`Recipient::Sms`] messages to the SMS operator's webhook.
///
/// Redirects are not followed. Errors name neither the webhook URL, the phone number, the
/// text nor the token, so they may be logged; `Debug` shows only the webhook's host.
pub struct WebhookSms {
    url: Url,
    token: Option<SecretString>,
    client: Option<reqwest::Client>,
}

/// The body of one request.
#[derive(Serialize)]
struct SmsRequest<'a> {
    to: &'a str,
    text: &'a str,
}

impl std::fmt::Debug for WebhookSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSms")
            .field("host", &self.url.host_str())
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl WebhookSms {
    /// A sender posting to `url`, with `token` as a bearer token when one is set; a request
    /// (connection included) that takes longer than `timeout` fails, to be tried again.
    pub fn new(url: Url, token: Option<String>, timeout: Duration) -> Self {
        // reqwest is built without a TLS crypto provider; an error means one is set already.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(Policy::none())
            .build()
            .ok();
        Self {
            url,
            token: token.map(SecretString::from),
            client,
        }
    }

    /// Posts `text` for `to` to the webhook.
    async fn post(&self, to: &str, text: &str) -> Result<(), SendError> {
        let Some(client) = &self.client else {
            return Err(SendError::Transient(
                "the HTTP client could not be built".into(),
            ));
        };
        let mut request = client.post(self.url.clone()).json(&SmsRequest { to, text });
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, bearer(token)?);
        }
        let response = request
            .send()
            .await
            .map_err(|e| http_failure(&e, &OPERATOR))?;
        outcome(response.status())
    }
}

#[async_trait]
impl Mailer for WebhookSms {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let Recipient::Sms(to) = &message.to else {
            return Err(SendError::Permanent(
                "only SMS are sent to the SMS operator".into(),
            ));
        };
        if !is_e164(to) {
            let reason = "the SMS recipient is not an E.164 number";
            return Err(SendError::Permanent(reason.into()));
        }
        self.post(to, &message.body).await
    }
}

/// `+` and 8 to 15 digits.
fn is_e164(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The `Authorization` value for `token`, marked sensitive so it is never shown.
fn bearer(token: &SecretString) -> Result<HeaderValue, SendError> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
        .map_err(|_| SendError::Permanent("the SMS webhook token is not a valid header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Any 2xx is accepted. A timeout (408) or a throttle (429) passes, like a server error; any
/// other refusal will not change on a retry.
fn outcome(status: StatusCode) -> Result<(), SendError> {
    let code = status.as_u16();
    match code {
        200..=299 => Ok(()),
        408 | 429 | 500..=599 => Err(SendError::Transient(format!(
            "the SMS operator answered {code}"
        ))),
        _ => Err(SendError::Permanent(format!(
            "the SMS operator answered {code}"
        ))),
    }
}

/// How failures name the other end.
const OPERATOR: Peer = Peer {
    who: "the SMS operator",
    request: "SMS",
    link: "SMS operator",
};

#[cfg(test)]
mod tests;
