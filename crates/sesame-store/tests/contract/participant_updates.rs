//! `ParticipantStore`: what the login flow changes on one participant, and actions required
//! of everyone.

use std::slice::from_ref;

use chrono::TimeDelta;
use sesame_core::participant::{
    Participant, ParticipantId, ParticipantRecord, RequiredAction, TermsAcceptance,
};
use sesame_core::store::ParticipantStore;

use crate::participants::{number, record};
use crate::{Env, TestResult, at, contract};

use RequiredAction::{AcceptTerms, RegisterPhone, UpdatePassword, VerifyEmail};

contract!(
    set_required_actions_replaces_the_list,
    require_for_all_adds_the_action_where_it_lacks,
    require_for_all_reaches_every_batch,
    require_for_all_on_no_participant_changes_nothing,
    set_phone_stores_the_phone_and_clears_the_refusal,
    set_phone_declined_keeps_the_phone,
    set_email_verified_needs_the_same_address,
    accept_terms_records_the_version_and_time,
    an_unknown_participant_changes_nothing,
);

/// Stores `given` at `t0` and reads it back.
async fn stored(
    env: &Env,
    given: ParticipantRecord,
) -> Result<Participant, Box<dyn std::error::Error>> {
    env.upsert_batch(from_ref(&given), false, at(0)).await?;
    Ok(env.by_number(&given.number).await?.ok_or("not stored")?)
}

/// A participant `digits` whose pending actions are `actions`, as given.
fn with_actions(
    digits: &str,
    actions: &[RequiredAction],
) -> Result<ParticipantRecord, Box<dyn std::error::Error>> {
    Ok(ParticipantRecord {
        required_actions: actions.to_vec(),
        ..record(digits)?
    })
}

async fn set_required_actions_replaces_the_list(env: Env) -> TestResult {
    let before = stored(&env, record("00000001")?).await?;
    env.set_required_actions(before.id, &[AcceptTerms, VerifyEmail], at(10))
        .await?;
    let after = env.by_id(before.id).await?.ok_or("gone")?;
    assert_eq!(after.required_actions, [AcceptTerms, VerifyEmail]);
    assert_eq!(after.updated_at, at(10));
    env.set_required_actions(before.id, &[], at(20)).await?;
    let cleared = env.by_id(before.id).await?.ok_or("gone")?;
    assert_eq!(cleared.required_actions, []);
    assert_eq!(
        cleared,
        Participant {
            required_actions: vec![],
            updated_at: at(20),
            ..before
        }
    );
    Ok(())
}

/// Participants lacking the action get it in the enum's order, duplicates gone; those
/// that have it are left alone, even when their list is out of order.
async fn require_for_all_adds_the_action_where_it_lacks(env: Env) -> TestResult {
    let cases = [
        (
            "00000001",
            vec![UpdatePassword, AcceptTerms],
            Some(vec![UpdatePassword, VerifyEmail, AcceptTerms]),
        ),
        ("00000002", vec![VerifyEmail], None),
        ("00000003", vec![], Some(vec![VerifyEmail])),
        (
            "00000004",
            vec![AcceptTerms, UpdatePassword],
            Some(vec![UpdatePassword, VerifyEmail, AcceptTerms]),
        ),
        ("00000005", vec![AcceptTerms, VerifyEmail], None),
        (
            "00000006",
            vec![RegisterPhone, RegisterPhone],
            Some(vec![RegisterPhone, VerifyEmail]),
        ),
    ];
    let records: Vec<_> = cases
        .iter()
        .map(|(digits, actions, _)| with_actions(digits, actions))
        .collect::<Result<_, _>>()?;
    env.upsert_batch(&records, false, at(0)).await?;
    assert_eq!(env.require_for_all(VerifyEmail, at(10)).await?, 4);
    for (digits, before, expected) in cases {
        let after = env.by_number(&number(digits)?).await?.ok_or("gone")?;
        let (actions, updated_at) = match expected {
            Some(actions) => (actions, at(10)),
            None => (before, at(0)),
        };
        assert_eq!(
            (after.required_actions, after.updated_at),
            (actions, updated_at)
        );
    }
    assert_eq!(env.require_for_all(VerifyEmail, at(20)).await?, 0);
    Ok(())
}

