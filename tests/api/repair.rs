//! The repair service end to end, on both backends: a leaking roof from the survey report to
//! the agreement and the finished repair, with every refusal on the way (wrong state, wrong
//! role, bad fields, nothing stored), a dispute that pauses the clocks and amends the cost, a
//! failed acceptance that clears the completion, and a case closed without repair.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::common::v1::measurement::Quantity;
use steelcare_proto::dispatch::v1 as dpb;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::repair::v1 as pb;
use steelcare_proto::repair::v1::repair_service_client::RepairServiceClient;
use steelcare_tests::{authed, backends, in_language};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::dispatch::{Office, date, person, roofer};

pub(crate) fn ts(at: chrono::DateTime<Utc>) -> prost_types::Timestamp {
    steelcare_runtime::convert::to_timestamp(at)
}

pub(crate) fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

pub(crate) fn descriptions(status: &tonic::Status) -> String {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

pub(crate) fn gauge(valid_until: common::Date) -> common::Instrument {
    common::Instrument {
        kind: common::InstrumentKind::CoatingThicknessGauge as i32,
        serial_number: "CTG-0042".into(),
        calibration_valid_until: Some(valid_until),
    }
}

pub(crate) fn coating() -> Quantity {
    Quantity::CoatingThickness(common::CoatingThickness {
        indoor: false,
        design_thickness_um: 150.0,
        coats: 3,
        one_coat: false,
    })
}

/// Coating dry film on `member`: five spots of three readings, each spot reading `spot_um`.
pub(crate) fn coating_reading(member: &str, spot_um: [f64; 5]) -> common::Measurement {
    common::Measurement {
        quantity: Some(coating()),
        member: member.into(),
        location: "gutter G2, spots 1-5".into(),
        instrument: Some(gauge(date(2027, 12, 31))),
        measure_time: Some(ts(Utc::now() - TimeDelta::minutes(30))),
        readings: spot_um.iter().flat_map(|s| [*s, *s, *s]).collect(),
        ..Default::default()
    }
}

pub(crate) fn signature(name: &str, role: common::SignatureRole) -> common::Signature {
    common::Signature {
        signer: Some(person(name)),
        signed_time: Some(ts(Utc::now() - TimeDelta::minutes(5))),
        method: common::SignatureMethod::OnDevice as i32,
        role: role as i32,
        ..Default::default()
    }
}

pub(crate) fn share(party: common::ResponsibleParty, percent: i32) -> common::ResponsibilityShare {
    common::ResponsibilityShare {
        party: party as i32,
        percent,
        ..Default::default()
    }
}

pub(crate) fn report_content() -> pb::SurveyReportContent {
    pb::SurveyReportContent {
        survey_time: Some(common::TimeRange {
            start_time: Some(ts(Utc::now() - TimeDelta::hours(1))),
            end_time: Some(ts(Utc::now() - TimeDelta::minutes(10))),
        }),
        participants: vec![person("Li Wei"), person("t-lead")],
        findings: "Gutter G2 coating worn through at the outlet; water runs into the wall".into(),
        measurements: vec![
            coating_reading("G2", [150.0, 148.0, 110.0, 152.0, 151.0]),
            common::Measurement {
                measurement_id: "vert-1".into(),
                quantity: Some(Quantity::OverallVerticality(common::OverallVerticality {
                    height_mm: 12_000.0,
                    storey_type: common::StoreyType::Single as i32,
                })),
                member: "GZ-3".into(),
                instrument: Some(common::Instrument {
                    kind: common::InstrumentKind::TotalStation as i32,
                    serial_number: "TS-7".into(),
                    calibration_valid_until: Some(date(2027, 6, 30)),
                }),
                measure_time: Some(ts(Utc::now() - TimeDelta::minutes(40))),
                readings: vec![4.0, 6.5, 3.0],
                ..Default::default()
            },
        ],
        image_attachment_ids: vec![],
        diagnosis: Some(pb::Diagnosis {
            root_cause: common::RootCause::Workmanship as i32,
            responsibility: vec![share(common::ResponsibleParty::Contractor, 100)],
            evidence: vec![pb::EvidenceRef {
                measurement_id: "m1".into(),
                note: "spot 3 at 110 µm".into(),
                ..Default::default()
            }],
            category: common::ProblemCategory::Leakage as i32,
            tier: common::SeverityTier::P3General as i32,
            expert_review: String::new(),
        }),
        recommendation: "Recoat the gutter and reseal the outlet".into(),
        signatures: vec![
            signature("Li Wei", common::SignatureRole::CustomerRepresentative),
            signature("t-lead", common::SignatureRole::Surveyor),
        ],
    }
}

pub(crate) fn plan_content(crew: &[&str], from_now: TimeDelta) -> pb::PlanContent {
    let start = Utc::now() + from_now;
    pb::PlanContent {
        objective: "Stop the leak at gutter G2 and restore its corrosion protection".into(),
        scope: "Gutter G2 between axes 3 and 5".into(),
        structural_scope: false,
        methods: "Blast to Sa2.5, three coats per GB 50205 §14".into(),
        materials: vec![pb::PlanMaterial {
            name: "Epoxy zinc-rich primer".into(),
            quantity: "20 kg".into(),
            certificate_refs: vec!["QC-2026-118".into()],
        }],
        steps: vec![
            pb::PlanStep {
                step_id: "s1".into(),
                description: "Remove the old coating".into(),
                key_step: false,
                quality_criteria: vec![],
            },
            pb::PlanStep {
                step_id: "s2".into(),
                description: "Apply three coats".into(),
                key_step: true,
                quality_criteria: vec![common::Measurement {
                    quantity: Some(coating()),
                    member: "G2".into(),
                    ..Default::default()
                }],
            },
        ],
        safety_measures: vec!["Harness anchored to the lifeline".into()],
        schedule: Some(common::TimeRange {
            start_time: Some(ts(start)),
            end_time: Some(ts(start + TimeDelta::hours(8))),
        }),
        crew_technician_ids: crew.iter().map(|c| (*c).to_owned()).collect(),
        equipment: vec!["Scissor lift".into()],
        cost_estimate: Some(common::Money {
            currency_code: "CNY".into(),
            amount_minor: 8_000_000,
        }),
        expected_bearer: common::CostBearer::Contractor as i32,
        expected_effect: "No water at the outlet in a 30-minute spray test".into(),
        disruption: "Bay 3 closed for one day".into(),
    }
}

pub(crate) fn cny(amount_minor: i64) -> Option<common::Money> {
    Some(common::Money {
        currency_code: "CNY".into(),
        amount_minor,
    })
}

pub(crate) struct Desk {
    pub(crate) office: Office,
    pub(crate) repair: RepairServiceClient<Channel>,
    pub(crate) engineer: String,
    pub(crate) reviewer: String,
    pub(crate) chief: String,
    pub(crate) manager: String,
    pub(crate) customer: String,
}

impl Desk {
    pub(crate) async fn open(backend: &steelcare_tests::Backend) -> Desk {
        Desk::on(Office::open(backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await).await
    }

    /// A desk over an office already open (a server started with faults, say).
    pub(crate) async fn on(office: Office) -> Desk {
        let repair = RepairServiceClient::new(office.app.channel().await);
        let app = &office.app;
        Desk {
            engineer: app.token("eng-1", &[Role::Engineer], None),
            reviewer: app.token("eng-2", &[Role::Engineer], None),
            chief: app.token("chief-1", &[Role::ChiefEngineer], None),
            manager: app.token("mgr-1", &[Role::Manager], None),
            customer: app.token("cust-1", &[Role::Customer], Some(&office.customer_id)),
            repair,
            office,
        }
    }

    /// A leaking-roof ticket acknowledged, offered to `lead`, accepted, and a survey planned
    /// `survey_in` from now; the arrival on site recorded when `arrive`.
    pub(crate) async fn surveyed_case(
        &mut self,
        lead: &str,
        survey_in: TimeDelta,
        arrive: bool,
    ) -> String {
        let project = self.office.project_id.clone();
        self.surveyed_case_in(&project, lead, survey_in, arrive)
            .await
    }

    /// As [`Desk::surveyed_case`], for a leaking roof of `project`.
    pub(crate) async fn surveyed_case_in(
        &mut self,
        project: &str,
        lead: &str,
        survey_in: TimeDelta,
        arrive: bool,
    ) -> String {
        let o = &mut self.office;
        let ticket = o
            .ticket_in(project, "屋面天沟漏水，下雨时滴水")
            .await
            .ticket_id;
        o.intake
            .acknowledge_ticket(authed(
                intake::AcknowledgeTicketRequest {
                    ticket_id: ticket.clone(),
                    response_text: "a surveyor is coming".into(),
                },
                &o.agent,
            ))
            .await
            .unwrap();
        // The dispatch consumers (of every process) may be updating the assignment at the
        // same moment: ABORTED says read it again, and a client retries.
        let offered = loop {
            match o
                .dispatch
                .offer_assignment(authed(
                    dpb::OfferAssignmentRequest {
                        ticket_id: ticket.clone(),
                        technician_id: lead.into(),
                        reason: "roofer on duty".into(),
                    },
                    &o.dispatcher,
                ))
                .await
            {
                Ok(r) => break r.into_inner().assignment.unwrap(),
                Err(err) if err.code() == tonic::Code::Aborted => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(err) => panic!("offer: {err:?}"),
            }
        };
        loop {
            match o.accept(&offered.assignment_id, lead).await {
                Ok(_) => break,
                Err(err) if err.code() == tonic::Code::Aborted => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(err) => panic!("accept: {err:?}"),
            }
        }
        o.dispatch
            .plan_survey(authed(
                dpb::PlanSurveyRequest {
                    survey_plan: Some(dpb::SurveyPlan {
                        ticket_id: ticket.clone(),
                        lead_technician_id: lead.into(),
                        scheduled_time: Some(ts(Utc::now() + survey_in)),
                        ..Default::default()
                    }),
                },
                &o.dispatcher,
            ))
            .await
            .unwrap();
        if arrive {
            o.dispatch
                .record_arrival(authed(
                    dpb::RecordArrivalRequest {
                        assignment_id: offered.assignment_id,
                        ..Default::default()
                    },
                    &o.dispatcher,
                ))
                .await
                .unwrap();
        }
        ticket
    }

    /// The case's agreement as `token` reads it (the prepared one while none is concluded).
    pub(crate) async fn agreement(&mut self, ticket: &str, token: &str) -> pb::Agreement {
        self.repair
            .get_agreement(authed(
                pb::GetAgreementRequest {
                    ticket_id: ticket.into(),
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap_or_default()
    }

    pub(crate) async fn state(&mut self, ticket: &str) -> common::CaseState {
        self.ticket(ticket).await.state()
    }

    pub(crate) async fn ticket(&mut self, ticket: &str) -> intake::Ticket {
        self.office
            .intake
            .get_ticket(authed(
                intake::GetTicketRequest {
                    ticket_id: ticket.into(),
                },
                &self.office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap()
    }

    /// Polls the ticket until `done` holds (10 s at most).
    pub(crate) async fn ticket_until(
        &mut self,
        ticket: &str,
        what: &str,
        done: impl Fn(&intake::Ticket) -> bool,
    ) -> intake::Ticket {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let t = self.ticket(ticket).await;
            if done(&t) {
                return t;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                t.sla
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn submit(
        &mut self,
        request_id: &str,
        ticket: &str,
        content: pb::SurveyReportContent,
        token: &str,
    ) -> Result<pb::SurveyReport, tonic::Status> {
        self.repair
            .submit_survey_report(authed(
                pb::SubmitSurveyReportRequest {
                    request_id: request_id.into(),
                    ticket_id: ticket.into(),
                    content: Some(content),
                },
                token,
            ))
            .await
            .map(|r| r.into_inner().report.unwrap())
    }

    pub(crate) async fn propose(
        &mut self,
        request_id: &str,
        ticket: &str,
        content: pb::PlanContent,
        reason: &str,
    ) -> Result<pb::RepairPlan, tonic::Status> {
        let token = self.engineer.clone();
        self.repair
            .propose_plan(authed(
                pb::ProposePlanRequest {
                    request_id: request_id.into(),
                    ticket_id: ticket.into(),
                    content: Some(content),
                    revision_reason: reason.into(),
                },
                &token,
            ))
            .await
            .map(|r| r.into_inner().plan.unwrap())
    }

    pub(crate) async fn review(
        &mut self,
        request_id: &str,
        ticket: &str,
        version: i32,
        approved: bool,
        comments: &str,
        token: &str,
    ) -> Result<pb::RepairPlan, tonic::Status> {
        self.repair
            .review_plan(authed(
                pb::ReviewPlanRequest {
                    request_id: request_id.into(),
                    ticket_id: ticket.into(),
                    version,
                    approved,
                    comments: comments.into(),
                },
                token,
            ))
            .await
            .map(|r| r.into_inner().plan.unwrap())
    }

    pub(crate) async fn inspect(
        &mut self,
        request_id: &str,
        ticket: &str,
        step: &str,
        measurements: Vec<common::Measurement>,
    ) -> Result<pb::Inspection, tonic::Status> {
        let token = self.office.tech_token("t-crew");
        self.repair
            .record_inspection(authed(
                pb::RecordInspectionRequest {
                    request_id: request_id.into(),
                    ticket_id: ticket.into(),
                    step_id: step.into(),
                    measurements,
                    notes: String::new(),
                },
                &token,
            ))
            .await
            .map(|r| r.into_inner().inspection.unwrap())
    }

    pub(crate) async fn complete(
        &mut self,
        request_id: &str,
        ticket: &str,
    ) -> Result<pb::CompleteRepairResponse, tonic::Status> {
        let token = self.engineer.clone();
        self.repair
            .complete_repair(authed(
                pb::CompleteRepairRequest {
                    request_id: request_id.into(),
                    ticket_id: ticket.into(),
                    summary: "Gutter recoated, outlet resealed".into(),
                },
                &token,
            ))
            .await
            .map(|r| r.into_inner())
    }

    pub(crate) async fn reports(&mut self, ticket: &str) -> Vec<pb::SurveyReport> {
        let token = self.engineer.clone();
        self.repair
            .list_survey_reports(authed(
                pb::ListSurveyReportsRequest {
                    ticket_id: ticket.into(),
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner()
            .reports
    }
}

pub(crate) fn work(step: &str, crew: &[&str], progress: i32) -> pb::LogWorkRequest {
    pb::LogWorkRequest {
        request_id: format!("work-{step}-{progress}"),
        ticket_id: String::new(),
        step_id: step.into(),
        content: "Blasted the gutter to bare steel".into(),
        materials: vec![pb::MaterialUsed {
            name: "Epoxy zinc-rich primer".into(),
            quantity: "5 kg".into(),
            batch: "B-77".into(),
            certificate_refs: vec!["QC-2026-118".into()],
        }],
        crew_technician_ids: crew.iter().map(|c| (*c).to_owned()).collect(),
        work_time: Some(common::TimeRange {
            start_time: Some(ts(Utc::now() - TimeDelta::hours(3))),
            end_time: Some(ts(Utc::now() - TimeDelta::hours(1))),
        }),
        progress_percent: progress,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_leaking_gutter_goes_from_survey_to_agreement_to_a_finished_repair() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let o = &mut desk.office;
        // The roof's waterproofing is under warranty for five years from handover (2024).
        o.intake
            .set_warranty_terms(authed(
                intake::SetWarrantyTermsRequest {
                    project_id: o.project_id.clone(),
                    warranty_terms: vec![intake::WarrantyTerm {
                        scope: intake::WarrantyScope::Waterproofing as i32,
                        months: 60,
                        ..Default::default()
                    }],
                },
                &o.agent,
            ))
            .await
            .unwrap();
        for id in ["t-lead", "t-crew", "t-busy"] {
            o.hire(roofer(id, date(2030, 12, 31))).await;
        }
        o.hire(roofer("t-expired", date(2025, 1, 1))).await;
        let ticket = desk
            .surveyed_case("t-lead", TimeDelta::hours(2), true)
            .await;
        // Another case whose survey books t-busy the day after tomorrow.
        let other = desk
            .surveyed_case("t-busy", TimeDelta::days(2), false)
            .await;

        // --- The survey report -----------------------------------------------------------
        let lead = desk.office.tech_token("t-lead");
        let agent = desk.office.agent.clone();
        let err = desk
            .submit("r-0", &ticket, report_content(), &agent)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{backend:?}");
        let crew_token = desk.office.tech_token("t-crew");
        let err = desk
            .submit("r-0", &ticket, report_content(), &crew_token)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "not on the survey plan");
        let mut bad = report_content();
        bad.measurements[0].instrument = Some(gauge(date(2025, 6, 30)));
        bad.measurements[1].readings.clear();
        bad.signatures.truncate(1);
        bad.diagnosis.as_mut().unwrap().responsibility =
            vec![share(common::ResponsibleParty::Contractor, 60)];
        let err = desk.submit("r-0", &ticket, bad, &lead).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let named = fields(&err);
        for field in [
            "content.measurements[0].instrument.calibration_valid_until",
            "content.measurements[1].readings",
            "content.signatures",
            "content.diagnosis.responsibility",
        ] {
            assert!(named.iter().any(|f| f == field), "{field} not in {named:?}");
        }
        assert!(
            descriptions(&err).contains("calibration expired on 30 Jun 2025"),
            "{}",
            descriptions(&err)
        );
        // The customer's representative signs once.
        let mut twice = report_content();
        twice.signatures.push(signature(
            "Li Wei",
            common::SignatureRole::CustomerRepresentative,
        ));
        let err = desk.submit("r-0", &ticket, twice, &lead).await.unwrap_err();
        assert_eq!(fields(&err), ["content.signatures[2].role"]);
        let engineer = desk.engineer.clone();
        let err = desk
            .submit("r-other", &other, report_content(), &engineer)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains("no arrival"), "{}", err.message());
        assert!(
            desk.reports(&ticket).await.is_empty(),
            "nothing stored on refusal"
        );

        let content = report_content();
        let report = desk
            .submit("r-1", &ticket, content.clone(), &lead)
            .await
            .unwrap();
        assert_eq!(report.version, 1);
        assert!(!report.all_measurements_passed);
        let coat = report.measurements[0].judgement.as_ref().unwrap();
        assert!(!coat.passed, "spot 3 at 110 µm is under 125 µm");
        assert_eq!(coat.lower_limit, Some(125.0));
        assert!(coat.source.contains("GB 50205"), "{}", coat.source);
        assert_eq!(coat.points.len(), 5, "judged per spot mean");
        assert_eq!(report.measurements[0].measurement_id, "m1");
        assert_eq!(report.measurements[1].measurement_id, "vert-1");
        // min(H/1000, 25) = 12 mm: every reading within.
        assert!(report.measurements[1].judgement.as_ref().unwrap().passed);
        assert_eq!(desk.state(&ticket).await, common::CaseState::Surveyed);
        // The diagnosed tier reaches the ticket through intake.
        desk.ticket_until(&ticket, "the diagnosed tier", |t| {
            t.tier == common::SeverityTier::P3General as i32
                && t.category == common::ProblemCategory::Leakage as i32
        })
        .await;
        // A retry answers the same report; the same id with another payload is refused.
        let again = desk
            .submit("r-1", &ticket, content.clone(), &lead)
            .await
            .unwrap();
        assert_eq!(again.report_id, report.report_id);
        let mut changed = content.clone();
        changed.findings = "something else".into();
        let err = desk
            .submit("r-1", &ticket, changed, &lead)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists);
        let err = desk
            .submit("r-2", &ticket, report_content(), &lead)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(steelcare_tests::refused_state(&err), "SURVEYED", "{err:?}");

        // A correction is a new version; the first stays as it was.
        let correct = |base: i32, reason: &str| pb::CorrectSurveyReportRequest {
            request_id: format!("c-{base}-{reason}"),
            ticket_id: ticket.clone(),
            base_version: base,
            reason: reason.into(),
            content: Some(pb::SurveyReportContent {
                findings: "Coating worn through at the outlet and at the joint".into(),
                ..report_content()
            }),
        };
        let err = desk
            .repair
            .correct_survey_report(authed(correct(1, ""), &desk.engineer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["reason"]);
        let v2 = desk
            .repair
            .correct_survey_report(authed(correct(1, "second joint found"), &desk.engineer))
            .await
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        assert_eq!(
            (v2.version, v2.report_id.as_str()),
            (2, report.report_id.as_str())
        );
        let err = desk
            .repair
            .correct_survey_report(authed(correct(1, "stale"), &desk.engineer))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let versions = desk.reports(&ticket).await;
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].findings, report.findings);
        assert_eq!(versions[1].correction_reason, "second joint found");

        // Cost: in warranty and the contractor's fault, so free for the customer.
        let cost = desk
            .repair
            .assess_cost(authed(
                pb::AssessCostRequest {
                    ticket_id: ticket.clone(),
                    quoted: cny(8_000_000),
                    cost_price: None,
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .cost
            .unwrap();
        assert!(cost.in_warranty && cost.free_for_customer, "{cost:?}");
        assert!(!cost.reasoning_zh.is_empty() && !cost.reasoning_en.is_empty());
        let stranger = desk
            .office
            .app
            .token("cust-9", &[Role::Customer], Some("another-org"));
        let err = desk
            .repair
            .get_survey_report(authed(
                pb::GetSurveyReportRequest {
                    ticket_id: ticket.clone(),
                    version: 0,
                },
                &stranger,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "another organisation's case");

        // --- The plan --------------------------------------------------------------------
        let err = desk
            .propose(
                "p-x",
                &ticket,
                plan_content(&["t-expired"], TimeDelta::days(1)),
                "",
            )
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["content.crew_technician_ids[0]"]);
        assert!(
            descriptions(&err).contains("expired on 1 Jan 2025"),
            "{}",
            descriptions(&err)
        );
        let err = desk
            .propose(
                "p-x",
                &ticket,
                plan_content(&["t-busy"], TimeDelta::days(2)),
                "",
            )
            .await
            .unwrap_err();
        assert!(
            descriptions(&err).contains(&format!("survey of case {other}")),
            "{}",
            descriptions(&err)
        );
        let err = desk
            .propose(
                "p-x",
                &ticket,
                plan_content(&["t-ghost"], TimeDelta::days(1)),
                "",
            )
            .await
            .unwrap_err();
        assert!(descriptions(&err).contains("not a registered technician"));
        let mut no_key = plan_content(&["t-crew"], TimeDelta::days(1));
        no_key.steps[1].key_step = false;
        no_key.materials[0].certificate_refs.clear();
        let err = desk.propose("p-x", &ticket, no_key, "").await.unwrap_err();
        assert_eq!(
            fields(&err),
            ["content.materials[0].certificate_refs", "content.steps"]
        );
        let plan = desk
            .propose(
                "p-1",
                &ticket,
                plan_content(&["t-crew"], TimeDelta::days(1)),
                "",
            )
            .await
            .unwrap();
        assert_eq!(
            plan.approval_chain,
            [
                pb::ApprovalStep::TechnicalLead as i32,
                pb::ApprovalStep::ChiefEngineer as i32
            ],
            "80,000 CNY is above the chief engineer's threshold"
        );
        // Why, in the reader's language: the default (Chinese), or English when asked.
        assert!(
            plan.chain_reasons
                .contains(&"费用估算超过总工程师审批限额".to_owned()),
            "{:?}",
            plan.chain_reasons
        );
        let in_english = desk
            .repair
            .get_plan(in_language(
                authed(
                    pb::GetPlanRequest {
                        ticket_id: ticket.clone(),
                        version: 1,
                    },
                    &desk.engineer,
                ),
                "en",
            ))
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        assert!(
            in_english
                .chain_reasons
                .contains(&"estimate above the chief engineer's threshold".to_owned()),
            "{:?}",
            in_english.chain_reasons
        );
        let criterion = plan.content.as_ref().unwrap().steps[1].quality_criteria[0]
            .judgement
            .clone()
            .unwrap();
        assert_eq!(criterion.lower_limit, Some(125.0));
        assert_eq!(desk.state(&ticket).await, common::CaseState::PlanProposed);

        // Reviews: not one's own plan, in the chain's order, comments on a rejection.
        let (engineer, reviewer, chief) = (
            desk.engineer.clone(),
            desk.reviewer.clone(),
            desk.chief.clone(),
        );
        let err = desk
            .review("v-0", &ticket, 1, true, "", &engineer)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{}", err.message());
        let err = desk
            .review("v-0", &ticket, 1, true, "", &chief)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert!(
            err.message().contains("Technical lead"),
            "{}",
            err.message()
        );
        let err = desk
            .review("v-0", &ticket, 1, false, "", &reviewer)
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["comments"]);
        let rejected = desk
            .review("v-1", &ticket, 1, false, "add a spray test", &reviewer)
            .await
            .unwrap();
        assert_eq!(rejected.status, pb::PlanStatus::Rejected as i32);
        let err = desk
            .propose(
                "p-2",
                &ticket,
                plan_content(&["t-crew"], TimeDelta::days(1)),
                "",
            )
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["revision_reason"]);
        let v2 = desk
            .propose(
                "p-2",
                &ticket,
                plan_content(&["t-crew"], TimeDelta::days(1)),
                "spray test added",
            )
            .await
            .unwrap();
        assert_eq!(
            (v2.version, v2.plan_id.as_str()),
            (2, plan.plan_id.as_str())
        );
        let err = desk
            .review("v-2", &ticket, 1, true, "", &reviewer)
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::FailedPrecondition,
            "version 1 is not the latest"
        );
        let step1 = desk
            .review("v-2", &ticket, 2, true, "ok", &reviewer)
            .await
            .unwrap();
        assert_eq!(step1.status, pb::PlanStatus::Proposed as i32);
        let err = desk
            .review("v-3", &ticket, 2, true, "", &reviewer)
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::PermissionDenied,
            "the chief engineer is next"
        );
        let approved = desk
            .review("v-3", &ticket, 2, true, "", &chief)
            .await
            .unwrap();
        assert_eq!(approved.status, pb::PlanStatus::Approved as i32);
        assert_eq!(approved.reviews.len(), 2);
        assert_eq!(desk.state(&ticket).await, common::CaseState::PlanApproved);
        // The customer sees the approved version, not the rejected one.
        let seen = desk
            .repair
            .list_plans(authed(
                pb::ListPlansRequest {
                    ticket_id: ticket.clone(),
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .plans;
        assert_eq!(seen.iter().map(|p| p.version).collect::<Vec<_>>(), [2]);

        // --- Negotiation and agreement ---------------------------------------------------
        desk.repair
            .record_communication(authed(
                pb::RecordCommunicationRequest {
                    request_id: "comm-1".into(),
                    ticket_id: ticket.clone(),
                    channel: pb::CommunicationChannel::Meeting as i32,
                    occur_time: Some(ts(Utc::now() - TimeDelta::hours(1))),
                    participants: vec![person("Li Wei"), person("eng-1")],
                    summary: "Walked the customer through plan version 2".into(),
                    attachment_ids: vec![],
                },
                &agent,
            ))
            .await
            .unwrap();
        let err = desk
            .repair
            .record_customer_decision(authed(
                pb::RecordCustomerDecisionRequest {
                    request_id: "d-0".into(),
                    ticket_id: ticket.clone(),
                    plan_version: 2,
                    agreed: true,
                    ..Default::default()
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            fields(&err),
            ["customer.display_name"],
            "on behalf: name the customer"
        );
        let sign = |signatures: Vec<common::Signature>| pb::SignAgreementRequest {
            request_id: format!("a-{}", signatures.len()),
            ticket_id: ticket.clone(),
            plan_version: 3,
            contractor_obligations: vec!["Recoat gutter G2".into()],
            customer_obligations: vec!["Close bay 3 for a day".into()],
            acceptance_terms: vec!["No leak in a 30-minute spray test".into()],
            quoted: cny(8_000_000),
            signatures,
            ..Default::default()
        };
        let both = vec![
            signature("Li Wei", common::SignatureRole::CustomerRepresentative),
            signature("eng-1", common::SignatureRole::ContractorRepresentative),
        ];
        let err = desk
            .repair
            .sign_agreement(authed(
                pb::SignAgreementRequest {
                    plan_version: 2,
                    ..sign(both.clone())
                },
                &desk.engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::FailedPrecondition,
            "the customer has not agreed yet"
        );
        // The customer asks for changes: version 3 goes through the whole chain again.
        let decide =
            |request_id: &str, version: i32, agreed: bool| pb::RecordCustomerDecisionRequest {
                request_id: request_id.into(),
                ticket_id: ticket.clone(),
                plan_version: version,
                agreed,
                reasons: if agreed {
                    String::new()
                } else {
                    "work on Sunday only".into()
                },
                ..Default::default()
            };
        let err = desk
            .repair
            .record_customer_decision(authed(
                pb::RecordCustomerDecisionRequest {
                    reasons: String::new(),
                    ..decide("d-0", 2, false)
                },
                &desk.customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["reasons"]);
        desk.repair
            .record_customer_decision(authed(decide("d-1", 2, false), &desk.customer))
            .await
            .unwrap();
        let v2_now = desk
            .repair
            .get_plan(authed(
                pb::GetPlanRequest {
                    ticket_id: ticket.clone(),
                    version: 2,
                },
                &desk.engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        assert_eq!(v2_now.status, pb::PlanStatus::ChangesRequested as i32);
        let v3 = desk
            .propose(
                "p-3",
                &ticket,
                plan_content(&["t-crew"], TimeDelta::days(1)),
                "Sunday work as the customer asked",
            )
            .await
            .unwrap();
        assert_eq!(v3.version, 3);
        assert_eq!(desk.state(&ticket).await, common::CaseState::PlanProposed);
        desk.review("v-4", &ticket, 3, true, "", &reviewer)
            .await
            .unwrap();
        desk.review("v-5", &ticket, 3, true, "", &chief)
            .await
            .unwrap();
        let decision = desk
            .repair
            .record_customer_decision(authed(decide("d-2", 3, true), &desk.customer))
            .await
            .unwrap()
            .into_inner()
            .decision
            .unwrap();
        assert_eq!(decision.customer.unwrap().user_id, "cust-1");
        let decisions = desk
            .repair
            .list_customer_decisions(authed(
                pb::ListCustomerDecisionsRequest {
                    ticket_id: ticket.clone(),
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .decisions;
        assert_eq!(
            decisions
                .iter()
                .map(|d| (d.plan_version, d.agreed))
                .collect::<Vec<_>>(),
            [(2, false), (3, true)]
        );
        let err = desk
            .repair
            .sign_agreement(authed(sign(both[..1].to_vec()), &desk.engineer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["signatures"]);
        // The computed bearing (free: in warranty, the contractor's fault) is overridden: the
        // customer pays for the upgraded coating it asked for. That needs a reason, and amounts
        // adding up to the quote.
        let goodwill = |customer: i64, contractor: i64, reason: &str| pb::SignAgreementRequest {
            cost_override: Some(pb::CostBearing {
                customer_pays: cny(customer),
                contractor_bears: cny(contractor),
                reasoning_en: "The customer pays for the upgraded system it asked for".into(),
                ..Default::default()
            }),
            override_reason: reason.into(),
            ..sign(both.clone())
        };
        let err = desk
            .repair
            .sign_agreement(authed(goodwill(1_000_000, 7_000_000, ""), &desk.engineer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["override_reason"]);
        let err = desk
            .repair
            .sign_agreement(authed(
                goodwill(1_000_000, 6_000_000, "upgrade"),
                &desk.engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["cost_override"]);
        let agreement = desk
            .repair
            .sign_agreement(authed(
                goodwill(1_000_000, 7_000_000, "upgraded coating system"),
                &desk.engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        let cost = agreement.cost.unwrap();
        assert!(!cost.free_for_customer);
        assert_eq!(cost.override_reason, "upgraded coating system");
        assert_eq!(
            (cost.customer_pays, cost.contractor_bears),
            (cny(1_000_000), cny(7_000_000))
        );
        assert!(desk.office.events(&ticket).await.iter().any(|e| matches!(
            e,
            Payload::AgreementSigned(a) if a.cost_bearer == common::CostBearer::Shared as i32
                && a.customer_price == cny(1_000_000)
        )));
        assert_eq!(agreement.acceptance_criteria.len(), 1);
        assert_eq!(desk.state(&ticket).await, common::CaseState::Agreed);
        // The agreement stops the solution clock.
        desk.ticket_until(&ticket, "the solution clock to stop", |t| {
            t.sla
                .as_ref()
                .and_then(|s| s.solution.as_ref())
                .is_some_and(|c| c.stop_time.is_some())
        })
        .await;

        // --- Repair ----------------------------------------------------------------------
        let log = |mut r: pb::LogWorkRequest| {
            r.ticket_id = ticket.clone();
            r
        };
        let expired = desk.office.tech_token("t-expired");
        let err = desk
            .repair
            .log_work(authed(log(work("s1", &["t-crew"], 30)), &expired))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "not in the crew");
        let err = desk
            .repair
            .log_work(authed(log(work("s1", &["t-expired"], 30)), &desk.engineer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["crew_technician_ids[0]"]);
        // A registered, certified technician who is not on the agreed plan's crew.
        let err = desk
            .repair
            .log_work(authed(
                log(work("s1", &["t-crew", "t-busy"], 30)),
                &desk.engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["crew_technician_ids[1]"]);
        assert!(
            descriptions(&err).contains("not on the agreed plan's crew"),
            "{}",
            descriptions(&err)
        );
        let err = desk
            .repair
            .log_work(authed(log(work("s9", &["t-crew"], 30)), &crew_token))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["step_id"]);
        let mut uncertified = work("s1", &["t-crew"], 30);
        uncertified.materials[0].certificate_refs.clear();
        let err = desk
            .repair
            .log_work(authed(log(uncertified), &crew_token))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["materials[0].certificate_refs"]);
        let entry = desk
            .repair
            .log_work(authed(log(work("s1", &["t-crew"], 30)), &crew_token))
            .await
            .unwrap()
            .into_inner()
            .entry
            .unwrap();
        assert_eq!(entry.progress_percent, 30);
        assert_eq!(desk.state(&ticket).await, common::CaseState::InRepair);
        let err = desk
            .repair
            .log_work(authed(log(work("s1", &["t-crew"], 20)), &crew_token))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["progress_percent"]);
        let progress = desk
            .repair
            .list_work_log(authed(
                pb::ListWorkLogRequest {
                    ticket_id: ticket.clone(),
                    ..Default::default()
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            progress.entries.len(),
            1,
            "the customer follows the progress"
        );

        // --- A dispute pauses the clocks and amends the cost ------------------------------
        let dispute = desk
            .repair
            .open_dispute(authed(
                pb::OpenDisputeRequest {
                    request_id: "dis-1".into(),
                    ticket_id: ticket.clone(),
                    question: "The gutter's design outlet is too small; who pays?".into(),
                    appraisal_institution: "Jiangsu construction quality centre".into(),
                    evidence: vec![],
                    appraisal_deadline_time: Some(ts(Utc::now() + TimeDelta::days(14))),
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .dispute
            .unwrap();
        assert_eq!(dispute.opened_in_state, common::CaseState::InRepair as i32);
        assert_eq!(desk.state(&ticket).await, common::CaseState::Disputed);
        desk.ticket_until(&ticket, "the clocks to pause", |t| {
            t.sla.as_ref().is_some_and(|s| s.paused)
        })
        .await;
        let err = desk
            .repair
            .log_work(authed(log(work("s2", &["t-crew"], 50)), &crew_token))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(steelcare_tests::refused_state(&err), "DISPUTED", "{err:?}");
        let resolve = |signatures: Vec<common::Signature>| pb::ResolveDisputeRequest {
            request_id: format!("res-{}", signatures.len()),
            dispute_id: dispute.dispute_id.clone(),
            resolution: pb::DisputeResolution::Appraisal as i32,
            outcome: "The outlet is undersized in the design".into(),
            responsibility: vec![
                share(common::ResponsibleParty::Designer, 60),
                share(common::ResponsibleParty::Contractor, 40),
            ],
            quoted: cny(8_000_000),
            signatures,
            cost_price: None,
        };
        let err = desk
            .repair
            .resolve_dispute(authed(resolve(both.clone()), &desk.engineer))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = desk
            .repair
            .resolve_dispute(authed(resolve(vec![]), &desk.manager))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["signatures"]);
        let resolved = desk
            .repair
            .resolve_dispute(authed(resolve(both.clone()), &desk.manager))
            .await
            .unwrap()
            .into_inner();
        let amended = resolved.amendment.unwrap().cost.unwrap();
        assert!(amended.free_for_customer);
        assert_eq!(amended.back_charges.len(), 1, "{amended:?}");
        assert_eq!(
            amended.back_charges[0].party,
            common::ResponsibleParty::Designer as i32
        );
        assert_eq!(amended.back_charges[0].amount, cny(4_800_000));
        assert_eq!(desk.state(&ticket).await, common::CaseState::InRepair);
        desk.ticket_until(&ticket, "the clocks to resume", |t| {
            t.sla.as_ref().is_some_and(|s| !s.paused)
        })
        .await;
        let agreement = desk
            .repair
            .get_agreement(authed(
                pb::GetAgreementRequest {
                    ticket_id: ticket.clone(),
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        assert_eq!(agreement.amendments.len(), 1);

        // The appraisal deadline is a clock of its own: a passed deadline is announced once.
        let appraisal = |request_id: &str, due: chrono::DateTime<Utc>| pb::OpenDisputeRequest {
            request_id: request_id.into(),
            ticket_id: ticket.clone(),
            question: "Is the recoat's primer fit for a coastal site?".into(),
            appraisal_institution: "Jiangsu construction quality centre".into(),
            evidence: vec![],
            appraisal_deadline_time: Some(ts(due)),
        };
        let err = desk
            .repair
            .open_dispute(authed(
                appraisal("dis-x", Utc::now() - TimeDelta::minutes(1)),
                &desk.manager,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["appraisal_deadline_time"]);
        let second = desk
            .repair
            .open_dispute(authed(
                appraisal("dis-2", Utc::now() + TimeDelta::seconds(2)),
                &desk.manager,
            ))
            .await
            .unwrap()
            .into_inner()
            .dispute
            .unwrap();
        assert!(!second.appraisal_overdue);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let breached = |events: &[Payload]| {
            events
                .iter()
                .filter(|e| {
                    matches!(e, Payload::SlaBreached(b)
                        if b.clock == events::SlaClockKind::Appraisal as i32)
                })
                .count()
        };
        while breached(&desk.office.events(&ticket).await) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the appraisal deadline was never announced"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let overdue = desk
            .repair
            .get_dispute(authed(
                pb::GetDisputeRequest {
                    dispute_id: second.dispute_id.clone(),
                },
                &desk.customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .dispute
            .unwrap();
        assert!(overdue.appraisal_overdue);
        desk.repair
            .resolve_dispute(authed(
                pb::ResolveDisputeRequest {
                    request_id: "res-second".into(),
                    dispute_id: second.dispute_id.clone(),
                    resolution: pb::DisputeResolution::Negotiated as i32,
                    outcome: "The primer is fit; the shares stand".into(),
                    ..resolve(both.clone())
                },
                &desk.manager,
            ))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            breached(&desk.office.events(&ticket).await),
            1,
            "announced once"
        );
        assert_eq!(desk.state(&ticket).await, common::CaseState::InRepair);

        // --- Key steps and completion ----------------------------------------------------
        let err = desk.complete("done-0", &ticket).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(
            err.message().contains("s2 (not inspected)"),
            "{}",
            err.message()
        );
        let err = desk
            .repair
            .record_inspection(authed(
                pb::RecordInspectionRequest {
                    request_id: "i-x".into(),
                    ticket_id: ticket.clone(),
                    step_id: "s2".into(),
                    measurements: vec![coating_reading("G2", [150.0; 5])],
                    notes: String::new(),
                },
                &expired,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "not on the crew");
        let err = desk
            .inspect(
                "i-0",
                &ticket,
                "s1",
                vec![coating_reading("G2", [150.0; 5])],
            )
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["step_id"], "s1 is not a key step");
        let mut looser = coating_reading("G2", [150.0; 5]);
        looser.quantity = Some(Quantity::CoatingThickness(common::CoatingThickness {
            indoor: true,
            design_thickness_um: 100.0,
            coats: 3,
            one_coat: false,
        }));
        let err = desk
            .inspect("i-0", &ticket, "s2", vec![looser])
            .await
            .unwrap_err();
        assert!(
            descriptions(&err).contains("criterion 1 of step s2"),
            "{}",
            descriptions(&err)
        );
        let failed = desk
            .inspect(
                "i-1",
                &ticket,
                "s2",
                vec![coating_reading("G2", [150.0, 140.0, 118.0, 150.0, 150.0])],
            )
            .await
            .unwrap();
        assert!(!failed.passed);
        let err = desk.complete("done-0", &ticket).await.unwrap_err();
        assert!(err.message().contains("s2 (failed"), "{}", err.message());
        let passed = desk
            .inspect(
                "i-2",
                &ticket,
                "s2",
                vec![coating_reading("G2", [152.0, 149.0, 151.0, 150.0, 155.0])],
            )
            .await
            .unwrap();
        assert!(passed.passed);
        assert_eq!(passed.reinspection_of, failed.inspection_id);
        let done = desk.complete("done-1", &ticket).await.unwrap();
        assert_eq!(done.state, common::CaseState::InRepair as i32);
        let err = desk.complete("done-2", &ticket).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "already completed");
        desk.ticket_until(&ticket, "the completion clock to stop", |t| {
            t.sla
                .as_ref()
                .and_then(|s| s.completion.as_ref())
                .is_some_and(|c| c.stop_time.is_some())
        })
        .await;

        // A failed customer acceptance (the acceptance service's event) clears the
        // completion, even when Redis loses everything right after: after the rework the crew
        // completes again.
        {
            let tx = steelcare_store::begin_write(&desk.office.app.db)
                .await
                .unwrap();
            steelcare_runtime::record::emit(
                &tx,
                steelcare_bus::EVENTS_STREAM,
                steelcare_runtime::record::envelope(
                    common::Actor::default(),
                    Some(&ticket),
                    Payload::CustomerAcceptanceRecorded(events::CustomerAcceptanceRecorded {
                        acceptance_id: "acc-1".into(),
                        accepted: false,
                        round: 1,
                        technician_ids: vec!["t-crew".into()],
                    }),
                ),
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        // Redis loses everything meanwhile: the event is in the outbox, so it still arrives.
        crate::dispatch::lose_the_queue(&desk.office.app).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let again = loop {
            match desk.complete("done-3", &ticket).await {
                Ok(done) => break done,
                Err(err) if tokio::time::Instant::now() < deadline => {
                    assert_eq!(err.code(), Code::FailedPrecondition);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("the completion was never cleared: {err}"),
            }
        };
        assert_ne!(
            again.completion.unwrap().completion_id,
            done.completion.unwrap().completion_id
        );

        // Nothing here can close without repair any more.
        let err = desk
            .repair
            .close_without_repair(authed(
                pb::CloseWithoutRepairRequest {
                    request_id: "nr-0".into(),
                    ticket_id: ticket.clone(),
                    reason: pb::NoRepairReason::NoDefectFound as i32,
                    note: String::new(),
                },
                &desk.engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(steelcare_tests::refused_state(&err), "IN_REPAIR", "{err:?}");
        desk.office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_survey_that_finds_no_defect_closes_the_case_without_repair() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        desk.office.hire(roofer("t-lead", date(2030, 12, 31))).await;
        let ticket = desk
            .surveyed_case("t-lead", TimeDelta::hours(1), true)
            .await;
        let mut content = report_content();
        content.measurements = vec![coating_reading("G2", [150.0; 5])];
        content.findings = "No defect: the stain is condensation from the cold store".into();
        let d = content.diagnosis.as_mut().unwrap();
        d.root_cause = common::RootCause::Unspecified as i32;
        d.responsibility = vec![share(common::ResponsibleParty::Undetermined, 100)];
        d.evidence.clear();
        let engineer = desk.engineer.clone();
        // Two repair processes on one database and Redis race to submit the report: one wins,
        // the other is refused, and one report is stored.
        let replica = desk.office.app.replica(&[]).await;
        let mut other = RepairServiceClient::new(replica.channel().await);
        let race = |request_id: &str| pb::SubmitSurveyReportRequest {
            request_id: request_id.into(),
            ticket_id: ticket.clone(),
            content: Some(content.clone()),
        };
        let mut here = desk.repair.clone();
        let (a, b) = tokio::join!(
            here.submit_survey_report(authed(race("r-1"), &engineer)),
            other.submit_survey_report(authed(race("r-2"), &engineer)),
        );
        let (won, lost): (Vec<_>, Vec<_>) = [a, b].into_iter().partition(|r| r.is_ok());
        assert_eq!((won.len(), lost.len()), (1, 1), "{backend:?}");
        let refused = lost.into_iter().next().unwrap().unwrap_err();
        assert!(
            matches!(refused.code(), Code::FailedPrecondition | Code::Aborted),
            "{refused:?}"
        );
        let report = won
            .into_iter()
            .next()
            .unwrap()
            .unwrap()
            .into_inner()
            .report
            .unwrap();
        assert!(report.all_measurements_passed);
        assert_eq!(desk.reports(&ticket).await.len(), 1);
        replica.stop().await.unwrap();
        // Responsibility undetermined: no cost bearing yet.
        let err = desk
            .repair
            .assess_cost(authed(
                pb::AssessCostRequest {
                    ticket_id: ticket.clone(),
                    quoted: cny(100),
                    cost_price: None,
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let close = |reason: pb::NoRepairReason, note: &str| pb::CloseWithoutRepairRequest {
            request_id: format!("nr-{note}"),
            ticket_id: ticket.clone(),
            reason: reason as i32,
            note: note.into(),
        };
        let err = desk
            .repair
            .close_without_repair(authed(close(pb::NoRepairReason::Other, ""), &engineer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["note"]);
        let tech = desk.office.tech_token("t-lead");
        let err = desk
            .repair
            .close_without_repair(authed(close(pb::NoRepairReason::NoDefectFound, "x"), &tech))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let closed = desk
            .repair
            .close_without_repair(authed(
                close(pb::NoRepairReason::NoDefectFound, "condensation"),
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(closed.state, common::CaseState::NoRepair as i32);
        assert_eq!(desk.state(&ticket).await, common::CaseState::NoRepair);
        // Intake cancels the clocks still running.
        let t = desk
            .ticket_until(&ticket, "the clocks to be cancelled", |t| {
                t.sla.as_ref().is_some_and(|s| {
                    [&s.response, &s.arrival, &s.solution, &s.completion]
                        .iter()
                        .all(|c| c.as_ref().is_none_or(|c| c.stop_time.is_some()))
                })
            })
            .await;
        assert!(t.sla.is_some());
        // Nothing more happens to it here.
        let err = desk
            .propose(
                "p-1",
                &ticket,
                plan_content(&["t-lead"], TimeDelta::days(1)),
                "",
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(steelcare_tests::refused_state(&err), "NO_REPAIR", "{err:?}");
        desk.office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn every_stage_refuses_what_comes_too_early_or_from_the_wrong_role() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        desk.office.hire(roofer("t-lead", date(2030, 12, 31))).await;
        desk.office.hire(roofer("t-crew", date(2030, 12, 31))).await;
        let ticket = desk
            .surveyed_case("t-lead", TimeDelta::hours(1), true)
            .await;
        let (engineer, manager, customer) = (
            desk.engineer.clone(),
            desk.manager.clone(),
            desk.customer.clone(),
        );
        let tech = desk.office.tech_token("t-lead");
        let agent = desk.office.agent.clone();
        let precondition = |err: tonic::Status, state: &str| {
            assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
            assert_eq!(steelcare_tests::refused_state(&err), state, "{err:?}");
        };

        // Before the survey report: nothing of the later stages.
        let err = desk
            .propose(
                "p-0",
                &ticket,
                plan_content(&["t-crew"], TimeDelta::days(1)),
                "",
            )
            .await
            .unwrap_err();
        precondition(err, "SURVEY_SCHEDULED");
        let err = desk
            .repair
            .correct_survey_report(authed(
                pb::CorrectSurveyReportRequest {
                    request_id: "c-0".into(),
                    ticket_id: ticket.clone(),
                    base_version: 1,
                    reason: "typo".into(),
                    content: Some(report_content()),
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "no report yet");
        let err = desk
            .repair
            .assess_cost(authed(
                pb::AssessCostRequest {
                    ticket_id: ticket.clone(),
                    quoted: cny(100),
                    cost_price: None,
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let err = desk
            .repair
            .open_dispute(authed(
                pb::OpenDisputeRequest {
                    request_id: "dis-0".into(),
                    ticket_id: ticket.clone(),
                    question: "who pays?".into(),
                    appraisal_deadline_time: Some(ts(Utc::now() + TimeDelta::days(7))),
                    ..Default::default()
                },
                &customer,
            ))
            .await
            .unwrap_err();
        precondition(err, "SURVEY_SCHEDULED");
        let mut early = work("s1", &["t-crew"], 10);
        early.ticket_id = ticket.clone();
        let err = desk
            .repair
            .log_work(authed(early, &engineer))
            .await
            .unwrap_err();
        precondition(err, "SURVEY_SCHEDULED");
        let err = desk
            .repair
            .get_agreement(authed(
                pb::GetAgreementRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let err = desk
            .repair
            .get_dispute(authed(
                pb::GetDisputeRequest {
                    dispute_id: "no-such-dispute".into(),
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);

        // Roles: each write names who may make it.
        desk.submit("r-1", &ticket, report_content(), &engineer)
            .await
            .unwrap();
        let err = desk
            .repair
            .correct_survey_report(authed(
                pb::CorrectSurveyReportRequest {
                    request_id: "c-1".into(),
                    ticket_id: ticket.clone(),
                    base_version: 1,
                    reason: "typo".into(),
                    content: Some(report_content()),
                },
                &tech,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let communication = |request_id: &str| pb::RecordCommunicationRequest {
            request_id: request_id.into(),
            ticket_id: ticket.clone(),
            channel: pb::CommunicationChannel::Phone as i32,
            occur_time: Some(ts(Utc::now() - TimeDelta::minutes(5))),
            participants: vec![person("Li Wei")],
            summary: "Explained the survey's findings".into(),
            attachment_ids: vec![],
        };
        let err = desk
            .repair
            .record_communication(authed(communication("comm-0"), &tech))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = desk
            .repair
            .record_communication(authed(
                pb::RecordCommunicationRequest {
                    channel: 0,
                    participants: vec![],
                    summary: String::new(),
                    attachment_ids: vec!["no-such-photo".into()],
                    ..communication("comm-0")
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["channel", "participants", "summary"]);
        let err = desk
            .repair
            .record_communication(authed(
                pb::RecordCommunicationRequest {
                    attachment_ids: vec!["no-such-photo".into()],
                    ..communication("comm-0")
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["attachment_ids[0]"]);
        let listed = desk
            .repair
            .list_communications(authed(
                pb::ListCommunicationsRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .communications;
        assert!(listed.is_empty(), "nothing stored on refusal");
        let err = desk
            .repair
            .sign_agreement(authed(
                pb::SignAgreementRequest {
                    request_id: "a-0".into(),
                    ticket_id: ticket.clone(),
                    plan_version: 1,
                    contractor_obligations: vec!["x".into()],
                    quoted: cny(100),
                    signatures: vec![
                        signature("Li Wei", common::SignatureRole::CustomerRepresentative),
                        signature("eng-1", common::SignatureRole::ContractorRepresentative),
                    ],
                    ..Default::default()
                },
                &manager,
            ))
            .await
            .unwrap_err();
        precondition(err, "SURVEYED");
        let err = desk
            .repair
            .record_inspection(authed(
                pb::RecordInspectionRequest {
                    request_id: "i-0".into(),
                    ticket_id: ticket.clone(),
                    step_id: "s2".into(),
                    measurements: vec![coating_reading("G2", [150.0; 5])],
                    notes: String::new(),
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        precondition(err, "SURVEYED");
        let err = desk
            .repair
            .complete_repair(authed(
                pb::CompleteRepairRequest {
                    request_id: "done-0".into(),
                    ticket_id: ticket.clone(),
                    summary: "done".into(),
                },
                &tech,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = desk
            .repair
            .open_dispute(authed(
                pb::OpenDisputeRequest {
                    request_id: "dis-1".into(),
                    ticket_id: ticket.clone(),
                    question: "who pays?".into(),
                    appraisal_deadline_time: Some(ts(Utc::now() + TimeDelta::days(7))),
                    ..Default::default()
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = desk
            .repair
            .close_without_repair(authed(
                pb::CloseWithoutRepairRequest {
                    request_id: "nr-0".into(),
                    ticket_id: ticket.clone(),
                    reason: pb::NoRepairReason::NoDefectFound as i32,
                    note: String::new(),
                },
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        assert_eq!(desk.state(&ticket).await, common::CaseState::Surveyed);
        desk.office.app.stop().await.unwrap();
    }
}

/// The approvals inbox: each reviewer finds the plan versions whose next step is theirs, never
/// their own plan, in pages; a review moves the plan on to the next reviewer's inbox.
#[tokio::test]
async fn each_reviewer_finds_the_plans_waiting_for_them() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let engineer = desk.engineer.clone();
        let mut tickets = Vec::new();
        for n in 0..2 {
            let ticket = desk
                .surveyed_case("t-lead", TimeDelta::hours(2 + 6 * n), true)
                .await;
            desk.submit(&format!("r-{n}"), &ticket, report_content(), &engineer)
                .await
                .unwrap();
            // 80,000 CNY: the technical lead, then the chief engineer.
            let content = plan_content(&["t-crew"], TimeDelta::days(1));
            desk.propose(&format!("p-{n}"), &ticket, content, "")
                .await
                .unwrap();
            tickets.push(ticket);
        }
        let inbox = |desk: &mut Desk, token: String, page_token: String| {
            let mut repair = desk.repair.clone();
            async move {
                repair
                    .list_plans_to_review(authed(
                        pb::ListPlansToReviewRequest {
                            page_size: 1,
                            page_token,
                        },
                        &token,
                    ))
                    .await
            }
        };
        let (reviewer, chief) = (desk.reviewer.clone(), desk.chief.clone());
        let first = inbox(&mut desk, reviewer.clone(), String::new())
            .await
            .unwrap()
            .into_inner();
        let second = inbox(&mut desk, reviewer.clone(), first.next_page_token.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(second.next_page_token.is_empty());
        let waiting: Vec<(String, i32)> = first
            .plans
            .iter()
            .chain(&second.plans)
            .map(|p| {
                let plan = p.plan.clone().unwrap_or_default();
                (plan.ticket_id, p.step)
            })
            .collect();
        let lead = pb::ApprovalStep::TechnicalLead as i32;
        assert_eq!(
            waiting,
            [(tickets[0].clone(), lead), (tickets[1].clone(), lead)],
            "{}",
            backend.name()
        );
        let empty = |r: Result<tonic::Response<pb::ListPlansToReviewResponse>, tonic::Status>| {
            r.unwrap().into_inner().plans.is_empty()
        };
        assert!(
            empty(inbox(&mut desk, engineer.clone(), String::new()).await),
            "nobody is offered their own plan"
        );
        assert!(
            empty(inbox(&mut desk, chief.clone(), String::new()).await),
            "the chief engineer's step comes after the technical lead's"
        );
        desk.review("v-0", &tickets[0], 1, true, "checked", &reviewer)
            .await
            .unwrap();
        let left = inbox(&mut desk, reviewer.clone(), String::new())
            .await
            .unwrap()
            .into_inner()
            .plans;
        assert_eq!(left.len(), 1);
        assert_eq!(
            left[0].plan.as_ref().map(|p| p.ticket_id.clone()),
            Some(tickets[1].clone())
        );
        let for_chief = inbox(&mut desk, chief.clone(), String::new())
            .await
            .unwrap()
            .into_inner()
            .plans;
        assert_eq!(for_chief.len(), 1);
        assert_eq!(for_chief[0].step, pb::ApprovalStep::ChiefEngineer as i32);
        assert_eq!(for_chief[0].plan.as_ref().map(|p| p.reviews.len()), Some(1));
        let customer = desk.customer.clone();
        let err = inbox(&mut desk, customer, String::new()).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
}
