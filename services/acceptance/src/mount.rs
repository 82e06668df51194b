//! What the acceptance service runs in a process: its gRPC service (it has no workers).

use steelcare_proto::acceptance::v1::acceptance_service_server::AcceptanceServiceServer;
use steelcare_runtime::attachments::AttachmentStore;
use steelcare_runtime::mount::Wiring;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;

use crate::{AcceptanceService, Acceptor};

/// Adds acceptance's service to `routes`; answers its name.
pub fn mount(w: &Wiring, routes: &mut RoutesBuilder, files: AttachmentStore) -> &'static str {
    let acceptor = Acceptor::new(
        w.db.clone(),
        files,
        w.settings.intake.timezone,
        Some(w.relay_wake.clone()),
    );
    routes.add_service(InterceptedService::new(
        AcceptanceServiceServer::new(AcceptanceService::new(acceptor))
            .max_decoding_message_size(w.max_message())
            .max_encoding_message_size(w.max_message()),
        w.interceptor.clone(),
    ));
    <AcceptanceServiceServer<AcceptanceService> as NamedService>::NAME
}
