//! The feedback and analytics service end to end, on both backends: from an archived case
//! (accepted after rework) through its scheduled return visits, an unreachable attempt, a
//! reschedule, a recurrence that opens a linked ticket in intake, a satisfaction survey, the
//! last visit closing the case; the figures that count them (breakdowns, SLA compliance,
//! outcomes, KPIs, CSV) and a customer who never sees another organisation's; corrective
//! actions refused, overdue, disproved by the recurrence, and verified effective. Every
//! refusal with its code and field, nothing stored on refusal.

use std::time::Duration;

use chrono::{Datelike, TimeDelta, TimeZone, Utc};
use steelcare_domain::Role;
use steelcare_proto::acceptance::v1 as apb;
use steelcare_proto::acceptance::v1::acceptance_service_client::AcceptanceServiceClient;
use steelcare_proto::common::v1 as common;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use steelcare_proto::intake::v1 as intake;
use steelcare_runtime::convert::to_timestamp;
use steelcare_tests::{authed, backends, in_language};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

use crate::acceptance::{acceptance, repaired_case, self_inspection};
use crate::dispatch::{date, person, roofer};
use crate::repair::{Desk, fields};

/// A case repaired, accepted in the second round and archived.
pub(crate) async fn archived_case(desk: &mut Desk) -> String {
    let ticket = repaired_case(desk).await;
    let mut client = AcceptanceServiceClient::new(desk.office.app.channel().await);
    let crew = desk.office.tech_token("t-crew");
    let customer = desk.customer.clone();
    client
        .record_self_inspection(authed(self_inspection("s-1", &ticket, [152.0; 5]), &crew))
        .await
        .unwrap();
    client
        .record_customer_acceptance(authed(acceptance("c-1", &ticket, false), &customer))
        .await
        .unwrap();
    desk.complete("done-2", &ticket).await.unwrap();
    client
        .record_self_inspection(authed(self_inspection("s-2", &ticket, [153.0; 5]), &crew))
        .await
        .unwrap();
    client
        .record_customer_acceptance(authed(acceptance("c-2", &ticket, true), &customer))
        .await
        .unwrap();
    client
        .archive_case(authed(
            apb::ArchiveCaseRequest {
                request_id: "ar-1".into(),
                ticket_id: ticket.clone(),
            },
            &desk.engineer,
        ))
        .await
        .unwrap();
    ticket
}

fn period(basis: pb::PeriodBasis) -> pb::Period {
    let now = Utc::now();
    pb::Period {
        range: Some(common::TimeRange {
            start_time: Some(to_timestamp(now - TimeDelta::days(1))),
            end_time: Some(to_timestamp(now + TimeDelta::days(1))),
        }),
        basis: basis as i32,
    }
}

fn breakdown(dimension: pb::Dimension) -> pb::ProblemBreakdownRequest {
    pb::ProblemBreakdownRequest {
        period: Some(period(pb::PeriodBasis::Created)),
        dimension: dimension as i32,
        filter: None,
        top: 0,
    }
}

fn rows(found: &pb::ProblemBreakdownResponse) -> Vec<(String, f64)> {
    found
        .rows
        .iter()
        .map(|r| (r.key.clone(), r.cases))
        .collect()
}

fn attempt(
    request_id: &str,
    visit: &str,
    outcome: pb::AttemptOutcome,
) -> pb::RecordVisitAttemptRequest {
    pb::RecordVisitAttemptRequest {
        request_id: request_id.into(),
        visit_id: visit.into(),
        outcome: outcome as i32,
        method: pb::VisitMethod::Phone as i32,
        ..Default::default()
    }
}

fn reached(
    request_id: &str,
    visit: &str,
    condition: pb::PartCondition,
) -> pb::RecordVisitAttemptRequest {
    pb::RecordVisitAttemptRequest {
        contact: Some(person("Li Wei")),
        condition: condition as i32,
        ..attempt(request_id, visit, pb::AttemptOutcome::Reached)
    }
}

/// The five dimensions of MISSION §8.2 (5, 5, 4, 4, 3) and an overall score.
fn scores(overall: i32) -> pb::SatisfactionScores {
    pb::SatisfactionScores {
        response_speed: 5,
        service_attitude: 5,
        professional_competence: 4,
        fix_effect: 4,
        communication: Some(3),
        overall: Some(overall),
    }
}

