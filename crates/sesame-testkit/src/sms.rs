//! An HTTP listener that plays the SMS operator of the `webhook` adapter.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;

/// One SMS the operator received.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sms {
    pub to: String,
    pub text: String,
}

/// The operator: accepts every SMS, or fails them all while `failing` is set.
#[derive(Debug, Clone)]
pub struct SmsOperator {
    pub url: String,
    received: Arc<Mutex<Vec<Sms>>>,
    failing: Arc<Mutex<bool>>,
}

impl SmsOperator {
    /// Starts the listener on a loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let received = Arc::new(Mutex::new(Vec::new()));
        let failing = Arc::new(Mutex::new(false));
        let (kept, fail) = (received.clone(), failing.clone());
        let app = axum::Router::new().route(
            "/send",
            axum::routing::post(move |Json(sms): Json<Sms>| {
                let (kept, fail) = (kept.clone(), fail.clone());
                async move {
                    if fail.lock().map(|f| *f).unwrap_or(false) {
                        return StatusCode::BAD_REQUEST;
                    }
                    if let Ok(mut list) = kept.lock() {
                        list.push(sms);
                    }
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/send", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            received,
            failing,
        })
    }

    /// Points a configuration's `webhook` SMS adapter at this operator.
    pub fn configure(&self, raw: &mut sesame_server::config::RawConfig) {
        raw.sms.provider = "webhook".into();
        raw.sms.webhook_url = Some(self.url.clone());
        raw.sms.webhook_token = Some("operator-token".into());
    }

    /// Makes the operator refuse (or accept again) every SMS.
    pub fn set_failing(&self, failing: bool) {
        if let Ok(mut f) = self.failing.lock() {
            *f = failing;
        }
    }

    /// Every SMS received so far.
    pub fn all(&self) -> Vec<Sms> {
        self.received.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits up to `timeout` for the `n`-th SMS (1-based) and returns it.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Option<Sms> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(sms) = self.all().get(n.saturating_sub(1)) {
                return Some(sms.clone());
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
