//! `AuditStore`: the audit trail.

use std::error::Error;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::DatabaseBackend;
use serde_json::json;
use sesame_core::audit::{AuditEvent, AuditKind};
use sesame_core::participant::ParticipantId;
use sesame_core::store::{AuditFilter, AuditStore};

use crate::{Env, TestResult, at, contract};

contract!(
    recorded_events_read_back_newest_first,
    purge_deletes_only_older_events,
    query_keeps_one_participant,
    query_window_includes_since_and_excludes_until,
    query_keeps_the_kinds_asked_for,
    query_limit_keeps_the_newest,
    query_orders_events_of_one_instant_newest_recorded_first,
    query_combines_its_conditions,
    query_window_is_exact_below_the_second,
    participant_index_exists,
);

fn event(kind: AuditKind, seconds: i64) -> AuditEvent {
    AuditEvent {
        at: at(seconds),
        kind,
        participant: None,
        client_id: None,
        ip: None,
        detail: json!({}),
    }
}

async fn recorded_events_read_back_newest_first(env: Env) -> TestResult {
    let full = AuditEvent {
        participant: Some(ParticipantId::generate()),
        client_id: Some("questionnaire".into()),
        ip: Some("2001:db8::1".into()),
        detail: json!({"channel": "sms", "attempt": 2}),
        ..event(AuditKind::CodeRefused, 10)
    };
    env.record(&event(AuditKind::LoginPasswordAccepted, 0))
        .await?;
    env.record(&full).await?;
    env.record(&event(AuditKind::LoginSucceeded, 20)).await?;
    let recent = env.recent(2).await?;
    assert_eq!(recent, vec![event(AuditKind::LoginSucceeded, 20), full]);
    assert_eq!(env.recent(10).await?.len(), 3);
    Ok(())
}

async fn purge_deletes_only_older_events(env: Env) -> TestResult {
    for seconds in [0, 10, 20, 30] {
        env.record(&event(AuditKind::CodeSent, seconds)).await?;
    }
    assert_eq!(env.purge(at(20)).await?, 2);
    let kept: Vec<_> = env.recent(10).await?.into_iter().map(|e| e.at).collect();
    assert_eq!(kept, vec![at(30), at(20)]);
    assert_eq!(env.purge(at(20)).await?, 0);
    Ok(())
}

fn of(participant: ParticipantId, kind: AuditKind, seconds: i64) -> AuditEvent {
    AuditEvent {
        participant: Some(participant),
        ..event(kind, seconds)
    }
}

/// The instants of what `filter` reads.
async fn instants(env: &Env, filter: &AuditFilter) -> Result<Vec<DateTime<Utc>>, Box<dyn Error>> {
    let events = env.query(filter).await?;
    Ok(events.into_iter().map(|e| e.at).collect())
}

/// The instants, in seconds after `t0`, of what `filter` reads.
async fn seconds(env: &Env, filter: &AuditFilter) -> Result<Vec<i64>, Box<dyn Error>> {
    let instants = instants(env, filter).await?;
    Ok(instants
        .iter()
        .map(|t| (*t - at(0)).num_seconds())
        .collect())
}

async fn query_keeps_one_participant(env: Env) -> TestResult {
    let (anne, bruno) = (ParticipantId::generate(), ParticipantId::generate());
    env.record(&of(anne, AuditKind::LoginSucceeded, 0)).await?;
    env.record(&of(bruno, AuditKind::LoginSucceeded, 10))
        .await?;
    env.record(&event(AuditKind::ClientCreated, 20)).await?;
    env.record(&of(anne, AuditKind::LoggedOut, 30)).await?;
    let filter = AuditFilter {
        participant: Some(anne),
        ..AuditFilter::newest(10)
    };
    let events = env.query(&filter).await?;
    assert_eq!(
        events,
        vec![
            of(anne, AuditKind::LoggedOut, 30),
            of(anne, AuditKind::LoginSucceeded, 0)
        ]
    );
    let nobody = AuditFilter {
        participant: Some(ParticipantId::generate()),
        ..AuditFilter::newest(10)
    };
    assert_eq!(env.query(&nobody).await?, []);
    assert_eq!(seconds(&env, &AuditFilter::newest(10)).await?.len(), 4);
    Ok(())
}

async fn query_window_includes_since_and_excludes_until(env: Env) -> TestResult {
    for s in [0, 10, 20, 30, 40] {
        env.record(&event(AuditKind::CodeSent, s)).await?;
    }
    let window = |since: Option<i64>, until: Option<i64>| AuditFilter {
        since: since.map(at),
        until: until.map(at),
        ..AuditFilter::newest(10)
    };
    assert_eq!(seconds(&env, &window(Some(10), Some(30))).await?, [20, 10]);
    assert_eq!(seconds(&env, &window(Some(30), None)).await?, [40, 30]);
    assert_eq!(seconds(&env, &window(None, Some(10))).await?, [0]);
    assert_eq!(seconds(&env, &window(Some(11), Some(19))).await?, [0; 0]);
    assert_eq!(seconds(&env, &window(Some(20), Some(20))).await?, [0; 0]);
    Ok(())
}

