//! The acceptance and archive service end to end, on both backends: from a repaired case
//! through a failed self-inspection, a failed customer acceptance, rework, a passed acceptance,
//! the archive, its export and its verification; every refusal with its code and field; the
//! database refusing to change an archive; tampering of each kind caught and named.

use std::io::Read;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use sha2::{Digest, Sha256};
use steelcare_domain::Role;
use steelcare_proto::acceptance::v1 as pb;
use steelcare_proto::acceptance::v1::acceptance_service_client::AcceptanceServiceClient;
use steelcare_proto::common::v1 as common;
use steelcare_proto::repair::v1 as rpb;
use steelcare_tests::{Backend, authed, backends, in_language};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::dispatch::{date, roofer};
use crate::repair::{
    Desk, cny, coating_reading, fields, plan_content, report_content, signature, work,
};

/// A case repaired and completed: survey, a plan only the technical lead approves, the
/// customer's agreement, work on both steps, the key step inspected and passed.
pub(crate) async fn repaired_case(desk: &mut Desk) -> String {
    let ticket = agreed_case(desk).await;
    repair_and_complete(desk, &ticket).await;
    ticket
}

/// The crew's work on both steps of an agreed case, the key step inspected and passed, and
/// the engineer's completion.
pub(crate) async fn repair_and_complete(desk: &mut Desk, ticket: &str) {
    let ticket = ticket.to_owned();
    let crew = desk.office.tech_token("t-crew");
    for (step, progress) in [("s1", 40), ("s2", 90)] {
        let mut entry = work(step, &["t-crew"], progress);
        entry.ticket_id = ticket.clone();
        desk.repair.log_work(authed(entry, &crew)).await.unwrap();
    }
    let passed = desk
        .inspect(
            "i-1",
            &ticket,
            "s2",
            vec![coating_reading("G2", [151.0; 5])],
        )
        .await
        .unwrap();
    assert!(passed.passed);
    desk.complete("done-1", &ticket).await.unwrap();
}

/// A case agreed and ready for its crew (t-crew): survey, a plan only the technical lead
/// approves (s1, then the key step s2 with a coating criterion on G2), the customer's decision
/// and the signed agreement.
pub(crate) async fn agreed_case(desk: &mut Desk) -> String {
    let ticket = approved_case(desk).await;
    customer_agrees(desk, &ticket).await;
    sign_agreement(desk, &ticket).await;
    ticket
}

/// The customer agrees to plan version 1, in their own name.
pub(crate) async fn customer_agrees(desk: &mut Desk, ticket: &str) {
    desk.repair
        .record_customer_decision(authed(
            rpb::RecordCustomerDecisionRequest {
                request_id: "d-1".into(),
                ticket_id: ticket.into(),
                plan_version: 1,
                agreed: true,
                ..Default::default()
            },
            &desk.customer,
        ))
        .await
        .unwrap();
}

/// The engineer signs the agreement on plan version 1 (the customer agreed to it).
pub(crate) async fn sign_agreement(desk: &mut Desk, ticket: &str) {
    desk.repair
        .sign_agreement(authed(agreement("a-1", ticket), &desk.engineer))
        .await
        .unwrap();
}

/// A case whose plan (version 1: s1, then the key step s2 with a coating criterion on G2, crew
/// t-crew, 10,000.00 CNY) the technical lead approved, waiting for the customer's decision.
pub(crate) async fn approved_case(desk: &mut Desk) -> String {
    let ticket = desk
        .surveyed_case("t-lead", TimeDelta::hours(2), true)
        .await;
    let engineer = desk.engineer.clone();
    desk.submit("r-1", &ticket, report_content(), &engineer)
        .await
        .unwrap();
    let mut content = plan_content(&["t-crew"], TimeDelta::days(1));
    content.cost_estimate = cny(1_000_000);
    desk.propose("p-1", &ticket, content, "").await.unwrap();
    let reviewer = desk.reviewer.clone();
    desk.review("v-1", &ticket, 1, true, "", &reviewer)
        .await
        .unwrap();
    ticket
}

/// The agreement on plan version 1: the gutter recoated for 10,000.00 CNY, signed by both.
pub(crate) fn agreement(request_id: &str, ticket: &str) -> rpb::SignAgreementRequest {
    rpb::SignAgreementRequest {
        request_id: request_id.into(),
        ticket_id: ticket.into(),
        plan_version: 1,
        contractor_obligations: vec!["Recoat gutter G2".into()],
        quoted: cny(1_000_000),
        signatures: vec![
            signature("Li Wei", common::SignatureRole::CustomerRepresentative),
            signature("eng-1", common::SignatureRole::ContractorRepresentative),
        ],
        ..Default::default()
    }
}

pub(crate) fn self_inspection(
    request_id: &str,
    ticket: &str,
    spots: [f64; 5],
) -> pb::RecordSelfInspectionRequest {
    pb::RecordSelfInspectionRequest {
        request_id: request_id.into(),
        ticket_id: ticket.into(),
        measurements: vec![coating_reading("G2", spots)],
        new_problems: vec![],
        notes: "walked the gutter with the foreman".into(),
    }
}

