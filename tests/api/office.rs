//! The office's screens (issue 25), in a browser on both backends, each step by the person
//! whose step it is: the engineer writes the plan in the editor (a refused field shown where it
//! is), the approvals inbox offers it to the technical lead and then to the chief engineer,
//! never to its author, and a return without a comment shows the server's refusal; the agent
//! records the call with the customer, the customer agrees, and the engineer prepares the
//! agreement for the customer's signature with the bearing worked out for the quote.

use chrono::TimeDelta;
use steelcare_proto::common::v1 as common;
use steelcare_proto::repair::v1 as pb;
use steelcare_tests::{authed, backends};

use crate::console::{chromium_or_skip, run_script};
use crate::dispatch::{date, roofer};
use crate::repair::{Desk, report_content};

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
        let config = serde_json::json!({
            "url": desk.office.app.address,
            "ticketId": ticket,
            "crewName": "钱师傅",
            "tokens": {
                "author": engineer,
                "reviewer": desk.reviewer,
                "chief": desk.chief,
                "agent": desk.office.agent,
                "customer": desk.customer,
            },
        });
        run_script("office.mjs", config, &backend, &chromium, 6).await;
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
        assert_eq!(plan.status, pb::PlanStatus::Agreed as i32, "approved, then agreed");
        let content = plan.content.clone().unwrap_or_default();
        assert_eq!(content.crew_technician_ids, ["t-crew"]);
        assert_eq!(content.cost_estimate.map(|m| m.amount_minor), Some(8_000_000));
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
        let agreement = desk
            .repair
            .get_agreement(authed(
                pb::GetAgreementRequest {
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap_or_default();
        assert!(agreement.awaiting_customer_signature);
        assert_eq!(agreement.customer_obligations, ["Close bay 3 for a day"]);
        let signed = &agreement.signatures[0];
        assert_eq!(
            signed.evidence.as_ref().map(|e| e.content_type.as_str()),
            Some("image/png")
        );
        desk.office.app.stop().await.unwrap();
    }
}
