//! What the facts of a set of cases are made of, read in one query per table: rebuilding the
//! facts worker's whole pass (or every case, after a restore) costs the same dozen statements
//! as rebuilding one case.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use steelcare_runtime::ApiError;
use steelcare_store::case_records::kind as repair_kind;
use steelcare_store::entity::{
    archives, audit_log, case_fact_parties, case_facts, case_records, cases, projects,
    recurrence_flags, return_visits, sla_clocks, survey_plan_members, survey_plans, technicians,
    tickets,
};

use super::{SATISFACTION, UNDETERMINED};
use crate::engine::db_err;
use crate::experience::recurrence::state::CONFIRMED;

/// The record kinds the facts read.
const KINDS: [&str; 5] = [
    repair_kind::REPORT,
    repair_kind::DISPUTE,
    repair_kind::ACCEPTANCE,
    repair_kind::WORK,
    SATISFACTION,
];

/// The rows of every service that the facts of some cases are built from.
pub(super) struct Sources {
    /// The cases' tickets that exist, in id order (creation order: an original before its
    /// recurrences).
    pub tickets: Vec<tickets::Model>,
    /// Each project's structure type, as stored.
    pub structure: HashMap<String, String>,
    pub cases: HashMap<String, cases::Model>,
    /// Each case's records of the kinds in [`KINDS`], per kind, by version then id.
    records: HashMap<(String, String), Vec<case_records::Model>>,
    pub archives: HashMap<String, archives::Model>,
    pub clocks: HashMap<String, Vec<sla_clocks::Model>>,
    pub visits: HashMap<String, Vec<return_visits::Model>>,
    /// The cases another ticket recurs from.
    pub recurred: HashSet<String>,
    /// Each case's survey plans' members, in order of first appearance.
    pub members: HashMap<String, Vec<String>>,
    /// Each case's work-log crew, in order of first appearance.
    pub crews: HashMap<String, Vec<String>>,
    /// The team of each technician on a case, as a survey plan's member or on its work log.
    pub teams: HashMap<String, String>,
    /// Each case's first audit record (its creation).
    pub first_audit: HashMap<String, audit_log::Model>,
    /// The diagnosis stored for the original cases of recurrences (their root cause when
    /// determined, with their parties).
    pub originals: HashMap<String, (String, BTreeMap<String, f64>)>,
}

impl Sources {
    /// Reads the sources of the cases `ids` (those without a ticket are left out).
    pub async fn load(conn: &impl ConnectionTrait, ids: &[String]) -> Result<Self, ApiError> {
        let tickets = tickets::Entity::find()
            .filter(tickets::Column::Id.is_in(ids.iter().cloned()))
            .order_by_asc(tickets::Column::Id)
            .all(conn)
            .await
            .map_err(db_err)?;
        let ids: Vec<String> = tickets.iter().map(|t| t.id.clone()).collect();
        let tickets = with_confirmed_links(conn, tickets).await?;
        let mut sources = Sources {
            structure: structures(conn, &tickets).await?,
            cases: by_id(
                cases::Entity::find()
                    .filter(cases::Column::Id.is_in(ids.clone()))
                    .all(conn)
                    .await
                    .map_err(db_err)?,
                |c| c.id.clone(),
            ),
            records: records(conn, &ids).await?,
            archives: by_id(
                archives::Entity::find()
                    .filter(archives::Column::TicketId.is_in(ids.clone()))
                    .all(conn)
                    .await
                    .map_err(db_err)?,
                |a| a.ticket_id.clone(),
            ),
            clocks: grouped(
                sla_clocks::Entity::find()
                    .filter(sla_clocks::Column::TicketId.is_in(ids.clone()))
                    .all(conn)
                    .await
                    .map_err(db_err)?,
                |c| c.ticket_id.clone(),
            ),
            visits: grouped(
                return_visits::Entity::find()
                    .filter(return_visits::Column::TicketId.is_in(ids.clone()))
                    .order_by_asc(return_visits::Column::Id)
                    .all(conn)
                    .await
                    .map_err(db_err)?,
                |v| v.ticket_id.clone(),
            ),
            recurred: recurred(conn, &ids).await?,
            members: members(conn, &ids).await?,
            crews: HashMap::new(),
            teams: HashMap::new(),
            first_audit: first_audits(conn, &ids).await?,
            originals: originals(conn, &tickets).await?,
            tickets,
        };
        for t in &sources.tickets {
            let crew =
                steelcare_runtime::record::crew_in(sources.records(&t.id, repair_kind::WORK))?;
            sources.crews.insert(t.id.clone(), crew);
        }
        sources.teams = sources.teams_of_staff(conn).await?;
        Ok(sources)
    }

