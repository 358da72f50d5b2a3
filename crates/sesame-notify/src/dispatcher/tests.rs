use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::TimeZone as _;
use sesame_core::clock::ManualClock;
use sesame_core::notify::Message;
use sesame_core::store::StoreError;

use super::*;

/// An outbox in memory that keeps the `OutboxStore` contract. With `lax`, `due` also
/// returns expired messages, as a store with a skewed clock might.
#[derive(Default)]
struct FakeOutbox {
    rows: Mutex<Vec<Row>>,
    lax: bool,
}

struct Row {
    entry: OutboxEntry,
    sent_at: Option<DateTime<Utc>>,
}

impl FakeOutbox {
    fn rows(&self) -> std::sync::MutexGuard<'_, Vec<Row>> {
        self.rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn row<T>(&self, id: i64, read: impl FnOnce(&Row) -> T) -> Option<T> {
        self.rows().iter().find(|row| row.entry.id == id).map(read)
    }

    fn update(&self, id: i64, change: impl FnOnce(&mut Row)) -> Result<(), StoreError> {
        let mut rows = self.rows();
        let row = rows.iter_mut().find(|row| row.entry.id == id);
        row.map(change)
            .ok_or(StoreError::Corrupt("no such message".into()))
    }

    fn is_due(&self, row: &Row, now: DateTime<Utc>) -> bool {
        let live = self.lax || row.entry.message.expires_at > now;
        row.sent_at.is_none() && row.entry.next_attempt_at <= now && live
    }
}

#[async_trait]
impl OutboxStore for FakeOutbox {
    async fn enqueue(&self, message: &Message, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let mut rows = self.rows();
        let id = i64::try_from(rows.len()).unwrap_or(i64::MAX) + 1;
        let entry = OutboxEntry {
            id,
            message: message.clone(),
            attempts: 0,
            next_attempt_at: now,
        };
        rows.push(Row {
            entry,
            sent_at: None,
        });
        Ok(id)
    }

    async fn due(&self, now: DateTime<Utc>, limit: u64) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = self.rows();
        let due = rows
            .iter()
            .filter(|row| self.is_due(row, now))
            .map(|row| row.entry.clone());
        Ok(due
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }

    async fn mark_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(id, |row| {
            row.sent_at = Some(at);
            drop_text(&mut row.entry.message);
        })
    }

    async fn mark_failed(&self, id: i64, next: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(id, |row| {
            row.entry.attempts += 1;
            row.entry.next_attempt_at = next;
        })
    }

    async fn expire(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut expired = 0;
        for row in self.rows().iter_mut() {
            let message = &mut row.entry.message;
            if row.sent_at.is_none() && message.expires_at <= now && !message.body.is_empty() {
                drop_text(message);
                expired += 1;
            }
        }
        Ok(expired)
    }
}

fn drop_text(message: &mut Message) {
    message.subject.clear();
    message.body.clear();
    message.html = None;
}

/// A mailer that answers from a script (then `Ok`) and remembers each body it was given.
#[derive(Default)]
struct FakeMailer {
    script: Mutex<VecDeque<Result<(), SendError>>>,
    bodies: Mutex<Vec<String>>,
}

impl FakeMailer {
    fn answering(script: impl IntoIterator<Item = Result<(), SendError>>) -> Self {
        Self {
            script: Mutex::new(script.into_iter().collect()),
            ..Self::default()
        }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Mailer for FakeMailer {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        if let Ok(mut bodies) = self.bodies.lock() {
            bodies.push(message.body.clone());
        }
        self.script
            .lock()
            .ok()
            .and_then(|mut s| s.pop_front())
            .unwrap_or(Ok(()))
    }
}

struct Setup {
    outbox: Arc<FakeOutbox>,
    mailer: Arc<FakeMailer>,
    clock: Arc<ManualClock>,
    dispatcher: Arc<Dispatcher>,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn setup(outbox: FakeOutbox, mailer: FakeMailer) -> Setup {
    let (outbox, mailer) = (Arc::new(outbox), Arc::new(mailer));
    let clock = Arc::new(ManualClock::new(start()));
    let dispatcher = Dispatcher::new(outbox.clone(), mailer.clone(), clock.clone());
    Setup {
        outbox,
        mailer,
        clock,
        dispatcher: Arc::new(dispatcher),
    }
}

impl Setup {
    /// Queues a code that lives ten minutes.
    async fn queue(&self, body: &str) -> Result<i64, StoreError> {
        let now = self.clock.now();
        let message = Message {
            to: Recipient::Email("jean@example.org".into()),
            subject: "Votre code".into(),
            body: body.into(),
            html: None,
            expires_at: now + chrono::TimeDelta::minutes(10),
        };
        self.outbox.enqueue(&message, now).await
    }

