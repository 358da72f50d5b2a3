//! `LinkStore`: one-use links, kept by digest, the newest of a kind only, used once.

use std::sync::Arc;

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Query, SimpleExpr};
use sesame_core::participant::ParticipantId;
use sesame_core::store::{LinkStore, StoreError, StoredLink};
use tokio::sync::Barrier;

use crate::{Env, TestResult, at, contract};

contract!(
    insert_then_peek_and_take_return_the_link,
    a_link_is_taken_once,
    concurrent_takes_have_one_winner,
    a_new_link_replaces_the_older_of_its_kind_only,
    concurrent_replacements_leave_the_last_link,
    expired_links_are_neither_peeked_nor_taken,
    a_link_of_another_kind_is_not_returned,
    revoke_all_deletes_one_kind_of_one_participant,
    purge_deletes_only_links_expired_before,
    a_taken_digest_conflicts_and_changes_nothing,
);

/// How many callers race for the same link.
const RACERS: usize = 8;
const RESET: &str = "reset";
const VERIFY_PHONE: &str = "verify-phone";

/// A reset link of `participant` with no target, valid from `at(0)` to `at(1800)`.
fn link(digest: &str, participant: ParticipantId) -> StoredLink {
    StoredLink {
        digest: digest.into(),
        kind: RESET.into(),
        participant,
        target: None,
        context: None,
        created_at: at(0),
        expires_at: at(1800),
    }
}

/// A phone verification link, with its number and the request to resume.
fn phone_link(digest: &str, participant: ParticipantId) -> StoredLink {
    StoredLink {
        kind: VERIFY_PHONE.into(),
        target: Some("+33612345678".into()),
        context: Some("sealed.authorization.request".into()),
        ..link(digest, participant)
    }
}

/// Writes a row through the side connection, replacing nothing.
async fn write_row(env: &Env, link: &StoredLink) -> TestResult {
    let columns: Vec<(&str, SimpleExpr)> = vec![
        ("digest", link.digest.clone().into()),
        ("kind", link.kind.clone().into()),
        ("participant_id", link.participant.to_string().into()),
        ("target", link.target.clone().into()),
        ("context", link.context.clone().into()),
        ("created_at", link.created_at.into()),
        ("expires_at", link.expires_at.into()),
    ];
    let (names, values): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    let mut insert = Query::insert();
    insert.into_table("links").columns(names).values(values)?;
    env.raw.execute(&insert).await?;
    Ok(())
}

/// How many links are stored, live or not.
async fn count(env: &Env) -> Result<i64, Box<dyn std::error::Error>> {
    let row = env.query_one("SELECT COUNT(*) AS n FROM links").await?;
    Ok(row.try_get::<i64>("", "n")?)
}

async fn insert_then_peek_and_take_return_the_link(env: Env) -> TestResult {
    let participant = ParticipantId::generate();
    let plain = link("digest-reset", participant);
    let phone = phone_link("digest-phone", participant);
    env.insert_replacing(&plain).await?;
    env.insert_replacing(&phone).await?;
    assert_eq!(
        env.peek("digest-reset", RESET, at(10)).await?,
        Some(plain.clone())
    );
    // Peeking does not use the link.
    assert_eq!(
        env.peek("digest-reset", RESET, at(20)).await?,
        Some(plain.clone())
    );
    assert_eq!(env.take("digest-reset", RESET, at(30)).await?, Some(plain));
    let taken = env.take("digest-phone", VERIFY_PHONE, at(30)).await?;
    assert_eq!(taken, Some(phone));
    assert_eq!(env.peek("digest-unknown", RESET, at(30)).await?, None);
    assert_eq!(env.take("digest-unknown", RESET, at(30)).await?, None);
    Ok(())
}

