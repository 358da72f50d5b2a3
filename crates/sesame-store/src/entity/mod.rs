//! Table rows as sea-orm entities. Lists and JSON documents are kept as text so that
//! the same columns work on SQLite and PostgreSQL; the repositories convert them.

pub mod audit_event;
pub mod client;
pub mod grant;
pub mod link;
pub mod outbox;
pub mod participant;
pub mod refresh_token;
pub mod signing_key;
