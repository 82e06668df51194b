//! The figures (MISSION §8.3, §8.4): breakdowns, SLA compliance, outcomes and KPIs, each one
//! aggregate query over the per-case facts (`facts.rs`), filtered on the instant the request
//! names (created, accepted or closed) and, for a customer, on its organisation whatever it
//! asks. The same functions answer the RPCs, the CSV export and the benchmark.

use std::collections::BTreeMap;
use steelcare_i18n::msg;

use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use steelcare_domain::location::Locations;
use steelcare_domain::{ProblemCategory, Role};
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::intake::v1 as intake;
use steelcare_runtime::handler::require;
use steelcare_runtime::validate::Violations;
use steelcare_runtime::{ApiError, Caller};

use crate::engine::db_err;
use crate::facts::{UNDETERMINED, clock, short_key, staff};
use crate::visits::instant;

/// Who reads the figures (customers: their own organisation's).
pub const READERS: &[Role] = &[
    Role::Engineer,
    Role::ChiefEngineer,
    Role::Manager,
    Role::Admin,
    Role::Auditor,
    Role::Customer,
];
/// Who reads the KPIs.
pub const KPI_READERS: &[Role] = &[Role::Manager, Role::Admin, Role::Auditor];

/// The cases a figure covers: a period on one instant, and filters.
#[derive(Debug, Clone)]
pub struct Scope {
    basis: pb::PeriodBasis,
    start_ms: i64,
    end_ms: i64,
    category: Option<String>,
    location: Option<String>,
    project_id: Option<String>,
    customer_id: Option<String>,
    structure_type: Option<String>,
}

impl Scope {
    /// Checks a period and a filter for `caller` (a customer is held to its organisation).
    pub fn parse(
        caller: &Caller,
        period: Option<&pb::Period>,
        filter: Option<&pb::CaseFilter>,
    ) -> Result<Scope, ApiError> {
        let mut v = Violations::default();
        let (mut start, mut end, mut basis) = (None, None, None);
        match period {
            None => v.add("period", msg!("field-required")),
            Some(p) => {
                basis = v.enum_value("period.basis", p.basis, |b| {
                    pb::PeriodBasis::try_from(b).ok()
                });
                match &p.range {
                    None => v.add("period.range", msg!("field-required")),
                    Some(r) => {
                        start = instant(
                            &mut v,
                            "period.range.start_time",
                            r.start_time.as_ref(),
                            true,
                        );
                        end = instant(&mut v, "period.range.end_time", r.end_time.as_ref(), true);
                        if let (Some(s), Some(e)) = (start, end)
                            && s >= e
                        {
                            v.add("period.range.end_time", msg!("field-after-start"));
                        }
                    }
                }
            }
        }
        let f = filter.cloned().unwrap_or_default();
        let category = match f.category {
            0 => None,
            c => match ProblemCategory::from_proto_value(c) {
                Some(c) => Some(c.as_str().to_owned()),
                None => {
                    v.add("filter.category", msg!("field-unknown-value", value = c));
                    None
                }
            },
        };
        let structure_type = match f.structure_type {
            0 => None,
            s => match intake::StructureType::try_from(s) {
                Ok(s) => Some(short_key(s.as_str_name(), "STRUCTURE_TYPE_")),
                Err(_) => {
                    v.add(
                        "filter.structure_type",
                        msg!("field-unknown-value", value = s),
                    );
                    None
                }
            },
        };
        let location = (!f.location.is_empty()).then(|| f.location.clone());
        if let Some(l) = &location
            && l != steelcare_domain::location::OTHER
            && Locations::shipped().kind(l).is_none()
        {
            v.add(
                "filter.location",
                msg!("field-unknown-location", location = l.as_str()),
            );
        }
        let customer_id = if caller.is_customer_only() {
            Some(caller.organization_id.clone().unwrap_or_default())
        } else {
            (!f.customer_id.is_empty()).then(|| f.customer_id.clone())
        };
        let (start, end, basis) = v.finish((start, end, basis))?;
        Ok(Scope {
            basis: basis.unwrap_or(pb::PeriodBasis::Created),
            start_ms: start.map_or(0, |s| s.timestamp_millis()),
            end_ms: end.map_or(0, |e| e.timestamp_millis()),
            category,
            location,
            project_id: (!f.project_id.is_empty()).then(|| f.project_id.clone()),
            customer_id,
            structure_type,
        })
    }

