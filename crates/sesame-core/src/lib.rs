//! The domain of Sesame: participants, credentials, one-time codes, the login flow,
//! sessions, tokens and their claims, and the traits through which the domain reaches
//! storage, short-lived state, the clock, randomness and notifications.
//!
//! Nothing in this crate performs I/O itself; everything outside comes in through traits.

pub mod acr;
pub mod audit;
pub mod captcha;
pub mod client;
pub mod clock;
pub mod crypto;
pub mod flow;
pub mod keys;
pub mod notify;
pub mod number;
pub mod otp;
pub mod participant;
pub mod password;
pub mod phone;
pub mod policy;
pub mod random;
pub mod secret;
pub mod service;
pub mod session;
pub mod state;
pub mod store;
pub mod tokens;

pub use number::CohortNumber;
pub use secret::SecretString;
