//! Write transactions that behave the same on both backends.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use sesame_core::store::StoreError;

use crate::error;

/// Begins a transaction that will write. On SQLite it takes the write lock at once, so
/// that it never has to be upgraded from a read lock halfway (which fails when another
/// writer got there first); on PostgreSQL it is an ordinary read-committed transaction.
pub(crate) async fn begin_write(
    db: &DatabaseConnection,
) -> Result<DatabaseTransaction, StoreError> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options).await.map_err(error::db)
}

/// Commits when the work succeeded and rolls back when it failed.
pub(crate) async fn finish<T>(
    txn: DatabaseTransaction,
    outcome: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match outcome {
        Ok(value) => {
            txn.commit().await.map_err(error::db)?;
            Ok(value)
        }
        Err(err) => {
            // The error that stopped the work is the one worth reporting.
            let _ = txn.rollback().await;
            Err(err)
        }
    }
}
