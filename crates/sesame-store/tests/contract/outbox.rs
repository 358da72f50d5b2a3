//! `OutboxStore`: queued messages, whose text (plain and HTML) is dropped once sent or
//! expired.

use chrono::{DateTime, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Query, SimpleExpr};
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
    the_html_of_an_email_round_trips_exactly,
    rows_of_the_fourth_schema_read_back_without_html,
);

fn message(to: Recipient, text: &str, expires_at: DateTime<Utc>) -> Message {
    Message {
        to,
        subject: format!("Subject {text}"),
        body: format!("Body {text}"),
        html: None,
        expires_at,
    }
}

/// An e-mail with its HTML alternative.
fn email(text: &str) -> Message {
    Message {
        html: Some(format!("<p lang=\"fr\">Body {text}</p>")),
        ..message(Recipient::Email("amelie@example.org".into()), text, at(600))
    }
}

/// Whether the row still holds its recipient, subject, body and HTML.
async fn holds_text(env: &Env, id: i64) -> Result<[bool; 4], Box<dyn std::error::Error>> {
    let sql = format!("SELECT recipient, subject, body, html FROM outbox WHERE id = {id}");
    let row = env.query_one(&sql).await?;
    let held = |column| {
        row.try_get::<Option<String>>("", column)
            .map(|v| v.is_some())
    };
    Ok([
        held("recipient")?,
        held("subject")?,
        held("body")?,
        held("html")?,
    ])
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
    assert_eq!(due[1].message.html, None);
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
    assert_eq!(holds_text(&env, sent).await?, [true; 4]);
    env.mark_sent(sent, at(1)).await?;
    assert_eq!(holds_text(&env, sent).await?, [false; 4]);
    assert_eq!(holds_text(&env, kept).await?, [true; 4]);
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
    let short_lived = Message {
        to: Recipient::Email("a@b.fr".into()),
        expires_at: at(5),
        ..email("e")
    };
    let expiring = env.enqueue(&short_lived, at(0)).await?;
    let alive = env.enqueue(&email("alive"), at(0)).await?;
    assert_eq!(env.expire(at(4)).await?, 0);
    assert_eq!(env.expire(at(5)).await?, 1);
    assert_eq!(holds_text(&env, expiring).await?, [false; 4]);
    assert_eq!(holds_text(&env, alive).await?, [true; 4]);
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

async fn the_html_of_an_email_round_trips_exactly(env: Env) -> TestResult {
    let html = "<!DOCTYPE html>\n<html lang=\"fr\"><p style=\"color:#1a1a1a\">Été : \
                <a href=\"https:&#x2f;&#x2f;login.example.org&#x2f;verify&#x2f;email&#x2f;a\">\
                Confirmer l&#x27;adresse</a> &amp; 123456 — «&nbsp;ok&nbsp;»</p></html>\n";
    let sent = Message {
        html: Some(html.into()),
        ..email("html")
    };
    let id = env.enqueue(&sent, at(0)).await?;
    let due = env.due(at(0), 10).await?;
    let entry = due.first().ok_or("not due")?;
    assert_eq!((entry.id, entry.message.html.as_deref()), (id, Some(html)));
    assert_eq!(entry.message, sent);
    Ok(())
}

/// Rolls the schema back to the fourth migration, queues a message the way that schema
/// did, then upgrades: the message is still due, with no HTML.
async fn rows_of_the_fourth_schema_read_back_without_html(env: Env) -> TestResult {
    Migrator::down(&env.raw, None).await?;
    Migrator::up(&env.raw, Some(4)).await?;
    let columns: Vec<(&str, SimpleExpr)> = vec![
        ("channel", "email".into()),
        ("recipient", "amelie@example.org".into()),
        ("subject", "Subject old".into()),
        ("body", "Body old".into()),
        ("created_at", at(0).into()),
        ("expires_at", at(600).into()),
        ("attempts", 0.into()),
        ("next_attempt_at", at(0).into()),
    ];
    let (names, values): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    let mut insert = Query::insert();
    insert.into_table("outbox").columns(names).values(values)?;
    env.raw.execute(&insert).await?;
    env.migrate().await?;

    let due = env.due(at(0), 10).await?;
    let entry = due.first().ok_or("the old message is not due")?;
    let old = message(
        Recipient::Email("amelie@example.org".into()),
        "old",
        at(600),
    );
    assert_eq!(entry.message, old);
    env.mark_sent(entry.id, at(1)).await?;
    assert_eq!(holds_text(&env, entry.id).await?, [false; 4]);
    Ok(())
}
