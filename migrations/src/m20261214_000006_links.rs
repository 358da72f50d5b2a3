//! One-use links sent by e-mail or SMS (password reset, activation, phone and e-mail
//! verification), durable so that a restart does not kill them (DESIGN §5.8).
//!
//! Only the digest of a link's token is kept. A new table: rows of the earlier tables
//! are not touched.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds the `links` table and its indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(links()).await?;
        manager
            .create_index(links_by_participant_and_kind())
            .await?;
        manager.create_index(links_by_expiry()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::drop().table(Links::Table).to_owned();
        manager.drop_table(table).await
    }
}

#[derive(DeriveIden)]
enum Links {
    Table,
    Digest,
    Kind,
    ParticipantId,
    Target,
    Context,
    CreatedAt,
    ExpiresAt,
}

fn links() -> TableCreateStatement {
    Table::create()
        .table(Links::Table)
        .col(text(Links::Digest).primary_key())
        .col(text(Links::Kind))
        .col(text(Links::ParticipantId))
        .col(text_null(Links::Target))
        .col(text_null(Links::Context))
        .col(timestamp_with_time_zone(Links::CreatedAt))
        .col(timestamp_with_time_zone(Links::ExpiresAt))
        .to_owned()
}

/// What replacing and revoking a participant's links of one kind look up.
fn links_by_participant_and_kind() -> IndexCreateStatement {
    Index::create()
        .name("idx_links_participant_id_kind")
        .table(Links::Table)
        .col(Links::ParticipantId)
        .col(Links::Kind)
        .to_owned()
}

fn links_by_expiry() -> IndexCreateStatement {
    Index::create()
        .name("idx_links_expires_at")
        .table(Links::Table)
        .col(Links::ExpiresAt)
        .to_owned()
}
