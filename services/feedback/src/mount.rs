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
            search_dir: settings.search_dir.clone(),
        },
        intake,
        Some(w.relay_wake.clone()),
    );
    let consumer = feedback.clone();
    w.spawn_batch_consumers(
        name,
        worker::CONSUMER_GROUP,
        settings.consumers,
        move |batch| {
            let feedback = consumer.clone();
            async move { worker::handle_events(&feedback, batch).await }
        },
    );
    let rebuilder = feedback.clone();
    w.supervisor.spawn(name, "feedback-facts", move |stop| {
        worker::run_facts_worker(rebuilder.clone(), stop)
    });
    let follower = feedback.clone();
    w.supervisor.spawn(name, "feedback-search", move |stop| {
        crate::experience::follow::run(follower.clone(), stop)
    });
    routes.add_service(InterceptedService::new(
        FeedbackServiceServer::new(feedback)
            .max_decoding_message_size(w.max_message())
            .max_encoding_message_size(w.max_message()),
        w.interceptor.clone(),
    ));
    name
}
