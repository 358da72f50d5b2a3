//! The `outbox` table. `recipient`, `subject`, `body` and `html` are emptied once a message
//! is sent or its secret has expired (DESIGN §5.9).

use sea_orm::entity::prelude::*;

/// One queued message.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `email`, `sms` or `backchannel`.
    pub channel: String,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// An e-mail's HTML alternative (fifth migration); never set for SMS or logouts.
    pub html: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Leaves out the recipient and the text.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("outbox::Model")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}
