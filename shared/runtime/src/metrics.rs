//! Metrics, exported over OTLP with the spans (when an endpoint is configured):
//!
//! | instrument | kind | attributes |
//! |---|---|---|
//! | `rpc.server.call.duration` (s) | histogram: count and latency of calls (the current OpenTelemetry RPC convention) | `rpc.service`, `rpc.method`, `rpc.grpc.status_code` |
//! | `steelcare.dispatch.offers` | counter | `outcome`: made, accepted, declined, timed_out |
//! | `steelcare.sla.alerts` | counter | `alert`: at_risk, breached; `clock`; `tier` |
//! | `steelcare.notify.deliveries` | counter: sends and how they ended | `channel`; `outcome`: sent, retry, dead |
//! | `steelcare.notify.delay` (s) | histogram: from the event's commit to its delivery being sent | `channel` |
//! | `steelcare.notify.send.duration` (s) | histogram: one send to the channel | `channel` |
//! | `steelcare.outbox.backlog` | gauge: events committed, not yet published | |
//! | `steelcare.queue.depth` | gauge: jobs in a dispatch queue | `queue` |
//! | `steelcare.consumer.pending` | gauge: delivered to a group, not yet acknowledged | `group` |
//! | `steelcare.consumer.lag` | gauge: in the stream, not yet delivered to a group | `group` |
//!
//! Counters count what this process did; the gauges describe the shared database and bus, so
//! every process reports the same values (take the maximum across processes, not the sum).
//! Instruments come from the global meter provider that [`crate::telemetry::init`] installs;
//! before that (and in tests without it) they record nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram};
use steelcare_bus::{DispatchQueue, EVENTS_STREAM, EventStream};
use steelcare_store::{Database, outbox};
use tokio::sync::watch;
use tracing::warn;

struct Instruments {
    rpc_duration: Histogram<f64>,
    offers: Counter<u64>,
    sla_alerts: Counter<u64>,
    notify_deliveries: Counter<u64>,
    notify_delay: Histogram<f64>,
    notify_send: Histogram<f64>,
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("steelcare");
        Instruments {
            rpc_duration: meter
                .f64_histogram("rpc.server.call.duration")
                .with_unit("s")
                .with_description("Duration of gRPC calls, to the response headers")
                .with_boundaries(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .build(),
            offers: meter
                .u64_counter("steelcare.dispatch.offers")
                .with_unit("{offer}")
                .with_description("Offers made to technicians, and how they ended")
                .build(),
            sla_alerts: meter
                .u64_counter("steelcare.sla.alerts")
                .with_unit("{alert}")
                .with_description("SLA clocks that crossed an at-risk threshold or breached")
                .build(),
            notify_deliveries: meter
                .u64_counter("steelcare.notify.deliveries")
                .with_unit("{delivery}")
                .with_description("Notification sends, by channel and how they ended")
                .build(),
            notify_delay: meter
                .f64_histogram("steelcare.notify.delay")
                .with_unit("s")
                .with_description("From an event's commit to its notification being sent")
                .with_boundaries(vec![
                    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                ])
                .build(),
            notify_send: meter
                .f64_histogram("steelcare.notify.send.duration")
                .with_unit("s")
                .with_description("One notification send to its channel")
                .with_boundaries(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .build(),
        }
    })
}

/// Records one finished call.
pub fn record_rpc(service: &str, method: &str, code: i64, elapsed: Duration) {
    instruments().rpc_duration.record(
        elapsed.as_secs_f64(),
        &[
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_owned()),
            KeyValue::new("rpc.method", method.to_owned()),
            KeyValue::new("rpc.grpc.status_code", code),
        ],
    );
}

/// How an offer to a technician went.
#[derive(Debug, Clone, Copy)]
pub enum OfferOutcome {
    /// Offered.
    Made,
    /// Accepted.
    Accepted,
    /// Declined by the technician.
    Declined,
    /// Not answered in time.
    TimedOut,
}

/// Counts an offer made or ended.
pub fn record_offer(outcome: OfferOutcome) {
    let outcome = match outcome {
        OfferOutcome::Made => "made",
        OfferOutcome::Accepted => "accepted",
        OfferOutcome::Declined => "declined",
        OfferOutcome::TimedOut => "timed_out",
    };
    instruments()
        .offers
        .add(1, &[KeyValue::new("outcome", outcome)]);
}

/// Counts an SLA alert: `alert` is "at_risk" or "breached"; `clock` and `tier` name them as
/// the API does (e.g. "response", "P1").
pub fn record_sla_alert(alert: &'static str, clock: &str, tier: &str) {
    instruments().sla_alerts.add(
        1,
        &[
            KeyValue::new("alert", alert),
            KeyValue::new("clock", clock.to_owned()),
            KeyValue::new("tier", tier.to_owned()),
        ],
    );
}

