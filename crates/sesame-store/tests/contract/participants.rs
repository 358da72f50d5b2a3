//! `ParticipantStore`: import batches, lookups, passwords.

use std::slice::from_ref;

use sesame_core::CohortNumber;
use sesame_core::participant::{ParticipantId, ParticipantRecord, Profile, RequiredAction};
use sesame_core::password::PasswordHash;
use sesame_core::store::{ParticipantStore, StoreError, UpsertOutcome};

use crate::{Env, TestResult, at, contract};

contract!(
    upsert_creates_participants,
    upsert_updates_and_keeps_the_password,
    upsert_replaces_the_password_when_asked,
    replacing_passwords_keeps_one_the_record_lacks,
    a_number_twice_in_a_batch_writes_nothing,
    an_existing_number_twice_in_a_batch_writes_nothing,
    a_constraint_failure_writes_nothing,
    lookups_find_by_number_and_id,
    set_password_replaces_the_hash,
    count_counts_everyone,
    without_password_pages_through_pending_participants,
);

pub(crate) fn number(digits: &str) -> Result<CohortNumber, Box<dyn std::error::Error>> {
    Ok(CohortNumber::parse(digits)?)
}

/// A well-formed argon2id PHC string; `salt` tells hashes apart.
pub(crate) fn hash(salt: &str) -> Result<PasswordHash, Box<dyn std::error::Error>> {
    let phc = format!("$argon2id$v=19$m=19456,t=2,p=1${salt}${}", "A".repeat(43));
    Ok(PasswordHash::parse(&phc)?)
}

pub(crate) fn record(digits: &str) -> Result<ParticipantRecord, Box<dyn std::error::Error>> {
    Ok(ParticipantRecord {
        number: number(digits)?,
        email: Some(format!("p{digits}@example.org")),
        email_verified: true,
        phone: Some("+33612345678".into()),
        phone_verified: false,
        profile: Profile {
            given_name: Some("Amélie".into()),
            family_name: Some("Durand".into()),
            locale: Some("fr".into()),
        },
        password_hash: Some(hash("c2FsdHNhbHQ")?),
        required_actions: vec![
            RequiredAction::UpdatePassword,
            RequiredAction::RegisterPhone,
        ],
    })
}

async fn upsert_creates_participants(env: Env) -> TestResult {
    let records = [record("00000001")?, record("00000002")?];
    let outcomes = env.upsert_batch(&records, false, at(0)).await?;
    assert_eq!(outcomes, [UpsertOutcome::Created, UpsertOutcome::Created]);
    let stored = env
        .by_number(&records[0].number)
        .await?
        .ok_or("not stored")?;
    let given = &records[0];
    assert_eq!(stored.number, given.number);
    assert_eq!((&stored.email, stored.email_verified), (&given.email, true));
    assert_eq!(
        (&stored.phone, stored.phone_verified),
        (&given.phone, false)
    );
    assert_eq!(stored.profile, given.profile);
    assert_eq!(stored.password_hash, given.password_hash);
    assert_eq!(stored.required_actions, given.required_actions);
    assert_eq!(
        (stored.phone_declined_at, stored.terms_accepted),
        (None, None)
    );
    assert_eq!((stored.created_at, stored.updated_at), (at(0), at(0)));
    Ok(())
}

async fn upsert_updates_and_keeps_the_password(env: Env) -> TestResult {
    let first = record("12345678")?;
    env.upsert_batch(from_ref(&first), false, at(0)).await?;
    let before = env.by_number(&first.number).await?.ok_or("not stored")?;
    let changed = ParticipantRecord {
        email: Some("new@example.org".into()),
        phone: None,
        profile: Profile {
            locale: Some("en".into()),
            ..Profile::default()
        },
        password_hash: Some(hash("b3RoZXJzYWx0")?),
        required_actions: vec![],
        ..first.clone()
    };
    let outcomes = env.upsert_batch(from_ref(&changed), false, at(60)).await?;
    assert_eq!(outcomes, [UpsertOutcome::Updated]);
    let after = env.by_number(&first.number).await?.ok_or("gone")?;
    assert_eq!(after.id, before.id);
    assert_eq!((after.email, after.phone), (changed.email, None));
    assert_eq!(after.profile, changed.profile);
    assert_eq!(after.required_actions, vec![]);
    assert_eq!(after.password_hash, first.password_hash);
    assert_eq!((after.created_at, after.updated_at), (at(0), at(60)));
    Ok(())
}

async fn upsert_replaces_the_password_when_asked(env: Env) -> TestResult {
    let first = record("12345678")?;
    env.upsert_batch(from_ref(&first), false, at(0)).await?;
    let new_hash = hash("b3RoZXJzYWx0")?;
    let changed = ParticipantRecord {
        password_hash: Some(new_hash.clone()),
        ..first.clone()
    };
    assert_eq!(
        env.upsert_batch(&[changed], true, at(1)).await?,
        [UpsertOutcome::Updated]
    );
    let after = env.by_number(&first.number).await?.ok_or("gone")?;
    assert_eq!(after.password_hash, Some(new_hash));
    Ok(())
}

async fn replacing_passwords_keeps_one_the_record_lacks(env: Env) -> TestResult {
    let first = record("12345678")?;
    env.upsert_batch(from_ref(&first), false, at(0)).await?;
    let without = ParticipantRecord {
        password_hash: None,
        ..first.clone()
    };
    env.upsert_batch(&[without], true, at(1)).await?;
    let after = env.by_number(&first.number).await?.ok_or("gone")?;
    assert_eq!(after.password_hash, first.password_hash);
    Ok(())
}