    /// A case's records of `kind`, by version then id.
    pub fn records(&self, ticket_id: &str, kind: &str) -> &[case_records::Model] {
        self.records
            .get(&(ticket_id.to_owned(), kind.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// The teams of every technician on the cases (plan members and work-log crews).
    async fn teams_of_staff(
        &self,
        conn: &impl ConnectionTrait,
    ) -> Result<HashMap<String, String>, ApiError> {
        let staff: HashSet<&String> = (self.members.values().flatten())
            .chain(self.crews.values().flatten())
            .collect();
        if staff.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(technicians::Entity::find()
            .filter(technicians::Column::Id.is_in(staff.into_iter().cloned()))
            .all(conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|t| (t.id, t.team))
            .collect())
    }
}

/// Rows by their key (one each).
pub(crate) fn by_id<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> HashMap<String, T> {
    rows.into_iter().map(|r| (key(&r), r)).collect()
}

/// Rows by their key, in their order.
pub(crate) fn grouped<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}

async fn structures(
    conn: &impl ConnectionTrait,
    tickets: &[tickets::Model],
) -> Result<HashMap<String, String>, ApiError> {
    let ids: HashSet<&str> = tickets.iter().map(|t| t.project_id.as_str()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = projects::Entity::find()
        .select_only()
        .column(projects::Column::Id)
        .column(projects::Column::StructureType)
        .filter(projects::Column::Id.is_in(ids))
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().collect())
}

async fn records(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashMap<(String, String), Vec<case_records::Model>>, ApiError> {
    let rows = case_records::Entity::find()
        .filter(case_records::Column::TicketId.is_in(ids.iter().cloned()))
        .filter(case_records::Column::Kind.is_in(KINDS))
        .order_by_asc(case_records::Column::Version)
        .order_by_asc(case_records::Column::Id)
        .all(conn)
        .await
        .map_err(db_err)?;
    let mut out: HashMap<(String, String), Vec<case_records::Model>> = HashMap::new();
    for row in rows {
        out.entry((row.ticket_id.clone(), row.kind.clone()))
            .or_default()
            .push(row);
    }
    Ok(out)
}

/// The cases another ticket recurs from: linked by intake, or confirmed by an agent.
async fn recurred(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashSet<String>, ApiError> {
    let rows: Vec<Option<String>> = tickets::Entity::find()
        .select_only()
        .column(tickets::Column::RelatedCaseId)
        .filter(tickets::Column::RelatedCaseId.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_err)?;
    let confirmed: Vec<String> = recurrence_flags::Entity::find()
        .select_only()
        .column(recurrence_flags::Column::OriginalId)
        .filter(recurrence_flags::Column::OriginalId.is_in(ids.iter().cloned()))
        .filter(recurrence_flags::Column::State.eq(CONFIRMED))
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().flatten().chain(confirmed).collect())
}

/// The tickets, each not linked by intake but confirmed by an agent as a recurrence linked
/// to its earlier case as if intake had.
async fn with_confirmed_links(
    conn: &impl ConnectionTrait,
    mut tickets: Vec<tickets::Model>,
) -> Result<Vec<tickets::Model>, ApiError> {
    let unlinked: Vec<String> = (tickets.iter())
        .filter(|t| t.related_case_id.is_none())
        .map(|t| t.id.clone())
        .collect();
    if unlinked.is_empty() {
        return Ok(tickets);
    }
    let confirmed: HashMap<String, String> = recurrence_flags::Entity::find()
        .select_only()
        .column(recurrence_flags::Column::TicketId)
        .column(recurrence_flags::Column::OriginalId)
        .filter(recurrence_flags::Column::TicketId.is_in(unlinked))
        .filter(recurrence_flags::Column::State.eq(CONFIRMED))
        .into_tuple::<(String, String)>()
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .collect();
    for t in &mut tickets {
        if let Some(original) = confirmed.get(&t.id) {
            t.related_case_id = Some(original.clone());
        }
    }
    Ok(tickets)
}

/// Each case's survey plans' members, in order of first appearance.
async fn members(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashMap<String, Vec<String>>, ApiError> {
    let plans: HashMap<String, String> = survey_plans::Entity::find()
        .filter(survey_plans::Column::TicketId.is_in(ids.iter().cloned()))
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|p| (p.id, p.ticket_id))
        .collect();
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if plans.is_empty() {
        return Ok(out);
    }
    for m in survey_plan_members::Entity::find()
        .filter(survey_plan_members::Column::SurveyPlanId.is_in(plans.keys().cloned()))
        .all(conn)
        .await
        .map_err(db_err)?
    {
        let Some(ticket) = plans.get(&m.survey_plan_id) else {
            continue;
        };
        let members = out.entry(ticket.clone()).or_default();
        if !members.contains(&m.technician_id) {
            members.push(m.technician_id);
        }
    }
    Ok(out)
}

/// Each case's first audit record: the caller who created its ticket.
async fn first_audits(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashMap<String, audit_log::Model>, ApiError> {
    let mut out = HashMap::new();
    for row in audit_log::Entity::find()
        .filter(audit_log::Column::EntityType.eq("ticket"))
        .filter(audit_log::Column::EntityId.is_in(ids.iter().cloned()))
        .order_by_asc(audit_log::Column::CreatedAt)
        .order_by_asc(audit_log::Column::Id)
        .all(conn)
        .await
        .map_err(db_err)?
    {
        out.entry(row.entity_id.clone()).or_insert(row);
    }
    Ok(out)
}

/// The stored diagnosis of the original cases the recurrences among `tickets` come back to.
async fn originals(
    conn: &impl ConnectionTrait,
    tickets: &[tickets::Model],
) -> Result<HashMap<String, (String, BTreeMap<String, f64>)>, ApiError> {
    let ids: HashSet<&str> = tickets
        .iter()
        .filter_map(|t| t.related_case_id.as_deref())
        .collect();
    let mut out: HashMap<String, (String, BTreeMap<String, f64>)> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for facts in case_facts::Entity::find()
        .filter(case_facts::Column::TicketId.is_in(ids))
        .filter(case_facts::Column::RootCause.ne(UNDETERMINED))
        .all(conn)
        .await
        .map_err(db_err)?
    {
        out.insert(facts.ticket_id, (facts.root_cause, BTreeMap::new()));
    }
    if out.is_empty() {
        return Ok(out);
    }
    for p in case_fact_parties::Entity::find()
        .filter(case_fact_parties::Column::TicketId.is_in(out.keys().cloned()))
        .all(conn)
        .await
        .map_err(db_err)?
    {
        if let Some((_, parties)) = out.get_mut(&p.ticket_id) {
            parties.insert(p.party, p.share);
        }
    }
    for (_, parties) in out.values_mut() {
        if parties.is_empty() {
            parties.insert(UNDETERMINED.to_owned(), 1.0);
        }
    }
    Ok(out)
}
