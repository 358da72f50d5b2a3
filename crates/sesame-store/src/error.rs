//! Turns database errors into [`StoreError`]s with short messages that carry no value
//! from the statement (no number, address or secret), only what went wrong.

use sea_orm::sqlx;
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlErr};
use sesame_core::store::StoreError;

/// Maps an error met while running a statement.
pub(crate) fn db(err: DbErr) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
        return StoreError::Conflict;
    }
    match err {
        DbErr::Conn(e) | DbErr::Exec(e) | DbErr::Query(e) => runtime(&e),
        DbErr::ConnectionAcquire(e) => StoreError::Unavailable(format!("no connection: {e}")),
        DbErr::TryIntoErr { .. } | DbErr::Type(_) | DbErr::Json(_) => {
            StoreError::Corrupt("a stored value has an unexpected type".into())
        }
        _ => StoreError::Unavailable("database operation failed".into()),
    }
}

/// Maps an error met while connecting.
pub(crate) fn connect(err: DbErr) -> StoreError {
    match &err {
        DbErr::Conn(RuntimeErr::SqlxError(e)) => connect_driver(e),
        _ => prefixed("cannot connect", db(err)),
    }
}

/// Maps a driver error met while connecting. A refusal from the server is named in its
/// own words (unknown database, failed authentication), which hold no secret.
pub(crate) fn connect_driver(err: &sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Database(d) => {
            StoreError::Unavailable(format!("cannot connect: {}", d.message()))
        }
        other => prefixed("cannot connect", driver(other)),
    }
}

/// True when the pool gave up waiting for its first connection, which hides the cause.
pub(crate) fn is_pool_timeout(err: &DbErr) -> bool {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e)) => matches!(e.as_ref(), sqlx::Error::PoolTimedOut),
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => true,
        _ => false,
    }
}

/// Maps an error met while migrating.
pub(crate) fn migrate(err: DbErr) -> StoreError {
    match err {
        DbErr::Migration(reason) => StoreError::Unavailable(format!("migration failed: {reason}")),
        other => prefixed("migration failed", db(other)),
    }
}

fn prefixed(context: &str, err: StoreError) -> StoreError {
    match err {
        StoreError::Unavailable(reason) => StoreError::Unavailable(format!("{context}: {reason}")),
        other => other,
    }
}

fn runtime(err: &RuntimeErr) -> StoreError {
    match err {
        RuntimeErr::SqlxError(e) => driver(e),
        _ => StoreError::Unavailable("database driver error".into()),
    }
}

fn driver(err: &sqlx::Error) -> StoreError {
    let unavailable = |reason: String| StoreError::Unavailable(reason);
    match err {
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            unavailable(format!("the database refused the statement (code {code})"))
        }
        sqlx::Error::Io(io) => unavailable(format!("connection failed: {}", io.kind())),
        sqlx::Error::Tls(_) => unavailable("TLS handshake failed".into()),
        sqlx::Error::PoolTimedOut => unavailable("timed out waiting for a connection".into()),
        sqlx::Error::PoolClosed => unavailable("connection pool closed".into()),
        sqlx::Error::Configuration(_) => unavailable("invalid connection settings".into()),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Corrupt("a stored value could not be decoded".into())
        }
        _ => unavailable("database driver error".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_short_and_generic() {
        let err = db(DbErr::Exec(RuntimeErr::Internal("secret 12345678".into())));
        assert_eq!(err, StoreError::Unavailable("database driver error".into()));
        let err = db(DbErr::Type("participants.email".into()));
        assert!(matches!(err, StoreError::Corrupt(_)));
    }

    #[test]
    fn io_errors_name_their_kind() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = connect(DbErr::Conn(RuntimeErr::SqlxError(
            sqlx::Error::Io(io).into(),
        )));
        let expected = "cannot connect: connection failed: connection refused";
        assert_eq!(err, StoreError::Unavailable(expected.into()));
    }
}
