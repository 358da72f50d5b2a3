//! [`GrantStore`] on the `grants` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use sesame_core::participant::ParticipantId;
use sesame_core::store::{Grant, GrantStore, StoreError};
use uuid::Uuid;

use crate::SeaStore;
use crate::convert::{from_json, instant, to_json, uuid};
use crate::entity::grant::{ActiveModel, Column, Entity, Model};
use crate::error;
use crate::transaction::{begin_write, finish};

/// How many ids one `IN (…)` revocation carries, well under every backend's limit.
const REVOKE_CHUNK: usize = 500;

#[async_trait]
impl GrantStore for SeaStore {
    async fn create(&self, grant: &Grant) -> Result<(), StoreError> {
        let row = row(grant)?;
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(error::db)?;
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<Grant>, StoreError> {
        let row = Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await
            .map_err(error::db)?;
        row.map(grant).transpose()
    }

    /// Keeps the first revocation time; an unknown grant is left alone.
    async fn revoke(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(instant(at)))
            .filter(Column::Id.eq(id.to_string()))
            .filter(Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(error::db)
    }

    async fn by_session(&self, session_id: &str) -> Result<Vec<Grant>, StoreError> {
        let rows = Entity::find()
            .filter(Column::SessionId.eq(session_id))
            .filter(Column::RevokedAt.is_null())
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .map_err(error::db)?;
        rows.into_iter().map(grant).collect()
    }

    /// Returns the grants it revoked oldest first, with `revoked_at` set to `at`. The
    /// grants are locked while they are revoked (`FOR UPDATE` on PostgreSQL, the write lock
    /// on SQLite), so concurrent calls never return the same grant twice.
    async fn revoke_for_participant(
        &self,
        participant: ParticipantId,
        keep_session: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Grant>, StoreError> {
        let txn = begin_write(&self.db).await?;
        let outcome = revoke_for_participant(&txn, participant, keep_session, instant(at)).await;
        finish(txn, outcome).await
    }
}

/// Locks the live grants to revoke, then revokes them, inside `txn`.
async fn revoke_for_participant(
    txn: &DatabaseTransaction,
    participant: ParticipantId,
    keep_session: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Vec<Grant>, StoreError> {
    let mut query = Entity::find()
        .filter(Column::ParticipantId.eq(participant.to_string()))
        .filter(Column::RevokedAt.is_null());
    if let Some(kept) = keep_session {
        let elsewhere = Condition::any()
            .add(Column::SessionId.is_null())
            .add(Column::SessionId.ne(kept));
        query = query.filter(elsewhere);
    }
    let rows = query
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .lock_exclusive()
        .all(txn)
        .await
        .map_err(error::db)?;
    for chunk in rows.chunks(REVOKE_CHUNK) {
        Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(at))
            .filter(Column::Id.is_in(chunk.iter().map(|row| row.id.clone())))
            .filter(Column::RevokedAt.is_null())
            .exec(txn)
            .await
            .map_err(error::db)?;
    }
    rows.into_iter()
        .map(|row| {
            grant(row).map(|g| Grant {
                revoked_at: Some(at),
                ..g
            })
        })
        .collect()
}

fn row(grant: &Grant) -> Result<ActiveModel, StoreError> {
    Ok(ActiveModel {
        id: Set(grant.id.to_string()),
        participant_id: Set(grant.participant.to_string()),
        client_id: Set(grant.client_id.clone()),
        scopes: Set(to_json(&grant.scopes)?),
        session_id: Set(grant.session_id.clone()),
        offline: Set(grant.offline),
        created_at: Set(instant(grant.created_at)),
        revoked_at: Set(grant.revoked_at.map(instant)),
    })
}

fn grant(row: Model) -> Result<Grant, StoreError> {
    Ok(Grant {
        id: uuid(&row.id, "grants.id")?,
        participant: ParticipantId(uuid(&row.participant_id, "grants.participant_id")?),
        client_id: row.client_id,
        scopes: from_json(&row.scopes, "grants.scopes")?,
        session_id: row.session_id,
        offline: row.offline,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
    })
}
