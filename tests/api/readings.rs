//! Readings, criteria and the words around them, on both backends (issue 20 §4): a reading no
//! instrument gives, or taken outside its survey's time, is refused at its field; a survey
//! made in the second of arrival is a survey; a verticality states its nominal, deviation and
//! limit as an engineer writes them, in English and Chinese, with grammar for one point and
//! many; a plan states a bolt's final-torque criterion without a tightening time; a dispute's
//! evidence may be a note alone.

use chrono::{TimeDelta, Utc};
use sea_orm::EntityTrait;
use steelcare_proto::common::v1 as common;
use steelcare_proto::repair::v1 as pb;
use steelcare_tests::{authed, backends};
use tonic::Code;

use crate::dispatch::{date, roofer};
use crate::repair::{Desk, descriptions, fields, plan_content, report_content, ts};

#[tokio::test]
async fn readings_are_refused_outside_what_an_instrument_gives_and_the_survey_time() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        desk.office.hire(roofer("t-lead", date(2030, 12, 31))).await;
        let ticket = desk
            .surveyed_case("t-lead", TimeDelta::hours(1), true)
            .await;
        let lead = desk.office.tech_token("t-lead");
        let refused = |change: &dyn Fn(&mut pb::SurveyReportContent)| {
            let mut content = report_content();
            change(&mut content);
            content
        };
        for (name, content, field) in [
            (
                "a negative film",
                refused(&|c| c.measurements[0].readings[4] = -150.0),
                "content.measurements[0].readings",
            ),
            (
                "1e308",
                refused(&|c| c.measurements[1].readings[0] = 1e308),
                "content.measurements[1].readings",
            ),
            (
                "two thousand years before the survey",
                refused(&|c| {
                    c.measurements[0].measure_time = Some(ts(Utc::now() - TimeDelta::days(730_500)))
                }),
                "content.measurements[0].measure_time",
            ),
            (
                "a day before the survey",
                refused(&|c| {
                    c.measurements[1].measure_time = Some(ts(Utc::now() - TimeDelta::days(1)))
                }),
                "content.measurements[1].measure_time",
            ),
        ] {
            let err = desk
                .submit("r-bad", &ticket, content, &lead)
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{name} {backend:?}");
            assert_eq!(fields(&err), [field], "{name}: {}", descriptions(&err));
        }

        // Submitted in the second of arrival: the survey's end is its start. The readings were
        // taken 5 minutes either side of it, inside the 15 minutes allowed.
        let mut content = report_content();
        let instant = Some(ts(Utc::now() - TimeDelta::minutes(35)));
        content.survey_time = Some(common::TimeRange {
            start_time: instant,
            end_time: instant,
        });
        let report = desk.submit("r-1", &ticket, content, &lead).await.unwrap();
        let coating = report.measurements[0].judgement.clone().unwrap();
        assert!(!coating.passed);
        assert!(
            coating
                .reason
                .contains("1 of 5 points is outside the limit (every point must be within)"),
            "{}",
            coating.reason
        );
        assert!(
            coating.reason_zh.contains("5 个测点中有 1 个超出允许偏差"),
            "{}",
            coating.reason_zh
        );
        let vertical = report.measurements[1].judgement.clone().unwrap();
        assert!(vertical.passed);
        assert_eq!(vertical.nominal, 0.0);
        assert_eq!(
            vertical.reason,
            "Overall deviation of the single-storey frame from plumb: the reading is the \
             deviation, nominal 0 mm; allowed ±12 mm (H/1000 = 12000/1000 = 12 mm, and at most \
             25 mm). All 3 points are within the limit; largest deviation +6.5 mm."
        );
        assert!(
            vertical
                .reason_zh
                .contains("读数即偏差，理论值 0 mm；允许偏差 ±12 mm"),
            "{}",
            vertical.reason_zh
        );

        // A plan states a final-torque criterion: its limit and clause. The 1 h to 48 h window
        // after tightening is the inspection readings' to keep: a time given here is ignored.
        let mut plan = plan_content(&["t-lead"], TimeDelta::days(1));
        plan.steps[1].quality_criteria.push(common::Measurement {
            quantity: Some(common::measurement::Quantity::BoltTorque(
                common::BoltTorque {
                    target_torque_nm: 500.0,
                    tightening_time: Some(ts(Utc::now() - TimeDelta::days(100))),
                },
            )),
            member: "G2 splice".into(),
            ..Default::default()
        });
        let plan = desk.propose("p-1", &ticket, plan, "").await.unwrap();
        let torque = plan.content.unwrap().steps[1].quality_criteria[1]
            .judgement
            .clone()
            .unwrap();
        assert!(torque.source.contains("6.3.2"), "{}", torque.source);
        assert_eq!(
            (torque.lower_limit, torque.upper_limit),
            (Some(450.0), Some(550.0))
        );
        assert!(
            torque
                .reason
                .starts_with("Final torque, target 500 N·m; each bolt from 450 to 550 N·m"),
            "{}",
            torque.reason
        );

        // A dispute whose appraisal letter is still to come: a note is evidence enough; an
        // item with nothing in it is not.
        let open = |request_id: &str, evidence: Vec<pb::EvidenceRef>| pb::OpenDisputeRequest {
            request_id: request_id.into(),
            ticket_id: ticket.clone(),
            question: "Was the gutter's outlet designed too small?".into(),
            appraisal_institution: "Jiangsu construction quality centre".into(),
            evidence,
            appraisal_deadline_time: Some(ts(Utc::now() + TimeDelta::days(14))),
        };
        let customer = desk.customer.clone();
        let err = desk
            .repair
            .open_dispute(authed(
                open("d-0", vec![pb::EvidenceRef::default()]),
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["evidence[0]"], "{}", descriptions(&err));
        let note = pb::EvidenceRef {
            note: "appraisal letter to follow".into(),
            ..Default::default()
        };
        let dispute = desk
            .repair
            .open_dispute(authed(open("d-1", vec![note.clone()]), &customer))
            .await
            .unwrap()
            .into_inner()
            .dispute
            .unwrap();
        assert_eq!(dispute.evidence, [note]);
    }
}

