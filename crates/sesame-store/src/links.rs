//! [`LinkStore`] on the `links` table: one-use links, kept by the digest of their token.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, FromQueryResult, Iterable, QueryFilter, QueryTrait, Statement,
};
use sesame_core::participant::ParticipantId;
use sesame_core::store::{LinkStore, StoreError, StoredLink};

use crate::SeaStore;
use crate::convert::{instant, uuid};
use crate::entity::link::{ActiveModel, Column, Entity, Model};
use crate::error;
use crate::transaction::{begin_write, finish};

#[async_trait]
impl LinkStore for SeaStore {
    /// Leaves a link with the same digest alone, so that inserting it again is a
    /// `Conflict` whoever it belongs to, and the transaction changes nothing.
    async fn insert_replacing(&self, link: &StoredLink) -> Result<(), StoreError> {
        let txn = begin_write(&self.db).await?;
        let outcome = replace(&txn, link).await;
        finish(txn, outcome).await
    }

    async fn peek(
        &self,
        digest: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredLink>, StoreError> {
        let row = Entity::find()
            .filter(live(digest, kind, now))
            .one(&self.db)
            .await
            .map_err(error::db)?;
        row.map(stored).transpose()
    }

    /// One `DELETE … RETURNING`: the database lets exactly one of several racing callers
    /// delete the row, and only that caller gets it back, even across instances.
    async fn take(
        &self,
        digest: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredLink>, StoreError> {
        let mut delete = Entity::delete_many()
            .filter(live(digest, kind, now))
            .into_query();
        // sea-orm adds RETURNING on SQLite only with its `sqlite-use-returning-for-3_35`
        // feature, which would change every insert too; the clause is added here instead.
        // Both backends run it: the bundled SQLite is newer than 3.35.
        delete.returning(Query::returning().columns(Column::iter()));
        let row = self.db.query_one(&delete).await.map_err(error::db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let row = Model::from_query_result(&row, "").map_err(error::db)?;
        stored(row).map(Some)
    }

    async fn revoke_all(&self, participant: ParticipantId, kind: &str) -> Result<u64, StoreError> {
        let result = Entity::delete_many()
            .filter(Column::ParticipantId.eq(participant.to_string()))
            .filter(Column::Kind.eq(kind))
            .exec(&self.db)
            .await
            .map_err(error::db)?;
        Ok(result.rows_affected)
    }

    async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = Entity::delete_many()
            .filter(Column::ExpiresAt.lt(instant(before)))
            .exec(&self.db)
            .await
            .map_err(error::db)?;
        Ok(result.rows_affected)
    }
}

/// The link with this digest and kind, if it has not expired at `now`.
fn live(digest: &str, kind: &str, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::Digest.eq(digest))
        .add(Column::Kind.eq(kind))
        .add(Column::ExpiresAt.gt(instant(now)))
}

/// Deletes the participant's other links of the kind, then inserts, inside `txn`.
async fn replace(txn: &DatabaseTransaction, link: &StoredLink) -> Result<(), StoreError> {
    let participant = link.participant.to_string();
    serialise_replacements(txn, &participant, &link.kind).await?;
    Entity::delete_many()
        .filter(Column::ParticipantId.eq(participant))
        .filter(Column::Kind.eq(link.kind.as_str()))
        .filter(Column::Digest.ne(link.digest.as_str()))
        .exec(txn)
        .await
        .map_err(error::db)?;
    Entity::insert(row(link))
        .exec_without_returning(txn)
        .await
        .map_err(error::db)?;
    Ok(())
}

/// Makes concurrent replacements of one participant's links of one kind wait for each
/// other, so that the last one deletes what the others inserted. A read-committed
/// transaction cannot see, and so cannot delete, a row inserted by one that has not
/// committed yet; PostgreSQL takes a lock on the pair until the end of the transaction.
/// SQLite needs nothing: `begin_write` already holds the database's only write lock.
async fn serialise_replacements(
    txn: &DatabaseTransaction,
    participant: &str,
    kind: &str,
) -> Result<(), StoreError> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let key = format!("links:{participant}:{kind}");
    let lock = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [key.into()],
    );
    txn.execute_raw(lock).await.map(|_| ()).map_err(error::db)
}

fn row(link: &StoredLink) -> ActiveModel {
    ActiveModel {
        digest: Set(link.digest.clone()),
        kind: Set(link.kind.clone()),
        participant_id: Set(link.participant.to_string()),
        target: Set(link.target.clone()),
        context: Set(link.context.clone()),
        created_at: Set(instant(link.created_at)),
        expires_at: Set(instant(link.expires_at)),
    }
}

fn stored(row: Model) -> Result<StoredLink, StoreError> {
    let participant = uuid(&row.participant_id, "links.participant_id")?;
    Ok(StoredLink {
        participant: ParticipantId(participant),
        digest: row.digest,
        kind: row.kind,
        target: row.target,
        context: row.context,
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}
