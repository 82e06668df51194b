//! The office's screens (issue 25), in a browser on both backends, each step by the person
//! whose step it is: the approvals inbox offers a plan to the technical lead and then to the
//! chief engineer, never to its author, and a return without a comment shows the server's
//! refusal.

use chrono::TimeDelta;
use steelcare_proto::common::v1 as common;
use steelcare_proto::repair::v1 as pb;
use steelcare_tests::{authed, backends};

use crate::console::{chromium_or_skip, run_script};
use crate::dispatch::{date, roofer};
use crate::repair::{Desk, plan_content, report_content};

#[tokio::test]
async fn a_plan_goes_through_the_approvals_inbox_of_each_reviewer() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
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
        // 80,000 CNY: the technical lead, then the chief engineer.
        let content = plan_content(&["t-crew"], TimeDelta::days(1));
        desk.propose("p-1", &ticket, content, "").await.unwrap();
        let config = serde_json::json!({
            "url": desk.office.app.address,
            "ticketId": ticket,
            "crewName": "钱师傅",
            "tokens": {
                "author": engineer,
                "reviewer": desk.reviewer,
                "chief": desk.chief,
            },
        });
        run_script("office.mjs", config, &backend, &chromium, 3).await;
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
        assert_eq!(plan.status, pb::PlanStatus::Approved as i32);
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
        assert_eq!(desk.state(&ticket).await, common::CaseState::PlanApproved);
        desk.office.app.stop().await.unwrap();
    }
}
