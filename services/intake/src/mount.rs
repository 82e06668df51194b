//! What the intake service runs in a process: its gRPC service, the SLA watcher and the
//! consumer of its event group.

use steelcare_proto::intake::v1::intake_service_server::IntakeServiceServer;
use steelcare_runtime::attachments::AttachmentStore;
use steelcare_runtime::mount::Wiring;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;

use crate::{IntakeService, SlaConfig, worker};

/// Starts intake's workers and adds its service to `routes`; answers its name.
pub fn mount(w: &Wiring, routes: &mut RoutesBuilder, files: AttachmentStore) -> &'static str {
    let name = <IntakeServiceServer<IntakeService> as NamedService>::NAME;
    let settings = &w.settings.intake;
    let service = IntakeService::new(
        w.db.clone(),
        SlaConfig {
            calendar: settings.calendar.clone(),
            policies: settings.policies.clone(),
            thresholds: settings.escalation_thresholds.clone(),
        },
        settings.timezone,
        files,
        Some(w.relay_wake.clone()),
        &w.supervisor,
    )
    .with_shutdown(w.drain.clone());
    let (db, interval, wake) = (
        w.db.clone(),
        settings.watcher_interval,
        w.relay_wake.clone(),
    );
    w.supervisor.spawn(name, "intake-sla-watcher", move |stop| {
        worker::run_watcher(db.clone(), interval, Some(wake.clone()), stop)
    });
    let (consumer, events, consumer_name, published, redelivery) = (
        service.clone(),
        w.bus.events.clone(),
        w.consumer_name.clone(),
        w.published.clone(),
        w.settings.bus.redelivery_idle,
    );
    w.supervisor.spawn(name, "intake-consumer", move |stop| {
        worker::run_consumer_loop(
            consumer.clone(),
            events.clone(),
            consumer_name.clone(),
            redelivery,
            Some(published.clone()),
            stop,
        )
    });
    routes.add_service(InterceptedService::new(
        IntakeServiceServer::new(service)
            .max_decoding_message_size(w.max_message())
            .max_encoding_message_size(w.max_message()),
        w.interceptor.clone(),
    ));
    name
}
