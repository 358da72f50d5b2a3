//! The storage contract: what every implementation of the `sesame_core::store` traits
//! must do. Each test runs twice, on a fresh SQLite file and in a fresh PostgreSQL schema
//! (at `TEST_POSTGRES_URL`, by default `postgres://postgres@127.0.0.1:5432/test`).

#[path = "contract/audit.rs"]
mod audit;
#[path = "contract/clients.rs"]
mod clients;
#[path = "contract/connect.rs"]
mod connect;
#[path = "contract/grants.rs"]
mod grants;
#[path = "contract/keys.rs"]
mod keys;
#[path = "contract/links.rs"]
mod links;
#[path = "contract/outbox.rs"]
mod outbox;
#[path = "contract/participant_updates.rs"]
mod participant_updates;
#[path = "contract/participants.rs"]
mod participants;
#[path = "contract/refresh_tokens.rs"]
mod refresh_tokens;
#[path = "contract/upgrade.rs"]
mod upgrade;

use std::error::Error;
use std::future::Future;
use std::ops::Deref;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, QueryResult, Statement,
};
use sesame_store::SeaStore;

type TestResult = Result<(), Box<dyn Error>>;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs each named test function once per backend: `name::sqlite` and `name::postgres`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() -> crate::TestResult {
                crate::on_sqlite(super::$name).await
            }

            #[tokio::test]
            async fn postgres() -> crate::TestResult {
                crate::on_postgres(super::$name).await
            }
        }
    )*};
}
pub(crate) use contract;

/// A migrated store of its own, and a side connection to the same database for the
/// checks the traits cannot make (what a row really holds).
pub struct Env {
    store: SeaStore,
    raw: DatabaseConnection,
}

impl Deref for Env {
    type Target = SeaStore;

    fn deref(&self) -> &SeaStore {
        &self.store
    }
}

impl Env {
    /// Runs a statement on the side connection.
    pub async fn execute(&self, sql: &str) -> TestResult {
        self.raw.execute_unprepared(sql).await?;
        Ok(())
    }

    /// Reads one row through the side connection.
    pub async fn query_one(&self, sql: &str) -> Result<QueryResult, Box<dyn Error>> {
        let statement = Statement::from_string(self.raw.get_database_backend(), sql);
        let row = self.raw.query_one_raw(statement).await?;
        Ok(row.ok_or("no row")?)
    }

    async fn close(self) {
        self.store.close().await;
        let _ = self.raw.close().await;
    }
}

async fn on_sqlite<F, Fut>(test: F) -> TestResult
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = TestResult>,
{
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("sesame.db").display()
    );
    let store = SeaStore::connect(&url).await?;
    store.migrate().await?;
    let raw = Database::connect(&url).await?;
    run(test, Env { store, raw }).await
}

async fn on_postgres<F, Fut>(test: F) -> TestResult
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = TestResult>,
{
    let base =
        std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let schema = format!("contract_{}", uuid::Uuid::new_v4().simple());
    let store = SeaStore::connect_postgres_schema(&base, &schema).await?;
    let result = postgres_env(store, &base, &schema).await;
    let result = match result {
        Ok(env) => run(test, env).await,
        Err(err) => Err(err),
    };
    SeaStore::drop_postgres_schema(&base, &schema).await?;
    result
}

async fn postgres_env(store: SeaStore, base: &str, schema: &str) -> Result<Env, Box<dyn Error>> {
    store.migrate().await?;
    let mut options = ConnectOptions::new(base);
    options.set_schema_search_path(schema).max_connections(1);
    let raw = Database::connect(options).await?;
    Ok(Env { store, raw })
}

async fn run<F, Fut>(test: F, env: Env) -> TestResult
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = TestResult>,
{
    let store = env.store.clone();
    let raw = env.raw.clone();
    let result = test(env).await;
    Env { store, raw }.close().await;
    result
}

/// A fixed instant, so that what is written can be compared with what is read.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// `t0` moved by `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}
