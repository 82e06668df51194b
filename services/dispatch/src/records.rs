//! What dispatch stores as JSON text and how requests become records: technicians (parsed and
//! checked as a whole), leave periods, sites, rankings, and the state names of assignments and
//! offers.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use steelcare_domain::dispatch::{Certificate, Point, Ranked, Skill};
use steelcare_i18n::msg;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as pb;
use steelcare_runtime::ApiError;
use steelcare_runtime::convert::{from_timestamp, to_timestamp};
use steelcare_runtime::validate::{Address, Person, SHORT, Violations, to_date};
use steelcare_store::entity::technicians;

/// States of an assignment and of an offer, as stored.
pub mod state {
    /// Waiting in the queue for a candidate.
    pub const WAITING: &str = "waiting";
    /// Offered to a technician (assignment) / open (offer).
    pub const OFFERED: &str = "offered";
    /// Accepted.
    pub const CONFIRMED: &str = "confirmed";
    /// The technician is on site.
    pub const ARRIVED: &str = "arrived";
    /// The survey is done.
    pub const COMPLETED: &str = "completed";
    /// Withdrawn: the case was cancelled or resolved, or a dispatcher reassigned the offer.
    pub const WITHDRAWN: &str = "withdrawn";
    /// An offer the technician declined.
    pub const DECLINED: &str = "declined";
    /// An offer that timed out.
    pub const EXPIRED: &str = "expired";

    /// The protobuf number of a stored state.
    pub fn proto(state: &str) -> i32 {
        use steelcare_proto::dispatch::v1::AssignmentState as S;
        (match state {
            WAITING => S::Waiting,
            OFFERED => S::Offered,
            CONFIRMED => S::Confirmed,
            DECLINED => S::Declined,
            EXPIRED => S::Expired,
            ARRIVED => S::Arrived,
            COMPLETED => S::Completed,
            WITHDRAWN => S::Withdrawn,
            _ => S::Unspecified,
        }) as i32
    }

    /// The stored state of a protobuf number.
    pub fn from_proto(value: i32) -> Option<&'static str> {
        [
            WAITING, OFFERED, CONFIRMED, DECLINED, EXPIRED, ARRIVED, COMPLETED, WITHDRAWN,
        ]
        .into_iter()
        .find(|s| proto(s) == value)
    }
}

/// A technician's duty status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DutyStatus {
    /// Can receive offers.
    OnDuty,
    /// Off duty.
    OffDuty,
    /// On leave.
    OnLeave,
}

impl DutyStatus {
    /// Its label in the catalogue.
    pub fn label(self) -> steelcare_i18n::Msg {
        steelcare_i18n::enum_label("TechnicianStatus", &self.as_str().to_ascii_uppercase())
    }

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DutyStatus::OnDuty => "on_duty",
            DutyStatus::OffDuty => "off_duty",
            DutyStatus::OnLeave => "on_leave",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [DutyStatus::OnDuty, DutyStatus::OffDuty, DutyStatus::OnLeave]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    /// Protobuf number.
    pub fn proto(self) -> i32 {
        (match self {
            DutyStatus::OnDuty => pb::TechnicianStatus::OnDuty,
            DutyStatus::OffDuty => pb::TechnicianStatus::OffDuty,
            DutyStatus::OnLeave => pb::TechnicianStatus::OnLeave,
        }) as i32
    }

    /// From a protobuf number; `None` for 0 and unknowns.
    pub fn from_proto(value: i32) -> Option<Self> {
        [DutyStatus::OnDuty, DutyStatus::OffDuty, DutyStatus::OnLeave]
            .into_iter()
            .find(|d| d.proto() == value)
    }
}

/// A leave period `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeavePeriod {
    /// Start.
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
}

impl LeavePeriod {
    /// Whether the period overlaps `[from, to)`.
    pub fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.start < to && from < self.end
    }

    fn to_proto(self) -> common::TimeRange {
        common::TimeRange {
            start_time: Some(to_timestamp(self.start)),
            end_time: Some(to_timestamp(self.end)),
        }
    }
}