    fn advance(&self, secs: i64) {
        self.clock.advance(chrono::TimeDelta::seconds(secs));
    }
}

fn transient() -> Result<(), SendError> {
    Err(SendError::Transient("the server answered 421".into()))
}

#[tokio::test]
async fn sends_due_messages_and_marks_them_sent() -> Result<(), StoreError> {
    let s = setup(FakeOutbox::default(), FakeMailer::default());
    let id = s.queue("Code : 123456").await?;
    assert_eq!(s.dispatcher.drain_once().await, 1);
    assert_eq!(s.mailer.bodies(), ["Code : 123456"]);
    assert_eq!(s.outbox.row(id, |r| r.sent_at.is_some()), Some(true));
    assert_eq!(
        s.outbox.row(id, |r| r.entry.message.body.clone()),
        Some(String::new())
    );
    assert_eq!(
        s.dispatcher.drain_once().await,
        0,
        "a sent message is not sent twice"
    );
    Ok(())
}

#[tokio::test]
async fn retries_a_transient_failure_after_a_growing_delay() -> Result<(), StoreError> {
    let s = setup(
        FakeOutbox::default(),
        FakeMailer::answering([transient(), transient()]),
    );
    let id = s.queue("Code : 123456").await?;
    assert_eq!(s.dispatcher.drain_once().await, 0);
    assert_eq!(
        s.outbox.row(id, |r| r.entry.next_attempt_at),
        Some(start() + secs(5))
    );
    s.advance(4);
    assert_eq!(s.dispatcher.drain_once().await, 0);
    assert_eq!(s.mailer.bodies().len(), 1, "not retried before its time");
    s.advance(1);
    assert_eq!(s.dispatcher.drain_once().await, 0);
    assert_eq!(
        s.outbox.row(id, |r| r.entry.next_attempt_at),
        Some(start() + secs(5 + 15))
    );
    s.advance(15);
    assert_eq!(s.dispatcher.drain_once().await, 1);
    assert_eq!(s.mailer.bodies().len(), 3);
    assert_eq!(
        s.outbox
            .row(id, |r| (r.sent_at.is_some(), r.entry.attempts)),
        Some((true, 2))
    );
    Ok(())
}

fn secs(n: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(n)
}

#[tokio::test]
async fn never_retries_a_permanent_failure() -> Result<(), StoreError> {
    let refused = Err(SendError::Permanent(
        "the recipient address is invalid".into(),
    ));
    let s = setup(FakeOutbox::default(), FakeMailer::answering([refused]));
    let id = s.queue("Code : 123456").await?;
    assert_eq!(s.dispatcher.drain_once().await, 0);
    for _ in 0..4 {
        s.advance(300);
        assert_eq!(s.dispatcher.drain_once().await, 0);
    }
    assert_eq!(s.mailer.bodies().len(), 1);
    assert_eq!(
        s.outbox.row(id, |r| (r.sent_at, r.entry.attempts)),
        Some((None, 1))
    );
    assert_eq!(
        s.outbox.expire(s.clock.now()).await,
        Ok(1),
        "its text dies at expiry"
    );
    Ok(())
}

#[tokio::test]
async fn does_not_send_an_expired_message() -> Result<(), StoreError> {
    let s = setup(FakeOutbox::default(), FakeMailer::answering([transient()]));
    let id = s.queue("Code : 123456").await?;
    assert_eq!(s.dispatcher.drain_once().await, 0);
    s.advance(11 * 60);
    assert_eq!(s.dispatcher.drain_once().await, 0);
    assert_eq!(s.mailer.bodies().len(), 1, "only the attempt before expiry");
    assert_eq!(s.outbox.row(id, |r| r.sent_at), Some(None));
    Ok(())
}

#[tokio::test]
async fn skips_an_expired_message_even_if_the_store_returns_it() -> Result<(), StoreError> {
    let lax = FakeOutbox {
        lax: true,
        ..FakeOutbox::default()
    };
    let s = setup(lax, FakeMailer::default());
    s.queue("Code : 123456").await?;
    s.advance(10 * 60);
    assert_eq!(s.dispatcher.drain_once().await, 0);
    assert!(s.mailer.bodies().is_empty());
    Ok(())
}

#[tokio::test]
async fn run_sends_on_wake_and_stops_on_shutdown() -> Result<(), Box<dyn std::error::Error>> {
    let s = setup(FakeOutbox::default(), FakeMailer::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(
        s.dispatcher
            .clone()
            .run(async move { stopped.await.unwrap_or(()) }),
    );
    s.queue("Code : 123456").await?;
    s.dispatcher.wake();
    let sent = async {
        while s.mailer.bodies().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(1), sent).await?;
    stop.send(()).map_err(|()| "dispatcher already stopped")?;
    tokio::time::timeout(Duration::from_secs(1), task).await??;
    Ok(())
}

#[tokio::test]
async fn run_takes_the_next_batch_without_waiting() -> Result<(), Box<dyn std::error::Error>> {
    let s = setup(FakeOutbox::default(), FakeMailer::default());
    for n in 0..120 {
        s.queue(&format!("Code : {n:06}")).await?;
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(
        s.dispatcher
            .clone()
            .run(async move { stopped.await.unwrap_or(()) }),
    );
    let all_sent = async {
        while s.mailer.bodies().len() < 120 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    // Well under the 2-second tick: the three passes follow each other at once.
    tokio::time::timeout(Duration::from_secs(1), all_sent).await?;
    stop.send(()).map_err(|()| "dispatcher already stopped")?;
    tokio::time::timeout(Duration::from_secs(1), task).await??;
    assert_eq!(s.dispatcher.drain_once().await, 0);
    Ok(())
}

#[tokio::test]
async fn run_expires_dead_messages() -> Result<(), Box<dyn std::error::Error>> {
    let s = setup(FakeOutbox::default(), FakeMailer::answering([transient()]));
    s.queue("Code : 123456").await?;
    assert_eq!(s.dispatcher.drain_once().await, 0);
    s.advance(11 * 60);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(
        s.dispatcher
            .clone()
            .run(async move { stopped.await.unwrap_or(()) }),
    );
    let expired = async {
        while s.outbox.row(1, |r| r.entry.message.body.is_empty()) != Some(true) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(1), expired).await?;
    stop.send(()).map_err(|()| "dispatcher already stopped")?;
    tokio::time::timeout(Duration::from_secs(1), task).await??;
    Ok(())
}

#[test]
fn retry_delays_grow_threefold_up_to_ten_minutes() {
    let delays: Vec<i64> = (0..7).map(|n| retry_delay(n).num_seconds()).collect();
    assert_eq!(delays, [5, 15, 45, 135, 405, 600, 600]);
    assert_eq!(retry_delay(u32::MAX).num_seconds(), 600);
}
