//! The per-case facts the analytics read (`case_facts`, `case_fact_parties`,
//! `case_fact_staff`): a projection rebuilt whole from the records of every service each time
//! an event of the case arrives, so it never drifts from them, needs no ordering of events,
//! and can be rebuilt from the database alone ([`refresh`] on every case).
//!
//! Keys are short lowercase names: categories as the domain spells them (`leakage`), tiers
//! (`p2`), root causes (`workmanship`), parties (`designer`), structure types
//! (`portal_frame`), locations as the taxonomy's keys (`gutter`); `undetermined` where the
//! survey has not decided yet.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use prost::Message;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steelcare_domain::feedback::month_key;
use steelcare_domain::location::Locations;
use steelcare_proto::acceptance::v1 as acceptance;
use steelcare_proto::common::v1 as common;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::repair::v1 as repair;
use steelcare_runtime::ApiError;
use steelcare_store::case_records::kind as repair_kind;
use steelcare_store::case_records::{self, decode};
use steelcare_store::entity::{
    archives, audit_log, case_fact_parties, case_fact_staff, case_facts, cases, facts_dirty,
    projects, return_visits, sla_clocks, survey_plan_members, survey_plans, technicians, tickets,
};

use crate::engine::db_err;

/// Codes of a clock's outcome in the `clock_*` columns.
pub mod clock {
    /// The case has no such clock.
    pub const NONE: i16 = 0;
    /// Running (or paused).
    pub const RUNNING: i16 = 1;
    /// Stopped in time.
    pub const MET: i16 = 2;
    /// Breached.
    pub const BREACHED: i16 = 3;
}

/// Kinds of `case_fact_staff` rows.
pub mod staff {
    /// A technician on the case's survey plan or work log.
    pub const TECHNICIAN: &str = "technician";
    /// The team of such a technician.
    pub const TEAM: &str = "team";
    /// The agent who took the ticket in.
    pub const AGENT: &str = "agent";
}

/// The key of a case the survey has not decided on yet.
pub const UNDETERMINED: &str = "undetermined";

/// The kind of a satisfaction survey in `case_records`.
pub use steelcare_store::case_records::kind::SATISFACTION;