    /// The instant column of the basis.
    fn instant_column(&self) -> &'static str {
        match self.basis {
            pb::PeriodBasis::Accepted => "accepted_at_ms",
            pb::PeriodBasis::Closed => "closed_at_ms",
            _ => "created_at_ms",
        }
    }

    /// The month column of the basis.
    fn month_column(&self) -> &'static str {
        match self.basis {
            pb::PeriodBasis::Accepted => "accepted_month",
            pb::PeriodBasis::Closed => "closed_month",
            _ => "created_month",
        }
    }

    /// `WHERE` conditions on `case_facts` aliased `f`, and their values.
    fn conditions(&self) -> (String, Vec<Value>) {
        let col = self.instant_column();
        let mut sql = format!("f.{col} >= ? AND f.{col} < ?");
        let mut values: Vec<Value> = vec![self.start_ms.into(), self.end_ms.into()];
        for (column, value) in [
            ("category", &self.category),
            ("location", &self.location),
            ("project_id", &self.project_id),
            ("customer_id", &self.customer_id),
            ("structure_type", &self.structure_type),
        ] {
            if let Some(value) = value {
                sql.push_str(&format!(" AND f.{column} = ?"));
                values.push(value.clone().into());
            }
        }
        (sql, values)
    }
}

/// A statement with `?` placeholders for `backend` (PostgreSQL numbers them).
pub fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

