//! The dispatch service end to end, on both backends: the service team, the queue from a
//! classified ticket to an offer, declines and timeouts, escalation, manual offers, the
//! database's guard against double booking, crashed workers, a flushed queue, survey plans
//! and arrival.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use steelcare_dispatch::{DispatchConfig, Dispatcher};
use steelcare_domain::Role;
use steelcare_domain::dispatch::Skill;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as pb;
use steelcare_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_store::entity::{assignment_offers, audit_log, outbox, technicians};
use steelcare_tests::{Backend, TestApp, authed, backends, in_language, spawn_app_with};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub(crate) const QUEUE: &str = "dispatch";

pub(crate) use steelcare_tests::fixtures::{SITE, date, person, surveyor};
use steelcare_tests::fixtures::{customer_request, project_request};

fn ts(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    steelcare_runtime::convert::to_timestamp(at)
}

pub(crate) struct Office {
    pub(crate) app: TestApp,
    pub(crate) intake: IntakeServiceClient<Channel>,
    pub(crate) dispatch: DispatchServiceClient<Channel>,
    pub(crate) agent: String,
    pub(crate) dispatcher: String,
    pub(crate) customer_id: String,
    pub(crate) project_id: String,
}

impl Office {
    pub(crate) async fn open(backend: &Backend, extra: &[(&str, &str)]) -> Office {
        Office::attach(spawn_app_with(backend, extra).await).await
    }

    /// An office over a running server: an agent and a dispatcher, a customer and a
    /// project in Suzhou.
    pub(crate) async fn attach(app: TestApp) -> Office {
        let mut intake = IntakeServiceClient::new(app.channel().await);
        let dispatch = DispatchServiceClient::new(app.channel().await);
        let agent = app.token("agent-1", &[Role::Agent], None);
        let dispatcher = app.token("dispatcher-1", &[Role::Dispatcher], None);
        let customer_id = intake
            .create_customer(authed(customer_request(""), &agent))
            .await
            .unwrap()
            .into_inner()
            .customer
            .unwrap()
            .customer_id;
        let project_id = intake
            .register_project(authed(project_request("", &customer_id), &agent))
            .await
            .unwrap()
            .into_inner()
            .project
            .unwrap()
            .project_id;
        Office {
            app,
            intake,
            dispatch,
            agent,
            dispatcher,
            customer_id,
            project_id,
        }
    }

    pub(crate) fn tech_token(&self, id: &str) -> String {
        self.app.token(id, &[Role::Technician], None)
    }

