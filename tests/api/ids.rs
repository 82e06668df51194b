//! One check of every id a request carries, for every RPC (issue 20 §7): a NUL or another
//! control character in a `request_id` or any `*_id` field, at any depth and in streams, is
//! INVALID_ARGUMENT naming the field, and nothing is stored.

use steelcare_domain::Role;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_proto::integration::v1 as ipb;
use steelcare_proto::integration::v1::integration_service_client::IntegrationServiceClient;
use steelcare_tests::fixtures::customer_request;
use steelcare_tests::{authed, backends, spawn_app};
use tonic::Code;

use crate::repair::fields;

#[tokio::test]
async fn control_characters_in_ids_are_refused_at_their_field_everywhere() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let agent = app.token("agent-1", &[Role::Agent], None);
        let mut intake = IntakeServiceClient::new(app.channel().await);
        // A create's request_id: refused, and no customer is made.
        let err = intake
            .create_customer(authed(customer_request("call\0-1"), &agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{backend:?}");
        assert_eq!(fields(&err), ["request_id"]);
        let listed = intake
            .list_tickets(authed(intake::ListTicketsRequest::default(), &agent))
            .await
            .unwrap()
            .into_inner();
        assert!(listed.tickets.is_empty());
        // A lookup's id, and a nested one.
        let err = intake
            .get_ticket(authed(
                intake::GetTicketRequest {
                    ticket_id: "t\u{1}".into(),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["ticket_id"]);
        let err = intake
            .create_ticket(authed(
                intake::CreateTicketRequest {
                    request_id: "ok-1".into(),
                    project_id: "p\0".into(),
                    related_case_id: "c\0".into(),
                    ..Default::default()
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["project_id", "related_case_id"]);
        // A server stream's filter.
        let system = app.token("erp", &[Role::Integration], None);
        let mut integration = IntegrationServiceClient::new(app.channel().await);
        let err = integration
            .subscribe_events(authed(
                ipb::SubscribeEventsRequest {
                    case_id: "case\0".into(),
                    ..Default::default()
                },
                &system,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(fields(&err), ["case_id"]);
        // An over-long id is refused the same way.
        let err = intake
            .get_ticket(authed(
                intake::GetTicketRequest {
                    ticket_id: "x".repeat(201),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["ticket_id"]);
        app.stop().await.unwrap();
    }
}
