//! Helpers for Sesame's tests: the real server in-process on a loopback port, a real SMTP
//! listener, and a browser-like HTTP client that reads and submits the real HTML forms.

pub mod browser;
pub mod chromium;
pub mod rp;
pub mod server;
pub mod sms;
pub mod smtp;
pub mod tls;

pub use browser::{Browser, Page};
pub use server::{TEST_PASSWORD, TestServer};
pub use smtp::{SmtpSink, extract_code};
