//! `GrantStore`: grants and their revocation.

use chrono::TimeDelta;
use sesame_core::participant::ParticipantId;
use sesame_core::store::{Grant, GrantStore, StoreError};
use uuid::Uuid;

use crate::{Env, TestResult, at, contract};

contract!(
    create_then_get_returns_the_grant,
    a_taken_id_conflicts,
    revoking_is_idempotent,
    revoking_an_unknown_grant_is_harmless,
    timestamps_keep_microseconds,
);

fn grant() -> Grant {
    Grant {
        id: Uuid::new_v4(),
        participant: ParticipantId::generate(),
        client_id: "questionnaire".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        session_id: Some("sid-1".into()),
        created_at: at(0),
        revoked_at: None,
    }
}

async fn create_then_get_returns_the_grant(env: Env) -> TestResult {
    let given = grant();
    env.create(&given).await?;
    assert_eq!(env.get(given.id).await?, Some(given.clone()));
    let without_session = Grant {
        id: Uuid::new_v4(),
        session_id: None,
        ..given
    };
    env.create(&without_session).await?;
    assert_eq!(env.get(without_session.id).await?, Some(without_session));
    assert_eq!(env.get(Uuid::new_v4()).await?, None);
    Ok(())
}

async fn a_taken_id_conflicts(env: Env) -> TestResult {
    let given = grant();
    env.create(&given).await?;
    assert_eq!(env.create(&given).await, Err(StoreError::Conflict));
    Ok(())
}

async fn revoking_is_idempotent(env: Env) -> TestResult {
    let given = grant();
    let other = grant();
    env.create(&given).await?;
    env.create(&other).await?;
    env.revoke(given.id, at(10)).await?;
    env.revoke(given.id, at(20)).await?;
    let revoked = env.get(given.id).await?.ok_or("grant lost")?;
    assert_eq!(revoked.revoked_at, Some(at(10)));
    assert_eq!(
        env.get(other.id).await?.ok_or("grant lost")?.revoked_at,
        None
    );
    Ok(())
}

async fn revoking_an_unknown_grant_is_harmless(env: Env) -> TestResult {
    env.revoke(Uuid::new_v4(), at(0)).await?;
    Ok(())
}

/// Both backends keep the same precision, so a value reads back the same on either.
async fn timestamps_keep_microseconds(env: Env) -> TestResult {
    let given = Grant {
        created_at: at(0) + TimeDelta::nanoseconds(123_456_789),
        ..grant()
    };
    env.create(&given).await?;
    let stored = env.get(given.id).await?.ok_or("grant lost")?;
    assert_eq!(stored.created_at, at(0) + TimeDelta::microseconds(123_456));
    Ok(())
}
