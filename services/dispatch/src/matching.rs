//! Who can take a job and who is best (DESIGN.md decision 4). The database narrows the field
//! to on-duty technicians under capacity in the site's region; the rest is checked here:
//! skills and certificates valid on the visit date, leave, the working calendar (some working
//! time before the arrival deadline), load including open offers, and technicians who already
//! declined or let this job's offer lapse. Technicians' skills, certificates and leave are
//! parsed once per row version and kept in a [`Directory`]; per job the database gives only
//! who covers the region, their version and their load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use steelcare_domain::ProblemCategory;
use steelcare_domain::dispatch::{Candidate, Certificate, Point, Ranked, Requirement, Skill, rank};
use steelcare_runtime::ApiError;
use steelcare_store::entity::{assignments, technicians};

use crate::config::DispatchConfig;
use crate::records::{DutyStatus, LeavePeriod, Site, from_json};
use crate::store::{self, Slot};

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

/// What matching keeps of a technician between jobs, parsed once per row version.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Technician id.
    pub id: String,
    /// Row version it was parsed from.
    pub version: i64,
    /// Duty status.
    pub status: DutyStatus,
    /// Skills.
    pub skills: Vec<Skill>,
    /// Certificates.
    pub certificates: Vec<Certificate>,
    /// Leave periods.
    pub leave: Vec<LeavePeriod>,
    /// Works by the round-the-clock calendar (else the business calendar).
    pub round_the_clock: bool,
    /// Base location.
    pub base: Option<Point>,
    /// First-time acceptance rate, when known.
    pub first_time_rate: Option<f64>,
}

impl Profile {
    /// Parses the fields matching needs from a row.
    pub fn from_row(row: &technicians::Model) -> Result<Profile, ApiError> {
        Ok(Profile {
            id: row.id.clone(),
            version: row.version,
            status: DutyStatus::parse(&row.status).unwrap_or(DutyStatus::OffDuty),
            skills: from_json(&row.skills, "skills", &row.id)?,
            certificates: from_json(&row.certificates, "certificates", &row.id)?,
            leave: from_json(&row.leave_periods, "leave periods", &row.id)?,
            round_the_clock: row.calendar == "round_the_clock",
            base: row
                .base_latitude
                .zip(row.base_longitude)
                .map(|(latitude, longitude)| Point {
                    latitude,
                    longitude,
                }),
            first_time_rate: row.first_time_rate,
        })
    }

    fn on_leave(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.leave.iter().any(|l| l.overlaps(from, to))
    }
}

/// How long a region's field (who covers it, their versions and loads) is reused between
/// jobs. Loads may lag by this much across replicas; the offer re-reads the chosen
/// technician's row in its transaction, and accepting is guarded in the database.
pub const FIELD_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// A technician of a region's field as matching ranks them: the profile parsed from their row
/// and their load as the field's read found it.
pub type Member = (Arc<Profile>, Slot);

/// A region's field as last read.
#[derive(Debug)]
struct CachedField {
    read_at: std::time::Instant,
    members: Arc<Vec<Member>>,
}

/// Each region's field for up to [`FIELD_TTL`], with the profiles of its technicians, and the
/// parsed profiles by technician id (a row whose version moved is parsed again). A job reads
/// the cached field as it is: no copy, no lookup per technician.
#[derive(Debug, Default)]
pub struct Directory {
    profiles: Mutex<HashMap<String, Arc<Profile>>>,
    fields: Mutex<HashMap<Vec<String>, CachedField>>,
}

