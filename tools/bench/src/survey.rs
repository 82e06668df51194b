//! `steelcare bench survey`: SubmitSurveyReport over gRPC with `--measurements` measurements
//! each (mixed kinds, every one judged against the tolerance table and stored), against an
//! in-process server on the configured database and bus. Each report needs its own case at the
//! survey stage, so the cases are prepared first (ticket, acknowledgement, offer, acceptance,
//! survey plan, arrival), then the reports are submitted by `--clients` concurrent clients and
//! the latency percentiles printed.

use std::time::{Duration, Instant};

use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::common::v1::measurement::Quantity;
use steelcare_proto::dispatch::v1 as dpb;
use steelcare_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use steelcare_proto::intake::v1 as ipb;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_proto::repair::v1 as pb;
use steelcare_proto::repair::v1::repair_service_client::RepairServiceClient;
use steelcare_runtime::convert::to_timestamp;
use steelcare_runtime::{Authenticator, Settings};
use tonic::transport::Channel;

use crate::dispatch::{start, technician};
use crate::intake::{authed, percentile, prepare, ticket};

/// What to run.
#[derive(Debug, Clone)]
pub struct SurveyBenchOptions {
    /// Reports submitted.
    pub reports: usize,
    /// Measurements per report.
    pub measurements: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Label printed with the figures.
    pub label: String,
}

fn date(year: i32, month: i32, day: i32) -> common::Date {
    common::Date { year, month, day }
}

/// `n` measurements cycling through coating (15 readings), column verticality, lateral
/// bending and a caller-limited quantity (5 readings each).
pub fn measurements(n: usize) -> Vec<common::Measurement> {
    let at = chrono::Utc::now() - chrono::TimeDelta::minutes(30);
    (0..n)
        .map(|i| {
            let wobble = (i % 7) as f64;
            let (quantity, readings) = match i % 4 {
                0 => (
                    Quantity::CoatingThickness(common::CoatingThickness {
                        indoor: false,
                        design_thickness_um: 150.0,
                        coats: 3,
                        one_coat: false,
                    }),
                    (0..15).map(|k| 140.0 + wobble + k as f64).collect(),
                ),
                1 => (
                    Quantity::ColumnVerticality(common::ColumnVerticality { height_mm: 9000.0 }),
                    (0..5).map(|k| wobble + k as f64 - 3.0).collect(),
                ),
                2 => (
                    Quantity::LateralBending(common::LateralBending { span_mm: 24_000.0 }),
                    (0..5).map(|k| wobble * 2.0 + k as f64).collect(),
                ),
                _ => (
                    Quantity::Other(common::OtherQuantity {
                        name: "weld leg".into(),
                        unit: "mm".into(),
                        nominal: 8.0,
                        lower_limit: Some(8.0),
                        upper_limit: Some(10.0),
                        rule: common::JudgementRule::General as i32,
                    }),
                    (0..5).map(|k| 8.0 + (wobble + k as f64) / 5.0).collect(),
                ),
            };
            common::Measurement {
                quantity: Some(quantity),
                member: format!("GZ-{}", i / 4),
                location: format!("axis {}", i % 12),
                instrument: Some(common::Instrument {
                    kind: common::InstrumentKind::TotalStation as i32,
                    serial_number: "TS-BENCH".into(),
                    calibration_valid_until: Some(date(2030, 12, 31)),
                }),
                measure_time: Some(to_timestamp(at)),
                readings,
                ..Default::default()
            }
        })
        .collect()
}

