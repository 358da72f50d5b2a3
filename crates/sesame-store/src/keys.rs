//! [`KeyStore`] on the `signing_keys` table.

use async_trait::async_trait;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use sesame_core::keys::{SigningAlg, StoredKey};
use sesame_core::store::{KeyStore, StoreError};

use crate::SeaStore;
use crate::convert::{corrupt, instant};
use crate::entity::signing_key::{ActiveModel, Column, Entity, Model};
use crate::error;

#[async_trait]
impl KeyStore for SeaStore {
    /// Oldest first.
    async fn all(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = Entity::find()
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Kid)
            .all(&self.db)
            .await
            .map_err(error::db)?;
        rows.into_iter().map(key).collect()
    }

    async fn insert(&self, key: &StoredKey) -> Result<(), StoreError> {
        let row = ActiveModel {
            kid: Set(key.kid.clone()),
            alg: Set(key.alg.as_str().to_owned()),
            private_sealed: Set(key.private_sealed.clone()),
            public_jwk: Set(key.public_jwk.clone()),
            created_at: Set(instant(key.created_at)),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(error::db)?;
        Ok(())
    }
}

fn key(row: Model) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        alg: SigningAlg::parse(&row.alg).ok_or_else(|| corrupt("signing_keys.alg"))?,
        kid: row.kid,
        private_sealed: row.private_sealed,
        public_jwk: row.public_jwk,
        created_at: row.created_at,
    })
}
