//! `steelcare-bench onboarding`: a contractor's spreadsheets of `--rows` customers, projects
//! and technicians (.xlsx, generated), against an in-process server on the configured
//! database. For each sheet it times the preview (`validate_only`), the first import, the
//! re-import that finds every record unchanged, and the export, and prints rows per second.

use std::time::{Duration, Instant};

use steelcare_domain::Role;
use steelcare_i18n::Locale;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as dpb;
use steelcare_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use steelcare_proto::intake::v1 as ipb;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::Settings;
use steelcare_sheet::{Cell, Format};
use tonic::transport::Channel;

use crate::dispatch::start;
use crate::intake::{authed, bench_token};

/// What to run.
#[derive(Debug, Clone)]
pub struct OnboardingBenchOptions {
    /// Rows of each sheet.
    pub rows: usize,
    /// Label printed with the figures.
    pub label: String,
}

fn customers(rows: usize) -> Vec<Vec<Cell>> {
    (0..rows)
        .map(|i| {
            vec![
                Cell::Text(format!("客户 {i:05} 物流有限公司")),
                Cell::Text(format!("联系人 {i}")),
                Cell::Text("设备科".into()),
                Cell::Text(format!("139{i:08}")),
                Cell::Empty,
            ]
        })
        .collect()
}

const PROJECT_COLUMNS: [&str; 12] = [
    "contract_number",
    "customer",
    "project_name",
    "province",
    "city",
    "structure_type",
    "completion_date",
    "technical_lead_name",
    "technical_lead_phone",
    "warranty_months_waterproofing",
    "dossier_as_built_drawings",
    "dossier_test_reports",
];

fn projects(rows: usize, customers: usize) -> Vec<Vec<Cell>> {
    let day = chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap_or_default();
    (0..rows)
        .map(|i| {
            vec![
                Cell::Text(format!("HT-{i:06}")),
                Cell::Text(format!("客户 {:05} 物流有限公司", i % customers.max(1))),
                Cell::Text(format!("{i} 号仓库")),
                Cell::Text("江苏".into()),
                Cell::Text("苏州".into()),
                Cell::Text("门式刚架".into()),
                Cell::Date(day + chrono::Days::new((i % 365) as u64)),
                Cell::Text("张工".into()),
                Cell::Text("13800000000".into()),
                Cell::Number(60.0 + (i % 3) as f64 * 12.0),
                Cell::Text(format!("ARCH-{i}")),
                Cell::Empty,
            ]
        })
        .collect()
}

const TECHNICIAN_COLUMNS: [&str; 9] = [
    "technician_id",
    "technician_name",
    "technician_phone",
    "regions",
    "skills",
    "capacity",
    "certificate_kind",
    "certificate_number",
    "certificate_valid_until",
];

fn technicians(rows: usize) -> Vec<Vec<Cell>> {
    let until = chrono::NaiveDate::from_ymd_opt(2030, 6, 30).unwrap_or_default();
    (0..rows)
        .map(|i| {
            vec![
                Cell::Text(format!("bench-tech-{i:05}")),
                Cell::Text(format!("技术员 {i}")),
                Cell::Text(format!("137{i:08}")),
                Cell::Text("苏州、无锡".into()),
                Cell::Text("焊接, 高强螺栓施工".into()),
                Cell::Number(2.0),
                Cell::Text("welder".into()),
                Cell::Text(format!("W-{i}")),
                Cell::Date(until),
            ]
        })
        .collect()
}

/// One sheet's timings.
struct Timings {
    bytes: usize,
    preview: Duration,
    import: Duration,
    again: Duration,
    export: Duration,
    exported_bytes: usize,
}

fn per_second(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64().max(1e-9)
}

fn print(label: &str, sheet: &str, rows: usize, t: &Timings) {
    println!(
        "{label} {sheet}: {rows} rows, {:.0} KiB .xlsx | preview {:.2} s ({:.0} rows/s) | import {:.2} s ({:.0} rows/s) | re-import, all unchanged {:.2} s ({:.0} rows/s) | export {:.2} s ({:.0} rows/s, {:.0} KiB)",
        t.bytes as f64 / 1024.0,
        t.preview.as_secs_f64(),
        per_second(rows, t.preview),
        t.import.as_secs_f64(),
        per_second(rows, t.import),
        t.again.as_secs_f64(),
        per_second(rows, t.again),
        t.export.as_secs_f64(),
        per_second(rows, t.export),
        t.exported_bytes as f64 / 1024.0,
    );
}

