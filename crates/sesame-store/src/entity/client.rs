//! The `clients` table: clients created at run time.

use sea_orm::entity::prelude::*;

/// One relying party.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub secret_digest: Option<String>,
    /// A JSON array of URIs.
    pub redirect_uris: String,
    /// A JSON array of URIs.
    pub post_logout_redirect_uris: String,
    pub auth_method: String,
    pub application_type: String,
    /// A JSON array of scope names.
    pub scopes: String,
    pub id_token_alg: String,
    pub minimum_acr: String,
    pub theme: Option<String>,
    pub home_url: Option<String>,
    pub created_at: DateTimeUtc,
    pub refresh_tokens: bool,
    pub client_credentials: bool,
    /// `public` or `pairwise`.
    pub subject_type: String,
    /// The sector of a pairwise client.
    pub sector: Option<String>,
    /// No URI means no back-channel logout; the two flags below then mean nothing.
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    pub backchannel_logout_allow_private: bool,
    /// A JSON array of action names.
    pub required_actions: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
