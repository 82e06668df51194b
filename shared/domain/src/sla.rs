//! The SLA engine (MISSION §2.4, DESIGN.md decision 5): per-tier limits for four clocks
//! (response, arrival on site, solution issued, work completed), counted round the clock or in
//! a business calendar's working time, with pauses (waiting for the customer) excluded, and
//! the at-risk thresholds an escalation watcher fires at.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::BusinessCalendar;
use crate::category::SeverityTier;

/// Which clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    Response = 1,
    Arrival = 2,
    Solution = 3,
    Completion = 4,
}

impl ClockKind {
    /// Every clock.
    pub const ALL: [ClockKind; 4] = [
        ClockKind::Response,
        ClockKind::Arrival,
        ClockKind::Solution,
        ClockKind::Completion,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Response => "response",
            ClockKind::Arrival => "arrival",
            ClockKind::Solution => "solution",
            ClockKind::Completion => "completion",
        }
    }
}

impl FromStr for ClockKind {
    type Err = crate::category::UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::category::UnknownValue {
                kind: "clock",
                value: s.to_owned(),
            })
    }
}

/// How a tier's time counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// Every minute counts, nights and holidays included (urgent tier).
    RoundTheClock,
    /// Only working time of the business calendar counts.
    Business,
}

/// A limit as written in policy: seconds/minutes/hours, or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaDuration {
    /// A fixed span (working time in business mode).
    Span(TimeDelta),
    /// Days: working days in business mode, 24 h days round the clock.
    Days(u32),
}

impl SlaDuration {
    /// The time to count, in the given mode and calendar.
    pub fn resolve(self, mode: ClockMode, calendar: &BusinessCalendar) -> TimeDelta {
        match (self, mode) {
            (SlaDuration::Span(span), _) => span,
            (SlaDuration::Days(n), ClockMode::RoundTheClock) => TimeDelta::days(i64::from(n)),
            (SlaDuration::Days(n), ClockMode::Business) => {
                calendar.working_day_length() * i32::try_from(n).unwrap_or(i32::MAX)
            }
        }
    }
}

/// A limit that is not `N` followed by m, h or d.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a limit like 90s, 30m, 4h or 2d")]
pub struct BadDuration(pub String);

impl FromStr for SlaDuration {
    type Err = BadDuration;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u32 = digits.parse().map_err(|_| BadDuration(s.to_owned()))?;
        if n == 0 {
            return Err(BadDuration(s.to_owned()));
        }
        match unit {
            "s" => Ok(SlaDuration::Span(TimeDelta::seconds(i64::from(n)))),
            "m" => Ok(SlaDuration::Span(TimeDelta::minutes(i64::from(n)))),
            "h" => Ok(SlaDuration::Span(TimeDelta::hours(i64::from(n)))),
            "d" => Ok(SlaDuration::Days(n)),
            _ => Err(BadDuration(s.to_owned())),
        }
    }
}

impl fmt::Display for SlaDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlaDuration::Span(span) if span.num_seconds() % 3600 == 0 => {
                write!(f, "{}h", span.num_hours())
            }
            SlaDuration::Span(span) if span.num_seconds() % 60 == 0 => {
                write!(f, "{}m", span.num_minutes())
            }
            SlaDuration::Span(span) => write!(f, "{}s", span.num_seconds()),
            SlaDuration::Days(n) => write!(f, "{n}d"),
        }
    }
}

/// The four limits of a tier and how they count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPolicy {
    /// Counting mode.
    pub mode: ClockMode,
    /// First response.
    pub response: SlaDuration,
    /// Arrival on site; `None` = no site visit (consultation).
    pub arrival: Option<SlaDuration>,
    /// Solution issued.
    pub solution: Option<SlaDuration>,
    /// Work completed.
    pub completion: Option<SlaDuration>,
}

impl TierPolicy {
    /// The limit of one clock, if the tier has it.
    pub fn limit(&self, kind: ClockKind) -> Option<SlaDuration> {
        match kind {
            ClockKind::Response => Some(self.response),
            ClockKind::Arrival => self.arrival,
            ClockKind::Solution => self.solution,
            ClockKind::Completion => self.completion,
        }
    }