/// Parses leave periods: both ends required, start before end.
pub fn parse_leave(
    v: &mut Violations,
    field: &str,
    ranges: &[common::TimeRange],
) -> Vec<LeavePeriod> {
    let mut out = Vec::with_capacity(ranges.len());
    for (i, r) in ranges.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let start = r
            .start_time
            .as_ref()
            .and_then(|t| from_timestamp(t, "start_time").ok());
        let end = r
            .end_time
            .as_ref()
            .and_then(|t| from_timestamp(t, "end_time").ok());
        match (start, end) {
            (Some(start), Some(end)) if start < end => out.push(LeavePeriod { start, end }),
            (Some(_), Some(_)) => v.add(format!("{f}.end_time"), msg!("field-after-start")),
            _ => v.add(f, msg!("field-window-required")),
        }
    }
    out
}

/// Calendars a technician can work by.
pub const CALENDARS: [&str; 2] = ["business", "round_the_clock"];

/// Most concurrent assignments a technician can be given.
pub const MAX_CAPACITY: i32 = 50;

/// A technician as dispatch reasons about them.
#[derive(Debug, Clone, PartialEq)]
pub struct TechnicianRecord {
    /// Id (the user id they log in with).
    pub id: String,
    /// Name and contact.
    pub person: Person,
    /// Team.
    pub team: String,
    /// Regions covered, lower-cased.
    pub regions: Vec<String>,
    /// Base location.
    pub base: Option<Point>,
    /// Skills.
    pub skills: Vec<Skill>,
    /// Certificates.
    pub certificates: Vec<Certificate>,
    /// Working calendar (one of [`CALENDARS`]).
    pub calendar: String,
    /// Concurrent confirmed assignments allowed.
    pub capacity: i32,
    /// Duty status.
    pub status: DutyStatus,
    /// Leave periods.
    pub leave: Vec<LeavePeriod>,
    /// Measuring instruments carried.
    pub instruments: Vec<InstrumentRecord>,
}

/// A measuring instrument a technician carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentRecord {
    /// Its kind (`InstrumentKind` value).
    pub kind: i32,
    /// Its serial number.
    pub serial: String,
    /// The last day its calibration is valid.
    pub calibrated_until: NaiveDate,
}

/// The technician's instruments: a known kind, a serial number (each once) and the last day
/// of calibration.
fn parse_instruments(v: &mut Violations, given: &[common::Instrument]) -> Vec<InstrumentRecord> {
    let mut out: Vec<InstrumentRecord> = Vec::new();
    for (i, x) in given.iter().enumerate() {
        let f = format!("technician.instruments[{i}]");
        let known = matches!(
            common::InstrumentKind::try_from(x.kind),
            Ok(k) if k != common::InstrumentKind::Unspecified
        );
        if !known {
            v.add(format!("{f}.kind"), msg!("field-required"));
        }
        let serial = v.required(&format!("{f}.serial_number"), &x.serial_number, SHORT);
        if !serial.is_empty() && out.iter().any(|o| o.serial == serial) {
            v.add(
                format!("{f}.serial_number"),
                msg!("field-instrument-twice", serial = serial.clone()),
            );
        }
        let until = v.date(
            &format!("{f}.calibration_valid_until"),
            x.calibration_valid_until.as_ref(),
            true,
        );
        if let (true, Some(calibrated_until)) = (known, until) {
            out.push(InstrumentRecord {
                kind: x.kind,
                serial,
                calibrated_until,
            });
        }
    }
    out
}

fn corrupt(what: &str, id: &str, err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("stored {what} of {id} is unreadable: {err}"))
}

/// Serialises a stored JSON value (infallible for our record types).
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Reads a stored JSON value.
pub fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
    id: &str,
) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|err| corrupt(what, id, err))
}

