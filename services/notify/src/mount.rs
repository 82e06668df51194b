//! What the notification service runs in a process: its gRPC service, the consumers of its
//! event group and the senders.

use steelcare_proto::notify::v1::notify_service_server::NotifyServiceServer;
use steelcare_runtime::mount::Wiring;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;

use crate::channels::{Channels, Kind};
use crate::{Notifier, NotifyService, send, worker};

/// Starts notify's consumers and sender and adds its service to `routes`; answers its name,
/// or what in `[notify]` cannot be used.
pub fn mount(w: &Wiring, routes: &mut RoutesBuilder) -> Result<&'static str, String> {
    let name = <NotifyServiceServer<NotifyService> as NamedService>::NAME;
    let settings = w.settings.notify.clone();
    let channels = Channels::from_settings(&settings)?;
    let notifier = Notifier::new(
        w.db.clone(),
        settings,
        (w.settings.intake.timezone, w.settings.server.default_locale),
        channels,
        w.drain.clone(),
    );
    let consumer = notifier.clone();
    w.spawn_batch_consumers(
        name,
        worker::CONSUMER_GROUP,
        notifier.settings.consumers,
        move |batch| {
            let notifier = consumer.clone();
            async move { worker::handle_events(&notifier, batch).await }
        },
    );
    let reminders = notifier.clone();
    w.supervisor.spawn(name, "notify-reminders", move |stop| {
        crate::reminders::run_reminders(reminders.clone(), stop)
    });
    // A sender per channel that sends (one not configured here makes its deliveries dead).
    for channel in [Kind::Email, Kind::Sms, Kind::Webhook] {
        let sender = notifier.clone();
        w.supervisor.spawn(
            name,
            format!("notify-sender-{}", channel.as_str()),
            move |stop| send::run_sender(sender.clone(), channel, stop),
        );
    }
    routes.add_service(InterceptedService::new(
        NotifyServiceServer::new(notifier)
            .max_decoding_message_size(w.max_message())
            .max_encoding_message_size(w.max_message()),
        w.interceptor.clone(),
    ));
    Ok(name)
}
