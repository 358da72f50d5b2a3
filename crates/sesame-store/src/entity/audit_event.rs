//! The `audit_events` table.

use sea_orm::entity::prelude::*;

/// One security event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub kind: String,
    pub participant_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// A JSON document.
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