/// Checks that a report is what the phase expects: every row taken, `created` or unchanged.
fn expect(report: Option<common::ImportReport>, rows: usize, created: bool) -> Result<(), String> {
    let r = report.ok_or("no report")?;
    let wanted = i32::try_from(rows).map_err(|e| e.to_string())?;
    let got = if created { r.created } else { r.unchanged };
    if got != wanted || r.refused != 0 {
        return Err(format!(
            "expected {wanted} {}, got {} created, {} updated, {} unchanged, {} refused; first problems: {:?}",
            if created { "created" } else { "unchanged" },
            r.created,
            r.updated,
            r.unchanged,
            r.refused,
            r.problems.iter().take(3).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// The three sheets.
#[derive(Debug, Clone, Copy)]
enum Sheet {
    Customers,
    Projects,
    Technicians,
}

fn upload(content: &[u8], sheet: Sheet) -> Option<common::SheetUpload> {
    Some(common::SheetUpload {
        content: content.to_vec(),
        file_name: format!("{sheet:?}.xlsx"),
    })
}

fn failed(what: &str, sheet: Sheet) -> impl Fn(tonic::Status) -> String + '_ {
    move |s| format!("{what} {sheet:?}: {}", s.message())
}

/// Imports `content` as `sheet`, timed.
async fn import(
    channel: &Channel,
    token: &str,
    sheet: Sheet,
    content: &[u8],
    validate_only: bool,
) -> Result<(Duration, Option<common::ImportReport>), String> {
    let mut intake = IntakeServiceClient::new(channel.clone());
    let mut dispatch = DispatchServiceClient::new(channel.clone());
    let sheet_upload = upload(content, sheet);
    let started = Instant::now();
    let report = match sheet {
        Sheet::Customers => {
            intake
                .import_customers(authed(
                    ipb::ImportCustomersRequest {
                        sheet: sheet_upload,
                        validate_only,
                    },
                    token,
                )?)
                .await
                .map_err(failed("import", sheet))?
                .into_inner()
                .report
        }
        Sheet::Projects => {
            intake
                .import_projects(authed(
                    ipb::ImportProjectsRequest {
                        sheet: sheet_upload,
                        validate_only,
                    },
                    token,
                )?)
                .await
                .map_err(failed("import", sheet))?
                .into_inner()
                .report
        }
        Sheet::Technicians => {
            dispatch
                .import_technicians(authed(
                    dpb::ImportTechniciansRequest {
                        sheet: sheet_upload,
                        validate_only,
                    },
                    token,
                )?)
                .await
                .map_err(failed("import", sheet))?
                .into_inner()
                .report
        }
    };
    Ok((started.elapsed(), report))
}

/// Exports `sheet`: its size.
async fn export(channel: &Channel, token: &str, sheet: Sheet) -> Result<usize, String> {
    let mut intake = IntakeServiceClient::new(channel.clone());
    let mut dispatch = DispatchServiceClient::new(channel.clone());
    let file = match sheet {
        Sheet::Customers => {
            intake
                .export_customers(authed(ipb::ExportCustomersRequest::default(), token)?)
                .await
                .map_err(failed("export", sheet))?
                .into_inner()
                .file
        }
        Sheet::Projects => {
            intake
                .export_projects(authed(ipb::ExportProjectsRequest::default(), token)?)
                .await
                .map_err(failed("export", sheet))?
                .into_inner()
                .file
        }
        Sheet::Technicians => {
            dispatch
                .export_technicians(authed(dpb::ExportTechniciansRequest::default(), token)?)
                .await
                .map_err(failed("export", sheet))?
                .into_inner()
                .file
        }
    };
    Ok(file.ok_or("no file")?.content.len())
}

/// Preview, import, re-import and export of one sheet.
async fn phase(
    channel: &Channel,
    token: &str,
    sheet: Sheet,
    content: Vec<u8>,
    rows: usize,
) -> Result<Timings, String> {
    let (preview, report) = import(channel, token, sheet, &content, true).await?;
    expect(report, rows, true)?;
    let (first, report) = import(channel, token, sheet, &content, false).await?;
    expect(report, rows, true)?;
    let (again, report) = import(channel, token, sheet, &content, false).await?;
    expect(report, rows, false)?;
    let started = Instant::now();
    let exported_bytes = export(channel, token, sheet).await?;
    Ok(Timings {
        bytes: content.len(),
        preview,
        import: first,
        again,
        export: started.elapsed(),
        exported_bytes,
    })
}

/// Runs the onboarding benchmark and prints one line per sheet.
pub async fn onboarding(settings: Settings, options: OnboardingBenchOptions) -> Result<(), String> {
    let rows = options.rows;
    let (_auth, token) = bench_token(&settings, &[Role::Admin])?;
    let server = start(&settings, 0).await?;
    let channel = server.channel().await?;
    let english = Locale::english();
    let write = |columns: &[&'static str], cells: &[Vec<Cell>]| {
        steelcare_sheet::write(Format::Xlsx, columns, english, cells)
    };
    let customer_sheet = write(
        &steelcare_intake::sheets::CUSTOMER_COLUMNS,
        &customers(rows),
    )?;
    let project_sheet = write(&PROJECT_COLUMNS, &projects(rows, rows))?;
    let technician_sheet = write(&TECHNICIAN_COLUMNS, &technicians(rows))?;
    let label = &options.label;
    let outcome = async {
        for (sheet, content) in [
            (Sheet::Customers, customer_sheet),
            (Sheet::Projects, project_sheet),
            (Sheet::Technicians, technician_sheet),
        ] {
            let t = phase(&channel, &token, sheet, content, rows).await?;
            print(label, &format!("{sheet:?}").to_lowercase(), rows, &t);
        }
        Ok::<(), String>(())
    }
    .await;
    server.stop().await;
    outcome
}
