//! The outbox relay: publishes committed events to the event stream in commit order and marks
//! them published. A crash between publish and mark publishes again on restart; consumers
//! deduplicate by event id, so delivery is at least once and handling exactly once.

use std::sync::Arc;
use std::time::Duration;

use steelcare_store::{Database, outbox};
use tokio::sync::{Notify, watch};
use tracing::{debug, warn};

use crate::{BusError, EventStream, OutgoingMessage};

/// Moves outbox rows onto the event stream.
#[derive(Clone)]
pub struct OutboxRelay {
    db: Database,
    events: Arc<dyn EventStream>,
    batch: u64,
    idle_interval: Duration,
    wake: Arc<Notify>,
    published: Arc<watch::Sender<u64>>,
}

impl OutboxRelay {
    /// A relay from `db`'s outbox to `events`.
    pub fn new(db: Database, events: Arc<dyn EventStream>) -> Self {
        OutboxRelay {
            db,
            events,
            batch: 256,
            idle_interval: Duration::from_millis(200),
            wake: Arc::new(Notify::new()),
            published: Arc::new(watch::channel(0).0),
        }
    }

    /// A handle that wakes the relay at once (call after committing events in-process).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Changes after every batch this relay publishes: in-process consumers wait on it
    /// instead of polling (other processes still poll).
    pub fn published(&self) -> watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// Publishes one batch; returns how many events were published.
    pub async fn relay_once(&self) -> Result<usize, BusError> {
        let rows = outbox::unpublished(&self.db, self.batch).await?;
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
        let published: Vec<i64> = match self.events.publish_all(&messages).await {
            Ok(_) => rows.iter().map(|row| row.id).collect(),
            Err(err) => {
                // Keep commit order: retry the whole batch from its first event next time.
                warn!(event_id = %rows[0].event_id, error = %err, "outbox publish failed");
                outbox::record_failed_attempt(&self.db, rows[0].id).await?;
                Vec::new()
            }
        };
        outbox::mark_published(&self.db, &published).await?;
        if !published.is_empty() {
            self.published.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(published.len())
    }

    /// Runs until `shutdown` turns true, then publishes what is left once more.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let outcome = self.relay_once().await;
            let busy = match outcome {
                Ok(n) => {
                    if n > 0 {
                        debug!(published = n, "outbox relayed");
                    }
                    n as u64 == self.batch
                }
                Err(err) => {
                    warn!(error = %err, "outbox relay failed");
                    false
                }
            };
            if *shutdown.borrow() {
                break;
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.idle_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        if let Err(err) = self.relay_once().await {
            warn!(error = %err, "final outbox relay failed");
        }
    }
}
