//! Schema upgrades: rows written before a migration read back with its defaults.

use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{InsertStatement, Query, SimpleExpr};
use sesame_core::client::SubjectType;
use sesame_core::store::{ClientStore, Grant, GrantStore};
use uuid::Uuid;

use crate::{Env, TestResult, at, contract};

contract!(rows_of_the_first_schema_read_back_with_the_defaults);

/// Rolls the schema back to the first migration only, writes a client and a grant with
/// its columns, then upgrades and reads them through the store.
async fn rows_of_the_first_schema_read_back_with_the_defaults(env: Env) -> TestResult {
    Migrator::down(&env.raw, None).await?;
    Migrator::up(&env.raw, Some(1)).await?;
    let grant_id = Uuid::new_v4();
    let participant = Uuid::new_v4();
    env.raw.execute(&first_schema_client()?).await?;
    env.raw
        .execute(&first_schema_grant(grant_id, participant)?)
        .await?;
    env.migrate().await?;

    let client = ClientStore::get(&*env, "legacy").await?;
    let client = client.ok_or("client lost")?;
    assert_eq!(client.name, "Legacy");
    assert!(!client.refresh_tokens && !client.client_credentials);
    assert_eq!(client.subject, SubjectType::Public);
    assert_eq!(client.backchannel_logout, None);

    let grant = GrantStore::get(&*env, grant_id).await?;
    let grant = grant.ok_or("grant lost")?;
    assert!(!grant.offline);
    assert_eq!(grant.participant.0, participant);
    let live: Vec<Grant> = env.by_session("sid-legacy").await?;
    assert_eq!(live, vec![grant]);
    Ok(())
}

fn first_schema_client() -> Result<InsertStatement, Box<dyn std::error::Error>> {
    let columns = [
        ("id", "legacy".into()),
        ("name", "Legacy".into()),
        ("secret_digest", Option::<String>::None.into()),
        ("redirect_uris", r#"["https://rp.example.org/cb"]"#.into()),
        ("post_logout_redirect_uris", "[]".into()),
        ("auth_method", "none".into()),
        ("application_type", "web".into()),
        ("scopes", r#"["openid"]"#.into()),
        ("id_token_alg", "ES256".into()),
        ("minimum_acr", "pwd".into()),
        ("theme", Option::<String>::None.into()),
        ("home_url", Option::<String>::None.into()),
        ("created_at", at(0).into()),
    ];
    insert("clients", columns)
}

fn first_schema_grant(
    id: Uuid,
    participant: Uuid,
) -> Result<InsertStatement, Box<dyn std::error::Error>> {
    let columns = [
        ("id", id.to_string().into()),
        ("participant_id", participant.to_string().into()),
        ("client_id", "legacy".into()),
        ("scopes", r#"["openid"]"#.into()),
        ("session_id", "sid-legacy".into()),
        ("created_at", at(0).into()),
        (
            "revoked_at",
            Option::<chrono::DateTime<chrono::Utc>>::None.into(),
        ),
    ];
    insert("grants", columns)
}

fn insert<const N: usize>(
    table: &'static str,
    columns: [(&'static str, SimpleExpr); N],
) -> Result<InsertStatement, Box<dyn std::error::Error>> {
    let (names, values): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    let mut statement = Query::insert();
    statement.into_table(table).columns(names).values(values)?;
    Ok(statement)
}
