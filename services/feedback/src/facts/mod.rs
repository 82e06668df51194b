//! The per-case facts the analytics read (`case_facts`, `case_fact_parties`,
//! `case_fact_staff`): a projection rebuilt whole from the records of every service after the
//! case's events, so it never drifts from them, needs no ordering of events, and can be
//! rebuilt from the database alone. [`refresh_all`] rebuilds many cases with one query per
//! source table (`sources.rs`); [`refresh`] is one case.
//!
//! Keys are short lowercase names: categories as the domain spells them (`leakage`), tiers
//! (`p2`), root causes (`workmanship`), parties (`designer`), structure types
//! (`portal_frame`), locations as the taxonomy's keys (`gutter`); `undetermined` where the
//! survey has not decided yet.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use prost::Message;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use steelcare_domain::feedback::month_key;
use steelcare_domain::location::Locations;
use steelcare_proto::acceptance::v1 as acceptance;
use steelcare_proto::common::v1 as common;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::repair::v1 as repair;
use steelcare_runtime::ApiError;
use steelcare_store::case_records::decode;
use steelcare_store::case_records::kind as repair_kind;
use steelcare_store::db::{Mark, mark_place};
use steelcare_store::entity::{
    audit_log, case_fact_parties, case_fact_staff, case_facts, cases, facts_dirty, tickets,
};

use crate::engine::db_err;

mod sources;

use sources::Sources;
pub(crate) use sources::{by_id, grouped};

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
    Ok(!refresh_all(conn, zone, &[ticket_id.to_owned()])
        .await?
        .is_empty())
}

/// Rebuilds the facts of these cases together: their sources read in one query per table,
/// their facts, parties and staff written in one statement each, and the cases marked for the
/// search index. Answers the facts written (a case without a ticket has none).
pub async fn refresh_all(
    conn: &impl ConnectionTrait,
    zone: Tz,
    ticket_ids: &[String],
) -> Result<Vec<case_facts::Model>, ApiError> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sources = Sources::load(conn, ticket_ids).await?;
    let now = steelcare_store::now();
    let mut built = Vec::with_capacity(sources.tickets.len());
    let mut parties = Vec::new();
    let mut staff = Vec::new();
    for ticket in &sources.tickets {
        let (fact, of_case) = facts_of(&sources, zone, ticket, now)?;
        staff.extend(
            staff_of(&sources, &ticket.id)
                .into_iter()
                .map(|(kind, subject)| (ticket.id.clone(), kind, subject)),
        );
        // A recurrence later in the batch inherits what this case's rebuild found.
        if fact.root_cause == UNDETERMINED {
            sources.originals.remove(&ticket.id);
        } else {
            sources.originals.insert(
                ticket.id.clone(),
                (fact.root_cause.clone(), of_case.clone()),
            );
        }
        parties.extend(
            of_case
                .into_iter()
                .map(|(p, share)| (ticket.id.clone(), p, share)),
        );
        built.push(fact);
    }
    write_facts(conn, &built).await?;
    let ids: Vec<String> = built.iter().map(|f| f.ticket_id.clone()).collect();
    write_parties(conn, &ids, parties).await?;
    write_staff(conn, &ids, staff).await?;
    // What the experience base holds of these cases changed with their facts.
    crate::experience::follow::mark(conn, &ids).await?;
    Ok(built)
}

