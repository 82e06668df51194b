//! Money and who pays, on both backends (issue 20 §1–2): amounts the product cannot carry are
//! refused at their field, never split wrongly or panicking; every amount has a currency; the
//! cost bearing follows the configured policy (the contractor's own defect after the warranty
//! at cost, a third party claimed from by name), is answerable before a price exists, and says
//! why in Chinese and English with the warranty scope and its dates.

use chrono::TimeDelta;
use steelcare_proto::common::v1 as common;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::repair::v1 as pb;
use steelcare_tests::fixtures::project_request;
use steelcare_tests::{authed, backends};
use tonic::Code;

use crate::dispatch::{date, roofer};
use crate::repair::{Desk, cny, descriptions, fields, plan_content, report_content, share};

fn money(code: &str, amount_minor: i64) -> Option<common::Money> {
    Some(common::Money {
        currency_code: code.into(),
        amount_minor,
    })
}

async fn assess(
    desk: &mut Desk,
    ticket: &str,
    quoted: Option<common::Money>,
    cost_price: Option<common::Money>,
) -> Result<pb::CostBearing, tonic::Status> {
    let engineer = desk.engineer.clone();
    desk.repair
        .assess_cost(authed(
            pb::AssessCostRequest {
                ticket_id: ticket.into(),
                quoted,
                cost_price,
            },
            &engineer,
        ))
        .await
        .map(|r| r.into_inner().cost.unwrap())
}

/// A leaking roof on a warehouse handed over on 10 May 2020: its waterproofing warranty (five
/// years) ran out on 9 May 2025, so a report now is out of warranty. Surveyed: the report
/// finds the contractor's workmanship at fault.
async fn expired_case(desk: &mut Desk) -> String {
    let o = &mut desk.office;
    let old = o
        .intake
        .register_project(authed(
            intake::RegisterProjectRequest {
                name: "Wuxi cold store".into(),
                contract_number: "HT-2020-007".into(),
                completion_acceptance_date: Some(date(2020, 5, 10)),
                ..project_request("", &o.customer_id)
            },
            &o.agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap()
        .project_id;
    o.hire(roofer("t-lead", date(2030, 12, 31))).await;
    let ticket = desk
        .surveyed_case_in(&old, "t-lead", TimeDelta::hours(1), true)
        .await;
    let lead = desk.office.tech_token("t-lead");
    desk.submit("r-1", &ticket, report_content(), &lead)
        .await
        .unwrap();
    ticket
}

#[tokio::test]
async fn amounts_the_product_cannot_carry_are_refused_at_their_field() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let ticket = expired_case(&mut desk).await;
        for (quoted, cost, field) in [
            // Once a panic (multiply with overflow) in the split.
            (money("CNY", i64::MAX), None, "quoted.amount_minor"),
            (
                money("CNY", 1_000_000_000_000_001),
                None,
                "quoted.amount_minor",
            ),
            (money("CNY", -1), None, "quoted.amount_minor"),
            (money("", 100), None, "quoted.currency_code"),
            (money("XYZ", 100), None, "quoted.currency_code"),
            (money("USD", 100), None, "quoted.currency_code"),
            (money("CNY", 100), money("CNY", 101), "cost_price"),
            (None, money("CNY", 1), "cost_price"),
        ] {
            let err = assess(&mut desk, &ticket, quoted.clone(), cost)
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{quoted:?} {backend:?}");
            assert_eq!(fields(&err), [field], "{}", descriptions(&err));
        }
        // The largest amount the product carries splits to the minor unit.
        let bearing = assess(
            &mut desk,
            &ticket,
            money("CNY", 1_000_000_000_000_000),
            money("CNY", 999_999_999_999_999),
        )
        .await
        .unwrap();
        assert_eq!(
            bearing.customer_pays.unwrap().amount_minor
                + bearing.contractor_bears.unwrap().amount_minor,
            1_000_000_000_000_000
        );

        // A plan's estimate and an agreement's quote need a currency too.
        let mut plan = plan_content(&["t-lead"], TimeDelta::days(1));
        plan.cost_estimate = money("", 8_000_000);
        let err = desk.propose("p-1", &ticket, plan, "").await.unwrap_err();
        assert_eq!(fields(&err), ["content.cost_estimate.currency_code"]);
        let manager = desk.manager.clone();
        let err = desk
            .repair
            .sign_agreement(authed(
                pb::SignAgreementRequest {
                    request_id: "ag-1".into(),
                    ticket_id: ticket.clone(),
                    plan_version: 1,
                    contractor_obligations: vec!["Repair the gutter".into()],
                    quoted: money("", 8_000_000),
                    signatures: vec![],
                    ..Default::default()
                },
                &manager,
            ))
            .await
            .unwrap_err();
        assert!(
            fields(&err).contains(&"quoted.currency_code".to_owned()),
            "{}",
            descriptions(&err)
        );
    }
}

