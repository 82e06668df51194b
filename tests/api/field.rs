//! The technician's day on a phone (issue 24), in a browser on both backends: a technician of
//! the directory signs in at 390 px, opens their confirmed job, records arrival with the
//! device's position, fills in the survey with the network cut, sees it wait on the device, has
//! it refused when the network returns (an instrument out of calibration), corrects it with each
//! item judged as typed, and the server holds exactly one report, as sent, with its photo and
//! the representative's drawn signature stored once each.

use chrono::TimeDelta;
use steelcare_proto::common::v1 as common;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::repair::v1 as pb;
use steelcare_tests::{authed, backends};

use crate::console::{browser, web_dir};
use crate::dispatch::{date, roofer};
use crate::repair::Desk;

const PASSWORD: &str = "roof and gutter 24";

#[tokio::test]
async fn a_technician_surveys_on_a_phone_offline_and_the_report_arrives_once() {
    let chromium = match browser() {
        Ok(path) => path,
        Err(why) if std::env::var("STEELCARE_REQUIRE_BROWSER").as_deref() != Ok("1") => {
            eprintln!("SKIPPED: the field browser test cannot run here: {why}");
            return;
        }
        Err(why) => panic!("the field browser test cannot run: {why}"),
    };
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        desk.office.hire(roofer("t-lead", date(2030, 12, 31))).await;
        let ticket = desk
            .surveyed_case("t-lead", TimeDelta::hours(1), false)
            .await;
        let app = &desk.office.app;
        steelcare::identity::add_from_command_line(
            app.db.clone(),
            steelcare_proto::identity::v1::Person {
                login: "zhao.lead".into(),
                display_name: "赵工".into(),
                roles: vec!["technician".into()],
                technician_id: "t-lead".into(),
                ..Default::default()
            },
            PASSWORD.into(),
        )
        .await
        .unwrap();
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
        let mut command = std::process::Command::new("node");
        command
            .arg("e2e/field.mjs")
            .current_dir(web_dir())
            .env("STEELCARE_E2E", config.to_string())
            .env("STEELCARE_CHROMIUM", &chromium);
        if backend.name() != "embedded" {
            command.env_remove("STEELCARE_SCREENSHOTS");
        }
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .expect("run node");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        println!("{}:\n{stdout}{stderr}", backend.name());
        assert!(
            output.status.success() && stdout.contains("all 6 steps held"),
            "the technician's day failed on {}:\n{stdout}\n{stderr}",
            backend.name()
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
        desk.office.app.stop().await.unwrap();
    }
}