/// More participants than one batch holds, every third already with the action.
async fn require_for_all_reaches_every_batch(env: Env) -> TestResult {
    let records: Vec<_> = (1..=1_200)
        .map(|n| {
            let actions: &[RequiredAction] = if n % 3 == 0 { &[AcceptTerms] } else { &[] };
            with_actions(&format!("{n:08}"), actions)
        })
        .collect::<Result<_, _>>()?;
    env.upsert_batch(&records, false, at(0)).await?;
    assert_eq!(env.require_for_all(AcceptTerms, at(10)).await?, 800);
    let row = env
        .query_one(
            "SELECT COUNT(*) AS n FROM participants WHERE required_actions = '[\"accept-terms\"]'",
        )
        .await?;
    assert_eq!(row.try_get::<i64>("", "n")?, 1_200);
    assert_eq!(env.require_for_all(AcceptTerms, at(20)).await?, 0);
    Ok(())
}

async fn require_for_all_on_no_participant_changes_nothing(env: Env) -> TestResult {
    assert_eq!(env.require_for_all(UpdatePassword, at(0)).await?, 0);
    Ok(())
}

async fn set_phone_stores_the_phone_and_clears_the_refusal(env: Env) -> TestResult {
    let before = stored(&env, record("00000001")?).await?;
    env.set_phone_declined(before.id, at(5)).await?;
    env.set_phone(before.id, Some("+33700000000"), true, at(10))
        .await?;
    let after = env.by_id(before.id).await?.ok_or("gone")?;
    assert_eq!(after.phone.as_deref(), Some("+33700000000"));
    assert!(after.phone_verified);
    assert_eq!((after.phone_declined_at, after.updated_at), (None, at(10)));
    env.set_phone(before.id, None, false, at(20)).await?;
    let removed = env.by_id(before.id).await?.ok_or("gone")?;
    assert_eq!((removed.phone, removed.phone_verified), (None, false));
    assert_eq!(removed.updated_at, at(20));
    Ok(())
}

async fn set_phone_declined_keeps_the_phone(env: Env) -> TestResult {
    let before = stored(&env, record("00000001")?).await?;
    let when = at(7) + TimeDelta::nanoseconds(123_456_789);
    env.set_phone_declined(before.id, when).await?;
    let after = env.by_id(before.id).await?.ok_or("gone")?;
    let kept = at(7) + TimeDelta::microseconds(123_456);
    assert_eq!(
        after,
        Participant {
            phone_declined_at: Some(kept),
            updated_at: kept,
            ..before
        }
    );
    Ok(())
}

async fn set_email_verified_needs_the_same_address(env: Env) -> TestResult {
    let given = ParticipantRecord {
        email_verified: false,
        ..record("00000001")?
    };
    let before = stored(&env, given).await?;
    let address = before.email.clone().ok_or("no address")?;
    assert!(
        !env.set_email_verified(before.id, "old@example.org", at(5))
            .await?
    );
    assert_eq!(env.by_id(before.id).await?.as_ref(), Some(&before));
    assert!(env.set_email_verified(before.id, &address, at(10)).await?);
    let after = env.by_id(before.id).await?.ok_or("gone")?;
    assert_eq!((after.email_verified, after.updated_at), (true, at(10)));
    assert_eq!(after.email, before.email);
    // Verifying the same address again is not a failure.
    assert!(env.set_email_verified(before.id, &address, at(20)).await?);
    Ok(())
}

async fn accept_terms_records_the_version_and_time(env: Env) -> TestResult {
    let before = stored(&env, record("00000001")?).await?;
    let first = TermsAcceptance {
        version: "2026-05".into(),
        at: at(42),
    };
    env.accept_terms(before.id, &first).await?;
    let after = env.by_id(before.id).await?.ok_or("gone")?;
    assert_eq!(
        (after.terms_accepted, after.updated_at),
        (Some(first), at(42))
    );
    let newer = TermsAcceptance {
        version: "2027-01".into(),
        at: at(90),
    };
    env.accept_terms(before.id, &newer).await?;
    let again = env.by_id(before.id).await?.ok_or("gone")?;
    assert_eq!(again.terms_accepted, Some(newer));
    Ok(())
}

async fn an_unknown_participant_changes_nothing(env: Env) -> TestResult {
    let known = stored(&env, record("00000001")?).await?;
    let unknown = ParticipantId::generate();
    let address = known.email.clone().ok_or("no address")?;
    env.set_required_actions(unknown, &[AcceptTerms], at(1))
        .await?;
    env.set_phone(unknown, Some("+33700000000"), true, at(2))
        .await?;
    env.set_phone_declined(unknown, at(3)).await?;
    assert!(!env.set_email_verified(unknown, &address, at(4)).await?);
    let terms = TermsAcceptance {
        version: "2026-05".into(),
        at: at(5),
    };
    env.accept_terms(unknown, &terms).await?;
    assert_eq!(env.count().await?, 1);
    assert_eq!(env.by_id(unknown).await?, None);
    assert_eq!(env.by_id(known.id).await?, Some(known));
    Ok(())
}
