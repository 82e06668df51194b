//! Archives (MISSION §7.3, DESIGN decision 6). `ArchiveCase` renders every record of a case
//! into a stored document of canonical JSON (database rows as they are; records of the
//! repair and acceptance services through the protobuf JSON mapping), adds the case's
//! attachments, numbers them, stores each one's SHA-256, and writes a manifest whose hash
//! chains to the previous archive's. Nothing here updates or deletes an archive row, and the
//! database refuses it anyway (triggers). `VerifyArchive` re-reads everything; `ExportArchive`
//! streams a ZIP a person can check with `sha256sum -c SHA256SUMS` and read in a browser.

use std::io::Write;
use std::sync::LazyLock;
use steelcare_i18n::{Msg, msg};

use chrono::Datelike;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use sha2::{Digest, Sha256};
use steelcare_bus::EVENTS_STREAM;
use steelcare_domain::{CaseState, Role};
use steelcare_proto::acceptance::v1 as pb;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::convert::{page_size, to_timestamp};
use steelcare_runtime::handler::{not_found, require};
use steelcare_runtime::idempotent::Begun;
use steelcare_runtime::record::{actor_of, audit, emit, envelope, move_case, payload_hash};
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::case_records::kind as repair_kind;
use steelcare_store::entity::{
    archive_documents, archives, assignment_offers, assignments, attachments, audit_log,
    case_records, customers, projects, sla_clocks, sla_pauses, survey_plans, tickets,
};
use steelcare_store::{StoreError, page};

use crate::engine::{Acceptor, Case, case_precondition};
use crate::grpc::{AcceptanceService, READERS, kind};

const ARCHIVERS: &[Role] = &[Role::Engineer, Role::Manager, Role::Admin];
const AUDITORS: &[Role] = &[Role::Engineer, Role::Manager, Role::Admin, Role::Auditor];

static POOL: LazyLock<Option<DescriptorPool>> =
    LazyLock::new(|| DescriptorPool::decode(steelcare_proto::FILE_DESCRIPTOR_SET).ok());

