//! Rules of the feedback stage (MISSION §8): when return visits fall due, and when a
//! corrective action counts as effective.
//!
//! Visits fall due a whole number of months after the customer accepted the repair (1, 3 and 6
//! by default, configurable per customer), on the same day of the month in the local time
//! zone, or the month's last day when it is shorter (accepted on 31 January: due on 28 or 29
//! February), at the same local time. A corrective action is effective once its verification
//! window after the fix has passed with no recurrence of its pattern.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

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

/// When each visit falls due: `offsets` months after `accepted`, in `zone`'s calendar.
pub fn due_times(accepted: DateTime<Utc>, offsets: &[u32], zone: Tz) -> Vec<DateTime<Utc>> {
    let local = accepted.with_timezone(&zone).naive_local();
    offsets
        .iter()
        .filter_map(|m| {
            // `checked_add_months` keeps the day, or clamps it to the month's last day.
            let due = local.checked_add_months(Months::new(*m))?;
            // A local time skipped by a clock change moves to the next valid instant.
            zone.from_local_datetime(&due)
                .earliest()
                .or_else(|| {
                    zone.from_local_datetime(&(due + chrono::TimeDelta::hours(1)))
                        .earliest()
                })
                .map(|t| t.with_timezone(&Utc))
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

    #[test]
    fn visits_fall_due_on_the_same_local_day_or_the_months_last() {
        let zone = chrono_tz::Asia::Shanghai;
        assert_eq!(
            due_times(shanghai(2026, 11, 30, 9), &DEFAULT_OFFSETS, zone),
            [
                shanghai(2026, 12, 30, 9),
                shanghai(2027, 2, 28, 9),
                shanghai(2027, 5, 30, 9)
            ]
        );
        // Accepted on 31 January of a leap year: 29 February, 30 April, 31 July.
        assert_eq!(
            due_times(shanghai(2028, 1, 31, 23), &DEFAULT_OFFSETS, zone),
            [
                shanghai(2028, 2, 29, 23),
                shanghai(2028, 4, 30, 23),
                shanghai(2028, 7, 31, 23)
            ]
        );
        // Late evening local time is the previous day in UTC: the local calendar decides.
        let late = shanghai(2026, 1, 31, 23);
        assert_eq!(late.date_naive(), day(2026, 1, 31));
        assert_eq!(due_times(late, &[1], zone), [shanghai(2026, 2, 28, 23)]);
    }

    #[test]
    fn a_local_time_a_clock_change_skips_moves_to_the_next_valid_one() {
        let zone = chrono_tz::Europe::Berlin;
        // 02:30 on 29 March 2026 does not exist in Berlin (clocks go 02:00 → 03:00).
        let accepted = zone
            .with_ymd_and_hms(2026, 1, 29, 2, 30, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let due = due_times(accepted, &[2], zone);
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
        fn every_visit_is_later_than_the_one_before_and_in_its_month(
            days in 0i64..4000,
            hour in 0u32..24,
            offsets in proptest::collection::btree_set(1u32..=60, 1..6),
        ) {
            let zone = chrono_tz::Asia::Shanghai;
            let accepted = shanghai(2024, 1, 1, hour) + chrono::TimeDelta::days(days);
            let offsets: Vec<u32> = offsets.into_iter().collect();
            let due = due_times(accepted, &offsets, zone);
            prop_assert_eq!(due.len(), offsets.len());
            let start = accepted.with_timezone(&zone).date_naive();
            let mut before = accepted;
            for (t, m) in due.iter().zip(&offsets) {
                prop_assert!(*t > before);
                before = *t;
                let local = t.with_timezone(&zone).date_naive();
                let months = (local.year() - start.year()) * 12
                    + local.month() as i32
                    - start.month() as i32;
                prop_assert_eq!(months, *m as i32);
                prop_assert!(local.day() <= start.day());
            }
        }
    }
}
