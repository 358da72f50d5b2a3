//! One [`Mailer`] for the dispatcher that hands each message to the channel of its
//! recipient.

use std::sync::Arc;

use async_trait::async_trait;
use sesame_core::notify::{Message, Recipient};

use crate::backchannel::BackchannelSender;
use crate::mailer::{Mailer, SendError};

/// Sends e-mail (and, for now, SMS) through the e-mail mailer and back-channel logouts over
/// HTTP. The e-mail mailers refuse SMS for good, as no SMS channel exists yet.
pub struct ChannelRouter {
    email: Arc<dyn Mailer>,
    backchannel: BackchannelSender,
}

impl std::fmt::Debug for ChannelRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelRouter")
            .field("backchannel", &self.backchannel)
            .finish_non_exhaustive()
    }
}

impl ChannelRouter {
    /// A router sending e-mail and SMS through `email`, back-channel logouts through
    /// `backchannel`.
    pub fn new(email: Arc<dyn Mailer>, backchannel: BackchannelSender) -> Self {
        Self { email, backchannel }
    }
}

#[async_trait]
impl Mailer for ChannelRouter {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        match &message.to {
            Recipient::Email(_) | Recipient::Sms(_) => self.email.send(message).await,
            Recipient::Backchannel(_) => self.backchannel.send(message).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::Utc;

    use super::*;
    use crate::test_server::{Reply, TestServer};

    /// Records what it is given; refuses SMS like the real e-mail mailers.
    #[derive(Default)]
    struct RecordingMailer(Mutex<Vec<Recipient>>);

    #[async_trait]
    impl Mailer for RecordingMailer {
        async fn send(&self, message: &Message) -> Result<(), SendError> {
            self.0.lock().unwrap().push(message.to.clone());
            match message.to {
                Recipient::Email(_) => Ok(()),
                _ => Err(SendError::Permanent("not an e-mail".into())),
            }
        }
    }

    fn message(to: Recipient) -> Message {
        Message {
            to,
            subject: "Sujet".into(),
            body: "token-or-text".into(),
            expires_at: Utc::now() + chrono::TimeDelta::minutes(2),
        }
    }

    #[tokio::test]
    async fn routes_each_message_by_its_recipient() -> Result<(), Box<dyn std::error::Error>> {
        let mut rp = TestServer::start(Reply::Status(200)).await?;
        let email = Arc::new(RecordingMailer::default());
        let backchannel = BackchannelSender::new(vec!["127.0.0.1".into()]);
        let router = ChannelRouter::new(email.clone(), backchannel);

        let to_jean = Recipient::Email("jean@example.org".into());
        router.send(&message(to_jean.clone())).await?;
        let sms = Recipient::Sms("+33612345678".into());
        let refused = router.send(&message(sms.clone())).await;
        assert!(matches!(refused, Err(SendError::Permanent(_))));
        let logout = Recipient::Backchannel(rp.url("/bcl"));
        router.send(&message(logout)).await?;

        assert_eq!(*email.0.lock().unwrap(), [to_jean, sms]);
        let request = rp.request().await.ok_or("no request")?;
        assert_eq!(request.body, "logout_token=token-or-text");
        Ok(())
    }

    #[tokio::test]
    async fn back_channel_refusals_come_from_the_back_channel() {
        let email = Arc::new(RecordingMailer::default());
        let router = ChannelRouter::new(email.clone(), BackchannelSender::new(Vec::new()));
        let logout = Recipient::Backchannel("http://127.0.0.1:9/bcl".into());
        let sent = router.send(&message(logout)).await;
        assert!(matches!(sent, Err(SendError::Permanent(r)) if r.contains("allowed hosts")));
        assert!(email.0.lock().unwrap().is_empty());
    }
}
