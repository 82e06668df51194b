//! Business calendars (MISSION §2.4): working hours with split shifts, weekends, public
//! holidays and the make-up working days that move them, in a time zone. Calendars are data:
//! the China 2026 calendar ships as `data/cn-2026.toml`, others load from files of the same
//! shape.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

/// The China 2026 calendar, as shipped.
pub const CHINA_2026: &str = include_str!("../data/cn-2026.toml");

/// How far ahead a calendar computation looks before giving up (ten years).
const HORIZON_DAYS: i64 = 3660;

/// A calendar file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarData {
    /// Calendar name, e.g. "cn-2026".
    pub name: String,
    /// IANA time zone, e.g. "Asia/Shanghai".
    pub timezone: String,
    /// Weekend days: "Mon".."Sun".
    pub weekend: Vec<String>,
    /// Working shifts of a working day, as ["HH:MM", "HH:MM"] pairs in order.
    pub shifts: Vec<[String; 2]>,
    /// Public holidays (no work), "YYYY-MM-DD".
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    /// Make-up working days (work on a weekend day), "YYYY-MM-DD".
    #[serde(default)]
    pub makeup_workdays: Vec<NaiveDate>,
}

/// A calendar that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar {name}: {message}")]
pub struct CalendarError {
    /// Calendar name.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// A validated business calendar.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    name: String,
    tz: Tz,
    weekend: [bool; 7],
    shifts: Vec<(NaiveTime, NaiveTime)>,
    holidays: BTreeSet<NaiveDate>,
    makeup_workdays: BTreeSet<NaiveDate>,
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

impl BusinessCalendar {
    /// Parses and validates a calendar file's text.
    pub fn from_toml(text: &str) -> Result<Self, CalendarError> {
        let data: CalendarData = toml::from_str(text).map_err(|err| CalendarError {
            name: "?".to_owned(),
            message: err.to_string(),
        })?;
        Self::from_data(data)
    }

    /// The shipped China 2026 calendar.
    pub fn china_2026() -> Self {
        match Self::from_toml(CHINA_2026) {
            Ok(calendar) => calendar,
            // The file is part of the build and covered by tests.
            Err(err) => unreachable!("shipped calendar is invalid: {err}"),
        }
    }

    /// Validates calendar data.
    pub fn from_data(data: CalendarData) -> Result<Self, CalendarError> {
        let fail = |message: String| CalendarError {
            name: data.name.clone(),
            message,
        };
        let tz: Tz = data
            .timezone
            .parse()
            .map_err(|_| fail(format!("unknown time zone {:?}", data.timezone)))?;
        let mut weekend = [false; 7];
        for day in &data.weekend {
            let weekday: Weekday = day
                .parse()
                .map_err(|_| fail(format!("unknown weekday {day:?}")))?;
            weekend[weekday.num_days_from_monday() as usize] = true;
        }
        if weekend.iter().all(|w| *w) {
            return Err(fail("every day is a weekend day".to_owned()));
        }
        let mut shifts = Vec::new();
        for [start, end] in &data.shifts {
            let (Some(s), Some(e)) = (parse_time(start), parse_time(end)) else {
                return Err(fail(format!("shift {start}-{end} is not HH:MM-HH:MM")));
            };
            if s >= e {
                return Err(fail(format!("shift {start}-{end} ends before it starts")));
            }
            if let Some(&(_, prev_end)) = shifts.last()
                && s < prev_end
            {
                return Err(fail(format!("shift {start}-{end} overlaps the one before")));
            }
            shifts.push((s, e));
        }
        if shifts.is_empty() {
            return Err(fail("no working shifts".to_owned()));
        }
        let holidays: BTreeSet<_> = data.holidays.iter().copied().collect();
        if let Some(day) = data.makeup_workdays.iter().find(|d| holidays.contains(d)) {
            return Err(fail(format!(
                "{day} is both a holiday and a make-up working day"
            )));
        }
        Ok(BusinessCalendar {
            name: data.name,
            tz,
            weekend,
            shifts,
            holidays,
            makeup_workdays: data.makeup_workdays.into_iter().collect(),
        })
    }

