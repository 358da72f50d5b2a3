//! An index for reading one participant's audit trail (`sesame audit list --participant`).
//!
//! It leads with `participant_id` and carries `at`, so that the newest events of one
//! participant are read from the index in order. Rows are not touched.

use sea_orm_migration::prelude::*;

/// Adds the index on `audit_events (participant_id, at)`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let index = Index::create()
            .name(AUDIT_EVENTS_BY_PARTICIPANT)
            .table(AuditEvents::Table)
            .col(AuditEvents::ParticipantId)
            .col(AuditEvents::At)
            .to_owned();
        manager.create_index(index).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let index = Index::drop()
            .name(AUDIT_EVENTS_BY_PARTICIPANT)
            .table(AuditEvents::Table)
            .to_owned();
        manager.drop_index(index).await
    }
}

const AUDIT_EVENTS_BY_PARTICIPANT: &str = "idx_audit_events_participant_id_at";

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    ParticipantId,
    At,
}
