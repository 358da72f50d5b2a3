//! Opening the store: migrations, health, and readable failures.

use migration::{Migrator, MigratorTrait};
use sesame_core::store::{ParticipantStore, StoreError};
use sesame_store::SeaStore;

use crate::{Env, TestResult, contract};

contract!(
    migrating_twice_is_harmless,
    migrations_roll_back_and_apply_again
);

async fn migrating_twice_is_harmless(env: Env) -> TestResult {
    env.migrate().await?;
    env.ping().await?;
    Ok(())
}

async fn migrations_roll_back_and_apply_again(env: Env) -> TestResult {
    Migrator::down(&env.raw, None).await?;
    assert!(env.count().await.is_err());
    env.migrate().await?;
    assert_eq!(env.count().await?, 0);
    Ok(())
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("sesame.db");
    let store = SeaStore::connect(&format!("sqlite://{}?mode=rwc", path.display())).await?;
    store.migrate().await?;
    assert!(dir.path().join("sesame.db-wal").exists());
    store.close().await;
    Ok(())
}

fn unavailable(result: Result<SeaStore, StoreError>) -> Result<String, String> {
    match result {
        Err(StoreError::Unavailable(reason)) => Ok(reason),
        Err(other) => Err(format!("expected Unavailable, got {other:?}")),
        Ok(_) => Err("connected to a database that should not be there".into()),
    }
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable() -> TestResult {
    let result = SeaStore::connect("postgres://sesame:hunter2@127.0.0.1:1/none").await;
    let reason = unavailable(result)?;
    assert!(reason.contains("connection refused"), "{reason}");
    assert!(!reason.contains("hunter2"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn an_unopenable_sqlite_file_is_unavailable() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("missing-folder").join("sesame.db");
    let result = SeaStore::connect(&format!("sqlite://{}?mode=rwc", path.display())).await;
    let reason = unavailable(result)?;
    assert!(reason.starts_with("cannot connect"), "{reason}");
    Ok(())
}

#[tokio::test]
async fn a_bad_url_is_unavailable_without_its_text() -> TestResult {
    for url in [
        "mysql://root:hunter2@127.0.0.1/db",
        "hunter2",
        "postgres://[::1",
    ] {
        let reason = unavailable(SeaStore::connect(url).await)?;
        assert!(!reason.contains("hunter2"), "{reason}");
    }
    Ok(())
}

#[tokio::test]
async fn a_schema_name_must_be_plain() -> TestResult {
    let url = "postgres://postgres@127.0.0.1:1/test";
    let result = SeaStore::connect_postgres_schema(url, "x\"; DROP SCHEMA public; --").await;
    assert_eq!(unavailable(result)?, "invalid schema name");
    Ok(())
}
