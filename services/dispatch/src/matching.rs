//! Who can take a job and who is best (DESIGN.md decision 4). The database narrows the field
//! to on-duty technicians under capacity in the site's region; the rest is checked here:
//! skills and certificates valid on the visit date, leave, the working calendar (some working
//! time before the arrival deadline), load including open offers, and technicians who already
//! declined or let this job's offer lapse.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use steelcare_domain::ProblemCategory;
use steelcare_domain::dispatch::{Candidate, Ranked, qualifies, rank};
use steelcare_runtime::ApiError;
use steelcare_store::entity::{assignments, technicians};

use crate::engine::DispatchConfig;
use crate::records::{DutyStatus, Site, TechnicianRecord, from_json};
use crate::store;

/// What matching needs to know about a job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Problem category.
    pub category: ProblemCategory,
    /// The site.
    pub site: Site,
    /// The arrival deadline, when the tier has one.
    pub deadline: Option<DateTime<Utc>>,
    /// Technicians not to offer again.
    pub excluded: Vec<String>,
}

impl Job {
    /// Reads the job of an assignment row.
    pub fn of(row: &assignments::Model) -> Result<Job, ApiError> {
        Ok(Job {
            category: row
                .category
                .parse()
                .map_err(|err| ApiError::Internal(format!("assignment {}: {err}", row.id)))?,
            site: from_json(&row.site, "site", &row.id)?,
            deadline: row
                .arrival_deadline_ms
                .and_then(DateTime::from_timestamp_millis),
            excluded: from_json(&row.excluded, "excluded technicians", &row.id)?,
        })
    }
}

/// The visit date certificates must be valid on: the arrival deadline's day in the business
/// time zone (the latest day the visit may happen), or today without a deadline.
pub fn visit_date(
    config: &DispatchConfig,
    deadline: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> NaiveDate {
    deadline
        .unwrap_or(now)
        .max(now)
        .with_timezone(&config.calendar.timezone())
        .date_naive()
}

/// Whether someone working by `calendar` has working time in `[now, deadline)`.
pub fn works_before(
    config: &DispatchConfig,
    calendar: &str,
    now: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
) -> bool {
    match (calendar, deadline) {
        ("round_the_clock", _) | (_, None) => true,
        (_, Some(deadline)) => config
            .calendar
            .working_intervals(now)
            .next()
            .is_some_and(|(start, _)| start < deadline),
    }
}

/// The ranked field for a job: qualified, available candidates, best first.
pub fn rank_candidates(
    config: &DispatchConfig,
    job: &Job,
    rows: &[technicians::Model],
    open_offers: &HashMap<String, u32>,
    now: DateTime<Utc>,
) -> Vec<Ranked> {
    let visit = visit_date(config, job.deadline, now);
    let until = job
        .deadline
        .unwrap_or(now)
        .max(now + chrono::TimeDelta::minutes(1));
    let business_ok = works_before(config, "business", now, job.deadline);
    let field: Vec<Candidate> = rows
        .iter()
        .filter(|row| !job.excluded.contains(&row.id))
        .filter_map(|row| match TechnicianRecord::from_row(row) {
            Ok(t) => Some((row, t)),
            Err(err) => {
                tracing::warn!(technician_id = %row.id, error = %err, "skipping unreadable technician");
                None
            }
        })
        .filter(|(_, t)| t.status == DutyStatus::OnDuty && !t.on_leave(now, until))
        .filter(|(_, t)| t.calendar == "round_the_clock" || business_ok)
        .filter(|(_, t)| {
            qualifies(&config.settings.rules, job.category, &t.skills, &t.certificates, visit).is_ok()
        })
        .filter_map(|(row, t)| {
            let offered = open_offers.get(&row.id).copied().unwrap_or(0);
            let active = u32::try_from(row.booked).unwrap_or(0) + offered;
            (i64::from(active) < i64::from(row.capacity)).then(|| Candidate {
                technician_id: row.id.clone(),
                active,
                base: t.base,
                first_time_rate: row.first_time_rate,
            })
        })
        .collect();
    rank(&field, job.site.point())
}

/// Loads the field for a job and ranks it.
pub async fn find(
    conn: &impl ConnectionTrait,
    config: &DispatchConfig,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<Vec<Ranked>, ApiError> {
    let regions = job.site.region_keys();
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let rows = store::candidates(conn, &regions).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let offers = store::open_offers(conn, &ids).await?;
    Ok(rank_candidates(config, job, &rows, &offers, now))
}
