//! `RefreshTokenStore`: refresh tokens, kept by digest and used once.

use sesame_core::acr::{Acr, Amr};
use sesame_core::participant::ParticipantId;
use sesame_core::store::{RefreshToken, RefreshTokenStore, StoreError};
use uuid::Uuid;

use crate::{Env, TestResult, at, contract};

contract!(
    insert_then_get_returns_the_token,
    a_taken_digest_conflicts,
    a_token_is_marked_used_once,
    concurrent_uses_have_one_winner,
    purge_deletes_only_tokens_expired_before,
);

/// How many callers race for the same token.
const RACERS: i64 = 8;

fn token(digest: &str) -> RefreshToken {
    RefreshToken {
        digest: digest.into(),
        grant_id: Uuid::new_v4(),
        client_id: "questionnaire".into(),
        participant: ParticipantId::generate(),
        scopes: vec!["openid".into(), "offline_access".into()],
        auth_time: at(-60),
        acr: Acr::Mfa,
        amr: vec![Amr::Pwd, Amr::Sms, Amr::Mfa],
        sid: "sid-1".into(),
        created_at: at(0),
        expires_at: at(3600),
        used_at: None,
    }
}

async fn insert_then_get_returns_the_token(env: Env) -> TestResult {
    let fresh = token("digest-fresh");
    let used = RefreshToken {
        acr: Acr::Pwd,
        amr: vec![Amr::Pwd],
        scopes: vec![],
        used_at: Some(at(30)),
        ..token("digest-used")
    };
    env.insert(&fresh).await?;
    env.insert(&used).await?;
    assert_eq!(env.get("digest-fresh").await?, Some(fresh));
    assert_eq!(env.get("digest-used").await?, Some(used));
    assert_eq!(env.get("digest-unknown").await?, None);
    Ok(())
}

async fn a_taken_digest_conflicts(env: Env) -> TestResult {
    let first = token("digest");
    env.insert(&first).await?;
    let again = RefreshToken {
        client_id: "another".into(),
        ..token("digest")
    };
    assert_eq!(env.insert(&again).await, Err(StoreError::Conflict));
    assert_eq!(env.get("digest").await?, Some(first));
    Ok(())
}

async fn a_token_is_marked_used_once(env: Env) -> TestResult {
    env.insert(&token("digest")).await?;
    env.insert(&token("other")).await?;
    assert!(env.mark_used("digest", at(10)).await?);
    assert!(!env.mark_used("digest", at(20)).await?);
    assert!(!env.mark_used("unknown", at(20)).await?);
    let used = env.get("digest").await?.ok_or("token lost")?;
    assert_eq!(used.used_at, Some(at(10)));
    let other = env.get("other").await?.ok_or("token lost")?;
    assert_eq!(other.used_at, None);
    Ok(())
}

/// Racers present the same token at once, each with its own instant: one wins, and the
/// stored instant is the winner's.
async fn concurrent_uses_have_one_winner(env: Env) -> TestResult {
    env.insert(&token("digest")).await?;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS as usize));
    let racers: Vec<_> = (0..RACERS)
        .map(|n| {
            let (store, start) = (env.store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store
                    .mark_used("digest", at(10 + n))
                    .await
                    .map(|won| (n, won))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        if let (n, true) = racer.await?? {
            winners.push(n);
        }
    }
    let [winner] = winners[..] else {
        return Err(format!("winners: {winners:?}").into());
    };
    let used = env.get("digest").await?.ok_or("token lost")?;
    assert_eq!(used.used_at, Some(at(10 + winner)));
    Ok(())
}

async fn purge_deletes_only_tokens_expired_before(env: Env) -> TestResult {
    for (digest, expires) in [("a", 10), ("b", 20), ("c", 30)] {
        let expiring = RefreshToken {
            expires_at: at(expires),
            ..token(digest)
        };
        env.insert(&expiring).await?;
    }
    assert_eq!(env.purge_expired(at(20)).await?, 1);
    assert_eq!(env.get("a").await?, None);
    assert!(env.get("b").await?.is_some() && env.get("c").await?.is_some());
    assert_eq!(env.purge_expired(at(20)).await?, 0);
    assert_eq!(env.purge_expired(at(31)).await?, 2);
    Ok(())
}
