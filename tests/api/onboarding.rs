//! Onboarding from spreadsheets, on both backends: customers, projects and technicians
//! previewed with every row's problems by cell, imported, re-imported without a change, and
//! exported in the shape that imports back unchanged (both formats, both languages).

use sea_orm::{EntityTrait, PaginatorTrait};
use steelcare_domain::Role;
use steelcare_i18n::Locale;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as pb;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_sheet::{Cell, Format};
use steelcare_store::entity::audit_log;
use steelcare_tests::{authed, backends, in_language};
use tonic::Code;
use tonic::transport::Channel;

use crate::dispatch::Office;

fn upload(content: impl Into<Vec<u8>>) -> Option<common::SheetUpload> {
    Some(common::SheetUpload {
        content: content.into(),
        file_name: "onboarding.xlsx".into(),
    })
}

/// (created, updated, unchanged, refused) of a report.
fn counts(report: &common::ImportReport) -> (i32, i32, i32, i32) {
    (
        report.created,
        report.updated,
        report.unchanged,
        report.refused,
    )
}

/// Each problem as "cell: field" for comparison.
fn cells(report: &common::ImportReport) -> Vec<String> {
    report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.cell, p.field))
        .collect()
}

async fn audited(office: &Office) -> u64 {
    audit_log::Entity::find()
        .count(&office.app.db)
        .await
        .unwrap()
}

const CUSTOMERS_CSV: &str = "\u{feff}organization_name,Contact,Contact's phone,contact_email,Colour\n\
Yangtze Cold Chain,Chen Jing,13900000001,,blue\n\
Yangtze Cold Chain,Zhou Min,,zhou@yangtze.example,\n\
,,,,\n\
Delta Steel Works,Wu Lei,13900000003,,\n\
Hangzhou Bay Depot,Sun Li,,,\n";