fn db_err(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// JSON with object keys sorted and no spaces: the same value gives the same bytes.
pub fn canonical(value: &serde_json::Value) -> String {
    fn write(out: &mut String, v: &serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String((*k).clone()).to_string());
                    out.push(':');
                    write(out, &map[*k]);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(out, item);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(&mut out, value);
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The message type of each kind of case record, and its document kind.
fn record_kind(kind: &str) -> Option<(&'static str, pb::DocumentKind)> {
    use pb::DocumentKind as D;
    Some(match kind {
        repair_kind::REPORT => ("steelcare.repair.v1.SurveyReport", D::SurveyReport),
        repair_kind::PLAN => ("steelcare.repair.v1.RepairPlan", D::RepairPlan),
        repair_kind::REVIEW => ("steelcare.repair.v1.PlanReview", D::PlanReview),
        repair_kind::COMMUNICATION => ("steelcare.repair.v1.Communication", D::Communication),
        repair_kind::DECISION => ("steelcare.repair.v1.CustomerDecision", D::CustomerDecision),
        repair_kind::AGREEMENT => ("steelcare.repair.v1.Agreement", D::Agreement),
        repair_kind::AMENDMENT => (
            "steelcare.repair.v1.AgreementAmendment",
            D::AgreementAmendment,
        ),
        repair_kind::WORK => ("steelcare.repair.v1.WorkLogEntry", D::WorkLog),
        repair_kind::INSPECTION => ("steelcare.repair.v1.Inspection", D::KeyStepInspection),
        repair_kind::COMPLETION => ("steelcare.repair.v1.RepairCompletion", D::RepairCompletion),
        repair_kind::DISPUTE => ("steelcare.repair.v1.Dispute", D::Dispute),
        repair_kind::NO_REPAIR => ("steelcare.repair.v1.CloseWithoutRepairRequest", D::NoRepair),
        kind::SELF_INSPECTION => ("steelcare.acceptance.v1.SelfInspection", D::SelfInspection),
        kind::ACCEPTANCE => (
            "steelcare.acceptance.v1.CustomerAcceptance",
            D::AcceptanceRound,
        ),
        _ => return None,
    })
}

/// A stored record as JSON through the protobuf JSON mapping.
fn record_json(row: &case_records::Model, message: &str) -> Result<serde_json::Value, ApiError> {
    let pool = POOL
        .as_ref()
        .ok_or_else(|| ApiError::Internal("descriptor set unreadable".to_owned()))?;
    let descriptor = pool
        .get_message_by_name(message)
        .ok_or_else(|| ApiError::Internal(format!("no descriptor for {message}")))?;
    let dynamic = DynamicMessage::decode(descriptor, row.body.as_slice())
        .map_err(|err| ApiError::Internal(format!("record {} unreadable: {err}", row.id)))?;
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|err| ApiError::Internal(format!("record {} as JSON: {err}", row.id)))
}

/// A document before it is numbered.
struct Draft {
    kind: pb::DocumentKind,
    title: String,
    content_type: String,
    bytes: Vec<u8>,
    attachment_id: Option<String>,
    file_name: String,
}

/// A document's title: its kind's label in Chinese and English.
fn document_title(kind: pb::DocumentKind) -> String {
    crate::dossier::bilingual(&steelcare_i18n::enum_label(
        "DocumentKind",
        kind.as_str_name(),
    ))
}

fn json_draft(kind: pb::DocumentKind, value: &serde_json::Value) -> Draft {
    Draft {
        kind,
        title: document_title(kind),
        content_type: "application/json".to_owned(),
        bytes: canonical(value).into_bytes(),
        attachment_id: None,
        file_name: String::new(),
    }
}

fn kind_slug(kind: pb::DocumentKind) -> String {
    kind.as_str_name()
        .trim_start_matches("DOCUMENT_KIND_")
        .to_lowercase()
}

/// How a case ended, from its state.
fn ending_of(case: &Case) -> Option<pb::CaseEnding> {
    match case.state {
        CaseState::Accepted => Some(pb::CaseEnding::Repaired),
        CaseState::NoRepair => Some(pb::CaseEnding::NoRepair),
        CaseState::ResolvedRemotely => Some(pb::CaseEnding::ResolvedRemotely),
        _ => None,
    }
}

/// The document kinds an archive of a case that ended so must hold.
pub fn expected_kinds(ending: pb::CaseEnding) -> Vec<pb::DocumentKind> {
    use pb::DocumentKind as D;
    let mut kinds = vec![D::IntakeRecord, D::Readback, D::Classification, D::Sla];
    match ending {
        pb::CaseEnding::Repaired => kinds.extend([
            D::Dispatch,
            D::SurveyReport,
            D::RepairPlan,
            D::PlanReview,
            D::CustomerDecision,
            D::Agreement,
            D::WorkLog,
            D::KeyStepInspection,
            D::RepairCompletion,
            D::SelfInspection,
            D::AcceptanceRound,
        ]),
        pb::CaseEnding::NoRepair => kinds.extend([D::Dispatch, D::SurveyReport, D::NoRepair]),
        pb::CaseEnding::ResolvedRemotely => kinds.push(D::RemoteResolution),
        pb::CaseEnding::Unspecified => {}
    }
    kinds
}

fn completeness(ending: pb::CaseEnding, present: &[pb::DocumentKind]) -> pb::Completeness {
    let expected = expected_kinds(ending);
    let missing: Vec<pb::DocumentKind> = expected
        .iter()
        .copied()
        .filter(|k| !present.contains(k))
        .collect();
    let ratio = if expected.is_empty() {
        1.0
    } else {
        (expected.len() - missing.len()) as f64 / expected.len() as f64
    };
    pb::Completeness {
        expected: expected.iter().map(|k| *k as i32).collect(),
        missing: missing.iter().map(|k| *k as i32).collect(),
        ratio,
    }
}

impl Acceptor {
    /// Every record of the case as a document, in the order of the process, then its
    /// attachments with their bytes.
    async fn drafts(
        &self,
        conn: &impl ConnectionTrait,
        case: &Case,
    ) -> Result<Vec<Draft>, ApiError> {
        use pb::DocumentKind as D;
        let id = case.id.as_str();
        let (mut out, closing) = intake_drafts(conn, id).await?;
        out.push(sla_draft(conn, id).await?);
        out.extend(dispatch_draft(conn, id).await?);
        out.extend(record_drafts(conn, id).await?);
        if case.state == CaseState::ResolvedRemotely {
            out.push(json_draft(
                D::RemoteResolution,
                &serde_json::json!({ "closing_text": closing }),
            ));
        }
        out.extend(self.attachment_drafts(conn, id).await?);
        Ok(out)
    }

    /// The case's attachments as documents, with their bytes, oldest first.
    async fn attachment_drafts(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
    ) -> Result<Vec<Draft>, ApiError> {
        use pb::DocumentKind as D;
        let mut out = Vec::new();
        let files = attachments::Entity::find()
            .filter(attachments::Column::TicketId.eq(id))
            .order_by_asc(attachments::Column::CreatedAt)
            .all(conn)
            .await
            .map_err(db_err)?;
        for file in files {
            let bytes = self.files.get(&file.storage_key).await?;
            out.push(Draft {
                kind: D::Attachment,
                title: if file.caption.is_empty() {
                    file.file_name.clone()
                } else {
                    file.caption.clone()
                },
                content_type: file.content_type.clone(),
                bytes: bytes.to_vec(),
                attachment_id: Some(file.id.clone()),
                file_name: file.file_name.clone(),
            });
        }
        Ok(out)
    }
}

/// A safe file name for an export.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned
    }
}

