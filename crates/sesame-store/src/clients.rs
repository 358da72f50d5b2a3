//! [`ClientStore`] on the `clients` table.

use async_trait::async_trait;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use sesame_core::acr::Acr;
use sesame_core::client::{
    AuthMethod, BackchannelLogout, Client, ClientSource, SecretDigest, SubjectType,
};
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

/// `clients.subject_type` values.
const PUBLIC: &str = "public";
const PAIRWISE: &str = "pairwise";

fn row(client: &Client) -> Result<ActiveModel, StoreError> {
    let (subject_type, sector) = match &client.subject {
        SubjectType::Public => (PUBLIC, None),
        SubjectType::Pairwise { sector } => (PAIRWISE, Some(sector.clone())),
    };
    let logout = client.backchannel_logout.as_ref();
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
        refresh_tokens: Set(client.refresh_tokens),
        client_credentials: Set(client.client_credentials),
        subject_type: Set(subject_type.to_owned()),
        sector: Set(sector),
        backchannel_logout_uri: Set(logout.map(|l| l.uri.clone())),
        backchannel_logout_session_required: Set(logout.is_some_and(|l| l.session_required)),
        backchannel_logout_allow_private: Set(logout.is_some_and(|l| l.allow_private)),
        required_actions: Set(to_json(&client.required_actions)?),
    })
}

/// Reads `subject_type` and `sector`; a pairwise client without a sector is corrupt.
fn subject(kind: &str, sector: Option<String>) -> Result<SubjectType, StoreError> {
    match (kind, sector) {
        (PUBLIC, _) => Ok(SubjectType::Public),
        (PAIRWISE, Some(sector)) => Ok(SubjectType::Pairwise { sector }),
        (PAIRWISE, None) => Err(corrupt("clients.sector")),
        _ => Err(corrupt("clients.subject_type")),
    }
}

/// Back-channel logout is on when a URI is stored.
fn backchannel(row: &Model) -> Option<BackchannelLogout> {
    row.backchannel_logout_uri
        .as_ref()
        .map(|uri| BackchannelLogout {
            uri: uri.clone(),
            session_required: row.backchannel_logout_session_required,
            allow_private: row.backchannel_logout_allow_private,
        })
}

fn client(row: Model) -> Result<Client, StoreError> {
    let backchannel_logout = backchannel(&row);
    Ok(Client {
        subject: subject(&row.subject_type, row.sector)?,
        backchannel_logout,
        refresh_tokens: row.refresh_tokens,
        client_credentials: row.client_credentials,
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
        required_actions: from_json(&row.required_actions, "clients.required_actions")?,
        source: ClientSource::Database,
        id: row.id,
        name: row.name,
    })
}
