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
    /// The relay's count of published events (consumers wake on it).
    pub published: watch::Receiver<u64>,
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
}
