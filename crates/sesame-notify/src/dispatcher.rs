//! Drains the durable outbox: sends what is due, retries what failed for a while, and
//! drops the text of what can no longer be useful.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sesame_core::clock::Clock;
use sesame_core::notify::{DeliveryListener, Message, OutboxEntry, OutboxSignal, Recipient};
use sesame_core::store::OutboxStore;
use tokio::sync::Notify;
use tracing::{debug, error, info, warn};

use crate::mailer::{Mailer, SendError};

/// How many messages one pass takes from the outbox.
const BATCH: u64 = 50;
/// How long the dispatcher sleeps when nothing wakes it.
const TICK: Duration = Duration::from_secs(2);
/// How often the text of dead messages is dropped.
const EXPIRE_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// The first retry delay; each further failure triples it, up to `MAX_RETRY_SECS`.
const FIRST_RETRY_SECS: i64 = 5;
const MAX_RETRY_SECS: i64 = 600;

/// Sends the outbox's messages through one [`Mailer`], off the request path.
///
/// Queue a message in the [`OutboxStore`], then call [`OutboxSignal::wake`]; without a
/// wake the message still leaves within a couple of seconds. Delivery is at least once: a
/// message sent whose `mark_sent` then fails is sent again.
///
/// A message that fails for good ([`SendError::Permanent`]) is marked failed with its next
/// attempt set after its expiry, so `due` never returns it again and `expire` drops its
/// text like any other dead message. It is never marked sent, since it was not.
pub struct Dispatcher {
    outbox: Arc<dyn OutboxStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    wakeup: Notify,
    listener: std::sync::OnceLock<Arc<dyn DeliveryListener>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

/// One sending attempt, for recording its outcome.
struct Attempt<'a> {
    entry: &'a OutboxEntry,
    at: DateTime<Utc>,
    duration_ms: u64,
}

impl Attempt<'_> {
    fn id(&self) -> i64 {
        self.entry.id
    }

    fn channel(&self) -> &'static str {
        channel(&self.entry.message.to)
    }
}

/// How one message of a pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// Sent and recorded as sent.
    Sent,
    /// Not sent; the next attempt is recorded.
    Failed,
    /// Skipped, or the outcome could not be recorded: `due` may return it again at once.
    Pending,
}

/// What one pass over the outbox did.
#[derive(Debug, Default, Clone, Copy)]
struct Pass {
    taken: usize,
    sent: usize,
    pending: usize,
}

impl Pass {
    /// A full batch, every message settled: more may be due, and the next pass will not
    /// see the same messages again.
    fn more_due(&self) -> bool {
        self.taken as u64 >= BATCH && self.pending == 0
    }
}

