//! The SteelCare bus (DESIGN.md decisions 3 and 4).
//!
//! - [`EventStream`]: append-only streams read by consumer groups; a message delivered to a
//!   consumer stays pending until acknowledged, and a pending message idle for longer than a
//!   timeout can be claimed by another consumer (redelivery after a crash).
//! - [`DispatchQueue`]: jobs ordered by a score (the SLA deadline), claimed lowest score first
//!   with a lease; an expired lease puts the job back; only the lease holder can ack it.
//! - [`OutboxRelay`] publishes events committed in the outbox; [`run_consumer`] drives a
//!   handler over a stream with ack-after-handling and reclaiming of stale deliveries.
//!
//! Two backends give the same behaviour and pass one conformance suite: Redis (Streams with
//! consumer groups and XAUTOCLAIM; sorted sets made atomic with Lua) and embedded (tables in the
//! same SQL database, SQLite or PostgreSQL).

mod consumer;
mod embedded;
mod error;
mod redis_backend;
mod relay;

use std::sync::Arc;
use std::time::Duration;

pub use consumer::{ConsumerOptions, run_batch_consumer, run_consumer, run_group};
pub use embedded::EmbeddedBus;
pub use error::BusError;
pub use redis_backend::RedisBus;
pub use relay::{OutboxRelay, RelayOptions};

/// The stream every domain event is published to.
pub const EVENTS_STREAM: &str = "events";

/// A message handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Position in the stream (backend-specific, increasing).
    pub entry_id: String,
    /// The event id given at publish.
    pub event_id: String,
    /// The bytes given at publish.
    pub payload: Vec<u8>,
    /// True when this message was delivered before and claimed again.
    pub redelivered: bool,
}

/// A message to publish.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMessage<'a> {
    /// Stream name.
    pub stream: &'a str,
    /// Event id.
    pub event_id: &'a str,
    /// Bytes.
    pub payload: &'a [u8],
}

/// An event stream with consumer groups.
#[async_trait::async_trait]
pub trait EventStream: Send + Sync {
    /// Appends a message; returns its entry id.
    async fn publish(
        &self,
        stream: &str,
        event_id: &str,
        payload: &[u8],
    ) -> Result<String, BusError>;

    /// Appends several messages in order (one round trip where the backend allows); returns
    /// their entry ids. The default publishes one at a time.
    async fn publish_all(&self, messages: &[OutgoingMessage<'_>]) -> Result<Vec<String>, BusError> {
        let mut ids = Vec::with_capacity(messages.len());
        for m in messages {
            ids.push(self.publish(m.stream, m.event_id, m.payload).await?);
        }
        Ok(ids)
    }

    /// Creates a consumer group if it does not exist. A new group starts at the beginning of
    /// the stream, so nothing published before the consumer first started is missed.
    async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError>;

    /// Delivers up to `count` messages the group has not seen yet to `consumer`; they stay
    /// pending until acked.
    async fn read_new(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError>;

    /// Acknowledges messages; returns how many were pending.
    async fn ack(&self, stream: &str, group: &str, entry_ids: &[String]) -> Result<u64, BusError>;

    /// Transfers to `consumer` up to `count` pending messages idle for at least `min_idle`
    /// (their consumer crashed or is stuck), and delivers them again.
    async fn claim_stale(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError>;

    /// Number of delivered, unacknowledged messages of a group.
    async fn pending_count(&self, stream: &str, group: &str) -> Result<u64, BusError>;

    /// Transfers to `consumer` up to `count` pending messages of other consumers of the group
    /// that look gone (no read for `gone_after`), however briefly those messages have been
    /// pending, so a crashed process's work resumes at once. Backends that cannot tell
    /// return nothing and rely on [`EventStream::claim_stale`].
    async fn claim_from_gone(
        &self,
        _stream: &str,
        _group: &str,
        _consumer: &str,
        _gone_after: Duration,
        _count: usize,
    ) -> Result<Vec<Delivery>, BusError> {
        Ok(Vec::new())
    }

    /// Marks the current generation of the backend's data; true when there was no mark,
    /// that is when the backend is new or has lost its data since (Redis restarted empty or
    /// was flushed). The embedded backend lives in the database and never loses anything.
    async fn begin_epoch(&self) -> Result<bool, BusError> {
        Ok(false)
    }

    /// Publishes like [`EventStream::publish_all`], but only while the epoch mark set by
    /// [`EventStream::begin_epoch`] is there, atomically: `None` (nothing published) when it
    /// is gone, so nothing is ever published into a store that lost its data unnoticed.
    async fn publish_in_epoch(
        &self,
        messages: &[OutgoingMessage<'_>],
    ) -> Result<Option<Vec<String>>, BusError> {
        self.publish_all(messages).await.map(Some)
    }

    /// Number of entries in a stream (0 when it does not exist).
    async fn stream_len(&self, _stream: &str) -> Result<u64, BusError> {
        Ok(0)
    }

    /// Deletes a stream with its groups (before it is published again from the outbox).
    async fn drop_stream(&self, _stream: &str) -> Result<(), BusError> {
        Ok(())
    }

    /// Per consumer group of a stream, how far behind it is (for the metrics).
    async fn group_lags(&self, _stream: &str) -> Result<Vec<GroupLag>, BusError> {
        Ok(Vec::new())
    }

    /// The consumer groups of a stream and the event id of the last entry every one of them
    /// has handled (acknowledged), if the backend can lose data; `None` otherwise.
    async fn handled_by_all(&self, _stream: &str) -> Result<Option<HandledMark>, BusError> {
        Ok(None)
    }
}

/// How far behind a consumer group is (see [`EventStream::group_lags`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLag {
    /// Group name.
    pub group: String,
    /// Delivered to a consumer, not yet acknowledged.
    pub pending: u64,
    /// In the stream, not yet delivered to any consumer of the group.
    pub lag: u64,
}

/// What every consumer group of a stream has handled (see [`EventStream::handled_by_all`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandledMark {
    /// The groups on the stream.
    pub groups: Vec<String>,
    /// The event id of the last entry all of them have acknowledged, with every entry before
    /// it; `None` when there is none.
    pub last_event_id: Option<String>,
}

/// A job held under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Job id given at enqueue.
    pub job_id: String,
    /// Bytes given at enqueue.
    pub payload: Vec<u8>,
    /// Its score (e.g. the deadline in ms since the epoch).
    pub score: i64,
    /// Proof of the lease; needed to ack, release or extend.
    pub lease_token: String,
    /// How many times the job has been claimed, this claim included.
    pub attempts: u32,
}

/// A job to put in a queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueJob<'a> {
    /// Its id (a job with the same id queued or leased keeps its place).
    pub job_id: &'a str,
    /// Bytes handed back at claim.
    pub payload: &'a [u8],
    /// Its score (e.g. the deadline in ms since the epoch).
    pub score: i64,
}

