//! `OutboxStore`: queued messages, whose text is dropped once sent or expired.

use chrono::{DateTime, Utc};
use sesame_core::notify::{Message, Recipient};
use sesame_core::store::OutboxStore;

use crate::{Env, TestResult, at, contract};

contract!(
    enqueued_messages_are_due_oldest_first,
    due_leaves_out_later_expired_and_sent_messages,
    a_failed_attempt_is_counted_and_rescheduled,
    marking_sent_drops_the_text,
    expiring_drops_the_text_of_unsent_expired_messages,
    a_backchannel_message_round_trips,
);

fn message(to: Recipient, text: &str, expires_at: DateTime<Utc>) -> Message {
    Message {
        to,
        subject: format!("Subject {text}"),
        body: format!("Body {text}"),
        expires_at,
    }
}

fn email(text: &str) -> Message {
    message(Recipient::Email("amelie@example.org".into()), text, at(600))
}

/// Whether the row still holds its recipient, subject and body.
async fn holds_text(env: &Env, id: i64) -> Result<[bool; 3], Box<dyn std::error::Error>> {
    let sql = format!("SELECT recipient, subject, body FROM outbox WHERE id = {id}");
    let row = env.query_one(&sql).await?;
    let held = |column| {
        row.try_get::<Option<String>>("", column)
            .map(|v| v.is_some())
    };
    Ok([held("recipient")?, held("subject")?, held("body")?])
}

async fn enqueued_messages_are_due_oldest_first(env: Env) -> TestResult {
    let sms = message(Recipient::Sms("+33612345678".into()), "sms", at(600));
    let first = env.enqueue(&email("one"), at(0)).await?;
    let second = env.enqueue(&sms, at(1)).await?;
    assert!(second > first);
    let due = env.due(at(1), 10).await?;
    let ids: Vec<i64> = due.iter().map(|e| e.id).collect();
    assert_eq!(ids, [first, second]);
    assert_eq!(due[0].message, email("one"));
    assert_eq!(due[1].message, sms);
    assert_eq!((due[1].attempts, due[1].next_attempt_at), (0, at(1)));
    assert_eq!(env.due(at(1), 1).await?.len(), 1);
    Ok(())
}

async fn due_leaves_out_later_expired_and_sent_messages(env: Env) -> TestResult {
    let later = env.enqueue(&email("later"), at(100)).await?;
    let short_lived = message(Recipient::Sms("+33700000000".into()), "x", at(5));
    let expired = env.enqueue(&short_lived, at(0)).await?;
    let sent = env.enqueue(&email("sent"), at(0)).await?;
    env.mark_sent(sent, at(1)).await?;
    let due = env.enqueue(&email("due"), at(0)).await?;
    let ids: Vec<i64> = env
        .due(at(10), 10)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [due]);
    assert!(!ids.contains(&later) && !ids.contains(&expired));
    Ok(())
}

async fn a_failed_attempt_is_counted_and_rescheduled(env: Env) -> TestResult {
    let id = env.enqueue(&email("retry"), at(0)).await?;
    env.mark_failed(id, at(30)).await?;
    assert_eq!(env.due(at(29), 10).await?, vec![]);
    env.mark_failed(id, at(60)).await?;
    let due = env.due(at(60), 10).await?;
    let entry = due.first().ok_or("not due")?;
    assert_eq!(
        (entry.id, entry.attempts, entry.next_attempt_at),
        (id, 2, at(60))
    );
    assert_eq!(entry.message, email("retry"));
    Ok(())
}

async fn marking_sent_drops_the_text(env: Env) -> TestResult {
    let sent = env.enqueue(&email("sent"), at(0)).await?;
    let kept = env.enqueue(&email("kept"), at(0)).await?;
    assert_eq!(holds_text(&env, sent).await?, [true; 3]);
    env.mark_sent(sent, at(1)).await?;
    assert_eq!(holds_text(&env, sent).await?, [false; 3]);
    assert_eq!(holds_text(&env, kept).await?, [true; 3]);
    let ids: Vec<i64> = env
        .due(at(2), 10)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [kept]);
    Ok(())
}

async fn expiring_drops_the_text_of_unsent_expired_messages(env: Env) -> TestResult {
    let short_lived = message(Recipient::Email("a@b.fr".into()), "e", at(5));
    let expiring = env.enqueue(&short_lived, at(0)).await?;
    let alive = env.enqueue(&email("alive"), at(0)).await?;
    assert_eq!(env.expire(at(4)).await?, 0);
    assert_eq!(env.expire(at(5)).await?, 1);
    assert_eq!(holds_text(&env, expiring).await?, [false; 3]);
    assert_eq!(holds_text(&env, alive).await?, [true; 3]);
    assert_eq!(env.expire(at(6)).await?, 0);
    let ids: Vec<i64> = env
        .due(at(6), 10)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [alive]);
    Ok(())
}

async fn a_backchannel_message_round_trips(env: Env) -> TestResult {
    let uri = "https://rp.example.org/backchannel-logout";
    let logout = Message {
        subject: String::new(),
        ..message(Recipient::Backchannel(uri.into()), "token", at(120))
    };
    let id = env.enqueue(&logout, at(0)).await?;
    let row = env
        .query_one(&format!("SELECT channel FROM outbox WHERE id = {id}"))
        .await?;
    assert_eq!(row.try_get::<String>("", "channel")?, "backchannel");
    let due = env.due(at(0), 10).await?;
    let entry = due.first().ok_or("not due")?;
    assert_eq!((entry.id, &entry.message), (id, &logout));
    Ok(())
}