pub(crate) fn acceptance(
    request_id: &str,
    ticket: &str,
    accepted: bool,
) -> pb::RecordCustomerAcceptanceRequest {
    pb::RecordCustomerAcceptanceRequest {
        request_id: request_id.into(),
        ticket_id: ticket.into(),
        accepted,
        rectification_items: if accepted {
            vec![]
        } else {
            vec!["Touch up the coating at the outlet".into()]
        },
        customer_signature: Some(signature(
            "Li Wei",
            common::SignatureRole::CustomerRepresentative,
        )),
        ..Default::default()
    }
}

/// The agent reads the record back and the customer confirms it.
async fn confirm_readback(desk: &mut Desk, ticket: &str) {
    let agent = desk.office.agent.clone();
    desk.office
        .intake
        .confirm_readback(authed(
            steelcare_proto::intake::v1::ConfirmReadbackRequest {
                ticket_id: ticket.into(),
                readback_text: "漏水位置与现象已向客户复述并确认".into(),
                confirm_time: None,
            },
            &agent,
        ))
        .await
        .unwrap();
}

/// Drops the database's guard on archive rows, as someone with direct database access could.
async fn drop_guards(backend: &Backend, db: &steelcare_store::Database) {
    let statements: Vec<String> = match backend {
        Backend::PostgresRedis { .. } => ["archives", "archive_documents"]
            .iter()
            .map(|t| format!("DROP TRIGGER {t}_immutable ON {t}"))
            .collect(),
        Backend::Embedded => ["archives", "archive_documents"]
            .iter()
            .flat_map(|t| {
                [
                    format!("DROP TRIGGER {t}_no_update"),
                    format!("DROP TRIGGER {t}_no_delete"),
                ]
            })
            .collect(),
    };
    for sql in statements {
        db.execute_unprepared(&sql).await.unwrap();
    }
}

async fn export(
    client: &mut AcceptanceServiceClient<tonic::transport::Channel>,
    number: &str,
    token: &str,
) -> Result<Vec<u8>, tonic::Status> {
    let mut stream = client
        .export_archive(authed(
            pb::ExportArchiveRequest {
                archive_number: number.into(),
            },
            token,
        ))
        .await?
        .into_inner();
    let mut zip = Vec::new();
    while let Some(chunk) = stream.next().await {
        zip.extend(chunk?.chunk);
    }
    Ok(zip)
}

