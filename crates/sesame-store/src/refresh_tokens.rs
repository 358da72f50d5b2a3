//! [`RefreshTokenStore`] on the `refresh_tokens` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sesame_core::acr::Acr;
use sesame_core::participant::ParticipantId;
use sesame_core::store::{RefreshToken, RefreshTokenStore, StoreError};

use crate::SeaStore;
use crate::convert::{corrupt, from_json, instant, to_json, uuid};
use crate::entity::refresh_token::{ActiveModel, Column, Entity, Model};
use crate::error;

#[async_trait]
impl RefreshTokenStore for SeaStore {
    async fn insert(&self, token: &RefreshToken) -> Result<(), StoreError> {
        Entity::insert(row(token)?)
            .exec_without_returning(&self.db)
            .await
            .map_err(error::db)?;
        Ok(())
    }

    async fn get(&self, digest: &str) -> Result<Option<RefreshToken>, StoreError> {
        let row = Entity::find_by_id(digest)
            .one(&self.db)
            .await
            .map_err(error::db)?;
        row.map(token).transpose()
    }

    /// One conditional `UPDATE`: the database lets exactly one of two racing callers
    /// change the row, so a token is exchanged once even across instances.
    async fn mark_used(&self, digest: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = Entity::update_many()
            .col_expr(Column::UsedAt, Expr::value(instant(at)))
            .filter(Column::Digest.eq(digest))
            .filter(Column::UsedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(error::db)?;
        Ok(result.rows_affected == 1)
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

fn row(token: &RefreshToken) -> Result<ActiveModel, StoreError> {
    Ok(ActiveModel {
        digest: Set(token.digest.clone()),
        grant_id: Set(token.grant_id.to_string()),
        client_id: Set(token.client_id.clone()),
        participant_id: Set(token.participant.to_string()),
        scopes: Set(to_json(&token.scopes)?),
        auth_time: Set(instant(token.auth_time)),
        acr: Set(token.acr.as_str().to_owned()),
        amr: Set(to_json(&token.amr)?),
        sid: Set(token.sid.clone()),
        created_at: Set(instant(token.created_at)),
        expires_at: Set(instant(token.expires_at)),
        used_at: Set(token.used_at.map(instant)),
    })
}

fn token(row: Model) -> Result<RefreshToken, StoreError> {
    let participant = uuid(&row.participant_id, "refresh_tokens.participant_id")?;
    Ok(RefreshToken {
        grant_id: uuid(&row.grant_id, "refresh_tokens.grant_id")?,
        participant: ParticipantId(participant),
        scopes: from_json(&row.scopes, "refresh_tokens.scopes")?,
        acr: Acr::parse(&row.acr).ok_or_else(|| corrupt("refresh_tokens.acr"))?,
        amr: from_json(&row.amr, "refresh_tokens.amr")?,
        digest: row.digest,
        client_id: row.client_id,
        auth_time: row.auth_time,
        sid: row.sid,
        created_at: row.created_at,
        expires_at: row.expires_at,
        used_at: row.used_at,
    })
}
