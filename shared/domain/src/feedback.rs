//! Rules of the feedback stage (MISSION §8): when return visits fall due, and when a
//! corrective action counts as effective.
//!
//! Visits fall due a whole number of months after the customer accepted the repair (1, 3 and 6
//! by default, configurable per customer), on the same day of the month in the local time
//! zone, or the month's last day when it is shorter (accepted on 31 January: due on 28 or 29
//! February), moved past weekends and holidays to the next working day of the business
//! calendar, at a configured working hour (10:00 by default) rather than at the moment the
//! customer happened to sign. A corrective action is effective once its verification window
//! after the fix has passed with no recurrence of its pattern.

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};

use crate::calendar::BusinessCalendar;

/// The default visit offsets, in months after acceptance.
pub const DEFAULT_OFFSETS: [u32; 3] = [1, 3, 6];

/// Offsets a customer may set: increasing, each 1..=60 months, at most 12 of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OffsetsError {
    /// None given.
    #[error("give at least one offset")]
    Empty,
    /// More than 12.
    #[error("at most 12 visits")]
    TooMany,
    /// Outside 1..=60 months.
    #[error("offset {0} is outside 1 to 60 months")]
    Range(i64),
    /// Not increasing.
    #[error("offsets must increase: {0} does not follow the one before")]
    Order(i64),
}

impl OffsetsError {
    /// What is wrong, from the catalogue.
    pub fn message(&self) -> steelcare_i18n::Msg {
        use steelcare_i18n::msg;
        match self {
            OffsetsError::Empty => msg!("offsets-empty"),
            OffsetsError::TooMany => msg!("offsets-too-many"),
            OffsetsError::Range(o) => msg!("offsets-range", offset = *o),
            OffsetsError::Order(o) => msg!("offsets-order", offset = *o),
        }
    }
}

/// Checks a customer's offsets.
pub fn check_offsets(offsets: &[i64]) -> Result<Vec<u32>, OffsetsError> {
    if offsets.is_empty() {
        return Err(OffsetsError::Empty);
    }
    if offsets.len() > 12 {
        return Err(OffsetsError::TooMany);
    }
    let mut out: Vec<u32> = Vec::with_capacity(offsets.len());
    for &o in offsets {
        let month = u32::try_from(o)
            .ok()
            .filter(|m| (1..=60).contains(m))
            .ok_or(OffsetsError::Range(o))?;
        if out.last().is_some_and(|last| *last >= month) {
            return Err(OffsetsError::Order(o));
        }
        out.push(month);
    }
    Ok(out)
}

/// When each visit falls due: `offsets` months after `accepted` in the calendar's time zone
/// (the same day of the month, or the month's last day when it is shorter), moved on to the
/// first working day of `calendar` when that day is a weekend or holiday, at the local time of
/// day `at` (a working hour: nobody is called at the moment the customer happened to sign).
pub fn due_times(
    accepted: DateTime<Utc>,
    offsets: &[u32],
    calendar: &BusinessCalendar,
    at: NaiveTime,
) -> Vec<DateTime<Utc>> {
    let day = accepted.with_timezone(&calendar.timezone()).date_naive();
    offsets
        .iter()
        .filter_map(|m| {
            // `checked_add_months` keeps the day, or clamps it to the month's last day.
            let due = day.checked_add_months(Months::new(*m))?;
            calendar.working_day_at(due, at)
        })
        .collect()
}

/// Whether a corrective action is verified effective on `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effectiveness {
    /// The window passed with no recurrence.
    Effective,
    /// The window is still open, until this day (inclusive).
    WindowOpen(NaiveDate),
    /// The pattern recurred in the window: on these days.
    Recurred(Vec<NaiveDate>),
}

/// Judges a corrective action fixed on `fix_date` with a window of `window_days` days after
/// it, given the days its pattern was seen again (in visits and tickets). A recurrence on the
/// fix day or before does not count against it; one in the window does, even while the window
/// is still open.
pub fn effectiveness(
    fix_date: NaiveDate,
    window_days: u32,
    today: NaiveDate,
    seen_again: &[NaiveDate],
) -> Effectiveness {
    let end = fix_date + chrono::Days::new(u64::from(window_days));
    let mut recurred: Vec<NaiveDate> = seen_again
        .iter()
        .copied()
        .filter(|d| *d > fix_date && *d <= end)
        .collect();
    recurred.sort();
    recurred.dedup();
    if !recurred.is_empty() {
        Effectiveness::Recurred(recurred)
    } else if today <= end {
        Effectiveness::WindowOpen(end)
    } else {
        Effectiveness::Effective
    }
}