/// The technician's regions, lowercase, each once; at least one.
fn parse_regions(v: &mut Violations, given: &[String]) -> Vec<String> {
    let mut regions: Vec<String> = Vec::new();
    for (i, r) in given.iter().enumerate() {
        let r = v.required(&format!("technician.regions[{i}]"), r, SHORT);
        let r = r.to_lowercase();
        if !r.is_empty() && !regions.contains(&r) {
            regions.push(r);
        }
    }
    if given.is_empty() {
        v.add("technician.regions", msg!("field-region-required"));
    }
    regions
}

/// The technician's base, when given, on the globe.
fn parse_base(v: &mut Violations, given: Option<&common::GeoPoint>) -> Option<Point> {
    given.map(|p| {
        if !(-90.0..=90.0).contains(&p.latitude) {
            v.add(
                "technician.base_location.latitude",
                msg!("field-latitude-range"),
            );
        }
        if !(-180.0..=180.0).contains(&p.longitude) {
            v.add(
                "technician.base_location.longitude",
                msg!("field-longitude-range"),
            );
        }
        Point {
            latitude: p.latitude,
            longitude: p.longitude,
        }
    })
}

/// The technician's skills, each once; at least one.
fn parse_skills(v: &mut Violations, given: &[i32]) -> Vec<Skill> {
    let mut skills = Vec::new();
    for (i, s) in given.iter().enumerate() {
        if let Some(skill) = v.enum_value(
            &format!("technician.skills[{i}]"),
            *s,
            Skill::from_proto_value,
        ) && !skills.contains(&skill)
        {
            skills.push(skill);
        }
    }
    if given.is_empty() {
        v.add("technician.skills", msg!("field-skill-required"));
    }
    skills
}

/// The technician's certificates, each with its validity.
fn parse_certificates(v: &mut Violations, given: &[pb::Certificate]) -> Vec<Certificate> {
    let mut certificates = Vec::new();
    for (i, c) in given.iter().enumerate() {
        let f = format!("technician.certificates[{i}]");
        let kind = v.required(&format!("{f}.kind"), &c.kind, SHORT);
        let number = v.required(&format!("{f}.number"), &c.number, SHORT);
        let issuer = v.optional(&format!("{f}.issuer"), &c.issuer, SHORT);
        if let Some(valid_until) = v.date(&format!("{f}.valid_until"), c.valid_until.as_ref(), true)
        {
            certificates.push(Certificate {
                kind: kind.to_lowercase(),
                number,
                issuer,
                valid_until,
            });
        }
    }
    certificates
}

/// The technician's working calendar: business (the default) or round the clock.
fn parse_calendar(v: &mut Violations, given: &str) -> String {
    match given.trim() {
        "" => "business".to_owned(),
        c if CALENDARS.contains(&c) => c.to_owned(),
        other => {
            v.add(
                "technician.calendar",
                msg!("field-calendar-name", given = other),
            );
            String::new()
        }
    }
}

impl TechnicianRecord {
    /// Parses and checks a whole technician; every problem is reported by field.
    pub fn parse(t: &pb::Technician) -> Result<TechnicianRecord, ApiError> {
        let mut v = Violations::default();
        let id = v.required("technician.technician_id", &t.technician_id, SHORT);
        let person = Person::parse(&mut v, "technician.person", t.person.as_ref(), true, true);
        let team = v.optional("technician.team", &t.team, SHORT);
        let regions = parse_regions(&mut v, &t.regions);
        let base = parse_base(&mut v, t.base_location.as_ref());
        let skills = parse_skills(&mut v, &t.skills);
        let certificates = parse_certificates(&mut v, &t.certificates);
        let calendar = parse_calendar(&mut v, &t.calendar);
        if !(1..=MAX_CAPACITY).contains(&t.capacity) {
            v.add(
                "technician.capacity",
                msg!("field-capacity-range", max = MAX_CAPACITY),
            );
        }
        let status = if t.status == 0 {
            DutyStatus::OnDuty
        } else {
            DutyStatus::from_proto(t.status).unwrap_or_else(|| {
                v.add(
                    "technician.status",
                    msg!("field-unknown-value", value = t.status),
                );
                DutyStatus::OffDuty
            })
        };
        let leave = parse_leave(&mut v, "technician.leave_periods", &t.leave_periods);
        let instruments = parse_instruments(&mut v, &t.instruments);
        v.finish(TechnicianRecord {
            id,
            person,
            team,
            regions,
            base,
            skills,
            certificates,
            calendar,
            capacity: t.capacity,
            status,
            leave,
            instruments,
        })
    }