/// Polls the case outcomes until `done` holds (10 s at most).
async fn outcomes_until(
    client: &mut FeedbackServiceClient<Channel>,
    token: &str,
    done: impl Fn(&pb::Outcomes) -> bool,
) -> pb::CaseOutcomesResponse {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = client
            .case_outcomes(authed(
                pb::CaseOutcomesRequest {
                    period: Some(period(pb::PeriodBasis::Created)),
                    filter: None,
                    monthly: true,
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        if found.total.as_ref().is_some_and(&done) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "outcomes never settled: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn day(offset: i64) -> common::Date {
    let d = (Utc::now() + TimeDelta::hours(8) + TimeDelta::days(offset)).date_naive();
    common::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

#[tokio::test]
async fn an_archived_case_is_visited_surveyed_counted_and_its_lessons_verified() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let mut client = FeedbackServiceClient::new(desk.office.app.channel().await);
        let reader = client.clone();
        let (agent, manager, engineer, chief, customer) = (
            desk.office.agent.clone(),
            desk.manager.clone(),
            desk.engineer.clone(),
            desk.chief.clone(),
            desk.customer.clone(),
        );
        let auditor = desk.office.app.token("aud-1", &[Role::Auditor], None);
        let crew = desk.office.tech_token("t-crew");
        let stranger = desk
            .office
            .app
            .token("cust-9", &[Role::Customer], Some("another-org"));
        let customer_id = desk.office.customer_id.clone();

        // --- The customer's visit policy --------------------------------------------------
        let policy = |offsets: Vec<i32>, customer_id: &str| pb::SetVisitPolicyRequest {
            customer_id: customer_id.into(),
            offset_months: offsets,
        };
        let err = client
            .set_visit_policy(authed(policy(vec![1, 2], &customer_id), &agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = client
            .set_visit_policy(authed(policy(vec![3, 1], &customer_id), &manager))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["offset_months"]);
        let err = client
            .set_visit_policy(authed(policy(vec![1, 2], "no-such-customer"), &manager))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let get = |token: &str| {
            let mut client = reader.clone();
            let request = authed(
                pb::GetVisitPolicyRequest {
                    customer_id: customer_id.clone(),
                },
                token,
            );
            async move { client.get_visit_policy(request).await }
        };
        assert_eq!(
            get(&agent).await.unwrap().into_inner().offset_months,
            [1, 3, 6]
        );
        let set = client
            .set_visit_policy(authed(policy(vec![1, 2], &customer_id), &manager))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(set.offset_months, [1, 2]);
        assert_eq!(
            get(&agent).await.unwrap().into_inner().offset_months,
            [1, 2]
        );

        // --- Archiving schedules the visits ----------------------------------------------
        let ticket = archived_case(&mut desk).await;
        let list = |token: &str| {
            let mut client = reader.clone();
            let request = authed(
                pb::ListVisitsRequest {
                    ticket_id: ticket.clone(),
                },
                token,
            );
            async move {
                client
                    .list_visits(request)
                    .await
                    .map(|r| r.into_inner().visits)
            }
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let visits = loop {
            let visits = list(&agent).await.unwrap();
            if visits.len() == 2 {
                break visits;
            }
            assert!(tokio::time::Instant::now() < deadline, "visits: {visits:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let accepted = Utc::now();
        // Due at 10:00 on a working day of the calendar, whatever time the customer signed.
        let calendar = steelcare_domain::BusinessCalendar::china_2026();
        let ten = chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap();
        let expected_dues =
            steelcare_domain::feedback::due_times(accepted, &[1, 2], &calendar, ten);
        for (visit, expected) in visits.iter().zip(expected_dues) {
            let due = visit.due_time.unwrap().seconds;
            let local = Utc
                .timestamp_opt(due, 0)
                .unwrap()
                .with_timezone(&chrono_tz::Asia::Shanghai);
            assert_eq!(local.time(), ten, "visit {} due {local}", visit.sequence);
            assert!(calendar.is_working_day(local.date_naive()), "{local}");
            let expected = expected.timestamp();
            assert!(
                (due - expected).abs() < 120,
                "visit {} due {due}, expected {expected}",
                visit.sequence
            );
            assert_eq!(visit.status, pb::VisitStatus::Scheduled as i32);
            assert_eq!(visit.team, "customer-service");
            assert_eq!(visit.agent_id, "agent-1", "the agent who took the call");
            assert!(!visit.overdue);
        }
        assert_eq!(
            list(&customer).await.unwrap().len(),
            2,
            "the customer sees its own"
        );
        assert_eq!(list(&stranger).await.unwrap_err().code(), Code::NotFound);
        let (v1, v2) = (visits[0].visit_id.clone(), visits[1].visit_id.clone());

        // An added visit, then moved.
        let err = client
            .add_visit(authed(
                pb::AddVisitRequest {
                    request_id: "add-0".into(),
                    ticket_id: ticket.clone(),
                    due_time: None,
                    agent_id: String::new(),
                    reason: String::new(),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["due_time", "reason"]);
        let in_a_week = Utc::now() + TimeDelta::days(7);
        let added = client
            .add_visit(authed(
                pb::AddVisitRequest {
                    request_id: "add-1".into(),
                    ticket_id: ticket.clone(),
                    due_time: Some(to_timestamp(in_a_week)),
                    agent_id: "agent-2".into(),
                    reason: "the customer asked for a check after the typhoon".into(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visit
            .unwrap();
        assert_eq!(added.sequence, 3);
        let v3 = added.visit_id.clone();
        let moved = client
            .reschedule_visit(authed(
                pb::RescheduleVisitRequest {
                    request_id: "mv-1".into(),
                    visit_id: v3.clone(),
                    due_time: Some(to_timestamp(in_a_week + TimeDelta::days(1))),
                    reason: "the site manager is away".into(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visit
            .unwrap();
        assert_eq!(
            moved.due_time.unwrap().seconds,
            (in_a_week + TimeDelta::days(1)).timestamp()
        );

        // The call list: agent-1's visits due within three months, a page at a time.
        let within = Utc::now() + TimeDelta::days(95);
        let due =
            |page_token: String, agent_id: &str, overdue_only: bool| pb::ListDueVisitsRequest {
                agent_id: agent_id.into(),
                team: "customer-service".into(),
                due_before: Some(to_timestamp(within)),
                overdue_only,
                page_size: 1,
                page_token,
            };
        let first = client
            .list_due_visits(authed(due(String::new(), "agent-1", false), &agent))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.visits.len(), 1);
        assert_eq!(first.visits[0].visit_id, v1);
        let second = client
            .list_due_visits(authed(due(first.next_page_token, "agent-1", false), &agent))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(second.visits[0].visit_id, v2);
        assert!(second.next_page_token.is_empty());
        let overdue = client
            .list_due_visits(authed(due(String::new(), "", true), &agent))
            .await
            .unwrap()
            .into_inner();
        assert!(overdue.visits.is_empty(), "nothing is overdue yet");
        let err = client
            .list_due_visits(authed(due(String::new(), "", false), &customer))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        // --- Attempts at the first visit --------------------------------------------------
        let err = client
            .record_visit_attempt(authed(
                pb::RecordVisitAttemptRequest {
                    contact: None,
                    ..attempt("a-0", &v1, pb::AttemptOutcome::Reached)
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["contact.display_name", "condition"]);
        let err = client
            .record_visit_attempt(authed(
                pb::RecordVisitAttemptRequest {
                    recurred: true,
                    ..attempt("a-0", &v1, pb::AttemptOutcome::Unreachable)
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["recurred", "recurrence_description"]);
        let err = client
            .record_visit_attempt(authed(
                attempt("a-0", &v1, pb::AttemptOutcome::Rescheduled),
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["reschedule_time"]);
        let err = client
            .record_visit_attempt(authed(
                reached("a-0", &v1, pb::PartCondition::Defective),
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            fields(&err),
            ["recurred"],
            "a defective part is a recurrence"
        );
        let err = client
            .record_visit_attempt(authed(
                attempt("a-0", &v1, pb::AttemptOutcome::Unreachable),
                &crew,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let nobody = client
            .record_visit_attempt(authed(
                attempt("a-1", &v1, pb::AttemptOutcome::Unreachable),
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        let visit = nobody.visit.unwrap();
        assert_eq!(visit.status, pb::VisitStatus::Scheduled as i32);
        assert_eq!(visit.attempts.len(), 1, "refusals stored nothing");
        let later = Utc::now() + TimeDelta::days(2);
        let moved = client
            .record_visit_attempt(authed(
                pb::RecordVisitAttemptRequest {
                    reschedule_time: Some(to_timestamp(later)),
                    ..attempt("a-2", &v1, pb::AttemptOutcome::Rescheduled)
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visit
            .unwrap();
        assert_eq!(moved.due_time.unwrap().seconds, later.timestamp());
        assert_eq!(moved.attempts.len(), 2);

        // Reached: the gutter leaks again. A new ticket opens, linked to the case.
        let recurrence = pb::RecordVisitAttemptRequest {
            recurred: true,
            recurrence_description: "天沟又漏水了，下雨时滴水".into(),
            ..reached("a-3", &v1, pb::PartCondition::Defective)
        };
        let found = client
            .record_visit_attempt(authed(recurrence.clone(), &agent))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            found.visit.as_ref().unwrap().status,
            pb::VisitStatus::Done as i32
        );
        assert_eq!(
            found.state,
            common::CaseState::Archived as i32,
            "visits remain"
        );
        let again_ticket = found.recurrence_ticket_id.clone();
        assert!(!again_ticket.is_empty());
        let replay = client
            .record_visit_attempt(authed(recurrence, &agent))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            replay.recurrence_ticket_id, again_ticket,
            "a retry opens no second ticket"
        );
        let linked = desk.ticket(&again_ticket).await;
        assert_eq!(linked.related_case_id, ticket);
        assert_eq!(linked.project_id, desk.office.project_id);
        let err = client
            .record_visit_attempt(authed(
                attempt("a-4", &v1, pb::AttemptOutcome::Unreachable),
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains("Done"), "{}", err.message());

        // --- Satisfaction -----------------------------------------------------------------
        let survey = |request_id: &str, visit: &str, s: pb::SatisfactionScores| {
            pb::SubmitSatisfactionRequest {
                request_id: request_id.into(),
                ticket_id: ticket.clone(),
                visit_id: visit.into(),
                scores: Some(s),
                comment: "快，但天沟又漏了".into(),
                respondent: None,
            }
        };
        let err = client
            .submit_satisfaction(authed(survey("q-0", &v1, scores(6)), &customer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["scores.overall"]);
        // Communication and coordination is one of the five: it cannot be left out.
        let err = client
            .submit_satisfaction(authed(
                survey(
                    "q-0",
                    &v1,
                    pb::SatisfactionScores {
                        communication: None,
                        ..scores(4)
                    },
                ),
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["scores.communication"]);
        // A manager is appraised on these scores and cannot write them.
        let err = client
            .submit_satisfaction(authed(survey("q-0", &v1, scores(4)), &manager))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
        let err = client
            .submit_satisfaction(authed(survey("q-0", &v1, scores(4)), &agent))
            .await
            .unwrap_err();
        assert_eq!(
            fields(&err),
            ["respondent.display_name"],
            "an agent names who answered"
        );
        let err = client
            .submit_satisfaction(authed(survey("q-0", &v1, scores(4)), &stranger))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let stored = client
            .submit_satisfaction(authed(survey("q-1", &v1, scores(4)), &customer))
            .await
            .unwrap()
            .into_inner()
            .satisfaction
            .unwrap();
        assert_eq!(stored.scores, Some(scores(4)));
        let err = client
            .submit_satisfaction(authed(
                pb::SubmitSatisfactionRequest {
                    respondent: Some(person("Li Wei")),
                    ..survey("q-2", &v1, scores(2))
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::AlreadyExists,
            "one survey per case and visit"
        );
        let surveys = client
            .list_satisfaction(authed(
                pb::ListSatisfactionRequest {
                    ticket_id: ticket.clone(),
                },
                &customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .surveys;
        assert_eq!(surveys, std::slice::from_ref(&stored));
        let get = |token: &str| {
            let mut client = reader.clone();
            let request = authed(
                pb::GetSatisfactionRequest {
                    satisfaction_id: stored.satisfaction_id.clone(),
                },
                token,
            );
            async move { client.get_satisfaction(request).await }
        };
        assert_eq!(
            get(&auditor).await.unwrap().into_inner().satisfaction,
            Some(stored.clone())
        );
        assert_eq!(get(&stranger).await.unwrap_err().code(), Code::NotFound);

        // --- The last visit closes the case ---------------------------------------------
        let done = client
            .record_visit_attempt(authed(reached("a-5", &v2, pb::PartCondition::Good), &agent))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(done.state, common::CaseState::Archived as i32);
        let done = client
            .record_visit_attempt(authed(
                reached("a-6", &v3, pb::PartCondition::MinorSigns),
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(done.state, common::CaseState::Closed as i32);
        assert_eq!(desk.state(&ticket).await, common::CaseState::Closed);
        let err = client
            .decline_visits(authed(
                pb::DeclineVisitsRequest {
                    request_id: "no-1".into(),
                    ticket_id: ticket.clone(),
                    reason: "too many calls".into(),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(steelcare_tests::refused_state(&err), "CLOSED", "{err:?}");

        // --- The figures --------------------------------------------------------------------
        let total = outcomes_until(&mut client, &manager, |o| {
            o.cases == 2
                && o.recurrence_rate > 0.0
                && o.satisfaction.as_ref().is_some_and(|s| s.surveys == 1)
        })
        .await;
        let whole = total.total.unwrap();
        assert_eq!(whole.recurrence_rate, 0.5, "one of two cases recurred");
        assert_eq!(
            whole.rework_rate, 1.0,
            "the one repaired case took two rounds"
        );
        assert!(whole.mean_hours_to_resolve >= 0.0);
        let s = whole.satisfaction.unwrap();
        assert_eq!(
            (
                s.response_speed,
                s.service_attitude,
                s.professional_competence,
                s.fix_effect,
                s.communication,
                s.overall
            ),
            (5.0, 5.0, 4.0, 4.0, 3.0, 4.0)
        );
        assert_eq!((s.communication_surveys, s.overall_surveys), (1, 1));
        assert!(whole.on_time_share > 0.0, "{whole:?}");
        assert_eq!(total.months.len(), 1);
        assert_eq!(total.months[0].cases, 2);

        let by = |dimension: pb::Dimension, token: &str| {
            let mut client = reader.clone();
            let request = authed(breakdown(dimension), token);
            async move { client.problem_breakdown(request).await }
        };
        let categories = by(pb::Dimension::Category, &manager)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(categories.total_cases, 2);
        assert_eq!(rows(&categories), [("leakage".to_owned(), 2.0)]);
        assert_eq!(categories.rows[0].label_zh, "渗漏");
        assert_eq!(categories.rows[0].share, 1.0);
        let locations = by(pb::Dimension::Location, &engineer)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rows(&locations), [("gutter".to_owned(), 2.0)]);
        assert_eq!(locations.rows[0].label_en, "gutter and downpipe");
        let causes = by(pb::Dimension::RootCause, &auditor)
            .await
            .unwrap()
            .into_inner();
        // The recurrence carries its original's diagnosis, marked as inherited, until it is
        // surveyed again: the cause's share does not drop when the defect comes back.
        assert_eq!(rows(&causes), [("workmanship".to_owned(), 2.0)]);
        assert_eq!(
            (causes.rows[0].recurrences, causes.rows[0].inherited),
            (1.0, 1.0)
        );
        assert_eq!(
            categories.rows[0].recurrences, 1.0,
            "one new case, one recurrence"
        );
        let parties = by(pb::Dimension::ResponsibleParty, &chief)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rows(&parties), [("contractor".to_owned(), 2.0)]);
        assert_eq!(parties.rows[0].inherited, 1.0);
        let structures = by(pb::Dimension::StructureType, &manager)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rows(&structures), [("portal_frame".to_owned(), 2.0)]);
        let projects = by(pb::Dimension::Project, &manager)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rows(&projects), [(desk.office.project_id.clone(), 2.0)]);
        assert_ne!(projects.rows[0].label_en, desk.office.project_id, "named");
        let months = by(pb::Dimension::Month, &manager)
            .await
            .unwrap()
            .into_inner();
        let this_month = (Utc::now() + TimeDelta::hours(8))
            .format("%Y-%m")
            .to_string();
        assert_eq!(rows(&months), [(this_month, 2.0)]);
        // Closed basis: only the visited case has closed.
        let closed = client
            .problem_breakdown(authed(
                pb::ProblemBreakdownRequest {
                    period: Some(period(pb::PeriodBasis::Closed)),
                    ..breakdown(pb::Dimension::Category)
                },
                &manager,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(closed.total_cases, 1);
        // A customer sees its own organisation's figures, another customer none of them.
        let own = by(pb::Dimension::Category, &customer)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(own.total_cases, 2);
        let theirs = by(pb::Dimension::Category, &stranger)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.total_cases, 0);
        assert!(theirs.rows.is_empty());
        let theirs = client
            .case_outcomes(authed(
                pb::CaseOutcomesRequest {
                    period: Some(period(pb::PeriodBasis::Created)),
                    filter: Some(pb::CaseFilter {
                        customer_id: customer_id.clone(),
                        ..Default::default()
                    }),
                    monthly: false,
                },
                &stranger,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            theirs.total.unwrap().cases,
            0,
            "asking for another's is no way in"
        );
        assert_eq!(
            by(pb::Dimension::Category, &crew).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        // Bad periods name the field.
        let err = client
            .problem_breakdown(authed(
                pb::ProblemBreakdownRequest {
                    period: Some(pb::Period {
                        basis: 0,
                        ..period(pb::PeriodBasis::Created)
                    }),
                    ..breakdown(pb::Dimension::Category)
                },
                &manager,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["period.basis"]);
        let mut backwards = period(pb::PeriodBasis::Created);
        let range = backwards.range.as_mut().unwrap();
        std::mem::swap(&mut range.start_time, &mut range.end_time);
        let err = client
            .sla_compliance(authed(
                pb::SlaComplianceRequest {
                    period: Some(backwards),
                    filter: None,
                },
                &manager,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["period.range.end_time"]);
        let err = by(pb::Dimension::Unspecified, &manager).await.unwrap_err();
        assert_eq!(fields(&err), ["dimension"]);

        let sla = client
            .sla_compliance(authed(
                pb::SlaComplianceRequest {
                    period: Some(period(pb::PeriodBasis::Created)),
                    filter: None,
                },
                &manager,
            ))
            .await
            .unwrap()
            .into_inner();
        let response = sla
            .rows
            .iter()
            .find(|r| r.clock == steelcare_proto::events::v1::SlaClockKind::Response as i32)
            .unwrap_or_else(|| panic!("no response clock in {sla:?}"));
        assert!(response.met >= 1, "{response:?}");
        assert!(response.compliance > 0.0);

        let kpis = |subject: pb::KpiSubject, token: &str| {
            let mut client = reader.clone();
            let request = authed(
                pb::StaffKpisRequest {
                    period: Some(period(pb::PeriodBasis::Created)),
                    subject: subject as i32,
                },
                token,
            );
            async move { client.staff_kpis(request).await }
        };
        let technicians = kpis(pb::KpiSubject::Technician, &manager)
            .await
            .unwrap()
            .into_inner();
        assert!(
            technicians.attribution.contains("施工日志"),
            "{}",
            technicians.attribution
        );
        let crew_row = technicians
            .rows
            .iter()
            .find(|r| r.subject == "t-crew")
            .unwrap_or_else(|| panic!("{technicians:?}"));
        assert_eq!(crew_row.cases, 1);
        assert_eq!(crew_row.first_time_acceptance, 0.0);
        assert_eq!(crew_row.rectification_rounds, 2.0);
        assert!(crew_row.archive_completeness > 0.5);
        // The mean of the five dimensions (5, 5, 4, 4, 3), not the overall score.
        assert_eq!(crew_row.satisfaction, 4.2);
        assert_eq!(
            crew_row.recurrences_found_at_visits, 1,
            "the first visit found the gutter leaking again"
        );
        let agents = kpis(pb::KpiSubject::Agent, &auditor)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            agents
                .rows
                .iter()
                .map(|r| (r.subject.as_str(), r.cases))
                .collect::<Vec<_>>(),
            [("agent-1", 2)],
            "the original call and the recurrence"
        );
        assert_eq!(agents.rows[0].recurrences_found_at_visits, 1);
        let teams = kpis(pb::KpiSubject::Team, &manager)
            .await
            .unwrap()
            .into_inner();
        assert!(!teams.rows.is_empty());
        assert_eq!(
            kpis(pb::KpiSubject::Agent, &customer)
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let err = kpis(pb::KpiSubject::Unspecified, &manager)
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["subject"]);

        // CSV of a breakdown, streamed.
        let mut stream = client
            .export_csv(authed(
                pb::ExportCsvRequest {
                    report: pb::Report::ProblemBreakdown as i32,
                    period: Some(period(pb::PeriodBasis::Created)),
                    dimension: pb::Dimension::Location as i32,
                    subject: 0,
                    filter: None,
                },
                &manager,
            ))
            .await
            .unwrap()
            .into_inner();
        let mut csv = Vec::new();
        while let Some(chunk) = stream.next().await {
            csv.extend(chunk.unwrap().chunk);
        }
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "key,label_zh,label_en,cases,share,recurrences,inherited\r\ngutter,天沟檐沟,gutter and downpipe,2,1,1,1\r\n"
        );
        let mut stream = client
            .export_csv(authed(
                pb::ExportCsvRequest {
                    report: pb::Report::CaseOutcomes as i32,
                    period: Some(period(pb::PeriodBasis::Created)),
                    ..Default::default()
                },
                &manager,
            ))
            .await
            .unwrap()
            .into_inner();
        let mut csv = Vec::new();
        while let Some(chunk) = stream.next().await {
            csv.extend(chunk.unwrap().chunk);
        }
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with("month,cases,recurrence_rate,"), "{csv}");
        assert!(csv.contains("\r\ntotal,2,0.5,1,"), "{csv}");
        let err = client
            .export_csv(authed(
                pb::ExportCsvRequest {
                    report: pb::Report::StaffKpis as i32,
                    period: Some(period(pb::PeriodBasis::Created)),
                    subject: pb::KpiSubject::Agent as i32,
                    ..Default::default()
                },
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        // The figures are a projection: emptied, they come back whole from the records, the
        // cases rebuilt together (an original with its recurrence) as each rebuilt alone.
        let before = outcomes_until(&mut client, &manager, |_| true).await;
        let db = desk.office.app.db.clone();
        use sea_orm::EntityTrait;
        use steelcare_store::entity::{case_fact_parties, case_fact_staff, case_facts};
        // The closed case's clocks are stopped by intake's consumer of the repair's events:
        // wait until they are, so that both readings below see the same records.
        let settle = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            steelcare_feedback::facts::refresh(&db, chrono_tz::Asia::Shanghai, &ticket)
                .await
                .unwrap();
            let facts = stored_facts(&db).await.0;
            let closed = facts.iter().find(|f| f.ticket_id == ticket);
            if closed.is_some_and(|f| f.clock_solution != 1 && f.clock_completion != 1) {
                break;
            }
            assert!(tokio::time::Instant::now() < settle, "{closed:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let one_by_one = {
            let ids: Vec<String> = stored_facts(&db)
                .await
                .0
                .into_iter()
                .map(|f| f.ticket_id)
                .collect();
            for id in &ids {
                steelcare_feedback::facts::refresh(&db, chrono_tz::Asia::Shanghai, id)
                    .await
                    .unwrap();
            }
            stored_facts(&db).await
        };
        assert!(one_by_one.0.len() >= 2, "{:?}", one_by_one.0);
        assert!(one_by_one.0.iter().any(|f| f.root_cause_inherited == 1));
        case_fact_staff::Entity::delete_many()
            .exec(&db)
            .await
            .unwrap();
        case_fact_parties::Entity::delete_many()
            .exec(&db)
            .await
            .unwrap();
        case_facts::Entity::delete_many().exec(&db).await.unwrap();
        assert_eq!(
            by(pb::Dimension::Category, &manager)
                .await
                .unwrap()
                .into_inner()
                .total_cases,
            0
        );
        let rebuilt = steelcare_feedback::worker::rebuild_all(&db, chrono_tz::Asia::Shanghai)
            .await
            .unwrap();
        assert!(rebuilt >= 2, "{rebuilt}");
        assert_eq!(stored_facts(&db).await, one_by_one);
        assert_eq!(
            outcomes_until(&mut client, &manager, |_| true).await,
            before
        );
        assert_eq!(
            rows(
                &by(pb::Dimension::ResponsibleParty, &manager)
                    .await
                    .unwrap()
                    .into_inner()
            ),
            rows(&parties)
        );

        // --- Corrective actions -----------------------------------------------------------
        let gutter_leaks = pb::Pattern {
            category: common::ProblemCategory::Leakage as i32,
            location: "gutter".into(),
            structure_type: intake::StructureType::PortalFrame as i32,
        };
        let raise =
            |request_id: &str, cases: Vec<String>, pattern: Option<pb::Pattern>, days: i32| {
                pb::RaiseCorrectiveActionRequest {
                    request_id: request_id.into(),
                    department: pb::Department::Construction as i32,
                    title: "Seal gutter outlets with a second membrane".into(),
                    description: "Two leaks at gutter outlets of portal frames".into(),
                    owner: Some(common::PersonRef {
                        user_id: "eng-1".into(),
                        ..person("Zhang San")
                    }),
                    due_date: Some(day(-1)),
                    case_ids: cases,
                    pattern,
                    verification_days: days,
                }
            };
        let err = client
            .raise_corrective_action(authed(raise("ca-0", vec![], None, 0), &engineer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["case_ids"]);
        // The owner must be a person of the department the action goes to.
        let err = client
            .raise_corrective_action(authed(
                raise("ca-0", vec![ticket.clone()], None, 0),
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["owner.user_id"], "{}", err.message());
        let members = |people: Vec<common::PersonRef>| pb::SetDepartmentMembersRequest {
            department: pb::Department::Construction as i32,
            members: people,
        };
        let zhang = common::PersonRef {
            user_id: "eng-1".into(),
            ..person("Zhang San")
        };
        let err = client
            .set_department_members(authed(members(vec![zhang.clone()]), &engineer))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = client
            .set_department_members(authed(
                members(vec![zhang.clone(), zhang.clone()]),
                &manager,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["members[1].user_id"]);
        client
            .set_department_members(authed(members(vec![zhang.clone()]), &manager))
            .await
            .unwrap();
        let listed = client
            .list_department_members(authed(
                pb::ListDepartmentMembersRequest {
                    department: pb::Department::Construction as i32,
                },
                &auditor,
            ))
            .await
            .unwrap()
            .into_inner()
            .members;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].user_id, "eng-1");
        let err = client
            .raise_corrective_action(authed(
                raise("ca-0", vec!["no-such-case".into()], None, 0),
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let err = client
            .raise_corrective_action(authed(raise("ca-0", vec![ticket.clone()], None, 0), &agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let first = client
            .raise_corrective_action(authed(
                raise("ca-1", vec![ticket.clone()], Some(gutter_leaks.clone()), 0),
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .action
            .unwrap();
        assert_eq!(first.verification_days, 90, "the configured default");
        assert!(first.overdue, "due yesterday");
        let overdue = client
            .list_corrective_actions(authed(
                pb::ListCorrectiveActionsRequest {
                    overdue_only: true,
                    ..Default::default()
                },
                &auditor,
            ))
            .await
            .unwrap()
            .into_inner()
            .actions;
        assert_eq!(
            overdue
                .iter()
                .map(|a| a.action_id.as_str())
                .collect::<Vec<_>>(),
            [first.action_id.as_str()]
        );
        let update = |request_id: &str,
                      action: &str,
                      status: pb::ActionStatus,
                      fix: Option<common::Date>| {
            pb::UpdateCorrectiveActionRequest {
                request_id: request_id.into(),
                action_id: action.into(),
                status: status as i32,
                note: "membrane fitted on the remaining outlets".into(),
                fix_date: fix,
                fix_date_reason: "fitted on site before the action was written up".into(),
            }
        };
        let err = client
            .update_corrective_action(authed(
                update("u-0", &first.action_id, pb::ActionStatus::FixDeployed, None),
                &crew,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = client
            .update_corrective_action(authed(
                update("u-0", &first.action_id, pb::ActionStatus::FixDeployed, None),
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["fix_date"]);
        let err = client
            .verify_corrective_action(authed(
                pb::VerifyCorrectiveActionRequest {
                    request_id: "vf-0".into(),
                    action_id: first.action_id.clone(),
                },
                &chief,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "no fix yet");
        // A fix dated before the action was raised needs a reason.
        let err = client
            .update_corrective_action(authed(
                pb::UpdateCorrectiveActionRequest {
                    fix_date_reason: String::new(),
                    ..update(
                        "u-1",
                        &first.action_id,
                        pb::ActionStatus::FixDeployed,
                        Some(day(-10)),
                    )
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["fix_date_reason"], "{}", err.message());
        // Fixed ten days ago: the recurrence today falls in its 90-day window.
        client
            .update_corrective_action(authed(
                update(
                    "u-1",
                    &first.action_id,
                    pb::ActionStatus::FixDeployed,
                    Some(day(-10)),
                ),
                &engineer,
            ))
            .await
            .unwrap();
        let err = client
            .verify_corrective_action(authed(
                pb::VerifyCorrectiveActionRequest {
                    request_id: "vf-1".into(),
                    action_id: first.action_id.clone(),
                },
                &chief,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains(&again_ticket), "{}", err.message());
        // With a three-day window the same fix is verified: nothing recurred in it. A second
        // open action on the pattern is flagged with the first.
        let raised = client
            .raise_corrective_action(authed(
                raise("ca-2", vec![], Some(gutter_leaks.clone()), 3),
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            raised.other_open_action_ids,
            std::slice::from_ref(&first.action_id)
        );
        let short = raised.action.unwrap();
        let owner = desk.office.app.token("eng-1", &[Role::Technician], None);
        client
            .update_corrective_action(authed(
                update(
                    "u-2",
                    &short.action_id,
                    pb::ActionStatus::FixDeployed,
                    Some(day(-10)),
                ),
                &owner,
            ))
            .await
            .expect("the owner records progress");
        let verified = client
            .verify_corrective_action(authed(
                pb::VerifyCorrectiveActionRequest {
                    request_id: "vf-2".into(),
                    action_id: short.action_id.clone(),
                },
                &chief,
            ))
            .await
            .unwrap()
            .into_inner()
            .action
            .unwrap();
        assert_eq!(verified.status, pb::ActionStatus::ClosedEffective as i32);
        assert!(!verified.overdue);
        assert_eq!(verified.updates.len(), 2);
        let err = client
            .update_corrective_action(authed(
                update("u-3", &short.action_id, pb::ActionStatus::InProgress, None),
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        // Fixed today with a 30-day window: still open.
        let fresh = client
            .raise_corrective_action(authed(
                raise("ca-3", vec![], Some(gutter_leaks), 30),
                &manager,
            ))
            .await
            .unwrap()
            .into_inner()
            .action
            .unwrap();
        client
            .update_corrective_action(authed(
                update(
                    "u-4",
                    &fresh.action_id,
                    pb::ActionStatus::FixDeployed,
                    Some(day(0)),
                ),
                &manager,
            ))
            .await
            .unwrap();
        let err = client
            .verify_corrective_action(authed(
                pb::VerifyCorrectiveActionRequest {
                    request_id: "vf-3".into(),
                    action_id: fresh.action_id.clone(),
                },
                &manager,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains("open until"), "{}", err.message());
        let got = client
            .get_corrective_action(authed(
                pb::GetCorrectiveActionRequest {
                    action_id: fresh.action_id.clone(),
                },
                &auditor,
            ))
            .await
            .unwrap()
            .into_inner()
            .action
            .unwrap();
        assert_eq!(got.status, pb::ActionStatus::FixDeployed as i32);
        let closed_ones = client
            .list_corrective_actions(authed(
                pb::ListCorrectiveActionsRequest {
                    status: pb::ActionStatus::ClosedEffective as i32,
                    ..Default::default()
                },
                &auditor,
            ))
            .await
            .unwrap()
            .into_inner()
            .actions;
        assert_eq!(closed_ones.len(), 1);

        // --- The Pareto a quality manager asks for ------------------------------------------
        let pareto = client
            .problem_pareto(authed(
                pb::ProblemParetoRequest {
                    period: Some(period(pb::PeriodBasis::Created)),
                    filter: None,
                },
                &manager,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(pareto.total_cases, 2);
        let row = &pareto.rows[0];
        assert_eq!(
            (
                row.category.as_str(),
                row.location.as_str(),
                row.root_cause.as_str()
            ),
            ("leakage", "gutter", "workmanship")
        );
        assert_eq!((row.cases, row.recurrences, row.inherited), (2, 1, 1));
        assert_eq!((row.cumulative_share, row.vital_few), (1.0, true));
        assert_eq!(row.label_zh, "渗漏 · 天沟檐沟 · 施工工艺", "{row:?}");
        assert_eq!(
            row.effective_action_ids,
            std::slice::from_ref(&short.action_id)
        );
        assert_eq!(row.deployed_action_ids.len(), 2);
        assert!(
            row.second_open_action,
            "two actions on one pattern are open"
        );
        let err = client
            .problem_pareto(authed(pb::ProblemParetoRequest::default(), &manager))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["period"]);

        // --- The pattern comes back: the action verified effective reopens, and says so ----
        let project = desk.office.project_id.clone();
        let back = desk
            .office
            .ticket_in(&project, "仓库屋面天沟又漏水了")
            .await
            .ticket_id;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let reopened = loop {
            let got = client
                .get_corrective_action(authed(
                    pb::GetCorrectiveActionRequest {
                        action_id: short.action_id.clone(),
                    },
                    &auditor,
                ))
                .await
                .unwrap()
                .into_inner()
                .action
                .unwrap();
            if got.status == pb::ActionStatus::Open as i32 {
                break got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not reopened: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // The system's notes keep their facts and read in the reader's language: the
        // deployment's default (Chinese), and English for a reader who asks for it.
        let note = &reopened.updates.last().unwrap().note;
        assert!(note.starts_with("重新打开：措施验证有效后，"), "{note}");
        assert!(note.contains(&back), "{note}");
        assert!(
            reopened.updates[1].note.starts_with("验证有效："),
            "{:?}",
            reopened.updates[1]
        );
        assert_eq!(reopened.updates.len(), 3);
        let in_english = client
            .get_corrective_action(in_language(
                authed(
                    pb::GetCorrectiveActionRequest {
                        action_id: short.action_id.clone(),
                    },
                    &auditor,
                ),
                "en",
            ))
            .await
            .unwrap()
            .into_inner()
            .action
            .unwrap();
        let notes: Vec<&str> = in_english.updates.iter().map(|u| u.note.as_str()).collect();
        assert!(notes[2].starts_with("reopened: ticket "), "{notes:?}");
        assert!(notes[2].contains(&back), "{notes:?}");
        assert!(
            notes[1].starts_with("verified effective: no recurrence in the "),
            "{notes:?}"
        );
        // A person's own note reads as they wrote it, in any language.
        assert_eq!(notes[0], reopened.updates[0].note);

        // The whole case, read through every service by a Chinese reader: no English text
        // of the catalogue reaches them (only the fields English by contract).
        use crate::language::catalogue_text_read_in as read;
        let english = read("zh-CN", "en", &desk, &ticket, &manager).await;
        assert!(english.is_empty(), "{english:#?}");
        // And the other way round: an English reader reads no Chinese of the catalogue.
        let chinese = read("en", "zh-CN", &desk, &ticket, &manager).await;
        assert!(chinese.is_empty(), "{chinese:#?}");
        // The check sees a language where it is: each reader reads their own.
        let english = read("en", "en", &desk, &ticket, &manager).await;
        assert!(english.len() >= 3, "{english:#?}");
        let chinese = read("zh-CN", "zh-CN", &desk, &ticket, &manager).await;
        assert!(chinese.len() >= 3, "{chinese:#?}");
    }
}

/// A customer who declines return visits closes the case, with the reason; the visits are
/// cancelled and an attempt at one is refused.
#[tokio::test]
async fn declining_visits_cancels_them_and_closes_the_case() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let mut client = FeedbackServiceClient::new(desk.office.app.channel().await);
        let agent = desk.office.agent.clone();
        let ticket = archived_case(&mut desk).await;
        let visits = visits_when(&client, &ticket, &agent, 3).await;
        let err = client
            .decline_visits(authed(
                pb::DeclineVisitsRequest {
                    request_id: "no-1".into(),
                    ticket_id: ticket.clone(),
                    reason: String::new(),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["reason"]);
        let declined = client
            .decline_visits(authed(
                pb::DeclineVisitsRequest {
                    request_id: "no-2".into(),
                    ticket_id: ticket.clone(),
                    reason: "the building has been sold".into(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(declined.state, common::CaseState::Closed as i32);
        let visits_after = client
            .list_visits(authed(
                pb::ListVisitsRequest {
                    ticket_id: ticket.clone(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visits;
        assert!(
            visits_after
                .iter()
                .all(|v| v.status == pb::VisitStatus::Cancelled as i32
                    && v.reason == "客户谢绝回访：the building has been sold"),
            "{visits_after:?}"
        );
        let err = client
            .record_visit_attempt(authed(
                attempt("a-1", &visits[0].visit_id, pb::AttemptOutcome::Unreachable),
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(desk.state(&ticket).await, common::CaseState::Closed);
    }
}

/// Two feedback processes on one database and Redis, with Redis emptied right after the
/// archive: the visits are scheduled once; two agents recording the same visit at once, or
/// the same survey, store one.
#[tokio::test]
async fn two_processes_and_a_lost_redis_schedule_once_and_record_once() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let replica = desk.office.app.replica(&[]).await;
        let clients = [
            FeedbackServiceClient::new(desk.office.app.channel().await),
            FeedbackServiceClient::new(replica.channel().await),
        ];
        let agent = desk.office.agent.clone();
        let customer = desk.customer.clone();
        let ticket = archived_case(&mut desk).await;
        crate::dispatch::lose_the_queue(&desk.office.app).await;

        let mut client = clients[1].clone();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let visits = loop {
            let visits = client
                .list_visits(authed(
                    pb::ListVisitsRequest {
                        ticket_id: ticket.clone(),
                    },
                    &agent,
                ))
                .await
                .unwrap()
                .into_inner()
                .visits;
            if visits.len() >= 3 {
                break visits;
            }
            assert!(tokio::time::Instant::now() < deadline, "{visits:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = client
            .list_visits(authed(
                pb::ListVisitsRequest {
                    ticket_id: ticket.clone(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visits;
        assert_eq!(
            again.iter().map(|v| v.sequence).collect::<Vec<_>>(),
            [1, 2, 3],
            "scheduled once, whichever process took the event"
        );
        let visit = visits[0].visit_id.clone();

        // The same visit recorded by two agents at once, through both processes.
        let mut tasks = Vec::new();
        for (i, client) in clients.iter().enumerate() {
            let mut client = client.clone();
            let (visit, agent) = (visit.clone(), agent.clone());
            tasks.push(tokio::spawn(async move {
                client
                    .record_visit_attempt(authed(
                        reached(&format!("race-{i}"), &visit, pb::PartCondition::Good),
                        &agent,
                    ))
                    .await
            }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(err) => assert!(
                    matches!(err.code(), Code::FailedPrecondition | Code::Aborted),
                    "{err:?}"
                ),
            }
        }
        assert_eq!(won, 1);
        let stored = client
            .get_visit(authed(
                pb::GetVisitRequest {
                    visit_id: visit.clone(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visit
            .unwrap();
        assert_eq!(stored.attempts.len(), 1);

        // The same survey from both processes at once.
        let mut tasks = Vec::new();
        for (i, client) in clients.iter().enumerate() {
            let mut client = client.clone();
            let (visit, ticket, customer) = (visit.clone(), ticket.clone(), customer.clone());
            tasks.push(tokio::spawn(async move {
                client
                    .submit_satisfaction(authed(
                        pb::SubmitSatisfactionRequest {
                            request_id: format!("survey-{i}"),
                            ticket_id: ticket,
                            visit_id: visit,
                            scores: Some(scores(5)),
                            comment: String::new(),
                            respondent: None,
                        },
                        &customer,
                    ))
                    .await
            }));
        }
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(err) => assert!(
                    matches!(err.code(), Code::AlreadyExists | Code::Aborted),
                    "{err:?}"
                ),
            }
        }
        assert_eq!(won, 1);
        let surveys = client
            .list_satisfaction(authed(
                pb::ListSatisfactionRequest {
                    ticket_id: ticket.clone(),
                },
                &customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .surveys;
        assert_eq!(surveys.len(), 1);
    }
}

/// A case's facts stored before the survey asked MISSION's five dimensions keep their sums
/// under the new names, gain no communication score (unknown: neither a sum nor a count), and
/// count their overall scores as given; on both databases.
#[tokio::test]
async fn stored_survey_sums_survive_the_move_to_the_five_dimensions() {
    use sea_orm::{ConnectionTrait, EntityTrait};
    use sea_orm_migration::MigratorTrait;
    use steelcare_store::Migrator;
    use steelcare_store::entity::case_facts;

    let mut databases = vec![steelcare_tests::fresh_sqlite()];
    if let Some(url) = steelcare_tests::postgres_url() {
        databases.push(steelcare_tests::fresh_postgres(&url).await);
    }
    for fresh in &databases {
        let db = steelcare_store::connect(&fresh.url, 2).await.unwrap();
        // Up to the migration before the five dimensions, then a case with two surveys.
        Migrator::up(&db, Some(12)).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO case_facts (ticket_id, customer_id, project_id, structure_type, \
             category, location, root_cause, tier, state, created_at_ms, created_month, \
             acceptance_rounds, recurred, sat_surveys, sat_response_speed, sat_technical_level, \
             sat_attitude, sat_repair_quality, sat_overall, clock_response, clock_arrival, \
             clock_solution, clock_completion, clock_appraisal, clocks_met, clocks_breached, \
             updated_at) VALUES ('t-old', 'c', 'p', 'portal_frame', 'leakage', 'roof', \
             'construction', 'P3', 'CLOSED', 0, '2026-11', 1, 0, 2, 9, 7, 10, 6, 8, 0, 0, 0, 0, \
             0, 0, 0, '2026-11-30T00:00:00Z')",
        )
        .await
        .unwrap();
        Migrator::up(&db, None).await.unwrap();
        let facts = case_facts::Entity::find_by_id("t-old")
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                facts.sat_surveys,
                facts.sat_response_speed,
                facts.sat_competence,
                facts.sat_attitude,
                facts.sat_fix_effect,
            ),
            (2, 9, 7, 10, 6),
            "{}",
            fresh.url
        );
        assert_eq!((facts.sat_overall, facts.sat_overall_n), (8, 2));
        assert_eq!(
            (facts.sat_communication, facts.sat_communication_n),
            (0, 0),
            "communication stays unknown"
        );
    }
}

/// Every case's facts (but when they were written), parties and staff, in key order.
async fn stored_facts(
    db: &steelcare_store::Database,
) -> (
    Vec<steelcare_store::entity::case_facts::Model>,
    Vec<(String, String, String)>,
    Vec<(String, String, String)>,
) {
    use sea_orm::{EntityTrait, QueryOrder};
    use steelcare_store::entity::{case_fact_parties, case_fact_staff, case_facts};
    let facts = case_facts::Entity::find()
        .order_by_asc(case_facts::Column::TicketId)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|f| case_facts::Model {
            updated_at: chrono::DateTime::UNIX_EPOCH,
            ..f
        })
        .collect();
    let mut parties: Vec<_> = case_fact_parties::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.ticket_id, p.party, format!("{:.6}", p.share)))
        .collect();
    parties.sort();
    let mut staff: Vec<_> = case_fact_staff::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.ticket_id, s.kind, s.subject))
        .collect();
    staff.sort();
    (facts, parties, staff)
}

/// The consumer marks a case and the facts worker rebuilds it; a mark left by a crash (the
/// facts gone, the mark still there) is rebuilt by the next worker, and the mark is cleared.
#[tokio::test]
async fn a_marked_case_is_rebuilt_by_the_facts_worker_even_after_a_crash() {
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    use steelcare_store::entity::{case_facts, facts_dirty};

    for backend in backends() {
        let mut office =
            crate::dispatch::Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        let ticket = office.ticket("屋面天沟漏水").await;
        let db = office.app.db.clone();
        let until = |what: &'static str| {
            let (db, ticket, name) = (db.clone(), ticket.clone(), backend.name());
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                loop {
                    let facts = case_facts::Entity::find_by_id(&ticket)
                        .one(&db)
                        .await
                        .unwrap();
                    let mark = facts_dirty::Entity::find_by_id(&ticket)
                        .one(&db)
                        .await
                        .unwrap();
                    if facts.is_some() && mark.is_none() {
                        return;
                    }
                    assert!(tokio::time::Instant::now() < deadline, "{what} {name}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        until("the ticket's facts").await;
        // A crash after the consumer marked the case and before the worker rebuilt it.
        case_facts::Entity::delete_by_id(&ticket)
            .exec(&db)
            .await
            .unwrap();
        facts_dirty::ActiveModel {
            ticket_id: Set(ticket.clone()),
            marked_at_ms: Set(Utc::now().timestamp_millis()),
        }
        .insert(&db)
        .await
        .unwrap();
        until("the facts rebuilt from the mark").await;
    }
}

#[tokio::test]
async fn clearing_marks_removes_those_read_and_keeps_a_mark_set_again_since() {
    use sea_orm::{EntityTrait, QueryOrder};
    use steelcare_feedback::facts;
    use steelcare_store::entity::facts_dirty;

    for backend in backends() {
        let (db, _keep) = steelcare_tests::migrated_database(&backend).await;
        // Many versions of the rows, live and dead, as a burst leaves the table.
        let cases: Vec<String> = (0..150).map(|i| format!("case-{i:03}")).collect();
        for _ in 0..3 {
            facts::mark_all_dirty(&db, &cases).await.unwrap();
        }
        let now = Utc::now().timestamp_millis() + 1_000;
        let read = facts::marked(&db, now, 120).await.unwrap();
        assert_eq!(read.len(), 120, "{}", backend.name());
        // After the read: one case read is marked again, one not read is marked anew.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let again = read[7].key.clone();
        facts::mark_all_dirty(&db, &[again.clone(), "case-new".to_owned()])
            .await
            .unwrap();

        let tx = steelcare_store::begin_write(&db).await.unwrap();
        facts::clear_marks(&tx, &read).await.unwrap();
        tx.commit().await.unwrap();

        let left: Vec<String> = facts_dirty::Entity::find()
            .order_by_asc(facts_dirty::Column::TicketId)
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.ticket_id)
            .collect();
        let mut expected: Vec<String> = (cases.iter())
            .filter(|c| !read.iter().any(|m| &m.key == *c))
            .cloned()
            .chain([again, "case-new".to_owned()])
            .collect();
        expected.sort();
        assert_eq!(left, expected, "{}", backend.name());
    }
}

#[tokio::test]
async fn visits_added_at_the_same_moment_each_take_a_number_of_their_own_and_the_policys_follow() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let client = FeedbackServiceClient::new(desk.office.app.channel().await);
        let agent = desk.office.agent.clone();
        // Added while the archive's event is still scheduling the case's own visits, and
        // beside each other: every one must be taken (a number taken meanwhile is retried).
        let ticket = archived_case(&mut desk).await;
        let calls = (0..6).map(|i| {
            let mut client = client.clone();
            let request = authed(
                pb::AddVisitRequest {
                    request_id: format!("same-moment-{i}"),
                    ticket_id: ticket.clone(),
                    due_time: Some(to_timestamp(Utc::now() + TimeDelta::days(7 + i))),
                    agent_id: String::new(),
                    reason: "the customer asked for a check after the typhoon".into(),
                },
                &agent,
            );
            async move { client.add_visit(request).await }
        });
        let mut numbers = Vec::new();
        for answer in futures::future::join_all(calls).await {
            let visit = answer.unwrap().into_inner().visit.unwrap();
            numbers.push(visit.sequence);
        }
        numbers.sort_unstable();
        numbers.dedup();
        let name = desk.office.app.backend.name();
        assert_eq!(numbers.len(), 6, "{name}: {numbers:?}");
        // And the customer's own visits (the default policy: 1, 3 and 6 months) still come,
        // numbered after the ones added first.
        let visits = visits_when(&client, &ticket, &agent, 9).await;
        let mut all: Vec<i32> = visits.iter().map(|v| v.sequence).collect();
        all.sort_unstable();
        assert_eq!(all, (1..=9).collect::<Vec<_>>(), "{name}");
    }
}

/// The case's visits once there are `count` of them, as `agent` lists them (within 10 s).
async fn visits_when(
    client: &FeedbackServiceClient<Channel>,
    ticket: &str,
    agent: &str,
    count: usize,
) -> Vec<pb::Visit> {
    let mut client = client.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let visits = client
            .list_visits(authed(
                pb::ListVisitsRequest {
                    ticket_id: ticket.to_owned(),
                },
                agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visits;
        if visits.len() == count {
            return visits;
        }
        assert!(tokio::time::Instant::now() < deadline, "{visits:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