async fn import_customers(
    office: &mut Office,
    content: impl Into<Vec<u8>>,
    validate_only: bool,
) -> common::ImportReport {
    office
        .intake
        .import_customers(authed(
            intake::ImportCustomersRequest {
                sheet: upload(content),
                validate_only,
            },
            &office.agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap()
}

#[tokio::test]
async fn customers_are_previewed_imported_once_and_exported_back() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        // The preview lists every problem by cell and writes nothing.
        let before = audited(&office).await;
        let preview = import_customers(&mut office, CUSTOMERS_CSV, true).await;
        assert!(preview.validate_only);
        assert_eq!(preview.rows, 4, "the empty row is not counted");
        assert_eq!(counts(&preview), (2, 0, 0, 1));
        assert_eq!(cells(&preview), ["1: ", "C6: contacts[0].phone"]);
        assert!(
            preview.problems[0].message.contains("Colour"),
            "{:?}",
            preview.problems
        );
        assert_eq!(preview.problems[1].column, "Contact's phone");
        assert_eq!(audited(&office).await, before, "a preview wrote something");
        // The import writes the valid customers, a contact per row.
        let report = import_customers(&mut office, CUSTOMERS_CSV, false).await;
        assert_eq!(counts(&report), (2, 0, 0, 1));
        let listed = office
            .intake
            .list_customers(authed(
                intake::ListCustomersRequest::default(),
                &office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .customers;
        let yangtze = listed
            .iter()
            .find(|c| c.organization_name == "Yangtze Cold Chain")
            .expect("imported customer");
        let contacts: Vec<&str> = yangtze
            .contacts
            .iter()
            .map(|c| c.display_name.as_str())
            .collect();
        assert_eq!(contacts, ["Chen Jing", "Zhou Min"]);
        assert!(
            !listed
                .iter()
                .any(|c| c.organization_name == "Hangzhou Bay Depot")
        );
        // Again: nothing changes, nothing is written.
        let written = audited(&office).await;
        let again = import_customers(&mut office, CUSTOMERS_CSV, false).await;
        assert_eq!(counts(&again), (0, 0, 2, 1));
        assert_eq!(
            audited(&office).await,
            written,
            "a re-import wrote something"
        );
        // A changed phone updates that customer only.
        let changed = CUSTOMERS_CSV.replace("13900000003", "13900000009");
        let report = import_customers(&mut office, changed, false).await;
        assert_eq!(counts(&report), (0, 1, 1, 1));
        // The export, in Chinese, imports back unchanged.
        for format in [common::SheetFormat::Csv, common::SheetFormat::Xlsx] {
            let file = office
                .intake
                .export_customers(in_language(
                    authed(
                        intake::ExportCustomersRequest {
                            format: format as i32,
                        },
                        &office.agent,
                    ),
                    "zh-CN",
                ))
                .await
                .unwrap()
                .into_inner()
                .file
                .unwrap();
            let ext = if format == common::SheetFormat::Csv {
                ".csv"
            } else {
                ".xlsx"
            };
            assert!(file.file_name.starts_with("customers-") && file.file_name.ends_with(ext));
            if format == common::SheetFormat::Csv {
                let text = String::from_utf8(file.content.clone()).unwrap();
                assert!(
                    text.contains("单位名称") && text.contains("Wu Lei"),
                    "{text}"
                );
            }
            let back = import_customers(&mut office, file.content, false).await;
            // Acme Logistics (registered through the API) is in the export too.
            assert_eq!(
                counts(&back),
                (0, 0, 3, 0),
                "{format:?}: {:?}",
                back.problems
            );
        }
        // Wrong roles and unreadable files.
        let customer = office
            .app
            .token("c-1", &[Role::Customer], Some(&office.customer_id));
        let err = office
            .intake
            .import_customers(authed(
                intake::ImportCustomersRequest {
                    sheet: upload(CUSTOMERS_CSV.as_bytes()),
                    validate_only: true,
                },
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let gbk: Vec<u8> = vec![0xB5, 0xA5, 0xCE, 0xBB, b'\n'];
        let err = office
            .intake
            .import_customers(authed(
                intake::ImportCustomersRequest {
                    sheet: upload(gbk),
                    validate_only: true,
                },
                &office.agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("sheet.content"), "{}", err.message());
    }
}

const PROJECT_COLUMNS: [&str; 8] = [
    "contract_number",
    "customer",
    "project_name",
    "city",
    "structure_type",
    "completion_date",
    "warranty_months_waterproofing",
    "dossier_as_built_drawings",
];

fn project_cells(contract: &str, customer: &str, structure: &str, completion: Cell) -> Vec<Cell> {
    vec![
        Cell::from(contract),
        Cell::from(customer),
        Cell::from(format!("Warehouse {contract}")),
        Cell::from("Suzhou"),
        Cell::from(structure),
        completion,
        Cell::Number(96.0),
        Cell::from("ARCH-7"),
    ]
}

async fn import_projects(
    office: &mut Office,
    content: Vec<u8>,
    validate_only: bool,
) -> common::ImportReport {
    office
        .intake
        .import_projects(authed(
            intake::ImportProjectsRequest {
                sheet: upload(content),
                validate_only,
            },
            &office.agent,
        ))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap()
}

#[tokio::test]
async fn projects_keep_their_warranty_and_dossier_and_a_contract_stays_with_its_customer() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        office
            .intake
            .create_customer(authed(
                intake::CreateCustomerRequest {
                    organization_name: "Delta Steel Works".into(),
                    contacts: vec![steelcare_tests::fixtures::person("Wu Lei")],
                    ..Default::default()
                },
                &office.agent,
            ))
            .await
            .unwrap();
        let may = |d: u32| Cell::Date(chrono::NaiveDate::from_ymd_opt(2024, 5, d).unwrap());
        // A workbook with Chinese headers and values, as a contractor's own sheet would be.
        let rows = vec![
            project_cells("HT-100", "Acme Logistics", "门式刚架", may(1)),
            project_cells(
                "HT-101",
                "Acme Logistics",
                "space_truss",
                Cell::from("2024年5月2日"),
            ),
            project_cells("HT-102", "Nobody Ltd", "门式刚架", may(3)),
            project_cells("HT-103", "Acme Logistics", "igloo", Cell::from("yesterday")),
            project_cells("HT-100", "Acme Logistics", "门式刚架", may(1)),
            // The project the office registered through the API, claimed for another customer.
            project_cells("HT-2024-001", "Delta Steel Works", "门式刚架", may(1)),
        ];
        let workbook =
            steelcare_sheet::write(Format::Xlsx, &PROJECT_COLUMNS, Locale::chinese(), &rows)
                .unwrap();
        let preview = import_projects(&mut office, workbook.clone(), true).await;
        assert_eq!(counts(&preview), (1, 0, 0, 4), "{:?}", preview.problems);
        assert_eq!(
            cells(&preview),
            ["B4: ", "E5: ", "F5: ", "A6: ", "B7: "],
            "{:?}",
            preview.problems
        );
        let columns: Vec<&str> = preview.problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(
            columns,
            ["客户", "结构类型", "竣工验收日期", "合同编号", "客户"]
        );
        assert!(
            preview.problems[4].message.contains("HT-2024-001"),
            "{:?}",
            preview.problems
        );
        // Row 2 is refused with its repeat (row 6): which of the two is meant is not ours to guess.
        let report = import_projects(&mut office, workbook.clone(), false).await;
        assert_eq!(counts(&report), (1, 0, 0, 4));
        let projects = office
            .intake
            .list_projects(authed(
                intake::ListProjectsRequest::default(),
                &office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .projects;
        let imported = projects
            .iter()
            .find(|p| p.contract_number == "HT-101")
            .expect("HT-101 imported");
        assert_eq!(
            imported.structure_type,
            intake::StructureType::SpaceTruss as i32
        );
        let months = |scope: intake::WarrantyScope| {
            imported
                .warranty_terms
                .iter()
                .find(|t| t.scope == scope as i32)
                .map(|t| t.months)
        };
        assert_eq!(months(intake::WarrantyScope::Waterproofing), Some(96));
        assert_eq!(
            months(intake::WarrantyScope::MainStructure),
            Some(600),
            "statutory default"
        );
        let drawings = &imported.dossier_items[0];
        assert!(drawings.present && drawings.document_reference == "ARCH-7");
        assert!(!imported.dossier_complete);
        // Export in English, import back: nothing changes, nothing is written.
        let written = audited(&office).await;
        for format in [common::SheetFormat::Csv, common::SheetFormat::Xlsx] {
            let file = office
                .intake
                .export_projects(authed(
                    intake::ExportProjectsRequest {
                        format: format as i32,
                    },
                    &office.agent,
                ))
                .await
                .unwrap()
                .into_inner()
                .file
                .unwrap();
            let back = import_projects(&mut office, file.content, false).await;
            assert_eq!(
                counts(&back),
                (0, 0, 2, 0),
                "{format:?}: {:?}",
                back.problems
            );
        }
        assert_eq!(
            audited(&office).await,
            written,
            "a re-import wrote something"
        );
        // A changed warranty updates the project.
        let mut changed = rows[1].clone();
        changed[6] = Cell::Number(120.0);
        let sheet =
            steelcare_sheet::write(Format::Csv, &PROJECT_COLUMNS, Locale::english(), &[changed])
                .unwrap();
        let report = import_projects(&mut office, sheet, false).await;
        assert_eq!(counts(&report), (0, 1, 0, 0), "{:?}", report.problems);
    }
}

fn technician_sheet(rows: &[[&str; 9]]) -> Vec<u8> {
    let columns = [
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
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| r.iter().map(|c| Cell::from(*c)).collect())
        .collect();
    steelcare_sheet::write(Format::Csv, &columns, Locale::english(), &cells).unwrap()
}

#[tokio::test]
async fn technicians_import_with_their_certificates_and_keep_their_duty_status() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        // Wang on two rows, a certificate each; both sheets below start with him.
        let wang = [
            [
                "t-wang",
                "Wang Wei",
                "13800000001",
                "Suzhou、Wuxi",
                "焊接, high_strength_bolting",
                "2",
                "welder",
                "W-1",
                "2030-06-30",
            ],
            [
                "t-wang",
                "",
                "",
                "",
                "",
                "",
                "work_at_height",
                "H-9",
                "2029/1/31",
            ],
        ];
        let sheet = technician_sheet(&[
            wang[0],
            wang[1],
            [
                "t-li",
                "Li Na",
                "13800000002",
                "Suzhou",
                "painting",
                "",
                "",
                "",
                "",
            ],
            [
                "t-zhao",
                "Zhao Yu",
                "13800000003",
                "Hangzhou",
                "welding",
                "x",
                "welder",
                "",
                "soon",
            ],
            ["t-wang", "Wang Wu", "", "", "", "", "", "", ""],
        ]);
        let client = office.dispatch.clone();
        let import = |content: Vec<u8>, validate_only: bool, token: String| {
            let mut dispatch = client.clone();
            async move {
                dispatch
                    .import_technicians(authed(
                        pb::ImportTechniciansRequest {
                            sheet: upload(content),
                            validate_only,
                        },
                        &token,
                    ))
                    .await
            }
        };
        // The dispatcher's import and its report.
        let report_of = |content: Vec<u8>, validate_only: bool| {
            let call = import(content, validate_only, office.dispatcher.clone());
            async move { call.await.unwrap().into_inner().report.unwrap() }
        };
        let technician = |id: &'static str| {
            let mut dispatch = client.clone();
            let token = office.dispatcher.clone();
            async move {
                dispatch
                    .get_technician(authed(
                        pb::GetTechnicianRequest {
                            technician_id: id.into(),
                        },
                        &token,
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .technician
                    .unwrap()
            }
        };
        let preview = report_of(sheet.clone(), true).await;
        assert_eq!(counts(&preview), (0, 0, 0, 3));
        assert_eq!(
            cells(&preview),
            [
                "E4: ",
                "F5: ",
                "H5: technician.certificates[0].number",
                "I5: ",
                "B6: "
            ],
            "{:?}",
            preview.problems
        );
        // Fixed: Wang's second row agrees, Li's skill is known, Zhao's cells are filled in.
        let fixed = technician_sheet(&[
            wang[0],
            wang[1],
            [
                "t-li",
                "Li Na",
                "13800000002",
                "Suzhou",
                "Anti-corrosion coating",
                "",
                "",
                "",
                "",
            ],
            [
                "t-zhao",
                "Zhao Yu",
                "13800000003",
                "Hangzhou",
                "welding",
                "3",
                "welder",
                "W-3",
                "2028-01-01",
            ],
        ]);
        let report = report_of(fixed.clone(), false).await;
        assert_eq!(counts(&report), (3, 0, 0, 0), "{:?}", report.problems);
        let wang = technician("t-wang").await;
        let certificates: Vec<&str> = wang
            .certificates
            .iter()
            .map(|c| c.number.as_str())
            .collect();
        assert_eq!(certificates, ["W-1", "H-9"]);
        assert_eq!(wang.regions, ["suzhou", "wuxi"]);
        assert_eq!(wang.capacity, 2);
        // Off duty, then the same sheet again: unchanged, and still off duty.
        office
            .dispatch
            .set_availability(authed(
                pb::SetAvailabilityRequest {
                    technician_id: "t-wang".into(),
                    status: pb::TechnicianStatus::OffDuty as i32,
                    ..Default::default()
                },
                &office.dispatcher,
            ))
            .await
            .unwrap();
        let again = report_of(fixed, false).await;
        assert_eq!(counts(&again), (0, 0, 3, 0), "{:?}", again.problems);
        // The Chinese export imports back unchanged (skills and instruments by their labels).
        let file = office
            .dispatch
            .export_technicians(in_language(
                authed(pb::ExportTechniciansRequest::default(), &office.dispatcher),
                "zh-CN",
            ))
            .await
            .unwrap()
            .into_inner()
            .file
            .unwrap();
        assert!(file.file_name.ends_with(".xlsx"));
        let back = report_of(file.content, false).await;
        assert_eq!(counts(&back), (0, 0, 3, 0), "{:?}", back.problems);
        let status = technician("t-wang").await.status;
        assert_eq!(status, pb::TechnicianStatus::OffDuty as i32);
        // An agent may not import the team.
        let err = import(technician_sheet(&[]), true, office.agent.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
}

#[tokio::test]
async fn two_imports_of_one_sheet_at_once_create_each_customer_once() {
    for backend in backends() {
        let office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        let sheet: String =
            std::iter::once("organization_name,contact_name,contact_phone\n".to_owned())
                .chain((0..50).map(|i| format!("Racing Co {i},Contact {i},1390000{i:04}\n")))
                .collect();
        let import = |mut intake: IntakeServiceClient<Channel>, token: String, sheet: String| async move {
            intake
                .import_customers(authed(
                    intake::ImportCustomersRequest {
                        sheet: upload(sheet.into_bytes()),
                        validate_only: false,
                    },
                    &token,
                ))
                .await
                .unwrap()
                .into_inner()
                .report
                .unwrap()
        };
        let (a, b) = tokio::join!(
            import(office.intake.clone(), office.agent.clone(), sheet.clone()),
            import(office.intake.clone(), office.agent.clone(), sheet),
        );
        assert_eq!(
            a.created + b.created,
            50,
            "{:?} / {:?}",
            counts(&a),
            counts(&b)
        );
        assert_eq!(a.unchanged + b.unchanged, 50);
        let mut intake = office.intake.clone();
        let listed = intake
            .list_customers(authed(
                intake::ListCustomersRequest {
                    page_size: 500,
                    ..Default::default()
                },
                &office.agent,
            ))
            .await
            .unwrap()
            .into_inner()
            .customers;
        let racing = listed
            .iter()
            .filter(|c| c.organization_name.starts_with("Racing Co "))
            .count();
        assert_eq!(racing, 50, "a customer was created twice");
    }
}
