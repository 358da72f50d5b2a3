//! Opening the database: URL checks, pool settings, migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::Connection;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sesame_core::store::StoreError;

use crate::error;

/// How long to wait for a connection, at start and from the pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the direct attempt that explains a failed connection may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a SQLite writer waits for another to finish.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// WAL lets readers run beside the one writer; a few connections are enough.
const SQLITE_POOL: u32 = 4;
const POSTGRES_POOL: u32 = 10;

/// The durable store on SQLite or PostgreSQL. Cheap to clone: clones share one pool.
#[derive(Debug, Clone)]
pub struct SeaStore {
    pub(crate) db: DatabaseConnection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl SeaStore {
    /// Connects to `sqlite://PATH?mode=rwc` (WAL mode, a small pool) or `postgres://…`.
    /// An unreachable or misnamed database is `Unavailable` with a short reason.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let backend = backend(url)?;
        open(options(url, backend), backend).await
    }

    /// Connects to PostgreSQL at `base_url` inside `schema`, created if missing: each
    /// test gets a database of its own. `schema` is letters, digits and underscores.
    pub async fn connect_postgres_schema(base_url: &str, schema: &str) -> Result<Self, StoreError> {
        let setup = Self::postgres_admin(base_url, schema).await?;
        setup
            .execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .await?;
        setup.close().await;
        let mut options = options(base_url, Backend::Postgres);
        options.set_schema_search_path(schema);
        open(options, Backend::Postgres).await
    }

    /// Drops a schema made by [`SeaStore::connect_postgres_schema`] and all it holds.
    pub async fn drop_postgres_schema(base_url: &str, schema: &str) -> Result<(), StoreError> {
        let admin = Self::postgres_admin(base_url, schema).await?;
        let dropped = admin
            .execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .await;
        admin.close().await;
        dropped
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await.map_err(error::migrate)
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(error::db)
    }

    /// Closes the pool; clones of this store stop working too.
    pub async fn close(&self) {
        // A failure to close cleanly leaves nothing to do: the connections are gone either way.
        let _ = self.db.close_by_ref().await;
    }

    /// A one-connection store for schema statements, after checking the schema name.
    async fn postgres_admin(base_url: &str, schema: &str) -> Result<Self, StoreError> {
        if backend(base_url)? != Backend::Postgres {
            return Err(StoreError::Unavailable("not a PostgreSQL URL".into()));
        }
        check_schema_name(schema)?;
        let mut options = options(base_url, Backend::Postgres);
        options.max_connections(1);
        open(options, Backend::Postgres).await
    }

    async fn execute(&self, sql: &str) -> Result<(), StoreError> {
        self.db
            .execute_unprepared(sql)
            .await
            .map(|_| ())
            .map_err(error::db)
    }
}

async fn open(options: ConnectOptions, backend: Backend) -> Result<SeaStore, StoreError> {
    let url = options.get_url().to_owned();
    match Database::connect(options).await {
        Ok(db) => Ok(SeaStore { db }),
        Err(err) if backend == Backend::Postgres && error::is_pool_timeout(&err) => {
            Err(probe(&url).await)
        }
        Err(err) => Err(error::connect(err)),
    }
}

/// The pool retries a refused connection until its deadline, then only says that it timed
/// out; one direct attempt tells why.
async fn probe(url: &str) -> StoreError {
    let silent = StoreError::Unavailable("cannot connect: the database did not answer".into());
    let Ok(options) = url.parse::<PgConnectOptions>() else {
        return silent;
    };
    match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Err(err)) => error::connect_driver(&err),
        Ok(Ok(connection)) => {
            // It answers now: the first attempts were unlucky. Report the timeout anyway.
            let _ = connection.close().await;
            silent
        }
        Err(_) => silent,
    }
}

/// Tells the backend from the URL's scheme. The URL itself never enters a message: it may
/// hold a password.
fn backend(url: &str) -> Result<Backend, StoreError> {
    let parsed = url::Url::parse(url)
        .map_err(|_| StoreError::Unavailable("the database URL cannot be parsed".into()))?;
    match parsed.scheme() {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        other => Err(StoreError::Unavailable(format!(
            "unsupported database URL scheme {other:?} (use sqlite:// or postgres://)"
        ))),
    }
}

fn options(url: &str, backend: Backend) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .connect_timeout(CONNECT_TIMEOUT)
        .acquire_timeout(CONNECT_TIMEOUT)
        .sqlx_logging(false);
    match backend {
        Backend::Sqlite => sqlite_options(&mut options, url),
        Backend::Postgres => {
            options.max_connections(POSTGRES_POOL);
        }
    }
    options
}

fn sqlite_options(options: &mut ConnectOptions, url: &str) {
    // Each connection to an in-memory database gets a database of its own.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    options.max_connections(if in_memory { 1 } else { SQLITE_POOL });
    options.map_sqlx_sqlite_opts(|sqlite| {
        sqlite
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true)
    });
}

/// Schema names are spliced into SQL, so only plain identifiers are accepted.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let plain = schema
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_');
    let starts_well = schema
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if plain && starts_well && schema.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::Unavailable("invalid schema name".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_follow_the_scheme() {
        assert_eq!(
            backend("sqlite://data/sesame.db?mode=rwc"),
            Ok(Backend::Sqlite)
        );
        assert_eq!(backend("sqlite::memory:"), Ok(Backend::Sqlite));
        assert_eq!(backend("postgresql://u:p@h/db"), Ok(Backend::Postgres));
        assert!(backend("mysql://u:secret@h/db").is_err_and(|e| !e.to_string().contains("secret")));
        assert!(backend("not a url").is_err());
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("contract_1a2b").is_ok());
        assert!(check_schema_name("x\"; DROP").is_err());
        assert!(check_schema_name("1abc").is_err());
        assert!(check_schema_name("").is_err());
    }
}
