//! The cases as the index holds them, read from the database: the facts projection (member
//! type, root cause, state, recurrence), the ticket's words, the project's name, the latest
//! survey report, plan and agreement, the work log, and the office's standard-repair marks.
//! One query per table for a batch of cases.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use steelcare_proto::repair::v1 as repair;
use steelcare_runtime::ApiError;
use steelcare_store::case_records::{decode, kind};
use steelcare_store::entity::{
    case_facts, case_records, cases, projects, standard_repairs, tickets,
};

use steelcare_domain::location::Locations;

use super::index::CaseDoc;
use crate::engine::db_err;
use crate::facts::{UNDETERMINED, by_id, grouped, structure_key};

/// The record kinds whose words are searched.
const KINDS: [&str; 4] = [kind::REPORT, kind::PLAN, kind::WORK, kind::AGREEMENT];

/// Outcome keys.
pub mod outcome {
    pub const OPEN: &str = "open";
    pub const RESOLVED: &str = "resolved";
    pub const RECURRED: &str = "recurred";
    pub const CANCELLED: &str = "cancelled";
}

/// The outcome of a case in `state` that did (not) come back.
pub fn outcome_of(state: &str, recurred: bool) -> &'static str {
    match state {
        _ if recurred => outcome::RECURRED,
        "CANCELLED" => outcome::CANCELLED,
        "ACCEPTED" | "ARCHIVED" | "CLOSED" | "RESOLVED_REMOTELY" | "NO_REPAIR" => outcome::RESOLVED,
        _ => outcome::OPEN,
    }
}

/// Grid axes as compared: upper case, without spaces.
pub fn normalise_axes(axes: &str) -> String {
    axes.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// The cases `ids` as the index holds them (a case whose facts are not built yet is placed
/// from its ticket alone; its facts mark it again).
pub async fn load(conn: &impl ConnectionTrait, ids: &[String]) -> Result<Vec<CaseDoc>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let tickets = tickets::Entity::find()
        .filter(tickets::Column::Id.is_in(ids.iter().cloned()))
        .order_by_asc(tickets::Column::Id)
        .all(conn)
        .await
        .map_err(db_err)?;
    let ids: Vec<String> = tickets.iter().map(|t| t.id.clone()).collect();
    let facts = by_id(
        case_facts::Entity::find()
            .filter(case_facts::Column::TicketId.is_in(ids.clone()))
            .all(conn)
            .await
            .map_err(db_err)?,
        |f| f.ticket_id.clone(),
    );
    let states: HashMap<String, (Option<String>, String)> = cases::Entity::find()
        .select_only()
        .column(cases::Column::Id)
        .column(cases::Column::OrganizationId)
        .column(cases::Column::State)
        .filter(cases::Column::Id.is_in(ids.clone()))
        .into_tuple::<(String, Option<String>, String)>()
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|(id, org, state)| (id, (org, state)))
        .collect();
    let project_ids: Vec<String> = tickets.iter().map(|t| t.project_id.clone()).collect();
    let projects: HashMap<String, (String, String)> = projects::Entity::find()
        .select_only()
        .column(projects::Column::Id)
        .column(projects::Column::Name)
        .column(projects::Column::StructureType)
        .filter(projects::Column::Id.is_in(project_ids))
        .into_tuple::<(String, String, String)>()
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|(id, name, structure)| (id, (name, structure)))
        .collect();
    let standards = by_id(
        standard_repairs::Entity::find()
            .filter(standard_repairs::Column::TicketId.is_in(ids.clone()))
            .all(conn)
            .await
            .map_err(db_err)?,
        |s| s.ticket_id.clone(),
    );
    let records = grouped(
        case_records::Entity::find()
            .filter(case_records::Column::TicketId.is_in(ids.clone()))
            .filter(case_records::Column::Kind.is_in(KINDS))
            .order_by_asc(case_records::Column::Version)
            .order_by_asc(case_records::Column::Id)
            .all(conn)
            .await
            .map_err(db_err)?,
        |r| r.ticket_id.clone(),
    );
    let mut out = Vec::with_capacity(tickets.len());
    for ticket in &tickets {
        let (organization, state) = states.get(&ticket.id).cloned().unwrap_or_default();
        let (project_name, structure) = projects
            .get(&ticket.project_id)
            .cloned()
            .unwrap_or_default();
        let mut doc = CaseDoc {
            ticket_id: ticket.id.clone(),
            acceptance_number: ticket.acceptance_number.clone(),
            organization: organization.unwrap_or_default(),
            customer_id: ticket.customer_id.clone(),
            project_id: ticket.project_id.clone(),
            project_name,
            structure_type: structure_key(&structure),
            category: ticket.category.clone(),
            state,
            created_ms: ticket.created_at.timestamp_millis(),
            related_case_id: ticket.related_case_id.clone(),
            root_cause: UNDETERMINED.to_owned(),
            ..CaseDoc::default()
        };
        words_of_ticket(&mut doc, ticket);
        doc.member_type = Locations::shipped()
            .locate(&format!("{} {}", doc.texts[1], doc.texts[0]))
            .to_owned();
        if let Some(fact) = facts.get(&ticket.id) {
            doc.member_type = fact.location.clone();
            doc.root_cause = fact.root_cause.clone();
            doc.recurred = fact.recurred != 0;
            doc.related_case_id = fact.related_case_id.clone();
        }
        doc.outcome = outcome_of(&doc.state, doc.recurred).to_owned();
        if let Some(standard) = standards.get(&ticket.id) {
            doc.standard = true;
            doc.standard_note = standard.note.clone();
        }
        let rows = records.get(&ticket.id).map_or(&[][..], Vec::as_slice);
        words_of_records(&mut doc, rows)?;
        out.push(doc);
    }
    Ok(out)
}

