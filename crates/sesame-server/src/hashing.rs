//! Password hashing on Tokio's blocking pool, no more at once than there are cores
//! (DESIGN §5.1), so a burst of logins cannot starve the runtime.

use std::sync::Arc;

use async_trait::async_trait;
use sesame_core::SecretString;
use sesame_core::password::{self, PasswordHash};
use sesame_core::service::PasswordHasher;
use tokio::sync::Semaphore;

/// Runs argon2 on the blocking pool behind a semaphore.
#[derive(Debug, Clone)]
pub struct PooledHasher {
    permits: Arc<Semaphore>,
}

impl PooledHasher {
    /// A hasher allowing as many hashes at once as the machine has cores.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }
}

impl Default for PooledHasher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PasswordHasher for PooledHasher {
    async fn hash(&self, password: SecretString) -> Option<PasswordHash> {
        self.run(move || password::hash(&password).ok())
            .await
            .flatten()
    }

    async fn verify(&self, password: SecretString, stored: PasswordHash) -> bool {
        self.run(move || password::verify(&password, &stored))
            .await
            .unwrap_or(false)
    }
}
