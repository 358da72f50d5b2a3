//! The HTML alternative of an e-mail in the outbox.
//!
//! The column is nullable: rows written before this migration, SMS and back-channel
//! messages have none, and like the text it is emptied once the message is sent or its
//! secret has expired (DESIGN §5.9).

use sea_orm_migration::{prelude::*, schema::*};

/// Adds `outbox.html`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Outbox::Table)
            .add_column(text_null(Outbox::Html))
            .to_owned();
        manager.alter_table(alter).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter()
            .table(Outbox::Table)
            .drop_column(Outbox::Html)
            .to_owned();
        manager.alter_table(alter).await
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Html,
}