impl Dispatcher {
    /// A dispatcher that sends `outbox`'s messages through `mailer`, at `clock`'s time.
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            outbox,
            mailer,
            clock,
            wakeup: Notify::new(),
            listener: std::sync::OnceLock::new(),
        }
    }

    /// Sets who hears of failed deliveries (once; later calls are ignored).
    pub fn listen(&self, listener: Arc<dyn DeliveryListener>) {
        let _ = self.listener.set(listener);
    }

    async fn tell(&self, message: &Message, permanent: bool, attempts: u32) {
        if let Some(listener) = self.listener.get() {
            listener.undelivered(message, permanent, attempts).await;
        }
    }

    /// Sends messages until `shutdown` completes. Shutdown is noticed between passes, so
    /// a message being sent is always recorded.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_expiry = None;
        info!("outbox dispatcher started");
        loop {
            let pass = self.pass().await;
            self.expire_if_due(&mut last_expiry).await;
            let more = pass.more_due();
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = std::future::ready(()), if more => {}
                () = self.wakeup.notified() => {}
                () = tokio::time::sleep(TICK) => {}
            }
        }
        info!("outbox dispatcher stopped");
    }

    /// One pass over the messages due now; returns how many were sent.
    pub async fn drain_once(&self) -> usize {
        self.pass().await.sent
    }

    async fn pass(&self) -> Pass {
        let due = match self.outbox.due(self.clock.now(), BATCH).await {
            Ok(due) => due,
            Err(e) => {
                warn!(error = %e, "outbox unreadable; will try again");
                return Pass::default();
            }
        };
        if due.is_empty() {
            return Pass::default();
        }
        let started = Instant::now();
        let mut pass = Pass {
            taken: due.len(),
            ..Pass::default()
        };
        for entry in &due {
            match self.deliver(entry).await {
                Settled::Sent => pass.sent += 1,
                Settled::Failed => {}
                Settled::Pending => pass.pending += 1,
            }
        }
        let (sent, duration_ms) = (pass.sent, millis(started));
        info!(
            outbox.due = due.len(),
            outbox.sent = sent,
            duration_ms,
            "outbox pass done"
        );
        pass
    }

    /// Sends one message and records the outcome.
    async fn deliver(&self, entry: &OutboxEntry) -> Settled {
        let now = self.clock.now();
        if entry.message.expires_at <= now {
            debug!(
                outbox.id = entry.id,
                "message expired before sending; skipped"
            );
            return Settled::Pending;
        }
        let started = Instant::now();
        let outcome = self.mailer.send(&entry.message).await;
        let attempt = Attempt {
            entry,
            at: now,
            duration_ms: millis(started),
        };
        match &outcome {
            Ok(()) => self.sent(&attempt).await,
            Err(SendError::Transient(reason)) => self.deferred(&attempt, reason).await,
            Err(SendError::Permanent(reason)) => self.refused(&attempt, reason).await,
        }
    }

    async fn sent(&self, attempt: &Attempt<'_>) -> Settled {
        let (id, channel, duration_ms) = (attempt.id(), attempt.channel(), attempt.duration_ms);
        info!(outbox.id = id, channel, duration_ms, "message sent");
        match self.outbox.mark_sent(id, self.clock.now()).await {
            Ok(()) => Settled::Sent,
            Err(e) => {
                error!(outbox.id = id, error = %e, "sent message not recorded; it may be resent");
                Settled::Pending
            }
        }
    }

    async fn deferred(&self, attempt: &Attempt<'_>, reason: &str) -> Settled {
        let (id, channel, duration_ms) = (attempt.id(), attempt.channel(), attempt.duration_ms);
        let retry_in = retry_delay(attempt.entry.attempts);
        let attempts = attempt.entry.attempts.saturating_add(1);
        let retry_in_s = retry_in.num_seconds();
        warn!(
            outbox.id = id,
            channel, attempts, retry_in_s, duration_ms, reason, "sending failed; will retry"
        );
        let settled = self.record_failed(id, later(attempt.at, retry_in)).await;
        self.tell(&attempt.entry.message, false, attempts).await;
        settled
    }

    async fn refused(&self, attempt: &Attempt<'_>, reason: &str) -> Settled {
        let (id, channel, duration_ms) = (attempt.id(), attempt.channel(), attempt.duration_ms);
        warn!(
            outbox.id = id,
            channel, duration_ms, reason, "message undeliverable; given up"
        );
        let settled = self
            .record_failed(id, never_again(attempt.entry, attempt.at))
            .await;
        self.tell(
            &attempt.entry.message,
            true,
            attempt.entry.attempts.saturating_add(1),
        )
        .await;
        settled
    }

    async fn record_failed(&self, id: i64, next_attempt_at: DateTime<Utc>) -> Settled {
        match self.outbox.mark_failed(id, next_attempt_at).await {
            Ok(()) => Settled::Failed,
            Err(e) => {
                warn!(outbox.id = id, error = %e, "failed attempt not recorded");
                Settled::Pending
            }
        }
    }

    /// Drops the text of dead messages, at most once every `EXPIRE_EVERY`.
    async fn expire_if_due(&self, last: &mut Option<DateTime<Utc>>) {
        let now = self.clock.now();
        if last.is_some_and(|at| now - at < EXPIRE_EVERY) {
            return;
        }
        *last = Some(now);
        match self.outbox.expire(now).await {
            Ok(0) => {}
            Ok(expired) => info!(outbox.expired = expired, "expired messages dropped"),
            Err(e) => warn!(error = %e, "expired messages not dropped; will try again"),
        }
    }
}

impl OutboxSignal for Dispatcher {
    fn wake(&self) {
        // Stores a permit when no pass is waiting, so a wake during a pass is not lost.
        self.wakeup.notify_one();
    }
}

/// 5 s after the first failure, then 15 s, 45 s, … up to 10 minutes.
fn retry_delay(attempts: u32) -> chrono::TimeDelta {
    let secs = 3_i64
        .checked_pow(attempts)
        .and_then(|factor| factor.checked_mul(FIRST_RETRY_SECS))
        .map_or(MAX_RETRY_SECS, |secs| secs.min(MAX_RETRY_SECS));
    chrono::TimeDelta::seconds(secs)
}

/// A next attempt after the message's expiry: `due` will never return it.
fn never_again(entry: &OutboxEntry, now: DateTime<Utc>) -> DateTime<Utc> {
    later(
        entry.message.expires_at.max(now),
        chrono::TimeDelta::days(1),
    )
}

/// `at + delay`, saturating at the end of time.
fn later(at: DateTime<Utc>, delay: chrono::TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(delay)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn channel(to: &Recipient) -> &'static str {
    match to {
        Recipient::Email(_) => "email",
        Recipient::Sms(_) => "sms",
        Recipient::Backchannel(_) => "backchannel",
    }
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
