//! The technician's day on a phone (issue 24), in a browser on both backends: a technician of
//! the directory signs in at 390 px, opens their confirmed job, records arrival with the
//! device's position, fills in the survey with the network cut, sees it wait on the device, has
//! it refused when the network returns (an instrument out of calibration), corrects it with each
//! item judged as typed, and the server holds exactly one report, as sent, with its photo and
//! the representative's drawn signature stored once each.

use chrono::TimeDelta;
use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::repair::v1 as pb;
use steelcare_tests::{authed, backends};

use crate::console::{chromium_or_skip, run_script};
use crate::dispatch::{date, roofer};
use crate::repair::Desk;

const PASSWORD: &str = "roof and gutter 24";

/// A technician of the directory (`login`, named `name`) who is dispatch's `technician`.
async fn directory_technician(
    app: &steelcare_tests::TestApp,
    login: &str,
    name: &str,
    technician: &str,
) {
    steelcare::identity::add_from_command_line(
        app.db.clone(),
        steelcare_proto::identity::v1::Person {
            login: login.into(),
            display_name: name.into(),
            roles: vec!["technician".into()],
            technician_id: technician.into(),
            ..Default::default()
        },
        PASSWORD.into(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_technician_surveys_on_a_phone_offline_and_the_report_arrives_once() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let mut lead = roofer("t-lead", date(2030, 12, 31));
        lead.instruments = vec![common::Instrument {
            kind: common::InstrumentKind::CoatingThicknessGauge as i32,
            serial_number: "CTG-7".into(),
            calibration_valid_until: Some(date(2030, 6, 30)),
        }];
        desk.office.hire(lead).await;
        let ticket = desk
            .surveyed_case("t-lead", TimeDelta::hours(1), false)
            .await;
        let app = &desk.office.app;
        directory_technician(app, "zhao.lead", "赵工", "t-lead").await;
        let agent = desk.office.agent.clone();
        let acceptance_number = desk
            .office
            .intake
            .get_ticket(authed(
                intake::GetTicketRequest {
                    ticket_id: ticket.clone(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap()
            .acceptance_number;
        let config = serde_json::json!({
            "url": app.address,
            "login": "zhao.lead",
            "password": PASSWORD,
            "name": "赵工",
            "ticketId": ticket,
            "acceptanceNumber": acceptance_number,
        });
        run_script("field.mjs", config, &backend, &chromium, 7).await;

        // The technician's notification settings, as they chose them on the phone.
        let mut notify =
            steelcare_proto::notify::v1::notify_service_client::NotifyServiceClient::new(
                app.channel().await,
            );
        let chosen = notify
            .get_preferences(authed(
                steelcare_proto::notify::v1::GetPreferencesRequest::default(),
                &app.token("t-lead", &[Role::Technician], None),
            ))
            .await
            .unwrap()
            .into_inner()
            .preferences
            .unwrap_or_default();
        let sms = steelcare_proto::notify::v1::DeliveryChannel::Sms as i32;
        assert_eq!(
            (
                chosen.channels,
                chosen.quiet_start.as_str(),
                chosen.quiet_end.as_str()
            ),
            (vec![sms], "22:00", "07:00")
        );

        // One report, as corrected: the refused one was never stored, the sent one once.
        let engineer = desk.engineer.clone();
        let reports = desk
            .repair
            .list_survey_reports(authed(
                pb::ListSurveyReportsRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .reports;
        assert_eq!(reports.len(), 1, "{}", backend.name());
        let report = &reports[0];
        assert_eq!(report.measurements.len(), 1);
        assert!(report.all_measurements_passed);
        assert_eq!(report.signatures.len(), 2);
        assert_eq!(
            report
                .submitted_by
                .as_ref()
                .map(|a| a.display_name.as_str()),
            Some("赵工"),
            "the person, by name"
        );
        // The photo and the drawn signature, each stored once though sent twice (refused,
        // then corrected): the photo in the report, the signature as the representative's.
        assert_eq!(report.images.len(), 1);
        let representative = report
            .signatures
            .iter()
            .find(|s| s.role == common::SignatureRole::CustomerRepresentative as i32)
            .expect("the representative's signature");
        let drawn = representative.evidence.clone().unwrap_or_default();
        assert_eq!(drawn.content_type, "image/png");
        assert!(drawn.caption.starts_with("李伟 · "), "{}", drawn.caption);
        let stored = desk
            .office
            .intake
            .get_ticket(authed(
                intake::GetTicketRequest {
                    ticket_id: ticket.clone(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap()
            .attachments;
        assert_eq!(stored.len(), 2, "{stored:?}");
        desk.office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_crew_logs_work_offline_and_inspects_the_key_step_on_a_phone() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let ticket = crate::acceptance::agreed_case(&mut desk).await;
        directory_technician(&desk.office.app, "qian.crew", "钱师傅", "t-crew").await;
        let config = serde_json::json!({
            "url": desk.office.app.address,
            "login": "qian.crew",
            "password": PASSWORD,
            "name": "钱师傅",
            "ticketId": ticket,
        });
        run_script("crew.mjs", config, &backend, &chromium, 5).await;

        // Each entry once, as sent, by the crew member by name; the key step passed.
        let engineer = desk.engineer.clone();
        let entries = desk
            .repair
            .list_work_log(authed(
                pb::ListWorkLogRequest {
                    ticket_id: ticket.clone(),
                    ..Default::default()
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .entries;
        let progress: Vec<i32> = entries.iter().map(|e| e.progress_percent).collect();
        assert_eq!(progress, [40, 90], "{}", backend.name());
        assert_eq!(entries[1].photos.len(), 1, "the photo of the second entry");
        assert_eq!(entries[0].materials[0].certificate_refs, ["QC-2026-118"]);
        assert_eq!(
            entries[0]
                .logged_by
                .as_ref()
                .map(|a| a.display_name.as_str()),
            Some("钱师傅")
        );
        let inspections = desk
            .repair
            .list_inspections(authed(
                pb::ListInspectionsRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .inspections;
        assert_eq!(inspections.len(), 1);
        assert!(inspections[0].passed);
        // With the key step passed, the engineer completes the repair.
        desk.complete("done-1", &ticket).await.expect("completion");
        desk.office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_customer_agrees_to_the_plan_signs_the_acceptance_and_rates_on_a_phone() {
    use steelcare_proto::acceptance::v1 as apb;
    use steelcare_proto::acceptance::v1::acceptance_service_client::AcceptanceServiceClient;
    use steelcare_proto::feedback::v1 as fpb;
    use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;

    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let mut surveyor = roofer("t-lead", date(2030, 12, 31));
        surveyor.person = Some(steelcare_tests::fixtures::person("王建国"));
        desk.office.hire(surveyor).await;
        desk.office.hire(roofer("t-crew", date(2030, 12, 31))).await;
        let ticket = crate::acceptance::approved_case(&mut desk).await;
        steelcare::identity::add_from_command_line(
            desk.office.app.db.clone(),
            steelcare_proto::identity::v1::Person {
                login: "li.wei".into(),
                display_name: "李伟".into(),
                roles: vec!["customer".into()],
                organization_id: desk.office.customer_id.clone(),
                ..Default::default()
            },
            PASSWORD.into(),
        )
        .await
        .unwrap();
        let address = desk.office.app.address.clone();
        let phase = |phase: &str| {
            serde_json::json!({
                "url": address,
                "login": "li.wei",
                "password": PASSWORD,
                "ticketId": ticket,
                "phase": phase,
                "technician": "王建国",
            })
        };
        let engineer = desk.engineer.clone();

        // The customer agrees to the approved plan, in their own name.
        run_script("customer.mjs", phase("decide"), &backend, &chromium, 2).await;
        let decisions = desk
            .repair
            .list_customer_decisions(authed(
                pb::ListCustomerDecisionsRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .decisions;
        assert_eq!(decisions.len(), 1, "{}", backend.name());
        assert!(decisions[0].agreed);
        assert_eq!(
            decisions[0]
                .recorded_by
                .as_ref()
                .map(|a| a.display_name.as_str()),
            Some("李伟")
        );

        // The engineer prepares the agreement; the customer countersigns it with a finger.
        let prepared = pb::SignAgreementRequest {
            await_customer_signature: true,
            signatures: vec![crate::repair::signature(
                "eng-1",
                common::SignatureRole::ContractorRepresentative,
            )],
            ..crate::acceptance::agreement("a-1", &ticket)
        };
        desk.repair
            .sign_agreement(authed(prepared, &engineer))
            .await
            .unwrap();
        run_script("customer.mjs", phase("sign"), &backend, &chromium, 2).await;
        assert_eq!(desk.state(&ticket).await, common::CaseState::Agreed);
        let agreement = desk.agreement(&ticket, &engineer).await;
        let customer_signed = agreement
            .signatures
            .iter()
            .find(|s| s.role == common::SignatureRole::CustomerRepresentative as i32)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            customer_signed.signer.map(|p| p.display_name).as_deref(),
            Some("李伟")
        );
        assert_eq!(
            customer_signed.evidence.map(|e| e.content_type).as_deref(),
            Some("image/png"),
            "the drawn signature is the evidence"
        );

        // Repair, completion and self-inspection by the office and the crew.
        crate::acceptance::repair_and_complete(&mut desk, &ticket).await;
        let crew = desk.office.tech_token("t-crew");
        let mut acceptance = AcceptanceServiceClient::new(desk.office.app.channel().await);
        acceptance
            .record_self_inspection(authed(
                crate::acceptance::self_inspection("s-1", &ticket, [152.0; 5]),
                &crew,
            ))
            .await
            .unwrap();

        // The customer signs the acceptance with a finger: the drawn signature is its evidence.
        run_script("customer.mjs", phase("accept"), &backend, &chromium, 2).await;
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
        assert_eq!(rounds.len(), 1);
        assert!(rounds[0].accepted);
        let signed = rounds[0].customer_signature.clone().unwrap_or_default();
        assert_eq!(
            signed.evidence.map(|e| e.content_type).as_deref(),
            Some("image/png")
        );

        // And answers the survey on the five dimensions.
        run_script("customer.mjs", phase("rate"), &backend, &chromium, 2).await;
        let surveys = FeedbackServiceClient::new(desk.office.app.channel().await)
            .list_satisfaction(authed(
                fpb::ListSatisfactionRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .surveys;
        assert_eq!(surveys.len(), 1);
        let scores = surveys[0].scores.unwrap_or_default();
        assert_eq!(
            (
                scores.response_speed,
                scores.professional_competence,
                scores.service_attitude,
                scores.fix_effect,
                scores.communication
            ),
            (5, 4, 5, 4, Some(3))
        );

        // And, the bill read, disputes the cost: the case waits on the appraisal.
        run_script("customer.mjs", phase("dispute"), &backend, &chromium, 2).await;
        let disputes = desk
            .repair
            .list_disputes(authed(
                pb::ListDisputesRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .disputes;
        assert_eq!(disputes.len(), 1);
        assert_eq!(
            disputes[0].appraisal_institution,
            "江苏省建设工程质量检测中心"
        );
        assert_eq!(
            disputes[0]
                .opened_by
                .as_ref()
                .map(|a| a.display_name.as_str()),
            Some("李伟")
        );
        assert_eq!(desk.state(&ticket).await, common::CaseState::Disputed);

        // Another report, not yet surveyed, the customer withdraws themself.
        let other = desk.office.ticket("屋面采光板破损").await;
        let withdraw = serde_json::json!({
            "url": address,
            "login": "li.wei",
            "password": PASSWORD,
            "ticketId": other,
            "phase": "withdraw",
        });
        run_script("customer.mjs", withdraw, &backend, &chromium, 2).await;
        assert_eq!(desk.state(&other).await, common::CaseState::Cancelled);

        // The manager settles it at the office: the case goes back to where it was.
        let office = serde_json::json!({
            "url": address,
            "ticketId": ticket,
            "phase": "resolve",
            "tokens": { "manager": desk.manager },
        });
        run_script("office.mjs", office, &backend, &chromium, 1).await;
        assert_eq!(desk.state(&ticket).await, common::CaseState::Accepted);
        let settled = desk
            .repair
            .list_disputes(authed(
                pb::ListDisputesRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .disputes;
        let shares: Vec<i32> = settled[0]
            .responsibility
            .iter()
            .map(|s| s.percent)
            .collect();
        assert_eq!(shares, [60, 40]);
        assert_eq!(settled[0].status, pb::DisputeStatus::Resolved as i32);
        assert!(
            !settled[0].amendment_id.is_empty(),
            "the cost bearing is amended"
        );
        desk.office.app.stop().await.unwrap();
    }
}
