//! Sending the messages of the outbox: e-mail over SMTP, the console for demos, and the
//! dispatcher that drains the durable outbox off the request path.
//!
//! Nothing here logs a recipient address or a message's text: those appear only in the mail
//! itself, or on the terminal in console mode, where printing them is the point.

mod console;
mod dispatcher;
mod mailer;
mod smtp;

pub use console::ConsoleMailer;
pub use dispatcher::Dispatcher;
pub use mailer::{Mailer, SendError};
pub use smtp::{ConfigError, SmtpMailer};