    pub(crate) async fn hire(&mut self, t: pb::Technician) -> pb::UpsertTechnicianResponse {
        self.dispatch
            .upsert_technician(authed(
                pb::UpsertTechnicianRequest {
                    technician: Some(t),
                    update_mask: None,
                },
                &self.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    pub(crate) async fn ticket(&mut self, phenomenon: &str) -> String {
        let project_id = self.project_id.clone();
        self.ticket_in(&project_id, phenomenon).await.ticket_id
    }

    /// A ticket taken by the agent, once its assignment waits in the queue.
    pub(crate) async fn waiting_ticket(&mut self, phenomenon: &str) -> String {
        let ticket = self.ticket(phenomenon).await;
        self.wait_for(&ticket, "a waiting job", |a| {
            a.state == pb::AssignmentState::Waiting as i32
        })
        .await;
        ticket
    }

    /// A ticket taken by the agent for `project_id`.
    pub(crate) async fn ticket_in(&mut self, project_id: &str, phenomenon: &str) -> intake::Ticket {
        self.intake
            .create_ticket(authed(
                intake::CreateTicketRequest {
                    request_id: String::new(),
                    channel: intake::Channel::Hotline as i32,
                    project_id: project_id.into(),
                    reporter: Some(person("Wang Wu")),
                    location: Some(intake::StructureLocation {
                        description: "bay 3".into(),
                        ..Default::default()
                    }),
                    description: Some(intake::ProblemDescription {
                        phenomenon: phenomenon.into(),
                        ..Default::default()
                    }),
                    customer_request: "please come".into(),
                    related_case_id: String::new(),
                },
                &self.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap()
    }

    pub(crate) async fn assignment_of(&mut self, ticket_id: &str) -> Option<pb::Assignment> {
        self.dispatch
            .list_assignments(authed(
                pb::ListAssignmentsRequest {
                    ticket_id: ticket_id.into(),
                    ..Default::default()
                },
                &self.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
            .assignments
            .pop()
    }

    /// Polls the ticket's assignment until `done` holds (10 s at most).
    pub(crate) async fn wait_for(
        &mut self,
        ticket_id: &str,
        what: &str,
        done: impl Fn(&pb::Assignment) -> bool,
    ) -> pb::Assignment {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let current = self.assignment_of(ticket_id).await;
            if let Some(a) = &current
                && done(a)
            {
                return a.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: timed out waiting for {what}; last seen {current:?}",
                self.app.backend.name()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn technician(
        &mut self,
        id: &str,
        token: &str,
    ) -> Result<pb::Technician, tonic::Status> {
        self.dispatch
            .get_technician(authed(
                pb::GetTechnicianRequest {
                    technician_id: id.into(),
                },
                token,
            ))
            .await
            .map(|r| r.into_inner().technician.unwrap())
    }

    pub(crate) async fn accept(
        &mut self,
        assignment_id: &str,
        technician: &str,
    ) -> Result<pb::Assignment, tonic::Status> {
        let token = self.tech_token(technician);
        self.dispatch
            .accept_assignment(authed(
                pb::AcceptAssignmentRequest {
                    assignment_id: assignment_id.into(),
                },
                &token,
            ))
            .await
            .map(|r| r.into_inner().assignment.unwrap())
    }

    pub(crate) async fn events(&self, ticket_id: &str) -> Vec<Payload> {
        use prost::Message;
        outbox::Entity::find()
            .filter(outbox::Column::CaseId.eq(ticket_id))
            .all(&self.app.db)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|row| EventEnvelope::decode(row.payload.as_slice()).ok())
            .filter_map(|e| e.payload)
            .collect()
    }
}

/// A technician in Suzhou with the skills for structural problems.
pub(crate) fn roofer(id: &str, certificate_until: common::Date) -> pb::Technician {
    pb::Technician {
        skills: vec![Skill::Waterproofing.proto_value()],
        certificates: vec![pb::Certificate {
            kind: "work_at_height".into(),
            number: format!("WAH-{id}"),
            issuer: "Jiangsu safety board".into(),
            valid_until: Some(certificate_until),
        }],
        ..surveyor(id, 1.0)
    }
}

fn field_names(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_service_team_is_validated_kept_and_shown_to_the_right_people() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        // Every bad field is named, and nothing is stored.
        let mut bad = surveyor("t-bad", 1.0);
        bad.capacity = 0;
        bad.regions.clear();
        bad.skills = vec![42];
        bad.certificates = vec![pb::Certificate {
            kind: "welder".into(),
            ..Default::default()
        }];
        let err = office
            .dispatch
            .upsert_technician(authed(
                pb::UpsertTechnicianRequest {
                    technician: Some(bad),
                    update_mask: None,
                },
                &office.dispatcher,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let fields = field_names(&err);
        for f in [
            "technician.capacity",
            "technician.regions",
            "technician.skills[0]",
            "technician.certificates[0].number",
            "technician.certificates[0].valid_until",
        ] {
            assert!(fields.contains(&f.to_owned()), "{f} not in {fields:?}");
        }
        assert_eq!(
            technicians::Entity::find()
                .count(&office.app.db)
                .await
                .unwrap(),
            0
        );

        // An expired certificate is stored but flagged.
        let hired = office.hire(roofer("t-roof", date(2020, 1, 1))).await;
        assert_eq!(hired.expired_certificates.len(), 1);
        assert_eq!(hired.technician.as_ref().unwrap().regions, ["suzhou"]);
        office.hire(surveyor("t-survey", 2.0)).await;

        // A technician sees themself, not a colleague.
        let own = office.tech_token("t-roof");
        let me = office.technician("t-roof", &own).await.unwrap();
        assert_eq!(me.capacity, 2);
        let err = office.technician("t-survey", &own).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let dispatcher = office.dispatcher.clone();
        let err = office.technician("nobody", &dispatcher).await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound);

        // update_mask changes only the named field; an unknown id with a mask is NOT_FOUND.
        let updated = office
            .dispatch
            .upsert_technician(authed(
                pb::UpsertTechnicianRequest {
                    technician: Some(pb::Technician {
                        technician_id: "t-survey".into(),
                        capacity: 5,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["capacity".into()],
                    }),
                },
                &office.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
            .technician
            .unwrap();
        assert_eq!(updated.capacity, 5);
        assert_eq!(updated.team, "east");
        let err = office
            .dispatch
            .upsert_technician(authed(
                pb::UpsertTechnicianRequest {
                    technician: Some(pb::Technician {
                        technician_id: "t-new".into(),
                        capacity: 5,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["capacity".into()],
                    }),
                },
                &office.dispatcher,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);

        // A technician takes leave themself; the list filters by skill, region and status.
        office
            .dispatch
            .set_availability(authed(
                pb::SetAvailabilityRequest {
                    technician_id: "t-roof".into(),
                    status: pb::TechnicianStatus::OnLeave as i32,
                    leave_periods: vec![],
                },
                &own,
            ))
            .await
            .unwrap();
        let list =
            |skill: Skill, status: pb::TechnicianStatus, region: &str| pb::ListTechniciansRequest {
                skill: skill.proto_value(),
                status: status as i32,
                region: region.into(),
                ..Default::default()
            };
        let found = office
            .dispatch
            .list_technicians(authed(
                list(
                    Skill::Waterproofing,
                    pb::TechnicianStatus::OnLeave,
                    "SUZHOU",
                ),
                &office.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
            .technicians;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].technician_id, "t-roof");
        let none = office
            .dispatch
            .list_technicians(authed(
                list(Skill::Waterproofing, pb::TechnicianStatus::OnDuty, "suzhou"),
                &office.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
            .technicians;
        assert!(none.is_empty());
        // Pages are stable and end.
        let first = office
            .dispatch
            .list_technicians(authed(
                pb::ListTechniciansRequest {
                    page_size: 1,
                    ..Default::default()
                },
                &office.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.technicians[0].technician_id, "t-roof");
        let second = office
            .dispatch
            .list_technicians(authed(
                pb::ListTechniciansRequest {
                    page_size: 1,
                    page_token: first.next_page_token,
                    ..Default::default()
                },
                &office.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(second.technicians[0].technician_id, "t-survey");
        assert!(second.next_page_token.is_empty());
        // Customers and agents do not manage the team.
        let err = office
            .dispatch
            .upsert_technician(authed(
                pb::UpsertTechnicianRequest {
                    technician: Some(surveyor("t-x", 1.0)),
                    update_mask: None,
                },
                &office.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_ticket_reaches_the_best_qualified_technician_and_moves_on_when_declined() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[]).await;
        office.hire(surveyor("t-near", 2.0)).await;
        office.hire(surveyor("t-far", 40.0)).await;
        // Unqualified: no structural skills. Elsewhere: another city.
        office.hire(roofer("t-roofer", date(2030, 1, 1))).await;
        let mut elsewhere = surveyor("t-elsewhere", 0.5);
        elsewhere.regions = vec!["Hangzhou".into()];
        office.hire(elsewhere).await;

        let ticket = office.ticket("钢梁下翼缘出现裂缝").await;
        let offered = office
            .wait_for(&ticket, "the first offer", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        assert_eq!(offered.technician_id, "t-near", "{}", backend.name());
        assert_eq!(offered.tier, common::SeverityTier::P1Urgent as i32);
        let ranking = offered.ranking.clone().unwrap();
        assert_eq!(ranking.rank, 1);
        assert!((1.5..2.5).contains(&ranking.distance_km), "{ranking:?}");
        assert!(
            ranking.notes.iter().any(|n| n.contains("在 2 名合格")),
            "{ranking:?}"
        );
        // The urgent tier's offer lasts 10 minutes.
        let expire = offered.offer_expire_time.unwrap().seconds;
        let now = chrono::Utc::now().timestamp();
        assert!(
            (now + 540..=now + 600).contains(&expire),
            "{expire} vs {now}"
        );

        // Someone else cannot answer it; a decline needs a reason.
        let err = office
            .accept(&offered.assignment_id, "t-far")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let near = office.tech_token("t-near");
        let err = office
            .dispatch
            .decline_assignment(authed(
                pb::DeclineAssignmentRequest {
                    assignment_id: offered.assignment_id.clone(),
                    reason: " ".into(),
                },
                &near,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        office
            .dispatch
            .decline_assignment(authed(
                pb::DeclineAssignmentRequest {
                    assignment_id: offered.assignment_id.clone(),
                    reason: "on another site".into(),
                },
                &near,
            ))
            .await
            .unwrap();
        let next = office
            .wait_for(&ticket, "the second offer", |a| a.technician_id == "t-far")
            .await;
        assert_eq!(next.offers.len(), 2);
        assert_eq!(next.offers[0].state, pb::AssignmentState::Declined as i32);
        assert_eq!(next.offers[0].reason, "on another site");
        // The declined technician cannot take it back.
        let err = office
            .accept(&next.assignment_id, "t-near")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);

        let confirmed = office.accept(&next.assignment_id, "t-far").await.unwrap();
        assert_eq!(confirmed.state, pb::AssignmentState::Confirmed as i32);
        let dispatcher = office.dispatcher.clone();
        let far = office.technician("t-far", &dispatcher).await.unwrap();
        assert_eq!(far.booked_assignments, 1);
        // The accepted offer moved from offered to booked; the declined one is gone.
        assert_eq!(far.active_assignments, 1);
        let near_now = technicians::Entity::find_by_id("t-near".to_owned())
            .one(&office.app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((near_now.booked, near_now.offered), (0, 0));
        // Accepting twice is refused and changes nothing.
        let err = office
            .accept(&next.assignment_id, "t-far")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);

        // The technician's day and the dispatcher's board.
        let far_token = office.tech_token("t-far");
        let day = office
            .dispatch
            .list_assignments(authed(pb::ListAssignmentsRequest::default(), &far_token))
            .await
            .unwrap()
            .into_inner()
            .assignments;
        assert_eq!(day.len(), 1);
        let err = office
            .dispatch
            .list_assignments(authed(
                pb::ListAssignmentsRequest {
                    technician_id: "t-near".into(),
                    ..Default::default()
                },
                &far_token,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let board = office
            .dispatch
            .list_assignments(authed(
                pb::ListAssignmentsRequest {
                    states: vec![pb::AssignmentState::Confirmed as i32],
                    ..Default::default()
                },
                &office.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
            .assignments;
        assert_eq!(board.len(), 1);
        assert!(!board[0].overdue);

        let kinds: Vec<&'static str> = office
            .events(&ticket)
            .await
            .iter()
            .filter_map(|p| match p {
                Payload::DispatchRequested(_) => Some("requested"),
                Payload::AssignmentOffered(_) => Some("offered"),
                Payload::AssignmentDeclined(_) => Some("declined"),
                Payload::AssignmentAccepted(_) => Some("accepted"),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            ["requested", "offered", "declined", "offered", "accepted"]
        );

        // A cancelled case gives the technician's place back.
        office
            .intake
            .cancel_ticket(authed(
                intake::CancelTicketRequest {
                    ticket_id: ticket.clone(),
                    reason: "customer fixed it".into(),
                },
                &office.agent,
            ))
            .await
            .unwrap();
        office
            .wait_for(&ticket, "withdrawal", |a| {
                a.state == pb::AssignmentState::Withdrawn as i32
            })
            .await;
        let booked = technicians::Entity::find_by_id("t-far".to_owned())
            .one(&office.app.db)
            .await
            .unwrap()
            .unwrap()
            .booked;
        assert_eq!(booked, 0);
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn offers_time_out_and_nobody_available_escalates_then_retries() {
    for backend in backends() {
        let mut office = Office::open(
            &backend,
            &[
                ("STEELCARE__DISPATCH__OFFER_TIMEOUT__P3", "1s"),
                ("STEELCARE__DISPATCH__RETRY_BASE", "1s"),
                ("STEELCARE__DISPATCH__RETRY_MAX", "2s"),
                ("STEELCARE__DISPATCH__SWEEP_INTERVAL_MS", "100"),
            ],
        )
        .await;
        // Leakage needs a roofer with a work-at-height certificate valid on the visit day.
        office.hire(roofer("t-expired", date(2020, 1, 1))).await;
        office.hire(roofer("t-slow", date(2030, 1, 1))).await;
        let ticket = office.ticket("屋面渗漏 roof leakage").await;
        let first = office
            .wait_for(&ticket, "an offer", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        assert_eq!(first.technician_id, "t-slow", "{}", backend.name());
        // Nobody answers: the offer expires, nobody else qualifies, the dispatch escalates.
        let escalated = office
            .wait_for(&ticket, "escalation", |a| a.escalations >= 1)
            .await;
        assert_eq!(escalated.state, pb::AssignmentState::Waiting as i32);
        assert_eq!(
            escalated.offers[0].state,
            pb::AssignmentState::Expired as i32
        );
        assert_eq!(escalated.offers[0].reason, "派工邀请到期未响应");
        assert!(escalated.retry_time.is_some());
        let err = office
            .accept(&first.assignment_id, "t-slow")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains("timed out"), "{}", err.message());
        assert!(
            office
                .events(&ticket)
                .await
                .iter()
                .any(|p| matches!(p, Payload::DispatchEscalated(e) if e.reason.contains("suzhou")))
        );
        // A renewed certificate makes the expired technician available at the next retry.
        office.hire(roofer("t-expired", date(2030, 1, 1))).await;
        let retried = office
            .wait_for(&ticket, "an offer after the retry", |a| {
                a.technician_id == "t-expired"
            })
            .await;
        assert_eq!(retried.state, pb::AssignmentState::Offered as i32);
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_dispatcher_assigns_by_hand_with_a_reason_and_checks() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        office.hire(surveyor("t-a", 1.0)).await;
        office.hire(roofer("t-roofer", date(2030, 1, 1))).await;
        let ticket = office.ticket("钢柱开裂").await;
        let offer = |technician: &str, reason: &str| pb::OfferAssignmentRequest {
            ticket_id: ticket.clone(),
            technician_id: technician.into(),
            reason: reason.into(),
        };
        let err = office
            .dispatch
            .offer_assignment(authed(offer("t-a", ""), &office.dispatcher))
            .await
            .unwrap_err();
        assert_eq!(field_names(&err), ["reason"]);
        let err = office
            .dispatch
            .offer_assignment(authed(offer("t-roofer", "closest"), &office.dispatcher))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(
            err.message().contains("Structural survey"),
            "{}",
            err.message()
        );
        let err = office
            .dispatch
            .offer_assignment(authed(offer("t-ghost", "closest"), &office.dispatcher))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let made = office
            .dispatch
            .offer_assignment(authed(
                offer("t-a", "knows the building"),
                &office.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
            .assignment
            .unwrap();
        assert!(made.manual);
        assert_eq!(made.technician_id, "t-a");
        assert!(made.ranking.unwrap().notes[0].contains("knows the building"));
        let audited = audit_log::Entity::find()
            .filter(audit_log::Column::EntityId.eq(made.assignment_id.clone()))
            .all(&office.app.db)
            .await
            .unwrap();
        assert_eq!(audited.len(), 1);
        assert_eq!(audited[0].subject, "dispatcher-1");
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_hundred_racing_accepts_book_a_technician_of_capacity_one_once() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        let mut solo = surveyor("t-solo", 1.0);
        solo.capacity = 1;
        office.hire(solo).await;
        let mut assignments = Vec::new();
        for i in 0..100 {
            let ticket = office.ticket(&format!("钢梁裂缝 #{i}")).await;
            let a = office
                .dispatch
                .offer_assignment(authed(
                    pb::OfferAssignmentRequest {
                        ticket_id: ticket,
                        technician_id: "t-solo".into(),
                        reason: "only one available".into(),
                    },
                    &office.dispatcher,
                ))
                .await
                .unwrap()
                .into_inner()
                .assignment
                .unwrap();
            assignments.push(a.assignment_id);
        }
        let token = office.tech_token("t-solo");
        let calls = assignments.iter().map(|id| {
            let mut client = office.dispatch.clone();
            let request = authed(
                pb::AcceptAssignmentRequest {
                    assignment_id: id.clone(),
                },
                &token,
            );
            async move { client.accept_assignment(request).await }
        });
        let results = futures::future::join_all(calls).await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "{}", backend.name());
        for r in &results {
            if let Err(status) = r {
                assert!(
                    matches!(status.code(), Code::FailedPrecondition | Code::Aborted),
                    "{status:?}"
                );
            }
        }
        let solo = technicians::Entity::find_by_id("t-solo".to_owned())
            .one(&office.app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(solo.booked, 1);
        let confirmed = assignment_offers::Entity::find()
            .filter(assignment_offers::Column::State.eq("confirmed"))
            .count(&office.app.db)
            .await
            .unwrap();
        assert_eq!(confirmed, 1);
        office.app.stop().await.unwrap();
    }
}

pub(crate) fn dispatcher_of(app: &TestApp) -> Dispatcher {
    Dispatcher::new(
        app.db.clone(),
        app.bus.queue.clone(),
        DispatchConfig {
            settings: app.settings.dispatch.clone(),
            calendar: app.settings.intake.calendar.clone(),
        },
        None,
    )
}

#[tokio::test]
async fn a_worker_killed_between_claim_and_offer_loses_nothing_and_offers_once() {
    for backend in backends() {
        let mut office = Office::open(
            &backend,
            &[
                ("STEELCARE__DISPATCH__WORKERS", "0"),
                ("STEELCARE__DISPATCH__LEASE_MS", "300"),
            ],
        )
        .await;
        office.hire(surveyor("t-a", 1.0)).await;
        let crashed = office.ticket("钢梁裂缝 one").await;
        let committed = office.ticket("钢梁裂缝 two").await;
        office
            .wait_for(&committed, "two waiting jobs", |a| {
                a.state == pb::AssignmentState::Waiting as i32
            })
            .await;
        let queue = office.app.bus.queue.clone();
        while queue.len(QUEUE).await.unwrap() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Worker 1 claims a job and dies before offering (no ack, no offer).
        let lease = Duration::from_millis(300);
        let first = queue.claim(QUEUE, lease).await.unwrap().unwrap();
        // Worker 2 claims the other, commits its offer and dies before the ack.
        let second = queue.claim(QUEUE, lease).await.unwrap().unwrap();
        let handled = dispatcher_of(&office.app)
            .handle_job(&second.job_id)
            .await
            .unwrap();
        assert!(matches!(
            handled,
            steelcare_dispatch::engine::JobOutcome::Offered(_)
        ));
        assert_ne!(first.job_id, second.job_id);

        // A new process with a worker: the expired leases bring both jobs back.
        office.app.settings.dispatch.workers = 1;
        let Office {
            app,
            agent,
            dispatcher,
            customer_id,
            project_id,
            ..
        } = office;
        let app = app.restart(Duration::from_millis(400)).await;
        let intake = IntakeServiceClient::new(app.channel().await);
        let dispatch = DispatchServiceClient::new(app.channel().await);
        let mut office = Office {
            app,
            intake,
            dispatch,
            agent,
            dispatcher,
            customer_id,
            project_id,
        };
        for ticket in [&crashed, &committed] {
            office
                .wait_for(ticket, "an offer after the crash", |a| {
                    a.state == pb::AssignmentState::Offered as i32
                })
                .await;
        }
        let queue = office.app.bus.queue.clone();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while queue.len(QUEUE).await.unwrap() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "jobs never drained");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // One offer each: the replayed job of the committed offer made no second one.
        let offers = assignment_offers::Entity::find()
            .all(&office.app.db)
            .await
            .unwrap();
        assert_eq!(offers.len(), 2, "{}: {offers:?}", backend.name());
        office.app.stop().await.unwrap();
    }
}

/// Deletes the dispatch queue: every Redis key under the test's prefix, or the embedded
/// queue's rows.
pub(crate) async fn lose_the_queue(app: &TestApp) {
    match &app.backend {
        Backend::Embedded => {
            steelcare_store::entity::bus_queue_jobs::Entity::delete_many()
                .exec(&app.db)
                .await
                .unwrap();
        }
        Backend::PostgresRedis { redis_url, .. } => {
            let client = redis::Client::open(redis_url.as_str()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let pattern = format!("{}*", app.settings.redis.key_prefix);
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(&pattern)
                .query_async(&mut conn)
                .await
                .unwrap();
            if !keys.is_empty() {
                let _: () = redis::cmd("DEL")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test]
async fn the_reconciler_restores_every_pending_job_after_the_queue_is_lost() {
    for backend in backends() {
        let mut office = Office::open(
            &backend,
            &[
                ("STEELCARE__DISPATCH__WORKERS", "0"),
                ("STEELCARE__DISPATCH__RECONCILE_INTERVAL_MS", "200"),
            ],
        )
        .await;
        let mut tickets = Vec::new();
        for i in 0..5 {
            tickets.push(office.ticket(&format!("钢梁裂缝 {i}")).await);
        }
        let mut ids = Vec::new();
        for t in &tickets {
            ids.push(
                office
                    .wait_for(t, "a waiting job", |a| {
                        a.state == pb::AssignmentState::Waiting as i32
                    })
                    .await
                    .assignment_id,
            );
        }
        let queue = office.app.bus.queue.clone();
        // The queue loses everything while the server runs (the reconciler may already be
        // putting jobs back by the time we look, so only their return is asserted).
        lose_the_queue(&office.app).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mut present = 0;
            for id in &ids {
                if queue.contains(QUEUE, id).await.unwrap() {
                    present += 1;
                }
            }
            if present == ids.len() {
                // The reconciler's question, asked for a page at once, answers the same,
                // and no for a job the queue never had.
                let mut asked: Vec<&str> = ids.iter().map(String::as_str).collect();
                asked.insert(2, "no-such-job");
                let mut expected = vec![true; ids.len()];
                expected.insert(2, false);
                assert_eq!(
                    queue.contains_all(QUEUE, &asked).await.unwrap(),
                    expected,
                    "{}",
                    backend.name()
                );
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: only {present} of {} jobs restored",
                backend.name(),
                ids.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Earliest deadline first: P1 jobs carry their arrival deadline as the score.
        let claimed = queue
            .claim(QUEUE, Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        assert!(ids.contains(&claimed.job_id));
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_survey_is_planned_for_a_confirmed_team_and_arrival_stops_the_clock() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        office.hire(surveyor("t-lead", 1.0)).await;
        office.hire(surveyor("t-member", 3.0)).await;
        let ticket = office.ticket("钢梁下翼缘出现裂缝").await;
        let other = office.ticket("钢梁裂缝 elsewhere").await;
        let by_hand = |ticket: &str, technician: &str| pb::OfferAssignmentRequest {
            ticket_id: ticket.into(),
            technician_id: technician.into(),
            reason: "planned crew".into(),
        };
        let offered = office
            .dispatch
            .offer_assignment(authed(by_hand(&ticket, "t-lead"), &office.dispatcher))
            .await
            .unwrap()
            .into_inner()
            .assignment
            .unwrap();
        let other_offer = office
            .dispatch
            .offer_assignment(authed(by_hand(&other, "t-member"), &office.dispatcher))
            .await
            .unwrap()
            .into_inner()
            .assignment
            .unwrap();
        let lead = "t-lead".to_owned();
        let member = "t-member";
        let plan =
            |when: chrono::DateTime<chrono::Utc>, members: Vec<String>| pb::PlanSurveyRequest {
                survey_plan: Some(pb::SurveyPlan {
                    ticket_id: ticket.clone(),
                    lead_technician_id: lead.clone(),
                    member_technician_ids: members,
                    accompanying: vec![person("Zhang San")],
                    scheduled_time: Some(ts(when)),
                    access_arrangements: "gate 2, badge from security".into(),
                    ..Default::default()
                }),
            };
        let soon = chrono::Utc::now() + chrono::TimeDelta::hours(2);
        // Not before the case is acknowledged and the offer confirmed.
        let err = office
            .dispatch
            .plan_survey(authed(plan(soon, vec![]), &office.dispatcher))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        for t in [&ticket, &other] {
            office
                .intake
                .acknowledge_ticket(authed(
                    intake::AcknowledgeTicketRequest {
                        ticket_id: t.clone(),
                        response_text: "team on the way".into(),
                    },
                    &office.agent,
                ))
                .await
                .unwrap();
        }
        let err = office
            .dispatch
            .plan_survey(authed(plan(soon, vec![]), &office.dispatcher))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains("confirmed"), "{}", err.message());
        office.accept(&offered.assignment_id, &lead).await.unwrap();
        office
            .accept(&other_offer.assignment_id, member)
            .await
            .unwrap();

        // Bad input: a past time, an unknown member.
        let err = office
            .dispatch
            .plan_survey(authed(
                plan(chrono::Utc::now() - chrono::TimeDelta::hours(1), vec![]),
                &office.dispatcher,
            ))
            .await
            .unwrap_err();
        assert_eq!(field_names(&err), ["survey_plan.scheduled_time"]);
        let err = office
            .dispatch
            .plan_survey(authed(
                plan(soon, vec!["t-ghost".into()]),
                &office.dispatcher,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);

        // The member leads another survey from an hour later (4 hours by default).
        office
            .dispatch
            .plan_survey(authed(
                pb::PlanSurveyRequest {
                    survey_plan: Some(pb::SurveyPlan {
                        ticket_id: other.clone(),
                        lead_technician_id: member.into(),
                        scheduled_time: Some(ts(soon + chrono::TimeDelta::hours(1))),
                        ..Default::default()
                    }),
                },
                &office.dispatcher,
            ))
            .await
            .unwrap();
        let err = office
            .dispatch
            .plan_survey(authed(plan(soon, vec![member.into()]), &office.dispatcher))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains("overlaps"), "{}", err.message());
        let planned = office
            .dispatch
            .plan_survey(authed(
                plan(soon + chrono::TimeDelta::hours(6), vec![member.into()]),
                &office.dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
            .survey_plan
            .unwrap();
        // Instruments default by category; the documents come from the dossier.
        assert!(
            planned
                .instruments
                .contains(&(pb::Instrument::TotalStation as i32))
        );
        assert_eq!(planned.member_technician_ids, [member.to_owned()]);
        let case = office
            .intake
            .get_ticket(authed(
                intake::GetTicketRequest {
                    ticket_id: ticket.clone(),
                },
                &office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(case.state, common::CaseState::SurveyScheduled as i32);

        // Arrival: not in the future; only the assigned technician; then the clock stops.
        let lead_token = office.tech_token(&lead);
        let err = office
            .dispatch
            .record_arrival(authed(
                pb::RecordArrivalRequest {
                    assignment_id: offered.assignment_id.clone(),
                    arrive_time: Some(ts(chrono::Utc::now() + chrono::TimeDelta::hours(1))),
                    position: None,
                },
                &lead_token,
            ))
            .await
            .unwrap_err();
        assert_eq!(field_names(&err), ["arrive_time"]);
        let stranger = office.tech_token("t-stranger");
        let err = office
            .dispatch
            .record_arrival(authed(
                pb::RecordArrivalRequest {
                    assignment_id: offered.assignment_id.clone(),
                    ..Default::default()
                },
                &stranger,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let arrived = office
            .dispatch
            .record_arrival(authed(
                pb::RecordArrivalRequest {
                    assignment_id: offered.assignment_id.clone(),
                    arrive_time: None,
                    position: Some(common::GeoPoint {
                        latitude: SITE.0,
                        longitude: SITE.1,
                    }),
                },
                &lead_token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(arrived.arrival_met);
        assert_eq!(
            arrived.assignment.unwrap().state,
            pb::AssignmentState::Arrived as i32
        );
        let err = office
            .dispatch
            .record_arrival(authed(
                pb::RecordArrivalRequest {
                    assignment_id: offered.assignment_id.clone(),
                    ..Default::default()
                },
                &lead_token,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let clock =
            steelcare_tests::stopped_arrival_clock(&mut office.intake, &ticket, &office.agent)
                .await;
        assert_eq!(
            clock.status,
            common::SlaStatus::Met as i32,
            "{}",
            backend.name()
        );
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_technician_who_goes_off_duty_gets_no_more_offers_even_from_a_recent_field() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[]).await;
        office.hire(surveyor("t-near", 1.0)).await;
        office.hire(surveyor("t-far", 30.0)).await;
        let first = office.ticket("钢梁裂缝 first").await;
        let offered = office
            .wait_for(&first, "an offer", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        assert_eq!(offered.technician_id, "t-near");
        // Going off duty withdraws the open offer; the job goes back to the queue and the
        // workers' field (read under a second ago) still lists t-near as on duty.
        let own = office.tech_token("t-near");
        office
            .dispatch
            .set_availability(authed(
                pb::SetAvailabilityRequest {
                    technician_id: "t-near".into(),
                    status: pb::TechnicianStatus::OffDuty as i32,
                    leave_periods: vec![],
                },
                &own,
            ))
            .await
            .unwrap();
        let second = office.ticket("钢梁裂缝 second").await;
        for ticket in [&first, &second] {
            let a = office
                .wait_for(ticket, "an offer to someone on duty", |a| {
                    a.state == pb::AssignmentState::Offered as i32
                })
                .await;
            assert_eq!(a.technician_id, "t-far", "{}", backend.name());
        }
        let withdrawn = office.assignment_of(&first).await.unwrap();
        assert_eq!(
            withdrawn.offers[0].state,
            pb::AssignmentState::Withdrawn as i32
        );
        // Why, in the reader's language: the default (Chinese), or English when asked.
        assert_eq!(
            withdrawn.offers[0].reason,
            "该技术人员已不可用（离岗或休假）"
        );
        let in_english = office
            .dispatch
            .list_assignments(in_language(
                authed(
                    pb::ListAssignmentsRequest {
                        ticket_id: first.clone(),
                        ..Default::default()
                    },
                    &office.dispatcher,
                ),
                "en",
            ))
            .await
            .unwrap()
            .into_inner()
            .assignments
            .remove(0);
        assert_eq!(
            in_english.offers[0].reason,
            "the technician is no longer available"
        );
        let near = technicians::Entity::find_by_id("t-near".to_owned())
            .one(&office.app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((near.booked, near.offered), (0, 0));
        office.app.stop().await.unwrap();
    }
}

/// The trace of the call that took a ticket in continues through the dispatch queue: the
/// offer the queue worker makes carries the caller's trace id (kept on the assignment row, so
/// a queue rebuilt from the database keeps it too).
#[tokio::test]
async fn the_offer_continues_the_trace_of_the_call() {
    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    for backend in backends() {
        let mut office = Office::open(&backend, &[]).await;
        office.hire(surveyor("t-near", 2.0)).await;
        let mut request = authed(
            intake::CreateTicketRequest {
                request_id: String::new(),
                channel: intake::Channel::Hotline as i32,
                project_id: office.project_id.clone(),
                reporter: Some(person("Wang Wu")),
                location: Some(intake::StructureLocation {
                    description: "bay 3".into(),
                    ..Default::default()
                }),
                description: Some(intake::ProblemDescription {
                    phenomenon: "钢梁下翼缘出现裂缝".into(),
                    ..Default::default()
                }),
                customer_request: String::new(),
                related_case_id: String::new(),
            },
            &office.agent,
        );
        request.metadata_mut().insert(
            "traceparent",
            format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
                .parse()
                .unwrap(),
        );
        let ticket = office
            .intake
            .create_ticket(request)
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap()
            .ticket_id;
        office
            .wait_for(&ticket, "the offer", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        use prost::Message;
        let offered: Vec<String> = outbox::Entity::find()
            .filter(outbox::Column::CaseId.eq(&ticket))
            .all(&office.app.db)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|row| EventEnvelope::decode(row.payload.as_slice()).ok())
            .filter(|e| matches!(e.payload, Some(Payload::AssignmentOffered(_))))
            .filter_map(|e| e.trace_context.map(|t| t.traceparent))
            .collect();
        assert_eq!(offered.len(), 1, "{}", backend.name());
        assert!(
            offered[0].starts_with(&format!("00-{TRACE_ID}-")),
            "the offer's trace is {} ({})",
            offered[0],
            backend.name()
        );
    }
}

/// The server's own work touching an offer between a technician's read and write (here, the
/// assignment's version bumped 40 times a millisecond apart, as the dispatch bookkeeping of a
/// fresh automatic offer does) is not the technician's to retry: while the offer is still
/// theirs, the server retries and the accept succeeds. Once it is not theirs, they hear why.
#[tokio::test]
async fn a_technician_accepting_a_fresh_offer_is_not_told_to_retry_the_servers_own_work() {
    use sea_orm::sea_query::{Expr, ExprTrait};
    use steelcare_store::entity::assignments;

    for backend in backends() {
        let mut o = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        o.hire(roofer("t-1", date(2030, 12, 31))).await;
        // An agent may not read the board; the refusal names everyone who may.
        let err = o
            .dispatch
            .list_assignments(authed(pb::ListAssignmentsRequest::default(), &o.agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        for role in ["dispatcher", "manager", "technician"] {
            assert!(err.message().contains(role), "{}", err.message());
        }
        // Two rounds: the technician's capacity is two confirmed assignments.
        for round in 0..2 {
            let ticket = o.ticket(&format!("屋面漏水 {round}")).await;
            let offered = o
                .dispatch
                .offer_assignment(authed(
                    pb::OfferAssignmentRequest {
                        ticket_id: ticket.clone(),
                        technician_id: "t-1".into(),
                        reason: "on duty".into(),
                    },
                    &o.dispatcher,
                ))
                .await
                .unwrap()
                .into_inner()
                .assignment
                .unwrap();
            let (db, id) = (o.app.db.clone(), offered.assignment_id.clone());
            let bumps = tokio::spawn(async move {
                for _ in 0..40 {
                    assignments::Entity::update_many()
                        .col_expr(
                            assignments::Column::Version,
                            Expr::col(assignments::Column::Version).add(1),
                        )
                        .filter(assignments::Column::Id.eq(&id))
                        .exec(&db)
                        .await
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
            let accepted = o.accept(&offered.assignment_id, "t-1").await;
            bumps.await.unwrap();
            let accepted = accepted.unwrap_or_else(|err| panic!("round {round}: {err:?}"));
            assert_eq!(accepted.state, pb::AssignmentState::Confirmed as i32);
            // Accepting again: the intent no longer holds, and the answer says why.
            let err = o.accept(&offered.assignment_id, "t-1").await.unwrap_err();
            assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
            assert_eq!(steelcare_tests::refused_state(&err), "CONFIRMED", "{err:?}");
        }
    }
}

/// Every event of `tickets` in the outbox, in commit order, as a consumer group receives them.
pub(crate) async fn outbox_deliveries(
    app: &TestApp,
    tickets: &[String],
) -> Vec<steelcare_bus::Delivery> {
    use sea_orm::QueryOrder;
    let rows = outbox::Entity::find()
        .filter(outbox::Column::CaseId.is_in(tickets.iter().cloned()))
        .order_by_asc(outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| steelcare_bus::Delivery {
            entry_id: format!("{}-0", i + 1),
            event_id: row.event_id,
            payload: row.payload,
            redelivered: false,
        })
        .collect()
}

/// The classified events of `tickets` from the outbox, as the dispatch group receives them.
async fn classified_deliveries(app: &TestApp, tickets: &[String]) -> Vec<steelcare_bus::Delivery> {
    use prost::Message;
    let mut events = outbox_deliveries(app, tickets).await;
    events.retain(|d| {
        EventEnvelope::decode(d.payload.as_slice())
            .is_ok_and(|e| matches!(e.payload, Some(Payload::TicketClassified(_))))
    });
    events
}

/// Forgets that `consumer` handled `events` (their processed keys), as if its group had not
/// yet read them.
pub(crate) async fn forget_processed(
    app: &TestApp,
    consumer: &str,
    events: &[steelcare_bus::Delivery],
) {
    use steelcare_store::entity::processed_events;
    processed_events::Entity::delete_many()
        .filter(processed_events::Column::Consumer.eq(consumer))
        .filter(processed_events::Column::EventId.is_in(events.iter().map(|d| d.event_id.clone())))
        .exec(&app.db)
        .await
        .unwrap();
}

/// Forgets what dispatch did with `tickets`' events (their assignments and processed keys,
/// and the queue), as if the dispatch group had not yet handled them.
async fn unhandle(app: &TestApp, tickets: &[String], events: &[steelcare_bus::Delivery]) {
    use steelcare_store::entity::assignments;
    assignments::Entity::delete_many()
        .filter(assignments::Column::TicketId.is_in(tickets.iter().cloned()))
        .exec(&app.db)
        .await
        .unwrap();
    forget_processed(app, "dispatch", events).await;
    lose_the_queue(app).await;
}

/// Hands `deliveries` to dispatch's consumer as the bus would: what was not acknowledged (a
/// busy database on a loaded machine) is delivered again, for up to 10 s. The entry ids acked.
async fn until_acked(
    dispatcher: &Dispatcher,
    deliveries: Vec<steelcare_bus::Delivery>,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut acked = Vec::new();
    let mut pending = deliveries;
    while !pending.is_empty() && tokio::time::Instant::now() < deadline {
        let done = steelcare_dispatch::worker::handle_events(dispatcher, pending.clone()).await;
        pending.retain(|d| !done.contains(&d.entry_id));
        acked.extend(done);
    }
    acked
}

#[tokio::test]
async fn a_burst_of_tickets_is_dispatched_together_as_one_by_one_would() {
    use prost::Message;
    use steelcare_dispatch::worker;
    use steelcare_store::entity::assignments;
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        // Two places each: four offers for six tickets.
        office.hire(surveyor("t-a", 1.0)).await;
        office.hire(surveyor("t-b", 2.0)).await;
        let mut tickets = Vec::new();
        for i in 0..6 {
            tickets.push(office.waiting_ticket(&format!("钢梁裂缝 burst {i}")).await);
        }
        let deliveries = classified_deliveries(&office.app, &tickets).await;
        assert_eq!(deliveries.len(), 6);
        unhandle(&office.app, &tickets, &deliveries).await;

        // One read of six classified tickets: every event handled, one assignment each.
        let dispatcher = dispatcher_of(&office.app);
        let mut acked = until_acked(&dispatcher, deliveries.clone()).await;
        acked.sort();
        let mut expected: Vec<String> = deliveries.iter().map(|d| d.entry_id.clone()).collect();
        expected.sort();
        assert_eq!(acked, expected, "{}", backend.name());
        let rows = assignments::Entity::find()
            .filter(assignments::Column::TicketId.is_in(tickets.clone()))
            .all(&office.app.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 6, "{}", backend.name());
        for row in &rows {
            assert_eq!(row.state, "waiting");
            let requested = office
                .events(&row.ticket_id)
                .await
                .into_iter()
                .filter(|p| matches!(p, Payload::DispatchRequested(r) if r.dispatch_id == row.id))
                .count();
            assert_eq!(
                requested,
                1,
                "{}: one DispatchRequested for {}",
                backend.name(),
                row.id
            );
        }
        let queue = office.app.bus.queue.clone();
        assert_eq!(queue.len(QUEUE).await.unwrap(), 6);
        // The same read delivered again is acknowledged and changes nothing.
        assert_eq!(
            worker::handle_events(&dispatcher, deliveries.clone())
                .await
                .len(),
            6
        );
        let again = assignments::Entity::find()
            .filter(assignments::Column::TicketId.is_in(tickets.clone()))
            .count(&office.app.db)
            .await
            .unwrap();
        assert_eq!(again, 6);

        // One claim takes the six jobs: four offers within the two technicians' places, and
        // two escalations that wait for their retry.
        assert!(worker::work_once(&dispatcher).await.unwrap());
        assert_eq!(queue.len(QUEUE).await.unwrap(), 0, "{}", backend.name());
        let rows = assignments::Entity::find()
            .filter(assignments::Column::TicketId.is_in(tickets.clone()))
            .all(&office.app.db)
            .await
            .unwrap();
        let offered: Vec<_> = rows.iter().filter(|r| r.state == "offered").collect();
        assert_eq!(offered.len(), 4, "{}: {rows:?}", backend.name());
        for id in ["t-a", "t-b"] {
            let to_them = offered
                .iter()
                .filter(|r| r.technician_id.as_deref() == Some(id))
                .count();
            assert_eq!(to_them, 2, "{}: offers to {id}", backend.name());
            let row = technicians::Entity::find_by_id(id.to_owned())
                .one(&office.app.db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((row.offered, row.booked), (2, 0), "{}", backend.name());
        }
        for row in rows.iter().filter(|r| r.state == "waiting") {
            assert_eq!(row.escalations, 1, "{}", backend.name());
            assert!(row.retry_at_ms.is_some());
            assert!(office.events(&row.ticket_id).await.iter().any(|p| matches!(
                p,
                Payload::DispatchEscalated(e) if e.dispatch_id == row.id
            )));
        }

        // A burst with a ticket classified again (its assignment exists) goes one by one: the
        // new ticket gets its assignment and the reclassified one takes its new tier.
        let fresh = office.waiting_ticket("钢梁裂缝 after the burst").await;
        let fresh_events = classified_deliveries(&office.app, std::slice::from_ref(&fresh)).await;
        unhandle(&office.app, std::slice::from_ref(&fresh), &fresh_events).await;
        let reclassified = rows
            .iter()
            .find(|r| r.state == "waiting")
            .expect("an escalated ticket");
        let mut envelope = EventEnvelope::decode(
            classified_deliveries(&office.app, std::slice::from_ref(&reclassified.ticket_id)).await
                [0]
            .payload
            .as_slice(),
        )
        .unwrap();
        envelope.event_id = uuid::Uuid::now_v7().to_string();
        if let Some(Payload::TicketClassified(c)) = &mut envelope.payload {
            c.tier = common::SeverityTier::P3General as i32;
        }
        let burst = vec![
            steelcare_bus::Delivery {
                entry_id: "100-0".into(),
                event_id: envelope.event_id.clone(),
                payload: envelope.encode_to_vec(),
                redelivered: false,
            },
            steelcare_bus::Delivery {
                entry_id: "101-0".into(),
                ..fresh_events[0].clone()
            },
        ];
        assert_eq!(until_acked(&dispatcher, burst).await.len(), 2);
        let revised = assignments::Entity::find_by_id(reclassified.id.clone())
            .one(&office.app.db)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(reclassified.tier, "p3");
        assert_eq!(revised.tier, "p3", "{}", backend.name());
        let fresh_rows = assignments::Entity::find()
            .filter(assignments::Column::TicketId.eq(fresh.clone()))
            .count(&office.app.db)
            .await
            .unwrap();
        assert_eq!(fresh_rows, 1, "{}", backend.name());
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_burst_reserves_a_technicians_places_only_all_together_and_offers_only_unchanged_rows() {
    use sea_orm::sea_query::Expr;
    use sea_orm::{QueryOrder, TransactionTrait};
    use std::collections::{HashMap, HashSet};
    use steelcare_dispatch::store::{self, BurstOffer};
    use steelcare_store::entity::assignments;
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        office.hire(surveyor("t-a", 1.0)).await;
        office.hire(surveyor("t-b", 2.0)).await;
        let mut tickets = Vec::new();
        for i in 0..2 {
            tickets.push(office.waiting_ticket(&format!("钢梁裂缝 guard {i}")).await);
        }
        let db = &office.app.db;
        // One of t-a's two places is taken: it has room for one offer, not two.
        technicians::Entity::update_many()
            .col_expr(technicians::Column::Offered, Expr::value(1))
            .filter(technicians::Column::Id.eq("t-a"))
            .exec(db)
            .await
            .unwrap();
        let tx = db.begin().await.unwrap();
        let wanted = HashMap::from([("t-a", 2), ("t-b", 2)]);
        let reserved = store::reserve_offers(&tx, &wanted).await.unwrap();
        assert_eq!(
            reserved,
            HashSet::from(["t-b".to_owned()]),
            "{}",
            backend.name()
        );
        let places = |id: &'static str| {
            let tx = &tx;
            async move {
                let row = technicians::Entity::find_by_id(id.to_owned())
                    .one(tx)
                    .await
                    .unwrap()
                    .unwrap();
                (row.booked, row.offered)
            }
        };
        assert_eq!(
            places("t-a").await,
            (0, 1),
            "{}: none of t-a's",
            backend.name()
        );
        assert_eq!(places("t-b").await, (0, 2), "{}", backend.name());

        let rows = assignments::Entity::find()
            .filter(assignments::Column::TicketId.is_in(tickets.clone()))
            .order_by_asc(assignments::Column::Id)
            .all(&tx)
            .await
            .unwrap();
        let mut changed = rows[1].clone();
        changed.version -= 1;
        let offers = [
            BurstOffer {
                row: &rows[0],
                technician_id: "t-b",
                expires_ms: 4_102_444_800_000,
                ranking: "{\"notes\":[]}".to_owned(),
            },
            BurstOffer {
                row: &changed,
                technician_id: "t-b",
                expires_ms: 4_102_444_800_000,
                ranking: "{\"notes\":[]}".to_owned(),
            },
        ];
        let moved = store::offer_all(&tx, &offers).await.unwrap();
        assert_eq!(
            moved,
            HashSet::from([rows[0].id.clone()]),
            "{}",
            backend.name()
        );
        let after = assignments::Entity::find()
            .filter(assignments::Column::TicketId.is_in(tickets.clone()))
            .order_by_asc(assignments::Column::Id)
            .all(&tx)
            .await
            .unwrap();
        assert_eq!(after[0].state, "offered", "{}", backend.name());
        assert_eq!(after[0].technician_id.as_deref(), Some("t-b"));
        assert_eq!(after[0].offer_expires_at_ms, Some(4_102_444_800_000));
        assert_eq!(after[0].ranking.as_deref(), Some("{\"notes\":[]}"));
        assert_eq!(after[0].version, rows[0].version + 1);
        assert_eq!(
            (after[1].state.as_str(), after[1].version),
            ("waiting", rows[1].version),
            "{}: a row read at another version is not offered",
            backend.name()
        );
        tx.rollback().await.unwrap();
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn bursts_reserving_the_same_technicians_at_once_never_deadlock() {
    use sea_orm::TransactionTrait;
    use std::collections::HashMap;
    use steelcare_dispatch::store;
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        let ids: Vec<String> = (0..12).map(|i| format!("t-{i:02}")).collect();
        for (i, id) in ids.iter().enumerate() {
            let mut t = surveyor(id, 1.0 + i as f64);
            t.capacity = 50;
            office.hire(t).await;
        }
        // Four workers, each reserving every technician (in the order of a map of its own)
        // in transactions that overlap, then undoing it.
        let mut workers = Vec::new();
        for _ in 0..4 {
            let db = office.app.db.clone();
            let ids = ids.clone();
            workers.push(tokio::spawn(async move {
                for _ in 0..25 {
                    let wanted: HashMap<&str, i32> =
                        ids.iter().map(|id| (id.as_str(), 1)).collect();
                    let tx = db.begin().await.unwrap();
                    let reserved = store::reserve_offers(&tx, &wanted).await?;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    tx.rollback().await.unwrap();
                    assert_eq!(reserved.len(), 12);
                }
                Ok::<_, steelcare_runtime::ApiError>(())
            }));
        }
        for worker in workers {
            let done = worker.await.unwrap();
            assert!(done.is_ok(), "{}: {done:?}", backend.name());
        }
        let offered: i32 = technicians::Entity::find()
            .all(&office.app.db)
            .await
            .unwrap()
            .iter()
            .map(|t| t.offered)
            .sum();
        assert_eq!(offered, 0, "{}", backend.name());
        office.app.stop().await.unwrap();
    }
}

/// The instruments a technician carries are registered with their calibration, read back by
/// the technician themself, changed alone by an update mask, and refused by field when a
/// serial is listed twice or a kind or date is missing.
#[tokio::test]
async fn a_technicians_instruments_are_registered_with_their_calibration() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        let gauge = |serial: &str, year: i32| common::Instrument {
            kind: common::InstrumentKind::CoatingThicknessGauge as i32,
            serial_number: serial.into(),
            calibration_valid_until: Some(date(year, 6, 30)),
        };
        let mut lead = roofer("t-lead", date(2030, 12, 31));
        lead.instruments = vec![gauge("CTG-1", 2027), gauge("CTG-1", 2028)];
        let err = office
            .dispatch
            .upsert_technician(authed(
                pb::UpsertTechnicianRequest {
                    technician: Some(lead.clone()),
                    update_mask: None,
                },
                &office.dispatcher,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            field_names(&err),
            ["technician.instruments[1].serial_number"]
        );
        lead.instruments = vec![gauge("CTG-1", 2027)];
        office.hire(lead.clone()).await;
        // A new gauge replaces the list through the mask; nothing else changes.
        lead.instruments = vec![gauge("CTG-1", 2027), gauge("CTG-2", 2028)];
        lead.team = "ignored without the mask".into();
        office
            .dispatch
            .upsert_technician(authed(
                pb::UpsertTechnicianRequest {
                    technician: Some(lead),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["instruments".into()],
                    }),
                },
                &office.dispatcher,
            ))
            .await
            .unwrap();
        let own = office.tech_token("t-lead");
        let read = office
            .dispatch
            .get_technician(authed(
                pb::GetTechnicianRequest {
                    technician_id: "t-lead".into(),
                },
                &own,
            ))
            .await
            .unwrap()
            .into_inner()
            .technician
            .unwrap_or_default();
        let serials: Vec<&str> = read
            .instruments
            .iter()
            .map(|i| i.serial_number.as_str())
            .collect();
        assert_eq!(serials, ["CTG-1", "CTG-2"], "{}", backend.name());
        assert_eq!(
            read.instruments[1].calibration_valid_until,
            Some(date(2028, 6, 30))
        );
        assert_ne!(read.team, "ignored without the mask");
        let mut broken = roofer("t-two", date(2030, 12, 31));
        broken.instruments = vec![common::Instrument {
            serial_number: "X".into(),
            ..Default::default()
        }];
        let err = office
            .dispatch
            .upsert_technician(authed(
                pb::UpsertTechnicianRequest {
                    technician: Some(broken),
                    update_mask: None,
                },
                &office.dispatcher,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            field_names(&err),
            [
                "technician.instruments[0].kind",
                "technician.instruments[0].calibration_valid_until"
            ]
        );
        office.app.stop().await.unwrap();
    }
}
