//! One [`Mailer`] for the dispatcher that hands each message to the channel of its
//! recipient.

use std::sync::Arc;

use async_trait::async_trait;
use sesame_core::notify::{Message, Recipient};

use crate::backchannel::BackchannelSender;
use crate::mailer::{Mailer, SendError};

/// Sends e-mail through the e-mail mailer, SMS through the SMS sender and back-channel
/// logouts over HTTP.
pub struct ChannelRouter {
    email: Arc<dyn Mailer>,
    sms: Arc<dyn Mailer>,
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
    /// A router sending e-mail through `email`, SMS through `sms` and back-channel logouts
    /// through `backchannel`.
    pub fn new(
        email: Arc<dyn Mailer>,
        sms: Arc<dyn Mailer>,
        backchannel: BackchannelSender,
    ) -> Self {
        Self {
            email,
            sms,
            backchannel,
        }
    }
}

#[async_trait]
impl Mailer for ChannelRouter {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        match &message.to {
            Recipient::Email(_) => self.email.send(message).await,
            Recipient::Sms(_) => self.sms.send(message).await,
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

    /// Records what it is given; accepts only its own channel, like the real mailers.
    struct RecordingMailer {
        channel: fn(&Recipient) -> bool,
        seen: Mutex<Vec<Recipient>>,
    }

    impl RecordingMailer {
        fn new(channel: fn(&Recipient) -> bool) -> Arc<Self> {
            let seen = Mutex::default();
            Arc::new(Self { channel, seen })
        }

        fn seen(&self) -> Vec<Recipient> {
            self.seen.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl Mailer for RecordingMailer {
        async fn send(&self, message: &Message) -> Result<(), SendError> {
            self.seen.lock().unwrap().push(message.to.clone());
            if (self.channel)(&message.to) {
                Ok(())
            } else {
                Err(SendError::Permanent("not my channel".into()))
            }
        }
    }

    fn email_only() -> Arc<RecordingMailer> {
        RecordingMailer::new(|to| matches!(to, Recipient::Email(_)))
    }

    fn sms_only() -> Arc<RecordingMailer> {
        RecordingMailer::new(|to| matches!(to, Recipient::Sms(_)))
    }

    fn message(to: Recipient) -> Message {
        Message {
            to,
            subject: "Sujet".into(),
            body: "token-or-text".into(),
            html: None,
            expires_at: Utc::now() + chrono::TimeDelta::minutes(2),
        }
    }

    #[tokio::test]
    async fn routes_each_message_by_its_recipient() -> Result<(), Box<dyn std::error::Error>> {
        let mut rp = TestServer::start(Reply::Status(200)).await?;
        let (email, sms) = (email_only(), sms_only());
        let backchannel = BackchannelSender::new(vec!["127.0.0.1".into()]);
        let router = ChannelRouter::new(email.clone(), sms.clone(), backchannel);

        let to_jean = Recipient::Email("jean@example.org".into());
        router.send(&message(to_jean.clone())).await?;
        let to_phone = Recipient::Sms("+33612345678".into());
        router.send(&message(to_phone.clone())).await?;
        let logout = Recipient::Backchannel(rp.url("/bcl"));
        router.send(&message(logout)).await?;

        assert_eq!(email.seen(), [to_jean]);
        assert_eq!(sms.seen(), [to_phone]);
        let request = rp.request().await.ok_or("no request")?;
        assert_eq!(request.body, "logout_token=token-or-text");
        Ok(())
    }

    #[tokio::test]
    async fn back_channel_refusals_come_from_the_back_channel() {
        let (email, sms) = (email_only(), sms_only());
        let backchannel = BackchannelSender::new(Vec::new());
        let router = ChannelRouter::new(email.clone(), sms.clone(), backchannel);
        let logout = Recipient::Backchannel("http://127.0.0.1:9/bcl".into());
        let sent = router.send(&message(logout)).await;
        assert!(matches!(sent, Err(SendError::Permanent(r)) if r.contains("allowed hosts")));
        assert!(email.seen().is_empty() && sms.seen().is_empty());
    }

    #[tokio::test]
    async fn sms_refusals_come_from_the_sms_sender() {
        let (email, sms) = (email_only(), RecordingMailer::new(|_| false));
        let backchannel = BackchannelSender::new(Vec::new());
        let router = ChannelRouter::new(email.clone(), sms.clone(), backchannel);
        let to_phone = Recipient::Sms("+33612345678".into());
        let sent = router.send(&message(to_phone.clone())).await;
        assert!(matches!(sent, Err(SendError::Permanent(r)) if r == "not my channel"));
        assert!(email.seen().is_empty());
        assert_eq!(sms.seen(), [to_phone]);
    }
}
