//! The port through which the dispatcher hands a message to a channel.

use async_trait::async_trait;
use sesame_core::notify::Message;

/// Why a message was not handed over. The text never holds the recipient address or the
/// message's text, so it may be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth another try later: the server is down, slow or deferring.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Will fail again however often it is tried, such as an address that does not parse
    /// or a message on a channel this sender does not serve.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Delivers one message to its recipient.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `message` now; `Ok` once the channel has accepted it.
    async fn send(&self, message: &Message) -> Result<(), SendError>;
}
