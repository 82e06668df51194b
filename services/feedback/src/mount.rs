//! What the feedback service runs in a process: its gRPC service and the consumers of its
//! event group; it reaches intake through `intake` (a client of intake's contract).

use steelcare_proto::feedback::v1::feedback_service_server::FeedbackServiceServer;
use steelcare_runtime::mount::Wiring;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::service::interceptor::InterceptedService;

use crate::{Feedback, FeedbackConfig, FeedbackService, IntakeLink, worker};

/// Starts feedback's consumers and adds its service to `routes`; answers its name.
pub fn mount(w: &Wiring, routes: &mut RoutesBuilder, intake: IntakeLink) -> &'static str {
    let name = <FeedbackServiceServer<FeedbackService> as NamedService>::NAME;
    let settings = &w.settings.feedback;
    let feedback = Feedback::new(
        w.db.clone(),
        FeedbackConfig {
            timezone: w.settings.intake.timezone,
            calendar: w.settings.intake.calendar.clone(),
            visit_time: settings.visit_time,
            team: settings.team.clone(),
            verification_days: settings.verification_days,
        },
        intake,
        Some(w.relay_wake.clone()),
    );
    for i in 0..settings.consumers {
        let (feedback, events, consumer, published, redelivery) = (
            feedback.clone(),
            w.bus.events.clone(),
            w.consumer("feedback", i),
            w.published.clone(),
            w.settings.bus.redelivery_idle,
        );
        w.supervisor
            .spawn(name, format!("feedback-consumer-{i}"), move |stop| {
                let (feedback, events, consumer, published) = (
                    feedback.clone(),
                    events.clone(),
                    consumer.clone(),
                    published.clone(),
                );
                async move {
                    let mut options = steelcare_bus::ConsumerOptions::new(
                        steelcare_bus::EVENTS_STREAM,
                        worker::CONSUMER_GROUP,
                        &consumer,
                    );
                    options.wake = Some(published);
                    options.min_idle = redelivery;
                    steelcare_bus::run_batch_consumer(
                        events,
                        options,
                        move |batch| {
                            let feedback = feedback.clone();
                            async move { worker::handle_events(&feedback, batch).await }
                        },
                        stop,
                    )
                    .await
                }
            });
    }
    let rebuilder = feedback.clone();
    w.supervisor.spawn(name, "feedback-facts", move |stop| {
        worker::run_facts_worker(rebuilder.clone(), stop)
    });
    routes.add_service(InterceptedService::new(
        FeedbackServiceServer::new(feedback)
            .max_decoding_message_size(w.max_message())
            .max_encoding_message_size(w.max_message()),
        w.interceptor.clone(),
    ));
    name
}
