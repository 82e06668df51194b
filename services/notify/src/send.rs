//! The senders, one per channel (a slow or unreachable SMTP server does not hold the texts
//! back): claim due deliveries of their channel (a lease each), send them several at once,
//! and write how each ended while the claim is still theirs: sent; tried again after
//! a backoff (doubling from `retry_base` up to `retry_max`) on a temporary failure until
//! `max_attempts`; dead (the dead-letter list) on a permanent one or out of attempts.
//!
//! A sender that dies mid-send leaves its claims to run out; they are then sent again under
//! the same idempotency key (at least once on that window; once where the channel honours the
//! key).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use steelcare_store::entity::notify_deliveries::Model;
use tokio::sync::watch;
use tracing::Instrument;

use crate::channels::{Failure, Kind, Outgoing};
use crate::deliveries::{self, Outcome};
use crate::engine::Notifier;

/// Sends due deliveries of `channel` until shutdown; woken by the consumer, else every poll
/// interval.
pub async fn run_sender(notifier: Notifier, channel: Kind, mut shutdown: watch::Receiver<bool>) {
    loop {
        let due = notifier.due.clone();
        let woken = due.notified();
        let sent = match send_due(&notifier, channel).await {
            Ok(n) => n,
            Err(err) => {
                tracing::warn!(error = %err, channel = channel.as_str(), "notification sender: will retry");
                0
            }
        };
        if sent < notifier.settings.batch as usize {
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep(notifier.settings.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One pass: claims a batch, sends it (`senders` at once), and writes the outcomes (the sent
/// ones in one statement); answers how many were claimed.
async fn send_due(
    notifier: &Notifier,
    channel: Kind,
) -> Result<usize, steelcare_runtime::ApiError> {
    let now = steelcare_store::now().timestamp_millis();
    let lease = i64::try_from(notifier.settings.lease.as_millis()).unwrap_or(i64::MAX);
    let claimed = deliveries::claim(
        &notifier.db,
        channel.as_str(),
        now,
        now.saturating_add(lease),
        notifier.settings.batch,
    )
    .await?;
    let n = claimed.len();
    let outcomes: Vec<(Model, Outcome)> = futures::stream::iter(claimed)
        .map(|d| async move {
            let outcome = send_one(notifier, &d).await;
            (d, outcome)
        })
        .buffer_unordered(notifier.settings.senders as usize)
        .collect()
        .await;
    record(notifier, outcomes).await;
    Ok(n)
}

/// The delay before attempt `attempts + 1`: `base` doubled per attempt made, at most `max`.
pub fn backoff(base: Duration, max: Duration, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    base.saturating_mul(1 << doublings).min(max)
}

/// Sends one claimed delivery under the trace of its event; answers how it ended.
async fn send_one(notifier: &Notifier, delivery: &Model) -> Outcome {
    let span = tracing::info_span!(
        "notify.send",
        otel.name = "send notification",
        otel.kind = "producer",
        steelcare.delivery_id = %delivery.id,
        steelcare.event_id = %delivery.event_id,
        steelcare.case_id = delivery.case_id.as_deref().unwrap_or(""),
        channel = %delivery.channel,
        topic = %delivery.topic,
        attempt = delivery.attempts,
    );
    if !delivery.traceparent.is_empty() {
        steelcare_runtime::telemetry::continue_trace(
            &span,
            &delivery.traceparent,
            &delivery.tracestate,
        );
    }
    async {
        let started = Instant::now();
        let outcome = attempt(notifier, delivery).await;
        let sent_at = steelcare_store::now().timestamp_millis();
        let (label, delay) = match &outcome {
            Outcome::Sent => (
                "sent",
                u64::try_from(sent_at - delivery.event_time_ms)
                    .ok()
                    .map(Duration::from_millis),
            ),
            Outcome::Retry { error, .. } => {
                tracing::info!(error = %error, "notification not sent; will try again");
                ("retry", None)
            }
            Outcome::Dead { error } => {
                tracing::warn!(error = %error, "notification failed for good: in the dead-letter list");
                ("dead", None)
            }
        };
        steelcare_runtime::metrics::record_notification(
            &delivery.channel,
            label,
            started.elapsed(),
            delay,
        );
        outcome
    }
    .instrument(span)
    .await
}

/// Sends through the delivery's channel; answers the outcome to record.
async fn attempt(notifier: &Notifier, delivery: &Model) -> Outcome {
    let channel = Kind::parse(&delivery.channel)
        .and_then(|kind| notifier.channels.get(kind, &delivery.address));
    let Some(channel) = channel else {
        return Outcome::Dead {
            error: format!("channel {} is not configured here", delivery.channel),
        };
    };
    let params: serde_json::Value = serde_json::from_str(&delivery.params).unwrap_or_default();
    let message = Outgoing {
        id: &delivery.id,
        topic: &delivery.topic,
        address: &delivery.address,
        title: &delivery.title,
        body: &delivery.body,
        params: &params,
    };
    let settings = &notifier.settings;
    let failure = match tokio::time::timeout(settings.send_timeout, channel.send(&message)).await {
        Ok(Ok(())) => return Outcome::Sent,
        Ok(Err(failure)) => failure,
        Err(_) => Failure::Temporary(format!("no answer in {:?}", settings.send_timeout)),
    };
    match failure {
        Failure::Temporary(error) if delivery.attempts < settings.max_attempts as i32 => {
            let wait = backoff(settings.retry_base, settings.retry_max, delivery.attempts);
            let at_ms = steelcare_store::now().timestamp_millis()
                + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
            Outcome::Retry { at_ms, error }
        }
        Failure::Temporary(error) => Outcome::Dead {
            error: format!("{error} (after {} attempts)", delivery.attempts),
        },
        Failure::Permanent(error) => Outcome::Dead { error },
    }
}

/// Writes the outcomes: the sent ones in one statement per attempt number, the others one by
/// one; each only while the claim is still this sender's. Tries a few times while the
/// database is away (if it stays away, the claims run out and the deliveries are sent again
/// under the same keys).
async fn record(notifier: &Notifier, outcomes: Vec<(Model, Outcome)>) {
    let now = steelcare_store::now().timestamp_millis();
    let mut sent: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    let mut others = Vec::new();
    for (delivery, outcome) in outcomes {
        match outcome {
            Outcome::Sent => sent.entry(delivery.attempts).or_default().push(delivery.id),
            other => others.push((delivery, other)),
        }
    }
    for (attempt, ids) in &sent {
        persist(|| deliveries::finish_sent(&notifier.db, ids, *attempt, now)).await;
    }
    for (delivery, outcome) in &others {
        persist(|| deliveries::finish(&notifier.db, &delivery.id, delivery.attempts, now, outcome))
            .await;
    }
}

/// Runs a write until it succeeds, four tries in all.
async fn persist<T, F, Fut>(write: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, steelcare_runtime::ApiError>>,
{
    for wait in [0, 100, 500, 2_000] {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        match write().await {
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, "writing deliveries' outcomes failed; trying again")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_maximum() {
        let (base, max) = (Duration::from_secs(2), Duration::from_secs(60));
        let waits: Vec<u64> = (1..=7).map(|a| backoff(base, max, a).as_secs()).collect();
        assert_eq!(waits, vec![2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(base, max, 1000), max, "no overflow");
    }
}
