//! Driving a handler over a stream: reclaim stale deliveries, read new ones, handle, and ack
//! only what was handled. A handler error leaves the message pending; it is delivered again
//! once it has been idle for `min_idle`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::warn;

use crate::{BusError, Delivery, EventStream};

/// Where and how a consumer reads.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Stream name.
    pub stream: String,
    /// Consumer group (one per service that reacts to the stream).
    pub group: String,
    /// This consumer's name (unique per process, e.g. the pod name).
    pub consumer: String,
    /// A pending message idle this long is taken over.
    pub min_idle: Duration,
    /// Another consumer of the group that has not read for this long is gone: its pending
    /// messages are taken over at once, however briefly they have been pending.
    pub gone_after: Duration,
    /// Messages per read.
    pub batch: usize,
    /// Longest sleep when the stream is idle.
    pub max_idle_poll: Duration,
    /// Changes when this process's relay published (see [`crate::OutboxRelay::published`]):
    /// an idle consumer reads at once instead of waiting out its poll.
    pub wake: Option<watch::Receiver<u64>>,
}

impl ConsumerOptions {
    /// Defaults: 5 s before redelivery, a consumer silent for 2 s is gone, batches of 64,
    /// polls at most every 100 ms.
    pub fn new(stream: &str, group: &str, consumer: &str) -> Self {
        ConsumerOptions {
            stream: stream.to_owned(),
            group: group.to_owned(),
            consumer: consumer.to_owned(),
            min_idle: Duration::from_secs(5),
            gone_after: Duration::from_secs(2),
            batch: 64,
            max_idle_poll: Duration::from_millis(100),
            wake: None,
        }
    }
}

/// Runs `handler` as consumer `consumer` of `group` on the events stream until shutdown:
/// messages pending for `redelivery` are taken over, and `wake` (the relay's publications)
/// ends an idle wait at once. What each service's consumer loop is.
pub async fn run_group<H, F, E>(
    events: Arc<dyn EventStream>,
    group: &str,
    consumer: &str,
    redelivery: Duration,
    wake: Option<watch::Receiver<u64>>,
    shutdown: watch::Receiver<bool>,
    handler: H,
) where
    H: Fn(Delivery) -> F + Send + Sync,
    F: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    let mut options = ConsumerOptions::new(crate::EVENTS_STREAM, group, consumer);
    options.wake = wake;
    options.min_idle = redelivery;
    run_consumer(events, options, handler, shutdown).await;
}

/// Handles messages until `shutdown` turns true. Errors from the bus are logged and retried
/// with backoff; they never end the loop. After any error the group is created again if it
/// is missing (Redis restarted empty or was flushed), starting at the beginning of the
/// stream, where the relay publishes again what was lost.
pub async fn run_consumer<H, F, E>(
    events: Arc<dyn EventStream>,
    options: ConsumerOptions,
    handler: H,
    shutdown: watch::Receiver<bool>,
) where
    H: Fn(Delivery) -> F + Send + Sync,
    F: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    let (stream, group) = (options.stream.clone(), options.group.clone());
    let handler = &handler;
    let (stream, group) = (&stream, &group);
    run_batch_consumer(
        events,
        options,
        move |batch| async move {
            let mut done = Vec::with_capacity(batch.len());
            for delivery in batch {
                let entry_id = delivery.entry_id.clone();
                let event_id = delivery.event_id.clone();
                match handler(delivery).await {
                    Ok(()) => done.push(entry_id),
                    Err(err) => {
                        warn!(%stream, %group, %event_id, error = %err, "event handling failed; it will be redelivered")
                    }
                }
            }
            done
        },
        shutdown,
    )
    .await;
}

/// [`run_consumer`] with a handler that takes each read's messages at once (to apply them in
/// one transaction) and answers the entry ids it handled; the others stay pending and are
/// delivered again after `min_idle`.
pub async fn run_batch_consumer<H, F>(
    events: Arc<dyn EventStream>,
    options: ConsumerOptions,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(Vec<Delivery>) -> F + Send + Sync,
    F: Future<Output = Vec<String>> + Send,
{
    let mut idle = Duration::from_millis(5);
    let mut group_ready = false;
    let mut wake = options.wake.clone();
    let mut last_reclaim: Option<tokio::time::Instant> = None;
    while !*shutdown.borrow() {
        let round = async {
            if !group_ready {
                events.ensure_group(&options.stream, &options.group).await?;
                group_ready = true;
            }
            let mut batch = reclaim(&*events, &options, &mut last_reclaim).await?;
            batch.extend(
                events
                    .read_new(
                        &options.stream,
                        &options.group,
                        &options.consumer,
                        options.batch,
                    )
                    .await?,
            );
            let handled = batch.len();
            if handled == 0 {
                return Ok(0);
            }
            let done = handler(batch).await;
            events.ack(&options.stream, &options.group, &done).await?;
            Ok::<usize, BusError>(handled)
        }
        .await;
        match round {
            Ok(0) => idle = (idle * 2).min(options.max_idle_poll),
            Ok(_) => {
                idle = Duration::from_millis(5);
                continue;
            }
            Err(err) if err.is_missing_group() => {
                // The stream was dropped under the group (the relay republishing after Redis
                // lost its data, or marking a first start): create it again at once.
                tracing::info!(stream = %options.stream, group = %options.group, "consumer group gone with its stream; creating it again");
                group_ready = false;
                idle = Duration::from_millis(5);
            }
            Err(err) => {
                warn!(stream = %options.stream, group = %options.group, error = %err, "consumer round failed");
                // The group may be gone with Redis's data: create it again next round.
                group_ready = false;
                idle = options.max_idle_poll * 10;
            }
        }
        let published = async {
            match wake.as_mut() {
                Some(rx) => {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(idle) => {}
            _ = published => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The stale deliveries to take over (of consumers gone, and idle past `min_idle`), looked
/// for every half of the shorter of the two, not on every read: they cannot appear sooner.
async fn reclaim(
    events: &dyn EventStream,
    options: &ConsumerOptions,
    last_reclaim: &mut Option<tokio::time::Instant>,
) -> Result<Vec<Delivery>, BusError> {
    let reclaim_every = options.min_idle.min(options.gone_after) / 2;
    if last_reclaim.is_some_and(|at| at.elapsed() < reclaim_every) {
        return Ok(Vec::new());
    }
    *last_reclaim = Some(tokio::time::Instant::now());
    let mut stale = events
        .claim_from_gone(
            &options.stream,
            &options.group,
            &options.consumer,
            options.gone_after,
            options.batch,
        )
        .await?;
    stale.extend(
        events
            .claim_stale(
                &options.stream,
                &options.group,
                &options.consumer,
                options.min_idle,
                options.batch,
            )
            .await?,
    );
    Ok(stale)
}