/// A stored JSON object's string fields, by name.
fn json_fields(stored: &str, names: &[&str]) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
    names
        .iter()
        .filter_map(|n| value.get(*n).and_then(|v| v.as_str()))
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// What the customer said: the phenomenon (with its extent and signs) and where.
fn words_of_ticket(doc: &mut CaseDoc, ticket: &tickets::Model) {
    doc.texts[0] = json_fields(
        &ticket.description,
        &["phenomenon", "extent", "accompanying_signs"],
    )
    .join("\n");
    doc.texts[1] =
        json_fields(&ticket.location, &["description", "grid_axes", "member_id"]).join("\n");
    doc.grid_axes = json_fields(&ticket.location, &["grid_axes"])
        .first()
        .map(|a| normalise_axes(a))
        .unwrap_or_default();
}

/// What the technicians and engineers wrote: the latest survey report's findings and
/// recommendation, its diagnosis's review (the cause), the latest plan, every work-log entry,
/// and the latest agreement's price.
fn words_of_records(doc: &mut CaseDoc, rows: &[case_records::Model]) -> Result<(), ApiError> {
    let latest = |k: &str| rows.iter().rev().find(|r| r.kind == k);
    if let Some(row) = latest(kind::REPORT) {
        let report: repair::SurveyReport = decode(row)?;
        doc.texts[2] = join([&report.findings, &report.recommendation]);
        if let Some(d) = report.diagnosis {
            doc.texts[3] = d.expert_review;
        }
    }
    if let Some(row) = latest(kind::PLAN) {
        let plan: repair::RepairPlan = decode(row)?;
        let content = plan.content.unwrap_or_default();
        let steps: Vec<&str> = content
            .steps
            .iter()
            .map(|s| s.description.as_str())
            .collect();
        doc.texts[4] = join([
            &content.objective,
            &content.scope,
            &content.methods,
            &steps.join("\n"),
        ]);
        doc.fix = content.methods;
    }
    let mut work = Vec::new();
    for row in rows.iter().filter(|r| r.kind == kind::WORK) {
        let entry: repair::WorkLogEntry = decode(row)?;
        work.push(join([&entry.content, &entry.problems, &entry.handling]));
    }
    doc.texts[5] = work.join("\n");
    if let Some(row) = latest(kind::AGREEMENT) {
        let agreement: repair::Agreement = decode(row)?;
        if let Some(price) = agreement.cost.and_then(|c| c.quoted) {
            doc.cost_currency = price.currency_code;
            doc.cost_minor = price.amount_minor;
        }
    }
    Ok(())
}

fn join<const N: usize>(parts: [&String; N]) -> String {
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
