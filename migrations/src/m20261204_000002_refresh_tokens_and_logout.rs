//! Refresh tokens, offline grants, client options for refresh tokens, the
//! `client_credentials` grant, pairwise subjects and back-channel logout.
//!
//! Every added column has a default, so rows written before this migration read back
//! as they behaved before it: no refresh tokens, public subjects, no back-channel logout.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds the `refresh_tokens` table and the new columns of `clients` and `grants`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one change per ALTER TABLE statement.
        for column in client_columns().into_iter().chain([grant_offline()]) {
            manager.alter_table(column).await?;
        }
        manager.create_index(grants_by_session()).await?;
        manager.create_table(refresh_tokens()).await?;
        manager.create_index(refresh_tokens_by_grant()).await?;
        manager.create_index(refresh_tokens_by_expiry()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::drop().table(RefreshTokens::Table).to_owned();
        manager.drop_table(table).await?;
        let index = Index::drop()
            .name(GRANTS_BY_SESSION)
            .table(Grants::Table)
            .to_owned();
        manager.drop_index(index).await?;
        manager
            .alter_table(drop_column(Grants::Table, Grants::Offline))
            .await?;
        for column in CLIENT_COLUMNS {
            manager
                .alter_table(drop_column(Clients::Table, column))
                .await?;
        }
        Ok(())
    }
}

const GRANTS_BY_SESSION: &str = "idx_grants_session_id";

#[derive(DeriveIden, Clone, Copy)]
enum Clients {
    Table,
    RefreshTokens,
    ClientCredentials,
    SubjectType,
    Sector,
    BackchannelLogoutUri,
    BackchannelLogoutSessionRequired,
    BackchannelLogoutAllowPrivate,
}

/// The columns this migration adds to `clients`, for `down`.
const CLIENT_COLUMNS: [Clients; 7] = [
    Clients::RefreshTokens,
    Clients::ClientCredentials,
    Clients::SubjectType,
    Clients::Sector,
    Clients::BackchannelLogoutUri,
    Clients::BackchannelLogoutSessionRequired,
    Clients::BackchannelLogoutAllowPrivate,
];

fn client_columns() -> Vec<TableAlterStatement> {
    [
        boolean(Clients::RefreshTokens).default(false).to_owned(),
        boolean(Clients::ClientCredentials)
            .default(false)
            .to_owned(),
        string(Clients::SubjectType).default("public").to_owned(),
        text_null(Clients::Sector),
        text_null(Clients::BackchannelLogoutUri),
        boolean(Clients::BackchannelLogoutSessionRequired)
            .default(false)
            .to_owned(),
        boolean(Clients::BackchannelLogoutAllowPrivate)
            .default(false)
            .to_owned(),
    ]
    .into_iter()
    .map(|column| add_column(Clients::Table, column))
    .collect()
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    SessionId,
    Offline,
}

fn grant_offline() -> TableAlterStatement {
    let column = boolean(Grants::Offline).default(false).to_owned();
    add_column(Grants::Table, column)
}

fn grants_by_session() -> IndexCreateStatement {
    Index::create()
        .name(GRANTS_BY_SESSION)
        .table(Grants::Table)
        .col(Grants::SessionId)
        .to_owned()
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

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Digest,
    GrantId,
    ClientId,
    ParticipantId,
    Scopes,
    AuthTime,
    Acr,
    Amr,
    Sid,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

fn refresh_tokens() -> TableCreateStatement {
    Table::create()
        .table(RefreshTokens::Table)
        .col(string(RefreshTokens::Digest).primary_key())
        .col(string(RefreshTokens::GrantId))
        .col(string(RefreshTokens::ClientId))
        .col(string(RefreshTokens::ParticipantId))
        .col(text(RefreshTokens::Scopes))
        .col(timestamp_with_time_zone(RefreshTokens::AuthTime))
        .col(string(RefreshTokens::Acr))
        .col(text(RefreshTokens::Amr))
        .col(text(RefreshTokens::Sid))
        .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
        .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
        .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
        .to_owned()
}

fn refresh_tokens_by_grant() -> IndexCreateStatement {
    Index::create()
        .name("idx_refresh_tokens_grant_id")
        .table(RefreshTokens::Table)
        .col(RefreshTokens::GrantId)
        .to_owned()
}

fn refresh_tokens_by_expiry() -> IndexCreateStatement {
    Index::create()
        .name("idx_refresh_tokens_expires_at")
        .table(RefreshTokens::Table)
        .col(RefreshTokens::ExpiresAt)
        .to_owned()
}