/// A protobuf enum name as a short key: `ROOT_CAUSE_DESIGN` → `design`.
pub fn short_key(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// The root cause key of a proto value.
pub fn root_cause_key(value: i32) -> String {
    match common::RootCause::try_from(value) {
        Ok(common::RootCause::Unspecified) | Err(_) => UNDETERMINED.to_owned(),
        Ok(cause) => short_key(cause.as_str_name(), "ROOT_CAUSE_"),
    }
}

/// The party key of a proto value.
pub fn party_key(value: i32) -> String {
    match common::ResponsibleParty::try_from(value) {
        Ok(common::ResponsibleParty::Unspecified) | Err(_) => UNDETERMINED.to_owned(),
        Ok(party) => short_key(party.as_str_name(), "RESPONSIBLE_PARTY_"),
    }
}

/// The structure type key of a stored name (`STRUCTURE_TYPE_PORTAL_FRAME`).
pub fn structure_key(stored: &str) -> String {
    short_key(stored, "STRUCTURE_TYPE_")
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn month_of(at_ms: i64, zone: Tz) -> String {
    let at = Utc.timestamp_millis_opt(at_ms).single().unwrap_or_default();
    month_key(at.with_timezone(&zone).date_naive())
}

/// The strings of a stored JSON text, joined (where the customer said the problem is).
fn json_text(stored: &str) -> String {
    fn walk(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::String(s) => {
                out.push_str(s);
                out.push(' ');
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    match serde_json::from_str::<serde_json::Value>(stored) {
        Ok(value) => walk(&value, &mut out),
        Err(_) => out.push_str(stored),
    }
    out
}

fn clock_code(status: &str) -> i16 {
    match status {
        "met" => clock::MET,
        "breached" => clock::BREACHED,
        "cancelled" => clock::NONE,
        _ => clock::RUNNING,
    }
}

/// Rebuilds the facts of one case from the records of every service. Returns false when
/// the ticket does not exist (yet).
pub async fn refresh(
    conn: &impl ConnectionTrait,
    zone: Tz,
    ticket_id: &str,
) -> Result<bool, ApiError> {
    let Some(ticket) = tickets::Entity::find_by_id(ticket_id)
        .one(conn)
        .await
        .map_err(db_err)?
    else {
        return Ok(false);
    };
    let (fact, parties) = facts_of(conn, zone, &ticket).await?;
    case_facts::Entity::insert(fact)
        .on_conflict(
            OnConflict::column(case_facts::Column::TicketId)
                .update_columns(fact_columns())
                .to_owned(),
        )
        .exec(conn)
        .await
        .map_err(db_err)?;
    write_parties(conn, &ticket.id, parties).await?;
    write_staff(conn, &ticket.id).await?;
    Ok(true)
}

/// A case's row of facts, and its responsible parties with their shares (summing to 1).
async fn facts_of(
    conn: &impl ConnectionTrait,
    zone: Tz,
    ticket: &tickets::Model,
) -> Result<(case_facts::ActiveModel, BTreeMap<String, f64>), ApiError> {
    let ticket_id = ticket.id.as_str();
    let structure_type = projects::Entity::find_by_id(&ticket.project_id)
        .one(conn)
        .await
        .map_err(db_err)?
        .map_or_else(
            || UNDETERMINED.to_owned(),
            |p| structure_key(&p.structure_type),
        );
    let now = steelcare_store::now();
    let survey = survey_of(conn, ticket_id, now).await?;
    let location = Locations::shipped()
        .locate(&format!(
            "{} {} {}",
            json_text(&ticket.location),
            json_text(&ticket.description),
            survey.findings
        ))
        .to_owned();
    let outcome = outcome_of(conn, ticket).await?;
    let all = clocks_of(conn, ticket_id, survey.appraisal).await?;
    let met = all.iter().filter(|c| **c == clock::MET).count() as i32;
    let breached = all.iter().filter(|c| **c == clock::BREACHED).count() as i32;
    let sat = satisfaction_of(conn, ticket_id).await?;
    // A recurrence not surveyed again carries its original case's diagnosis, marked.
    let inherited = match &ticket.related_case_id {
        Some(original) if !survey.reported => inherit(conn, original).await?,
        _ => None,
    };
    let root_cause = inherited
        .as_ref()
        .map_or(survey.root_cause.clone(), |(cause, _)| cause.clone());
    let recurrences_at_visits = visit_recurrences(conn, ticket_id).await?;
    let recurred = tickets::Entity::find()
        .filter(tickets::Column::RelatedCaseId.eq(ticket_id))
        .one(conn)
        .await
        .map_err(db_err)?
        .is_some();
    let created_at = ms(ticket.created_at);
    let fact = case_facts::ActiveModel {
        ticket_id: Set(ticket.id.clone()),
        customer_id: Set(ticket.customer_id.clone()),
        project_id: Set(ticket.project_id.clone()),
        structure_type: Set(structure_type),
        category: Set(ticket.category.clone()),
        location: Set(location),
        root_cause: Set(root_cause),
        root_cause_inherited: Set(i32::from(inherited.is_some())),
        tier: Set(ticket.tier.clone()),
        state: Set(outcome.state),
        related_case_id: Set(ticket.related_case_id.clone()),
        created_at_ms: Set(created_at),
        accepted_at_ms: Set(outcome.accepted_at),
        closed_at_ms: Set(outcome.closed_at),
        created_month: Set(month_of(created_at, zone)),
        accepted_month: Set(outcome.accepted_at.map(|t| month_of(t, zone))),
        closed_month: Set(outcome.closed_at.map(|t| month_of(t, zone))),
        acceptance_rounds: Set(outcome.rounds),
        recurred: Set(i32::from(recurred)),
        recurrences_at_visits: Set(recurrences_at_visits),
        resolve_hours: Set(outcome.resolve_hours),
        completeness: Set(outcome.completeness),
        sat_surveys: Set(sat.surveys),
        sat_response_speed: Set(sat.response_speed),
        sat_competence: Set(sat.competence),
        sat_attitude: Set(sat.attitude),
        sat_fix_effect: Set(sat.fix_effect),
        sat_overall: Set(sat.overall),
        sat_overall_n: Set(sat.overall_n),
        sat_communication: Set(sat.communication),
        sat_communication_n: Set(sat.communication_n),
        clock_response: Set(all[0]),
        clock_arrival: Set(all[1]),
        clock_solution: Set(all[2]),
        clock_completion: Set(all[3]),
        clock_appraisal: Set(all[4]),
        clocks_met: Set(met),
        clocks_breached: Set(breached),
        updated_at: Set(now),
    };
    let parties = match inherited {
        Some((_, from_original)) => from_original,
        None => parties_of(&survey.shares),
    };
    Ok((fact, parties))
}

/// What the survey found, and the disputes after it.
struct Survey {
    /// Whether a survey report exists.
    reported: bool,
    root_cause: String,
    shares: Vec<common::ResponsibilityShare>,
    findings: String,
    /// The appraisal clock of the latest dispute with a deadline.
    appraisal: i16,
}

/// The survey's findings: the latest report version, a resolved dispute's shares after.
async fn survey_of(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    now: DateTime<Utc>,
) -> Result<Survey, ApiError> {
    let mut survey = Survey {
        reported: false,
        root_cause: UNDETERMINED.to_owned(),
        shares: Vec::new(),
        findings: String::new(),
        appraisal: clock::NONE,
    };
    let reports = case_records::records(conn, ticket_id, repair_kind::REPORT).await?;
    if let Some(row) = reports.last() {
        let report: repair::SurveyReport = decode(row)?;
        survey.reported = true;
        survey.findings = report.findings;
        if let Some(d) = report.diagnosis {
            survey.root_cause = root_cause_key(d.root_cause);
            survey.shares = d.responsibility;
        }
    }
    for row in case_records::records(conn, ticket_id, repair_kind::DISPUTE).await? {
        let dispute: repair::Dispute = decode(&row)?;
        let deadline = dispute.appraisal_deadline_time.map(|t| t.seconds * 1000);
        let resolved = dispute.status == repair::DisputeStatus::Resolved as i32;
        if resolved && !dispute.responsibility.is_empty() {
            survey.shares = dispute.responsibility.clone();
        }
        if let Some(deadline) = deadline {
            let ended = if resolved {
                dispute.resolve_time.map_or(ms(now), |t| t.seconds * 1000)
            } else {
                ms(now)
            };
            survey.appraisal = if ended > deadline {
                clock::BREACHED
            } else if resolved {
                clock::MET
            } else {
                clock::RUNNING
            };
        }
    }
    Ok(survey)
}

/// How a case ended so far: its state, the acceptance rounds and when the customer
/// accepted, when it closed, how long it took to resolve, its archive's completeness.
struct Outcome {
    state: String,
    rounds: i32,
    accepted_at: Option<i64>,
    closed_at: Option<i64>,
    resolve_hours: Option<f64>,
    completeness: Option<f64>,
}

async fn outcome_of(
    conn: &impl ConnectionTrait,
    ticket: &tickets::Model,
) -> Result<Outcome, ApiError> {
    let case = cases::Entity::find_by_id(&ticket.id)
        .one(conn)
        .await
        .map_err(db_err)?;
    let mut rounds = 0;
    let mut accepted_at: Option<i64> = None;
    for row in case_records::records(conn, &ticket.id, repair_kind::ACCEPTANCE).await? {
        let round: acceptance::CustomerAcceptance = decode(&row)?;
        rounds += 1;
        if round.accepted {
            accepted_at = Some(ms(row.created_at));
        }
    }
    let archive = archives::Entity::find()
        .filter(archives::Column::TicketId.eq(&ticket.id))
        .one(conn)
        .await
        .map_err(db_err)?;
    let completeness = archive.as_ref().map(|a| {
        serde_json::from_str::<serde_json::Value>(&a.completeness)
            .ok()
            .and_then(|v| v["ratio"].as_f64())
            .unwrap_or(0.0)
    });
    let closed_at = case
        .as_ref()
        .filter(|c| c.state == "CLOSED" || c.state == "CANCELLED")
        .map(|c| ms(c.updated_at));
    let created_at = ms(ticket.created_at);
    let resolved_at = accepted_at.or(archive.as_ref().map(|a| ms(a.created_at)));
    Ok(Outcome {
        state: case
            .as_ref()
            .map_or("RECEIVED", |c| c.state.as_str())
            .to_owned(),
        rounds,
        accepted_at,
        closed_at,
        resolve_hours: resolved_at.map(|end| (end - created_at).max(0) as f64 / 3_600_000.0),
        completeness,
    })
}

/// The case's five clocks in order: response, arrival, solution, completion, appraisal.
async fn clocks_of(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    appraisal: i16,
) -> Result<[i16; 5], ApiError> {
    let mut clocks: BTreeMap<String, i16> = BTreeMap::new();
    for c in sla_clocks::Entity::find()
        .filter(sla_clocks::Column::TicketId.eq(ticket_id))
        .all(conn)
        .await
        .map_err(db_err)?
    {
        clocks.insert(c.kind, clock_code(&c.status));
    }
    let code = |kind: &str| clocks.get(kind).copied().unwrap_or(clock::NONE);
    Ok([
        code("response"),
        code("arrival"),
        code("solution"),
        code("completion"),
        appraisal,
    ])
}

/// Satisfaction: sums per dimension; communication and overall with their own counts (a
/// survey from before communication could be recorded leaves it unknown).
async fn satisfaction_of(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<SatisfactionSums, ApiError> {
    let mut sat = SatisfactionSums::default();
    for row in case_records::records(conn, ticket_id, SATISFACTION).await? {
        let survey: pb::Satisfaction = decode(&row)?;
        sat.add(&survey.scores.unwrap_or_default());
    }
    Ok(sat)
}

/// Parties: shares summing to 1, or the whole case undetermined.
fn parties_of(shares: &[common::ResponsibilityShare]) -> BTreeMap<String, f64> {
    let mut parties: BTreeMap<String, f64> = BTreeMap::new();
    let total: i32 = shares.iter().map(|s| s.percent.max(0)).sum();
    for s in shares {
        if total > 0 && s.percent > 0 {
            *parties.entry(party_key(s.party)).or_default() +=
                f64::from(s.percent) / f64::from(total);
        }
    }
    parties
}

/// Replaces a case's responsible parties (the whole case undetermined when there are none).
async fn write_parties(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    mut parties: BTreeMap<String, f64>,
) -> Result<(), ApiError> {
    if parties.is_empty() {
        parties.insert(UNDETERMINED.to_owned(), 1.0);
    }
    case_fact_parties::Entity::delete_many()
        .filter(case_fact_parties::Column::TicketId.eq(ticket_id))
        .exec(conn)
        .await
        .map_err(db_err)?;
    case_fact_parties::Entity::insert_many(parties.into_iter().map(|(party, share)| {
        case_fact_parties::ActiveModel {
            ticket_id: Set(ticket_id.to_owned()),
            party: Set(party),
            share: Set(share),
        }
    }))
    .on_conflict_do_nothing()
    .exec(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Replaces whom the case counts for: its technicians, their teams, the agent who took it.
async fn write_staff(conn: &impl ConnectionTrait, ticket_id: &str) -> Result<(), ApiError> {
    let mut rows: Vec<(&str, String)> = Vec::new();
    for technician in technicians_of(conn, ticket_id).await? {
        rows.push((staff::TECHNICIAN, technician));
    }
    let ids: Vec<String> = rows.iter().map(|(_, t)| t.clone()).collect();
    if !ids.is_empty() {
        for t in technicians::Entity::find()
            .filter(technicians::Column::Id.is_in(ids))
            .all(conn)
            .await
            .map_err(db_err)?
        {
            if !rows.iter().any(|(k, s)| *k == staff::TEAM && *s == t.team) {
                rows.push((staff::TEAM, t.team));
            }
        }
    }
    if let Some(agent) = agent_of(conn, ticket_id).await? {
        rows.push((staff::AGENT, agent));
    }
    case_fact_staff::Entity::delete_many()
        .filter(case_fact_staff::Column::TicketId.eq(ticket_id))
        .exec(conn)
        .await
        .map_err(db_err)?;
    if !rows.is_empty() {
        case_fact_staff::Entity::insert_many(rows.into_iter().map(|(kind, subject)| {
            case_fact_staff::ActiveModel {
                kind: Set(kind.to_owned()),
                subject: Set(subject),
                ticket_id: Set(ticket_id.to_owned()),
            }
        }))
        .on_conflict_do_nothing()
        .exec(conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// The diagnosis a recurrence inherits from its original case: the original's root cause and
/// responsible parties, when the original's is known (itself surveyed, or inherited in turn).
async fn inherit(
    conn: &impl ConnectionTrait,
    original: &str,
) -> Result<Option<(String, BTreeMap<String, f64>)>, ApiError> {
    let Some(facts) = case_facts::Entity::find_by_id(original)
        .one(conn)
        .await
        .map_err(db_err)?
        .filter(|f| f.root_cause != UNDETERMINED)
    else {
        return Ok(None);
    };
    let parties = case_fact_parties::Entity::find()
        .filter(case_fact_parties::Column::TicketId.eq(original))
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|p| (p.party, p.share))
        .collect();
    Ok(Some((facts.root_cause, parties)))
}

/// How many recurrences the return visits of a case found.
async fn visit_recurrences(conn: &impl ConnectionTrait, ticket_id: &str) -> Result<i32, ApiError> {
    let mut found = 0;
    for row in return_visits::Entity::find()
        .filter(return_visits::Column::TicketId.eq(ticket_id))
        .all(conn)
        .await
        .map_err(db_err)?
    {
        let visit = pb::Visit::decode(row.body.as_slice()).map_err(|err| {
            ApiError::DataLoss(format!("visit {} does not decode: {err}", row.id))
        })?;
        found += visit
            .attempts
            .iter()
            .filter(|a| !a.recurrence_ticket_id.is_empty())
            .count() as i32;
    }
    Ok(found)
}

fn fact_columns() -> Vec<case_facts::Column> {
    use sea_orm::Iterable;
    case_facts::Column::iter()
        .filter(|c| !matches!(c, case_facts::Column::TicketId))
        .collect()
}

/// The technicians a case counts for: its survey plans' members and its work-log crews.
async fn technicians_of(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    let plans: Vec<String> = survey_plans::Entity::find()
        .filter(survey_plans::Column::TicketId.eq(ticket_id))
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|p| p.id)
        .collect();
    if !plans.is_empty() {
        for m in survey_plan_members::Entity::find()
            .filter(survey_plan_members::Column::SurveyPlanId.is_in(plans))
            .all(conn)
            .await
            .map_err(db_err)?
        {
            if !out.contains(&m.technician_id) {
                out.push(m.technician_id);
            }
        }
    }
    for t in steelcare_runtime::record::crew_of(conn, ticket_id).await? {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The staff member who took the ticket in (the caller of its first audit record, its
/// creation: CreateTicket, or the visit attempt that opened a recurrence), unless the
/// customer filed it.
pub(crate) async fn agent_of(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<String>, ApiError> {
    let first = audit_log::Entity::find()
        .filter(audit_log::Column::EntityType.eq("ticket"))
        .filter(audit_log::Column::EntityId.eq(ticket_id))
        .order_by_asc(audit_log::Column::CreatedAt)
        .order_by_asc(audit_log::Column::Id)
        .one(conn)
        .await
        .map_err(db_err)?;
    Ok(first
        .filter(|r| {
            r.roles
                .split(',')
                .any(|role| matches!(role.trim(), "agent" | "manager" | "admin"))
        })
        .map(|r| r.subject))
}

/// The score sums of a case's surveys (scores are 1 to 5, a case has a handful of surveys).
#[derive(Debug, Default)]
struct SatisfactionSums {
    surveys: i32,
    response_speed: i32,
    competence: i32,
    attitude: i32,
    fix_effect: i32,
    overall: i32,
    overall_n: i32,
    communication: i32,
    communication_n: i32,
}

impl SatisfactionSums {
    fn add(&mut self, s: &pb::SatisfactionScores) {
        self.surveys += 1;
        self.response_speed += s.response_speed;
        self.competence += s.professional_competence;
        self.attitude += s.service_attitude;
        self.fix_effect += s.fix_effect;
        if let Some(overall) = s.overall {
            self.overall += overall;
            self.overall_n += 1;
        }
        if let Some(communication) = s.communication {
            self.communication += communication;
            self.communication_n += 1;
        }
    }
}

/// Marks a case's facts stale (again): the facts worker rebuilds it.
pub async fn mark_dirty(conn: &impl ConnectionTrait, ticket_id: &str) -> Result<(), ApiError> {
    facts_dirty::Entity::insert(facts_dirty::ActiveModel {
        ticket_id: Set(ticket_id.to_owned()),
        marked_at_ms: Set(steelcare_store::now().timestamp_millis()),
    })
    .on_conflict(
        OnConflict::column(facts_dirty::Column::TicketId)
            .update_column(facts_dirty::Column::MarkedAtMs)
            .to_owned(),
    )
    .exec(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The cases marked by `before_ms`, oldest first, at most `limit`, with their marks.
pub async fn marked(
    conn: &impl ConnectionTrait,
    before_ms: i64,
    limit: u64,
) -> Result<Vec<(String, i64)>, ApiError> {
    use sea_orm::QuerySelect;
    Ok(facts_dirty::Entity::find()
        .filter(facts_dirty::Column::MarkedAtMs.lte(before_ms))
        .order_by_asc(facts_dirty::Column::MarkedAtMs)
        .limit(limit)
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|m| (m.ticket_id, m.marked_at_ms))
        .collect())
}

/// Removes a case's mark if it is still the one rebuilt (a newer mark stays).
pub async fn clear_mark(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    marked_at_ms: i64,
) -> Result<(), ApiError> {
    facts_dirty::Entity::delete_many()
        .filter(facts_dirty::Column::TicketId.eq(ticket_id))
        .filter(facts_dirty::Column::MarkedAtMs.eq(marked_at_ms))
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Whether the case has facts yet.
pub async fn exists(conn: &impl ConnectionTrait, ticket_id: &str) -> Result<bool, ApiError> {
    Ok(case_facts::Entity::find_by_id(ticket_id)
        .one(conn)
        .await
        .map_err(db_err)?
        .is_some())
}

/// Holds the case's row for the rest of the transaction (PostgreSQL; SQLite's writers are
/// one at a time already), so a rebuild never reads a state a concurrent change (closing the
/// case, with its own rebuild) then overwrites with older facts.
pub async fn hold_case(conn: &impl ConnectionTrait, ticket_id: &str) -> Result<(), ApiError> {
    use sea_orm::QuerySelect;
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        cases::Entity::find_by_id(ticket_id)
            .lock_exclusive()
            .one(conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