    /// Reads a stored row.
    pub fn from_row(row: &technicians::Model) -> Result<TechnicianRecord, ApiError> {
        Ok(TechnicianRecord {
            id: row.id.clone(),
            person: from_json(&row.person, "person", &row.id)?,
            team: row.team.clone(),
            regions: from_json(&row.regions, "regions", &row.id)?,
            base: row
                .base_latitude
                .zip(row.base_longitude)
                .map(|(latitude, longitude)| Point {
                    latitude,
                    longitude,
                }),
            skills: from_json(&row.skills, "skills", &row.id)?,
            certificates: from_json(&row.certificates, "certificates", &row.id)?,
            calendar: row.calendar.clone(),
            capacity: row.capacity,
            status: DutyStatus::parse(&row.status)
                .ok_or_else(|| corrupt("status", &row.id, &row.status))?,
            leave: from_json(&row.leave_periods, "leave periods", &row.id)?,
            instruments: from_json(&row.instruments, "instruments", &row.id)?,
        })
    }

    /// The protobuf form (counts and times come from the row).
    pub fn to_proto(&self) -> pb::Technician {
        pb::Technician {
            technician_id: self.id.clone(),
            person: Some(self.person.to_proto()),
            team: self.team.clone(),
            regions: self.regions.clone(),
            base_location: self.base.map(|p| common::GeoPoint {
                latitude: p.latitude,
                longitude: p.longitude,
            }),
            skills: self.skills.iter().map(|s| s.proto_value()).collect(),
            certificates: self.certificates.iter().map(certificate_proto).collect(),
            calendar: self.calendar.clone(),
            capacity: self.capacity,
            status: self.status.proto(),
            leave_periods: self.leave.iter().map(|l| l.to_proto()).collect(),
            instruments: self
                .instruments
                .iter()
                .map(|x| common::Instrument {
                    kind: x.kind,
                    serial_number: x.serial.clone(),
                    calibration_valid_until: Some(to_date(x.calibrated_until)),
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Whether on leave at any time in `[from, to)`.
    pub fn on_leave(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.leave.iter().any(|l| l.overlaps(from, to))
    }
}

/// A certificate as the protobuf message.
pub fn certificate_proto(c: &Certificate) -> pb::Certificate {
    pb::Certificate {
        kind: c.kind.clone(),
        number: c.number.clone(),
        issuer: c.issuer.clone(),
        valid_until: Some(to_date(c.valid_until)),
    }
}

/// The site of a case, from its project's address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// The project's address.
    pub address: Address,
}

impl Site {
    /// Region names a technician may cover to serve the site: city, district and province,
    /// lower-cased.
    pub fn region_keys(&self) -> Vec<String> {
        let a = &self.address;
        let mut keys: Vec<String> = [&a.city, &a.district, &a.province]
            .into_iter()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        keys.dedup();
        keys
    }

    /// The site's position, when known.
    pub fn point(&self) -> Option<Point> {
        self.address
            .latitude
            .zip(self.address.longitude)
            .map(|(latitude, longitude)| Point {
                latitude,
                longitude,
            })
    }
}

/// A ranking as stored with an offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingRecord {
    /// The ranked position and reasons (absent for a manual offer).
    pub ranked: Option<Ranked>,
    /// Extra notes (e.g. the dispatcher's reason).
    pub notes: Vec<steelcare_i18n::Said>,
}

impl RankingRecord {
    /// The protobuf form, its notes in `locale`.
    pub fn to_proto(&self, locale: steelcare_i18n::Locale) -> pb::RankingReason {
        let notes = self
            .ranked
            .iter()
            .flat_map(|r| r.notes.iter())
            .chain(self.notes.iter())
            .map(|n| n.render(locale))
            .collect();
        pb::RankingReason {
            active_assignments: self.ranked.as_ref().map_or(0, |r| r.active as i32),
            distance_km: self
                .ranked
                .as_ref()
                .and_then(|r| r.distance_km)
                .unwrap_or(0.0),
            first_time_acceptance_rate: self
                .ranked
                .as_ref()
                .and_then(|r| r.first_time_rate)
                .unwrap_or(0.0),
            rank: self.ranked.as_ref().map_or(0, |r| r.rank as i32),
            notes,
        }
    }
}

/// A position reported on arrival.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn technician() -> pb::Technician {
        pb::Technician {
            technician_id: "tech-1".to_owned(),
            person: Some(common::PersonRef {
                display_name: "Wang Wei".to_owned(),
                phone: "+86 138 0000 0000".to_owned(),
                ..Default::default()
            }),
            regions: vec!["Hangzhou".to_owned(), " hangzhou ".to_owned()],
            skills: vec![Skill::Welding.proto_value()],
            certificates: vec![pb::Certificate {
                kind: "Welder".to_owned(),
                number: "W-1".to_owned(),
                issuer: String::new(),
                valid_until: Some(common::Date {
                    year: 2027,
                    month: 6,
                    day: 30,
                }),
            }],
            capacity: 2,
            ..Default::default()
        }
    }

