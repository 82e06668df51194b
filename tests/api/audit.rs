//! The audit trail over gRPC: newest first, filters, stable pages.

use steelcare_domain::Role;
use steelcare_proto::admin::v1::ListAuditRecordsRequest;
use steelcare_proto::admin::v1::admin_service_client::AdminServiceClient;
use steelcare_store::audit::{self, NewAuditRecord};
use steelcare_tests::{authed, backends, spawn_app};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn audit_records_page_newest_first_and_filter() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let roles = vec!["agent".to_owned()];
        for (i, (entity, subject)) in [
            ("ticket", "ann"),
            ("project", "bob"),
            ("ticket", "ann"),
            ("ticket", "cy"),
            ("ticket", "ann"),
        ]
        .into_iter()
        .enumerate()
        {
            audit::record(
                &app.db,
                NewAuditRecord {
                    subject,
                    roles: &roles,
                    organization_id: None,
                    display_name: None,
                    rpc: "/steelcare.intake.v1.IntakeService/CreateTicket",
                    entity_type: entity,
                    entity_id: &format!("id-{i}"),
                    before: None,
                    after: serde_json::json!({ "n": i }),
                    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
                },
            )
            .await
            .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let mut client = AdminServiceClient::new(app.channel().await);
        let token = app.token("aud", &[Role::Auditor], None);
        let mut ids = Vec::new();
        let mut page_token = String::new();
        let mut pages = 0;
        loop {
            let page = client
                .list_audit_records(authed(
                    ListAuditRecordsRequest {
                        page_size: 2,
                        page_token: page_token.clone(),
                        entity_type: "ticket".into(),
                        ..Default::default()
                    },
                    &token,
                ))
                .await
                .unwrap()
                .into_inner();
            pages += 1;
            assert!(page.audit_records.len() <= 2);
            ids.extend(page.audit_records.iter().map(|r| r.entity_id.clone()));
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        assert_eq!(ids, ["id-4", "id-3", "id-2", "id-0"], "{}", backend.name());
        assert_eq!(pages, 2);

        let ann = client
            .list_audit_records(authed(
                ListAuditRecordsRequest {
                    subject: "ann".into(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ann.audit_records.len(), 3);
        let first = &ann.audit_records[0];
        assert_eq!(first.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(first.actor.as_ref().unwrap().roles, vec!["agent"]);
        assert_eq!(first.after_summary, r#"{"n":4}"#);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn bad_paging_is_invalid_argument_naming_the_field() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut client = AdminServiceClient::new(app.channel().await);
        let token = app.token("aud", &[Role::Auditor], None);
        for (request, field) in [
            (
                ListAuditRecordsRequest {
                    page_size: -1,
                    ..Default::default()
                },
                "page_size",
            ),
            (
                ListAuditRecordsRequest {
                    page_token: "bogus".into(),
                    ..Default::default()
                },
                "page_token",
            ),
        ] {
            let err = client
                .list_audit_records(authed(request, &token))
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument);
            let violations = err.get_error_details().bad_request().cloned().unwrap();
            assert_eq!(violations.field_violations[0].field, field);
        }
        app.stop().await.unwrap();
    }
}