/// A case's row of facts, and its responsible parties with their shares (summing to 1, or the
/// whole case undetermined).
fn facts_of(
    sources: &Sources,
    zone: Tz,
    ticket: &tickets::Model,
    now: DateTime<Utc>,
) -> Result<(case_facts::Model, BTreeMap<String, f64>), ApiError> {
    let ticket_id = ticket.id.as_str();
    let structure_type = sources
        .structure
        .get(&ticket.project_id)
        .map_or_else(|| UNDETERMINED.to_owned(), |s| structure_key(s));
    let survey = survey_of(sources, ticket_id, now)?;
    let location = Locations::shipped()
        .locate(&format!(
            "{} {} {}",
            json_text(&ticket.location),
            json_text(&ticket.description),
            survey.findings
        ))
        .to_owned();
    let outcome = outcome_of(sources, ticket)?;
    let all = clocks_of(sources, ticket_id, survey.appraisal);
    let met = all.iter().filter(|c| **c == clock::MET).count() as i32;
    let breached = all.iter().filter(|c| **c == clock::BREACHED).count() as i32;
    let sat = satisfaction_of(sources, ticket_id)?;
    // A recurrence not surveyed again carries its original case's diagnosis, marked.
    let inherited = match &ticket.related_case_id {
        Some(original) if !survey.reported => sources.originals.get(original),
        _ => None,
    };
    let root_cause = inherited.map_or(survey.root_cause.clone(), |(cause, _)| cause.clone());
    let created_at = ms(ticket.created_at);
    let fact = case_facts::Model {
        ticket_id: ticket.id.clone(),
        customer_id: ticket.customer_id.clone(),
        project_id: ticket.project_id.clone(),
        structure_type,
        category: ticket.category.clone(),
        location,
        root_cause,
        root_cause_inherited: i32::from(inherited.is_some()),
        tier: ticket.tier.clone(),
        state: outcome.state,
        related_case_id: ticket.related_case_id.clone(),
        created_at_ms: created_at,
        accepted_at_ms: outcome.accepted_at,
        closed_at_ms: outcome.closed_at,
        created_month: month_of(created_at, zone),
        accepted_month: outcome.accepted_at.map(|t| month_of(t, zone)),
        closed_month: outcome.closed_at.map(|t| month_of(t, zone)),
        acceptance_rounds: outcome.rounds,
        recurred: i32::from(sources.recurred.contains(ticket_id)),
        recurrences_at_visits: visit_recurrences(sources, ticket_id)?,
        resolve_hours: outcome.resolve_hours,
        completeness: outcome.completeness,
        sat_surveys: sat.surveys,
        sat_response_speed: sat.response_speed,
        sat_competence: sat.competence,
        sat_attitude: sat.attitude,
        sat_fix_effect: sat.fix_effect,
        sat_overall: sat.overall,
        sat_overall_n: sat.overall_n,
        sat_communication: sat.communication,
        sat_communication_n: sat.communication_n,
        clock_response: all[0],
        clock_arrival: all[1],
        clock_solution: all[2],
        clock_completion: all[3],
        clock_appraisal: all[4],
        clocks_met: met,
        clocks_breached: breached,
        updated_at: now,
    };
    let parties = match inherited {
        Some((_, from_original)) => from_original.clone(),
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
fn survey_of(sources: &Sources, ticket_id: &str, now: DateTime<Utc>) -> Result<Survey, ApiError> {
    let mut survey = Survey {
        reported: false,
        root_cause: UNDETERMINED.to_owned(),
        shares: Vec::new(),
        findings: String::new(),
        appraisal: clock::NONE,
    };
    if let Some(row) = sources.records(ticket_id, repair_kind::REPORT).last() {
        let report: repair::SurveyReport = decode(row)?;
        survey.reported = true;
        survey.findings = report.findings;
        if let Some(d) = report.diagnosis {
            survey.root_cause = root_cause_key(d.root_cause);
            survey.shares = d.responsibility;
        }
    }
    for row in sources.records(ticket_id, repair_kind::DISPUTE) {
        let dispute: repair::Dispute = decode(row)?;
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

fn outcome_of(sources: &Sources, ticket: &tickets::Model) -> Result<Outcome, ApiError> {
    let case = sources.cases.get(&ticket.id);
    let mut rounds = 0;
    let mut accepted_at: Option<i64> = None;
    for row in sources.records(&ticket.id, repair_kind::ACCEPTANCE) {
        let round: acceptance::CustomerAcceptance = decode(row)?;
        rounds += 1;
        if round.accepted {
            accepted_at = Some(ms(row.created_at));
        }
    }
    let archive = sources.archives.get(&ticket.id);
    let completeness = archive.map(|a| {
        serde_json::from_str::<serde_json::Value>(&a.completeness)
            .ok()
            .and_then(|v| v["ratio"].as_f64())
            .unwrap_or(0.0)
    });
    let closed_at = case
        .filter(|c| c.state == "CLOSED" || c.state == "CANCELLED")
        .map(|c| ms(c.updated_at));
    let created_at = ms(ticket.created_at);
    let resolved_at = accepted_at.or(archive.map(|a| ms(a.created_at)));
    Ok(Outcome {
        state: case.map_or("RECEIVED", |c| c.state.as_str()).to_owned(),
        rounds,
        accepted_at,
        closed_at,
        resolve_hours: resolved_at.map(|end| (end - created_at).max(0) as f64 / 3_600_000.0),
        completeness,
    })
}

/// The case's five clocks in order: response, arrival, solution, completion, appraisal.
fn clocks_of(sources: &Sources, ticket_id: &str, appraisal: i16) -> [i16; 5] {
    let clocks: BTreeMap<&str, i16> = sources
        .clocks
        .get(ticket_id)
        .into_iter()
        .flatten()
        .map(|c| (c.kind.as_str(), clock_code(&c.status)))
        .collect();
    let code = |kind: &str| clocks.get(kind).copied().unwrap_or(clock::NONE);
    [
        code("response"),
        code("arrival"),
        code("solution"),
        code("completion"),
        appraisal,
    ]
}

/// Satisfaction: sums per dimension; communication and overall with their own counts (a
/// survey from before communication could be recorded leaves it unknown).
fn satisfaction_of(sources: &Sources, ticket_id: &str) -> Result<SatisfactionSums, ApiError> {
    let mut sat = SatisfactionSums::default();
    for row in sources.records(ticket_id, SATISFACTION) {
        let survey: pb::Satisfaction = decode(row)?;
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
    if parties.is_empty() {
        parties.insert(UNDETERMINED.to_owned(), 1.0);
    }
    parties
}

/// Writes the facts of cases, in one statement.
async fn write_facts(
    conn: &impl ConnectionTrait,
    built: &[case_facts::Model],
) -> Result<(), ApiError> {
    if built.is_empty() {
        return Ok(());
    }
    case_facts::Entity::insert_many(
        built
            .iter()
            .map(|f| f.clone().into_active_model().reset_all()),
    )
    .on_conflict(
        OnConflict::column(case_facts::Column::TicketId)
            .update_columns(fact_columns())
            .to_owned(),
    )
    .exec(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Replaces the responsible parties of the cases `ids` with `rows` (case, party, share).
async fn write_parties(
    conn: &impl ConnectionTrait,
    ids: &[String],
    rows: Vec<(String, String, f64)>,
) -> Result<(), ApiError> {
    case_fact_parties::Entity::delete_many()
        .filter(case_fact_parties::Column::TicketId.is_in(ids.iter().cloned()))
        .exec(conn)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(());
    }
    case_fact_parties::Entity::insert_many(rows.into_iter().map(|(ticket_id, party, share)| {
        case_fact_parties::ActiveModel {
            ticket_id: Set(ticket_id),
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

/// Replaces whom the cases `ids` count for with `rows` (case, kind, subject).
async fn write_staff(
    conn: &impl ConnectionTrait,
    ids: &[String],
    rows: Vec<(String, &'static str, String)>,
) -> Result<(), ApiError> {
    case_fact_staff::Entity::delete_many()
        .filter(case_fact_staff::Column::TicketId.is_in(ids.iter().cloned()))
        .exec(conn)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(());
    }
    case_fact_staff::Entity::insert_many(rows.into_iter().map(|(ticket_id, kind, subject)| {
        case_fact_staff::ActiveModel {
            kind: Set(kind.to_owned()),
            subject: Set(subject),
            ticket_id: Set(ticket_id),
        }
    }))
    .on_conflict_do_nothing()
    .exec(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Whom a case counts for: its technicians (its survey plans' members and its work-log
/// crews), their teams, the agent who took it.
fn staff_of(sources: &Sources, ticket_id: &str) -> Vec<(&'static str, String)> {
    let mut technicians: Vec<String> = sources.members.get(ticket_id).cloned().unwrap_or_default();
    for t in sources.crews.get(ticket_id).into_iter().flatten() {
        if !technicians.contains(t) {
            technicians.push(t.clone());
        }
    }
    let mut rows: Vec<(&'static str, String)> = Vec::new();
    for t in &technicians {
        if let Some(team) = sources.teams.get(t)
            && !rows.iter().any(|(k, s)| *k == staff::TEAM && s == team)
        {
            rows.push((staff::TEAM, team.clone()));
        }
    }
    rows.extend(technicians.into_iter().map(|t| (staff::TECHNICIAN, t)));
    if let Some(agent) = agent_in(sources.first_audit.get(ticket_id)) {
        rows.push((staff::AGENT, agent));
    }
    rows
}

/// How many recurrences the return visits of a case found.
fn visit_recurrences(sources: &Sources, ticket_id: &str) -> Result<i32, ApiError> {
    let mut found = 0;
    for row in sources.visits.get(ticket_id).into_iter().flatten() {
        let visit = pb::Visit::decode(row.body.as_slice()).map_err(|err| {
            ApiError::Internal(format!("visit {} does not decode: {err}", row.id))
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
    Ok(agent_in(first.as_ref()))
}

/// The agent of a ticket's first audit record, unless the customer filed it.
fn agent_in(first: Option<&audit_log::Model>) -> Option<String> {
    first
        .filter(|r| {
            r.roles
                .split(',')
                .any(|role| matches!(role.trim(), "agent" | "manager" | "admin"))
        })
        .map(|r| r.subject.clone())
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

/// Marks cases' facts stale (again), in one statement: the facts worker rebuilds them.
pub async fn mark_all_dirty(
    conn: &impl ConnectionTrait,
    ticket_ids: &[String],
) -> Result<(), ApiError> {
    if ticket_ids.is_empty() {
        return Ok(());
    }
    let now = steelcare_store::now().timestamp_millis();
    facts_dirty::Entity::insert_many(ticket_ids.iter().map(|id| facts_dirty::ActiveModel {
        ticket_id: Set(id.clone()),
        marked_at_ms: Set(now),
    }))
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

/// The next `limit` ticket ids after `after`, in id order (creation order: UUIDv7): how the
/// rebuilds of everything (the facts, a copy of the search index) walk every case.
pub async fn ticket_ids_after(
    conn: &impl ConnectionTrait,
    after: &str,
    limit: u64,
) -> Result<Vec<String>, ApiError> {
    use sea_orm::QuerySelect;
    use steelcare_store::entity::tickets;
    tickets::Entity::find()
        .select_only()
        .column(tickets::Column::Id)
        .filter(tickets::Column::Id.gt(after))
        .order_by_asc(tickets::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_err)
}

/// The cases marked by `before_ms`, oldest first, at most `limit`, with their marks.
pub async fn marked(
    conn: &impl ConnectionTrait,
    before_ms: i64,
    limit: u64,
) -> Result<Vec<Mark>, ApiError> {
    use sea_orm::QuerySelect;
    let rows: Vec<(String, i64, Option<String>)> = facts_dirty::Entity::find()
        .select_only()
        .column(facts_dirty::Column::TicketId)
        .column(facts_dirty::Column::MarkedAtMs)
        .expr(mark_place(conn.get_database_backend()))
        .filter(facts_dirty::Column::MarkedAtMs.lte(before_ms))
        .order_by_asc(facts_dirty::Column::MarkedAtMs)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(Mark::from).collect())
}

/// Removes the marks of cases if they are still the ones rebuilt (a newer mark stays), as the
/// last statement of `tx` (which then finds rows only by where they lie).
pub async fn clear_marks(
    tx: &sea_orm::DatabaseTransaction,
    marks: &[Mark],
) -> Result<(), ApiError> {
    if marks.is_empty() {
        return Ok(());
    }
    steelcare_store::db::find_by_place(tx)
        .await
        .map_err(db_err)?;
    let rebuilt = steelcare_store::db::marks_among(
        tx.get_database_backend(),
        "ticket_id",
        "marked_at_ms",
        marks,
    );
    facts_dirty::Entity::delete_many()
        .filter(rebuilt)
        .exec(tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Which of these cases have facts yet.
pub async fn existing(
    conn: &impl ConnectionTrait,
    ticket_ids: &[String],
) -> Result<HashSet<String>, ApiError> {
    use sea_orm::QuerySelect;
    let rows: Vec<String> = case_facts::Entity::find()
        .select_only()
        .column(case_facts::Column::TicketId)
        .filter(case_facts::Column::TicketId.is_in(ticket_ids.iter().cloned()))
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().collect())
}

/// Holds the rows of those of these cases that no concurrent change holds, for the rest of the
/// transaction, and answers them (PostgreSQL; SQLite's writers are one at a time already, and
/// a case without a row has nothing to hold): a rebuild never reads a state that a concurrent
/// change (closing the case, with its own rebuild) then overwrites with older facts. A case
/// being changed is left for the next pass: its change marks it again.
pub async fn hold_cases(
    conn: &impl ConnectionTrait,
    ticket_ids: &[String],
) -> Result<Vec<String>, ApiError> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{LockBehavior, LockType};
    if conn.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(ticket_ids.to_vec());
    }
    let held: HashSet<String> = cases::Entity::find()
        .select_only()
        .column(cases::Column::Id)
        .filter(cases::Column::Id.is_in(ticket_ids.iter().cloned()))
        .order_by_asc(cases::Column::Id)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple::<String>()
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .collect();
    let others: Vec<String> = (ticket_ids.iter())
        .filter(|id| !held.contains(*id))
        .cloned()
        .collect();
    let busy: HashSet<String> = if others.is_empty() {
        HashSet::new()
    } else {
        cases::Entity::find()
            .select_only()
            .column(cases::Column::Id)
            .filter(cases::Column::Id.is_in(others))
            .into_tuple::<String>()
            .all(conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .collect()
    };
    Ok((ticket_ids.iter())
        .filter(|id| !busy.contains(*id))
        .cloned()
        .collect())
}
