//! [`OutboxStore`] on the `outbox` table. A message's recipient and text are kept only
//! until it is sent or its secret expires (DESIGN §5.9).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, UpdateMany,
};
use sesame_core::notify::{Message, OutboxEntry, Recipient};
use sesame_core::store::{OutboxStore, StoreError};

use crate::SeaStore;
use crate::convert::{corrupt, instant};
use crate::entity::outbox::{ActiveModel, Column, Entity, Model};
use crate::error;

const EMAIL: &str = "email";
const SMS: &str = "sms";
const BACKCHANNEL: &str = "backchannel";

#[async_trait]
impl OutboxStore for SeaStore {
    async fn enqueue(&self, message: &Message, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let result = Entity::insert(row(message, instant(now)))
            .exec(&self.db)
            .await;
        Ok(result.map_err(error::db)?.last_insert_id)
    }

    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<OutboxEntry>, StoreError> {
        let now = instant(now);
        let rows = Entity::find()
            .filter(Column::SentAt.is_null())
            .filter(Column::ExpiresAt.gt(now))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(Column::Recipient.is_not_null())
            .filter(Column::Body.is_not_null())
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(error::db)?;
        rows.into_iter().map(entry).collect()
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let update = forget_text(Entity::update_many())
            .col_expr(Column::SentAt, Expr::value(instant(at)))
            .filter(Column::Id.eq(id));
        update.exec(&self.db).await.map(|_| ()).map_err(error::db)
    }

    async fn mark_failed(&self, id: i64, next_attempt_at: DateTime<Utc>) -> Result<(), StoreError> {
        Entity::update_many()
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .col_expr(Column::NextAttemptAt, Expr::value(instant(next_attempt_at)))
            .filter(Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(error::db)
    }

    async fn expire(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let still_held = Condition::any()
            .add(Column::Recipient.is_not_null())
            .add(Column::Subject.is_not_null())
            .add(Column::Body.is_not_null())
            .add(Column::Html.is_not_null());
        let update = forget_text(Entity::update_many())
            .filter(Column::SentAt.is_null())
            .filter(Column::ExpiresAt.lte(instant(now)))
            .filter(still_held);
        Ok(update
            .exec(&self.db)
            .await
            .map_err(error::db)?
            .rows_affected)
    }
}

/// Empties the columns that hold the recipient and the text, plain and HTML.
fn forget_text(update: UpdateMany<Entity>) -> UpdateMany<Entity> {
    let null = || Expr::value(Option::<String>::None);
    update
        .col_expr(Column::Recipient, null())
        .col_expr(Column::Subject, null())
        .col_expr(Column::Body, null())
        .col_expr(Column::Html, null())
}

fn row(message: &Message, now: DateTime<Utc>) -> ActiveModel {
    let (channel, to) = match &message.to {
        Recipient::Email(to) => (EMAIL, to),
        Recipient::Sms(to) => (SMS, to),
        Recipient::Backchannel(to) => (BACKCHANNEL, to),
    };
    ActiveModel {
        id: NotSet,
        channel: Set(channel.to_owned()),
        recipient: Set(Some(to.clone())),
        subject: Set(Some(message.subject.clone())),
        body: Set(Some(message.body.clone())),
        html: Set(message.html.clone()),
        created_at: Set(now),
        expires_at: Set(instant(message.expires_at)),
        attempts: Set(0),
        next_attempt_at: Set(now),
        sent_at: Set(None),
    }
}

fn entry(row: Model) -> Result<OutboxEntry, StoreError> {
    let to = row.recipient.ok_or_else(|| corrupt("outbox.recipient"))?;
    let to = match row.channel.as_str() {
        EMAIL => Recipient::Email(to),
        SMS => Recipient::Sms(to),
        BACKCHANNEL => Recipient::Backchannel(to),
        _ => return Err(corrupt("outbox.channel")),
    };
    let message = Message {
        to,
        subject: row.subject.unwrap_or_default(),
        body: row.body.ok_or_else(|| corrupt("outbox.body"))?,
        html: row.html,
        expires_at: row.expires_at,
    };
    Ok(OutboxEntry {
        id: row.id,
        message,
        attempts: u32::try_from(row.attempts).map_err(|_| corrupt("outbox.attempts"))?,
        next_attempt_at: row.next_attempt_at,
    })
}
