//! The office's screens (issue 25), in a browser on both backends, each step by the person
//! whose step it is: the engineer writes the plan in the editor (a refused field shown where it
//! is), the approvals inbox offers it to the technical lead and then to the chief engineer,
//! never to its author, and a return without a comment shows the server's refusal; the agent
//! records the call with the customer, the customer agrees, and the engineer prepares the
//! agreement for the customer's signature with the bearing worked out for the quote; after the
//! repair, the engineer self-inspects against the plan's criteria (a failing round, then a
//! passing one), records the customer's acceptance on their behalf and archives the accepted
//! case, which the agent is not offered; the agent calls
//! a visit due today from the call list: unanswered, then reached with a recurrence (a linked
//! ticket) and the survey; a corrective action is raised from the Pareto to construction, its
//! owner records the fix, and the manager's verification is refused while the window is open;
//! the administrator registers a technician (certificate and calibration flagged), warranty
//! terms, a visit policy and a person, imports a sheet, and sends again a notification that
//! failed (a chat robot that was unreachable).

use chrono::TimeDelta;
use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::notify::v1 as npb;
use steelcare_proto::notify::v1::notify_service_client::NotifyServiceClient;
use steelcare_proto::repair::v1 as pb;
use steelcare_tests::{authed, backends};

use crate::console::{chromium_or_skip, run_script};
use crate::dispatch::{date, roofer};
use crate::repair::{Desk, report_content, signature};
use steelcare_proto::acceptance::v1 as apb;
use steelcare_proto::acceptance::v1::acceptance_service_client::AcceptanceServiceClient;
use steelcare_proto::feedback::v1 as fpb;
use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;

