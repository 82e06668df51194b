//! The web console in a real browser against a real server, on each backend: Debian's
//! Chromium driven by playwright-core (`web/e2e/console.mjs`), served by the server itself from
//! the assets built into the binary, calling the public API over gRPC-Web with each person's
//! token. A call becomes a ticket, the dispatch board shows it and offers it by hand, the
//! technician's acceptance appears live on the case page, a customer cannot see another
//! organisation's case, and an expired token gets its own page.
//!
//! Needs Node.js, `npm ci` in `web/` and Chromium at `/usr/bin/chromium` (or
//! `STEELCARE_CHROMIUM`). Without them the test says so and passes, unless
//! `STEELCARE_REQUIRE_BROWSER=1` (as `.ci/run` sets it), when it fails.
//! `STEELCARE_SCREENSHOTS=dir` saves the main pages as PNGs (the README's screenshots).

use std::path::{Path, PathBuf};
use std::time::Duration;

use steelcare_domain::Role;
use steelcare_domain::dispatch::Skill;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as dispatch;
use steelcare_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_tests::fixtures::{SITE, customer_request, person, project_request};
use steelcare_tests::{TestApp, authed, backends, spawn_app};

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Chromium and the script's packages, or why the test cannot run here.
fn browser() -> Result<PathBuf, String> {
    let chromium =
        std::env::var("STEELCARE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    if !web_dir().join("node_modules/playwright-core").exists() {
        return Err("web/node_modules is missing (npm ci in web/)".into());
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err("no node on PATH".into());
    }
    Ok(PathBuf::from(chromium))
}

struct Seeded {
    project_name: String,
    customer_a: String,
    other_ticket_id: String,
    other_ticket_number: String,
}

const PHENOMENON: &str = "钢梁下翼缘出现裂缝，屋面有异响";
const OTHER_PHENOMENON: &str = "Other organisation: purlin sagging over bay 9";

fn surveyor(id: &str, name: &str, km_from_site: f64) -> dispatch::Technician {
    dispatch::Technician {
        technician_id: id.into(),
        person: Some(person(name)),
        team: "east".into(),
        regions: vec!["Suzhou".into()],
        // About 111 km per degree of latitude.
        base_location: Some(common::GeoPoint {
            latitude: SITE.0 + km_from_site / 111.0,
            longitude: SITE.1,
        }),
        skills: vec![
            Skill::StructuralSurvey.proto_value(),
            Skill::SurveyingInstruments.proto_value(),
        ],
        calendar: "round_the_clock".into(),
        capacity: 2,
        ..Default::default()
    }
}

/// Two customers with a project each, a ticket of the second, and two qualified surveyors (the
/// nearer gets the automatic offer; the console offers to the other by hand).
async fn seed(app: &TestApp) -> Seeded {
    let mut intake_client = IntakeServiceClient::new(app.channel().await);
    let mut dispatch_client = DispatchServiceClient::new(app.channel().await);
    let agent = app.token("agent-1", &[Role::Agent], None);
    let dispatcher = app.token("dispatcher-1", &[Role::Dispatcher], None);
    let mut projects = Vec::new();
    for (name, contract) in [
        ("Acme Logistics", "HT-2024-001"),
        ("Other Steel Works", "HT-2024-002"),
    ] {
        let customer = intake_client
            .create_customer(authed(
                intake::CreateCustomerRequest {
                    organization_name: name.into(),
                    ..customer_request("")
                },
                &agent,
            ))
            .await
            .expect("customer")
            .into_inner()
            .customer
            .expect("customer");
        let project = intake_client
            .register_project(authed(
                intake::RegisterProjectRequest {
                    name: format!("{name} warehouse"),
                    contract_number: contract.into(),
                    ..project_request("", &customer.customer_id)
                },
                &agent,
            ))
            .await
            .expect("project")
            .into_inner()
            .project
            .expect("project");
        projects.push((customer.customer_id, project));
    }
    let other = intake_client
        .create_ticket(authed(
            intake::CreateTicketRequest {
                channel: intake::Channel::Hotline as i32,
                project_id: projects[1].1.project_id.clone(),
                reporter: Some(person("Zhao Liu")),
                location: Some(intake::StructureLocation {
                    description: "bay 9".into(),
                    ..Default::default()
                }),
                description: Some(intake::ProblemDescription {
                    phenomenon: OTHER_PHENOMENON.into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &agent,
        ))
        .await
        .expect("other ticket")
        .into_inner()
        .ticket
        .expect("other ticket");
    for technician in [
        surveyor("t-near", "Chen Near", 2.0),
        surveyor("t-far", "Sun Far", 30.0),
    ] {
        dispatch_client
            .upsert_technician(authed(
                dispatch::UpsertTechnicianRequest {
                    technician: Some(technician),
                    update_mask: None,
                },
                &dispatcher,
            ))
            .await
            .expect("technician");
    }
    Seeded {
        project_name: projects[0].1.name.clone(),
        customer_a: projects[0].0.clone(),
        other_ticket_id: other.ticket_id,
        other_ticket_number: other.acceptance_number,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_takes_a_call_to_a_live_acceptance_and_keeps_organisations_apart() {
    let chromium = match browser() {
        Ok(path) => path,
        Err(why) if std::env::var("STEELCARE_REQUIRE_BROWSER").as_deref() != Ok("1") => {
            eprintln!("SKIPPED: the console's browser test cannot run here: {why}");
            return;
        }
        Err(why) => panic!("the console's browser test cannot run: {why}"),
    };
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let seeded = seed(&app).await;
        let expired = app
            .auth
            .issue("agent-2", &[Role::Agent], None, Duration::from_secs(1))
            .expect("token");
        let config = serde_json::json!({
            "url": app.address,
            "projectName": seeded.project_name,
            "phenomenon": PHENOMENON,
            "technicians": [
                { "id": "t-near", "name": "Chen Near" },
                { "id": "t-far", "name": "Sun Far" },
            ],
            "otherTicketId": seeded.other_ticket_id,
            "otherTicketNumber": seeded.other_ticket_number,
            "otherPhenomenon": OTHER_PHENOMENON,
            "tokens": {
                "agent": app.token("agent-1", &[Role::Agent], None),
                "dispatcher": app.token("dispatcher-1", &[Role::Dispatcher], None),
                "technicians": {
                    "t-near": app.token("t-near", &[Role::Technician], None),
                    "t-far": app.token("t-far", &[Role::Technician], None),
                },
                "customerA": app.token("li-wei", &[Role::Customer], Some(&seeded.customer_a)),
                "manager": app.token("manager-1", &[Role::Manager], None),
                "expired": expired,
            },
        });
        let mut command = std::process::Command::new("node");
        command
            .arg("e2e/console.mjs")
            .current_dir(web_dir())
            .env("STEELCARE_E2E", config.to_string())
            .env("STEELCARE_CHROMIUM", &chromium);
        // Screenshots of the embedded backend only: the pages are the same on both.
        if backend.name() != "embedded" {
            command.env_remove("STEELCARE_SCREENSHOTS");
        }
        // Every wait in the script has its own timeout, so it ends.
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("join")
            .expect("run node");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("{}:\n{stdout}{stderr}", backend.name());
        assert!(
            output.status.success(),
            "the console failed on {}:\n{stdout}\n{stderr}",
            backend.name()
        );
        assert!(stdout.contains("all 8 steps held"), "{stdout}");
        app.stop().await.expect("stop");
    }
}