async fn a_link_is_taken_once(env: Env) -> TestResult {
    let participant = ParticipantId::generate();
    env.insert_replacing(&link("digest", participant)).await?;
    env.insert_replacing(&phone_link("other", participant))
        .await?;
    assert!(env.take("digest", RESET, at(10)).await?.is_some());
    assert_eq!(env.take("digest", RESET, at(11)).await?, None);
    assert_eq!(env.peek("digest", RESET, at(11)).await?, None);
    assert!(env.peek("other", VERIFY_PHONE, at(11)).await?.is_some());
    assert_eq!(count(&env).await?, 1);
    Ok(())
}

/// Racers present the same link at once: exactly one gets it back.
async fn concurrent_takes_have_one_winner(env: Env) -> TestResult {
    let stored = link("digest", ParticipantId::generate());
    env.insert_replacing(&stored).await?;
    let start = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|n| {
            let (store, start) = (env.store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store
                    .take("digest", RESET, at(10))
                    .await
                    .map(|got| (n, got))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        if let (n, Some(got)) = racer.await?? {
            assert_eq!(got, stored);
            winners.push(n);
        }
    }
    if winners.len() != 1 {
        return Err(format!("winners: {winners:?}").into());
    }
    assert_eq!(count(&env).await?, 0);
    Ok(())
}

/// The older link of the same kind and participant dies; other kinds and other
/// participants keep theirs.
async fn a_new_link_replaces_the_older_of_its_kind_only(env: Env) -> TestResult {
    let (amelie, bruno) = (ParticipantId::generate(), ParticipantId::generate());
    env.insert_replacing(&link("old", amelie)).await?;
    env.insert_replacing(&phone_link("phone", amelie)).await?;
    env.insert_replacing(&link("bruno", bruno)).await?;
    let newer = StoredLink {
        created_at: at(60),
        expires_at: at(1860),
        ..link("new", amelie)
    };
    env.insert_replacing(&newer).await?;

    assert_eq!(env.peek("old", RESET, at(70)).await?, None);
    assert_eq!(env.take("old", RESET, at(70)).await?, None);
    assert_eq!(env.peek("new", RESET, at(70)).await?, Some(newer));
    assert!(env.peek("phone", VERIFY_PHONE, at(70)).await?.is_some());
    assert!(env.peek("bruno", RESET, at(70)).await?.is_some());
    assert_eq!(count(&env).await?, 3);
    Ok(())
}

/// Racers each send a participant a new link of one kind at once: a single link is
/// left, and it works.
async fn concurrent_replacements_leave_the_last_link(env: Env) -> TestResult {
    let participant = ParticipantId::generate();
    env.insert_replacing(&link("before", participant)).await?;
    let start = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|n| {
            let (store, start) = (env.store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store
                    .insert_replacing(&link(&format!("racer-{n}"), participant))
                    .await
            })
        })
        .collect();
    for racer in racers {
        racer.await??;
    }
    assert_eq!(count(&env).await?, 1);
    let row = env.query_one("SELECT digest FROM links").await?;
    let digest: String = row.try_get("", "digest")?;
    assert!(digest.starts_with("racer-"), "{digest}");
    assert!(env.take(&digest, RESET, at(10)).await?.is_some());
    Ok(())
}

/// A link is live strictly before its expiry; an expired one is not deleted by `take`.
async fn expired_links_are_neither_peeked_nor_taken(env: Env) -> TestResult {
    let stored = link("digest", ParticipantId::generate());
    env.insert_replacing(&stored).await?;
    for now in [at(1800), at(1801)] {
        assert_eq!(env.peek("digest", RESET, now).await?, None);
        assert_eq!(env.take("digest", RESET, now).await?, None);
    }
    assert_eq!(count(&env).await?, 1);
    assert_eq!(
        env.peek("digest", RESET, at(1799)).await?,
        Some(stored.clone())
    );
    assert_eq!(env.take("digest", RESET, at(1799)).await?, Some(stored));
    Ok(())
}