#[tokio::test]
async fn who_pays_follows_the_policy_and_says_why_with_the_warranty_and_its_dates() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let ticket = expired_case(&mut desk).await;

        // Before any price: who pays which share, and how.
        let before = assess(&mut desk, &ticket, None, None).await.unwrap();
        assert!(!before.in_warranty);
        assert_eq!(before.lines.len(), 1);
        assert_eq!(before.lines[0].treatment(), pb::CostTreatment::AtCost);
        assert!(!before.lines[0].in_warranty_rule);
        assert!(before.customer_pays.is_none() && before.quoted.is_none());
        assert_eq!(before.warranty_start, Some(date(2020, 5, 10)));
        assert_eq!(before.warranty_end, Some(date(2025, 5, 9)));
        assert!(
            before.reasoning_en.contains("(amount to be quoted)"),
            "{}",
            before.reasoning_en
        );

        // At cost needs the cost price.
        let err = assess(&mut desk, &ticket, cny(800_000), None)
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["cost_price"]);

        // The contractor's own defect after the warranty: at cost, never at the full quote.
        let cost = assess(&mut desk, &ticket, cny(800_000), cny(600_000))
            .await
            .unwrap();
        assert_eq!(cost.customer_pays, cny(600_000));
        assert_eq!(cost.contractor_bears, cny(200_000));
        assert!(!cost.free_for_customer);
        for words in [
            "防水工程",
            "2020年5月10日 至 2025年5月9日",
            "潜在缺陷",
            "按成本价（不含利润）收取 6,000.00 元",
            "〔规则：保修期外·施工方→按成本价〕",
        ] {
            assert!(
                cost.reasoning_zh.contains(words),
                "{words}: {}",
                cost.reasoning_zh
            );
        }
        for words in [
            "waterproofing",
            "10 May 2020 to 9 May 2025",
            "latent defect",
            "at cost without margin, CNY 6,000.00",
            "[rule: out of warranty, the contractor → at cost]",
        ] {
            assert!(
                cost.reasoning_en.contains(words),
                "{words}: {}",
                cost.reasoning_en
            );
        }
        assert!(!cost.reasoning_zh.contains('%') && !cost.reasoning_en.contains('%'));

        // A third party must be named; the customer is not charged for what it caused.
        let engineer = desk.engineer.clone();
        let correct = |reason: &str, party_name: &str| pb::CorrectSurveyReportRequest {
            request_id: format!("c-{reason}"),
            ticket_id: ticket.clone(),
            base_version: 1,
            reason: reason.into(),
            content: Some(pb::SurveyReportContent {
                diagnosis: Some(pb::Diagnosis {
                    root_cause: common::RootCause::Environment as i32,
                    responsibility: vec![
                        common::ResponsibilityShare {
                            party_name: party_name.into(),
                            ..share(common::ResponsibleParty::ThirdParty, 70)
                        },
                        share(common::ResponsibleParty::Contractor, 30),
                    ],
                    ..report_content().diagnosis.unwrap()
                }),
                ..report_content()
            }),
        };
        let err = desk
            .repair
            .correct_survey_report(authed(correct("unnamed", ""), &engineer))
            .await
            .unwrap_err();
        assert_eq!(
            fields(&err),
            ["content.diagnosis.responsibility[0].party_name"]
        );
        desk.repair
            .correct_survey_report(authed(correct("excavation", "邻近基坑施工单位"), &engineer))
            .await
            .unwrap();
        let cost = assess(&mut desk, &ticket, cny(1_000_001), cny(900_000))
            .await
            .unwrap();
        let claim = &cost.back_charges[0];
        assert_eq!(claim.party(), common::ResponsibleParty::ThirdParty);
        assert_eq!(claim.party_name, "邻近基坑施工单位");
        // 70 % of 10,000.01 is 7,000.007 and 30 % is 3,000.003: rounded down they leave one
        // minor unit, which goes to the larger remainder, the third party's.
        assert_eq!(claim.amount, cny(700_001));
        assert_eq!(
            cost.customer_pays,
            cny(270_000),
            "the contractor's 30 % at cost"
        );
        assert_eq!(
            cost.customer_pays.unwrap().amount_minor + cost.contractor_bears.unwrap().amount_minor,
            1_000_001
        );
        assert!(
            cost.reasoning_zh
                .contains("70% 的责任在第三方（邻近基坑施工单位）"),
            "{}",
            cost.reasoning_zh
        );
        assert!(
            cost.reasoning_zh.contains("客户不承担费用"),
            "{}",
            cost.reasoning_zh
        );
        assert!(
            cost.reasoning_en
                .contains("claims CNY 7,000.01 from 邻近基坑施工单位"),
            "{}",
            cost.reasoning_en
        );
    }
}
