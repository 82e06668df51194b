//! One case across the distributed deployment: `deploy/local/run.sh` starts PostgreSQL,
//! Redis and the six services as six processes of the built binary; the case is walked from
//! the call to the last return visit, each process is killed (SIGKILL) once on the way and
//! started again by the script, and the case ends CLOSED with a verified archive, every
//! record once. The client retries what a dead process could not answer (UNAVAILABLE), with
//! the same request ids, as any client of a rolling deployment does.
//!
//! Runs where PostgreSQL is enabled for the tests (`STEELCARE_TEST_DATABASE_URL`): it starts
//! its own PostgreSQL and Redis from the machine's binaries, on ports of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use sea_orm::ConnectionTrait;
use steelcare_domain::Role;
use steelcare_proto::acceptance::v1 as apb;
use steelcare_proto::acceptance::v1::acceptance_service_client::AcceptanceServiceClient;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as dpb;
use steelcare_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use steelcare_proto::feedback::v1 as fpb;
use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_proto::integration::v1 as ipb;
use steelcare_proto::integration::v1::integration_service_client::IntegrationServiceClient;
use steelcare_proto::notify::v1 as npb;
use steelcare_proto::notify::v1::notify_service_client::NotifyServiceClient;
use steelcare_proto::repair::v1 as rpb;
use steelcare_proto::repair::v1::repair_service_client::RepairServiceClient;
use steelcare_tests::{TEST_SECRET, postgres_url, test_authenticator};
use tokio::time::Instant;
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint};

use crate::acceptance::{acceptance, agreement, self_inspection};
use crate::dispatch::{date, person, roofer};
use crate::repair::{cny, coating_reading, plan_content, report_content, ts, work};
use steelcare_tests::fixtures::{customer_request, project_request};

const SERVICES: [&str; 6] = [
    "intake",
    "dispatch",
    "repair",
    "acceptance",
    "feedback",
    "notify",
];
const BASE_PORT: u16 = 50161;
const PG_PORT: u16 = 55533;

/// `deploy/local/run.sh` running in a directory of its own; stopped (SIGTERM) on drop.
struct Local {
    script: Child,
    dir: tempfile::TempDir,
}

/// The workspace's root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// The `steelcare` binary, built (debug) once per test process if it is not up to date.
pub(crate) fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "steelcare", "--bin", "steelcare"])
                .current_dir(workspace())
                .status()
                .expect("cargo build");
            assert!(status.success(), "building the steelcare binary failed");
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join("target"))
                .join("debug")
                .join("steelcare")
        })
        .clone()
}

impl Local {
    async fn start() -> Local {
        let dir = tempfile::tempdir().expect("temp dir");
        // PostgreSQL runs as its own user when we are root: it must reach its data directory.
        let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
        let script = Command::new(workspace().join("deploy/local/run.sh"))
            .env("STEELCARE_LOCAL_DIR", dir.path())
            .env("STEELCARE_LOCAL_BASE_PORT", BASE_PORT.to_string())
            .env("STEELCARE_LOCAL_PG_PORT", PG_PORT.to_string())
            .env("STEELCARE_LOCAL_REDIS_PORT", "56480")
            .env("STEELCARE_BIN", binary())
            .env("STEELCARE__AUTH__JWT_SECRET", TEST_SECRET)
            .env_remove("STEELCARE_LOCAL_DATABASE_URL")
            .env_remove("STEELCARE_LOCAL_REDIS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("deploy/local/run.sh");
        let local = Local { script, dir };
        for i in 0..SERVICES.len() {
            local.wait_serving(i).await;
        }
        local
    }

    fn port(index: usize) -> u16 {
        BASE_PORT + index as u16
    }

    fn channel(index: usize) -> Channel {
        Endpoint::from_shared(format!("http://127.0.0.1:{}", Local::port(index)))
            .expect("address")
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy()
    }

    /// Waits until the process of service `index` answers health checks as SERVING.
    async fn wait_serving(&self, index: usize) {
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let mut health = HealthClient::new(Local::channel(index));
            if let Ok(r) = health.check(HealthCheckRequest::default()).await
                && r.into_inner().status == ServingStatus::Serving as i32
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start; its log:\n{}",
                SERVICES[index],
                self.log(index)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log(&self, index: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{}.log", SERVICES[index])))
            .unwrap_or_default()
    }

    fn pid(&self, index: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{}.pid", SERVICES[index])))
            .expect("pid file")
            .trim()
            .to_owned()
    }

    /// Kills service `index` with SIGKILL and waits until the script has started it again.
    async fn kill(&self, index: usize) {
        let before = self.pid(index);
        let status = Command::new("kill").args(["-9", &before]).status().unwrap();
        assert!(status.success(), "kill -9 {before}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.pid(index) == before {
            assert!(
                Instant::now() < deadline,
                "{} not restarted",
                SERVICES[index]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.wait_serving(index).await;
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.script.id().to_string()])
            .status();
        let _ = self.script.wait();
    }
}

/// Calls `$client.$method($request)` with `$token` until it is answered: a process being
/// killed or starting answers UNAVAILABLE (or the connection fails), and concurrent work
/// may answer ABORTED; anything else fails the test.
macro_rules! call {
    ($client:expr, $method:ident, $request:expr, $token:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut client = $client.clone();
            match client
                .$method(steelcare_tests::authed($request, $token))
                .await
            {
                Ok(response) => break response.into_inner(),
                Err(status)
                    if matches!(
                        status.code(),
                        tonic::Code::Unavailable | tonic::Code::Aborted | tonic::Code::Unknown
                    ) && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(status) => panic!("{}: {status:?}", stringify!($method)),
            }
        }
    }};
}

