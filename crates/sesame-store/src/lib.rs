//! Durable storage for Sesame on SQLite or PostgreSQL, through sea-orm.
//!
//! [`SeaStore`] implements every storage trait of `sesame_core::store`. The schema comes
//! from the `migration` crate, one migration set for both databases; lists and JSON
//! documents are stored as text and timestamps to the microsecond, so that both backends
//! read back exactly what they were given.

mod audit;
mod clients;
mod connect;
mod convert;
mod entity;
mod error;
mod grants;
mod keys;
mod links;
mod outbox;
mod participants;
mod refresh_tokens;
mod transaction;

pub use connect::SeaStore;