    /// The default policy of a tier (MISSION §2.4 and the intake issue).
    pub fn default_for(tier: SeverityTier) -> TierPolicy {
        let h = |n| SlaDuration::Span(TimeDelta::hours(n));
        match tier {
            SeverityTier::P1 => TierPolicy {
                mode: ClockMode::RoundTheClock,
                response: h(2),
                arrival: Some(h(24)),
                solution: Some(h(72)),
                completion: Some(SlaDuration::Days(15)),
            },
            SeverityTier::P2 => TierPolicy {
                mode: ClockMode::Business,
                response: h(4),
                arrival: Some(SlaDuration::Days(2)),
                solution: Some(SlaDuration::Days(5)),
                completion: Some(SlaDuration::Days(20)),
            },
            SeverityTier::P3 => TierPolicy {
                mode: ClockMode::Business,
                response: SlaDuration::Days(1),
                arrival: Some(SlaDuration::Days(5)),
                solution: Some(SlaDuration::Days(10)),
                completion: Some(SlaDuration::Days(30)),
            },
            SeverityTier::P4 => TierPolicy {
                mode: ClockMode::Business,
                response: SlaDuration::Days(1),
                arrival: None,
                solution: Some(SlaDuration::Days(3)),
                completion: None,
            },
        }
    }
}

/// A time span during which the clocks did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// When the pause began.
    pub start: DateTime<Utc>,
    /// When it ended; `None` while still paused.
    pub end: Option<DateTime<Utc>>,
}

/// Removes the pauses from `[a, b)`, returning what is left in order.
fn without_pauses(
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    pauses: &[Pause],
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut pieces = vec![(a, b)];
    for pause in pauses {
        let p_end = pause.end.unwrap_or(DateTime::<Utc>::MAX_UTC);
        pieces = pieces
            .into_iter()
            .flat_map(|(x, y)| {
                let mut out = Vec::with_capacity(2);
                if pause.start >= y || p_end <= x {
                    out.push((x, y));
                } else {
                    if pause.start > x {
                        out.push((x, pause.start));
                    }
                    if p_end < y {
                        out.push((p_end, y));
                    }
                }
                out
            })
            .collect();
    }
    pieces
}

/// The instant when `amount` of countable time has passed since `start`, skipping
/// non-working time (business mode) and pauses. `None` while an open pause holds the clock
/// before the amount is reached, or beyond the calendar's ten-year horizon.
pub fn add_countable(
    mode: ClockMode,
    calendar: &BusinessCalendar,
    start: DateTime<Utc>,
    amount: TimeDelta,
    pauses: &[Pause],
) -> Option<DateTime<Utc>> {
    add_countable_all(mode, calendar, start, &[amount], pauses)
        .pop()
        .flatten()
}

/// [`add_countable`] for each of `amounts`, in one walk of the calendar (a clock's deadline
/// and its at-risk thresholds are found together).
pub fn add_countable_all(
    mode: ClockMode,
    calendar: &BusinessCalendar,
    start: DateTime<Utc>,
    amounts: &[TimeDelta],
    pauses: &[Pause],
) -> Vec<Option<DateTime<Utc>>> {
    let amounts: Vec<TimeDelta> = amounts
        .iter()
        .map(|a| (*a).max(TimeDelta::zero()))
        .collect();
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    order.sort_by_key(|&i| amounts[i]);
    let mut found = vec![None; amounts.len()];
    let mut next = order.iter().peekable();
    let open_pause = pauses
        .iter()
        .filter(|p| p.end.is_none())
        .map(|p| p.start)
        .min();
    let intervals: Box<dyn Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>> = match mode {
        ClockMode::RoundTheClock => Box::new(std::iter::once((start, DateTime::<Utc>::MAX_UTC))),
        ClockMode::Business => Box::new(calendar.working_intervals(start)),
    };
    // Countable time before the piece being walked.
    let mut passed = TimeDelta::zero();
    for (a, b) in intervals {
        if next.peek().is_none() || open_pause.is_some_and(|p| p <= a) {
            break;
        }
        for (x, y) in without_pauses(a, b, pauses) {
            let length = y - x;
            while let Some(&&i) = next.peek() {
                let remaining = amounts[i] - passed;
                if length < remaining {
                    break;
                }
                found[i] = x.checked_add_signed(remaining);
                next.next();
            }
            passed += length;
        }
    }
    found
}