    #[test]
    fn a_technician_is_normalised_and_defaults_apply() {
        let t = TechnicianRecord::parse(&technician()).unwrap();
        assert_eq!(t.regions, ["hangzhou"]);
        assert_eq!(t.calendar, "business");
        assert_eq!(t.status, DutyStatus::OnDuty);
        assert_eq!(t.certificates[0].kind, "welder");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut t = technician();
        t.capacity = 0;
        t.skills = vec![0, 99];
        t.regions.clear();
        t.calendar = "lunar".to_owned();
        t.leave_periods = vec![common::TimeRange {
            start_time: Some(prost_types::Timestamp {
                seconds: 100,
                nanos: 0,
            }),
            end_time: Some(prost_types::Timestamp {
                seconds: 50,
                nanos: 0,
            }),
        }];
        let Err(ApiError::InvalidArgument(violations)) = TechnicianRecord::parse(&t) else {
            panic!("expected INVALID_ARGUMENT");
        };
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        for expected in [
            "technician.capacity",
            "technician.skills[0]",
            "technician.skills[1]",
            "technician.regions",
            "technician.calendar",
            "technician.leave_periods[0].end_time",
        ] {
            assert!(
                fields.contains(&expected),
                "{expected} missing in {fields:?}"
            );
        }
    }

    #[test]
    fn site_regions_cover_city_district_and_province() {
        let site = Site {
            address: Address {
                province: "Zhejiang".to_owned(),
                city: "Hangzhou".to_owned(),
                district: "Xihu".to_owned(),
                ..Default::default()
            },
        };
        assert_eq!(site.region_keys(), ["hangzhou", "xihu", "zhejiang"]);
    }

    #[test]
    fn states_round_trip_through_protobuf() {
        for s in [
            state::WAITING,
            state::OFFERED,
            state::CONFIRMED,
            state::ARRIVED,
            state::COMPLETED,
            state::WITHDRAWN,
            state::DECLINED,
            state::EXPIRED,
        ] {
            assert_eq!(state::from_proto(state::proto(s)), Some(s));
        }
        assert_eq!(state::from_proto(0), None);
    }
}