/// The month of `day` as a breakdown key, e.g. `2026-07`.
pub fn month_key(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn shanghai(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn ten() -> NaiveTime {
        NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default()
    }

    #[test]
    fn visits_fall_due_in_working_hours_of_a_working_day() {
        let cal = BusinessCalendar::china_2026();
        // Accepted at 22:56 on a Monday: due at 10:00, never at 22:56; 28 February and 30 May
        // 2027 are Sundays, so those visits move to the Monday after.
        let accepted = shanghai(2026, 11, 30, 22) + chrono::TimeDelta::minutes(56);
        assert_eq!(
            due_times(accepted, &DEFAULT_OFFSETS, &cal, ten()),
            [
                shanghai(2026, 12, 30, 10),
                shanghai(2027, 3, 1, 10),
                shanghai(2027, 5, 31, 10)
            ]
        );
        // Two months after 1 August is National Day: the first working day after the
        // holidays is 8 October.
        assert_eq!(
            due_times(shanghai(2026, 8, 1, 15), &[2], &cal, ten()),
            [shanghai(2026, 10, 8, 10)]
        );
        // A make-up working Saturday is a working day.
        assert_eq!(
            due_times(shanghai(2026, 1, 28, 15), &[1], &cal, ten()),
            [shanghai(2026, 2, 28, 10)]
        );
    }

    #[test]
    fn the_local_calendar_day_and_the_months_last_day_decide() {
        let cal = BusinessCalendar::china_2026();
        // Late evening local time is the previous day in UTC: the local day decides.
        let late = shanghai(2026, 1, 30, 23);
        assert_eq!(late.date_naive(), day(2026, 1, 30));
        assert_eq!(
            due_times(late, &[2], &cal, ten()),
            [shanghai(2026, 3, 30, 10)]
        );
        // Accepted on 31 March: 30 April (the month's last day, a Thursday).
        assert_eq!(
            due_times(shanghai(2026, 3, 31, 9), &[1], &cal, ten()),
            [shanghai(2026, 4, 30, 10)]
        );
    }

    #[test]
    fn a_local_time_a_clock_change_skips_moves_to_the_next_valid_one() {
        let cal = BusinessCalendar::from_toml(
            "name = \"t\"\ntimezone = \"Europe/Berlin\"\nweekend = []\nshifts = [[\"00:00\", \"23:59\"]]",
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let zone = chrono_tz::Europe::Berlin;
        // 02:30 on 29 March 2026 does not exist in Berlin (clocks go 02:00 → 03:00).
        let accepted = zone
            .with_ymd_and_hms(2026, 1, 29, 12, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let at = NaiveTime::from_hms_opt(2, 30, 0).unwrap_or_default();
        let due = due_times(accepted, &[2], &cal, at);
        let expected = zone
            .with_ymd_and_hms(2026, 3, 29, 3, 30, 0)
            .single()
            .map(|t| t.with_timezone(&Utc));
        assert_eq!(due.first().copied(), expected);
    }

    #[test]
    fn offsets_are_checked() {
        assert_eq!(check_offsets(&[1, 3, 6]), Ok(vec![1, 3, 6]));
        assert_eq!(check_offsets(&[]), Err(OffsetsError::Empty));
        assert_eq!(check_offsets(&[0, 3]), Err(OffsetsError::Range(0)));
        assert_eq!(check_offsets(&[3, 61]), Err(OffsetsError::Range(61)));
        assert_eq!(check_offsets(&[3, 3]), Err(OffsetsError::Order(3)));
        assert_eq!(check_offsets(&[6, 1]), Err(OffsetsError::Order(1)));
        assert_eq!(check_offsets(&[1; 13]), Err(OffsetsError::TooMany));
    }

    #[test]
    fn a_corrective_action_is_effective_only_after_a_clean_window() {
        let fix = day(2026, 6, 1);
        assert_eq!(
            effectiveness(fix, 90, day(2026, 7, 1), &[]),
            Effectiveness::WindowOpen(day(2026, 8, 30))
        );
        assert_eq!(
            effectiveness(fix, 90, day(2026, 8, 31), &[day(2026, 5, 20), fix]),
            Effectiveness::Effective,
            "what happened before or on the fix day does not count"
        );
        assert_eq!(
            effectiveness(
                fix,
                90,
                day(2026, 7, 1),
                &[day(2026, 6, 20), day(2026, 6, 20)]
            ),
            Effectiveness::Recurred(vec![day(2026, 6, 20)]),
            "a recurrence in the window fails it at once"
        );
        assert_eq!(
            effectiveness(fix, 90, day(2027, 1, 1), &[day(2026, 9, 1)]),
            Effectiveness::Effective,
            "after the window"
        );
        assert_eq!(month_key(day(2026, 7, 9)), "2026-07");
    }

    proptest! {
        #[test]
        fn every_visit_is_later_than_the_one_before_on_a_working_day_soon_after_its_month(
            days in 0i64..4000,
            hour in 0u32..24,
            offsets in proptest::collection::btree_set(1u32..=60, 1..6),
        ) {
            let cal = BusinessCalendar::china_2026();
            let zone = cal.timezone();
            let accepted = shanghai(2024, 1, 1, hour) + chrono::TimeDelta::days(days);
            let offsets: Vec<u32> = offsets.into_iter().collect();
            let due = due_times(accepted, &offsets, &cal, ten());
            prop_assert_eq!(due.len(), offsets.len());
            let start = accepted.with_timezone(&zone).date_naive();
            let mut before = accepted;
            for (t, m) in due.iter().zip(&offsets) {
                prop_assert!(*t > before);
                before = *t;
                prop_assert!(cal.is_working_time(*t));
                let local = t.with_timezone(&zone);
                prop_assert_eq!(local.time(), ten());
                let nominal = start.checked_add_months(Months::new(*m)).unwrap_or_default();
                let shifted = (local.date_naive() - nominal).num_days();
                // The longest run of days off (Spring Festival) is nine days.
                prop_assert!((0..=9).contains(&shifted), "moved {} days", shifted);
            }
        }
    }
}