/// A reset link cannot be used as a phone verification, nor the other way round, and
/// trying leaves it usable.
async fn a_link_of_another_kind_is_not_returned(env: Env) -> TestResult {
    let participant = ParticipantId::generate();
    let reset = link("reset-digest", participant);
    let phone = phone_link("phone-digest", participant);
    env.insert_replacing(&reset).await?;
    env.insert_replacing(&phone).await?;
    for (digest, wrong) in [("reset-digest", VERIFY_PHONE), ("phone-digest", RESET)] {
        assert_eq!(env.peek(digest, wrong, at(10)).await?, None);
        assert_eq!(env.take(digest, wrong, at(10)).await?, None);
        assert_eq!(env.take(digest, "activate", at(10)).await?, None);
    }
    assert_eq!(env.take("reset-digest", RESET, at(10)).await?, Some(reset));
    assert_eq!(
        env.take("phone-digest", VERIFY_PHONE, at(10)).await?,
        Some(phone)
    );
    Ok(())
}

/// Every link of the kind goes, expired or not, even several (which only a row written
/// around `insert_replacing` can be).
async fn revoke_all_deletes_one_kind_of_one_participant(env: Env) -> TestResult {
    let (amelie, bruno) = (ParticipantId::generate(), ParticipantId::generate());
    env.insert_replacing(&link("live", amelie)).await?;
    let expired = StoredLink {
        expires_at: at(5),
        ..link("expired", amelie)
    };
    write_row(&env, &expired).await?;
    env.insert_replacing(&phone_link("phone", amelie)).await?;
    env.insert_replacing(&link("bruno", bruno)).await?;

    assert_eq!(env.revoke_all(amelie, RESET).await?, 2);
    assert_eq!(env.peek("live", RESET, at(1)).await?, None);
    assert_eq!(env.revoke_all(amelie, RESET).await?, 0);
    assert!(env.peek("phone", VERIFY_PHONE, at(10)).await?.is_some());
    assert!(env.peek("bruno", RESET, at(10)).await?.is_some());
    assert_eq!(env.revoke_all(ParticipantId::generate(), RESET).await?, 0);
    assert_eq!(count(&env).await?, 2);
    Ok(())
}

async fn purge_deletes_only_links_expired_before(env: Env) -> TestResult {
    for (digest, expires) in [("a", 10), ("b", 20), ("c", 30)] {
        let expiring = StoredLink {
            expires_at: at(expires),
            ..link(digest, ParticipantId::generate())
        };
        env.insert_replacing(&expiring).await?;
    }
    assert_eq!(env.purge_expired(at(20)).await?, 1);
    assert_eq!(env.peek("a", RESET, at(0)).await?, None);
    assert!(env.peek("b", RESET, at(0)).await?.is_some());
    assert!(env.peek("c", RESET, at(0)).await?.is_some());
    assert_eq!(env.purge_expired(at(20)).await?, 0);
    assert_eq!(env.purge_expired(at(31)).await?, 2);
    assert_eq!(count(&env).await?, 0);
    Ok(())
}

/// A digest already stored is refused whoever the new link is for, and the refused
/// insertion deletes none of the links it would have replaced.
async fn a_taken_digest_conflicts_and_changes_nothing(env: Env) -> TestResult {
    let (amelie, bruno) = (ParticipantId::generate(), ParticipantId::generate());
    let first = link("digest", amelie);
    let bruno_link = link("bruno", bruno);
    env.insert_replacing(&first).await?;
    env.insert_replacing(&bruno_link).await?;

    let same_owner = StoredLink {
        expires_at: at(3600),
        ..link("digest", amelie)
    };
    assert_eq!(
        env.insert_replacing(&same_owner).await,
        Err(StoreError::Conflict)
    );
    let other_owner = link("digest", bruno);
    assert_eq!(
        env.insert_replacing(&other_owner).await,
        Err(StoreError::Conflict)
    );

    assert_eq!(env.peek("digest", RESET, at(10)).await?, Some(first));
    assert_eq!(env.peek("bruno", RESET, at(10)).await?, Some(bruno_link));
    Ok(())
}