/// A priority queue of jobs with leases. The batch operations (`enqueue_all`, `claim_up_to`,
/// `ack_all`) are one round trip (Redis) or one statement each (embedded) for all their jobs;
/// the single ones are those with one job.
#[async_trait::async_trait]
pub trait DispatchQueue: Send + Sync {
    /// Adds a job unless one with the same id is queued or leased; returns whether it was
    /// added.
    async fn enqueue(
        &self,
        queue: &str,
        job_id: &str,
        payload: &[u8],
        score: i64,
    ) -> Result<bool, BusError> {
        let job = QueueJob {
            job_id,
            payload,
            score,
        };
        Ok(self.enqueue_all(queue, &[job]).await?.first() == Some(&true))
    }

    /// Adds each job unless one with the same id is queued or leased; answers, in order,
    /// whether each was added.
    async fn enqueue_all(&self, queue: &str, jobs: &[QueueJob<'_>]) -> Result<Vec<bool>, BusError>;

    /// Claims the job with the lowest score (ties: lowest id), first returning jobs whose
    /// lease expired. `None` when nothing is ready.
    async fn claim(&self, queue: &str, lease: Duration) -> Result<Option<ClaimedJob>, BusError> {
        Ok(self.claim_up_to(queue, lease, 1).await?.pop())
    }

    /// Claims up to `max` jobs at once, lowest score first (ties: lowest id), as that many
    /// claims one after another would, under one lease token; fewer (or none) when fewer are
    /// ready.
    async fn claim_up_to(
        &self,
        queue: &str,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<ClaimedJob>, BusError>;

    /// Removes a job held under `lease_token`; false when the lease is no longer held.
    async fn ack(&self, queue: &str, job_id: &str, lease_token: &str) -> Result<bool, BusError> {
        Ok(self.ack_all(queue, &[(job_id, lease_token)]).await?.first() == Some(&true))
    }

    /// Removes each job `(job_id, lease_token)` held under its token; answers, in order,
    /// whether each was still held.
    async fn ack_all(&self, queue: &str, held: &[(&str, &str)]) -> Result<Vec<bool>, BusError>;

    /// Puts a held job back with a new score (a retry later); false when the lease is no
    /// longer held.
    async fn release(
        &self,
        queue: &str,
        job_id: &str,
        lease_token: &str,
        score: i64,
    ) -> Result<bool, BusError>;

    /// Extends a held lease to `lease` from now; false when the lease is no longer held.
    async fn extend_lease(
        &self,
        queue: &str,
        job_id: &str,
        lease_token: &str,
        lease: Duration,
    ) -> Result<bool, BusError>;

    /// Changes the score of a queued or leased job (a leased one comes back with it); false
    /// when there is no such job.
    async fn rescore(&self, queue: &str, job_id: &str, score: i64) -> Result<bool, BusError>;

    /// Whether a job is queued or leased.
    async fn contains(&self, queue: &str, job_id: &str) -> Result<bool, BusError>;

    /// For each of `job_ids`, in order, whether it is queued or leased: one call to the
    /// queue, however many.
    async fn contains_all(&self, queue: &str, job_ids: &[&str]) -> Result<Vec<bool>, BusError>;

    /// Jobs queued or leased.
    async fn len(&self, queue: &str) -> Result<u64, BusError>;
}

/// Which backend a [`Bus`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusBackend {
    /// Tables in the SQL database.
    Embedded,
    /// Redis.
    Redis,
}

/// The event stream and the dispatch queue of one deployment.
#[derive(Clone)]
pub struct Bus {
    /// Event streams.
    pub events: Arc<dyn EventStream>,
    /// Dispatch queues.
    pub queue: Arc<dyn DispatchQueue>,
    /// The backend.
    pub backend: BusBackend,
}

impl Bus {
    /// The embedded bus in the store's database.
    pub fn embedded(db: steelcare_store::Database) -> Bus {
        let bus = Arc::new(EmbeddedBus::new(db));
        Bus {
            events: bus.clone(),
            queue: bus,
            backend: BusBackend::Embedded,
        }
    }

    /// The Redis bus; connects and pings, so an unreachable Redis fails here.
    pub async fn redis(url: &str, key_prefix: &str) -> Result<Bus, BusError> {
        let bus = Arc::new(RedisBus::connect(url, key_prefix).await?);
        Ok(Bus {
            events: bus.clone(),
            queue: bus,
            backend: BusBackend::Redis,
        })
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