/// The intake record (ticket, project, customer), the confirmed read-back and the
/// classification's audit trail; with the ticket's closing text.
async fn intake_drafts(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<(Vec<Draft>, Option<String>), ApiError> {
    use pb::DocumentKind as D;
    let mut out = Vec::new();
    let ticket = tickets::Entity::find_by_id(id.to_owned())
        .into_json()
        .one(conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| not_found("ticket", id))?;
    let project_id = ticket["project_id"].as_str().unwrap_or_default().to_owned();
    let customer_id = ticket["customer_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let project = projects::Entity::find_by_id(project_id)
        .into_json()
        .one(conn)
        .await
        .map_err(db_err)?;
    let customer = customers::Entity::find_by_id(customer_id)
        .into_json()
        .one(conn)
        .await
        .map_err(db_err)?;
    let readback = ticket["readback_text"].as_str().map(str::to_owned);
    let closing = ticket["closing_text"].as_str().map(str::to_owned);
    out.push(json_draft(
        D::IntakeRecord,
        &serde_json::json!({ "ticket": ticket, "project": project, "customer": customer }),
    ));
    // The read-back counts once the customer confirmed it (MISSION §3.1); an unconfirmed
    // text stays in the intake record above.
    if let Some(text) = readback.filter(|_| !ticket["readback_confirmed_at"].is_null()) {
        out.push(json_draft(
            D::Readback,
            &serde_json::json!({ "readback_text": text, "confirmed_at": ticket["readback_confirmed_at"] }),
        ));
    }
    let trail = audit_log::Entity::find()
        .filter(audit_log::Column::EntityType.eq("ticket"))
        .filter(audit_log::Column::EntityId.eq(id))
        .order_by_asc(audit_log::Column::CreatedAt)
        .into_json()
        .all(conn)
        .await
        .map_err(db_err)?;
    out.push(json_draft(
        D::Classification,
        &serde_json::json!({ "audit_trail": trail }),
    ));
    Ok((out, closing))
}

/// The case's SLA clocks and pauses.
async fn sla_draft(conn: &impl ConnectionTrait, id: &str) -> Result<Draft, ApiError> {
    use pb::DocumentKind as D;
    let clocks = sla_clocks::Entity::find()
        .filter(sla_clocks::Column::TicketId.eq(id))
        .into_json()
        .all(conn)
        .await
        .map_err(db_err)?;
    let pauses = sla_pauses::Entity::find()
        .filter(sla_pauses::Column::TicketId.eq(id))
        .into_json()
        .all(conn)
        .await
        .map_err(db_err)?;
    Ok(json_draft(
        D::Sla,
        &serde_json::json!({ "clocks": clocks, "pauses": pauses }),
    ))
}

/// The case's assignments, offers and survey plans, when it was dispatched.
async fn dispatch_draft(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Draft>, ApiError> {
    use pb::DocumentKind as D;
    let assignment = assignments::Entity::find()
        .filter(assignments::Column::TicketId.eq(id))
        .into_json()
        .all(conn)
        .await
        .map_err(db_err)?;
    if assignment.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = assignment
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();
    let offers = assignment_offers::Entity::find()
        .filter(assignment_offers::Column::AssignmentId.is_in(ids))
        .into_json()
        .all(conn)
        .await
        .map_err(db_err)?;
    let plans = survey_plans::Entity::find()
        .filter(survey_plans::Column::TicketId.eq(id))
        .into_json()
        .all(conn)
        .await
        .map_err(db_err)?;
    Ok(Some(json_draft(
        D::Dispatch,
        &serde_json::json!({ "assignments": assignment, "offers": offers, "survey_plans": plans }),
    )))
}

/// The case's records (survey, plans, agreement, work, inspections, acceptance, …), in id
/// order, each with its status.
async fn record_drafts(conn: &impl ConnectionTrait, id: &str) -> Result<Vec<Draft>, ApiError> {
    let mut out = Vec::new();
    let records = case_records::Entity::find()
        .filter(case_records::Column::TicketId.eq(id))
        .order_by_asc(case_records::Column::Id)
        .all(conn)
        .await
        .map_err(db_err)?;
    for row in &records {
        let Some((message, kind)) = record_kind(&row.kind) else {
            continue;
        };
        let mut value = record_json(row, message)?;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("_status".to_owned(), serde_json::json!(row.status));
        }
        out.push(json_draft(kind, &value));
    }
    Ok(out)
}

fn document_of(row: &archive_documents::Model) -> pb::ArchiveDocument {
    pb::ArchiveDocument {
        sequence: row.sequence,
        kind: pb::DocumentKind::from_str_name(&row.kind).map_or(0, |k| k as i32),
        title: row.title.clone(),
        content_type: row.content_type.clone(),
        size_bytes: row.size_bytes,
        sha256: row.sha256.clone(),
        path: row.path.clone(),
    }
}

fn ending_name(e: pb::CaseEnding) -> &'static str {
    e.as_str_name()
}

async fn archive_view(
    conn: &impl ConnectionTrait,
    row: &archives::Model,
) -> Result<pb::Archive, ApiError> {
    let documents = archive_documents::Entity::find()
        .filter(archive_documents::Column::ArchiveNumber.eq(&row.archive_number))
        .order_by_asc(archive_documents::Column::Sequence)
        .all(conn)
        .await
        .map_err(db_err)?;
    let completeness: serde_json::Value =
        serde_json::from_str(&row.completeness).unwrap_or_default();
    let kinds = |key: &str| -> Vec<i32> {
        completeness[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().and_then(pb::DocumentKind::from_str_name))
                    .map(|k| k as i32)
                    .collect()
            })
            .unwrap_or_default()
    };
    let manifest: serde_json::Value = serde_json::from_str(&row.manifest).unwrap_or_default();
    Ok(pb::Archive {
        archive_number: row.archive_number.clone(),
        ticket_id: row.ticket_id.clone(),
        ending: pb::CaseEnding::from_str_name(&row.ending).map_or(0, |e| e as i32),
        documents: documents.iter().map(document_of).collect(),
        manifest_sha256: row.manifest_sha256.clone(),
        previous_manifest_sha256: row.previous_sha256.clone().unwrap_or_default(),
        completeness: Some(pb::Completeness {
            expected: kinds("expected"),
            missing: kinds("missing"),
            ratio: completeness["ratio"].as_f64().unwrap_or(0.0),
        }),
        archive_time: Some(to_timestamp(row.created_at)),
        archived_by: Some(steelcare_proto::common::v1::Actor {
            subject: row.created_by.clone(),
            roles: Vec::new(),
            organization_id: manifest["archived_by_organization"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            display_name: String::new(),
        }),
    })
}

