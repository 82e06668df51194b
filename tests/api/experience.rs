//! The experience base end to end, on both backends: a few hundred generated cases in Chinese
//! and English, found again by new phrasings of the same defect (ranking measured as the rank
//! of the first case of the same defect and the precision of the first ten), with the
//! matching words highlighted; an archived case shown first among the similar cases of a new
//! call at the same place, with its cause, fix and cost, flagged as a possible recurrence,
//! confirmed, and counted; the standard repair; customers held to their own cases; and a copy
//! of the index built from the database answering as the live one does.

use std::time::Duration;

use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use steelcare_proto::intake::v1 as intake;
use steelcare_tests::fixtures::project_request;
use steelcare_tests::{authed, backends};
use tonic::Code;
use tonic::transport::Channel;

use crate::dispatch::{date, person, roofer};
use crate::feedback::{archived_case, day};
use crate::repair::{Desk, fields};

/// Defects, each as generated cases say it and as a new caller says it again.
const DEFECTS: [(&str, &str, &str); 12] = [
    (
        "gutter-zh",
        "天沟接缝处漏水，雨天往下滴水",
        "下雨时天沟那里渗水漏水",
    ),
    ("bolt-zh", "柱脚螺栓松动，螺母有间隙", "柱脚的螺栓出现松动"),
    (
        "coating-zh",
        "钢梁防腐涂层起皮脱落，表面生锈",
        "钢梁涂层脱落并且生锈",
    ),
    ("purlin-zh", "檩条明显下挠变形", "檩条变形下垂"),
    (
        "cladding-zh",
        "墙面彩钢板被大风掀开",
        "大风把墙面彩钢板掀起",
    ),
    ("weld-zh", "钢柱焊缝出现裂纹", "焊缝开裂，钢柱上有裂纹"),
    (
        "gutter-en",
        "Water leaking through the gutter joint in heavy rain",
        "gutter joints leak when raining",
    ),
    (
        "bolt-en",
        "Anchor bolts at the column base are loose",
        "loose anchor bolt at a column base",
    ),
    (
        "coating-en",
        "Coating peeling off the steel beam, rust visible",
        "rusty beam, the paint coating peels",
    ),
    (
        "purlin-en",
        "Purlin deflection, the purlins are sagging visibly",
        "sagging purlin",
    ),
    (
        "cladding-en",
        "Wall cladding panels torn off by the wind",
        "wind tore a cladding panel off the wall",
    ),
    (
        "weld-en",
        "Crack in the weld of a steel column",
        "cracked column weld",
    ),
];
/// Generated cases per defect.
const COPIES: usize = 20;
/// Places the generated cases are at.
const PLACES: [&str; 4] = [
    "A 区 3 号厂房",
    "bay 7, north side",
    "B 区仓库",
    "east annex",
];

