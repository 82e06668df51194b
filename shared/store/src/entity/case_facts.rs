use sea_orm::entity::prelude::*;

/// What the analytics know of one case: a projection rebuilt from the records of every
/// service. Clock columns hold the codes of `steelcare_feedback::facts::clock`; `sat_*` are sums of scores over
/// `sat_surveys` surveys, except communication (over `sat_communication_n`, the surveys that
/// recorded it) and overall (over `sat_overall_n`, the surveys that gave one); months are
/// `YYYY-MM` in the configured time zone.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "case_facts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: String,
    pub customer_id: String,
    pub project_id: String,
    pub structure_type: String,
    pub category: String,
    pub location: String,
    pub root_cause: String,
    /// 1 when `root_cause` (and the parties) are inherited from the case this one recurs from,
    /// not yet surveyed again.
    pub root_cause_inherited: i32,
    pub tier: String,
    pub state: String,
    pub related_case_id: Option<String>,
    pub created_at_ms: i64,
    pub accepted_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    pub created_month: String,
    pub accepted_month: Option<String>,
    pub closed_month: Option<String>,
    pub acceptance_rounds: i32,
    pub recurred: i32,
    /// Recurrences of this case found at its return visits.
    pub recurrences_at_visits: i32,
    pub resolve_hours: Option<f64>,
    pub completeness: Option<f64>,
    pub sat_surveys: i32,
    pub sat_response_speed: i32,
    pub sat_competence: i32,
    pub sat_attitude: i32,
    pub sat_fix_effect: i32,
    pub sat_overall: i32,
    pub sat_communication: i32,
    pub sat_communication_n: i32,
    pub sat_overall_n: i32,
    pub clock_response: i16,
    pub clock_arrival: i16,
    pub clock_solution: i16,
    pub clock_completion: i16,
    pub clock_appraisal: i16,
    pub clocks_met: i32,
    pub clocks_breached: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
