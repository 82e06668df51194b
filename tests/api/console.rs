//! The web console, on both backends. What it needs from the server: its pages on the gRPC
//! port, uploads in one message (browsers cannot stream requests over gRPC-Web), the time zone
//! and working time to count business-mode clocks down, each clock's mode and limit, and
//! WatchTicket telling about what other services did to the case. Then the console itself in
//! a real browser: Debian's Chromium driven by playwright-core (`web/e2e/console.mjs`), served
//! by the server from the assets built into the binary and calling the public API over
//! gRPC-Web with each person's token.
//!
//! The browser test needs Node.js, `npm ci` in `web/` and Chromium at `/usr/bin/chromium` (or
//! `STEELCARE_CHROMIUM`). Without them it says so and passes, unless
//! `STEELCARE_REQUIRE_BROWSER=1` (as `.ci/run` sets it), when it fails.
//! `STEELCARE_SCREENSHOTS=dir` saves the main pages as PNGs (the README's screenshots).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{FixedOffset, TimeZone, Utc};
use sea_orm::{EntityTrait, PaginatorTrait};
use sha2::{Digest, Sha256};
use steelcare_domain::Role;
use steelcare_proto::acceptance::v1 as apb;
use steelcare_proto::acceptance::v1::acceptance_service_client::AcceptanceServiceClient;
use steelcare_proto::admin::v1 as admin;
use steelcare_proto::admin::v1::admin_service_client::AdminServiceClient;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as dispatch;
use steelcare_proto::intake::v1 as intake;
use steelcare_tests::fixtures::{person, project_request};
use steelcare_tests::{Backend, authed, backends, spawn_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::acceptance::{acceptance, repaired_case, self_inspection};
use crate::dispatch::{Office, date, roofer, surveyor};
use crate::intake::fields;
use crate::repair::Desk;

/// A plain HTTP/1.1 GET: status, headers (lower-case names) and body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: console\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn the_console_is_served_on_the_grpc_port() {
    let app = spawn_app(&Backend::Embedded).await;
    let (status, headers, body) = get(app.local_addr, "/").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert!(header(&headers, "content-security-policy").contains("default-src 'self'"));
    let index = String::from_utf8(body).unwrap();
    assert!(index.contains("<div id=\"root\">"), "{index}");
    // The console's own routes get the app, which renders them in the browser.
    let (status, _, body) = get(app.local_addr, "/tickets/0192-abc").await;
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(body).unwrap(), index);
    // The script the page names is served, cached for good under its hashed name.
    let script = index
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let (status, headers, body) = get(app.local_addr, script).await;
    assert_eq!(status, 200, "{script}");
    assert_eq!(
        header(&headers, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(header(&headers, "cache-control").contains("immutable"));
    assert_eq!(header(&headers, "content-length"), body.len().to_string());
    // A missing file is a 404, not the app.
    let (status, _, _) = get(app.local_addr, "/assets/missing.js").await;
    assert_eq!(status, 404);
    // gRPC on the same port still answers.
    let who = AdminServiceClient::new(app.channel().await)
        .who_am_i(authed(
            admin::WhoAmIRequest {},
            &app.token("a", &[Role::Auditor], None),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(who.actor.unwrap().subject, "a");
    app.stop().await.unwrap();
}

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde\0\0\0\x0cIDATx\x9cc\xf8\xcf\xc0\0\0\x03\x01\x01\0\xc9\xfe\x92\xef\0\0\0\0IEND\xaeB`\x82";

fn attach(ticket_id: &str, content_type: &str, content: &[u8]) -> intake::AttachFileRequest {
    intake::AttachFileRequest {
        metadata: Some(intake::AttachmentMetadata {
            ticket_id: ticket_id.into(),
            file_name: "ridge.png".into(),
            content_type: content_type.into(),
            caption: "north ridge".into(),
            request_id: String::new(),
        }),
        content: content.to_vec(),
    }
}

#[tokio::test]
async fn a_photo_is_attached_in_one_message_with_the_same_checks_as_a_stream() {
    for backend in backends() {
        let mut office =
            Office::open(&backend, &[("STEELCARE__ATTACHMENTS__MAX_BYTES", "4096")]).await;
        let ticket = office.ticket("屋面漏水").await;
        let agent = office.agent.clone();
        let stored = office
            .intake
            .attach_file(authed(attach(&ticket, "image/png", PNG), &agent))
            .await
            .unwrap()
            .into_inner()
            .attachment
            .unwrap();
        assert_eq!(stored.sha256, hex::encode(Sha256::digest(PNG)));
        assert_eq!(stored.size_bytes, PNG.len() as i64);
        assert_eq!(stored.caption, "north ridge");
        let listed = office
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
        assert_eq!(listed, vec![stored.clone()]);

        // Refusals name the field, and store nothing.
        let program = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";
        for (request, field) in [
            (attach(&ticket, "image/png", b""), "content"),
            (
                attach(&ticket, "image/png", program),
                "metadata.content_type",
            ),
            (attach(&ticket, "text/html", PNG), "metadata.content_type"),
            (attach("", "image/png", PNG), "metadata.ticket_id"),
            (
                intake::AttachFileRequest {
                    metadata: None,
                    content: PNG.to_vec(),
                },
                "metadata",
            ),
        ] {
            let err = office
                .intake
                .attach_file(authed(request, &agent))
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
            assert_eq!(fields(&err), [field], "{}", err.message());
        }
        let mut big = PNG.to_vec();
        big.resize(5000, 0);
        let err = office
            .intake
            .attach_file(authed(attach(&ticket, "image/png", &big), &agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::OutOfRange);
        assert!(err.message().contains("4096"), "{}", err.message());
        // Another organisation's customer does not learn the ticket exists.
        let stranger = office
            .app
            .token("cust-x", &[Role::Customer], Some("org-elsewhere"));
        let err = office
            .intake
            .attach_file(authed(attach(&ticket, "image/png", PNG), &stranger))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let count = steelcare_store::entity::attachments::Entity::find()
            .count(&office.app.db)
            .await
            .unwrap();
        assert_eq!(
            count,
            1,
            "{}: refused uploads store nothing",
            backend.name()
        );

        // A photo sent again with its request id (its answer was lost) is the same attachment;
        // the same id with other bytes is refused.
        let once = |content: &[u8]| {
            let mut request = attach(&ticket, "image/png", content);
            if let Some(meta) = request.metadata.as_mut() {
                meta.request_id = "photo-7".into();
            }
            request
        };
        let first = office
            .intake
            .attach_file(authed(once(PNG), &agent))
            .await
            .unwrap()
            .into_inner()
            .attachment
            .unwrap();
        let again = office
            .intake
            .attach_file(authed(once(PNG), &agent))
            .await
            .unwrap()
            .into_inner()
            .attachment
            .unwrap();
        assert_eq!(again, first, "{}", backend.name());
        let mut other = PNG.to_vec();
        other.push(0);
        let err = office
            .intake
            .attach_file(authed(once(&other), &agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
        let count = steelcare_store::entity::attachments::Entity::find()
            .count(&office.app.db)
            .await
            .unwrap();
        assert_eq!(count, 2, "{}: one more attachment, once", backend.name());
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_business_calendar_gives_the_zone_and_working_time_holidays_and_make_up_days_included()
{
    let app = spawn_app(&Backend::Embedded).await;
    let mut client = AdminServiceClient::new(app.channel().await);
    let token = app.token("c-1", &[Role::Customer], Some("org-1"));
    let shanghai = FixedOffset::east_opt(8 * 3600).unwrap();
    let at = |d: u32, h: u32, m: u32| {
        let t = shanghai.with_ymd_and_hms(2026, 9, 30, 0, 0, 0).unwrap()
            + chrono::TimeDelta::days(i64::from(d))
            + chrono::TimeDelta::hours(i64::from(h))
            + chrono::TimeDelta::minutes(i64::from(m));
        prost_types::Timestamp {
            seconds: t.with_timezone(&Utc).timestamp(),
            nanos: 0,
        }
    };
    // From Wednesday 30 September 10:00 to Sunday 11 October 00:00: the National Day holidays
    // (1–7 October) have no working time; Saturday 10 October is a make-up working day.
    let answer = client
        .get_business_calendar(authed(
            admin::GetBusinessCalendarRequest {
                range: Some(common::TimeRange {
                    start_time: Some(at(0, 10, 0)),
                    end_time: Some(at(11, 0, 0)),
                }),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.time_zone, "Asia/Shanghai");
    assert_eq!(answer.calendar_name, "cn-2026");
    let got: Vec<(i64, i64)> = answer
        .working_intervals
        .iter()
        .map(|r| (r.start_time.unwrap().seconds, r.end_time.unwrap().seconds))
        .collect();
    let day = |d: u32| {
        vec![
            (at(d, 8, 30).seconds, at(d, 12, 0).seconds),
            (at(d, 13, 30).seconds, at(d, 17, 30).seconds),
        ]
    };
    let mut expected = vec![
        // Clipped to the range's start.
        (at(0, 10, 0).seconds, at(0, 12, 0).seconds),
        (at(0, 13, 30).seconds, at(0, 17, 30).seconds),
    ];
    for d in [8, 9, 10] {
        expected.extend(day(d));
    }
    assert_eq!(got, expected);

    for (range, field) in [
        (
            common::TimeRange {
                start_time: Some(at(2, 0, 0)),
                end_time: Some(at(1, 0, 0)),
            },
            "range.end_time",
        ),
        (
            common::TimeRange {
                start_time: Some(at(0, 0, 0)),
                end_time: Some(prost_types::Timestamp {
                    seconds: at(0, 0, 0).seconds + 401 * 86_400,
                    nanos: 0,
                }),
            },
            "range",
        ),
        (
            common::TimeRange {
                start_time: Some(prost_types::Timestamp {
                    seconds: i64::MAX,
                    nanos: 0,
                }),
                end_time: None,
            },
            "range.start_time",
        ),
    ] {
        let err = client
            .get_business_calendar(authed(
                admin::GetBusinessCalendarRequest { range: Some(range) },
                &token,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}");
        assert_eq!(fields(&err), [field], "{}", err.message());
    }
    // From the last day a timestamp can carry, the default range ends there: every instant
    // in the answer is one a client can read.
    let last_day = client
        .get_business_calendar(authed(
            admin::GetBusinessCalendarRequest {
                range: Some(common::TimeRange {
                    // 9999-12-31T00:00:00Z, a Friday.
                    start_time: Some(prost_types::Timestamp {
                        seconds: 253_402_214_400,
                        nanos: 0,
                    }),
                    end_time: None,
                }),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!last_day.working_intervals.is_empty());
    assert!(
        last_day
            .working_intervals
            .iter()
            .all(|r| r.end_time.unwrap().seconds <= 253_402_300_799)
    );
    let err = client
        .get_business_calendar(tonic::Request::new(
            admin::GetBusinessCalendarRequest::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    app.stop().await.unwrap();
}

async fn next(
    watch: &mut tonic::Streaming<intake::WatchTicketResponse>,
    what: &str,
) -> intake::WatchTicketResponse {
    // A liveness bound, not a speed check: generous, for a loaded two-core CI machine.
    tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .unwrap_or_else(|_| panic!("{what} within 30 s"))
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn watching_a_case_reports_what_dispatch_did_and_clocks_carry_their_mode() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[]).await;
        office.hire(surveyor("t-near", 2.0)).await;
        // Urgent: counted round the clock; a coating question: in working time.
        let urgent = office.ticket("钢梁下翼缘出现裂缝").await;
        let agent = office.agent.clone();
        let mut watch = office
            .intake
            .watch_ticket(authed(
                intake::WatchTicketRequest {
                    ticket_id: urgent.clone(),
                    watch_mask: None,
                },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner();
        let first = watch.next().await.unwrap().unwrap();
        // A watcher is told of the events after it opened, not before: the first message
        // comes after the watch took note of the last one.
        let opened = chrono::Utc::now();
        let sla = first.ticket.unwrap().sla.unwrap();
        let response = sla.response.unwrap();
        assert_eq!(response.mode, common::ClockMode::RoundTheClock as i32);
        assert_eq!(response.limit.unwrap().seconds, 2 * 3600);
        assert_eq!(sla.completion.unwrap().limit.unwrap().seconds, 15 * 86_400);

        // The automatic offer, then the technician's acceptance: neither changes the ticket,
        // and each reaches the watcher as an event about the case.
        let offered = office
            .wait_for(&urgent, "the offer", |a| {
                a.state == dispatch::AssignmentState::Offered as i32
            })
            .await;
        // The offer may have come before the watch opened (dispatch is quick); its event is
        // waited for only when it certainly came after (an earlier one, if reported, is taken
        // for the acceptance's below, which holds the same).
        let offer_time = offered.offers[0].offer_time.unwrap_or_default();
        let offered_at = chrono::DateTime::from_timestamp(
            offer_time.seconds,
            u32::try_from(offer_time.nanos).unwrap_or(0),
        )
        .unwrap_or_default();
        let mut seen_events = 0;
        while seen_events == 0 && offered_at > opened {
            let message = next(&mut watch, "the offer's event").await;
            seen_events += message.case_events;
        }
        office
            .accept(&offered.assignment_id, "t-near")
            .await
            .unwrap();
        let accepted = next(&mut watch, "the acceptance's event").await;
        assert!(accepted.case_events >= 1, "{accepted:?}");
        assert!(
            !accepted.changed_fields.contains(&"state".to_owned()),
            "{accepted:?}"
        );
        assert_eq!(
            accepted.ticket.unwrap().state,
            common::CaseState::Received as i32,
            "{}",
            backend.name()
        );

        let general = office.ticket("涂层局部脱落，需要咨询").await;
        let ticket = office
            .intake
            .get_ticket(authed(
                intake::GetTicketRequest { ticket_id: general },
                &agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        let response = ticket.sla.unwrap().response.unwrap();
        assert_eq!(
            response.mode,
            common::ClockMode::Business as i32,
            "{ticket:?}"
        );
        office.app.stop().await.unwrap();
    }
}

pub(crate) fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Chromium and the script's packages, or why the test cannot run here.
pub(crate) fn browser() -> Result<PathBuf, String> {
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

/// What a test needs that may be missing here (Chromium, Node.js, the web packages): `None`
/// and a line saying the test was skipped, or a failure where `STEELCARE_REQUIRE_BROWSER=1`
/// (as `.ci/run` sets it) says it must run.
pub(crate) fn or_skip<T>(what: &str, found: Result<T, String>) -> Option<T> {
    match found {
        Ok(found) => Some(found),
        Err(why) if std::env::var("STEELCARE_REQUIRE_BROWSER").as_deref() != Ok("1") => {
            eprintln!("SKIPPED: {what} cannot run here: {why}");
            None
        }
        Err(why) => panic!("{what} cannot run: {why}"),
    }
}

/// Chromium, or `None` where the browser tests may be skipped.
pub(crate) fn chromium_or_skip() -> Option<PathBuf> {
    or_skip("the browser tests", browser())
}

/// Runs `web/e2e/<script>` with `config` (JSON in `STEELCARE_E2E`) and asserts every one of
/// its `steps` held. Screenshots are taken on the embedded backend only: the pages are the
/// same on both. Every wait in a script has its own timeout, so it ends.
pub(crate) async fn run_script(
    script: &str,
    config: serde_json::Value,
    backend: &steelcare_tests::Backend,
    chromium: &Path,
    steps: usize,
) {
    let mut command = std::process::Command::new("node");
    command
        .arg(format!("e2e/{script}"))
        .current_dir(web_dir())
        .env("STEELCARE_E2E", config.to_string())
        .env("STEELCARE_CHROMIUM", chromium);
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
        output.status.success() && stdout.contains(&format!("all {steps} steps held")),
        "{script} failed on {}:\n{stdout}\n{stderr}",
        backend.name()
    );
}

const PHENOMENON: &str = "钢梁下翼缘出现裂缝，屋面有异响";
const OTHER_PHENOMENON: &str = "Other organisation: purlin sagging over bay 9";

/// What the browser starts from: an archived case of Acme Logistics (surveyed, planned,
/// approved, agreed, repaired, inspected, accepted), a ticket of another organisation, and
/// two surveyors on duty for the manual offer (the queue workers are off, so nothing is
/// offered before the dispatcher does).
struct Seeded {
    desk: Desk,
    archived_ticket: String,
    archive_number: String,
    other_ticket_id: String,
    other_ticket_number: String,
}

async fn seed(backend: &Backend) -> Seeded {
    let mut desk = Desk::open(backend).await;
    for id in ["t-lead", "t-crew"] {
        desk.office.hire(roofer(id, date(2030, 12, 31))).await;
    }
    for (id, name, km) in [("t-near", "Chen Near", 2.0), ("t-far", "Sun Far", 30.0)] {
        let mut technician = surveyor(id, km);
        technician.person = Some(person(name));
        desk.office.hire(technician).await;
    }
    let archived_ticket = repaired_case(&mut desk).await;
    let app = &desk.office.app;
    let mut client = AcceptanceServiceClient::new(app.channel().await);
    let crew = desk.office.tech_token("t-crew");
    client
        .record_self_inspection(authed(
            self_inspection("s-1", &archived_ticket, [152.0; 5]),
            &crew,
        ))
        .await
        .unwrap();
    client
        .record_customer_acceptance(authed(
            acceptance("c-1", &archived_ticket, true),
            &desk.customer,
        ))
        .await
        .unwrap();
    let archive_number = client
        .archive_case(authed(
            apb::ArchiveCaseRequest {
                request_id: "ar-1".into(),
                ticket_id: archived_ticket.clone(),
            },
            &desk.engineer,
        ))
        .await
        .unwrap()
        .into_inner()
        .archive
        .unwrap()
        .archive_number;

    let agent = desk.office.agent.clone();
    let intake_client = &mut desk.office.intake;
    let other_customer =
        crate::intake::create_customer(intake_client, &agent, "Other Steel Works").await;
    let other_project = intake_client
        .register_project(authed(
            intake::RegisterProjectRequest {
                name: "Other Steel Works warehouse".into(),
                contract_number: "HT-2024-002".into(),
                ..project_request("", &other_customer)
            },
            &agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap()
        .project_id;
    let other = desk
        .office
        .ticket_in(&other_project, OTHER_PHENOMENON)
        .await;
    Seeded {
        desk,
        archived_ticket,
        archive_number,
        other_ticket_id: other.ticket_id,
        other_ticket_number: other.acceptance_number,
    }
}

#[tokio::test]
async fn the_console_in_a_browser_from_the_call_to_the_archive_and_organisations_kept_apart() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    for backend in backends() {
        let seeded = seed(&backend).await;
        let app = &seeded.desk.office.app;
        let expired = app
            .auth
            .issue("agent-2", &[Role::Agent], None, Duration::from_secs(1))
            .unwrap();
        steelcare::identity::add_from_command_line(
            app.db.clone(),
            steelcare_proto::identity::v1::Person {
                login: "chen.near".into(),
                display_name: "陈近".into(),
                roles: vec!["technician".into()],
                technician_id: "t-near".into(),
                ..Default::default()
            },
            "girders and bolts 7".into(),
        )
        .await
        .unwrap();
        let config = serde_json::json!({
            "url": app.address,
            "person": { "login": "chen.near", "password": "girders and bolts 7", "name": "陈近" },
            "projectName": "Suzhou logistics warehouse",
            "phenomenon": PHENOMENON,
            "technicians": [
                { "id": "t-near", "name": "Chen Near" },
                { "id": "t-far", "name": "Sun Far" },
            ],
            "archivedTicketId": seeded.archived_ticket,
            "archiveNumber": seeded.archive_number,
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
                "customerA": seeded.desk.customer.clone(),
                "manager": seeded.desk.manager.clone(),
                "expired": expired,
            },
        });
        run_script("console.mjs", config, &backend, &chromium, 14).await;
        seeded.desk.office.app.stop().await.unwrap();
    }
}