/// Polls until `check` gives a value (60 s at most).
async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn one_case_from_the_call_to_the_last_visit_across_six_processes_each_killed_once() {
    if postgres_url().is_none() {
        eprintln!("skipped: PostgreSQL is not enabled for the tests");
        return;
    }
    let local = Local::start().await;
    let auth = test_authenticator();
    let token = |subject: &str, role: Role, org: Option<&str>| {
        auth.issue(subject, &[role], org, Duration::from_secs(3600))
            .expect("token")
    };
    let intake = IntakeServiceClient::new(Local::channel(0));
    let dispatch = DispatchServiceClient::new(Local::channel(1));
    let repair = RepairServiceClient::new(Local::channel(2));
    let acceptance_client = AcceptanceServiceClient::new(Local::channel(3));
    let feedback = FeedbackServiceClient::new(Local::channel(4));
    let agent = token("agent-1", Role::Agent, None);
    let dispatcher = token("dispatcher-1", Role::Dispatcher, None);
    let engineer = token("eng-1", Role::Engineer, None);
    let reviewer = token("eng-2", Role::Engineer, None);
    let lead = token("t-lead", Role::Technician, None);
    let crew = token("t-crew", Role::Technician, None);

    // The call desk: a customer, a project on the site, a roofer on duty.
    let customer_id = call!(
        intake,
        create_customer,
        customer_request("walk-customer"),
        &agent
    )
    .customer
    .unwrap()
    .customer_id;
    let customer = token("cust-1", Role::Customer, Some(&customer_id));
    let project_id = call!(
        intake,
        register_project,
        project_request("walk-project", &customer_id),
        &agent
    )
    .project
    .unwrap()
    .project_id;
    call!(
        dispatch,
        upsert_technician,
        dpb::UpsertTechnicianRequest {
            technician: Some(roofer("t-lead", date(2030, 12, 31))),
            update_mask: None,
        },
        &dispatcher
    );

    // The call becomes a ticket; intake is killed right after.
    let ticket = call!(
        intake,
        create_ticket,
        intake::CreateTicketRequest {
            request_id: "walk-ticket".into(),
            channel: intake::Channel::Hotline as i32,
            project_id: project_id.clone(),
            reporter: Some(person("Wang Wu")),
            location: Some(intake::StructureLocation {
                description: "north roof gutter".into(),
                ..Default::default()
            }),
            description: Some(intake::ProblemDescription {
                phenomenon: "屋面天沟漏水，下雨时滴水".into(),
                ..Default::default()
            }),
            customer_request: "please repair".into(),
            related_case_id: String::new(),
        },
        &agent
    )
    .ticket
    .unwrap()
    .ticket_id;
    local.kill(0).await;
    call!(
        intake,
        acknowledge_ticket,
        intake::AcknowledgeTicketRequest {
            ticket_id: ticket.clone(),
            response_text: "a surveyor is coming".into(),
        },
        &agent
    );

    // Dispatch: the queue worker offers the roofer the visit; accepted; dispatch is killed.
    let assignment = until("the offer", || {
        let dispatch = dispatch.clone();
        let (ticket, dispatcher) = (ticket.clone(), dispatcher.clone());
        async move {
            let found = call!(
                dispatch,
                list_assignments,
                dpb::ListAssignmentsRequest {
                    ticket_id: ticket.clone(),
                    ..Default::default()
                },
                &dispatcher
            );
            found
                .assignments
                .into_iter()
                .find(|a| a.state == dpb::AssignmentState::Offered as i32)
        }
    })
    .await;
    assert_eq!(assignment.technician_id, "t-lead");
    call!(
        dispatch,
        accept_assignment,
        dpb::AcceptAssignmentRequest {
            assignment_id: assignment.assignment_id.clone(),
        },
        &lead
    );
    local.kill(1).await;
    // Notify is killed while the offer's events come in; the roofer hears of it once (below).
    local.kill(5).await;
    call!(
        dispatch,
        upsert_technician,
        dpb::UpsertTechnicianRequest {
            technician: Some(roofer("t-crew", date(2030, 12, 31))),
            update_mask: None,
        },
        &dispatcher
    );
    call!(
        dispatch,
        plan_survey,
        dpb::PlanSurveyRequest {
            survey_plan: Some(dpb::SurveyPlan {
                ticket_id: ticket.clone(),
                lead_technician_id: "t-lead".into(),
                scheduled_time: Some(ts(Utc::now() + TimeDelta::hours(2))),
                ..Default::default()
            }),
        },
        &dispatcher
    );
    call!(
        dispatch,
        record_arrival,
        dpb::RecordArrivalRequest {
            assignment_id: assignment.assignment_id.clone(),
            ..Default::default()
        },
        &dispatcher
    );

    // Repair: survey, plan, approval, agreement; repair is killed; work, inspection, done.
    call!(
        repair,
        submit_survey_report,
        rpb::SubmitSurveyReportRequest {
            request_id: "walk-report".into(),
            ticket_id: ticket.clone(),
            content: Some(report_content()),
        },
        &engineer
    );
    let mut content = plan_content(&["t-crew"], TimeDelta::days(1));
    content.cost_estimate = cny(1_000_000);
    call!(
        repair,
        propose_plan,
        rpb::ProposePlanRequest {
            request_id: "walk-plan".into(),
            ticket_id: ticket.clone(),
            content: Some(content.clone()),
            revision_reason: String::new(),
        },
        &engineer
    );
    call!(
        repair,
        review_plan,
        rpb::ReviewPlanRequest {
            request_id: "walk-review".into(),
            ticket_id: ticket.clone(),
            version: 1,
            approved: true,
            comments: String::new(),
        },
        &reviewer
    );
    call!(
        repair,
        record_customer_decision,
        rpb::RecordCustomerDecisionRequest {
            request_id: "walk-decision".into(),
            ticket_id: ticket.clone(),
            plan_version: 1,
            agreed: true,
            ..Default::default()
        },
        &customer
    );
    call!(
        repair,
        sign_agreement,
        agreement("walk-agreement", &ticket),
        &engineer
    );
    local.kill(2).await;
    for (step, progress) in [("s1", 40), ("s2", 90)] {
        let mut entry = work(step, &["t-crew"], progress);
        entry.ticket_id = ticket.clone();
        entry.request_id = format!("walk-work-{step}");
        call!(repair, log_work, entry.clone(), &crew);
    }
    let inspection = call!(
        repair,
        record_inspection,
        rpb::RecordInspectionRequest {
            request_id: "walk-inspection".into(),
            ticket_id: ticket.clone(),
            step_id: "s2".into(),
            measurements: vec![coating_reading("G2", [151.0; 5])],
            notes: String::new(),
        },
        &crew
    );
    assert!(inspection.inspection.unwrap().passed);
    call!(
        repair,
        complete_repair,
        rpb::CompleteRepairRequest {
            request_id: "walk-complete".into(),
            ticket_id: ticket.clone(),
            summary: "Gutter recoated, outlet resealed".into(),
        },
        &engineer
    );

    // Acceptance: self-inspection; acceptance is killed; the customer accepts; archived.
    call!(
        acceptance_client,
        record_self_inspection,
        self_inspection("walk-self", &ticket, [152.0; 5]),
        &crew
    );
    local.kill(3).await;
    call!(
        acceptance_client,
        record_customer_acceptance,
        acceptance("walk-accept", &ticket, true),
        &customer
    );
    let archive = call!(
        acceptance_client,
        archive_case,
        apb::ArchiveCaseRequest {
            request_id: "walk-archive".into(),
            ticket_id: ticket.clone(),
        },
        &engineer
    )
    .archive
    .unwrap();

    // Feedback is killed while it takes CaseArchived in; the visits are scheduled anyway.
    local.kill(4).await;
    let visits = until("the return visits", || {
        let feedback = feedback.clone();
        let (ticket, agent) = (ticket.clone(), agent.clone());
        async move {
            let found = call!(
                feedback,
                list_visits,
                fpb::ListVisitsRequest {
                    ticket_id: ticket.clone(),
                },
                &agent
            );
            (found.visits.len() >= 3).then_some(found.visits)
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = call!(
        feedback,
        list_visits,
        fpb::ListVisitsRequest {
            ticket_id: ticket.clone(),
        },
        &agent
    );
    assert_eq!(
        again.visits.iter().map(|v| v.sequence).collect::<Vec<_>>(),
        [1, 2, 3],
        "scheduled once"
    );
    let mut state = 0;
    for visit in &visits {
        let answer = call!(
            feedback,
            record_visit_attempt,
            fpb::RecordVisitAttemptRequest {
                request_id: format!("walk-visit-{}", visit.sequence),
                visit_id: visit.visit_id.clone(),
                outcome: fpb::AttemptOutcome::Reached as i32,
                method: fpb::VisitMethod::Phone as i32,
                contact: Some(person("Li Wei")),
                condition: fpb::PartCondition::Good as i32,
                ..Default::default()
            },
            &agent
        );
        state = answer.state;
    }
    assert_eq!(
        state,
        common::CaseState::Closed as i32,
        "the last visit closes the case"
    );

    // The end: CLOSED, the archive intact, and every record once.
    let closed = call!(
        intake,
        get_ticket,
        intake::GetTicketRequest {
            ticket_id: ticket.clone(),
        },
        &agent
    )
    .ticket
    .unwrap();
    assert_eq!(closed.state, common::CaseState::Closed as i32);
    let verified = call!(
        acceptance_client,
        verify_archive,
        apb::VerifyArchiveRequest {
            archive_number: archive.archive_number.clone(),
        },
        &engineer
    );
    assert!(verified.intact, "{verified:?}");
    let assignments = call!(
        dispatch,
        list_assignments,
        dpb::ListAssignmentsRequest {
            ticket_id: ticket.clone(),
            ..Default::default()
        },
        &dispatcher
    )
    .assignments;
    assert_eq!(assignments.len(), 1, "{assignments:?}");
    let logs = call!(
        repair,
        list_work_log,
        rpb::ListWorkLogRequest {
            ticket_id: ticket.clone(),
            ..Default::default()
        },
        &engineer
    );
    assert_eq!(logs.entries.len(), 2, "{logs:?}");

    // The case's events, as an internal system follows them: each state once, in order.
    let system = token("erp", Role::Integration, None);
    let mut stream = IntegrationServiceClient::new(Local::channel(0))
        .subscribe_events(steelcare_tests::authed(
            ipb::SubscribeEventsRequest {
                from_start: true,
                case_id: ticket.clone(),
                event_types: vec!["CaseStateChanged".into()],
                ..Default::default()
            },
            &system,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut states = Vec::new();
    while let Ok(Some(Ok(event))) =
        tokio::time::timeout(Duration::from_secs(3), stream.next()).await
    {
        if let Some(steelcare_proto::events::v1::event_envelope::Payload::CaseStateChanged(c)) =
            event.event.and_then(|e| e.payload)
        {
            states.push(c.to_state);
        }
    }
    let expected: Vec<i32> = [
        common::CaseState::Acknowledged,
        common::CaseState::SurveyScheduled,
        common::CaseState::Surveyed,
        common::CaseState::PlanProposed,
        common::CaseState::PlanApproved,
        common::CaseState::Agreed,
        common::CaseState::InRepair,
        common::CaseState::SelfInspected,
        common::CaseState::Accepted,
        common::CaseState::Archived,
        common::CaseState::Closed,
    ]
    .into_iter()
    .map(|s| s as i32)
    .collect();
    assert_eq!(states, expected, "every step once, in order");

    // The roofer heard of the offer in the console, once, though notify was killed meanwhile.
    let notify = NotifyServiceClient::new(Local::channel(5));
    let heard = until("the offer's notification", || {
        let notify = notify.clone();
        let (ticket, lead) = (ticket.clone(), lead.clone());
        async move {
            let found = call!(
                notify,
                list_notifications,
                npb::ListNotificationsRequest::default(),
                &lead
            );
            let offers: Vec<_> = found
                .notifications
                .into_iter()
                .filter(|n| n.topic == "offer" && n.case_id == ticket)
                .collect();
            (!offers.is_empty()).then_some(offers)
        }
    })
    .await;
    assert_eq!(heard.len(), 1, "the offer told once: {heard:?}");

    // Each process signed in as its own database role, and none was refused a write: the
    // case above went through with each service writing only its own tables.
    let admin = steelcare_store::connect(
        &format!("postgres://postgres@127.0.0.1:{PG_PORT}/postgres"),
        1,
    )
    .await
    .expect("PostgreSQL of the walk");
    let signed_in: Vec<String> = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT DISTINCT usename::text FROM pg_stat_activity \
             WHERE usename LIKE 'steelcare%' ORDER BY 1",
        ))
        .await
        .expect("sessions")
        .iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        .collect();
    let roles: Vec<String> = [
        "acceptance",
        "dispatch",
        "feedback",
        "intake",
        "notify",
        "repair",
    ]
    .iter()
    .map(|s| format!("steelcare_{s}_app"))
    .collect();
    assert_eq!(signed_in, roles, "one database role per service");
    for (i, service) in SERVICES.iter().enumerate() {
        let log = local.log(i);
        for refusal in ["permission denied", "row-level security"] {
            assert!(!log.contains(refusal), "{service} was refused: {log}");
        }
    }
}