impl Directory {
    fn fields(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<String>, CachedField>> {
        self.fields
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The field of `regions`: from the cache when fresh, else read again (with the profiles
    /// of the technicians whose rows changed).
    pub async fn field(
        &self,
        conn: &impl ConnectionTrait,
        regions: &[String],
    ) -> Result<Arc<Vec<Member>>, ApiError> {
        if let Some(field) = self.fields().get(regions)
            && field.read_at.elapsed() < FIELD_TTL
        {
            return Ok(field.members.clone());
        }
        let slots = store::candidates(conn, regions).await?;
        let members = Arc::new(self.profiles(conn, slots).await?);
        self.fields().insert(
            regions.to_vec(),
            CachedField {
                read_at: std::time::Instant::now(),
                members: members.clone(),
            },
        );
        Ok(members)
    }

    /// Counts an offer this process just made in the cached fields, so the next jobs see it
    /// before the next read. (A field a job is ranking at this moment is copied first.)
    pub fn note_offer(&self, technician_id: &str) {
        for field in self.fields().values_mut() {
            if !field.members.iter().any(|(_, s)| s.id == technician_id) {
                continue;
            }
            let members = Arc::make_mut(&mut field.members);
            for (_, slot) in members.iter_mut().filter(|(_, s)| s.id == technician_id) {
                slot.offered += 1;
            }
        }
    }

    /// Whether the cached profile of `id` is of row version `version`.
    pub fn is_current(&self, id: &str, version: i64) -> bool {
        self.lock().get(id).is_some_and(|p| p.version == version)
    }

    /// Drops the cached field of `regions` (a candidate turned out stale).
    pub fn forget(&self, regions: &[String]) {
        self.fields().remove(regions);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Profile>>> {
        self.profiles
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `slots` with their profiles, loading the stale ones from the database; a technician
    /// whose row cannot be read is left out.
    async fn profiles(
        &self,
        conn: &impl ConnectionTrait,
        slots: Vec<Slot>,
    ) -> Result<Vec<Member>, ApiError> {
        let stale: Vec<String> = {
            let cache = self.lock();
            slots
                .iter()
                .filter(|s| cache.get(&s.id).is_none_or(|p| p.version != s.version))
                .map(|s| s.id.clone())
                .collect()
        };
        for chunk in stale.chunks(500) {
            let rows = store::technicians_by_id(conn, chunk).await?;
            let mut cache = self.lock();
            for row in &rows {
                match Profile::from_row(row) {
                    Ok(p) => {
                        cache.insert(p.id.clone(), Arc::new(p));
                    }
                    Err(err) => {
                        tracing::warn!(technician_id = %row.id, error = %err, "skipping unreadable technician");
                    }
                }
            }
        }
        let cache = self.lock();
        Ok(slots
            .into_iter()
            .filter_map(|s| {
                let profile = cache.get(&s.id).filter(|p| p.version == s.version)?;
                Some((profile.clone(), s))
            })
            .collect())
    }
}

/// How many ranked candidates a job keeps (the offer goes to the first).
pub const SHORT_LIST: usize = 5;

/// The ranked field for a job: qualified, available candidates under capacity (open offers
/// included), best first, at most `limit`.
pub fn rank_candidates(
    config: &DispatchConfig,
    job: &Job,
    field: &[Member],
    now: DateTime<Utc>,
    limit: usize,
) -> Vec<Ranked> {
    let visit = visit_date(config, job.deadline, now);
    let until = job
        .deadline
        .unwrap_or(now)
        .max(now + chrono::TimeDelta::minutes(1));
    let business_ok = works_before(config, "business", now, job.deadline);
    let requirement = Requirement::of(&config.settings.rules, job.category);
    let candidates: Vec<Candidate> = field
        .iter()
        .filter(|(p, _)| p.status == DutyStatus::OnDuty && (p.round_the_clock || business_ok))
        .filter(|(p, _)| !job.excluded.contains(&p.id))
        .filter(|(p, _)| !p.on_leave(now, until))
        .filter(|(p, _)| requirement.check(&p.skills, &p.certificates, visit).is_ok())
        .filter_map(|(p, slot)| {
            let active = u32::try_from(slot.booked.max(0) + slot.offered.max(0)).unwrap_or(0);
            (i64::from(active) < i64::from(slot.capacity)).then(|| Candidate {
                technician_id: &p.id,
                active,
                base: p.base,
                first_time_rate: p.first_time_rate,
            })
        })
        .collect();
    rank(&candidates, job.site.point(), limit)
}

/// Ranks the field of a job's region (read at most [`FIELD_TTL`] ago).
pub async fn find(
    conn: &impl ConnectionTrait,
    config: &DispatchConfig,
    directory: &Directory,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<Vec<Ranked>, ApiError> {
    let regions = job.site.region_keys();
    if regions.is_empty() {
        return Ok(Vec::new());
    }
    let field = directory.field(conn, &regions).await?;
    Ok(rank_candidates(config, job, &field, now, SHORT_LIST))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use steelcare_runtime::Settings;
    use steelcare_runtime::validate::Address;

    use super::*;

    fn config() -> DispatchConfig {
        let settings = Settings::load_with_env(&[], Vec::<(String, String)>::new())
            .unwrap_or_else(|err| panic!("default settings: {err}"));
        DispatchConfig {
            settings: settings.dispatch,
            calendar: settings.intake.calendar,
        }
    }

    fn profile(id: &str) -> Arc<Profile> {
        Arc::new(Profile {
            id: id.to_owned(),
            version: 1,
            status: DutyStatus::OnDuty,
            skills: vec![Skill::Waterproofing],
            certificates: vec![Certificate {
                kind: "work_at_height".to_owned(),
                number: "1".to_owned(),
                issuer: String::new(),
                valid_until: chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap_or_default(),
            }],
            leave: Vec::new(),
            round_the_clock: true,
            base: None,
            first_time_rate: None,
        })
    }

    fn slot(id: &str, booked: i32, offered: i32) -> Slot {
        Slot {
            id: id.to_owned(),
            version: 1,
            booked,
            offered,
            capacity: 2,
        }
    }

    #[test]
    fn only_available_qualified_technicians_under_capacity_are_ranked() {
        let config = config();
        // Friday 27 Nov 2026, 22:00 in Shanghai: after business hours.
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 27, 14, 0, 0)
            .single()
            .unwrap_or_default();
        let job = Job {
            category: ProblemCategory::Leakage,
            site: Site {
                address: Address {
                    city: "Suzhou".to_owned(),
                    ..Default::default()
                },
            },
            // Due before Monday's first working hour.
            deadline: Some(now + chrono::TimeDelta::hours(12)),
            excluded: vec!["declined".to_owned()],
        };
        let mut on_leave = (*profile("on-leave")).clone();
        on_leave.leave = vec![LeavePeriod {
            start: now - chrono::TimeDelta::hours(1),
            end: now + chrono::TimeDelta::days(2),
        }];
        let mut office_hours = (*profile("office-hours")).clone();
        office_hours.round_the_clock = false;
        let mut expired = (*profile("expired")).clone();
        expired.certificates[0].valid_until =
            chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default();
        let slots = [
            slot("ok", 0, 0),
            slot("declined", 0, 0),
            slot("on-leave", 0, 0),
            slot("office-hours", 0, 0),
            slot("expired", 0, 0),
            // One confirmed and one open offer: at its capacity of 2.
            slot("busy", 1, 1),
        ];
        let profiles = [
            profile("ok"),
            profile("declined"),
            Arc::new(on_leave),
            Arc::new(office_hours),
            Arc::new(expired),
            profile("busy"),
        ];
        let field: Vec<Member> = profiles.into_iter().zip(slots).collect();
        let ranked = rank_candidates(&config, &job, &field, now, SHORT_LIST);
        let ids: Vec<&str> = ranked.iter().map(|r| r.technician_id.as_str()).collect();
        assert_eq!(ids, ["ok"]);
        // With a deadline after Monday morning, office hours count again.
        let later = Job {
            deadline: Some(now + chrono::TimeDelta::days(4)),
            ..job
        };
        let ranked = rank_candidates(&config, &later, &field, now, SHORT_LIST);
        let ids: Vec<&str> = ranked.iter().map(|r| r.technician_id.as_str()).collect();
        assert_eq!(ids, ["office-hours", "ok"]);
    }
}
