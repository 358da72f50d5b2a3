//! The `links` table (sixth migration).

use sea_orm::entity::prelude::*;

/// One link, known by the digest of its token only.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "links")]
pub struct Model {
    /// SHA-256 of the token, base64url.
    #[sea_orm(primary_key, auto_increment = false)]
    pub digest: String,
    /// What the link does (`reset`, `activate`, …).
    pub kind: String,
    /// `ParticipantId` as UUID text.
    pub participant_id: String,
    /// The phone number or e-mail address the link proves.
    pub target: Option<String>,
    /// A sealed authorization request to resume.
    pub context: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Leaves out the target (an address or a phone number) and the context.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("link::Model")
            .field("kind", &self.kind)
            .field("participant_id", &self.participant_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