async fn query_keeps_the_kinds_asked_for(env: Env) -> TestResult {
    let kinds = [
        AuditKind::CodeSent,
        AuditKind::CodeRefused,
        AuditKind::LoginSucceeded,
        AuditKind::CodeRefused,
    ];
    for (i, kind) in (0..).zip(kinds) {
        env.record(&event(kind, i * 10)).await?;
    }
    let only = |kinds: &[AuditKind]| AuditFilter {
        kinds: kinds.to_vec(),
        ..AuditFilter::newest(10)
    };
    assert_eq!(
        seconds(&env, &only(&[AuditKind::CodeRefused])).await?,
        [30, 10]
    );
    let two = only(&[AuditKind::LoginSucceeded, AuditKind::CodeSent]);
    assert_eq!(seconds(&env, &two).await?, [20, 0]);
    assert_eq!(seconds(&env, &only(&[AuditKind::LoggedOut])).await?, [0; 0]);
    assert_eq!(seconds(&env, &only(&[])).await?, [30, 20, 10, 0]);
    Ok(())
}

async fn query_limit_keeps_the_newest(env: Env) -> TestResult {
    // Recorded out of order: the newest is the latest instant, not the last row.
    for s in [20, 0, 40, 10, 30] {
        env.record(&event(AuditKind::CodeSent, s)).await?;
    }
    assert_eq!(seconds(&env, &AuditFilter::newest(2)).await?, [40, 30]);
    assert_eq!(
        seconds(&env, &AuditFilter::newest(10)).await?,
        [40, 30, 20, 10, 0]
    );
    assert_eq!(seconds(&env, &AuditFilter::newest(0)).await?, [0; 0]);
    let window = AuditFilter {
        until: Some(at(30)),
        ..AuditFilter::newest(2)
    };
    assert_eq!(seconds(&env, &window).await?, [20, 10]);
    Ok(())
}

async fn query_orders_events_of_one_instant_newest_recorded_first(env: Env) -> TestResult {
    let kinds = [
        AuditKind::LoginPasswordAccepted,
        AuditKind::CodeSent,
        AuditKind::LoginSucceeded,
    ];
    for kind in kinds {
        env.record(&event(kind, 5)).await?;
    }
    let read: Vec<_> = env.query(&AuditFilter::newest(10)).await?;
    let read: Vec<_> = read.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        read,
        [
            AuditKind::LoginSucceeded,
            AuditKind::CodeSent,
            AuditKind::LoginPasswordAccepted
        ]
    );
    Ok(())
}

async fn query_combines_its_conditions(env: Env) -> TestResult {
    let (anne, bruno) = (ParticipantId::generate(), ParticipantId::generate());
    for s in [0, 10, 20, 30, 40, 50] {
        let kind = if s % 20 == 0 {
            AuditKind::CodeRefused
        } else {
            AuditKind::CodeSent
        };
        env.record(&of(anne, kind, s)).await?;
        env.record(&of(bruno, kind, s)).await?;
    }
    let filter = AuditFilter {
        participant: Some(anne),
        since: Some(at(10)),
        until: Some(at(50)),
        kinds: vec![AuditKind::CodeRefused],
        limit: 10,
    };
    let events = env.query(&filter).await?;
    assert_eq!(
        events,
        vec![
            of(anne, AuditKind::CodeRefused, 40),
            of(anne, AuditKind::CodeRefused, 20)
        ]
    );
    let one = AuditFilter { limit: 1, ..filter };
    assert_eq!(seconds(&env, &one).await?, [40]);
    Ok(())
}

async fn query_window_is_exact_below_the_second(env: Env) -> TestResult {
    let half = at(10) + TimeDelta::milliseconds(500);
    for instant in [at(10), half, at(11)] {
        env.record(&AuditEvent {
            at: instant,
            ..event(AuditKind::CodeSent, 0)
        })
        .await?;
    }
    let window = |since, until| AuditFilter {
        since: Some(since),
        until: Some(until),
        ..AuditFilter::newest(10)
    };
    assert_eq!(instants(&env, &window(half, at(11))).await?, [half]);
    assert_eq!(instants(&env, &window(at(10), half)).await?, [at(10)]);
    let just_after = half + TimeDelta::microseconds(1);
    assert_eq!(instants(&env, &window(just_after, at(12))).await?, [at(11)]);
    Ok(())
}

/// Reading one participant's trail is served by an index (fourth migration).
async fn participant_index_exists(env: Env) -> TestResult {
    let name = "idx_audit_events_participant_id_at";
    let sql = match env.raw.get_database_backend() {
        DatabaseBackend::Postgres => {
            format!("SELECT indexdef AS def FROM pg_indexes WHERE indexname = '{name}'")
        }
        _ => format!("SELECT sql AS def FROM sqlite_master WHERE name = '{name}'"),
    };
    let def: String = env.query_one(&sql).await?.try_get("", "def")?;
    assert!(def.contains("participant_id"), "{def}");
    Ok(())
}
