//! The outbox relay: publishes committed events to the event stream in commit order and marks
//! them published. A crash between publish and mark publishes again on restart; consumers
//! deduplicate by event id, so delivery is at least once and handling exactly once.
//!
//! Across replicas one relay publishes: each process runs one, and only the holder of the
//! lease `relay:<stream>` in the database publishes (renewed as it works; another process
//! takes over once it lapses, or at once when the holder shuts down). So each event reaches
//! the stream once, in commit order, whatever the number of processes.
//!
//! Redis is a cache of the outbox. The lease holder keeps, per stream, a checkpoint in the
//! database: the last event every consumer group has acknowledged (acknowledged means
//! handled and committed). A batch is published only while the epoch mark is in Redis (one
//! script checks and publishes), and the mark is also looked at every second when idle; a
//! missing mark means Redis restarted empty or was flushed, and then the relay drops what is
//! left of the stream and marks every event after the checkpoint unpublished, so they are
//! published again in order; consumers recreate their groups and drop the repeats by
//! processed-event key.

use std::sync::Arc;
use std::time::Duration;

use steelcare_store::{Database, lease, outbox};
use tokio::sync::{Notify, watch};
use tracing::{debug, info, warn};

use crate::{BusError, EVENTS_STREAM, EventStream, OutgoingMessage, now_ms};

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Events per batch.
    pub batch: u64,
    /// How long the lease is held without renewal.
    pub lease: Duration,
    /// How often the lease holder looks for new events when nobody woke it.
    pub idle_interval: Duration,
    /// How often the checkpoint is moved forward.
    pub checkpoint_interval: Duration,
    /// The least time between two rounds: under load, events committed meanwhile go out
    /// together (one read, one publish, one mark) instead of a round per commit.
    pub coalesce: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        RelayOptions {
            batch: 256,
            lease: Duration::from_secs(5),
            idle_interval: Duration::from_millis(50),
            checkpoint_interval: Duration::from_secs(1),
            coalesce: Duration::from_millis(5),
        }
    }
}

/// Moves outbox rows onto the event stream.
#[derive(Clone)]
pub struct OutboxRelay {
    db: Database,
    events: Arc<dyn EventStream>,
    options: RelayOptions,
    holder: String,
    wake: Arc<Notify>,
    published: Arc<watch::Sender<u64>>,
    sequenced: Arc<watch::Sender<u64>>,
}

impl OutboxRelay {
    /// A relay from `db`'s outbox to `events`.
    pub fn new(db: Database, events: Arc<dyn EventStream>) -> Self {
        OutboxRelay {
            db,
            events,
            options: RelayOptions::default(),
            holder: uuid::Uuid::now_v7().to_string(),
            wake: Arc::new(Notify::new()),
            published: Arc::new(watch::channel(0).0),
            sequenced: Arc::new(watch::channel(0).0),
        }
    }

    /// Changes the options.
    pub fn with_options(mut self, options: RelayOptions) -> Self {
        self.options = options;
        self
    }

    /// A handle that wakes the relay at once (call after committing events in-process).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Changes after every batch this relay puts on the stream, before the batch is marked
    /// published in the outbox: in-process consumers wait on it instead of polling (other
    /// processes still poll), and read the batch while the mark is being written.
    pub fn published(&self) -> watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// Changes after every batch this relay has marked published, each event with its place in
    /// the sequence of publication: what reads the outbox by that place (the event feed)
    /// waits on it.
    pub fn sequenced(&self) -> watch::Receiver<u64> {
        self.sequenced.subscribe()
    }

    fn lease_name() -> String {
        format!("relay:{EVENTS_STREAM}")
    }

    /// Takes or renews the lease; true while this relay holds it.
    pub async fn hold_lease(&self) -> Result<bool, BusError> {
        let ttl = i64::try_from(self.options.lease.as_millis()).unwrap_or(i64::MAX / 2);
        Ok(lease::acquire(&self.db, &Self::lease_name(), &self.holder, now_ms(), ttl).await?)
    }

    /// When the stream lost its data (Redis restarted empty or was flushed), marks every
    /// event after the checkpoint to be published again; returns how many.
    pub async fn recover_lost_stream(&self) -> Result<u64, BusError> {
        if !self.events.begin_epoch().await? {
            return Ok(0);
        }
        // Publishing needs the mark (atomically, `publish_in_epoch`): a stream that holds
        // entries without one was written by a build before the mark existed (an upgrade),
        // not emptied, and nothing was lost.
        if self.events.stream_len(EVENTS_STREAM).await? > 0 {
            info!("event stream epoch marked; the stream kept its data");
            return Ok(0);
        }
        let (checkpoint, _) = outbox::checkpoint(&self.db, EVENTS_STREAM).await?;
        // What is left (entries published since the loss) goes too, so the stream holds the
        // events again in commit order.
        self.events.drop_stream(EVENTS_STREAM).await?;
        let again = outbox::republish_after(&self.db, EVENTS_STREAM, checkpoint).await?;
        if again > 0 {
            warn!(
                republished = again,
                after_outbox_id = checkpoint,
                "event stream lost its data; publishing again every event not yet handled by every consumer group"
            );
        }
        Ok(again)
    }

