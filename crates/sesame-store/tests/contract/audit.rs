//! `AuditStore`: the audit trail.

use serde_json::json;
use sesame_core::audit::{AuditEvent, AuditKind};
use sesame_core::participant::ParticipantId;
use sesame_core::store::AuditStore;

use crate::{Env, TestResult, at, contract};

contract!(
    recorded_events_read_back_newest_first,
    purge_deletes_only_older_events
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