/// Each draft numbered in order with its path in the export (documents as JSON, attachments
/// under their safe names) and its hash; and the kinds of document present.
fn numbered(
    number: &str,
    drafts: &[Draft],
) -> (Vec<archive_documents::Model>, Vec<pb::DocumentKind>) {
    let mut documents = Vec::with_capacity(drafts.len() + 1);
    let mut present = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        let sequence = i32::try_from(i + 1).unwrap_or(i32::MAX);
        let path = match &d.attachment_id {
            Some(_) => format!("attachments/{sequence:03}-{}", safe_name(&d.file_name)),
            None => format!("documents/{sequence:03}-{}.json", kind_slug(d.kind)),
        };
        if !present.contains(&d.kind) {
            present.push(d.kind);
        }
        documents.push(archive_documents::Model {
            archive_number: number.to_owned(),
            sequence,
            kind: d.kind.as_str_name().to_owned(),
            title: d.title.clone(),
            content_type: d.content_type.clone(),
            size_bytes: i64::try_from(d.bytes.len()).unwrap_or(i64::MAX),
            sha256: sha256_hex(&d.bytes),
            path,
            body: d.attachment_id.is_none().then(|| d.bytes.clone()),
            attachment_id: d.attachment_id.clone(),
        });
    }
    (documents, present)
}