    /// Moves the checkpoint to the last event every consumer group has acknowledged. Only
    /// forward, and only while every group seen before is still there (a group recreated
    /// after a loss must catch up first).
    pub async fn advance_checkpoint(&self) -> Result<(), BusError> {
        let Some(mark) = self.events.handled_by_all(EVENTS_STREAM).await? else {
            return Ok(());
        };
        let (_, known) = outbox::checkpoint(&self.db, EVENTS_STREAM).await?;
        if mark.groups.is_empty() || known.iter().any(|g| !mark.groups.contains(g)) {
            return Ok(());
        }
        let mut groups = known;
        for g in mark.groups {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        groups.sort();
        let handled = match &mark.last_event_id {
            Some(event_id) => outbox::id_of_event(&self.db, event_id).await?.unwrap_or(0),
            None => 0,
        };
        outbox::advance_checkpoint(&self.db, EVENTS_STREAM, handled, &groups).await?;
        Ok(())
    }

    /// Publishes one batch; returns how many events were published. Does not look at the
    /// lease: [`OutboxRelay::run`] calls it only while holding it.
    pub async fn relay_once(&self) -> Result<usize, BusError> {
        let rows = outbox::unpublished(&self.db, self.options.batch).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let messages: Vec<OutgoingMessage<'_>> = rows
            .iter()
            .map(|row| OutgoingMessage {
                stream: &row.stream,
                event_id: &row.event_id,
                payload: &row.payload,
            })
            .collect();
        let published: Vec<i64> = match self.events.publish_in_epoch(&messages).await {
            Ok(Some(_)) => rows.iter().map(|row| row.id).collect(),
            // No epoch mark (first start, or Redis lost its data): nothing was published.
            // Recover, and the next round publishes in order.
            Ok(None) => {
                self.recover_lost_stream().await?;
                Vec::new()
            }
            Err(err) => {
                // Keep commit order: retry the whole batch from its first event next time.
                warn!(event_id = %rows[0].event_id, error = %err, "outbox publish failed");
                outbox::record_failed_attempt(&self.db, rows[0].id).await?;
                Vec::new()
            }
        };
        // The consumers read the stream, not the mark: wake them before writing it (under a
        // storm the mark is a tenth of PostgreSQL's statement time, and every event of the
        // batch waited for it).
        if !published.is_empty() {
            self.published.send_modify(|n| *n = n.wrapping_add(1));
        }
        outbox::mark_published(&self.db, &published).await?;
        if !published.is_empty() {
            self.sequenced.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(published.len())
    }

    /// Runs until `shutdown` turns true: while holding the lease publishes and keeps the
    /// checkpoint, otherwise waits to take over. At shutdown publishes what is left once more
    /// and gives the lease up.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let renew_every = self.options.lease / 3;
        let mut renewed: Option<tokio::time::Instant> = None;
        let mut holding = false;
        let mut checkpointed = tokio::time::Instant::now();
        loop {
            if renewed.is_none_or(|at| at.elapsed() >= renew_every) {
                let was = holding;
                holding = match self.hold_lease().await {
                    Ok(held) => held,
                    Err(err) => {
                        warn!(error = %err, "relay lease check failed");
                        false
                    }
                };
                renewed = Some(tokio::time::Instant::now());
                if holding != was {
                    info!(holding, "outbox relay lease");
                }
            }
            let mut busy = false;
            if holding {
                match self.relay_once().await {
                    Ok(n) => {
                        if n > 0 {
                            debug!(published = n, "outbox relayed");
                        }
                        busy = n as u64 == self.options.batch;
                    }
                    Err(err) => warn!(error = %err, "outbox relay failed"),
                }
                if checkpointed.elapsed() >= self.options.checkpoint_interval {
                    checkpointed = tokio::time::Instant::now();
                    if let Err(err) = self.recover_lost_stream().await {
                        warn!(error = %err, "event stream epoch check failed");
                    }
                    if let Err(err) = self.advance_checkpoint().await {
                        warn!(error = %err, "event checkpoint failed");
                    }
                }
            }
            if *shutdown.borrow() {
                break;
            }
            if busy {
                continue;
            }
            let wait = if holding {
                self.options.idle_interval
            } else {
                renew_every
            };
            let round = tokio::time::Instant::now();
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            if holding && !*shutdown.borrow() {
                tokio::time::sleep_until(round + self.options.coalesce).await;
            }
        }
        if holding {
            if let Err(err) = self.relay_once().await {
                warn!(error = %err, "final outbox relay failed");
            }
            if let Err(err) = lease::release(&self.db, &Self::lease_name(), &self.holder).await {
                warn!(error = %err, "relay lease release failed");
            }
        }
    }
}