#[tokio::test]
async fn a_case_goes_through_the_office_from_the_plan_to_the_archive() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    for backend in backends() {
        // A chat robot the operations group reads, unreachable until the administrator's
        // phase: its message about the ticket lands in the dead-letter list.
        let robot_port = steelcare_tests::receivers::free_port().await;
        let robot = format!("http://127.0.0.1:{robot_port}/cgi-bin/webhook/send?key=ops");
        let office = crate::dispatch::Office::open(
            &backend,
            &[
                ("STEELCARE__DISPATCH__WORKERS", "0"),
                ("STEELCARE__NOTIFY__WEBHOOKS__OPS__KIND", "wecom"),
                ("STEELCARE__NOTIFY__WEBHOOKS__OPS__URL", &robot),
                (
                    "STEELCARE__NOTIFY__WEBHOOKS__OPS__TOPICS",
                    "ticket-received",
                ),
                ("STEELCARE__NOTIFY__MAX_ATTEMPTS", "1"),
                ("STEELCARE__NOTIFY__POLL_INTERVAL_MS", "100"),
            ],
        )
        .await;
        let mut desk = Desk::on(office).await;
        desk.office.hire(roofer("t-lead", date(2030, 12, 31))).await;
        let mut crew = roofer("t-crew", date(2030, 12, 31));
        crew.person = Some(steelcare_tests::fixtures::person("钱师傅"));
        desk.office.hire(crew).await;
        let ticket = desk
            .surveyed_case("t-lead", TimeDelta::hours(2), true)
            .await;
        let engineer = desk.engineer.clone();
        desk.submit("r-1", &ticket, report_content(), &engineer)
            .await
            .unwrap();
        let people = serde_json::json!({
            "author": engineer,
            "reviewer": desk.reviewer,
            "chief": desk.chief,
            "agent": desk.office.agent,
            "customer": desk.customer,
            "owner": desk.office.app.token("eng-3", &[Role::Engineer], None),
            "manager": desk.manager,
            "admin": desk.office.app.token("admin-1", &[Role::Admin], None),
        });
        let address = desk.office.app.address.clone();
        let config = |phase: &str| {
            serde_json::json!({
                "url": address,
                "ticketId": ticket,
                "phase": phase,
                "crewName": "钱师傅",
                "tokens": people,
            })
        };
        run_script("office.mjs", config("plan"), &backend, &chromium, 6).await;
        let plan = desk
            .repair
            .get_plan(authed(
                pb::GetPlanRequest {
                    ticket_id: ticket.clone(),
                    version: 1,
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap_or_default();
        assert_eq!(
            plan.status,
            pb::PlanStatus::Agreed as i32,
            "approved, then agreed"
        );
        let content = plan.content.clone().unwrap_or_default();
        assert_eq!(content.crew_technician_ids, ["t-crew"]);
        assert_eq!(
            content.cost_estimate.map(|m| m.amount_minor),
            Some(8_000_000)
        );
        assert_eq!(content.materials[0].certificate_refs, ["QC-2026-118"]);
        let keys: Vec<bool> = content.steps.iter().map(|s| s.key_step).collect();
        assert_eq!(keys, [false, true]);
        assert_eq!(content.steps[1].quality_criteria[0].member, "G2");
        let reviewers: Vec<(String, bool)> = plan
            .reviews
            .iter()
            .map(|r| {
                let who = r.reviewer.as_ref().map(|a| a.subject.clone());
                (who.unwrap_or_default(), r.approved)
            })
            .collect();
        assert_eq!(
            reviewers,
            [("eng-2".to_owned(), true), ("chief-1".to_owned(), true)],
            "one review each, the refused return left nothing"
        );
        // The customer agreed; the agreement waits for their signature.
        assert_eq!(desk.state(&ticket).await, common::CaseState::PlanApproved);
        let agreement = desk.agreement(&ticket, &engineer).await;
        assert!(agreement.awaiting_customer_signature);
        assert_eq!(agreement.customer_obligations, ["Close bay 3 for a day"]);
        let signed = &agreement.signatures[0];
        assert_eq!(
            signed.evidence.as_ref().map(|e| e.content_type.as_str()),
            Some("image/png")
        );

        // The customer countersigns; the crew works and the engineer declares it finished.
        desk.repair
            .countersign_agreement(authed(
                pb::CountersignAgreementRequest {
                    request_id: "c-1".into(),
                    ticket_id: ticket.clone(),
                    agreement_id: agreement.agreement_id.clone(),
                    signature: Some(signature(
                        "Li Wei",
                        common::SignatureRole::CustomerRepresentative,
                    )),
                },
                &desk.customer,
            ))
            .await
            .unwrap();
        crate::acceptance::repair_and_complete(&mut desk, &ticket).await;
        run_script("office.mjs", config("inspect"), &backend, &chromium, 1).await;
        assert_eq!(desk.state(&ticket).await, common::CaseState::SelfInspected);
        let mut acceptance = AcceptanceServiceClient::new(desk.office.app.channel().await);
        let checks = acceptance
            .list_self_inspections(authed(
                apb::ListSelfInspectionsRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .self_inspections;
        let passed: Vec<bool> = checks.iter().map(|c| c.passed).collect();
        assert_eq!(
            passed,
            [false, true],
            "the failed one is kept, then the pass"
        );

        // The engineer records the customer's acceptance on their behalf, then archives.
        run_script("office.mjs", config("archive"), &backend, &chromium, 2).await;
        assert_eq!(desk.state(&ticket).await, common::CaseState::Archived);
        let rounds = acceptance
            .list_customer_acceptances(authed(
                apb::ListCustomerAcceptancesRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .acceptances;
        let signed = rounds[0].customer_signature.clone().unwrap_or_default();
        assert_eq!(
            signed.signer.map(|p| p.display_name).as_deref(),
            Some("李伟"),
            "the representative, not the engineer who recorded it"
        );
        assert!(signed.evidence.is_some());

        // A visit due today: the agent calls twice from the call list.
        let mut feedback = FeedbackServiceClient::new(desk.office.app.channel().await);
        let added = feedback
            .add_visit(authed(
                fpb::AddVisitRequest {
                    request_id: "visit-1".into(),
                    ticket_id: ticket.clone(),
                    due_time: Some(steelcare_runtime::convert::to_timestamp(
                        chrono::Utc::now() + TimeDelta::minutes(1),
                    )),
                    agent_id: String::new(),
                    reason: "the storm last week".into(),
                },
                &desk.office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visit
            .unwrap_or_default();
        run_script("office.mjs", config("visits"), &backend, &chromium, 1).await;
        let visit = feedback
            .get_visit(authed(
                fpb::GetVisitRequest {
                    visit_id: added.visit_id.clone(),
                },
                &desk.office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .visit
            .unwrap_or_default();
        let outcomes: Vec<i32> = visit.attempts.iter().map(|a| a.outcome).collect();
        assert_eq!(
            outcomes,
            [
                fpb::AttemptOutcome::Unreachable as i32,
                fpb::AttemptOutcome::Reached as i32
            ]
        );
        assert_eq!(visit.status, fpb::VisitStatus::Done as i32);
        let reached = visit.attempts.last().cloned().unwrap_or_default();
        assert!(reached.recurred && !reached.recurrence_ticket_id.is_empty());
        let surveys = feedback
            .list_satisfaction(authed(
                fpb::ListSatisfactionRequest {
                    ticket_id: ticket.clone(),
                },
                &desk.office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .surveys;
        let scores = surveys.last().and_then(|s| s.scores).unwrap_or_default();
        assert_eq!((scores.fix_effect, scores.service_attitude), (2, 5));

        // The construction department's engineer owns the corrective action raised from the
        // Pareto; their fix is recorded; it cannot be verified before its window has passed.
        feedback
            .set_department_members(authed(
                fpb::SetDepartmentMembersRequest {
                    department: fpb::Department::Construction as i32,
                    members: vec![common::PersonRef {
                        user_id: "eng-3".into(),
                        display_name: "孙工".into(),
                        ..Default::default()
                    }],
                },
                &desk.manager,
            ))
            .await
            .unwrap();
        run_script("office.mjs", config("actions"), &backend, &chromium, 2).await;
        let actions = feedback
            .list_corrective_actions(authed(
                fpb::ListCorrectiveActionsRequest::default(),
                &desk.manager,
            ))
            .await
            .unwrap()
            .into_inner()
            .actions;
        assert_eq!(actions.len(), 1, "one action, raised once");
        let action = &actions[0];
        assert_eq!(action.status, fpb::ActionStatus::FixDeployed as i32);
        assert_eq!(action.department, fpb::Department::Construction as i32);
        assert_eq!(
            action.owner.as_ref().map(|o| o.user_id.as_str()),
            Some("eng-3")
        );
        assert!(action.pattern.as_ref().is_some_and(|p| p.category != 0));

        // The administrator's screens; the robot is reachable now, for the retries.
        let admin = desk.office.app.token("admin-1", &[Role::Admin], None);
        let mut notify = NotifyServiceClient::new(desk.office.app.channel().await);
        let dead = notify
            .list_deliveries(authed(
                npb::ListDeliveriesRequest {
                    state: npb::DeliveryState::Dead as i32,
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner()
            .deliveries;
        assert!(
            !dead.is_empty() && dead.iter().all(|d| d.recipient == "webhook:ops"),
            "{dead:?}"
        );
        let ops = steelcare_tests::receivers::HttpReceiver::start_on(robot_port, |_| {
            (200, r#"{"errcode":0}"#.to_owned())
        })
        .await;
        run_script("office.mjs", config("admin"), &backend, &chromium, 4).await;
        let delivered = ops.requests();
        assert_eq!(delivered.len(), dead.len(), "each once: {delivered:?}");
        let dispatcher = desk.office.dispatcher.clone();
        let registered = desk
            .office
            .dispatch
            .get_technician(authed(
                steelcare_proto::dispatch::v1::GetTechnicianRequest {
                    technician_id: "t-new".into(),
                },
                &dispatcher,
            ))
            .await
            .unwrap()
            .into_inner()
            .technician
            .unwrap_or_default();
        assert_eq!(registered.regions, ["suzhou", "wuxi"]);
        assert_eq!(registered.instruments[0].serial_number, "CTG-77");
        let policy = feedback
            .get_visit_policy(authed(
                fpb::GetVisitPolicyRequest {
                    customer_id: desk.office.customer_id.clone(),
                },
                &desk.manager,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(policy.offset_months, [1, 6, 12]);
        let project = desk
            .office
            .intake
            .get_project(authed(
                steelcare_proto::intake::v1::GetProjectRequest {
                    project_id: desk.office.project_id.clone(),
                },
                &desk.office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .project
            .unwrap_or_default();
        let waterproofing = steelcare_proto::intake::v1::WarrantyScope::Waterproofing as i32;
        let months: Vec<i32> = project
            .warranty_terms
            .iter()
            .filter(|w| w.scope == waterproofing)
            .map(|w| w.months)
            .collect();
        assert_eq!(months, [72], "lengthened, and listed once");
        // The sheet's valid customer, once; the one without a phone not at all.
        let customers = desk
            .office
            .intake
            .list_customers(authed(
                steelcare_proto::intake::v1::ListCustomersRequest::default(),
                &desk.office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .customers;
        let named = |name: &str| {
            customers
                .iter()
                .filter(|c| c.organization_name == name)
                .count()
        };
        assert_eq!((named("E2E Cold Chain"), named("E2E Depot")), (1, 0));
        desk.office.app.stop().await.unwrap();
    }
}
