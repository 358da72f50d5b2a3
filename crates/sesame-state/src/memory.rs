//! An in-process [`StateStore`] for a single node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use chrono::Duration;
use sesame_core::state::{StateError, StateStore};

struct Entry {
    value: Vec<u8>,
    expires: Instant,
}

/// Keys with expiry in a map behind a mutex. Expired keys are dropped when read and
/// swept every so often when written.
#[derive(Default)]
pub struct MemoryState {
    map: Mutex<HashMap<String, Entry>>,
}

impl MemoryState {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T,
    ) -> Result<T, StateError> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| StateError("memory state poisoned".into()))?;
        let now = Instant::now();
        Ok(f(&mut map, now))
    }
}

fn deadline(now: Instant, ttl: Duration) -> Instant {
    let ttl = ttl.to_std().unwrap_or(StdDuration::ZERO);
    now.checked_add(ttl).unwrap_or(now)
}

fn sweep(map: &mut HashMap<String, Entry>, now: Instant) {
    if map.len().is_multiple_of(256) {
        map.retain(|_, e| e.expires > now);
    }
}

fn live(map: &HashMap<String, Entry>, key: &str, now: Instant) -> bool {
    map.get(key).is_some_and(|e| e.expires > now)
}

#[async_trait]
impl StateStore for MemoryState {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StateError> {
        self.with(|map, now| {
            sweep(map, now);
            map.insert(
                key.to_owned(),
                Entry {
                    value,
                    expires: deadline(now, ttl),
                },
            );
        })
    }

    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool, StateError> {
        self.with(|map, now| {
            if live(map, key, now) {
                return false;
            }
            map.insert(
                key.to_owned(),
                Entry {
                    value,
                    expires: deadline(now, ttl),
                },
            );
            true
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        self.with(|map, now| {
            map.get(key)
                .filter(|e| e.expires > now)
                .map(|e| e.value.clone())
        })
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        self.with(|map, now| map.remove(key).filter(|e| e.expires > now).map(|e| e.value))
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        self.with(|map, _| {
            map.remove(key);
        })
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StateError> {
        self.with(|map, now| {
            let current = map
                .get(key)
                .filter(|e| e.expires > now)
                .and_then(|e| std::str::from_utf8(&e.value).ok()?.parse::<u64>().ok());
            let expires = match current {
                Some(_) => map.get(key).map_or(deadline(now, ttl), |e| e.expires),
                None => deadline(now, ttl),
            };
            let next = current.unwrap_or(0) + 1;
            map.insert(
                key.to_owned(),
                Entry {
                    value: next.to_string().into_bytes(),
                    expires,
                },
            );
            next
        })
    }

    async fn ping(&self) -> Result<(), StateError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
