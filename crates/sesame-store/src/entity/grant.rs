//! The `grants` table.

use sea_orm::entity::prelude::*;

/// One grant of a participant to a client.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "grants")]
pub struct Model {
    /// UUID text.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `ParticipantId` as UUID text.
    pub participant_id: String,
    pub client_id: String,
    /// A JSON array of scope names.
    pub scopes: String,
    pub session_id: Option<String>,
    /// `offline_access` was granted.
    pub offline: bool,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
