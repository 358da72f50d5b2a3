//! Sending the messages of the outbox: e-mail over SMTP, SMS through an operator's webhook,
//! back-channel logouts over HTTP, the console for demos, and the dispatcher that drains the
//! durable outbox off the request path.
//!
//! Nothing here logs a recipient address or a message's text: those appear only in the mail
//! or request itself, or on the terminal in console mode, where printing them is the point
//! (logout tokens excepted: the console names only the relying party's host).

mod backchannel;
mod console;
mod dispatcher;
mod failure;
mod mailer;
mod router;
mod sms;
mod smtp;
#[cfg(test)]
mod test_server;

pub use backchannel::BackchannelSender;
pub use console::ConsoleMailer;
pub use dispatcher::Dispatcher;
pub use mailer::{Mailer, SendError};
pub use router::ChannelRouter;
pub use sms::WebhookSms;
pub use smtp::{ConfigError, SmtpMailer};
