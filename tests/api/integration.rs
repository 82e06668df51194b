//! `SubscribeEvents` end to end: internal systems follow the domain events in the order they
//! were published, filtered by type, case and organisation, and resume from their cursor on
//! any process without losing or repeating an event, also after Redis lost its data;
//! customers get their own organisation's events only.

use std::time::Duration;

use steelcare_domain::Role;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::integration::v1 as pb;
use steelcare_proto::integration::v1::integration_service_client::IntegrationServiceClient;
use steelcare_tests::{TestApp, authed, backends, spawn_app};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::Streaming;
use tonic_types::StatusExt;

use crate::intake::{Who, create, desk, desk_for};

fn request(cursor: &str, types: &[&str]) -> pb::SubscribeEventsRequest {
    pb::SubscribeEventsRequest {
        cursor: cursor.to_owned(),
        from_start: cursor.is_empty(),
        event_types: types.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

async fn subscribe(
    app: &TestApp,
    token: &str,
    request: pb::SubscribeEventsRequest,
) -> Result<Streaming<pb::SubscribeEventsResponse>, tonic::Status> {
    IntegrationServiceClient::new(app.channel().await)
        .subscribe_events(authed(request, token))
        .await
        .map(tonic::Response::into_inner)
}

/// The next `n` events of a stream (each within 15 s).
async fn take(
    stream: &mut Streaming<pb::SubscribeEventsResponse>,
    n: usize,
) -> Vec<pb::SubscribeEventsResponse> {
    let mut out = Vec::new();
    while out.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(15), stream.next())
            .await
            .unwrap_or_else(|_| panic!("event {} of {n} within 15 s; had {out:?}", out.len() + 1))
            .expect("the stream stays open")
            .expect("an event");
        out.push(next);
    }
    out
}

/// Nothing more arrives within `wait`.
async fn quiet(stream: &mut Streaming<pb::SubscribeEventsResponse>, wait: Duration) {
    if let Ok(Some(extra)) = tokio::time::timeout(wait, stream.next()).await {
        panic!("no further event expected, got {extra:?}");
    }
}