/// Countable time between `start` and `end` (the inverse of [`add_countable`]).
pub fn countable_between(
    mode: ClockMode,
    calendar: &BusinessCalendar,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    pauses: &[Pause],
) -> TimeDelta {
    if end <= start {
        return TimeDelta::zero();
    }
    let intervals: Box<dyn Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>> = match mode {
        ClockMode::RoundTheClock => Box::new(std::iter::once((start, end))),
        ClockMode::Business => Box::new(
            calendar
                .working_intervals(start)
                .take_while(move |(a, _)| *a < end),
        ),
    };
    intervals
        .flat_map(|(a, b)| without_pauses(a, b.min(end), pauses))
        .map(|(x, y)| y - x)
        .fold(TimeDelta::zero(), |acc, d| acc + d)
}

/// When a clock is due and when it crosses each at-risk threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockSchedule {
    /// The deadline (`None` while paused).
    pub deadline: Option<DateTime<Utc>>,
    /// The instant of each threshold, in the order given.
    pub thresholds: Vec<Option<DateTime<Utc>>>,
}

/// Schedules a clock of `limit` started at `start`, given its pauses and the fractions
/// (e.g. 0.5 and 0.8) the escalation watcher warns at.
pub fn schedule(
    mode: ClockMode,
    calendar: &BusinessCalendar,
    start: DateTime<Utc>,
    limit: TimeDelta,
    pauses: &[Pause],
    fractions: &[f64],
) -> ClockSchedule {
    let mut amounts: Vec<TimeDelta> = fractions
        .iter()
        .map(|f| {
            let millis = (limit.num_milliseconds() as f64 * f.clamp(0.0, 1.0)).round() as i64;
            TimeDelta::milliseconds(millis)
        })
        .collect();
    amounts.push(limit);
    let mut thresholds = add_countable_all(mode, calendar, start, &amounts, pauses);
    let deadline = thresholds.pop().flatten();
    ClockSchedule {
        deadline,
        thresholds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn cal() -> BusinessCalendar {
        BusinessCalendar::china_2026()
    }

    fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_p1_clock_runs_through_the_night_and_holidays() {
        let p1 = TierPolicy::default_for(SeverityTier::P1);
        let start = shanghai(2026, 10, 1, 22, 0);
        let response = p1.response.resolve(p1.mode, &cal());
        assert_eq!(
            add_countable(p1.mode, &cal(), start, response, &[]),
            Some(shanghai(2026, 10, 2, 0, 0))
        );
    }

    #[test]
    fn a_p3_response_waits_for_the_next_working_day() {
        let p3 = TierPolicy::default_for(SeverityTier::P3);
        // Friday 2026-09-18 16:00: 1.5 h left that day; Sat 19th off; Sun 20th is a make-up
        // working day: 6 h more gets to 15:30 (08:30-12:00 is 3.5 h, then 13:30 + 2.5 h).
        let start = shanghai(2026, 9, 18, 16, 0);
        let limit = p3.response.resolve(p3.mode, &cal());
        assert_eq!(limit, TimeDelta::minutes(450));
        assert_eq!(
            add_countable(p3.mode, &cal(), start, limit, &[]),
            Some(shanghai(2026, 9, 20, 16, 0))
        );
    }

    #[test]
    fn a_p2_response_skips_the_national_day_holiday() {
        let p2 = TierPolicy::default_for(SeverityTier::P2);
        // Wed 30 Sep 16:30: 1 h left; 1-7 Oct off; Thu 8 Oct 08:30 + 3 h = 11:30.
        let start = shanghai(2026, 9, 30, 16, 30);
        let limit = p2.response.resolve(p2.mode, &cal());
        assert_eq!(
            add_countable(p2.mode, &cal(), start, limit, &[]),
            Some(shanghai(2026, 10, 8, 11, 30))
        );
    }

    #[test]
    fn pauses_move_the_deadline_and_an_open_pause_holds_it() {
        let p1 = TierPolicy::default_for(SeverityTier::P1);
        let start = shanghai(2026, 11, 27, 10, 0);
        let limit = TimeDelta::hours(2);
        let closed = [Pause {
            start: shanghai(2026, 11, 27, 10, 30),
            end: Some(shanghai(2026, 11, 27, 11, 15)),
        }];
        assert_eq!(
            add_countable(p1.mode, &cal(), start, limit, &closed),
            Some(shanghai(2026, 11, 27, 12, 45))
        );
        let open = [Pause {
            start: shanghai(2026, 11, 27, 10, 30),
            end: None,
        }];
        assert_eq!(add_countable(p1.mode, &cal(), start, limit, &open), None);
        let s = schedule(p1.mode, &cal(), start, limit, &open, &[0.2, 0.5]);
        assert_eq!(s.thresholds[0], Some(shanghai(2026, 11, 27, 10, 24)));
        assert_eq!(s.thresholds[1], None);
        assert_eq!(s.deadline, None);
    }

    #[test]
    fn limits_parse_and_print() {
        assert_eq!("4h".parse(), Ok(SlaDuration::Span(TimeDelta::hours(4))));
        assert_eq!("2d".parse(), Ok(SlaDuration::Days(2)));
        assert_eq!(
            "90m".parse::<SlaDuration>().map(|d| d.to_string()),
            Ok("90m".to_owned())
        );
        assert_eq!(
            "45s".parse::<SlaDuration>().map(|d| d.to_string()),
            Ok("45s".to_owned())
        );
        assert!("0h".parse::<SlaDuration>().is_err());
        assert!("2w".parse::<SlaDuration>().is_err());
        assert!("soon".parse::<SlaDuration>().is_err());
    }

    fn any_start() -> impl Strategy<Value = DateTime<Utc>> {
        // Any minute of 2026 (the shipped calendar's year), Shanghai time.
        (0i64..365 * 24 * 60).prop_map(|m| shanghai(2026, 1, 1, 0, 0) + TimeDelta::minutes(m))
    }

    fn any_amount() -> impl Strategy<Value = TimeDelta> {
        (0i64..40 * 60).prop_map(TimeDelta::minutes)
    }

    proptest! {
        #[test]
        fn business_deadlines_fall_in_working_time(start in any_start(), amount in 1i64..(60 * 60)) {
            let deadline = add_countable(ClockMode::Business, &cal(), start, TimeDelta::minutes(amount), &[]).unwrap();
            prop_assert!(cal().is_working_time(deadline), "{deadline}");
            prop_assert!(deadline > start);
        }

        #[test]
        fn adding_work_time_is_monotonic_and_additive(start in any_start(), a in any_amount(), b in any_amount()) {
            let c = cal();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let at_lo = add_countable(ClockMode::Business, &c, start, lo, &[]).unwrap();
            let at_hi = add_countable(ClockMode::Business, &c, start, hi, &[]).unwrap();
            prop_assert!(at_lo <= at_hi);
            // Adding a then b from where a ended equals adding a + b, whenever b is positive.
            if b > TimeDelta::zero() {
                let stepwise = add_countable(ClockMode::Business, &c, add_countable(ClockMode::Business, &c, start, a, &[]).unwrap(), b, &[]).unwrap();
                let at_once = add_countable(ClockMode::Business, &c, start, a + b, &[]).unwrap();
                prop_assert_eq!(stepwise, at_once);
            }
            let counted = countable_between(ClockMode::Business, &c, start, at_hi, &[]);
            prop_assert_eq!(counted, hi);
        }

        #[test]
        fn pauses_never_shorten_a_deadline(
            start in any_start(),
            amount in 1i64..(30 * 60),
            pause_offset in 0i64..(48 * 60),
            pause_len in 0i64..(48 * 60),
            business in any::<bool>(),
        ) {
            let mode = if business { ClockMode::Business } else { ClockMode::RoundTheClock };
            let c = cal();
            let amount = TimeDelta::minutes(amount);
            let plain = add_countable(mode, &c, start, amount, &[]).unwrap();
            let pause = Pause {
                start: start + TimeDelta::minutes(pause_offset),
                end: Some(start + TimeDelta::minutes(pause_offset + pause_len)),
            };
            let paused = add_countable(mode, &c, start, amount, &[pause]).unwrap();
            prop_assert!(paused >= plain);
        }

        #[test]
        fn many_amounts_in_one_walk_land_where_each_alone_lands(
            start in any_start(),
            amounts in proptest::collection::vec(any_amount(), 1..5),
            pause_offset in 0i64..(48 * 60),
            pause_len in proptest::option::of(0i64..(48 * 60)),
            business in any::<bool>(),
        ) {
            let mode = if business { ClockMode::Business } else { ClockMode::RoundTheClock };
            let c = cal();
            let pause = Pause {
                start: start + TimeDelta::minutes(pause_offset),
                end: pause_len.map(|len| start + TimeDelta::minutes(pause_offset + len)),
            };
            let together = add_countable_all(mode, &c, start, &amounts, std::slice::from_ref(&pause));
            let alone: Vec<_> = amounts
                .iter()
                .map(|a| add_countable(mode, &c, start, *a, std::slice::from_ref(&pause)))
                .collect();
            prop_assert_eq!(together, alone);
        }

        #[test]
        fn makeup_days_count_as_working_days(hour in 9u32..12) {
            // Sat 2026-02-14 is a make-up working day: a clock started that morning runs.
            let start = shanghai(2026, 2, 14, hour, 0);
            let end = add_countable(ClockMode::Business, &cal(), start, TimeDelta::minutes(30), &[]).unwrap();
            prop_assert_eq!(end, start + TimeDelta::minutes(30));
        }
    }
}

/// A per-customer or per-contract change to a tier's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOverride {
    /// Applies to this customer's cases.
    pub customer_id: Option<String>,
    /// Applies to cases of projects under this contract (wins over a customer override).
    pub contract_number: Option<String>,
    /// The tier changed.
    pub tier: SeverityTier,
    /// New response limit.
    pub response: Option<SlaDuration>,
    /// New arrival limit.
    pub arrival: Option<SlaDuration>,
    /// New solution limit.
    pub solution: Option<SlaDuration>,
    /// New completion limit.
    pub completion: Option<SlaDuration>,
}

