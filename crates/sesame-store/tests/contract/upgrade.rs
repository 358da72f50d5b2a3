//! Schema upgrades: rows written before a migration read back with its defaults, and
//! tables a migration adds work on top of the schema before it.

use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{InsertStatement, Query, SimpleExpr};
use sesame_core::client::SubjectType;
use sesame_core::notify::{Message, Recipient};
use sesame_core::participant::{ParticipantId, RequiredAction};
use sesame_core::store::{
    ClientStore, Grant, GrantStore, LinkStore, OutboxStore, ParticipantStore, StoredLink,
};
use uuid::Uuid;

use crate::participants::number;
use crate::{Env, TestResult, at, contract};

contract!(
    rows_of_the_first_schema_read_back_with_the_defaults,
    rows_of_the_second_schema_read_back_with_the_defaults,
    the_links_table_comes_on_top_of_the_fifth_schema,
);

type Columns = Vec<(&'static str, SimpleExpr)>;

/// Rolls the schema back to the first migration only, writes a client and a grant with
/// its columns, then upgrades and reads them through the store.
async fn rows_of_the_first_schema_read_back_with_the_defaults(env: Env) -> TestResult {
    Migrator::down(&env.raw, None).await?;
    Migrator::up(&env.raw, Some(1)).await?;
    let grant_id = Uuid::new_v4();
    let participant = Uuid::new_v4();
    env.raw
        .execute(&insert("clients", first_schema_client())?)
        .await?;
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
    assert_eq!(client.required_actions, []);

    let grant = GrantStore::get(&*env, grant_id).await?;
    let grant = grant.ok_or("grant lost")?;
    assert!(!grant.offline);
    assert_eq!(grant.participant.0, participant);
    let live: Vec<Grant> = env.by_session("sid-legacy").await?;
    assert_eq!(live, vec![grant]);
    Ok(())
}

/// Rolls the schema back to the second migration, writes a participant and a client with
/// its columns, then upgrades and reads them through the store.
async fn rows_of_the_second_schema_read_back_with_the_defaults(env: Env) -> TestResult {
    Migrator::down(&env.raw, None).await?;
    Migrator::up(&env.raw, Some(2)).await?;
    let participant = ParticipantId::generate();
    env.raw
        .execute(&insert("clients", second_schema_client())?)
        .await?;
    env.raw
        .execute(&insert(
            "participants",
            second_schema_participant(participant),
        )?)
        .await?;
    env.migrate().await?;

    let client = ClientStore::get(&*env, "legacy").await?;
    let client = client.ok_or("client lost")?;
    assert!(client.refresh_tokens);
    assert_eq!(client.required_actions, []);

    let stored = env.by_id(participant).await?.ok_or("participant lost")?;
    assert_eq!(stored.number, number("12345678")?);
    assert_eq!(stored.required_actions, [RequiredAction::VerifyEmail]);
    assert_eq!(
        (stored.phone_declined_at, stored.terms_accepted),
        (None, None)
    );
    assert_eq!((stored.created_at, stored.updated_at), (at(0), at(1)));
    Ok(())
}

/// Rolls the schema back to the fifth migration, writes an e-mail with its HTML, then
/// upgrades: the message is still there and links can be stored. Going down one step
/// drops the links and nothing else.
async fn the_links_table_comes_on_top_of_the_fifth_schema(env: Env) -> TestResult {
    Migrator::down(&env.raw, None).await?;
    Migrator::up(&env.raw, Some(5)).await?;
    env.raw
        .execute(&insert("outbox", fifth_schema_email())?)
        .await?;
    let link = StoredLink {
        digest: "digest".into(),
        kind: "activate".into(),
        participant: ParticipantId::generate(),
        target: Some("amelie@example.org".into()),
        context: None,
        created_at: at(0),
        expires_at: at(86_400),
    };
    assert!(env.insert_replacing(&link).await.is_err());
    env.migrate().await?;

    env.insert_replacing(&link).await?;
    assert_eq!(
        env.peek("digest", "activate", at(1)).await?,
        Some(link.clone())
    );
    let due = env.due(at(0), 10).await?;
    let [entry] = &due[..] else {
        return Err(format!("{} messages due", due.len()).into());
    };
    assert_eq!(entry.message, fifth_schema_message());

    Migrator::down(&env.raw, Some(1)).await?;
    assert!(env.peek("digest", "activate", at(1)).await.is_err());
    assert_eq!(env.due(at(0), 10).await?.len(), 1);
    env.migrate().await?;
    assert_eq!(env.peek("digest", "activate", at(1)).await?, None);
    Ok(())
}

/// The message `fifth_schema_email` holds.
fn fifth_schema_message() -> Message {
    Message {
        to: Recipient::Email("amelie@example.org".into()),
        subject: "Subject".into(),
        body: "Body".into(),
        html: Some("<p>Body</p>".into()),
        expires_at: at(600),
    }
}

/// The `outbox` table did not change in the sixth migration.
fn fifth_schema_email() -> Columns {
    vec![
        ("channel", "email".into()),
        ("recipient", "amelie@example.org".into()),
        ("subject", "Subject".into()),
        ("body", "Body".into()),
        ("html", "<p>Body</p>".into()),
        ("created_at", at(0).into()),
        ("expires_at", at(600).into()),
        ("attempts", 0.into()),
        ("next_attempt_at", at(0).into()),
    ]
}

fn first_schema_client() -> Columns {
    vec![
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
    ]
}

fn second_schema_client() -> Columns {
    let mut columns = first_schema_client();
    columns.extend([
        ("refresh_tokens", true.into()),
        ("client_credentials", false.into()),
        ("subject_type", "public".into()),
        ("sector", Option::<String>::None.into()),
        ("backchannel_logout_uri", Option::<String>::None.into()),
        ("backchannel_logout_session_required", false.into()),
        ("backchannel_logout_allow_private", false.into()),
    ]);
    columns
}

/// The `participants` table did not change in the second migration.
fn second_schema_participant(id: ParticipantId) -> Columns {
    vec![
        ("id", id.to_string().into()),
        ("number", "12345678".into()),
        ("email", "p12345678@example.org".into()),
        ("email_verified", false.into()),
        ("phone", Option::<String>::None.into()),
        ("phone_verified", false.into()),
        ("given_name", Option::<String>::None.into()),
        ("family_name", Option::<String>::None.into()),
        ("locale", Option::<String>::None.into()),
        ("password_hash", Option::<String>::None.into()),
        ("required_actions", r#"["verify-email"]"#.into()),
        ("created_at", at(0).into()),
        ("updated_at", at(1).into()),
    ]
}

fn first_schema_grant(
    id: Uuid,
    participant: Uuid,
) -> Result<InsertStatement, Box<dyn std::error::Error>> {
    let columns = vec![
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

fn insert(
    table: &'static str,
    columns: Columns,
) -> Result<InsertStatement, Box<dyn std::error::Error>> {
    let (names, values): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    let mut statement = Query::insert();
    statement.into_table(table).columns(names).values(values)?;
    Ok(statement)
}
