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
    the_offline_flag_round_trips,
    by_session_lists_live_grants_of_the_session_oldest_first,
    by_session_of_an_unknown_session_is_empty,
    revoke_for_participant_keeps_one_session,
    revoke_for_participant_without_a_kept_session_revokes_all,
    concurrent_revocations_return_each_grant_once,
);

fn grant() -> Grant {
    Grant {
        id: Uuid::new_v4(),
        participant: ParticipantId::generate(),
        client_id: "questionnaire".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        session_id: Some("sid-1".into()),
        offline: false,
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

async fn the_offline_flag_round_trips(env: Env) -> TestResult {
    let offline = Grant {
        offline: true,
        ..grant()
    };
    let online = grant();
    env.create(&offline).await?;
    env.create(&online).await?;
    assert_eq!(env.get(offline.id).await?, Some(offline));
    assert_eq!(env.get(online.id).await?, Some(online));
    Ok(())
}

/// A grant of `session` created `seconds` after `t0`.
fn in_session(session: &str, seconds: i64) -> Grant {
    Grant {
        session_id: Some(session.into()),
        created_at: at(seconds),
        ..grant()
    }
}

async fn by_session_lists_live_grants_of_the_session_oldest_first(env: Env) -> TestResult {
    let newer = in_session("sid-1", 20);
    let older = Grant {
        offline: true,
        ..in_session("sid-1", 10)
    };
    let revoked = in_session("sid-1", 15);
    let elsewhere = in_session("sid-2", 12);
    let sessionless = Grant {
        session_id: None,
        ..grant()
    };
    for g in [&newer, &revoked, &elsewhere, &older, &sessionless] {
        env.create(g).await?;
    }
    env.revoke(revoked.id, at(30)).await?;
    assert_eq!(env.by_session("sid-1").await?, vec![older, newer]);
    assert_eq!(env.by_session("sid-2").await?, vec![elsewhere]);
    Ok(())
}

async fn by_session_of_an_unknown_session_is_empty(env: Env) -> TestResult {
    env.create(&grant()).await?;
    assert_eq!(env.by_session("sid-unknown").await?, vec![]);
    Ok(())
}

/// A live grant of `participant` in `session`, created `seconds` after `t0`.
fn of(participant: ParticipantId, session: Option<&str>, seconds: i64) -> Grant {
    Grant {
        participant,
        session_id: session.map(str::to_owned),
        created_at: at(seconds),
        ..grant()
    }
}

/// `grants` as `revoke_for_participant` returns them: revoked at `seconds`.
fn revoked_at(grants: &[&Grant], seconds: i64) -> Vec<Grant> {
    let revoked = |g: &&Grant| Grant {
        revoked_at: Some(at(seconds)),
        ..(*g).clone()
    };
    grants.iter().map(revoked).collect()
}

async fn revoke_for_participant_keeps_one_session(env: Env) -> TestResult {
    let participant = ParticipantId::generate();
    let kept = of(participant, Some("sid-keep"), 10);
    let kept_too = of(participant, Some("sid-keep"), 11);
    let other = of(participant, Some("sid-other"), 12);
    let sessionless = of(participant, None, 5);
    let already = of(participant, Some("sid-other"), 1);
    let someone_else = of(ParticipantId::generate(), Some("sid-other"), 2);
    for g in [
        &kept,
        &kept_too,
        &other,
        &sessionless,
        &already,
        &someone_else,
    ] {
        env.create(g).await?;
    }
    env.revoke(already.id, at(20)).await?;

    let revoked = env
        .revoke_for_participant(participant, Some("sid-keep"), at(30))
        .await?;
    assert_eq!(revoked, revoked_at(&[&sessionless, &other], 30));
    for g in [&kept, &kept_too, &someone_else] {
        assert_eq!(env.get(g.id).await?.as_ref(), Some(g));
    }
    for g in &revoked {
        assert_eq!(env.get(g.id).await?.as_ref(), Some(g));
    }
    let first = env.get(already.id).await?.ok_or("grant lost")?;
    assert_eq!(first.revoked_at, Some(at(20)));
    let again = env
        .revoke_for_participant(participant, Some("sid-keep"), at(40))
        .await?;
    assert_eq!(again, vec![]);
    Ok(())
}

async fn revoke_for_participant_without_a_kept_session_revokes_all(env: Env) -> TestResult {
    let participant = ParticipantId::generate();
    let in_session = of(participant, Some("sid-1"), 10);
    let sessionless = of(participant, None, 20);
    env.create(&in_session).await?;
    env.create(&sessionless).await?;
    let revoked = env
        .revoke_for_participant(participant, None, at(30))
        .await?;
    assert_eq!(revoked, revoked_at(&[&in_session, &sessionless], 30));
    assert_eq!(env.by_session("sid-1").await?, vec![]);
    let unknown = ParticipantId::generate();
    assert_eq!(
        env.revoke_for_participant(unknown, None, at(40)).await?,
        vec![]
    );
    Ok(())
}

/// Two callers at once share the grants out between them: none is returned twice.
async fn concurrent_revocations_return_each_grant_once(env: Env) -> TestResult {
    let participant = ParticipantId::generate();
    for n in 0..40 {
        env.create(&of(participant, Some("sid-1"), n)).await?;
    }
    let (one, two) = tokio::join!(
        env.revoke_for_participant(participant, None, at(50)),
        env.revoke_for_participant(participant, Some("sid-2"), at(60)),
    );
    let mut ids: Vec<Uuid> = one?.into_iter().chain(two?).map(|g| g.id).collect();
    assert_eq!(ids.len(), 40);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "a grant was returned twice");
    Ok(())
}
