//! `KeyStore`: signing keys.

use sesame_core::keys::{SigningAlg, StoredKey};
use sesame_core::store::{KeyStore, StoreError};

use crate::{Env, TestResult, at, contract};

contract!(
    inserted_keys_are_all_returned_oldest_first,
    a_taken_kid_conflicts
);

fn key(kid: &str, alg: SigningAlg, seconds: i64) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        alg,
        private_sealed: format!("sealed-{kid}"),
        public_jwk: format!(r#"{{"kid":"{kid}","kty":"EC"}}"#),
        created_at: at(seconds),
    }
}

async fn inserted_keys_are_all_returned_oldest_first(env: Env) -> TestResult {
    assert_eq!(env.all().await?, vec![]);
    let newer = key("k2", SigningAlg::ES256, 60);
    let older = key("k1", SigningAlg::RS256, 0);
    env.insert(&newer).await?;
    env.insert(&older).await?;
    assert_eq!(env.all().await?, vec![older, newer]);
    Ok(())
}

async fn a_taken_kid_conflicts(env: Env) -> TestResult {
    env.insert(&key("k1", SigningAlg::ES256, 0)).await?;
    let again = key("k1", SigningAlg::RS256, 1);
    assert_eq!(env.insert(&again).await, Err(StoreError::Conflict));
    assert_eq!(env.all().await?.len(), 1);
    Ok(())
}