#[tokio::test]
async fn measurements_are_judged_as_typed_by_the_servers_rules_and_nothing_is_stored() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        desk.office.hire(roofer("t-lead", date(2030, 12, 31))).await;
        let lead = desk.office.tech_token("t-lead");
        let judge = |measurements: Vec<common::Measurement>| pb::JudgeMeasurementsRequest {
            measurements,
            survey_time: None,
        };
        // One thin spot of five: the coating fails, with its limit and clause in both languages.
        let judged = desk
            .repair
            .judge_measurements(authed(
                judge(vec![crate::repair::coating_reading(
                    "G2",
                    [150.0, 148.0, 110.0, 152.0, 151.0],
                )]),
                &lead,
            ))
            .await
            .expect("judged")
            .into_inner()
            .measurements;
        let verdict = judged[0].judgement.clone().unwrap_or_default();
        assert!(!verdict.passed, "{}: {verdict:?}", backend.name());
        assert_eq!(judged[0].measurement_id, "m1");
        assert_eq!(verdict.points.len(), 5, "each spot's mean of three");
        assert!(verdict.source.contains("GB 50205"), "{verdict:?}");
        assert!(verdict.source_zh.contains("GB 50205"), "{verdict:?}");
        let good = desk
            .repair
            .judge_measurements(authed(
                judge(vec![crate::repair::coating_reading("G2", [150.0; 5])]),
                &lead,
            ))
            .await
            .unwrap()
            .into_inner()
            .measurements;
        assert!(good[0].judgement.as_ref().is_some_and(|j| j.passed));

        // A reading no gauge gives is named at its field; a customer may not judge.
        let mut negative = crate::repair::coating_reading("G2", [150.0; 5]);
        negative.readings[2] = -5.0;
        let refused = desk
            .repair
            .judge_measurements(authed(judge(vec![negative]), &lead))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(fields(&refused), ["measurements[0].readings"]);
        let customer = desk
            .repair
            .judge_measurements(authed(judge(vec![]), &desk.customer))
            .await
            .unwrap_err();
        assert_eq!(customer.code(), Code::PermissionDenied);

        // Judging wrote nothing: no audit record of it.
        let audited = steelcare_store::entity::audit_log::Entity::find()
            .all(&desk.office.app.db)
            .await
            .unwrap();
        assert!(
            audited.iter().all(|r| !r.rpc.contains("JudgeMeasurements")),
            "judging was audited as a change"
        );
        desk.office.app.stop().await.unwrap();
    }
}