fn report(
    ticket_id: &str,
    n: usize,
    measurements: Vec<common::Measurement>,
) -> pb::SubmitSurveyReportRequest {
    let now = chrono::Utc::now();
    let signer = |name: &str, role: common::SignatureRole| common::Signature {
        signer: Some(common::PersonRef {
            display_name: name.into(),
            ..Default::default()
        }),
        signed_time: Some(to_timestamp(now - chrono::TimeDelta::minutes(1))),
        method: common::SignatureMethod::OnDevice as i32,
        role: role as i32,
        ..Default::default()
    };
    pb::SubmitSurveyReportRequest {
        request_id: format!("bench-report-{n}-{}", now.timestamp_micros()),
        ticket_id: ticket_id.to_owned(),
        content: Some(pb::SurveyReportContent {
            survey_time: Some(common::TimeRange {
                start_time: Some(to_timestamp(now - chrono::TimeDelta::hours(2))),
                end_time: Some(to_timestamp(now - chrono::TimeDelta::minutes(5))),
            }),
            participants: vec![common::PersonRef {
                display_name: "Bench surveyor".into(),
                ..Default::default()
            }],
            findings: "Bench findings".into(),
            measurements,
            diagnosis: Some(pb::Diagnosis {
                root_cause: common::RootCause::Workmanship as i32,
                responsibility: vec![common::ResponsibilityShare {
                    party: common::ResponsibleParty::Contractor as i32,
                    percent: 100,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            recommendation: "Repair".into(),
            signatures: vec![
                signer("Customer", common::SignatureRole::CustomerRepresentative),
                signer("Surveyor", common::SignatureRole::Surveyor),
            ],
            ..Default::default()
        }),
    }
}

/// Brings case `n` to the survey stage with technician `n` on site; returns the ticket id.
async fn surveyed_case(
    channel: &Channel,
    auth: &Authenticator,
    token: &str,
    project_id: &str,
    n: usize,
) -> Result<String, String> {
    let mut intake = IntakeServiceClient::new(channel.clone());
    let mut dispatch = DispatchServiceClient::new(channel.clone());
    let fail = |what: &'static str| move |s: tonic::Status| format!("{what}: {}", s.message());
    let tech = technician(n);
    let technician_id = tech.technician_id.clone();
    dispatch
        .upsert_technician(authed(
            dpb::UpsertTechnicianRequest {
                technician: Some(tech),
                update_mask: None,
            },
            token,
        )?)
        .await
        .map_err(fail("register technician"))?;
    let ticket_id = intake
        .create_ticket(authed(ticket(project_id, n), token)?)
        .await
        .map_err(fail("create ticket"))?
        .into_inner()
        .ticket
        .ok_or("no ticket")?
        .ticket_id;
    intake
        .acknowledge_ticket(authed(
            ipb::AcknowledgeTicketRequest {
                ticket_id: ticket_id.clone(),
                response_text: "coming".into(),
            },
            token,
        )?)
        .await
        .map_err(fail("acknowledge"))?;
    let assignment = dispatch
        .offer_assignment(authed(
            dpb::OfferAssignmentRequest {
                ticket_id: ticket_id.clone(),
                technician_id: technician_id.clone(),
                reason: "bench".into(),
            },
            token,
        )?)
        .await
        .map_err(fail("offer"))?
        .into_inner()
        .assignment
        .ok_or("no assignment")?;
    let tech_token = auth
        .issue(
            &technician_id,
            &[Role::Technician],
            None,
            Duration::from_secs(3600),
        )
        .map_err(|err| err.to_string())?;
    dispatch
        .accept_assignment(authed(
            dpb::AcceptAssignmentRequest {
                assignment_id: assignment.assignment_id.clone(),
            },
            &tech_token,
        )?)
        .await
        .map_err(fail("accept"))?;
    dispatch
        .plan_survey(authed(
            dpb::PlanSurveyRequest {
                survey_plan: Some(dpb::SurveyPlan {
                    ticket_id: ticket_id.clone(),
                    lead_technician_id: technician_id,
                    scheduled_time: Some(to_timestamp(
                        chrono::Utc::now() + chrono::TimeDelta::hours(1),
                    )),
                    ..Default::default()
                }),
            },
            token,
        )?)
        .await
        .map_err(fail("plan survey"))?;
    dispatch
        .record_arrival(authed(
            dpb::RecordArrivalRequest {
                assignment_id: assignment.assignment_id,
                ..Default::default()
            },
            token,
        )?)
        .await
        .map_err(fail("arrival"))?;
    Ok(ticket_id)
}

/// Runs the survey benchmark and prints its figures.
pub async fn survey(settings: Settings, options: SurveyBenchOptions) -> Result<(), String> {
    let (auth, token) =
        crate::intake::bench_token(&settings, &[Role::Agent, Role::Dispatcher, Role::Engineer])?;
    let label = &options.label;
    let running = start(&settings, 0).await?;
    let channel = running.channel().await?;
    let project_id = prepare(&mut IntakeServiceClient::new(channel.clone()), &token).await?;
    let t = Instant::now();
    let mut cases = Vec::with_capacity(options.reports);
    for n in 0..options.reports {
        cases.push(surveyed_case(&channel, &auth, &token, &project_id, n).await?);
    }
    println!(
        "survey_prepare backend={label} cases={} secs={:.1}",
        cases.len(),
        t.elapsed().as_secs_f64()
    );
    let bytes = prost::Message::encoded_len(&report("x", 0, measurements(options.measurements)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let per_client = cases.len().div_ceil(options.clients.max(1));
    for (c, chunk) in cases.chunks(per_client).enumerate() {
        let (channel, token, chunk, m) = (
            channel.clone(),
            token.clone(),
            chunk.to_vec(),
            options.measurements,
        );
        tasks.push(tokio::spawn(async move {
            let mut client = RepairServiceClient::new(channel)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20);
            let mut latencies = Vec::with_capacity(chunk.len());
            for (i, ticket_id) in chunk.iter().enumerate() {
                let request = report(ticket_id, c * 100_000 + i, measurements(m));
                let t = Instant::now();
                let reply = client
                    .submit_survey_report(authed(request, &token)?)
                    .await
                    .map_err(|s| format!("submit report: {} {}", s.code(), s.message()))?
                    .into_inner();
                latencies.push(t.elapsed());
                let stored = reply.report.map_or(0, |r| r.measurements.len());
                if stored != m {
                    return Err(format!("{stored} measurements stored, {m} sent"));
                }
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|err| err.to_string())??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "survey_submit backend={label} reports={} measurements_each={} request_bytes={bytes} clients={} reports_per_sec={:.1} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
        latencies.len(),
        options.measurements,
        options.clients,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
    running.stop().await;
    Ok(())
}