impl PolicyOverride {
    fn apply(&self, policy: &mut TierPolicy) {
        if let Some(v) = self.response {
            policy.response = v;
        }
        if let Some(v) = self.arrival {
            policy.arrival = Some(v);
        }
        if let Some(v) = self.solution {
            policy.solution = Some(v);
        }
        if let Some(v) = self.completion {
            policy.completion = Some(v);
        }
    }
}

/// Every tier's policy plus the overrides of customers and contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBook {
    /// P1..P4 in order.
    pub tiers: [TierPolicy; 4],
    /// Overrides, in configuration order.
    pub overrides: Vec<PolicyOverride>,
}

impl Default for PolicyBook {
    fn default() -> Self {
        PolicyBook {
            tiers: SeverityTier::ALL.map(TierPolicy::default_for),
            overrides: Vec::new(),
        }
    }
}

impl PolicyBook {
    /// The policy of a case: the tier's, then customer overrides, then contract overrides.
    pub fn policy(
        &self,
        tier: SeverityTier,
        customer_id: &str,
        contract_number: &str,
    ) -> TierPolicy {
        let mut policy = self.tiers[tier as usize - 1].clone();
        let matching = |o: &&PolicyOverride| o.tier == tier;
        for o in self.overrides.iter().filter(matching) {
            if o.contract_number.is_none() && o.customer_id.as_deref() == Some(customer_id) {
                o.apply(&mut policy);
            }
        }
        for o in self.overrides.iter().filter(matching) {
            if o.contract_number.as_deref() == Some(contract_number) {
                o.apply(&mut policy);
            }
        }
        policy
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn contract_overrides_win_over_customer_overrides_over_defaults() {
        let book = PolicyBook {
            overrides: vec![
                PolicyOverride {
                    customer_id: Some("acme".into()),
                    contract_number: None,
                    tier: SeverityTier::P2,
                    response: Some(SlaDuration::Span(TimeDelta::hours(2))),
                    arrival: None,
                    solution: None,
                    completion: None,
                },
                PolicyOverride {
                    customer_id: None,
                    contract_number: Some("HT-1".into()),
                    tier: SeverityTier::P2,
                    response: Some(SlaDuration::Span(TimeDelta::hours(1))),
                    arrival: None,
                    solution: None,
                    completion: None,
                },
            ],
            ..PolicyBook::default()
        };
        let h = |n| SlaDuration::Span(TimeDelta::hours(n));
        assert_eq!(book.policy(SeverityTier::P2, "other", "X").response, h(4));
        assert_eq!(book.policy(SeverityTier::P2, "acme", "X").response, h(2));
        assert_eq!(book.policy(SeverityTier::P2, "acme", "HT-1").response, h(1));
        assert_eq!(
            book.policy(SeverityTier::P3, "acme", "HT-1").response,
            SlaDuration::Days(1)
        );
    }
}
