//! The `participants` table.

use sea_orm::entity::prelude::*;

/// One participant.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participants")]
pub struct Model {
    /// `ParticipantId` as hyphenated UUID text.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub number: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    pub password_hash: Option<String>,
    /// A JSON array of action names.
    pub required_actions: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the participant said they have no mobile or will not give it.
    pub phone_declined_at: Option<DateTimeUtc>,
    /// Set together with `terms_accepted_at`, or not at all.
    pub terms_version: Option<String>,
    pub terms_accepted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Shows the row's id only: the rest identifies a person or is a credential.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("participant::Model")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