/// The batch fails after it has written a new participant and updated an existing one:
/// both writes must be undone.
async fn a_number_twice_in_a_batch_writes_nothing(env: Env) -> TestResult {
    let existing = record("11111111")?;
    env.upsert_batch(from_ref(&existing), false, at(0)).await?;
    let update = ParticipantRecord {
        email: Some("changed@example.org".into()),
        ..existing
    };
    let batch = [update.clone(), record("22222222")?, record("22222222")?];
    let result = env.upsert_batch(&batch, false, at(1)).await;
    assert_eq!(result, Err(StoreError::Conflict));
    assert_nothing_written(&env, &update).await
}

async fn an_existing_number_twice_in_a_batch_writes_nothing(env: Env) -> TestResult {
    let existing = record("11111111")?;
    env.upsert_batch(from_ref(&existing), false, at(0)).await?;
    let update = ParticipantRecord {
        email: Some("changed@example.org".into()),
        ..existing
    };
    let batch = [record("22222222")?, update.clone(), update.clone()];
    let result = env.upsert_batch(&batch, false, at(1)).await;
    assert_eq!(result, Err(StoreError::Conflict));
    assert_nothing_written(&env, &update).await
}

/// A failure raised by the database itself, mid-batch, undoes the whole batch too. The
/// test adds a unique index on e-mail so that the third record trips it.
async fn a_constraint_failure_writes_nothing(env: Env) -> TestResult {
    let existing = record("11111111")?;
    env.upsert_batch(from_ref(&existing), false, at(0)).await?;
    env.execute("CREATE UNIQUE INDEX test_unique_email ON participants (email)")
        .await?;
    let update = ParticipantRecord {
        email: Some("changed@example.org".into()),
        ..existing
    };
    let clash = ParticipantRecord {
        email: update.email.clone(),
        ..record("33333333")?
    };
    let batch = [update.clone(), record("22222222")?, clash];
    let result = env.upsert_batch(&batch, false, at(1)).await;
    assert_eq!(result, Err(StoreError::Conflict));
    assert_nothing_written(&env, &update).await
}

/// Only the participant `11111111` exists, unchanged: `update` did not stick.
async fn assert_nothing_written(env: &Env, update: &ParticipantRecord) -> TestResult {
    assert_eq!(env.count().await?, 1);
    assert_eq!(env.by_number(&number("22222222")?).await?, None);
    let kept = env
        .by_number(&update.number)
        .await?
        .ok_or("existing participant lost")?;
    assert_eq!(kept.email.as_deref(), Some("p11111111@example.org"));
    assert_eq!(kept.updated_at, at(0));
    Ok(())
}

async fn lookups_find_by_number_and_id(env: Env) -> TestResult {
    env.upsert_batch(&[record("00000001")?, record("00000002")?], false, at(0))
        .await?;
    let one = env
        .by_number(&number("00000001")?)
        .await?
        .ok_or("missing")?;
    assert_eq!(one.number.as_str(), "00000001");
    assert_eq!(env.by_id(one.id).await?, Some(one.clone()));
    let two = env
        .by_number(&number("00000002")?)
        .await?
        .ok_or("missing")?;
    assert_ne!(two.id, one.id);
    assert_eq!(env.by_number(&number("99999999")?).await?, None);
    assert_eq!(env.by_id(ParticipantId::generate()).await?, None);
    Ok(())
}

async fn set_password_replaces_the_hash(env: Env) -> TestResult {
    let waiting = ParticipantRecord {
        password_hash: None,
        ..record("00000001")?
    };
    env.upsert_batch(from_ref(&waiting), false, at(0)).await?;
    let id = env.by_number(&waiting.number).await?.ok_or("missing")?.id;
    let new_hash = hash("bmV3c2FsdHk")?;
    env.set_password(id, &new_hash, at(30)).await?;
    let after = env.by_id(id).await?.ok_or("missing")?;
    assert_eq!(
        (after.password_hash, after.updated_at),
        (Some(new_hash), at(30))
    );
    Ok(())
}

async fn count_counts_everyone(env: Env) -> TestResult {
    assert_eq!(env.count().await?, 0);
    let batch: Vec<_> = (1..=3)
        .map(|n| record(&format!("{n:08}")))
        .collect::<Result<_, _>>()?;
    env.upsert_batch(&batch, false, at(0)).await?;
    env.upsert_batch(&batch[..1], false, at(1)).await?;
    assert_eq!(env.count().await?, 3);
    Ok(())
}

async fn without_password_pages_through_pending_participants(env: Env) -> TestResult {
    let mut batch = Vec::new();
    for n in 1..=5 {
        let mut pending = record(&format!("{n:08}"))?;
        if n != 3 {
            pending.password_hash = None;
        }
        batch.push(pending);
    }
    env.upsert_batch(&batch, false, at(0)).await?;
    let first = env.without_password(None, 2).await?;
    let numbers: Vec<_> = first.iter().map(|p| p.number.as_str().to_owned()).collect();
    assert_eq!(numbers, ["00000001", "00000002"]);
    let rest = env.without_password(Some(&first[1].number), 10).await?;
    let numbers: Vec<_> = rest.iter().map(|p| p.number.as_str().to_owned()).collect();
    assert_eq!(
        numbers,
        ["00000004", "00000005"],
        "the one with a password is left out"
    );
    let after_last = env.without_password(Some(&rest[1].number), 10).await?;
    assert!(after_last.is_empty());
    Ok(())
}
