//! The first schema: participants, clients, grants, signing keys, audit events and the
//! notification outbox.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates every table of the first release.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(participants()).await?;
        manager.create_table(clients()).await?;
        manager.create_table(grants()).await?;
        manager.create_index(grants_by_participant()).await?;
        manager.create_table(signing_keys()).await?;
        manager.create_table(audit_events()).await?;
        manager.create_index(audit_events_by_time()).await?;
        manager.create_table(outbox()).await?;
        manager.create_index(outbox_by_schedule()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Outbox::Table.into_iden(),
            AuditEvents::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            Grants::Table.into_iden(),
            Clients::Table.into_iden(),
            Participants::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Participants {
    Table,
    Id,
    Number,
    Email,
    EmailVerified,
    Phone,
    PhoneVerified,
    GivenName,
    FamilyName,
    Locale,
    PasswordHash,
    RequiredActions,
    CreatedAt,
    UpdatedAt,
}

fn participants() -> TableCreateStatement {
    Table::create()
        .table(Participants::Table)
        .col(string(Participants::Id).primary_key())
        .col(string_len_uniq(Participants::Number, 8))
        .col(text_null(Participants::Email))
        .col(boolean(Participants::EmailVerified))
        .col(text_null(Participants::Phone))
        .col(boolean(Participants::PhoneVerified))
        .col(text_null(Participants::GivenName))
        .col(text_null(Participants::FamilyName))
        .col(text_null(Participants::Locale))
        .col(text_null(Participants::PasswordHash))
        .col(text(Participants::RequiredActions))
        .col(timestamp_with_time_zone(Participants::CreatedAt))
        .col(timestamp_with_time_zone(Participants::UpdatedAt))
        .to_owned()
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    Name,
    SecretDigest,
    RedirectUris,
    PostLogoutRedirectUris,
    AuthMethod,
    ApplicationType,
    Scopes,
    IdTokenAlg,
    MinimumAcr,
    Theme,
    HomeUrl,
    CreatedAt,
}

fn clients() -> TableCreateStatement {
    Table::create()
        .table(Clients::Table)
        .col(string(Clients::Id).primary_key())
        .col(text(Clients::Name))
        .col(text_null(Clients::SecretDigest))
        .col(text(Clients::RedirectUris))
        .col(text(Clients::PostLogoutRedirectUris))
        .col(string(Clients::AuthMethod))
        .col(string(Clients::ApplicationType))
        .col(text(Clients::Scopes))
        .col(string(Clients::IdTokenAlg))
        .col(string(Clients::MinimumAcr))
        .col(text_null(Clients::Theme))
        .col(text_null(Clients::HomeUrl))
        .col(timestamp_with_time_zone(Clients::CreatedAt))
        .to_owned()
}

#[derive(DeriveIden)]
enum Grants {
    Table,
    Id,
    ParticipantId,
    ClientId,
    Scopes,
    SessionId,
    CreatedAt,
    RevokedAt,
}

fn grants() -> TableCreateStatement {
    Table::create()
        .table(Grants::Table)
        .col(string(Grants::Id).primary_key())
        .col(string(Grants::ParticipantId))
        .col(string(Grants::ClientId))
        .col(text(Grants::Scopes))
        .col(string_null(Grants::SessionId))
        .col(timestamp_with_time_zone(Grants::CreatedAt))
        .col(timestamp_with_time_zone_null(Grants::RevokedAt))
        .to_owned()
}

fn grants_by_participant() -> IndexCreateStatement {
    Index::create()
        .name("idx_grants_participant_id")
        .table(Grants::Table)
        .col(Grants::ParticipantId)
        .to_owned()
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    PrivateSealed,
    PublicJwk,
    CreatedAt,
}

fn signing_keys() -> TableCreateStatement {
    Table::create()
        .table(SigningKeys::Table)
        .col(string(SigningKeys::Kid).primary_key())
        .col(string(SigningKeys::Alg))
        .col(text(SigningKeys::PrivateSealed))
        .col(text(SigningKeys::PublicJwk))
        .col(timestamp_with_time_zone(SigningKeys::CreatedAt))
        .to_owned()
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    Kind,
    ParticipantId,
    ClientId,
    Ip,
    Detail,
}

fn audit_events() -> TableCreateStatement {
    Table::create()
        .table(AuditEvents::Table)
        .col(big_pk_auto(AuditEvents::Id))
        .col(timestamp_with_time_zone(AuditEvents::At))
        .col(string(AuditEvents::Kind))
        .col(string_null(AuditEvents::ParticipantId))
        .col(string_null(AuditEvents::ClientId))
        .col(string_null(AuditEvents::Ip))
        .col(text(AuditEvents::Detail))
        .to_owned()
}

fn audit_events_by_time() -> IndexCreateStatement {
    Index::create()
        .name("idx_audit_events_at")
        .table(AuditEvents::Table)
        .col(AuditEvents::At)
        .to_owned()
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Channel,
    Recipient,
    Subject,
    Body,
    CreatedAt,
    ExpiresAt,
    Attempts,
    NextAttemptAt,
    SentAt,
}

fn outbox() -> TableCreateStatement {
    Table::create()
        .table(Outbox::Table)
        .col(big_pk_auto(Outbox::Id))
        .col(string(Outbox::Channel))
        .col(text_null(Outbox::Recipient))
        .col(text_null(Outbox::Subject))
        .col(text_null(Outbox::Body))
        .col(timestamp_with_time_zone(Outbox::CreatedAt))
        .col(timestamp_with_time_zone(Outbox::ExpiresAt))
        .col(integer(Outbox::Attempts))
        .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
        .col(timestamp_with_time_zone_null(Outbox::SentAt))
        .to_owned()
}

fn outbox_by_schedule() -> IndexCreateStatement {
    Index::create()
        .name("idx_outbox_sent_at_next_attempt_at")
        .table(Outbox::Table)
        .col(Outbox::SentAt)
        .col(Outbox::NextAttemptAt)
        .to_owned()
}