#[tokio::test]
async fn a_repaired_case_is_inspected_accepted_after_rework_archived_exported_and_verified() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let ticket = repaired_case(&mut desk).await;
        let mut client = AcceptanceServiceClient::new(desk.office.app.channel().await);
        let crew = desk.office.tech_token("t-crew");
        let (engineer, manager, customer, agent) = (
            desk.engineer.clone(),
            desk.manager.clone(),
            desk.customer.clone(),
            desk.office.agent.clone(),
        );
        let auditor = desk.office.app.token("aud-1", &[Role::Auditor], None);
        let stranger = desk
            .office
            .app
            .token("cust-9", &[Role::Customer], Some("another-org"));

        // --- Self-inspection -------------------------------------------------------------
        let err = client
            .record_self_inspection(authed(self_inspection("s-0", &ticket, [150.0; 5]), &agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = client
            .record_self_inspection(authed(
                pb::RecordSelfInspectionRequest {
                    request_id: String::new(),
                    ..self_inspection("", &ticket, [150.0; 5])
                },
                &crew,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["request_id"]);
        // A spot under the limit fails it, and the case stays in repair.
        let failed = client
            .record_self_inspection(authed(
                self_inspection("s-1", &ticket, [150.0, 150.0, 112.0, 150.0, 150.0]),
                &crew,
            ))
            .await
            .unwrap()
            .into_inner();
        let inspection = failed.self_inspection.unwrap();
        assert!(!inspection.passed);
        assert_eq!(failed.state, common::CaseState::InRepair as i32);
        // What failed reads in the reader's language: the deployment's default, Chinese,
        // and English for a reader who asks for it, from the same record.
        assert!(
            inspection.failures[0].starts_with("步骤 s2 第 1 项质量标准（G2）："),
            "{:?}",
            inspection.failures
        );
        let in_english = client
            .get_self_inspection(in_language(
                authed(
                    pb::GetSelfInspectionRequest {
                        self_inspection_id: inspection.self_inspection_id.clone(),
                    },
                    &engineer,
                ),
                "en",
            ))
            .await
            .unwrap()
            .into_inner()
            .self_inspection
            .unwrap();
        assert!(
            in_english.failures[0].starts_with("step s2 criterion 1 on G2: "),
            "{:?}",
            in_english.failures
        );
        assert_ne!(in_english.failures, inspection.failures);
        // A new problem fails it too.
        let mut found = self_inspection("s-2", &ticket, [150.0; 5]);
        found.new_problems = vec!["Fresh rust at the purlin cleat".into()];
        let failed = client
            .record_self_inspection(authed(found, &crew))
            .await
            .unwrap()
            .into_inner()
            .self_inspection
            .unwrap();
        assert_eq!(
            failed.failures,
            ["新发现问题：Fresh rust at the purlin cleat"]
        );
        let err = client
            .archive_case(authed(
                pb::ArchiveCaseRequest {
                    request_id: "ar-0".into(),
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(steelcare_tests::refused_state(&err), "IN_REPAIR", "{err:?}");
        let passed = client
            .record_self_inspection(authed(self_inspection("s-3", &ticket, [152.0; 5]), &crew))
            .await
            .unwrap()
            .into_inner();
        assert!(passed.self_inspection.as_ref().unwrap().passed);
        assert_eq!(passed.state, common::CaseState::SelfInspected as i32);
        assert_eq!(
            passed.self_inspection.unwrap().key_steps,
            [pb::KeyStepCheck {
                step_id: "s2".into(),
                inspection_id: passed_inspection_id(&mut desk, &ticket).await,
                passed: true,
            }]
        );

        // --- Customer acceptance: a failed round, rework, a passed round -----------------
        let err = client
            .record_customer_acceptance(authed(acceptance("c-0", &ticket, false), &stranger))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "another organisation's case");
        let err = client
            .record_customer_acceptance(authed(
                pb::RecordCustomerAcceptanceRequest {
                    customer_signature: None,
                    ..acceptance("c-0", &ticket, true)
                },
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["customer_signature"]);
        let err = client
            .record_customer_acceptance(authed(
                pb::RecordCustomerAcceptanceRequest {
                    rectification_items: vec![],
                    ..acceptance("c-0", &ticket, false)
                },
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["rectification_items"]);
        let round1 = client
            .record_customer_acceptance(authed(acceptance("c-1", &ticket, false), &customer))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(round1.state, common::CaseState::InRepair as i32);
        assert_eq!(round1.acceptance.unwrap().round, 1);
        // The completion is cleared: the crew completes and self-inspects again.
        let err = client
            .record_self_inspection(authed(self_inspection("s-4", &ticket, [152.0; 5]), &crew))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(err.message().contains("not completed"), "{}", err.message());
        desk.complete("done-2", &ticket).await.unwrap();
        client
            .record_self_inspection(authed(self_inspection("s-5", &ticket, [153.0; 5]), &crew))
            .await
            .unwrap();
        let passing = acceptance("c-2", &ticket, true);
        let round2 = client
            .record_customer_acceptance(authed(passing.clone(), &customer))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(round2.state, common::CaseState::Accepted as i32);
        assert_eq!(round2.acceptance.as_ref().unwrap().round, 2);
        let again = client
            .record_customer_acceptance(authed(passing, &customer))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            again.acceptance, round2.acceptance,
            "a retry answers the same round"
        );
        let rounds = client
            .list_customer_acceptances(authed(
                pb::ListCustomerAcceptancesRequest {
                    ticket_id: ticket.clone(),
                },
                &customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .acceptances;
        assert_eq!(
            rounds
                .iter()
                .map(|r| (r.round, r.accepted))
                .collect::<Vec<_>>(),
            [(1, false), (2, true)]
        );
        // Dispatch counts the failed first round against the crew.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let rate = desk
                .office
                .technician("t-crew", &desk.office.dispatcher.clone())
                .await
                .unwrap()
                .first_time_acceptance_rate;
            if rate == Some(0.0) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "first-time rate {rate:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        // --- Archive ---------------------------------------------------------------------
        // The agent read the record back and the customer confirmed it (MISSION §3.1).
        confirm_readback(&mut desk, &ticket).await;
        let photo: Vec<u8> = b"\xff\xd8\xff\xe0\0\x10JFIF\0"
            .iter()
            .copied()
            .chain((0..20_000u32).map(|i| (i % 251) as u8))
            .collect();
        let photo_ref = crate::intake::upload(
            &mut desk.office.intake,
            &agent,
            &ticket,
            "image/jpeg",
            vec![photo.clone()],
        )
        .await
        .unwrap();
        let err = client
            .archive_case(authed(
                pb::ArchiveCaseRequest {
                    request_id: "ar-1".into(),
                    ticket_id: ticket.clone(),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let archive = client
            .archive_case(authed(
                pb::ArchiveCaseRequest {
                    request_id: "ar-1".into(),
                    ticket_id: ticket.clone(),
                },
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .archive
            .unwrap();
        let year = Utc::now().format("%Y").to_string();
        assert_eq!(archive.archive_number, format!("AR-{year}-000001"));
        assert_eq!(archive.ending, pb::CaseEnding::Repaired as i32);
        assert_eq!(archive.previous_manifest_sha256, "");
        let completeness = archive.completeness.clone().unwrap();
        assert!(completeness.missing.is_empty(), "{completeness:?}");
        assert_eq!(completeness.ratio, 1.0);
        let kinds: Vec<i32> = archive.documents.iter().map(|d| d.kind).collect();
        for kind in [
            pb::DocumentKind::IntakeRecord,
            pb::DocumentKind::Classification,
            pb::DocumentKind::SurveyReport,
            pb::DocumentKind::Agreement,
            pb::DocumentKind::SelfInspection,
            pb::DocumentKind::AcceptanceRound,
            pb::DocumentKind::DossierPage,
        ] {
            assert!(kinds.contains(&(kind as i32)), "{kind:?} missing");
        }
        assert_eq!(desk.state(&ticket).await, common::CaseState::Archived);
        let photo_doc = archive
            .documents
            .iter()
            .find(|d| d.kind == pb::DocumentKind::Attachment as i32)
            .cloned()
            .unwrap();
        assert_eq!(photo_doc.sha256, photo_ref.sha256);
        assert_eq!(photo_doc.sha256, hex::encode(Sha256::digest(&photo)));
        let err = client
            .get_archive(authed(
                pb::GetArchiveRequest {
                    archive_number: archive.archive_number.clone(),
                },
                &stranger,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let by_ticket = client
            .get_archive(authed(
                pb::GetArchiveRequest {
                    archive_number: ticket.clone(),
                },
                &customer,
            ))
            .await
            .unwrap()
            .into_inner()
            .archive
            .unwrap();
        assert_eq!(by_ticket, archive);
        let verify = |number: &str| pb::VerifyArchiveRequest {
            archive_number: number.into(),
        };
        let intact = client
            .verify_archive(authed(verify(&archive.archive_number), &auditor))
            .await
            .unwrap()
            .into_inner();
        assert!(intact.intact, "{intact:?}");
        assert_eq!(intact.manifest_sha256, archive.manifest_sha256);

        // The export holds the manifest, the checksums, the dossier page and every document,
        // and each file's SHA-256 is the one listed.
        let zip = export(&mut client, &archive.archive_number, &customer)
            .await
            .unwrap();
        let mut reader = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let mut read = |name: &str| {
            let mut file = reader.by_name(name).unwrap();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            bytes
        };
        let sums = String::from_utf8(read("SHA256SUMS")).unwrap();
        let mut checked = 0;
        for line in sums.lines() {
            let (sha, path) = line.split_once("  ").unwrap();
            assert_eq!(hex::encode(Sha256::digest(read(path))), sha, "{path}");
            checked += 1;
        }
        assert_eq!(checked, archive.documents.len() + 1);
        assert_eq!(
            hex::encode(Sha256::digest(read("manifest.json"))),
            archive.manifest_sha256
        );
        let page = String::from_utf8(read("dossier.html")).unwrap();
        assert!(page.contains(&archive.archive_number));
        assert!(page.contains("测量与判定 / Measurements and verdicts"));
        assert!(
            page.contains("GB 50205"),
            "the verdicts' clauses are on the page"
        );

        // --- The database refuses changes; tampering behind its back is caught ----------
        let db = desk.office.app.db.clone();
        for sql in [
            "UPDATE archive_documents SET sha256 = 'x'",
            "DELETE FROM archive_documents",
            "UPDATE archives SET manifest = '{}'",
            "DELETE FROM archives",
        ] {
            let refused = db.execute_unprepared(sql).await;
            assert!(refused.is_err(), "{sql} was allowed on {}", backend.name());
        }
        // A second archive chains to the first.
        let other = desk.surveyed_case("t-lead", TimeDelta::days(3), true).await;
        let mut nothing = report_content();
        nothing.diagnosis.as_mut().unwrap().responsibility = vec![common::ResponsibilityShare {
            party: common::ResponsibleParty::Undetermined as i32,
            percent: 100,
            ..Default::default()
        }];
        desk.submit("r-9", &other, nothing, &engineer)
            .await
            .unwrap();
        desk.repair
            .close_without_repair(authed(
                rpb::CloseWithoutRepairRequest {
                    request_id: "nr-1".into(),
                    ticket_id: other.clone(),
                    reason: rpb::NoRepairReason::NoDefectFound as i32,
                    note: String::new(),
                },
                &engineer,
            ))
            .await
            .unwrap();
        let second = client
            .archive_case(authed(
                pb::ArchiveCaseRequest {
                    request_id: "ar-2".into(),
                    ticket_id: other.clone(),
                },
                &manager,
            ))
            .await
            .unwrap()
            .into_inner()
            .archive
            .unwrap();
        assert_eq!(second.archive_number, format!("AR-{year}-000002"));
        assert_eq!(second.ending, pb::CaseEnding::NoRepair as i32);
        assert_eq!(second.previous_manifest_sha256, archive.manifest_sha256);
        // Its read-back was never confirmed: the archive says so, and is not complete.
        let partial = second.completeness.clone().unwrap();
        assert_eq!(partial.missing, [pb::DocumentKind::Readback as i32]);
        let expected = partial.expected.len() as f64;
        assert_eq!(partial.ratio, (expected - 1.0) / expected);
        // A consultation answered remotely is archived too.
        let question = desk.office.ticket("请问屋面多久需要维护一次？").await;
        desk.office
            .intake
            .resolve_remotely(authed(
                steelcare_proto::intake::v1::ResolveRemotelyRequest {
                    ticket_id: question.clone(),
                    answer: "Inspect the roof twice a year and after typhoons".into(),
                },
                &agent,
            ))
            .await
            .unwrap();
        confirm_readback(&mut desk, &question).await;
        let third = client
            .archive_case(authed(
                pb::ArchiveCaseRequest {
                    request_id: "ar-3".into(),
                    ticket_id: question.clone(),
                },
                &manager,
            ))
            .await
            .unwrap()
            .into_inner()
            .archive
            .unwrap();
        assert_eq!(third.ending, pb::CaseEnding::ResolvedRemotely as i32);
        assert_eq!(third.previous_manifest_sha256, second.manifest_sha256);
        assert!(third.completeness.unwrap().missing.is_empty());
        assert_eq!(desk.state(&question).await, common::CaseState::Archived);

        drop_guards(&backend, &db).await;
        // One document row deleted behind the database's back: the export refuses to hand out
        // the damaged dossier and names the document, where it once left it out of SHA256SUMS
        // so that `sha256sum -c` passed.
        let whole = export(&mut client, &third.archive_number, &auditor)
            .await
            .unwrap();
        let mut reader = zip::ZipArchive::new(std::io::Cursor::new(whole)).unwrap();
        let mut sums = String::new();
        reader
            .by_name("SHA256SUMS")
            .unwrap()
            .read_to_string(&mut sums)
            .unwrap();
        assert_eq!(sums.lines().count(), third.documents.len() + 1);
        let gone = &third.documents[1];
        db.execute_unprepared(&format!(
            "DELETE FROM archive_documents WHERE archive_number = '{}' AND sequence = {}",
            third.archive_number, gone.sequence
        ))
        .await
        .unwrap();
        let err = export(&mut client, &third.archive_number, &auditor)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DataLoss, "{err:?}");
        assert!(
            err.message().contains(&format!(
                "document {} ({}) of {}: row missing",
                gone.sequence, gone.path, third.archive_number
            )),
            "{}",
            err.message()
        );
        // A changed stored byte of one document is named.
        let target = &archive.documents[3];
        db.execute_unprepared(&format!(
            "UPDATE archive_documents SET body = {} WHERE archive_number = '{}' AND sequence = {}",
            match backend {
                Backend::PostgresRedis { .. } => "convert_to('{}', 'UTF8')",
                Backend::Embedded => "CAST('{}' AS BLOB)",
            },
            archive.archive_number,
            target.sequence
        ))
        .await
        .unwrap();
        let report = client
            .verify_archive(authed(verify(&archive.archive_number), &auditor))
            .await
            .unwrap()
            .into_inner();
        assert!(!report.intact);
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert_eq!(report.problems[0].sequence, target.sequence);
        assert_eq!(report.problems[0].path, target.path);
        // No accept-language: the deployment's default, Chinese.
        assert_eq!(report.problems[0].problem, "存储内容已被改动");
        let err = export(&mut client, &archive.archive_number, &auditor)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DataLoss, "changed bytes do not export");
        assert!(
            err.message()
                .contains(&format!("document {} ({})", target.sequence, target.path)),
            "{}",
            err.message()
        );
        // A changed row (its hash rewritten to match nothing) is named as such.
        let other_doc = &archive.documents[1];
        db.execute_unprepared(&format!(
            "UPDATE archive_documents SET sha256 = '{}' WHERE archive_number = '{}' AND sequence = {}",
            "0".repeat(64),
            archive.archive_number,
            other_doc.sequence
        ))
        .await
        .unwrap();
        let report = client
            .verify_archive(steelcare_tests::in_language(
                authed(verify(&archive.archive_number), &auditor),
                "en-GB,en;q=0.9",
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.sequence == other_doc.sequence
                    && p.problem == "row differs from the manifest"),
            "{report:?}"
        );
        // A missing stored byte (the photo's file gone from the attachment store) is named,
        // and the export refuses to hand out an incomplete dossier.
        let steelcare_runtime::settings::AttachmentStorage::Local(dir) =
            &desk.office.app.settings.attachments.storage
        else {
            panic!("tests store attachments locally");
        };
        let key = steelcare_store::entity::attachments::Entity::find_by_id(
            photo_ref.attachment_id.clone(),
        )
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .storage_key;
        std::fs::remove_file(dir.join(&key)).unwrap();
        let report = client
            .verify_archive(steelcare_tests::in_language(
                authed(verify(&archive.archive_number), &auditor),
                "en-GB,en;q=0.9",
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.sequence == photo_doc.sequence && p.problem == "stored bytes missing"),
            "{report:?}"
        );
        let err = export(&mut client, &archive.archive_number, &auditor)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DataLoss, "{err:?}");
        // A missing document row is named too.
        let last = archive.documents.last().unwrap();
        db.execute_unprepared(&format!(
            "DELETE FROM archive_documents WHERE archive_number = '{}' AND sequence = {}",
            archive.archive_number, last.sequence
        ))
        .await
        .unwrap();
        let report = client
            .verify_archive(steelcare_tests::in_language(
                authed(verify(&archive.archive_number), &auditor),
                "en-GB,en;q=0.9",
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.sequence == last.sequence && p.problem == "row missing"),
            "{report:?}"
        );
        // A rewritten manifest breaks its hash, and the chain of the next archive.
        db.execute_unprepared(&format!(
            "UPDATE archives SET manifest = manifest || ' ' WHERE archive_number = '{}'",
            archive.archive_number
        ))
        .await
        .unwrap();
        let report = client
            .verify_archive(steelcare_tests::in_language(
                authed(verify(&archive.archive_number), &auditor),
                "en-GB,en;q=0.9",
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(report.manifest_changed && report.chain_broken, "{report:?}");
        let next = client
            .verify_archive(authed(verify(&second.archive_number), &auditor))
            .await
            .unwrap()
            .into_inner();
        assert!(next.chain_broken && !next.manifest_changed, "{next:?}");
        desk.office.app.stop().await.unwrap();
    }
}

/// The id of the key step's passing inspection (repair service).
async fn passed_inspection_id(desk: &mut Desk, ticket: &str) -> String {
    desk.repair
        .list_inspections(authed(
            rpb::ListInspectionsRequest {
                ticket_id: ticket.into(),
            },
            &desk.engineer,
        ))
        .await
        .unwrap()
        .into_inner()
        .inspections
        .into_iter()
        .rfind(|i| i.passed)
        .unwrap()
        .inspection_id
}

#[tokio::test]
async fn two_processes_archiving_at_once_keep_one_chain() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let replica = desk.office.app.replica(&[]).await;
        let agent = desk.office.agent.clone();
        let manager = desk.manager.clone();
        let mut tickets = Vec::new();
        for i in 0..4 {
            let ticket = desk
                .office
                .ticket(&format!("请问屋面多久需要维护一次？({i})"))
                .await;
            desk.office
                .intake
                .resolve_remotely(authed(
                    steelcare_proto::intake::v1::ResolveRemotelyRequest {
                        ticket_id: ticket.clone(),
                        answer: "Twice a year and after typhoons".into(),
                    },
                    &agent,
                ))
                .await
                .unwrap();
            tickets.push(ticket);
        }
        let clients = [
            AcceptanceServiceClient::new(desk.office.app.channel().await),
            AcceptanceServiceClient::new(replica.channel().await),
        ];
        // Each process archives two cases, all four at once; a lost race is retried with the
        // same request id, as a client would.
        let mut tasks = Vec::new();
        for (i, ticket) in tickets.iter().enumerate() {
            let mut client = clients[i % 2].clone();
            let (ticket, manager) = (ticket.clone(), manager.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    match client
                        .archive_case(authed(
                            pb::ArchiveCaseRequest {
                                request_id: format!("ar-{ticket}"),
                                ticket_id: ticket.clone(),
                            },
                            &manager,
                        ))
                        .await
                    {
                        Ok(r) => return r.into_inner().archive.unwrap(),
                        Err(err) if err.code() == Code::Aborted => {
                            tokio::time::sleep(Duration::from_millis(20)).await
                        }
                        Err(err) => panic!("archive failed: {err:?}"),
                    }
                }
            }));
        }
        let mut archives = Vec::new();
        for task in tasks {
            archives.push(task.await.unwrap());
        }
        archives.sort_by(|a, b| a.archive_number.cmp(&b.archive_number));
        let year = Utc::now().format("%Y").to_string();
        let numbers: Vec<&str> = archives.iter().map(|a| a.archive_number.as_str()).collect();
        assert_eq!(
            numbers,
            (1..=4)
                .map(|n| format!("AR-{year}-{n:06}"))
                .collect::<Vec<_>>(),
            "{}",
            backend.name()
        );
        // One chain: each archive points at the one numbered before it.
        assert_eq!(archives[0].previous_manifest_sha256, "");
        for pair in archives.windows(2) {
            assert_eq!(
                pair[1].previous_manifest_sha256,
                pair[0].manifest_sha256,
                "{}",
                backend.name()
            );
        }
        let auditor = desk.office.app.token("aud-1", &[Role::Auditor], None);
        let mut client = clients[1].clone();
        for archive in &archives {
            let report = client
                .verify_archive(authed(
                    pb::VerifyArchiveRequest {
                        archive_number: archive.archive_number.clone(),
                    },
                    &auditor,
                ))
                .await
                .unwrap()
                .into_inner();
            assert!(report.intact, "{report:?}");
        }
        replica.stop().await.unwrap();
        desk.office.app.stop().await.unwrap();
    }
}

/// A customer rejects the repair while the repair service's consumers are down (held between
/// the event and its effect): the completion is spent at once for every reader (no
/// self-inspection on it), the rework completes without waiting, and when repair comes back
/// its consumer takes the event, finds nothing left to clear and leaves the rework's completion
/// standing. Nothing is lost and nothing is done twice.
#[tokio::test]
async fn a_rejection_while_repair_is_down_is_applied_once_and_never_to_the_rework() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    use steelcare_store::entity::{case_records, processed_events};

    for backend in backends() {
        let hold = Arc::new(AtomicBool::new(false));
        let app = steelcare_tests::spawn_app_with_faults(
            &backend,
            &[
                ("STEELCARE__DISPATCH__WORKERS", "0"),
                ("STEELCARE__BUS__REDELIVERY_IDLE_MS", "200"),
            ],
            steelcare::Faults {
                hold_repair_events: hold.clone(),
                ..Default::default()
            },
        )
        .await;
        let mut desk = Desk::on(crate::dispatch::Office::attach(app).await).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let ticket = repaired_case(&mut desk).await;
        let mut client = AcceptanceServiceClient::new(desk.office.app.channel().await);
        let crew = desk.office.tech_token("t-crew");
        let customer = desk.customer.clone();
        client
            .record_self_inspection(authed(self_inspection("s-1", &ticket, [152.0; 5]), &crew))
            .await
            .unwrap();
        hold.store(true, Ordering::SeqCst);
        client
            .record_customer_acceptance(authed(acceptance("c-1", &ticket, false), &customer))
            .await
            .unwrap();
        let err = client
            .record_self_inspection(authed(self_inspection("s-2", &ticket, [152.0; 5]), &crew))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{backend:?}");
        assert!(err.message().contains("not completed"), "{}", err.message());
        desk.complete("done-2", &ticket)
            .await
            .expect("the rework completes at once");

        hold.store(false, Ordering::SeqCst);
        let db = desk.office.app.db.clone();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while processed_events::Entity::find()
            .filter(processed_events::Column::Consumer.eq("repair"))
            .count(&db)
            .await
            .unwrap()
            == 0
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "repair never took the event"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let statuses: Vec<String> = case_records::Entity::find()
            .filter(case_records::Column::TicketId.eq(&ticket))
            .filter(case_records::Column::Kind.eq("completion"))
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, ["cleared", "recorded"], "{backend:?}");
        let passed = client
            .record_self_inspection(authed(self_inspection("s-3", &ticket, [152.0; 5]), &crew))
            .await
            .unwrap()
            .into_inner()
            .self_inspection
            .unwrap();
        assert!(passed.passed, "the rework's completion stands");
    }
}

/// The engineer prepares the agreement (only the contractor signs) and the customer
/// countersigns it in their own console: nothing binds before, a newer preparation replaces
/// the one read, the wrong people and the wrong signatures are refused, a resend concludes
/// nothing twice.
#[tokio::test]
async fn the_customer_countersigns_the_agreement_the_engineer_prepared() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        for id in ["t-lead", "t-crew"] {
            desk.office.hire(roofer(id, date(2030, 12, 31))).await;
        }
        let ticket = approved_case(&mut desk).await;
        customer_agrees(&mut desk, &ticket).await;
        let (engineer, customer) = (desk.engineer.clone(), desk.customer.clone());
        let stranger = desk
            .office
            .app
            .token("cust-9", &[Role::Customer], Some("another-org"));
        let prepare = |request_id: &str, obligation: &str| rpb::SignAgreementRequest {
            await_customer_signature: true,
            contractor_obligations: vec![obligation.into()],
            signatures: vec![signature(
                "eng-1",
                common::SignatureRole::ContractorRepresentative,
            )],
            ..agreement(request_id, &ticket)
        };

        // Preparing with the customer's signature already on it is refused: they sign it.
        let err = desk
            .repair
            .sign_agreement(authed(
                rpb::SignAgreementRequest {
                    await_customer_signature: true,
                    ..agreement("p-0", &ticket)
                },
                &engineer,
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["signatures"], "{err:?}");
        let first = desk
            .repair
            .sign_agreement(authed(prepare("p-1", "Recoat gutter G2"), &engineer))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        assert!(first.awaiting_customer_signature);
        assert_eq!(
            desk.state(&ticket).await,
            common::CaseState::PlanApproved,
            "a prepared agreement binds nobody yet"
        );
        // The customer reads it as prepared; a customer of another organisation finds nothing.
        let read = desk.agreement(&ticket, &customer).await;
        assert_eq!(read.agreement_id, first.agreement_id);
        assert!(read.awaiting_customer_signature);
        let customer_signs =
            |request_id: &str, agreement_id: &str| rpb::CountersignAgreementRequest {
                request_id: request_id.into(),
                ticket_id: ticket.clone(),
                agreement_id: agreement_id.into(),
                signature: Some(signature(
                    "Li Wei",
                    common::SignatureRole::CustomerRepresentative,
                )),
            };
        let err = desk
            .repair
            .countersign_agreement(authed(
                customer_signs("c-0", &first.agreement_id),
                &stranger,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "another organisation's case");
        // The customer may not sign the whole agreement themselves.
        let err = desk
            .repair
            .sign_agreement(authed(agreement("a-9", &ticket), &customer))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        // The engineer corrects it: the version the customer read is replaced.
        let second = desk
            .repair
            .sign_agreement(authed(
                prepare("p-2", "Recoat gutter G2 and the downpipe"),
                &engineer,
            ))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        let err = desk
            .repair
            .countersign_agreement(authed(
                customer_signs("c-1", &first.agreement_id),
                &customer,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
        // Signing as the contractor, or in dissent, is refused with the field.
        let mut wrong = customer_signs("c-2", &second.agreement_id);
        if let Some(s) = wrong.signature.as_mut() {
            s.role = common::SignatureRole::ContractorRepresentative as i32;
        }
        let err = desk
            .repair
            .countersign_agreement(authed(wrong, &customer))
            .await
            .unwrap_err();
        assert!(
            fields(&err).contains(&"signature.role".to_owned()),
            "{err:?}"
        );
        let mut dissent = customer_signs("c-3", &second.agreement_id);
        if let Some(s) = dissent.signature.as_mut() {
            s.dissent = true;
            s.opinion = "the downpipe is not in the plan".into();
        }
        let err = desk
            .repair
            .countersign_agreement(authed(dissent, &customer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["signature.dissent"]);

        // The customer countersigns what they read: the case is agreed, both sides signed.
        let countersign = customer_signs("c-4", &second.agreement_id);
        let signed = desk
            .repair
            .countersign_agreement(authed(countersign.clone(), &customer))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        assert_eq!(signed.agreement_id, second.agreement_id);
        assert!(!signed.awaiting_customer_signature);
        assert_eq!(
            signed.contractor_obligations,
            ["Recoat gutter G2 and the downpipe"]
        );
        let roles: Vec<i32> = signed.signatures.iter().map(|s| s.role).collect();
        assert_eq!(
            roles,
            [
                common::SignatureRole::ContractorRepresentative as i32,
                common::SignatureRole::CustomerRepresentative as i32
            ]
        );
        assert_eq!(desk.state(&ticket).await, common::CaseState::Agreed);
        // A resend (the phone lost the answer) gives the same agreement; nothing is concluded
        // twice, and the crew can start.
        let again = desk
            .repair
            .countersign_agreement(authed(countersign, &customer))
            .await
            .unwrap()
            .into_inner()
            .agreement
            .unwrap();
        assert_eq!(again.agreement_id, signed.agreement_id);
        let read = desk.agreement(&ticket, &engineer).await;
        assert_eq!(read.agreement_id, signed.agreement_id);
        assert!(!read.awaiting_customer_signature);
        assert_eq!(read.signatures.len(), 2);
        repair_and_complete(&mut desk, &ticket).await;
    }
}

/// A customer sees who comes to their case, by name, and not the ranking behind the choice nor
/// the offers others declined; another organisation's case does not exist for them.
#[tokio::test]
async fn a_customer_sees_who_comes_by_name_and_nothing_behind_the_choice() {
    use steelcare_proto::dispatch::v1 as dpb;
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let mut lead = roofer("t-lead", date(2030, 12, 31));
        lead.person = Some(steelcare_tests::fixtures::person("王建国"));
        desk.office.hire(lead).await;
        desk.office.hire(roofer("t-crew", date(2030, 12, 31))).await;
        let ticket = approved_case(&mut desk).await;
        let stranger = desk
            .office
            .app
            .token("cust-9", &[Role::Customer], Some("another-org"));
        let list = |ticket_id: &str| dpb::ListAssignmentsRequest {
            ticket_id: ticket_id.into(),
            ..Default::default()
        };
        let dispatch = &mut desk.office.dispatch;
        let staff = dispatch
            .list_assignments(authed(list(&ticket), &desk.office.dispatcher))
            .await
            .unwrap()
            .into_inner()
            .assignments;
        assert_eq!(staff[0].technician_name, "王建国");
        assert_eq!(staff[0].offers[0].technician_name, "王建国");
        assert!(staff[0].ranking.is_some(), "the dispatcher sees why");
        let seen = dispatch
            .list_assignments(authed(list(&ticket), &desk.customer))
            .await
            .unwrap()
            .into_inner()
            .assignments;
        assert_eq!(seen.len(), 1, "{}", backend.name());
        assert_eq!(seen[0].technician_name, "王建国");
        // The same assignment and deadline (its state may move on between the two reads: the
        // case's events reach dispatch on their own time).
        assert_eq!(seen[0].assignment_id, staff[0].assignment_id);
        assert_eq!(
            seen[0].arrival_deadline_time,
            staff[0].arrival_deadline_time
        );
        assert!(seen[0].ranking.is_none() && seen[0].offers.is_empty());
        let err = dispatch
            .list_assignments(authed(list(""), &desk.customer))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["ticket_id"]);
        let err = dispatch
            .list_assignments(authed(list(&ticket), &stranger))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        let err = dispatch
            .list_assignments(authed(list("no-such-ticket"), &desk.customer))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
}
