//! Required actions set per client, the "no mobile" answer and the acceptance of the terms.
//!
//! Every added column is nullable or has a default, so rows written before this migration
//! read back as they behaved before it: no phone declined, no terms accepted, and no action
//! required by any client. `grants.participant_id` is already indexed by the first
//! migration, which is what revoking a participant's grants looks up.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds the new columns of `participants` and `clients`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one change per ALTER TABLE statement.
        for column in participant_columns().into_iter().chain([client_actions()]) {
            manager.alter_table(column).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(drop_column(Clients::Table, Clients::RequiredActions))
            .await?;
        for column in PARTICIPANT_COLUMNS {
            manager
                .alter_table(drop_column(Participants::Table, column))
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Participants {
    Table,
    PhoneDeclinedAt,
    TermsVersion,
    TermsAcceptedAt,
}

/// The columns this migration adds to `participants`, for `down`.
const PARTICIPANT_COLUMNS: [Participants; 3] = [
    Participants::PhoneDeclinedAt,
    Participants::TermsVersion,
    Participants::TermsAcceptedAt,
];

fn participant_columns() -> Vec<TableAlterStatement> {
    [
        timestamp_with_time_zone_null(Participants::PhoneDeclinedAt),
        text_null(Participants::TermsVersion),
        timestamp_with_time_zone_null(Participants::TermsAcceptedAt),
    ]
    .into_iter()
    .map(|column| add_column(Participants::Table, column))
    .collect()
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    RequiredActions,
}

/// A JSON array of action names, empty for the clients that exist already.
fn client_actions() -> TableAlterStatement {
    let column = text(Clients::RequiredActions).default("[]").to_owned();
    add_column(Clients::Table, column)
}

fn add_column(table: impl IntoIden, mut column: ColumnDef) -> TableAlterStatement {
    Table::alter()
        .table(table)
        .add_column(&mut column)
        .to_owned()
}

fn drop_column(table: impl IntoIden, column: impl IntoIden) -> TableAlterStatement {
    Table::alter().table(table).drop_column(column).to_owned()
}
