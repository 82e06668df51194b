//! What the dispatch service runs in a process: its gRPC service, the consumers of its event
//! group, the queue workers and the offer sweeper.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use steelcare_proto::dispatch::v1::dispatch_service_server::DispatchServiceServer;
use steelcare_runtime::mount::Wiring;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;

use crate::{DispatchConfig, DispatchService, Dispatcher, worker};

/// Starts dispatch's workers and adds its service to `routes`; answers its name. `panics`
/// (tests of supervision) makes queue workers panic on that many jobs.
pub fn mount(
    w: &Wiring,
    routes: &mut RoutesBuilder,
    panics: Option<Arc<AtomicU32>>,
) -> &'static str {
    let name = <DispatchServiceServer<DispatchService> as NamedService>::NAME;
    let settings = &w.settings.dispatch;
    let mut dispatcher = Dispatcher::new(
        w.db.clone(),
        w.bus.queue.clone(),
        DispatchConfig {
            settings: settings.clone(),
            calendar: w.settings.intake.calendar.clone(),
        },
        Some(w.relay_wake.clone()),
    );
    if let Some(panics) = panics {
        dispatcher.inject_panics(panics);
    }
    // Several consumers of one group share the stream; events of one case arriving out of
    // order are harmless (a late classification never dispatches a case that moved on).
    for i in 0..settings.consumers {
        let (dispatcher, events, consumer, published, redelivery) = (
            dispatcher.clone(),
            w.bus.events.clone(),
            w.consumer("dispatch", i),
            w.published.clone(),
            w.settings.bus.redelivery_idle,
        );
        w.supervisor
            .spawn(name, format!("dispatch-consumer-{i}"), move |stop| {
                worker::run_consumer_loop(
                    dispatcher.clone(),
                    events.clone(),
                    consumer.clone(),
                    redelivery,
                    Some(published.clone()),
                    stop,
                )
            });
    }
    for i in 0..settings.workers {
        let dispatcher = dispatcher.clone();
        w.supervisor
            .spawn(name, format!("dispatch-queue-worker-{i}"), move |stop| {
                worker::run_queue_worker(dispatcher.clone(), stop)
            });
    }
    let sweeper = dispatcher.clone();
    w.supervisor.spawn(name, "dispatch-sweeper", move |stop| {
        worker::run_sweeper(sweeper.clone(), stop)
    });
    routes.add_service(InterceptedService::new(
        DispatchServiceServer::new(DispatchService::new(dispatcher))
            .max_decoding_message_size(w.max_message())
            .max_encoding_message_size(w.max_message()),
        w.interceptor.clone(),
    ));
    name
}
