//! The `refresh_tokens` table.

use sea_orm::entity::prelude::*;

/// One refresh token, known by its digest only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// SHA-256 of the token, base64url.
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    /// The grant's id as UUID text.
    pub grant_id: String,
    pub client_id: String,
    /// `ParticipantId` as UUID text.
    pub participant_id: String,
    /// A JSON array of scope names.
    pub scopes: String,
    pub auth_time: DateTimeUtc,
    /// `pwd` or `mfa`.
    pub acr: String,
    /// A JSON array of RFC 8176 method names.
    pub amr: String,
    pub sid: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
