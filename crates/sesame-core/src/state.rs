//! Short-lived state (flows, sessions, codes, counters): a key-value store whose every key
//! has a time to live. Redis and an in-process map implement it.

use async_trait::async_trait;
use chrono::Duration;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The short-lived store failed or is unreachable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("short-lived state unavailable: {0}")]
pub struct StateError(pub String);

/// A key-value store with expiry. Keys are namespaced by the caller (`flow:…`, `code:…`).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Stores `value` under `key` for `ttl`, replacing any earlier value.
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StateError>;
    /// Stores `value` only if `key` is absent; true when stored.
    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool, StateError>;
    /// Reads a live value.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StateError>;
    /// Reads and deletes a live value atomically: at most one caller gets it.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StateError>;
    /// Deletes a value.
    async fn delete(&self, key: &str) -> Result<(), StateError>;
    /// Adds one to a counter; the window of `ttl` starts with the first increment.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StateError>;
    /// Answers whether the store is reachable.
    async fn ping(&self) -> Result<(), StateError>;
}

/// JSON helpers over any [`StateStore`].
pub async fn put_json<T: Serialize + Sync>(
    store: &dyn StateStore,
    key: &str,
    value: &T,
    ttl: Duration,
) -> Result<(), StateError> {
    let bytes = serde_json::to_vec(value).map_err(|e| StateError(e.to_string()))?;
    store.put(key, bytes, ttl).await
}

/// Reads a JSON value; a value that no longer parses counts as absent.
pub async fn get_json<T: DeserializeOwned>(
    store: &dyn StateStore,
    key: &str,
) -> Result<Option<T>, StateError> {
    Ok(store
        .get(key)
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Takes a JSON value (read and delete).
pub async fn take_json<T: DeserializeOwned>(
    store: &dyn StateStore,
    key: &str,
) -> Result<Option<T>, StateError> {
    Ok(store
        .take(key)
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}