/// Counts a notification send on `channel` ("email", "sms", …) that ended as `outcome`
/// ("sent", "retry", "dead"), how long the send took, and, once sent, the delay from its
/// event's commit.
pub fn record_notification(
    channel: &str,
    outcome: &'static str,
    send: Duration,
    delay: Option<Duration>,
) {
    let channel = KeyValue::new("channel", channel.to_owned());
    let i = instruments();
    i.notify_deliveries
        .add(1, &[channel.clone(), KeyValue::new("outcome", outcome)]);
    i.notify_send
        .record(send.as_secs_f64(), std::slice::from_ref(&channel));
    if let Some(delay) = delay {
        i.notify_delay.record(delay.as_secs_f64(), &[channel]);
    }
}

/// The last sampled state of the database and bus, read by the gauges.
#[derive(Default)]
struct Sampled {
    backlog: u64,
    queues: BTreeMap<String, u64>,
    /// group -> (pending, lag)
    groups: BTreeMap<String, (u64, u64)>,
}

/// Samples the outbox backlog, queue depths and consumer lag every `every`, until `stop`
/// turns true, and reports them as gauges. One per process.
pub struct Sampler {
    db: Database,
    events: Arc<dyn EventStream>,
    queue: Arc<dyn DispatchQueue>,
    queues: Vec<String>,
    every: Duration,
    state: Arc<Mutex<Sampled>>,
}

impl Sampler {
    /// Samples `db`'s outbox, the consumer groups of the events stream, and `queues`.
    pub fn new(
        db: Database,
        events: Arc<dyn EventStream>,
        queue: Arc<dyn DispatchQueue>,
        queues: Vec<String>,
        every: Duration,
    ) -> Self {
        let state = Arc::new(Mutex::new(Sampled::default()));
        register_gauges(state.clone());
        Sampler {
            db,
            events,
            queue,
            queues,
            every,
            state,
        }
    }

    /// Takes one sample.
    pub async fn sample(&self) {
        let backlog = outbox::backlog(&self.db).await;
        let mut queues = BTreeMap::new();
        for name in &self.queues {
            match self.queue.len(name).await {
                Ok(n) => {
                    queues.insert(name.clone(), n);
                }
                Err(err) => warn!(queue = %name, error = %err, "sampling the queue depth failed"),
            }
        }
        let groups = self.events.group_lags(EVENTS_STREAM).await;
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        match backlog {
            Ok(n) => state.backlog = n,
            Err(err) => warn!(error = %err, "sampling the outbox backlog failed"),
        }
        state.queues = queues;
        match groups {
            Ok(groups) => {
                state.groups = groups
                    .into_iter()
                    .map(|g| (g.group, (g.pending, g.lag)))
                    .collect();
            }
            Err(err) => warn!(error = %err, "sampling the consumer lag failed"),
        }
    }

    /// Samples until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            self.sample().await;
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }
}

/// Values of a gauge with their attributes.
type Observations = Vec<(u64, Vec<KeyValue>)>;

/// The state the gauges read: the latest sampler's.
static CURRENT: OnceLock<Mutex<Arc<Mutex<Sampled>>>> = OnceLock::new();

/// Registers the gauges once per process; they read the latest sampler's state.
fn register_gauges(state: Arc<Mutex<Sampled>>) {
    let mut fresh = false;
    let current = CURRENT.get_or_init(|| {
        fresh = true;
        Mutex::new(state.clone())
    });
    if let Ok(mut current) = current.lock() {
        *current = state;
    }
    if !fresh {
        return;
    }
    let per = |key: &'static str, values: &BTreeMap<String, u64>| -> Observations {
        values
            .iter()
            .map(|(name, n)| (*n, vec![KeyValue::new(key, name.clone())]))
            .collect()
    };
    gauge(
        "steelcare.outbox.backlog",
        "{event}",
        "Events committed and not yet published",
        |s| vec![(s.backlog, Vec::new())],
    );
    gauge(
        "steelcare.queue.depth",
        "{job}",
        "Jobs in a dispatch queue",
        move |s| per("queue", &s.queues),
    );
    gauge(
        "steelcare.consumer.pending",
        "{event}",
        "Events delivered to a consumer group and not yet acknowledged",
        move |s| {
            per(
                "group",
                &s.groups.iter().map(|(g, (p, _))| (g.clone(), *p)).collect(),
            )
        },
    );
    gauge(
        "steelcare.consumer.lag",
        "{event}",
        "Events in the stream not yet delivered to a consumer group",
        move |s| {
            per(
                "group",
                &s.groups.iter().map(|(g, (_, l))| (g.clone(), *l)).collect(),
            )
        },
    );
}

/// An observable gauge `name` reporting `observe` over the current sampled state.
fn gauge(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    observe: impl Fn(&Sampled) -> Observations + Send + Sync + 'static,
) {
    opentelemetry::global::meter("steelcare")
        .u64_observable_gauge(name)
        .with_unit(unit)
        .with_description(description)
        .with_callback(move |o| {
            let state = CURRENT.get().and_then(|c| c.lock().ok().map(|c| c.clone()));
            let values = state
                .and_then(|s| s.lock().ok().map(|s| observe(&s)))
                .unwrap_or_default();
            for (v, attrs) in values {
                o.observe(v, &attrs);
            }
        })
        .build();
}