async fn until<T, F, Fut>(what: &str, mut look: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = look().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn search(
    client: &FeedbackServiceClient<Channel>,
    token: &str,
    query: &str,
    filter: pb::CaseSearchFilter,
    page_size: i32,
) -> Result<pb::SearchCasesResponse, tonic::Status> {
    client
        .clone()
        .search_cases(authed(
            pb::SearchCasesRequest {
                query: query.into(),
                filter: Some(filter),
                page_size,
                page_token: String::new(),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner())
}

/// `SimilarCases` of `ticket_id` (five cases) as `token` sees it; `None` while the call fails.
async fn similar_to(
    client: &FeedbackServiceClient<Channel>,
    token: &str,
    ticket_id: &str,
) -> Option<pb::SimilarCasesResponse> {
    let request = pb::SimilarCasesRequest {
        ticket_id: ticket_id.to_owned(),
        page_size: 5,
    };
    let answer = client.clone().similar_cases(authed(request, token)).await;
    answer.ok().map(|r| r.into_inner())
}

/// The cases that came back.
fn came_back_filter() -> pb::CaseSearchFilter {
    pb::CaseSearchFilter {
        outcome: pb::CaseOutcome::Recurred as i32,
        ..Default::default()
    }
}

fn ids(found: &pb::SearchCasesResponse) -> Vec<String> {
    found
        .hits
        .iter()
        .filter_map(|h| h.case.as_ref().map(|c| c.ticket_id.clone()))
        .collect()
}

/// A ticket at `place` of `project` saying `phenomenon`.
async fn ticket(desk: &mut Desk, project: &str, place: &str, phenomenon: &str) -> String {
    desk.office
        .intake
        .create_ticket(authed(
            intake::CreateTicketRequest {
                request_id: String::new(),
                channel: intake::Channel::Hotline as i32,
                project_id: project.into(),
                reporter: Some(person("Wang Wu")),
                location: Some(intake::StructureLocation {
                    description: place.into(),
                    ..Default::default()
                }),
                description: Some(intake::ProblemDescription {
                    phenomenon: phenomenon.into(),
                    ..Default::default()
                }),
                customer_request: String::new(),
                related_case_id: String::new(),
            },
            &desk.office.agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap()
        .ticket_id
}

/// Another customer with a project of theirs.
async fn other_customer(desk: &mut Desk, contract: &str) -> (String, String) {
    let agent = desk.office.agent.clone();
    let customer = desk
        .office
        .intake
        .create_customer(authed(
            intake::CreateCustomerRequest {
                request_id: String::new(),
                organization_name: format!("Other {contract}"),
                contacts: vec![person("Zhao Liu")],
            },
            &agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap()
        .customer_id;
    let mut project = project_request("", &customer);
    project.contract_number = contract.into();
    project.name = format!("Warehouse {contract}");
    project.structure_type = intake::StructureType::MultiStoreyFrame as i32;
    let project = desk
        .office
        .intake
        .register_project(authed(project, &agent))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap()
        .project_id;
    (customer, project)
}

/// Generates the cases: [`COPIES`] of each defect, spread over `projects` and [`PLACES`].
/// Answers each case's defect.
async fn generate(desk: &mut Desk, projects: &[String]) -> Vec<(String, &'static str)> {
    let mut made = Vec::new();
    for i in 0..COPIES {
        for (n, (defect, said, _)) in DEFECTS.iter().enumerate() {
            let project = &projects[(i + n) % projects.len()];
            let place = PLACES[(i + 2 * n) % PLACES.len()];
            let id = ticket(desk, project, place, &format!("{said} ({i})")).await;
            made.push((id, *defect));
        }
    }
    made
}

/// A corrective action raised on `case` by an engineer, its fix deployed ten days ago and
/// verified effective by the chief engineer (a three-day window, nothing back in it).
async fn verified_action(
    desk: &Desk,
    client: &FeedbackServiceClient<Channel>,
    case: &str,
) -> String {
    let mut client = client.clone();
    let owner = common::PersonRef {
        user_id: "eng-1".into(),
        ..person("Zhang San")
    };
    client
        .set_department_members(authed(
            pb::SetDepartmentMembersRequest {
                department: pb::Department::Construction as i32,
                members: vec![owner.clone()],
            },
            &desk.manager,
        ))
        .await
        .unwrap();
    let action = client
        .raise_corrective_action(authed(
            pb::RaiseCorrectiveActionRequest {
                request_id: "ca-gutter".into(),
                department: pb::Department::Construction as i32,
                title: "Seal gutter joints with butyl tape".into(),
                description: "The gutter joint at bay 3 leaked".into(),
                owner: Some(owner),
                due_date: Some(day(-1)),
                case_ids: vec![case.to_owned()],
                pattern: None,
                verification_days: 3,
            },
            &desk.engineer,
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    client
        .update_corrective_action(authed(
            pb::UpdateCorrectiveActionRequest {
                request_id: "fix-gutter".into(),
                action_id: action.action_id.clone(),
                status: pb::ActionStatus::FixDeployed as i32,
                note: "butyl tape on every gutter joint".into(),
                fix_date: Some(day(-10)),
                fix_date_reason: "fitted on site before the action was written up".into(),
            },
            &desk.engineer,
        ))
        .await
        .unwrap();
    let verified = client
        .verify_corrective_action(authed(
            pb::VerifyCorrectiveActionRequest {
                request_id: "verify-gutter".into(),
                action_id: action.action_id.clone(),
            },
            &desk.chief,
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap();
    assert_eq!(verified.status, pb::ActionStatus::ClosedEffective as i32);
    action.action_id
}

async fn action_status(client: &FeedbackServiceClient<Channel>, desk: &Desk, action: &str) -> i32 {
    client
        .clone()
        .get_corrective_action(authed(
            pb::GetCorrectiveActionRequest {
                action_id: action.to_owned(),
            },
            &desk.manager,
        ))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap()
        .status
}

#[tokio::test]
async fn earlier_cases_come_first_recurrences_are_flagged_and_scoping_holds() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let client = FeedbackServiceClient::new(desk.office.app.channel().await);
        let agent = desk.office.agent.clone();
        let engineer = desk.engineer.clone();
        let customer = desk.customer.clone();
        let own_project = desk.office.project_id.clone();

        // --- An archived case at bay 3 of the customer's warehouse: a leaking gutter ------
        let archived = archived_case(&mut desk).await;

        // The office learnt from it: an action on the case, its fix verified effective.
        let action = verified_action(&desk, &client, &archived).await;

        // --- A few hundred more, in two other customers' projects --------------------------
        let (other, other_project) = other_customer(&mut desk, "HT-2025-101").await;
        let (_, third_project) = other_customer(&mut desk, "HT-2025-102").await;
        let made = generate(&mut desk, &[other_project.clone(), third_project]).await;
        let everything = made.len() + 1;
        until("every case indexed", || {
            let client = client.clone();
            let agent = agent.clone();
            async move {
                let all = search(&client, &agent, "", Default::default(), 1)
                    .await
                    .ok()?;
                (all.total_size as usize >= everything).then_some(())
            }
        })
        .await;
        // Every mark applied is cleared with the pass that applied it (one left behind would
        // be indexed again at every pass).
        until("every search mark cleared", || {
            let db = desk.office.app.db.clone();
            async move {
                use sea_orm::{EntityTrait, PaginatorTrait};
                let left = (steelcare_store::entity::search_marks::Entity::find())
                    .count(&db)
                    .await
                    .ok()?;
                (left == 0).then_some(())
            }
        })
        .await;

        // --- New phrasings find the same defect first -------------------------------------
        let mut precision = 0.0;
        for (defect, _, again) in DEFECTS {
            let found = search(&client, &agent, again, Default::default(), 10)
                .await
                .unwrap();
            // The archived case is a leaking gutter too.
            let of = |id: &String| {
                (made.iter().find(|(m, _)| m == id).map(|(_, d)| *d))
                    .or((*id == archived).then_some("gutter-zh"))
            };
            let kinds: Vec<Option<&str>> = ids(&found).iter().map(of).collect();
            let first = kinds.iter().position(|k| *k == Some(defect));
            assert_eq!(first, Some(0), "{again:?} found {kinds:?} first");
            precision += kinds.iter().filter(|k| **k == Some(defect)).count() as f64 / 10.0;
            let hit = &found.hits[0];
            let marked: Vec<&str> = (hit.highlights.iter())
                .flat_map(|h| h.segments.iter().filter(|s| s.matched))
                .map(|s| s.text.as_str())
                .collect();
            assert!(!marked.is_empty(), "{again:?}: nothing highlighted");
        }
        let precision = precision / DEFECTS.len() as f64;
        assert!(precision >= 0.9, "precision of the first ten: {precision}");

        // Filters and paging.
        let leaks = search(
            &client,
            &agent,
            "漏水",
            pb::CaseSearchFilter {
                project_id: other_project.clone(),
                ..Default::default()
            },
            5,
        )
        .await
        .unwrap();
        assert!(leaks.total_size > 5 && !leaks.next_page_token.is_empty());
        let next = client
            .clone()
            .search_cases(authed(
                pb::SearchCasesRequest {
                    query: "漏水".into(),
                    filter: Some(pb::CaseSearchFilter {
                        project_id: other_project.clone(),
                        ..Default::default()
                    }),
                    page_size: 5,
                    page_token: leaks.next_page_token.clone(),
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(ids(&next).iter().all(|id| !ids(&leaks).contains(id)));
        let err = search(
            &client,
            &agent,
            "漏水",
            pb::CaseSearchFilter {
                member_type: "chimney".into(),
                ..Default::default()
            },
            5,
        )
        .await
        .unwrap_err();
        assert_eq!(fields(&err), ["filter.member_type"]);

        // --- Scoping: a customer finds only their organisation's cases --------------------
        let mine = search(&client, &customer, "天沟 漏水", Default::default(), 50)
            .await
            .unwrap();
        assert_eq!(ids(&mine), std::slice::from_ref(&archived));
        let theirs = desk
            .office
            .app
            .token("cust-other", &[Role::Customer], Some(&other));
        let found = search(&client, &theirs, "天沟 漏水", Default::default(), 100)
            .await
            .unwrap();
        assert!(!found.hits.is_empty() && !ids(&found).contains(&archived));
        let err = client
            .clone()
            .similar_cases(authed(
                pb::SimilarCasesRequest {
                    ticket_id: archived.clone(),
                    page_size: 3,
                },
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        // --- The same leak at the same place, called in again -----------------------------
        let again = ticket(&mut desk, &own_project, "bay 3", "下雨时天沟那里又渗水了").await;
        let flagged = until("the possible recurrence", || {
            let (client, agent, again) = (&client, &agent, &again);
            async move {
                let similar = similar_to(client, agent, again).await?;
                similar.recurrence.is_some().then_some(similar)
            }
        })
        .await;
        let first = &flagged.cases[0];
        let case = first.case.as_ref().unwrap();
        assert_eq!(case.ticket_id, archived);
        assert_eq!(
            first.reasons[0],
            pb::SimilarityReason::SameProjectLocation as i32
        );
        assert!(
            first
                .reasons
                .contains(&(pb::SimilarityReason::SimilarWords as i32))
        );
        assert!(first.matched_terms.contains(&"天沟".to_owned()));
        assert_ne!(case.root_cause, common::RootCause::Unspecified as i32);
        assert!(!case.fix.is_empty() && case.cost.is_some());
        assert!(!case.recurred);
        let flag = flagged.recurrence.unwrap();
        assert_eq!(flag.original_ticket_id, archived);
        assert_eq!(flag.state, pb::RecurrenceState::Possible as i32);

        // --- The office marks the archived repair as the standard for leaking gutters -----
        let err = client
            .clone()
            .mark_standard_repair(authed(
                pb::MarkStandardRepairRequest {
                    ticket_id: archived.clone(),
                    standard: true,
                    note: String::new(),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = client
            .clone()
            .mark_standard_repair(authed(
                pb::MarkStandardRepairRequest {
                    ticket_id: again.clone(),
                    standard: true,
                    note: String::new(),
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        client
            .clone()
            .mark_standard_repair(authed(
                pb::MarkStandardRepairRequest {
                    ticket_id: archived.clone(),
                    standard: true,
                    note: "re-seal the gutter joint with butyl tape".into(),
                },
                &engineer,
            ))
            .await
            .unwrap();

        // --- The agent confirms the recurrence; the figures count it ----------------------
        let decide = |confirmed: bool| {
            let mut client = client.clone();
            let request = authed(
                pb::DecideRecurrenceRequest {
                    ticket_id: again.clone(),
                    confirmed,
                },
                &agent,
            );
            async move { client.decide_recurrence(request).await }
        };
        // Only possible so far: the verified action stays closed.
        assert_eq!(
            action_status(&client, &desk, &action).await,
            pb::ActionStatus::ClosedEffective as i32
        );
        let decided = decide(true).await.unwrap().into_inner().recurrence.unwrap();
        assert_eq!(decided.state, pb::RecurrenceState::Confirmed as i32);
        let err = decide(false).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        let similar = until("the standard repair and the recurrence counted", || {
            let (client, agent, again) = (&client, &agent, &again);
            async move {
                let s = similar_to(client, agent, again).await?;
                let first = s.cases.first()?.case.as_ref()?;
                (first.recurred && !s.standard_repairs.is_empty()).then_some(s)
            }
        })
        .await;
        assert_eq!(similar.standard_repairs[0].ticket_id, archived);
        // Once the follower has taken the new call's changes in, their marks are gone and the
        // answer no longer says pending (a mark left behind would say so forever).
        until("the new call no longer pending", || {
            let (client, agent, again) = (&client, &agent, &again);
            async move { (!similar_to(client, agent, again).await?.pending).then_some(()) }
        })
        .await;
        // The confirmed recurrence reopens the action verified on the earlier case.
        until("the verified action reopened", || {
            let (client, desk, action) = (&client, &desk, &action);
            async move {
                (action_status(client, desk, action).await == pb::ActionStatus::Open as i32)
                    .then_some(())
            }
        })
        .await;
        assert!(
            similar.cases[0]
                .reasons
                .contains(&(pb::SimilarityReason::StandardRepair as i32))
        );
        let came_back = search(&client, &agent, "", came_back_filter(), 10)
            .await
            .unwrap();
        assert_eq!(ids(&came_back), std::slice::from_ref(&archived));

        // --- A copy built from the database answers as the live one ------------------------
        let search_dir = tempfile::tempdir().unwrap();
        let dir = search_dir.path().display().to_string();
        let copy = desk
            .office
            .app
            .replica(&[("STEELCARE__FEEDBACK__SEARCH_DIR", dir.as_str())])
            .await;
        let rebuilt = FeedbackServiceClient::new(copy.channel().await);
        for (_, _, again) in DEFECTS {
            let live = search(&client, &agent, again, Default::default(), 10)
                .await
                .unwrap();
            let built = until("the copy built", || {
                let rebuilt = rebuilt.clone();
                let agent = agent.clone();
                async move {
                    search(&rebuilt, &agent, again, Default::default(), 10)
                        .await
                        .ok()
                }
            })
            .await;
            // Generated copies of one defect score alike, and ties fall in index order: the
            // defects found, in rank order, and the count are the same.
            let kinds = |found: &pb::SearchCasesResponse| -> Vec<Option<&'static str>> {
                ids(found)
                    .iter()
                    .map(|id| {
                        (made.iter().find(|(m, _)| m == id).map(|(_, d)| *d))
                            .or((*id == archived).then_some("gutter-zh"))
                    })
                    .collect()
            };
            assert_eq!(kinds(&built), kinds(&live), "{again:?}");
            assert_eq!(built.total_size, live.total_size);
        }
        let mine_again = search(&rebuilt, &customer, "天沟 漏水", Default::default(), 50)
            .await
            .unwrap();
        let mut mine_again = ids(&mine_again);
        mine_again.sort();
        let mut both = vec![archived.clone(), again.clone()];
        both.sort();
        assert_eq!(mine_again, both);
        let came_back_again = search(&rebuilt, &agent, "", came_back_filter(), 10)
            .await
            .unwrap();
        assert_eq!(ids(&came_back_again), ids(&came_back));
        copy.stop().await.unwrap();
    }
}

/// The experience base in a browser: see `web/e2e/experience.mjs`.
#[tokio::test]
async fn the_experience_base_in_a_browser_at_phone_and_desktop_width_in_both_languages() {
    let Some(chromium) = crate::console::chromium_or_skip() else {
        return;
    };
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew", "t-surveyor"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let archived = archived_case(&mut desk).await;
        let archived_number = desk.ticket(&archived).await.acceptance_number;
        let surveying = desk
            .surveyed_case("t-surveyor", chrono::TimeDelta::hours(1), true)
            .await;
        let (_, other_project) = other_customer(&mut desk, "HT-2025-101").await;
        let mut other_numbers = Vec::new();
        for (_, said, _) in DEFECTS {
            let id = ticket(&mut desk, &other_project, "bay 3", said).await;
            other_numbers.push(desk.ticket(&id).await.acceptance_number);
        }
        let client = FeedbackServiceClient::new(desk.office.app.channel().await);
        let agent = desk.office.agent.clone();
        let everything = DEFECTS.len() + 2;
        until("every case indexed", || {
            let (client, agent) = (&client, &agent);
            async move {
                let all = search(client, agent, "", Default::default(), 1)
                    .await
                    .ok()?;
                (all.total_size as usize >= everything).then_some(())
            }
        })
        .await;
        let config = serde_json::json!({
            "url": desk.office.app.address,
            "projectName": "Suzhou logistics warehouse",
            "archivedNumber": archived_number,
            "otherNumbers": other_numbers,
            "surveyingTicketId": surveying,
            "tokens": {
                "agent": agent,
                "customer": desk.customer,
                "surveyor": desk.office.tech_token("t-surveyor"),
            },
        });
        crate::console::run_script("experience.mjs", config, &backend, &chromium, 5).await;
        desk.office.app.stop().await.unwrap();
    }
}
