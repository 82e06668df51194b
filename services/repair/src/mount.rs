//! What the repair service runs in a process: its gRPC service, the consumers of its event
//! group and the watcher of the appraisal clocks.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use steelcare_proto::repair::v1::repair_service_server::RepairServiceServer;
use steelcare_runtime::mount::Wiring;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;

use crate::{RepairConfig, RepairService, Repairer, worker};

/// Starts repair's workers and adds its service to `routes`; answers its name. While `hold`
/// (tests) is true the consumers take no event.
pub fn mount(
    w: &Wiring,
    routes: &mut RoutesBuilder,
    hold: Option<Arc<AtomicBool>>,
) -> &'static str {
    let name = <RepairServiceServer<RepairService> as NamedService>::NAME;
    let settings = &w.settings.repair;
    let repairer = Repairer::new(
        w.db.clone(),
        RepairConfig {
            chief_engineer_above_cents: settings.chief_engineer_above_cents,
            currency: settings.currency,
            cost_policy: settings.cost_policy.clone(),
            rules: w.settings.dispatch.rules.clone(),
            timezone: w.settings.intake.timezone,
        },
        Some(w.relay_wake.clone()),
    );
    for i in 0..settings.consumers {
        let (repairer, events, consumer, published, redelivery, hold) = (
            repairer.clone(),
            w.bus.events.clone(),
            w.consumer("repair", i),
            w.published.clone(),
            w.settings.bus.redelivery_idle,
            hold.clone(),
        );
        w.supervisor
            .spawn(name, format!("repair-consumer-{i}"), move |stop| {
                worker::run_consumer_loop(
                    repairer.clone(),
                    events.clone(),
                    consumer.clone(),
                    redelivery,
                    Some(published.clone()),
                    hold.clone(),
                    stop,
                )
            });
    }
    let (watcher, interval) = (repairer.clone(), settings.watcher_interval);
    w.supervisor
        .spawn(name, "repair-appraisal-watcher", move |stop| {
            worker::run_watcher(watcher.clone(), interval, stop)
        });
    routes.add_service(InterceptedService::new(
        RepairServiceServer::new(RepairService::new(repairer))
            .max_decoding_message_size(w.max_message())
            .max_encoding_message_size(w.max_message()),
        w.interceptor.clone(),
    ));
    name
}