fn case_of(event: &pb::SubscribeEventsResponse) -> String {
    event
        .event
        .as_ref()
        .map(|e| e.case_id.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_subscriber_resumes_from_its_cursor_on_another_process_without_loss_or_repeat() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let replica = app.replica(&[]).await;
        let mut desk = desk(&app).await;
        let system = app.token("erp", &[Role::Integration], None);

        let mut first: Vec<String> = Vec::new();
        for i in 0..3 {
            first.push(
                create(&mut desk, Who::Agent, &format!("屋面漏水 {i}"))
                    .await
                    .ticket_id,
            );
        }
        // From the start, on the replica: the three tickets, in the order they were taken.
        let mut stream = subscribe(&replica, &system, request("", &["TicketCreated"]))
            .await
            .unwrap();
        let seen = take(&mut stream, 3).await;
        assert_eq!(
            seen.iter().map(case_of).collect::<Vec<_>>(),
            first,
            "{backend:?}"
        );
        assert!(seen.iter().all(|e| e.event_type == "TicketCreated"));
        let cursors: Vec<i64> = seen.iter().map(|e| e.cursor.parse().unwrap()).collect();
        assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");

        // Live: a ticket taken on the other process arrives on this stream.
        let live = create(&mut desk, Who::Customer, "檩条锈蚀").await.ticket_id;
        let next = take(&mut stream, 1).await;
        assert_eq!(case_of(&next[0]), live);
        let cursor = next[0].cursor.clone();
        drop(stream);

        // While nobody listens, Redis loses its data and more tickets come in.
        crate::dispatch::lose_the_queue(&app).await;
        let mut missed = Vec::new();
        for i in 0..2 {
            missed.push(
                create(&mut desk, Who::Agent, &format!("螺栓松动 {i}"))
                    .await
                    .ticket_id,
            );
        }
        // Resumed on the first process: exactly the missed ones, none again.
        let mut resumed = subscribe(&app, &system, request(&cursor, &["TicketCreated"]))
            .await
            .unwrap();
        let again = take(&mut resumed, 2).await;
        assert_eq!(
            again.iter().map(case_of).collect::<Vec<_>>(),
            missed,
            "{backend:?}"
        );
        quiet(&mut resumed, Duration::from_secs(2)).await;

        // Every type by default: the acknowledgement of one case, with its state change.
        let mut all = subscribe(
            &app,
            &system,
            pb::SubscribeEventsRequest {
                case_id: first[0].clone(),
                from_start: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let mut types = Vec::new();
        for event in take(&mut all, 1).await {
            assert_eq!(case_of(&event), first[0]);
            types.push(event.event_type);
        }
        assert_eq!(types, ["TicketCreated"], "{backend:?}");
        desk.client
            .acknowledge_ticket(authed(
                intake::AcknowledgeTicketRequest {
                    ticket_id: first[0].clone(),
                    response_text: "engineer calls within the hour".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap();
        let mut later: Vec<String> = Vec::new();
        while !later.contains(&"TicketAcknowledged".to_owned()) {
            let event = take(&mut all, 1).await.remove(0);
            assert_eq!(case_of(&event), first[0], "only the case asked for");
            later.push(event.event_type);
        }
        assert!(later.contains(&"CaseStateChanged".to_owned()), "{later:?}");

        replica.stop().await.unwrap();
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn customers_follow_only_their_own_organisation_and_bad_requests_are_named() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut ours = desk(&app).await;
        let mut theirs = desk_for(&app, "Binhai Cold Storage", "HT-2024-777").await;
        let own = create(&mut ours, Who::Customer, "墙面板变形")
            .await
            .ticket_id;
        let other = create(&mut theirs, Who::Customer, "天沟漏水")
            .await
            .ticket_id;
        let own_again = create(&mut ours, Who::Agent, "涂层脱落").await.ticket_id;

        let mut stream = subscribe(&app, &ours.customer, request("", &["TicketCreated"]))
            .await
            .unwrap();
        let seen = take(&mut stream, 2).await;
        assert_eq!(
            seen.iter().map(case_of).collect::<Vec<_>>(),
            [own.clone(), own_again.clone()],
            "{backend:?}: never {other}"
        );
        quiet(&mut stream, Duration::from_secs(1)).await;

        // An integration system may narrow to one organisation.
        let system = app.token("oa", &[Role::Integration], None);
        let mut narrowed = subscribe(
            &app,
            &system,
            pb::SubscribeEventsRequest {
                from_start: true,
                event_types: vec!["TicketCreated".into()],
                organization_id: theirs.customer_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(case_of(&take(&mut narrowed, 1).await[0]), other);
        quiet(&mut narrowed, Duration::from_secs(1)).await;

        let refused = subscribe(
            &app,
            &ours.customer,
            pb::SubscribeEventsRequest {
                organization_id: theirs.customer_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);

        let technician = app.token("t-1", &[Role::Technician], None);
        let refused = subscribe(&app, &technician, request("", &[]))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);

        let bad = subscribe(
            &app,
            &system,
            request("", &["TicketCreated", "ticket_created"]),
        )
        .await
        .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        let fields: Vec<String> = bad
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["event_types[1]"]);

        for cursor in ["abc", "-4", "99999999"] {
            let bad = subscribe(&app, &system, request(cursor, &[]))
                .await
                .unwrap_err();
            assert_eq!(bad.code(), Code::InvalidArgument, "{cursor}");
            let fields: Vec<String> = bad
                .get_details_bad_request()
                .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
                .unwrap_or_default();
            assert_eq!(fields, ["cursor"], "{cursor}");
        }
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn an_open_subscription_ends_when_the_server_stops() {
    let app = spawn_app(&steelcare_tests::Backend::Embedded).await;
    let system = app.token("erp", &[Role::Integration], None);
    let mut stream = subscribe(&app, &system, request("", &[])).await.unwrap();
    let stopped = tokio::spawn(app.stop());
    let end = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream ends within 10 s");
    if let Some(Err(status)) = end {
        assert_eq!(status.code(), Code::Unavailable);
    }
    stopped.await.unwrap().unwrap();
}
