//! The intake service end to end: projects and warranty, tickets with acceptance numbers,
//! classification, SLA clocks and escalation, attachments, visibility, bad input.

use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};
use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::intake::v1 as pb;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_store::entity::{outbox, tickets};
use steelcare_tests::{TestApp, authed, backends, spawn_app, spawn_app_with};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub(crate) struct Desk {
    pub(crate) client: IntakeServiceClient<Channel>,
    pub(crate) agent: String,
    pub(crate) customer_id: String,
    pub(crate) customer: String,
    pub(crate) project_id: String,
}

fn date(year: i32, month: i32, day: i32) -> common::Date {
    common::Date { year, month, day }
}

fn person(name: &str, phone: &str) -> common::PersonRef {
    common::PersonRef {
        display_name: name.into(),
        phone: phone.into(),
        ..Default::default()
    }
}

pub(crate) async fn create_customer(
    client: &mut IntakeServiceClient<Channel>,
    agent: &str,
    name: &str,
) -> String {
    client
        .create_customer(authed(
            pb::CreateCustomerRequest {
                request_id: String::new(),
                organization_name: name.into(),
                contacts: vec![person("Li Wei", "+86 138 0000 0000")],
            },
            agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap()
        .customer_id
}

fn project_request(customer_id: &str, contract: &str) -> pb::RegisterProjectRequest {
    pb::RegisterProjectRequest {
        request_id: String::new(),
        customer_id: customer_id.into(),
        name: "Suzhou logistics warehouse".into(),
        address: Some(common::Address {
            province: "Jiangsu".into(),
            city: "Suzhou".into(),
            ..Default::default()
        }),
        contract_number: contract.into(),
        structure_type: pb::StructureType::PortalFrame as i32,
        completion_acceptance_date: Some(date(2024, 5, 10)),
        technical_lead: Some(person("Zhang San", "13900000000")),
        designer: Some(person("Design Institute", "")),
        warranty_terms: vec![],
        design_service_life_years: 50,
    }
}

pub(crate) async fn desk(app: &TestApp) -> Desk {
    desk_for(app, "Acme Logistics", "HT-2024-001").await
}

/// A desk for a new customer `name` with a project under `contract`.
pub(crate) async fn desk_for(app: &TestApp, name: &str, contract: &str) -> Desk {
    let mut client = IntakeServiceClient::new(app.channel().await);
    let agent = app.token("agent-1", &[Role::Agent], None);
    let customer_id = create_customer(&mut client, &agent, name).await;
    let project_id = client
        .register_project(authed(project_request(&customer_id, contract), &agent))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap()
        .project_id;
    let customer = app.token("cust-1", &[Role::Customer], Some(&customer_id));
    Desk {
        client,
        agent,
        customer_id,
        customer,
        project_id,
    }
}

fn ticket_request(project_id: &str, phenomenon: &str) -> pb::CreateTicketRequest {
    pb::CreateTicketRequest {
        request_id: String::new(),
        channel: pb::Channel::Hotline as i32,
        project_id: project_id.into(),
        reporter: Some(person("Wang Wu", "13800000000")),
        location: Some(pb::StructureLocation {
            description: "north roof, ridge joint".into(),
            grid_axes: "A-C/3-5".into(),
            member_id: String::new(),
        }),
        description: Some(pb::ProblemDescription {
            phenomenon: phenomenon.into(),
            extent: "about 3 m".into(),
            started_time: None,
            accompanying_signs: String::new(),
        }),
        customer_request: "please repair".into(),
        related_case_id: String::new(),
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Who {
    Agent,
    Customer,
}

pub(crate) async fn create(desk: &mut Desk, who: Who, phenomenon: &str) -> pb::Ticket {
    let token = match who {
        Who::Agent => desk.agent.clone(),
        Who::Customer => desk.customer.clone(),
    };
    let request = ticket_request(&desk.project_id, phenomenon);
    created(&mut desk.client, request, &token).await
}

/// The ticket `request` made (or gave back), sent with `token`.
async fn created(
    client: &mut IntakeServiceClient<Channel>,
    request: pb::CreateTicketRequest,
    token: &str,
) -> pb::Ticket {
    client
        .create_ticket(authed(request, token))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap()
}

async fn events_of(app: &TestApp, case_id: &str) -> Vec<Payload> {
    use prost::Message;
    outbox::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.case_id.as_deref() == Some(case_id))
        .filter_map(|row| EventEnvelope::decode(row.payload.as_slice()).ok()?.payload)
        .collect()
}

/// Commits `event` to the outbox as a service would, and publishes it once more directly, as
/// a relay that crashed before marking it would: consumers must apply it once.
async fn deliver_twice(app: &TestApp, event: &EventEnvelope) {
    use prost::Message;
    let tx = steelcare_store::begin_write(&app.db).await.unwrap();
    steelcare_runtime::record::emit(&tx, steelcare_bus::EVENTS_STREAM, event.clone())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.bus
        .events
        .publish(
            steelcare_bus::EVENTS_STREAM,
            &event.event_id,
            &event.encode_to_vec(),
        )
        .await
        .unwrap();
}

pub(crate) fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// A leaning or settling primary member is structural safety (issue 20 §5): P1, round the
/// clock, under the main structure's design-life warranty, never "other" under the two-year
/// term; a leaning fence is not.
#[tokio::test]
async fn a_leaning_column_is_structural_safety_under_the_design_life_warranty() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let column = create(&mut desk, Who::Customer, "隔壁基坑开挖后，2号钢住往外歪了").await;
        assert_eq!(
            column.category,
            common::ProblemCategory::StructuralSafety as i32
        );
        assert_eq!(column.tier, common::SeverityTier::P1Urgent as i32);
        let warranty = column.warranty.unwrap();
        assert_eq!(warranty.scope, pb::WarrantyScope::MainStructure as i32);
        assert!(
            warranty.in_warranty,
            "a 2024 frame is within its design life"
        );
        let evidence = column.suggestion.unwrap().matched_terms;
        assert!(
            evidence.iter().any(|t| t.starts_with("rule: ")),
            "{evidence:?}"
        );
        let fence = create(&mut desk, Who::Customer, "厂区围墙有点倾斜").await;
        assert_eq!(fence.category, common::ProblemCategory::Other as i32);
        assert_eq!(fence.tier, common::SeverityTier::P3General as i32);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_ticket_gets_a_number_a_classification_warranty_status_and_deadlines() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let ticket = create(&mut desk, Who::Customer, "屋面接缝处漏水，雨天滴水").await;

        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y%m%d")
            .to_string();
        assert_eq!(
            ticket.acceptance_number,
            format!("SC-{today}-0001"),
            "{}",
            backend.name()
        );
        assert_eq!(ticket.state, common::CaseState::Received as i32);
        assert_eq!(ticket.category, common::ProblemCategory::Leakage as i32);
        assert_eq!(ticket.tier, common::SeverityTier::P3General as i32);
        let suggestion = ticket.suggestion.clone().unwrap();
        assert!(
            suggestion.matched_terms.contains(&"漏水".to_owned()),
            "{suggestion:?}"
        );
        let warranty = ticket.warranty.unwrap();
        assert!(
            warranty.in_warranty,
            "a 2024 roof is within its 5-year waterproofing term"
        );
        assert_eq!(warranty.scope, pb::WarrantyScope::Waterproofing as i32);
        assert_eq!(warranty.expiry_date, Some(date(2029, 5, 10)));

        let sla = ticket.sla.unwrap();
        let response = sla.response.unwrap();
        let arrival = sla.arrival.unwrap();
        assert_eq!(response.status, common::SlaStatus::OnTrack as i32);
        let now = chrono::Utc::now().timestamp();
        let response_deadline = response.deadline_time.unwrap().seconds;
        assert!(response_deadline > now, "response deadline in the future");
        assert!(arrival.deadline_time.unwrap().seconds > response_deadline);
        assert!(sla.solution.is_some() && sla.completion.is_some());

        let reply = ticket.reply.clone().unwrap();
        assert_eq!(reply.acceptance_number, ticket.acceptance_number);
        assert_eq!(
            reply.response_deadline_time.unwrap().seconds,
            response_deadline
        );
        assert!(
            reply.media_requested,
            "no photos yet: the reply asks for them"
        );
        // No accept-language: the reply is in the deployment's default, Chinese.
        assert!(
            reply.customer_actions.iter().any(|a| a.contains("照片")),
            "{reply:?}"
        );
        assert!(!reply.next_steps.is_empty());

        let events = events_of(&app, &ticket.ticket_id).await;
        assert!(matches!(events[0], Payload::TicketCreated(_)), "{events:?}");
        assert!(
            matches!(&events[1], Payload::TicketClassified(c) if c.needs_site_visit && c.arrival_deadline_time.is_some())
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_retry_returns_the_same_ticket_and_a_reused_id_is_refused() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let mut request = ticket_request(&desk.project_id, "钢梁裂缝");
        request.request_id = "req-42".into();
        let first = created(&mut desk.client, request.clone(), &desk.agent).await;
        let again = created(&mut desk.client, request.clone(), &desk.agent).await;
        assert_eq!(again.ticket_id, first.ticket_id);
        assert_eq!(again.acceptance_number, first.acceptance_number);
        request.customer_request = "something else".into();
        let err = desk
            .client
            .create_ticket(authed(request, &desk.agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists, "{}", backend.name());
        assert_eq!(tickets::Entity::find().count(&app.db).await.unwrap(), 1);

        // Retries racing each other still make one ticket, and every caller gets it.
        let mut racing = ticket_request(&desk.project_id, "檩条下挠");
        racing.request_id = "req-race".into();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let mut client = desk.client.clone();
            let request = authed(racing.clone(), &desk.agent);
            tasks.push(tokio::spawn(
                async move { client.create_ticket(request).await },
            ));
        }
        let mut ids = std::collections::BTreeSet::new();
        for task in tasks {
            let ticket = task.await.unwrap().unwrap().into_inner().ticket.unwrap();
            ids.insert(ticket.ticket_id);
        }
        assert_eq!(ids.len(), 1, "{}: {ids:?}", backend.name());
        assert_eq!(tickets::Entity::find().count(&app.db).await.unwrap(), 2);

        // Another caller's request id is theirs alone.
        let other = app.token("agent-2", &[Role::Agent], None);
        let mut theirs = ticket_request(&desk.project_id, "钢梁裂缝");
        theirs.request_id = "req-42".into();
        let separate = created(&mut desk.client, theirs, &other).await;
        assert_ne!(separate.ticket_id, first.ticket_id);
        app.stop().await.unwrap();
    }
}

/// A create no longer looks its request id up before it is checked, so a retry that would now
/// be refused (its project is another customer's since) still gets the ticket it made; a new
/// request is refused.
#[tokio::test]
async fn a_retry_gets_its_ticket_even_when_the_create_would_now_be_refused() {
    use sea_orm::{ActiveModelTrait, Set};
    use steelcare_store::entity::projects;
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let mut request = ticket_request(&desk.project_id, "钢梁裂缝");
        request.request_id = "cust-req-1".into();
        let first = created(&mut desk.client, request.clone(), &desk.customer).await;
        let other = desk_for(&app, "Binhai Cold Storage", "HT-2024-777").await;
        projects::ActiveModel {
            id: Set(desk.project_id.clone()),
            customer_id: Set(other.customer_id.clone()),
            ..Default::default()
        }
        .update(&app.db)
        .await
        .unwrap();
        let again = created(&mut desk.client, request.clone(), &desk.customer).await;
        assert_eq!(again.ticket_id, first.ticket_id, "{}", backend.name());
        request.request_id = "cust-req-2".into();
        let refused = desk
            .client
            .create_ticket(authed(request, &desk.customer))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{}", backend.name());
        assert_eq!(tickets::Entity::find().count(&app.db).await.unwrap(), 1);
        app.stop().await.unwrap();
    }
}

/// Concurrent creates for several projects are read and written in groups: each ticket still
/// gets its own project's customer, a missing project is NOT_FOUND for its caller only, and a
/// warranty change committed before a create is what that create sees.
#[tokio::test]
async fn grouped_creates_each_see_their_own_project() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut ours = desk(&app).await;
        let theirs = desk_for(&app, "Binhai Cold Storage", "HT-2024-888").await;
        let mut tasks = Vec::new();
        for i in 0..24 {
            let mut client = ours.client.clone();
            let project = match i % 3 {
                0 => ours.project_id.clone(),
                1 => theirs.project_id.clone(),
                _ => "no-such-project".to_owned(),
            };
            let request = ticket_request(&project, &format!("螺栓松动 #{i}"));
            let token = ours.agent.clone();
            tasks.push(tokio::spawn(async move {
                (
                    project,
                    client
                        .create_ticket(authed(request, &token))
                        .await
                        .map(|r| r.into_inner().ticket.unwrap()),
                )
            }));
        }
        for task in tasks {
            let (project, answer) = task.await.unwrap();
            match answer {
                Ok(ticket) => {
                    assert_eq!(ticket.project_id, project, "{}", backend.name());
                    let customer = if project == ours.project_id {
                        &ours.customer_id
                    } else {
                        &theirs.customer_id
                    };
                    assert_eq!(&ticket.customer_id, customer, "{}", backend.name());
                }
                Err(status) => {
                    assert_eq!(project, "no-such-project", "{status:?}");
                    assert_eq!(status.code(), Code::NotFound);
                }
            }
        }
        // Terms replaced, then a ticket: it is judged by the new terms (the roof's five years
        // counted from 2020 ended in 2025).
        let before = create(&mut ours, Who::Agent, "屋面接缝处漏水").await;
        assert!(before.warranty.unwrap().in_warranty);
        ours.client
            .set_warranty_terms(authed(
                pb::SetWarrantyTermsRequest {
                    project_id: ours.project_id.clone(),
                    warranty_terms: vec![pb::WarrantyTerm {
                        scope: pb::WarrantyScope::Waterproofing as i32,
                        start_date: Some(date(2020, 1, 1)),
                        months: 60,
                        ..Default::default()
                    }],
                },
                &ours.agent,
            ))
            .await
            .unwrap();
        let after = create(&mut ours, Who::Agent, "屋面接缝处漏水").await;
        assert!(
            !after.warranty.unwrap().in_warranty,
            "{}: the new terms apply at once",
            backend.name()
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_creates_get_distinct_consecutive_numbers() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let desk = desk(&app).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let mut client = desk.client.clone();
            let request = ticket_request(&desk.project_id, &format!("螺栓松动 #{i}"));
            let token = desk.agent.clone();
            tasks.push(tokio::spawn(async move {
                client
                    .create_ticket(authed(request, &token))
                    .await
                    .map(|r| r.into_inner().ticket.unwrap().acceptance_number)
            }));
        }
        let mut sequences = Vec::new();
        for task in tasks {
            let number = task.await.unwrap().unwrap();
            sequences.push(number.rsplit('-').next().unwrap().parse::<u32>().unwrap());
        }
        sequences.sort();
        assert_eq!(
            sequences,
            (1..=20).collect::<Vec<_>>(),
            "{}",
            backend.name()
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn bad_tickets_are_refused_with_field_violations_and_nothing_is_stored() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let err = desk
            .client
            .create_ticket(authed(pb::CreateTicketRequest::default(), &desk.agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let f = fields(&err);
        for expected in [
            "channel",
            "project_id",
            "reporter.phone",
            "location.description",
            "description.phenomenon",
        ] {
            assert!(f.contains(&expected.to_owned()), "{expected} not in {f:?}");
        }
        let err = desk
            .client
            .create_ticket(authed(
                ticket_request("no-such-project", "漏水"),
                &desk.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);

        // A customer reporting on another customer's project.
        let other_id = create_customer(&mut desk.client, &desk.agent.clone(), "Other Co").await;
        let other = app.token("cust-2", &[Role::Customer], Some(&other_id));
        let err = desk
            .client
            .create_ticket(authed(ticket_request(&desk.project_id, "漏水"), &other))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(fields(&err), ["project_id"]);
        let technician = app.token("t", &[Role::Technician], None);
        let err = desk
            .client
            .create_ticket(authed(
                ticket_request(&desk.project_id, "漏水"),
                &technician,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(
            tickets::Entity::find().count(&app.db).await.unwrap(),
            0,
            "{}",
            backend.name()
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn customers_see_only_their_own_organisation() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let mine = create(&mut desk, Who::Customer, "涂层脱落").await;
        let other_id = create_customer(&mut desk.client, &desk.agent.clone(), "Other Co").await;
        let other = app.token("cust-2", &[Role::Customer], Some(&other_id));
        let err = desk
            .client
            .get_ticket(authed(
                pb::GetTicketRequest {
                    ticket_id: mine.ticket_id.clone(),
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{}", backend.name());
        let listed = desk
            .client
            .list_tickets(authed(pb::ListTicketsRequest::default(), &other))
            .await
            .unwrap()
            .into_inner();
        assert!(listed.tickets.is_empty());
        let err = desk
            .client
            .list_tickets(authed(
                pb::ListTicketsRequest {
                    customer_id: desk.customer_id.clone(),
                    ..Default::default()
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let own = desk
            .client
            .get_ticket(authed(
                pb::GetTicketRequest {
                    ticket_id: mine.acceptance_number.clone(),
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(own.ticket_id, mine.ticket_id, "lookup by acceptance number");
        let err = desk
            .client
            .get_project(authed(
                pb::GetProjectRequest {
                    project_id: desk.project_id.clone(),
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn an_agent_override_recomputes_deadlines_and_is_audited() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let ticket = create(&mut desk, Who::Agent, "屋面接缝处漏水").await;
        let before = ticket
            .sla
            .unwrap()
            .response
            .unwrap()
            .deadline_time
            .unwrap()
            .seconds;
        let err = desk
            .client
            .classify_ticket(authed(
                pb::ClassifyTicketRequest {
                    ticket_id: ticket.ticket_id.clone(),
                    category: common::ProblemCategory::StructuralSafety as i32,
                    tier: common::SeverityTier::P1Urgent as i32,
                    reason: String::new(),
                },
                &desk.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["reason"]);
        let classified = desk
            .client
            .classify_ticket(authed(
                pb::ClassifyTicketRequest {
                    ticket_id: ticket.ticket_id.clone(),
                    category: common::ProblemCategory::StructuralSafety as i32,
                    tier: common::SeverityTier::P1Urgent as i32,
                    reason: "water reached the column base; crack found on call-back".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(classified.tier, common::SeverityTier::P1Urgent as i32);
        let created = classified.create_time.unwrap().seconds;
        let response = classified
            .sla
            .unwrap()
            .response
            .unwrap()
            .deadline_time
            .unwrap()
            .seconds;
        assert_eq!(
            response - created,
            2 * 3600,
            "P1 responds within 2 h round the clock"
        );
        assert!(response <= before || before - created >= 2 * 3600);
        assert!(classified.reply.unwrap().customer_actions[0].contains("请疏散"));
        let audit = steelcare_store::audit::list(
            &app.db,
            &steelcare_store::audit::AuditFilter {
                entity_id: Some(ticket.ticket_id.clone()),
                ..Default::default()
            },
            10,
            "",
        )
        .await
        .unwrap()
        .0;
        assert!(
            audit
                .iter()
                .any(|a| a.after_summary.contains("crack found on call-back")),
            "{}",
            backend.name()
        );

        desk.client
            .cancel_ticket(authed(
                pb::CancelTicketRequest {
                    ticket_id: ticket.ticket_id.clone(),
                    reason: "duplicate of another report".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap();
        let err = desk
            .client
            .classify_ticket(authed(
                pb::ClassifyTicketRequest {
                    ticket_id: ticket.ticket_id.clone(),
                    category: common::ProblemCategory::Leakage as i32,
                    tier: common::SeverityTier::P3General as i32,
                    reason: "again".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(steelcare_tests::refused_state(&err), "CANCELLED", "{err:?}");
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn acknowledging_stops_the_response_clock_and_readback_is_recorded_once() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let ticket = create(&mut desk, Who::Agent, "檩条下挠").await;
        let ack = desk
            .client
            .acknowledge_ticket(authed(
                pb::AcknowledgeTicketRequest {
                    ticket_id: ticket.ticket_id.clone(),
                    response_text: "Engineer Zhao called back; survey being planned".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(ack.state, common::CaseState::Acknowledged as i32);
        let response = ack.sla.unwrap().response.unwrap();
        assert_eq!(
            response.status,
            common::SlaStatus::Met as i32,
            "{}",
            backend.name()
        );
        assert!(response.stop_time.is_some());
        assert!(ack.first_response_text.contains("Zhao"));
        let err = desk
            .client
            .acknowledge_ticket(authed(
                pb::AcknowledgeTicketRequest {
                    ticket_id: ticket.ticket_id.clone(),
                    response_text: String::new(),
                },
                &desk.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(
            steelcare_tests::refused_state(&err),
            "ACKNOWLEDGED",
            "{err:?}"
        );

        let readback = pb::ConfirmReadbackRequest {
            ticket_id: ticket.ticket_id.clone(),
            readback_text: "Purlin sag at A-C/3-5, about 3 m; you ask for a repair".into(),
            confirm_time: None,
        };
        let confirmed = desk
            .client
            .confirm_readback(authed(readback.clone(), &desk.agent))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert!(confirmed.readback_confirm_time.is_some());
        assert!(confirmed.readback_text.contains("Purlin sag"));
        let err = desk
            .client
            .confirm_readback(authed(readback, &desk.agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let events = events_of(&app, &ticket.ticket_id).await;
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Payload::TicketAcknowledged(a) if a.response_met))
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Payload::ReadbackConfirmed(_)))
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn pausing_holds_the_clocks_and_resuming_moves_deadlines_later() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let ticket = create(&mut desk, Who::Agent, "钢柱出现裂缝").await;
        assert_eq!(ticket.tier, common::SeverityTier::P1Urgent as i32);
        let before = ticket
            .sla
            .unwrap()
            .arrival
            .unwrap()
            .deadline_time
            .unwrap()
            .seconds;
        let paused = desk
            .client
            .pause_sla(authed(
                pb::PauseSlaRequest {
                    ticket_id: ticket.ticket_id.clone(),
                    reason: "waiting for site access".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        let sla = paused.sla.unwrap();
        assert!(sla.paused);
        assert_eq!(
            sla.arrival.unwrap().status,
            common::SlaStatus::Paused as i32
        );
        assert!(
            sla.arrival.unwrap().deadline_time.is_none(),
            "no deadline while paused"
        );
        let err = desk
            .client
            .pause_sla(authed(
                pb::PauseSlaRequest {
                    ticket_id: ticket.ticket_id.clone(),
                    reason: "again".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{}", backend.name());
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let resumed = desk
            .client
            .resume_sla(authed(
                pb::ResumeSlaRequest {
                    ticket_id: ticket.ticket_id.clone(),
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        let sla = resumed.sla.unwrap();
        assert!(!sla.paused);
        let after = sla.arrival.unwrap().deadline_time.unwrap().seconds;
        assert!(
            after - before >= 2,
            "deadline moved by the paused time: {before} -> {after}"
        );
        let err = desk
            .client
            .resume_sla(authed(
                pb::ResumeSlaRequest {
                    ticket_id: ticket.ticket_id.clone(),
                },
                &desk.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_consultation_needs_no_visit_and_is_resolved_remotely() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let question = create(&mut desk, Who::Customer, "请问屋面多久需要维护一次？").await;
        assert_eq!(
            question.category,
            common::ProblemCategory::UsageConsultation as i32
        );
        assert_eq!(question.tier, common::SeverityTier::P4Consultation as i32);
        let sla = question.sla.unwrap();
        assert!(sla.arrival.is_none(), "no site visit for a consultation");
        assert!(!question.reply.clone().unwrap().media_requested);
        let leak = create(&mut desk, Who::Customer, "漏水").await;
        let err = desk
            .client
            .resolve_remotely(authed(
                pb::ResolveRemotelyRequest {
                    ticket_id: leak.ticket_id.clone(),
                    answer: "n/a".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{}", backend.name());
        let resolved = desk
            .client
            .resolve_remotely(authed(
                pb::ResolveRemotelyRequest {
                    ticket_id: question.ticket_id.clone(),
                    answer: "Inspect the roof twice a year and after typhoons".into(),
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(resolved.state, common::CaseState::ResolvedRemotely as i32);
        assert!(resolved.closing_text.contains("twice a year"));
        let sla = resolved.sla.unwrap();
        assert_eq!(sla.response.unwrap().status, common::SlaStatus::Met as i32);
        assert_eq!(sla.solution.unwrap().status, common::SlaStatus::Met as i32);
        assert_eq!(resolved.sla_status, common::SlaStatus::Met as i32);
        app.stop().await.unwrap();
    }
}

pub(crate) async fn upload(
    client: &mut IntakeServiceClient<Channel>,
    token: &str,
    ticket_id: &str,
    content_type: &str,
    chunks: Vec<Vec<u8>>,
) -> Result<common::AttachmentRef, tonic::Status> {
    let mut messages = vec![pb::UploadAttachmentRequest {
        part: Some(pb::upload_attachment_request::Part::Metadata(
            pb::AttachmentMetadata {
                ticket_id: ticket_id.into(),
                file_name: "gable.jpg".into(),
                content_type: content_type.into(),
                caption: "north gable, axis A/3".into(),
                request_id: String::new(),
            },
        )),
    }];
    messages.extend(chunks.into_iter().map(|c| pb::UploadAttachmentRequest {
        part: Some(pb::upload_attachment_request::Part::Chunk(c)),
    }));
    client
        .upload_attachment(authed(tokio_stream::iter(messages), token))
        .await
        .map(|r| r.into_inner().attachment.unwrap())
}

#[tokio::test]
async fn attachments_stream_in_and_out_with_their_sha256() {
    use sha2::{Digest, Sha256};
    use tokio_stream::StreamExt;
    for backend in backends() {
        let app =
            spawn_app_with(&backend, &[("STEELCARE__ATTACHMENTS__MAX_BYTES", "200000")]).await;
        let mut desk = desk(&app).await;
        let ticket = create(&mut desk, Who::Customer, "柱脚锈蚀").await;
        // A JPEG's signature, then anything.
        let bytes: Vec<u8> = b"\xff\xd8\xff\xe0\0\x10JFIF\0"
            .iter()
            .copied()
            .chain((0..149_989u32).map(|i| (i % 251) as u8))
            .collect();
        let chunks = bytes.chunks(60_000).map(<[u8]>::to_vec).collect();
        let stored = upload(
            &mut desk.client,
            &desk.customer.clone(),
            &ticket.ticket_id,
            "image/jpeg",
            chunks,
        )
        .await
        .unwrap();
        assert_eq!(
            stored.sha256,
            hex::encode(Sha256::digest(&bytes)),
            "{}",
            backend.name()
        );
        assert_eq!(stored.size_bytes, 150_000);

        let seen = desk
            .client
            .get_ticket(authed(
                pb::GetTicketRequest {
                    ticket_id: ticket.ticket_id.clone(),
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(seen.attachments.len(), 1);
        assert!(
            !seen.reply.unwrap().media_requested,
            "photos arrived: no longer requested"
        );

        let mut stream = desk
            .client
            .download_attachment(authed(
                pb::DownloadAttachmentRequest {
                    attachment_id: stored.attachment_id.clone(),
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner();
        let mut downloaded = Vec::new();
        let mut metadata = None;
        while let Some(message) = stream.next().await {
            match message.unwrap().part.unwrap() {
                pb::download_attachment_response::Part::Metadata(m) => metadata = Some(m),
                pb::download_attachment_response::Part::Chunk(c) => downloaded.extend(c),
            }
        }
        assert_eq!(metadata.unwrap().sha256, stored.sha256);
        assert_eq!(downloaded, bytes);

        let err = upload(
            &mut desk.client,
            &desk.customer.clone(),
            &ticket.ticket_id,
            "application/x-msdownload",
            vec![vec![1, 2, 3]],
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(fields(&err), ["metadata.content_type"]);
        let too_big = vec![vec![0u8; 120_000], vec![0u8; 120_000]];
        let err = upload(
            &mut desk.client,
            &desk.customer.clone(),
            &ticket.ticket_id,
            "image/png",
            too_big,
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::OutOfRange);
        assert!(err.message().contains("200000"), "{}", err.message());
        // The declared type is checked against the bytes: a Windows program is no PNG, and
        // a JPEG is no PDF.
        let program = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
        for (declared, content, says) in [
            ("image/png", program, "program"),
            ("application/pdf", bytes[..4096].to_vec(), "image/jpeg"),
        ] {
            let err = upload(
                &mut desk.client,
                &desk.customer.clone(),
                &ticket.ticket_id,
                declared,
                vec![content],
            )
            .await
            .unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{declared}");
            assert_eq!(fields(&err), ["metadata.content_type"]);
            assert!(err.message().contains(says), "{}", err.message());
        }
        let count = steelcare_store::entity::attachments::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(count, 1, "refused uploads store nothing");
        let other_id = create_customer(&mut desk.client, &desk.agent.clone(), "Other Co").await;
        let other = app.token("cust-2", &[Role::Customer], Some(&other_id));
        let err = desk
            .client
            .download_attachment(authed(
                pb::DownloadAttachmentRequest {
                    attachment_id: stored.attachment_id.clone(),
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn tickets_list_by_filter_in_stable_pages() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let agent = desk.agent.clone();
        let mut leaks = Vec::new();
        for i in 0..5 {
            leaks.push(
                create(&mut desk, Who::Agent, &format!("漏水 {i}"))
                    .await
                    .ticket_id,
            );
        }
        let crack = create(&mut desk, Who::Agent, "钢梁裂缝").await;
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = desk
                .client
                .list_tickets(authed(
                    pb::ListTicketsRequest {
                        page_size: 2,
                        page_token: token.clone(),
                        categories: vec![common::ProblemCategory::Leakage as i32],
                        ..Default::default()
                    },
                    &agent,
                ))
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.tickets.into_iter().map(|t| t.ticket_id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen, leaks, "{}", backend.name());
        let urgent = desk
            .client
            .list_tickets(authed(
                pb::ListTicketsRequest {
                    tiers: vec![common::SeverityTier::P1Urgent as i32],
                    states: vec![common::CaseState::Received as i32],
                    sla_status: common::SlaStatus::OnTrack as i32,
                    ..Default::default()
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(urgent.tickets.len(), 1);
        assert_eq!(urgent.tickets[0].ticket_id, crack.ticket_id);
        let created = crack.create_time.unwrap();
        let in_range = |start: i64, end: i64| pb::ListTicketsRequest {
            create_time_range: Some(common::TimeRange {
                start_time: Some(prost_types::Timestamp {
                    seconds: start,
                    nanos: 0,
                }),
                end_time: Some(prost_types::Timestamp {
                    seconds: end,
                    nanos: 0,
                }),
            }),
            ..Default::default()
        };
        let all = desk
            .client
            .list_tickets(authed(
                in_range(created.seconds - 600, created.seconds + 600),
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(all.tickets.len(), 6);
        let none = desk
            .client
            .list_tickets(authed(
                in_range(created.seconds + 600, created.seconds + 1200),
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(none.tickets.is_empty());
        let err = desk
            .client
            .list_tickets(authed(
                pb::ListTicketsRequest {
                    tiers: vec![42],
                    ..Default::default()
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["tiers[0]"]);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn watching_a_ticket_streams_its_changes() {
    use tokio_stream::StreamExt;
    let app = spawn_app(&steelcare_tests::Backend::Embedded).await;
    let mut desk = desk(&app).await;
    let ticket = create(&mut desk, Who::Customer, "漏水").await;
    let mut stream = desk
        .client
        .watch_ticket(authed(
            pb::WatchTicketRequest {
                ticket_id: ticket.ticket_id.clone(),
                watch_mask: None,
            },
            &desk.customer,
        ))
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(
        first.ticket.unwrap().state,
        common::CaseState::Received as i32
    );
    desk.client
        .acknowledge_ticket(authed(
            pb::AcknowledgeTicketRequest {
                ticket_id: ticket.ticket_id.clone(),
                response_text: "on it".into(),
            },
            &desk.agent,
        ))
        .await
        .unwrap();
    let change = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a change within 5 s")
        .unwrap()
        .unwrap();
    assert_eq!(
        change.ticket.unwrap().state,
        common::CaseState::Acknowledged as i32
    );
    assert!(
        change.changed_fields.contains(&"state".to_owned()),
        "{:?}",
        change.changed_fields
    );
    assert!(change.changed_fields.contains(&"sla".to_owned()));
    app.stop().await.unwrap();
}

const FAST_P1: [(&str, &str); 2] = [
    ("STEELCARE__INTAKE__SLA__P1__RESPONSE", "2s"),
    ("STEELCARE__INTAKE__WATCHER_INTERVAL_MS", "100"),
];

fn sla_events(events: &[Payload]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Payload::SlaAtRisk(r) if r.clock == 1 => Some(format!("at_risk:{}", r.threshold)),
            Payload::SlaBreached(b) if b.clock == 1 => Some("breached".to_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn escalations_fire_exactly_once_each_even_across_a_restart() {
    for backend in backends() {
        let app = spawn_app_with(&backend, &FAST_P1).await;
        let mut desk = desk(&app).await;
        let early = create(&mut desk, Who::Agent, "钢梁断裂").await;
        tokio::time::sleep(Duration::from_millis(3500)).await;
        assert_eq!(
            sla_events(&events_of(&app, &early.ticket_id).await),
            ["at_risk:0.5", "at_risk:0.8", "breached"],
            "{}",
            backend.name()
        );
        // A second ticket whose thresholds all pass while no process runs.
        let late = create(&mut desk, Who::Agent, "钢柱失稳").await;
        let app = app.restart(Duration::from_millis(2500)).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            sla_events(&events_of(&app, &late.ticket_id).await),
            ["at_risk:0.5", "at_risk:0.8", "breached"],
            "{}",
            backend.name()
        );
        assert_eq!(
            sla_events(&events_of(&app, &early.ticket_id).await).len(),
            3,
            "no alert repeats after the restart"
        );
        let mut client = IntakeServiceClient::new(app.channel().await);
        let seen = client
            .get_ticket(authed(
                pb::GetTicketRequest {
                    ticket_id: late.ticket_id.clone(),
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(seen.sla_status, common::SlaStatus::Breached as i32);
        let response = seen.sla.unwrap().response.unwrap();
        assert_eq!(response.status, common::SlaStatus::Breached as i32);
        assert_eq!(response.breach_time, response.deadline_time);
        let breached = client
            .list_tickets(authed(
                pb::ListTicketsRequest {
                    sla_status: common::SlaStatus::Breached as i32,
                    ..Default::default()
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(breached.tickets.len(), 2);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn arrival_reported_on_the_bus_stops_the_arrival_clock_once() {
    use steelcare_proto::events::v1 as events;
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let ticket = create(&mut desk, Who::Agent, "高强螺栓松动").await;
        let arrived = steelcare_runtime::record::envelope(
            steelcare_proto::common::v1::Actor {
                subject: "tech-1".into(),
                ..Default::default()
            },
            Some(&ticket.ticket_id),
            Payload::TechnicianArrived(events::TechnicianArrived {
                assignment_id: "a-1".into(),
                arrival_met: true,
                // Reported late: the clock stops when the technician arrived.
                arrive_time: ticket.create_time,
            }),
        );
        // The same event delivered twice must be applied once.
        deliver_twice(&app, &arrived).await;
        let arrival = steelcare_tests::stopped_arrival_clock(
            &mut desk.client,
            &ticket.ticket_id,
            &desk.agent,
        )
        .await;
        assert_eq!(
            arrival.status,
            common::SlaStatus::Met as i32,
            "{}",
            backend.name()
        );
        let millis = |t: Option<prost_types::Timestamp>| {
            t.map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
        };
        assert_eq!(
            millis(arrival.stop_time),
            millis(ticket.create_time),
            "{}",
            backend.name()
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn projects_keep_warranty_terms_dossier_and_trainings() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let agent = desk.agent.clone();
        let project = desk
            .client
            .get_project(authed(
                pb::GetProjectRequest {
                    project_id: desk.project_id.clone(),
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .project
            .unwrap();
        let scopes: Vec<i32> = project.warranty_terms.iter().map(|t| t.scope).collect();
        assert_eq!(scopes.len(), 4, "statutory defaults: {scopes:?}");
        let main = project
            .warranty_terms
            .iter()
            .find(|t| t.scope == pb::WarrantyScope::MainStructure as i32)
            .unwrap();
        assert_eq!(main.months, 600);
        assert_eq!(main.expiry_date, Some(date(2074, 5, 10)));
        assert!(!project.dossier_complete);

        let err = desk
            .client
            .set_warranty_terms(authed(
                pb::SetWarrantyTermsRequest {
                    project_id: desk.project_id.clone(),
                    warranty_terms: vec![pb::WarrantyTerm {
                        scope: pb::WarrantyScope::Waterproofing as i32,
                        months: 36,
                        ..Default::default()
                    }],
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            fields(&err),
            ["warranty_terms[0].months"],
            "{}",
            backend.name()
        );
        assert!(err.message().contains("60 months"), "{}", err.message());

        let kinds = [
            pb::DossierItemKind::AsBuiltDrawings,
            pb::DossierItemKind::DesignChanges,
            pb::DossierItemKind::MaterialCertificates,
            pb::DossierItemKind::TestReports,
            pb::DossierItemKind::ConcealedWorkRecords,
            pb::DossierItemKind::StructuralAcceptanceRecords,
        ];
        let updated = desk
            .client
            .update_handover_dossier(authed(
                pb::UpdateHandoverDossierRequest {
                    project_id: desk.project_id.clone(),
                    dossier_items: kinds
                        .iter()
                        .map(|k| pb::DossierItem {
                            kind: *k as i32,
                            present: true,
                            document_reference: format!("DMS-{}", *k as i32),
                        })
                        .collect(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            updated.missing_kinds,
            vec![pb::DossierItemKind::OmManual as i32]
        );
        assert!(!updated.project.unwrap().dossier_complete);
        let err = desk
            .client
            .update_handover_dossier(authed(
                pb::UpdateHandoverDossierRequest {
                    project_id: desk.project_id.clone(),
                    dossier_items: vec![pb::DossierItem {
                        kind: pb::DossierItemKind::OmManual as i32,
                        present: true,
                        document_reference: String::new(),
                    }],
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["dossier_items[0].document_reference"]);

        let training = desk
            .client
            .record_training(authed(
                pb::RecordTrainingRequest {
                    project_id: desk.project_id.clone(),
                    training: Some(pb::Training {
                        training_id: String::new(),
                        held_time: Some(prost_types::Timestamp {
                            seconds: chrono::Utc::now().timestamp() - 86_400,
                            nanos: 0,
                        }),
                        trainer: Some(person("Zhang San", "")),
                        attendees: vec![person("Maintenance lead", "")],
                        topics: vec!["inspection points".into(), "emergencies".into()],
                    }),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .training
            .unwrap();
        assert!(!training.training_id.is_empty());
        let project = desk
            .client
            .get_project(authed(
                pb::GetProjectRequest {
                    project_id: desk.project_id.clone(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .project
            .unwrap();
        assert_eq!(project.trainings.len(), 1);

        let err = desk
            .client
            .register_project(authed(
                project_request(&desk.customer_id, "HT-2024-001"),
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists);
        let mut future = project_request(&desk.customer_id, "HT-2099-001");
        future.completion_acceptance_date = Some(date(2099, 1, 1));
        let err = desk
            .client
            .register_project(authed(future, &agent))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["completion_acceptance_date"]);
        let err = desk
            .client
            .register_project(authed(project_request("no-such-customer", "HT-X"), &agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let err = desk
            .client
            .register_project(authed(
                project_request(&desk.customer_id, "HT-Y"),
                &desk.customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn shutdown_lets_a_call_in_flight_finish() {
    let app = spawn_app(&steelcare_tests::Backend::Embedded).await;
    let mut desk = desk(&app).await;
    let ticket = create(&mut desk, Who::Customer, "柱脚锈蚀").await;
    let (parts, stream) = tokio::sync::mpsc::channel(4);
    parts
        .send(pb::UploadAttachmentRequest {
            part: Some(pb::upload_attachment_request::Part::Metadata(
                pb::AttachmentMetadata {
                    ticket_id: ticket.ticket_id.clone(),
                    file_name: "late.jpg".into(),
                    content_type: "image/jpeg".into(),
                    caption: String::new(),
                    request_id: String::new(),
                },
            )),
        })
        .await
        .unwrap();
    let mut client = desk.client.clone();
    let request = authed(
        tokio_stream::wrappers::ReceiverStream::new(stream),
        &desk.customer,
    );
    let upload = tokio::spawn(async move { client.upload_attachment(request).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Shutdown begins while the upload waits for its bytes.
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    parts
        .send(pb::UploadAttachmentRequest {
            part: Some(pb::upload_attachment_request::Part::Chunk(
                b"\xff\xd8\xff\xe0"
                    .iter()
                    .copied()
                    .chain(std::iter::repeat_n(7u8, 996))
                    .collect(),
            )),
        })
        .await
        .unwrap();
    drop(parts);
    let stored = upload.await.unwrap().expect("the call in flight completes");
    assert_eq!(stored.into_inner().attachment.unwrap().size_bytes, 1000);
    stopping.await.unwrap().expect("clean stop after draining");
}

#[tokio::test]
async fn values_no_json_client_could_read_back_are_refused_in_one_place() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let agent = desk.agent.clone();
        // A start time past the year 9999, and one before the year 1.
        for seconds in [253_402_300_800_i64, -62_135_596_801] {
            let mut request = ticket_request(&desk.project_id, "钢梁裂缝");
            if let Some(d) = request.description.as_mut() {
                d.started_time = Some(prost_types::Timestamp { seconds, nanos: 0 });
            }
            let err = desk
                .client
                .create_ticket(authed(request, &agent))
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{}", backend.name());
            assert_eq!(fields(&err), ["description.started_time"]);
        }
        // NUL characters: PostgreSQL text cannot hold them, so neither backend takes them.
        let err = desk
            .client
            .create_ticket(authed(
                ticket_request(&desk.project_id, "漏水\u{0}漏水"),
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{}", backend.name());
        assert_eq!(fields(&err), ["description.phenomenon"]);
        // A date of the year 0, and warranty terms that would end after 9999.
        let mut project = project_request(&desk.customer_id, "HT-BAD-1");
        project.completion_acceptance_date = Some(date(0, 5, 10));
        let err = desk
            .client
            .register_project(authed(project, &agent))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["completion_acceptance_date"]);
        let mut project = project_request(&desk.customer_id, "HT-BAD-2");
        project.warranty_terms = vec![pb::WarrantyTerm {
            scope: steelcare_domain::warranty::WarrantyScope::Other.proto_value(),
            start_date: Some(date(9999, 1, 1)),
            months: 24,
            note: String::new(),
            expiry_date: None,
        }];
        let err = desk
            .client
            .register_project(authed(project, &agent))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["warranty_terms[0].months"]);
        // A megabyte of id is refused with a short message, not echoed into a header too
        // large to send; an unknown id of a plausible length is echoed as a short prefix.
        let err = desk
            .client
            .get_ticket(authed(
                pb::GetTicketRequest {
                    ticket_id: "z".repeat(1 << 20),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{}", backend.name());
        assert_eq!(fields(&err), ["ticket_id"]);
        assert!(err.message().len() < 200, "{}", err.message().len());
        let err = desk
            .client
            .get_ticket(authed(
                pb::GetTicketRequest {
                    ticket_id: "z".repeat(200),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{}", backend.name());
        assert!(err.message().len() < 120, "{}", err.message());
        // Nothing of it was stored, and every list still renders as JSON-safe values.
        let count = steelcare_store::entity::tickets::Entity::find()
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(count, 0);
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_streamed_chunk_past_the_message_limit_is_out_of_range() {
    let app = spawn_app_with(
        &steelcare_tests::Backend::Embedded,
        &[("STEELCARE__SERVER__MAX_MESSAGE_BYTES", "65536")],
    )
    .await;
    let mut desk = desk(&app).await;
    let ticket = create(&mut desk, Who::Customer, "柱脚锈蚀").await;
    let mut chunk = b"\xff\xd8\xff\xe0".to_vec();
    chunk.resize(100_000, 7);
    let err = upload(
        &mut desk.client,
        &desk.customer.clone(),
        &ticket.ticket_id,
        "image/jpeg",
        vec![chunk],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err}");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_survey_diagnosis_reclassifies_the_ticket_and_replans_its_clocks_once() {
    use steelcare_proto::events::v1 as events;
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        // Taken as a P3 leak; the survey finds a failing connection: structural, P1.
        let ticket = create(&mut desk, Who::Agent, "屋面接缝处漏水").await;
        assert_eq!(ticket.tier, common::SeverityTier::P3General as i32);
        let diagnosed = steelcare_runtime::record::envelope(
            steelcare_proto::common::v1::Actor {
                subject: "tech-1".into(),
                ..Default::default()
            },
            Some(&ticket.ticket_id),
            Payload::SurveyReportSubmitted(events::SurveyReportSubmitted {
                report_id: "r-1".into(),
                version: 1,
                category: common::ProblemCategory::StructuralSafety as i32,
                tier: common::SeverityTier::P1Urgent as i32,
                ..Default::default()
            }),
        );
        // Delivered twice, applied once.
        deliver_twice(&app, &diagnosed).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let seen = loop {
            let seen = desk
                .client
                .get_ticket(authed(
                    pb::GetTicketRequest {
                        ticket_id: ticket.ticket_id.clone(),
                    },
                    &desk.agent,
                ))
                .await
                .unwrap()
                .into_inner()
                .ticket
                .unwrap();
            if seen.tier == common::SeverityTier::P1Urgent as i32 {
                break seen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: the diagnosis never reached the ticket",
                backend.name()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            seen.category,
            common::ProblemCategory::StructuralSafety as i32
        );
        // The clocks follow the urgent tier: on site within 24 h, round the clock.
        let arrival = |t: &pb::Ticket| {
            t.sla
                .as_ref()
                .and_then(|s| s.arrival.as_ref())
                .and_then(|c| c.deadline_time)
                .map(|d| d.seconds)
        };
        let created = ticket.create_time.map(|t| t.seconds).unwrap_or(0);
        assert!(arrival(&seen) < arrival(&ticket), "{}", backend.name());
        assert!(arrival(&seen).is_some_and(|d| d <= created + 24 * 3600));
        // Dispatch is told once, as a reclassification.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reclassified: Vec<_> = events_of(&app, &ticket.ticket_id)
            .await
            .into_iter()
            .filter(|p| matches!(p, Payload::TicketClassified(c) if c.overridden && c.tier == common::SeverityTier::P1Urgent as i32))
            .collect();
        assert_eq!(reclassified.len(), 1, "{}", backend.name());
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_recurrence_links_to_the_earlier_case_of_the_same_customer() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut desk = desk(&app).await;
        let earlier = create(&mut desk, Who::Agent, "屋面接缝处漏水").await;
        let request = |related: &str| pb::CreateTicketRequest {
            related_case_id: related.into(),
            ..ticket_request(&desk.project_id, "屋面接缝处又漏水了")
        };
        let recurrence = desk
            .client
            .create_ticket(authed(request(&earlier.ticket_id), &desk.customer))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(
            recurrence.related_case_id,
            earlier.ticket_id,
            "{}",
            backend.name()
        );
        let read = desk
            .client
            .get_ticket(authed(
                pb::GetTicketRequest {
                    ticket_id: recurrence.ticket_id.clone(),
                },
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(read.related_case_id, earlier.ticket_id);
        let created = events_of(&app, &recurrence.ticket_id).await;
        assert!(created.iter().any(|e| matches!(
            e,
            Payload::TicketCreated(t) if t.related_case_id == earlier.ticket_id
        )));
        // An unknown case, or another customer's, is refused with the field named.
        let err = desk
            .client
            .create_ticket(authed(request("no-such-case"), &desk.agent))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["related_case_id"]);
        let other_customer = create_customer(&mut desk.client, &desk.agent, "Other Co").await;
        let other_project = desk
            .client
            .register_project(authed(
                project_request(&other_customer, "HT-2024-999"),
                &desk.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .project
            .unwrap()
            .project_id;
        let err = desk
            .client
            .create_ticket(authed(
                pb::CreateTicketRequest {
                    related_case_id: earlier.ticket_id.clone(),
                    ..ticket_request(&other_project, "屋面漏水")
                },
                &desk.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["related_case_id"]);
        assert!(
            err.message().contains("another customer"),
            "{}",
            err.message()
        );
        app.stop().await.unwrap();
    }
}

/// People pick a customer by name: the list is in name order, paged without gaps or repeats,
/// and a customer reads its own organisation only.
#[tokio::test]
async fn customers_are_listed_by_name_and_a_customer_reads_only_its_own() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut client = IntakeServiceClient::new(app.channel().await);
        let agent = app.token("agent-1", &[Role::Agent], None);
        let mut ids = Vec::new();
        for name in [
            "苏州物流园",
            "Anhui Steel",
            "Zhejiang Cold Store",
            "Beijing Works",
        ] {
            ids.push((name, create_customer(&mut client, &agent, name).await));
        }
        let list = |page_token: String| pb::ListCustomersRequest {
            page_size: 3,
            page_token,
        };
        let first = client
            .list_customers(authed(list(String::new()), &agent))
            .await
            .unwrap()
            .into_inner();
        let second = client
            .list_customers(authed(list(first.next_page_token.clone()), &agent))
            .await
            .unwrap()
            .into_inner();
        assert!(second.next_page_token.is_empty());
        let names: Vec<String> = first
            .customers
            .iter()
            .chain(&second.customers)
            .map(|c| c.organization_name.clone())
            .collect();
        assert_eq!(
            names,
            [
                "Anhui Steel",
                "Beijing Works",
                "Zhejiang Cold Store",
                "苏州物流园"
            ],
            "{}",
            backend.name()
        );
        let own = &ids[2].1;
        let customer = app.token("cust-1", &[Role::Customer], Some(own));
        let seen = client
            .list_customers(authed(list(String::new()), &customer))
            .await
            .unwrap()
            .into_inner()
            .customers;
        assert_eq!(seen.len(), 1);
        assert_eq!(&seen[0].customer_id, own);
        let err = client
            .list_customers(authed(
                pb::ListCustomersRequest {
                    page_size: -1,
                    page_token: String::new(),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        app.stop().await.unwrap();
    }
}
