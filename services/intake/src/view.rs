//! Stored rows assembled into the protobuf messages clients see.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use steelcare_domain::{ProblemCategory, SeverityTier};
use steelcare_i18n::Locale;
use steelcare_proto::common::v1 as common;
use steelcare_proto::intake::v1 as pb;
use steelcare_runtime::ApiError;
use steelcare_runtime::convert::to_timestamp;
use steelcare_store::entity::{attachments, customers, projects, sla_clocks, tickets};

use crate::clocks::{instant, status};
use crate::domain::records::{
    Address, Description, Location, Person, ReplyRecord, SuggestionRecord, WarrantyRecord,
    from_json,
};
use crate::domain::validate::to_date;
use crate::store;

/// Every dossier kind, in checklist order.
pub const DOSSIER_KINDS: [pb::DossierItemKind; 7] = [
    pb::DossierItemKind::AsBuiltDrawings,
    pb::DossierItemKind::DesignChanges,
    pb::DossierItemKind::MaterialCertificates,
    pb::DossierItemKind::TestReports,
    pb::DossierItemKind::ConcealedWorkRecords,
    pb::DossierItemKind::StructuralAcceptanceRecords,
    pb::DossierItemKind::OmManual,
];

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A customer as the API shows it.
pub fn customer(row: &customers::Model) -> Result<pb::Customer, ApiError> {
    let contacts: Vec<Person> = from_json(&row.contacts, "customer contacts")?;
    Ok(pb::Customer {
        customer_id: row.id.clone(),
        organization_name: row.organization_name.clone(),
        contacts: contacts.iter().map(Person::to_proto).collect(),
        create_time: Some(to_timestamp(row.created_at)),
    })
}

