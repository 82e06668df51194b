//! How a service joins a process. Each service crate has one `mount` function that says what
//! the service runs (its gRPC service, consumers and workers): it takes the process's
//! [`Wiring`], starts its workers under the supervisor and adds its service to the routes. The
//! binary composes the chosen services from these, one line each, so `serve --service all`
//! and five Deployments run the same code.

use std::sync::Arc;

use steelcare_bus::Bus;
use steelcare_store::Database;
use tokio::sync::{Notify, watch};

use crate::Settings;
use crate::auth::AuthInterceptor;
use crate::supervise::Supervisor;

/// What a service needs from the process it runs in.
#[derive(Clone)]
pub struct Wiring {
    /// The database.
    pub db: Database,
    /// The event stream and the dispatch queue.
    pub bus: Bus,
    /// Every setting.
    pub settings: Settings,
    /// Starts and restarts the process's workers.
    pub supervisor: Supervisor,
    /// Wakes the outbox relay after a commit.
    pub relay_wake: Arc<Notify>,
    /// The relay's count of batches put on the stream (consumers wake on it).
    pub published: watch::Receiver<u64>,
    /// The relay's count of batches marked published with their places in the sequence (the
    /// event feed, which reads the outbox by that place, wakes on it).
    pub sequenced: watch::Receiver<u64>,
    /// Turns true when shutdown begins (streams end, in-flight calls drain).
    pub drain: watch::Receiver<bool>,
    /// This process's name among the consumers of a group (`host-pid`).
    pub consumer_name: String,
    /// Authenticates every call of the service.
    pub interceptor: AuthInterceptor,
}

impl Wiring {
    /// The name of consumer `i` of `service` in this process.
    pub fn consumer(&self, service: &str, i: u32) -> String {
        format!("{}-{service}-{i}", self.consumer_name)
    }

    /// The largest message a service accepts or sends (`server.max_message_bytes`).
    pub fn max_message(&self) -> usize {
        self.settings.server.max_message_bytes
    }

    /// Starts `count` supervised consumers of `group` on the event stream for `service`
    /// (named `<group>-consumer-<i>`), each reading a batch at a time and handing it to
    /// `handle`, which answers the entry ids it applied; woken when the relay publishes, and
    /// taking over deliveries another consumer left idle for `bus.redelivery_idle_ms`.
    pub fn spawn_batch_consumers<H, Fut>(
        &self,
        service: &'static str,
        group: &'static str,
        count: u32,
        handle: H,
    ) where
        H: Fn(Vec<steelcare_bus::Delivery>) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Vec<String>> + Send + 'static,
    {
        for i in 0..count {
            let (events, consumer, published, redelivery, handle) = (
                self.bus.events.clone(),
                self.consumer(group, i),
                self.published.clone(),
                self.settings.bus.redelivery_idle,
                handle.clone(),
            );
            self.supervisor
                .spawn(service, format!("{group}-consumer-{i}"), move |stop| {
                    let mut options = steelcare_bus::ConsumerOptions::new(
                        steelcare_bus::EVENTS_STREAM,
                        group,
                        &consumer,
                    );
                    options.wake = Some(published.clone());
                    options.min_idle = redelivery;
                    steelcare_bus::run_batch_consumer(events.clone(), options, handle.clone(), stop)
                });
        }
    }
}