/// The dossier's printable page, rendered from the documents numbered before it, as the
/// archive's last document.
fn dossier_page(
    heading: &crate::dossier::Heading<'_>,
    documents: &[archive_documents::Model],
    drafts: &[Draft],
) -> archive_documents::Model {
    let files: Vec<(String, Vec<u8>)> = documents
        .iter()
        .zip(drafts)
        .map(|(doc, draft)| (doc.path.clone(), draft.bytes.clone()))
        .collect();
    let page = crate::dossier::render(heading, documents, &files).into_bytes();
    archive_documents::Model {
        archive_number: heading.archive_number.to_owned(),
        sequence: i32::try_from(documents.len() + 1).unwrap_or(i32::MAX),
        kind: pb::DocumentKind::DossierPage.as_str_name().to_owned(),
        title: document_title(pb::DocumentKind::DossierPage),
        content_type: "text/html; charset=utf-8".to_owned(),
        size_bytes: i64::try_from(page.len()).unwrap_or(i64::MAX),
        sha256: sha256_hex(&page),
        path: "dossier.html".to_owned(),
        body: Some(page),
        attachment_id: None,
    }
}

/// The manifest (canonical JSON) listing every document with its hash, the archive's
/// completeness and the previous manifest's hash; and the completeness alone, as stored.
fn manifest(
    ctx: &RequestContext,
    heading: &crate::dossier::Heading<'_>,
    complete: &pb::Completeness,
    documents: &[archive_documents::Model],
) -> (String, serde_json::Value) {
    let names = |kinds: &[i32]| {
        kinds
            .iter()
            .filter_map(|k| pb::DocumentKind::try_from(*k).ok())
            .map(|k| k.as_str_name())
            .collect::<Vec<_>>()
    };
    let completeness_json = serde_json::json!({
        "expected": names(&complete.expected),
        "missing": names(&complete.missing),
        "ratio": complete.ratio,
    });
    let manifest = serde_json::json!({
        "archive_number": heading.archive_number,
        "ticket_id": heading.ticket_id,
        "ending": heading.ending,
        "archived_at": heading.archived_at.to_rfc3339(),
        "archived_by": ctx.caller.subject,
        "archived_by_organization": ctx.caller.organization_id.clone().unwrap_or_default(),
        "previous_manifest_sha256": heading.previous_sha256,
        "completeness": completeness_json,
        "documents": documents.iter().map(|d| serde_json::json!({
            "sequence": d.sequence,
            "kind": d.kind,
            "title": d.title,
            "path": d.path,
            "content_type": d.content_type,
            "size_bytes": d.size_bytes,
            "sha256": d.sha256,
        })).collect::<Vec<_>>(),
    });
    (canonical(&manifest), completeness_json)
}

/// The next archive's number (`AR-<year>-<n>`, counted per year), its place in the chain and
/// the previous archive's manifest hash.
async fn next_in_chain(
    tx: &sea_orm::DatabaseTransaction,
    year: i32,
) -> Result<(String, i64, Option<String>), ApiError> {
    let n = steelcare_store::counters::increment_counter(tx, &format!("archive-{year}"), 1).await?;
    let previous = archives::Entity::find()
        .order_by_desc(archives::Column::Seq)
        .limit(1)
        .one(tx)
        .await
        .map_err(db_err)?;
    Ok((
        format!("AR-{year}-{n:06}"),
        previous.as_ref().map_or(1, |p| p.seq + 1),
        previous.map(|p| p.manifest_sha256),
    ))
}

