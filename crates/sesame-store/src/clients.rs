//! [`ClientStore`] on the `clients` table.

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use sesame_core::acr::Acr;
use sesame_core::client::{AuthMethod, Client, ClientSource, SecretDigest};
use sesame_core::keys::SigningAlg;
use sesame_core::store::{ClientStore, StoreError};

use crate::SeaStore;
use crate::convert::{corrupt, from_json, instant, name_of, named, to_json};
use crate::entity::client::{ActiveModel, Column, Entity, Model};
use crate::error;

#[async_trait]
impl ClientStore for SeaStore {
    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let rows = Entity::find().order_by_asc(Column::Id).all(&self.db).await;
        rows.map_err(error::db)?.into_iter().map(client).collect()
    }

    async fn get(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row = Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(error::db)?;
        row.map(client).transpose()
    }

    /// Stamps the row with the current time: the domain's client has no creation date.
    async fn insert(&self, client: &Client) -> Result<(), StoreError> {
        let row = row(client)?;
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(error::db)?;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let result = Entity::delete_by_id(id)
            .exec(&self.db)
            .await
            .map_err(error::db)?;
        Ok(result.rows_affected > 0)
    }
}

fn row(client: &Client) -> Result<ActiveModel, StoreError> {
    Ok(ActiveModel {
        id: Set(client.id.clone()),
        name: Set(client.name.clone()),
        secret_digest: Set(client.secret.as_ref().map(|s| s.as_str().to_owned())),
        redirect_uris: Set(to_json(&client.redirect_uris)?),
        post_logout_redirect_uris: Set(to_json(&client.post_logout_redirect_uris)?),
        auth_method: Set(client.auth_method.as_str().to_owned()),
        application_type: Set(name_of(&client.application_type)?),
        scopes: Set(to_json(&client.scopes)?),
        id_token_alg: Set(client.id_token_alg.as_str().to_owned()),
        minimum_acr: Set(client.minimum_acr.as_str().to_owned()),
        theme: Set(client.theme.clone()),
        home_url: Set(client.home_url.clone()),
        created_at: Set(instant(Utc::now())),
    })
}

fn client(row: Model) -> Result<Client, StoreError> {
    Ok(Client {
        secret: row.secret_digest.map(SecretDigest::from_stored),
        redirect_uris: from_json(&row.redirect_uris, "clients.redirect_uris")?,
        post_logout_redirect_uris: from_json(
            &row.post_logout_redirect_uris,
            "clients.post_logout_redirect_uris",
        )?,
        auth_method: AuthMethod::parse(&row.auth_method)
            .ok_or_else(|| corrupt("clients.auth_method"))?,
        application_type: named(&row.application_type, "clients.application_type")?,
        scopes: from_json(&row.scopes, "clients.scopes")?,
        id_token_alg: SigningAlg::parse(&row.id_token_alg)
            .ok_or_else(|| corrupt("clients.id_token_alg"))?,
        minimum_acr: Acr::parse(&row.minimum_acr).ok_or_else(|| corrupt("clients.minimum_acr"))?,
        theme: row.theme,
        home_url: row.home_url,
        source: ClientSource::Database,
        id: row.id,
        name: row.name,
    })
}