    /// Calendar name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Time zone of the calendar.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Whether people work on `date` (make-up days count as working days).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.makeup_workdays.contains(&date) {
            return true;
        }
        !self.holidays.contains(&date)
            && !self.weekend[date.weekday().num_days_from_monday() as usize]
    }

    /// Working time in one working day (the length of "1 working day").
    pub fn working_day_length(&self) -> TimeDelta {
        self.shifts
            .iter()
            .map(|(s, e)| *e - *s)
            .fold(TimeDelta::zero(), |a, b| a + b)
    }

    /// Whether `at` falls inside a working shift (boundaries included).
    pub fn is_working_time(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz);
        self.is_working_day(local.date_naive())
            && self
                .shifts
                .iter()
                .any(|(s, e)| local.time() >= *s && local.time() <= *e)
    }

    /// Whether a local time of day lies inside one of the working shifts (boundaries included).
    pub fn in_shift(&self, time: NaiveTime) -> bool {
        self.shifts.iter().any(|(s, e)| time >= *s && time <= *e)
    }

    /// The first working day on or after `date`, at the local `time` (a time skipped by a clock
    /// change moves an hour on); `None` past the ten-year horizon.
    pub fn working_day_at(&self, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        let day = (0..HORIZON_DAYS)
            .filter_map(|offset| date.checked_add_signed(TimeDelta::days(offset)))
            .find(|day| self.is_working_day(*day))?;
        self.at(day, time)
            .or_else(|| self.at(day, time + TimeDelta::hours(1)))
    }

    fn at(&self, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        self.tz
            .from_local_datetime(&date.and_time(time))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Working intervals `[start, end)` in UTC from `from` on, in order, for ten years.
    pub fn working_intervals(
        &self,
        from: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = from.with_timezone(&self.tz).date_naive();
        (0..HORIZON_DAYS)
            .filter_map(move |offset| first.checked_add_signed(TimeDelta::days(offset)))
            .filter(|date| self.is_working_day(*date))
            .flat_map(move |date| {
                self.shifts.iter().filter_map(move |(s, e)| {
                    let start = self.at(date, *s)?;
                    let end = self.at(date, *e)?;
                    (end > from).then(|| (start.max(from), end))
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_2026_calendar_knows_holidays_and_makeup_days() {
        let cal = BusinessCalendar::china_2026();
        assert_eq!(cal.timezone(), chrono_tz::Asia::Shanghai);
        assert!(!cal.is_working_day(date(2026, 1, 1)), "new year");
        assert!(cal.is_working_day(date(2026, 1, 4)), "sunday make-up day");
        assert!(
            cal.is_working_day(date(2026, 2, 14)),
            "saturday make-up day"
        );
        assert!(!cal.is_working_day(date(2026, 2, 18)), "spring festival");
        assert!(!cal.is_working_day(date(2026, 10, 7)), "national day");
        assert!(
            cal.is_working_day(date(2026, 10, 10)),
            "saturday make-up day"
        );
        assert!(!cal.is_working_day(date(2026, 11, 28)), "ordinary saturday");
        assert!(cal.is_working_day(date(2026, 11, 27)), "ordinary friday");
        assert_eq!(
            cal.working_day_length(),
            TimeDelta::hours(7) + TimeDelta::minutes(30)
        );
    }

    #[test]
    fn bad_calendars_are_refused_with_a_reason() {
        let base = |extra: &str| {
            format!(
                "name = \"t\"\ntimezone = \"Asia/Shanghai\"\nweekend = [\"Sat\", \"Sun\"]\n{extra}"
            )
        };
        for (text, needle) in [
            (base("shifts = []"), "no working shifts"),
            (base("shifts = [[\"12:00\", \"09:00\"]]"), "ends before"),
            (base("shifts = [[\"09:00\", \"12:00\"], [\"11:00\", \"13:00\"]]"), "overlaps"),
            (
                base("shifts = [[\"09:00\", \"17:00\"]]\nholidays = [\"2026-01-01\"]\nmakeup_workdays = [\"2026-01-01\"]"),
                "both",
            ),
            (
                "name = \"t\"\ntimezone = \"Mars/Olympus\"\nweekend = []\nshifts = [[\"09:00\", \"17:00\"]]".to_owned(),
                "time zone",
            ),
        ] {
            let err = BusinessCalendar::from_toml(&text).unwrap_err();
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn working_intervals_skip_lunch_nights_and_holidays() {
        let cal = BusinessCalendar::china_2026();
        // Wed 2025-12-31 16:00 Shanghai = 08:00 UTC.
        let from = Utc.with_ymd_and_hms(2025, 12, 31, 8, 0, 0).unwrap();
        let first: Vec<_> = cal.working_intervals(from).take(3).collect();
        assert_eq!(
            first[0],
            (from, Utc.with_ymd_and_hms(2025, 12, 31, 9, 30, 0).unwrap())
        );
        // Next: Sun 2026-01-04 (make-up day) 08:30 Shanghai = 00:30 UTC.
        assert_eq!(
            first[1].0,
            Utc.with_ymd_and_hms(2026, 1, 4, 0, 30, 0).unwrap()
        );
        assert_eq!(
            first[2].0,
            Utc.with_ymd_and_hms(2026, 1, 4, 5, 30, 0).unwrap()
        );
    }
}