async fn query(
    conn: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>, ApiError> {
    conn.query_all_raw(statement(conn.get_database_backend(), sql, values))
        .await
        .map_err(db_err)
}

fn int(row: &QueryResult, i: usize) -> i64 {
    row.try_get_by_index::<Option<i64>>(i)
        .ok()
        .flatten()
        .unwrap_or(0)
}

fn float(row: &QueryResult, i: usize) -> f64 {
    row.try_get_by_index::<Option<f64>>(i)
        .ok()
        .flatten()
        .unwrap_or(0.0)
}

fn text(row: &QueryResult, i: usize) -> String {
    row.try_get_by_index::<Option<String>>(i)
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub(crate) fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The Chinese and English names of a breakdown's key: the catalogue's label of the enum
/// value the key stores (`leakage` → ProblemCategory LEAKAGE), the location's own names, or
/// the key itself (a month, a project's name).
fn label(dimension: pb::Dimension, key: &str) -> (String, String) {
    if dimension == pb::Dimension::Location
        && let Some(kind) = Locations::shipped().kind(key)
    {
        return (kind.zh.clone(), kind.en.clone());
    }
    let enum_name = match dimension {
        pb::Dimension::Category => "ProblemCategory",
        pb::Dimension::RootCause => "RootCause",
        pb::Dimension::ResponsibleParty => "ResponsibleParty",
        pb::Dimension::StructureType => "StructureType",
        _ => return (key.to_owned(), key.to_owned()),
    };
    let label = if key == UNDETERMINED {
        steelcare_i18n::msg!("analytics-undetermined")
    } else {
        steelcare_i18n::enum_label(enum_name, &key.to_ascii_uppercase())
    };
    if !steelcare_i18n::catalogue().has(&label.key) {
        return (key.to_owned(), key.to_owned());
    }
    let zh = steelcare_i18n::Locale::chinese();
    (label.render(zh), label.english())
}

/// Of a group's cases, the recurrences of earlier cases.
const RECURRENCES: &str = "SUM(CASE WHEN f.related_case_id IS NULL THEN 0 ELSE 1 END)";
/// Of a group's cases, those whose cause is inherited from the case they recur from.
const INHERITED: &str = "SUM(f.root_cause_inherited)";

/// The Pareto's groups: category × location × root cause, with recurrences and inherited
/// causes.
pub async fn pareto_counts(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<crate::quality::ParetoCounts, ApiError> {
    let (conditions, values) = scope.conditions();
    let sql = format!(
        "SELECT f.category, f.location, f.root_cause, COUNT(*), {RECURRENCES}, {INHERITED} \
         FROM case_facts f WHERE {conditions} GROUP BY f.category, f.location, f.root_cause"
    );
    Ok(query(conn, &sql, values)
        .await?
        .iter()
        .map(|r| {
            (
                (text(r, 0), text(r, 1), text(r, 2)),
                (int(r, 3), int(r, 4), int(r, 5)),
            )
        })
        .collect())
}

/// "渗漏 · 天沟 · 施工质量" and "Leakage · Gutter · Workmanship".
pub fn pattern_label(category: &str, location: &str, cause: &str) -> (String, String) {
    let parts = [
        label(pb::Dimension::Category, category),
        label(pb::Dimension::Location, location),
        label(pb::Dimension::RootCause, cause),
    ];
    (
        parts
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join(" · "),
        parts
            .iter()
            .map(|p| p.1.as_str())
            .collect::<Vec<_>>()
            .join(" · "),
    )
}

/// The column a breakdown groups by.
fn group_column(scope: &Scope, dimension: pb::Dimension) -> Option<&'static str> {
    Some(match dimension {
        pb::Dimension::Category => "f.category",
        pb::Dimension::Location => "f.location",
        pb::Dimension::RootCause => "f.root_cause",
        pb::Dimension::ResponsibleParty => "p.party",
        pb::Dimension::Project => "f.project_id",
        pb::Dimension::StructureType => "f.structure_type",
        pb::Dimension::Month => match scope.month_column() {
            "accepted_month" => "f.accepted_month",
            "closed_month" => "f.closed_month",
            _ => "f.created_month",
        },
        pb::Dimension::Unspecified => return None,
    })
}

/// ProblemBreakdown.
pub async fn breakdown(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    dimension: i32,
    top: i32,
) -> Result<pb::ProblemBreakdownResponse, ApiError> {
    let dimension = pb::Dimension::try_from(dimension)
        .ok()
        .filter(|d| *d != pb::Dimension::Unspecified)
        .ok_or_else(|| ApiError::invalid("dimension", msg!("field-dimension-required")))?;
    if top < 0 {
        return Err(ApiError::invalid("top", msg!("field-zero-or-more")));
    }
    let column = group_column(scope, dimension)
        .ok_or_else(|| ApiError::invalid("dimension", msg!("field-required")))?;
    let (conditions, values) = scope.conditions();
    // Each row: the key, its cases, of them recurrences and inherited causes (weighted by the
    // share for responsible parties), and a project's name.
    let sql = match dimension {
        pb::Dimension::ResponsibleParty => format!(
            "SELECT {column}, SUM(p.share), \
             SUM(CASE WHEN f.related_case_id IS NULL THEN 0 ELSE p.share END), \
             SUM(f.root_cause_inherited * p.share) FROM case_facts f \
             JOIN case_fact_parties p ON p.ticket_id = f.ticket_id \
             WHERE {conditions} GROUP BY {column}"
        ),
        // Projects are named after grouping: the join sees one row per project.
        pb::Dimension::Project => format!(
            "SELECT g.project_id, g.n, g.r, g.i, p.name FROM (SELECT f.project_id, \
             COUNT(*) AS n, {RECURRENCES} AS r, {INHERITED} AS i \
             FROM case_facts f WHERE {conditions} GROUP BY f.project_id) g \
             LEFT JOIN projects p ON p.id = g.project_id"
        ),
        _ => format!(
            "SELECT {column}, COUNT(*), {RECURRENCES}, {INHERITED} FROM case_facts f \
             WHERE {conditions} GROUP BY {column}"
        ),
    };
    let found = query(conn, &sql, values).await?;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let number = |r: &QueryResult, i: usize| match dimension {
        pb::Dimension::ResponsibleParty => float(r, i),
        _ => int(r, i) as f64,
    };
    let mut counts: Vec<(String, f64, f64, f64)> = found
        .iter()
        .map(|r| {
            let key = text(r, 0);
            if dimension == pb::Dimension::Project {
                let name = text(r, 4);
                if !name.is_empty() {
                    names.insert(key.clone(), name);
                }
            }
            (key, number(r, 1), number(r, 2), number(r, 3))
        })
        .collect();
    let total: f64 = counts.iter().map(|(_, n, _, _)| n).sum();
    counts.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if top > 0 {
        counts.truncate(top as usize);
    }
    Ok(pb::ProblemBreakdownResponse {
        rows: counts
            .into_iter()
            .map(|(key, n, recurrences, inherited)| {
                let (label_zh, label_en) = match names.get(&key) {
                    Some(name) => (name.clone(), name.clone()),
                    None => label(dimension, &key),
                };
                pb::BreakdownRow {
                    share: if total > 0.0 { n / total } else { 0.0 },
                    key,
                    label_zh,
                    label_en,
                    cases: n,
                    recurrences,
                    inherited,
                }
            })
            .collect(),
        total_cases: total.round() as i64,
    })
}

/// The clocks in the order the compliance rows list them, with their columns.
const CLOCKS: [(events::SlaClockKind, &str); 5] = [
    (events::SlaClockKind::Response, "clock_response"),
    (events::SlaClockKind::Arrival, "clock_arrival"),
    (events::SlaClockKind::Solution, "clock_solution"),
    (events::SlaClockKind::Completion, "clock_completion"),
    (events::SlaClockKind::Appraisal, "clock_appraisal"),
];

/// SlaCompliance.
pub async fn sla_compliance(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<pb::SlaComplianceResponse, ApiError> {
    let mut sums = Vec::new();
    for (_, column) in CLOCKS {
        for code in [clock::RUNNING, clock::MET, clock::BREACHED] {
            sums.push(format!(
                "SUM(CASE WHEN f.{column} = {code} THEN 1 ELSE 0 END)"
            ));
        }
    }
    let (conditions, values) = scope.conditions();
    let sql = format!(
        "SELECT f.tier, {} FROM case_facts f WHERE {conditions} GROUP BY f.tier ORDER BY f.tier",
        sums.join(", ")
    );
    let found = query(conn, &sql, values).await?;
    let mut rows = Vec::new();
    for (i, (kind, _)) in CLOCKS.iter().enumerate() {
        for r in &found {
            let tier = text(r, 0).parse::<steelcare_domain::SeverityTier>().ok();
            let (running, met, breached) =
                (int(r, 1 + i * 3), int(r, 2 + i * 3), int(r, 3 + i * 3));
            if running + met + breached == 0 {
                continue;
            }
            rows.push(pb::SlaComplianceRow {
                clock: *kind as i32,
                tier: tier.map_or(0, |t| t.proto_value()),
                clocks: running + met + breached,
                met,
                breached,
                running,
                compliance: ratio(met, met + breached),
            });
        }
    }
    Ok(pb::SlaComplianceResponse { rows })
}

/// Sums behind the outcomes, in this order: cases, recurred, reworked, repaired, hours to
/// resolve and how many cases have them, surveys, the four score sums every survey has, the
/// overall and communication sums with the surveys that gave them, clocks met and breached.
/// Sums (not means) so that months add up to the whole period.
const OUTCOME_COLUMNS: &str = "COUNT(*), SUM(f.recurred), \
    SUM(CASE WHEN f.acceptance_rounds > 1 THEN 1 ELSE 0 END), \
    SUM(CASE WHEN f.acceptance_rounds > 0 THEN 1 ELSE 0 END), SUM(f.resolve_hours), \
    COUNT(f.resolve_hours), SUM(f.sat_surveys), SUM(f.sat_response_speed), \
    SUM(f.sat_competence), SUM(f.sat_attitude), SUM(f.sat_fix_effect), \
    SUM(f.sat_overall), SUM(f.sat_overall_n), SUM(f.sat_communication), \
    SUM(f.sat_communication_n), SUM(f.clocks_met), SUM(f.clocks_breached)";

/// The sums of [`OUTCOME_COLUMNS`] of one row (or of several, added).
#[derive(Debug, Clone, Default)]
struct OutcomeSums {
    counts: [i64; 16],
    hours: f64,
}

impl OutcomeSums {
    fn of(r: &QueryResult, first: usize) -> OutcomeSums {
        let mut sums = OutcomeSums::default();
        for (i, slot) in sums.counts.iter_mut().enumerate() {
            // Column 4 is the sum of hours (a float); the counts follow.
            let column = if i < 4 { first + i } else { first + i + 1 };
            *slot = int(r, column);
        }
        sums.hours = float(r, first + 4);
        sums
    }

    fn add(&mut self, other: &OutcomeSums) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.hours += other.hours;
    }

    fn outcomes(&self, month: String) -> pb::Outcomes {
        let [
            cases,
            recurred,
            reworked,
            repaired,
            resolved,
            surveys,
            speed,
            competence,
            attitude,
            fix_effect,
            overall,
            overall_n,
            communication,
            communication_n,
            met,
            breached,
        ] = self.counts;
        let mean = |sum: i64| ratio(sum, surveys);
        pb::Outcomes {
            month,
            cases,
            recurrence_rate: ratio(recurred, cases),
            rework_rate: ratio(reworked, repaired),
            mean_hours_to_resolve: if resolved == 0 {
                0.0
            } else {
                self.hours / resolved as f64
            },
            satisfaction: Some(pb::SatisfactionAverages {
                surveys,
                response_speed: mean(speed),
                professional_competence: mean(competence),
                service_attitude: mean(attitude),
                fix_effect: mean(fix_effect),
                overall: ratio(overall, overall_n),
                communication: ratio(communication, communication_n),
                communication_surveys: communication_n,
                overall_surveys: overall_n,
                mean: ratio(
                    speed + competence + attitude + fix_effect + communication,
                    4 * surveys + communication_n,
                ),
            }),
            on_time_share: ratio(met, met + breached),
        }
    }
}

/// CaseOutcomes: one query, grouped by month when asked (the whole is their sum).
pub async fn outcomes(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    monthly: bool,
) -> Result<pb::CaseOutcomesResponse, ApiError> {
    let (conditions, values) = scope.conditions();
    let mut whole = OutcomeSums::default();
    let mut months = Vec::new();
    if monthly {
        let month = scope.month_column();
        let sql = format!(
            "SELECT f.{month}, {OUTCOME_COLUMNS} FROM case_facts f WHERE {conditions} \
             GROUP BY f.{month} ORDER BY f.{month}"
        );
        for r in query(conn, &sql, values).await? {
            let sums = OutcomeSums::of(&r, 1);
            whole.add(&sums);
            months.push(sums.outcomes(text(&r, 0)));
        }
    } else {
        let sql = format!("SELECT {OUTCOME_COLUMNS} FROM case_facts f WHERE {conditions}");
        if let Some(r) = query(conn, &sql, values).await?.first() {
            whole = OutcomeSums::of(r, 0);
        }
    }
    Ok(pb::CaseOutcomesResponse {
        total: Some(whole.outcomes(String::new())),
        months,
    })
}

/// Who a case counts for, in words.
pub fn attribution(subject: pb::KpiSubject) -> steelcare_i18n::Msg {
    match subject {
        pb::KpiSubject::Technician => msg!("kpi-attribution-technician"),
        pb::KpiSubject::Team => msg!("kpi-attribution-team"),
        _ => msg!("kpi-attribution-agent"),
    }
}

/// StaffKpis.
pub async fn staff_kpis(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    subject: i32,
    locale: steelcare_i18n::Locale,
) -> Result<pb::StaffKpisResponse, ApiError> {
    let subject = pb::KpiSubject::try_from(subject)
        .ok()
        .filter(|s| *s != pb::KpiSubject::Unspecified)
        .ok_or_else(|| ApiError::invalid("subject", msg!("field-kpi-subject-required")))?;
    let kind = match subject {
        pb::KpiSubject::Technician => staff::TECHNICIAN,
        pb::KpiSubject::Team => staff::TEAM,
        _ => staff::AGENT,
    };
    let (conditions, mut values) = scope.conditions();
    values.insert(0, kind.into());
    let sql = format!(
        "SELECT s.subject, COUNT(*), SUM(f.clocks_met), SUM(f.clocks_met + f.clocks_breached), \
         SUM(f.sat_response_speed + f.sat_competence + f.sat_attitude + f.sat_fix_effect \
           + f.sat_communication), SUM(4 * f.sat_surveys + f.sat_communication_n), \
         SUM(CASE WHEN f.acceptance_rounds = 1 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN f.acceptance_rounds > 0 THEN 1 ELSE 0 END), SUM(f.acceptance_rounds), \
         AVG(f.completeness), SUM(f.recurrences_at_visits) \
         FROM case_fact_staff s JOIN case_facts f ON f.ticket_id = s.ticket_id \
         WHERE s.kind = ? AND {conditions} GROUP BY s.subject ORDER BY s.subject"
    );
    let rows = query(conn, &sql, values)
        .await?
        .iter()
        .map(|r| pb::KpiRow {
            subject: text(r, 0),
            cases: int(r, 1),
            on_time_share: ratio(int(r, 2), int(r, 3)),
            satisfaction: ratio(int(r, 4), int(r, 5)),
            first_time_acceptance: ratio(int(r, 6), int(r, 7)),
            rectification_rounds: ratio(int(r, 8), int(r, 7)),
            archive_completeness: float(r, 9),
            recurrences_found_at_visits: int(r, 10),
        })
        .collect();
    Ok(pb::StaffKpisResponse {
        rows,
        attribution: attribution(subject).render(locale),
    })
}

/// Checks the caller may read the figures.
pub fn require_reader(caller: &Caller, kpis: bool) -> Result<(), ApiError> {
    require(caller, if kpis { KPI_READERS } else { READERS })
}

/// The label of a tier for CSV.
pub fn tier_name(value: i32) -> String {
    common::SeverityTier::try_from(value)
        .map(|t| short_key(t.as_str_name(), "SEVERITY_TIER_"))
        .unwrap_or_default()
}

/// The label of a clock for CSV.
pub fn clock_name(value: i32) -> String {
    events::SlaClockKind::try_from(value)
        .map(|c| short_key(c.as_str_name(), "SLA_CLOCK_KIND_"))
        .unwrap_or_default()
}