/// Writes the archive and its documents; another archive taking the same place in the chain
/// meanwhile is ABORTED (retry).
async fn store_archive(
    tx: &sea_orm::DatabaseTransaction,
    row: &archives::Model,
    documents: &[archive_documents::Model],
) -> Result<(), ApiError> {
    archives::ActiveModel::from(row.clone())
        .insert(tx)
        .await
        .map_err(|err| match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                ApiError::Aborted(msg!("error-archive-race"))
            }
            _ => db_err(err),
        })?;
    for chunk in documents.chunks(100) {
        archive_documents::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(archive_documents::ActiveModel::from),
        )
        .exec_without_returning(tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

impl AcceptanceService {
    /// The archive by number or ticket id, as the caller may see it.
    async fn visible_archive(
        &self,
        ctx: &RequestContext,
        number: &str,
    ) -> Result<archives::Model, ApiError> {
        let a = &self.acceptor;
        let number = steelcare_runtime::validate::id("archive_number", number)?;
        let column = if number.starts_with("AR-") {
            archives::Column::ArchiveNumber
        } else {
            archives::Column::TicketId
        };
        let row = archives::Entity::find()
            .filter(column.eq(number))
            .one(&a.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("archive", number))?;
        a.case_for(&a.db, &ctx.caller, &row.ticket_id)
            .await
            .map_err(|_| not_found("archive", number))?;
        Ok(row)
    }

    pub(crate) async fn archive_case(
        &self,
        ctx: &RequestContext,
        request: pb::ArchiveCaseRequest,
    ) -> Result<pb::ArchiveCaseResponse, ApiError> {
        require(&ctx.caller, ARCHIVERS)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let a = &self.acceptor;
        let (tx, key) = match a
            .begin(ctx, "ArchiveCase", &request.request_id, hash)
            .await?
        {
            Begun::Replay(number) => {
                let row = self.visible_archive(ctx, &number).await?;
                return Ok(pb::ArchiveCaseResponse {
                    archive: Some(archive_view(&a.db, &row).await?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = a.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        let Some(ending) = ending_of(&case) else {
            return Err(case_precondition(&case, msg!("error-archive-state")));
        };
        let drafts = a.drafts(&tx, &case).await?;
        let now = steelcare_store::now();
        let (number, seq, previous_sha) =
            next_in_chain(&tx, now.with_timezone(&a.timezone).year()).await?;
        let (mut documents, present) = numbered(&number, &drafts);
        // The printable page of the whole dossier, from the documents before it: archived
        // and hashed like them, so the page a person prints is the page verified.
        let heading = crate::dossier::Heading {
            archive_number: &number,
            ticket_id: &case.id,
            ending: ending_name(ending),
            archived_at: now,
            archived_by: &ctx.caller.subject,
            previous_sha256: previous_sha.as_deref(),
        };
        let page = dossier_page(&heading, &documents, &drafts);
        documents.push(page);
        let complete = completeness(ending, &present);
        let (manifest_text, completeness_json) = manifest(ctx, &heading, &complete, &documents);
        let manifest_sha = sha256_hex(manifest_text.as_bytes());
        let row = archives::Model {
            archive_number: number.clone(),
            seq,
            ticket_id: case.id.clone(),
            ending: ending_name(ending).to_owned(),
            manifest: manifest_text,
            manifest_sha256: manifest_sha.clone(),
            previous_sha256: previous_sha,
            completeness: completeness_json.to_string(),
            created_by: ctx.caller.subject.clone(),
            created_at: now,
        };
        store_archive(&tx, &row, &documents).await?;
        announce_archive(&tx, ctx, &case, &row, drafts.len(), complete.ratio).await?;
        a.finish(tx, key, &number).await?;
        Ok(pb::ArchiveCaseResponse {
            archive: Some(archive_view(&a.db, &row).await?),
        })
    }

    pub(crate) async fn get_archive(
        &self,
        ctx: &RequestContext,
        request: pb::GetArchiveRequest,
    ) -> Result<pb::GetArchiveResponse, ApiError> {
        require(&ctx.caller, READERS)?;
        let row = self.visible_archive(ctx, &request.archive_number).await?;
        Ok(pb::GetArchiveResponse {
            archive: Some(archive_view(&self.acceptor.db, &row).await?),
        })
    }

    pub(crate) async fn list_archives(
        &self,
        ctx: &RequestContext,
        request: pb::ListArchivesRequest,
    ) -> Result<pb::ListArchivesResponse, ApiError> {
        require(&ctx.caller, AUDITORS)?;
        let size = page_size(request.page_size)?;
        let fingerprint = page::fingerprint(&"archives");
        let after: Option<i64> = page::decode(&request.page_token, &fingerprint)?;
        let db = &self.acceptor.db;
        let mut query = archives::Entity::find();
        if let Some(after) = after {
            query = query.filter(archives::Column::Seq.gt(after));
        }
        let mut rows = query
            .order_by_asc(archives::Column::Seq)
            .limit(size + 1)
            .all(db)
            .await
            .map_err(db_err)?;
        let next_page_token = page::next_token(&mut rows, size, &fingerprint, |r| r.seq);
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(archive_view(db, row).await?);
        }
        Ok(pb::ListArchivesResponse {
            archives: out,
            next_page_token,
        })
    }

    /// The bytes of a document: its stored body, or its attachment's bytes.
    async fn document_bytes(&self, row: &archive_documents::Model) -> Result<Vec<u8>, Msg> {
        if let Some(body) = &row.body {
            return Ok(body.clone());
        }
        let Some(id) = &row.attachment_id else {
            return Err(msg!("archive-problem-bytes-missing"));
        };
        let file = attachments::Entity::find_by_id(id.clone())
            .one(&self.acceptor.db)
            .await
            .map_err(|_| msg!("archive-problem-unreadable"))?
            .ok_or(msg!("archive-problem-attachment-missing"))?;
        self.acceptor
            .files
            .get(&file.storage_key)
            .await
            .map(|b| b.to_vec())
            .map_err(|_| msg!("archive-problem-bytes-missing"))
    }

    /// Every document of an archive checked against its manifest both ways: each entry needs
    /// its row, the row as listed and bytes that hash as listed; each row needs its entry. The
    /// intact documents come back with their bytes, in the manifest's order.
    async fn check_documents(
        &self,
        row: &archives::Model,
        manifest: &serde_json::Value,
    ) -> Result<Checked, ApiError> {
        let listed = manifest["documents"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let documents = archive_documents::Entity::find()
            .filter(archive_documents::Column::ArchiveNumber.eq(&row.archive_number))
            .order_by_asc(archive_documents::Column::Sequence)
            .all(&self.acceptor.db)
            .await
            .map_err(db_err)?;
        let mut checked = Checked::default();
        for entry in &listed {
            let sequence = entry["sequence"].as_i64().unwrap_or(0);
            let path = entry["path"].as_str().unwrap_or_default().to_owned();
            let Some(doc) = documents.iter().find(|d| i64::from(d.sequence) == sequence) else {
                checked.problems.push(Problem {
                    sequence: i32::try_from(sequence).unwrap_or(0),
                    path,
                    problem: msg!("archive-problem-row-missing"),
                });
                continue;
            };
            let mut problem = None;
            if entry["sha256"].as_str() != Some(doc.sha256.as_str())
                || entry["path"].as_str() != Some(doc.path.as_str())
                || entry["kind"].as_str() != Some(doc.kind.as_str())
                || entry["size_bytes"].as_i64() != Some(doc.size_bytes)
            {
                problem = Some(msg!("archive-problem-row-differs"));
            }
            match self.document_bytes(doc).await {
                Err(why) => problem = Some(why),
                Ok(bytes) => {
                    let actual = sha256_hex(&bytes);
                    if actual != doc.sha256 || entry["sha256"].as_str() != Some(actual.as_str()) {
                        problem = Some(problem.unwrap_or(msg!("archive-problem-bytes-changed")));
                    }
                    if problem.is_none() {
                        checked.files.push((doc.path.clone(), actual, bytes));
                    }
                }
            }
            if let Some(problem) = problem {
                checked.problems.push(Problem {
                    sequence: doc.sequence,
                    path: doc.path.clone(),
                    problem,
                });
            }
        }
        for doc in &documents {
            if !listed
                .iter()
                .any(|e| e["sequence"].as_i64() == Some(i64::from(doc.sequence)))
            {
                checked.problems.push(Problem {
                    sequence: doc.sequence,
                    path: doc.path.clone(),
                    problem: msg!("archive-problem-not-listed"),
                });
            }
        }
        Ok(checked)
    }

    pub(crate) async fn verify_archive(
        &self,
        ctx: &RequestContext,
        request: pb::VerifyArchiveRequest,
    ) -> Result<pb::VerifyArchiveResponse, ApiError> {
        require(&ctx.caller, AUDITORS)?;
        let row = self.visible_archive(ctx, &request.archive_number).await?;
        let db = &self.acceptor.db;
        let recomputed = sha256_hex(row.manifest.as_bytes());
        let manifest_changed = recomputed != row.manifest_sha256;
        let manifest: serde_json::Value = serde_json::from_str(&row.manifest).unwrap_or_default();
        let problems: Vec<pb::DocumentProblem> = self
            .check_documents(&row, &manifest)
            .await?
            .problems
            .into_iter()
            .map(|p| pb::DocumentProblem {
                sequence: p.sequence,
                path: p.path,
                problem: p.problem.render(ctx.locale),
            })
            .collect();
        let previous = archives::Entity::find()
            .filter(archives::Column::Seq.eq(row.seq - 1))
            .one(db)
            .await
            .map_err(db_err)?;
        let next = archives::Entity::find()
            .filter(archives::Column::Seq.eq(row.seq + 1))
            .one(db)
            .await
            .map_err(db_err)?;
        let back_ok = match (&previous, &row.previous_sha256) {
            (None, None) => row.seq == 1,
            (Some(p), Some(sha)) => {
                &p.manifest_sha256 == sha && sha256_hex(p.manifest.as_bytes()) == *sha
            }
            _ => false,
        };
        let forward_ok = next
            .as_ref()
            .is_none_or(|n| n.previous_sha256.as_deref() == Some(recomputed.as_str()));
        let manifest_claims_previous =
            manifest["previous_manifest_sha256"].as_str() == row.previous_sha256.as_deref();
        let chain_broken = !(back_ok && forward_ok && manifest_claims_previous);
        Ok(pb::VerifyArchiveResponse {
            intact: problems.is_empty() && !manifest_changed && !chain_broken,
            problems,
            manifest_changed,
            chain_broken,
            manifest_sha256: recomputed,
        })
    }

    pub(crate) async fn export(
        &self,
        ctx: &RequestContext,
        request: pb::ExportArchiveRequest,
    ) -> Result<crate::grpc::ExportStream, ApiError> {
        require(
            &ctx.caller,
            &[
                Role::Engineer,
                Role::Manager,
                Role::Admin,
                Role::Auditor,
                Role::Customer,
            ],
        )?;
        let row = self.visible_archive(ctx, &request.archive_number).await?;
        // An export is a copy someone relies on offline: it carries every manifest entry, or
        // nothing. A missing row, changed bytes or an edited manifest is DATA_LOSS naming the
        // first document that failed, as VerifyArchive reports it.
        if sha256_hex(row.manifest.as_bytes()) != row.manifest_sha256 {
            return Err(ApiError::DataLoss(msg!(
                "error-manifest-changed",
                archive = row.archive_number.as_str()
            )));
        }
        let manifest: serde_json::Value = serde_json::from_str(&row.manifest).map_err(|_| {
            ApiError::DataLoss(msg!(
                "error-manifest-changed",
                archive = row.archive_number.as_str()
            ))
        })?;
        let checked = self.check_documents(&row, &manifest).await?;
        if let Some(first) = checked.problems.first() {
            return Err(ApiError::DataLoss(msg!(
                "error-archive-document",
                sequence = first.sequence,
                path = first.path.as_str(),
                archive = row.archive_number.as_str(),
                problem = first.problem.clone(),
                more = checked.problems.len() - 1
            )));
        }
        let mut sums = String::new();
        for (path, sha, _) in &checked.files {
            sums.push_str(&format!("{sha}  {path}\n"));
        }
        sums.push_str(&format!("{}  manifest.json\n", row.manifest_sha256));
        let files: Vec<(String, Vec<u8>)> = checked
            .files
            .into_iter()
            .map(|(path, _, bytes)| (path, bytes))
            .collect();
        let zip = write_zip(&row.manifest, &sums, &files)
            .map_err(|err| ApiError::Internal(format!("zip: {err}")))?;
        let chunks: Vec<Result<pb::ExportArchiveResponse, tonic::Status>> = zip
            .chunks(64 * 1024)
            .map(|c| Ok(pb::ExportArchiveResponse { chunk: c.to_vec() }))
            .collect();
        let stream: crate::grpc::ExportStream = Box::pin(tokio_stream::iter(chunks));
        Ok(stream)
    }
}

/// Documents checked against their manifest.
#[derive(Default)]
struct Checked {
    /// Every document that failed, and how.
    problems: Vec<Problem>,
    /// The intact ones: path, SHA-256 and bytes, in the manifest's order.
    files: Vec<(String, String, Vec<u8>)>,
}

/// A document that failed its check.
struct Problem {
    sequence: i32,
    path: String,
    problem: Msg,
}

fn write_zip(
    manifest: &str,
    sums: &str,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in [
        ("manifest.json", manifest.as_bytes()),
        ("SHA256SUMS", sums.as_bytes()),
    ] {
        writer.start_file(name, options)?;
        writer.write_all(bytes)?;
    }
    for (path, bytes) in files {
        writer.start_file(path.as_str(), options)?;
        writer.write_all(bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// What archiving a case writes besides its archive: the audit entry, the case moved to
/// ARCHIVED and the `CaseArchived` event.
async fn announce_archive(
    tx: &sea_orm::DatabaseTransaction,
    ctx: &RequestContext,
    case: &Case,
    row: &archives::Model,
    documents: usize,
    completeness: f64,
) -> Result<(), ApiError> {
    let audited = serde_json::json!({
        "ticket_id": case.id,
        "documents": documents,
        "manifest_sha256": row.manifest_sha256,
        "completeness": completeness,
    });
    audit(tx, ctx, "archive", &row.archive_number, None, audited).await?;
    move_case(
        tx,
        EVENTS_STREAM,
        actor_of(&ctx.caller),
        &case.id,
        case.state,
        CaseState::Archived,
        "archived",
    )
    .await?;
    let archived = Payload::CaseArchived(events::CaseArchived {
        archive_number: row.archive_number.clone(),
        manifest_sha256: row.manifest_sha256.clone(),
    });
    emit(
        tx,
        EVENTS_STREAM,
        envelope(actor_of(&ctx.caller), Some(&case.id), archived),
    )
    .await?;
    Ok(())
}