/// A project with its terms, dossier checklist and trainings.
pub async fn project(
    conn: &impl ConnectionTrait,
    row: &projects::Model,
) -> Result<pb::Project, ApiError> {
    let terms = store::warranty_terms(conn, &row.id).await?;
    let items = store::dossier_items(conn, &row.id).await?;
    let trainings = store::trainings(conn, &row.id).await?;
    let address: Address = from_json(&row.address, "project address")?;
    let lead: Person = from_json(&row.technical_lead, "technical lead")?;
    let designer: Person = from_json(&row.designer, "designer")?;
    let dossier_items: Vec<pb::DossierItem> = DOSSIER_KINDS
        .iter()
        .map(|kind| {
            let stored = items.iter().find(|i| i.kind == kind.as_str_name());
            pb::DossierItem {
                kind: *kind as i32,
                present: stored.is_some_and(|i| i.present),
                document_reference: stored
                    .map(|i| i.document_reference.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let warranty_terms = terms
        .iter()
        .map(|t| {
            let start = parse_date(&t.start_date);
            let term = start.map(|start| steelcare_domain::warranty::WarrantyTerm {
                scope: t
                    .scope
                    .parse()
                    .unwrap_or(steelcare_domain::warranty::WarrantyScope::Other),
                start,
                months: u32::try_from(t.months).unwrap_or(0),
                note: t.note.clone(),
            });
            pb::WarrantyTerm {
                scope: t
                    .scope
                    .parse::<steelcare_domain::warranty::WarrantyScope>()
                    .map(|s| s.proto_value())
                    .unwrap_or(0),
                start_date: start.map(to_date),
                months: t.months,
                note: t.note.clone(),
                expiry_date: term.map(|t| to_date(t.expiry())),
            }
        })
        .collect();
    let trainings = trainings
        .iter()
        .map(|t| {
            Ok(pb::Training {
                training_id: t.id.clone(),
                held_time: Some(to_timestamp(t.held_at)),
                trainer: Some(from_json::<Person>(&t.trainer, "trainer")?.to_proto()),
                attendees: from_json::<Vec<Person>>(&t.attendees, "attendees")?
                    .iter()
                    .map(Person::to_proto)
                    .collect(),
                topics: from_json(&t.topics, "topics")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(pb::Project {
        project_id: row.id.clone(),
        customer_id: row.customer_id.clone(),
        name: row.name.clone(),
        address: Some(address.to_proto()),
        contract_number: row.contract_number.clone(),
        structure_type: pb::StructureType::from_str_name(&row.structure_type)
            .map(|s| s as i32)
            .unwrap_or(0),
        completion_acceptance_date: parse_date(&row.completion_date).map(to_date),
        technical_lead: Some(lead.to_proto()),
        designer: Some(designer.to_proto()),
        warranty_terms,
        dossier_complete: dossier_items.iter().all(|i| i.present),
        dossier_items,
        trainings,
        create_time: Some(to_timestamp(row.created_at)),
        design_service_life_years: row.design_life_years,
    })
}

fn sla_status(s: &str) -> common::SlaStatus {
    match s {
        status::ON_TRACK => common::SlaStatus::OnTrack,
        status::AT_RISK => common::SlaStatus::AtRisk,
        status::BREACHED => common::SlaStatus::Breached,
        status::MET => common::SlaStatus::Met,
        status::PAUSED => common::SlaStatus::Paused,
        _ => common::SlaStatus::Unspecified,
    }
}

/// The stored name of an API SLA status (for the ListTickets filter).
pub fn sla_status_name(s: common::SlaStatus) -> Option<&'static str> {
    match s {
        common::SlaStatus::OnTrack => Some(status::ON_TRACK),
        common::SlaStatus::AtRisk => Some(status::AT_RISK),
        common::SlaStatus::Breached => Some(status::BREACHED),
        common::SlaStatus::Met => Some(status::MET),
        common::SlaStatus::Paused => Some(status::PAUSED),
        common::SlaStatus::Unspecified => None,
    }
}

fn clock(rows: &[sla_clocks::Model], kind: &str) -> Option<common::SlaClock> {
    rows.iter()
        .find(|c| c.kind == kind)
        .map(|c| common::SlaClock {
            status: sla_status(&c.status) as i32,
            start_time: Some(to_timestamp(instant(c.started_at_ms))),
            deadline_time: c.deadline_at_ms.map(|ms| to_timestamp(instant(ms))),
            stop_time: c.stopped_at_ms.map(|ms| to_timestamp(instant(ms))),
            breach_time: c.breached_at_ms.map(|ms| to_timestamp(instant(ms))),
            mode: match c.mode.as_str() {
                "round_the_clock" => common::ClockMode::RoundTheClock,
                "business" => common::ClockMode::Business,
                _ => common::ClockMode::Unspecified,
            } as i32,
            limit: Some(prost_types::Duration {
                seconds: c.limit_ms.div_euclid(1000),
                nanos: (c.limit_ms.rem_euclid(1000) * 1_000_000) as i32,
            }),
        })
}

/// An attachment reference.
pub fn attachment(row: &attachments::Model) -> common::AttachmentRef {
    common::AttachmentRef {
        attachment_id: row.id.clone(),
        file_name: row.file_name.clone(),
        content_type: row.content_type.clone(),
        size_bytes: row.size_bytes,
        sha256: row.sha256.clone(),
        caption: row.caption.clone(),
    }
}

fn category_value(s: &str) -> i32 {
    s.parse::<ProblemCategory>()
        .map(|c| c.proto_value())
        .unwrap_or(0)
}

fn tier_value(s: &str) -> i32 {
    s.parse::<SeverityTier>()
        .map(|t| t.proto_value())
        .unwrap_or(0)
}

/// A ticket with its state, clocks and attachments.
pub async fn ticket(
    conn: &impl ConnectionTrait,
    row: &tickets::Model,
    locale: Locale,
) -> Result<pb::Ticket, ApiError> {
    let case = steelcare_store::cases::get(conn, &row.id).await?;
    let clocks = store::clocks(conn, &row.id).await?;
    let paused = store::pauses(conn, &row.id)
        .await?
        .iter()
        .any(|p| p.ended_at_ms.is_none());
    let files = store::attachments(conn, &row.id).await?;
    ticket_from(row, case.state, &clocks, paused, &files, locale)
}

/// A page of tickets, with their states, clocks, pauses and attachments loaded in one query
/// each rather than four per ticket.
pub async fn tickets(
    conn: &impl ConnectionTrait,
    rows: &[tickets::Model],
    locale: Locale,
) -> Result<Vec<pb::Ticket>, ApiError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let states = store::states_of(conn, &ids).await?;
    let clocks = store::clocks_of(conn, &ids).await?;
    let paused = store::open_pauses_of(conn, &ids).await?;
    let files = store::attachments_of(conn, &ids).await?;
    rows.iter()
        .map(|row| {
            let state = states
                .iter()
                .find(|c| c.id == row.id)
                .ok_or_else(|| ApiError::Internal(format!("ticket {} has no case", row.id)))?
                .state
                .parse()
                .map_err(|err: steelcare_domain::lifecycle::UnknownCaseState| {
                    ApiError::Internal(err.to_string())
                })?;
            let own_clocks: Vec<sla_clocks::Model> = clocks
                .iter()
                .filter(|c| c.ticket_id == row.id)
                .cloned()
                .collect();
            let own_files: Vec<attachments::Model> = files
                .iter()
                .filter(|f| f.ticket_id == row.id)
                .cloned()
                .collect();
            let is_paused = paused.iter().any(|p| p.ticket_id == row.id);
            ticket_from(row, state, &own_clocks, is_paused, &own_files, locale)
        })
        .collect()
}

/// A ticket from rows already loaded, its texts in `locale`.
pub fn ticket_from(
    row: &tickets::Model,
    state: steelcare_domain::CaseState,
    clocks: &[sla_clocks::Model],
    paused: bool,
    files: &[attachments::Model],
    locale: Locale,
) -> Result<pb::Ticket, ApiError> {
    let reporter: Person = from_json(&row.reporter, "reporter")?;
    let location: Location = from_json(&row.location, "location")?;
    let description: Description = from_json(&row.description, "description")?;
    let suggestion: SuggestionRecord = from_json(&row.suggestion, "suggestion")?;
    let warranty: WarrantyRecord = from_json(&row.warranty, "warranty")?;
    let reply: ReplyRecord = from_json(&row.reply, "reply")?;
    Ok(pb::Ticket {
        ticket_id: row.id.clone(),
        acceptance_number: row.acceptance_number.clone(),
        state: state.proto_value(),
        channel: pb::Channel::from_str_name(&row.channel)
            .map(|c| c as i32)
            .unwrap_or(0),
        customer_id: row.customer_id.clone(),
        project_id: row.project_id.clone(),
        reporter: Some(reporter.to_proto()),
        location: Some(location.to_proto()),
        description: Some(description.to_proto()),
        customer_request: row.customer_request.clone(),
        category: category_value(&row.category),
        tier: tier_value(&row.tier),
        suggestion: Some(pb::ClassificationSuggestion {
            category: category_value(&suggestion.category),
            tier: tier_value(&suggestion.tier),
            matched_terms: suggestion.matched_terms,
        }),
        warranty: Some(pb::WarrantyStatus {
            in_warranty: warranty.in_warranty,
            scope: warranty
                .scope
                .as_deref()
                .and_then(|s| s.parse::<steelcare_domain::warranty::WarrantyScope>().ok())
                .map(|s| s.proto_value())
                .unwrap_or(0),
            expiry_date: warranty.expiry.map(to_date),
        }),
        sla: Some(pb::SlaClocks {
            response: clock(clocks, "response"),
            arrival: clock(clocks, "arrival"),
            solution: clock(clocks, "solution"),
            completion: clock(clocks, "completion"),
            paused,
        }),
        reply: Some(pb::CustomerReply {
            acceptance_number: row.acceptance_number.clone(),
            next_steps: reply.next_steps.iter().map(|s| s.render(locale)).collect(),
            response_deadline_time: reply.response_deadline.map(to_timestamp),
            customer_actions: reply
                .customer_actions
                .iter()
                .map(|s| s.render(locale))
                .collect(),
            media_requested: reply.media_requested && files.is_empty(),
        }),
        readback_text: row.readback_text.clone().unwrap_or_default(),
        readback_confirm_time: row.readback_confirmed_at.map(to_timestamp),
        attachments: files.iter().map(attachment).collect(),
        create_time: Some(to_timestamp(row.created_at)),
        update_time: Some(to_timestamp(row.updated_at)),
        sla_status: sla_status(&row.sla_status) as i32,
        first_response_text: row.first_response_text.clone().unwrap_or_default(),
        closing_text: row.closing_text.clone().unwrap_or_default(),
        related_case_id: row.related_case_id.clone().unwrap_or_default(),
    })
}
