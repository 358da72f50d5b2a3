//! Sesame's database schema, as one migration set for SQLite and PostgreSQL.
//!
//! Every column type is portable: identifiers are strings, lists and JSON documents are
//! text, timestamps are `timestamp with time zone` (RFC 3339 text on SQLite).

pub use sea_orm_migration::prelude::*;

mod m20260501_000001_initial;
mod m20261204_000002_refresh_tokens_and_logout;
mod m20261211_000003_required_actions_phone_and_terms;
mod m20261212_000004_audit_events_by_participant;
mod m20261213_000005_outbox_html;
mod m20261214_000006_links;

/// Runs Sesame's migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260501_000001_initial::Migration),
            Box::new(m20261204_000002_refresh_tokens_and_logout::Migration),
            Box::new(m20261211_000003_required_actions_phone_and_terms::Migration),
            Box::new(m20261212_000004_audit_events_by_participant::Migration),
            Box::new(m20261213_000005_outbox_html::Migration),
            Box::new(m20261214_000006_links::Migration),
        ]
    }
}
