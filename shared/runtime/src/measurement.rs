//! Measurements as every service receives them (`steelcare.common.v1.Measurement`): parsed
//! with every problem named as a field violation, the instrument's calibration checked on the
//! day of the measurement, and judged against the tolerance table, so the survey, key-step
//! inspections, self-inspection and customer acceptance all judge a reading the same way.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use steelcare_domain::tolerance::{Judgement, Quantity, Rule, Storey, ToleranceTable};
use steelcare_i18n::{Arg, Msg, msg};
use steelcare_proto::common::v1 as common;
use steelcare_proto::common::v1::measurement::Quantity as Pq;

use crate::convert::{from_timestamp, to_timestamp};
use crate::validate::{SHORT, Violations};

/// Most readings one measurement may carry.
pub const MAX_READINGS: usize = 1000;

/// How far a measurement's time may lie outside its record's window: device clocks and a
/// surveyor's rounding of the survey's start and end.
pub const WINDOW_TOLERANCE_MINUTES: i64 = 15;

/// How long before an inspection is recorded its readings may have been taken (a key-step
/// inspection, self-inspection or acceptance is recorded the day it is made, at the latest
/// after a weekend on a remote site).
pub const INSPECTION_WINDOW_HOURS: i64 = 72;

/// When the measurements of one record may have been taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    survey: bool,
}

impl Window {
    /// A survey's: from its start to its end, [`WINDOW_TOLERANCE_MINUTES`] either side.
    pub fn survey(start: DateTime<Utc>, end: DateTime<Utc>) -> Window {
        let tolerance = TimeDelta::minutes(WINDOW_TOLERANCE_MINUTES);
        Window {
            start: start - tolerance,
            end: end + tolerance,
            survey: true,
        }
    }

    /// An inspection's, recorded at `now`: the [`INSPECTION_WINDOW_HOURS`] before it.
    pub fn inspection(now: DateTime<Utc>) -> Window {
        Window {
            start: now - TimeDelta::hours(INSPECTION_WINDOW_HOURS),
            end: now + TimeDelta::minutes(5),
            survey: false,
        }
    }

    fn refuses(&self, at: DateTime<Utc>) -> Option<Msg> {
        if (self.start..=self.end).contains(&at) {
            return None;
        }
        Some(if self.survey {
            msg!(
                "field-outside-survey-time",
                at = Arg::at(at),
                minutes = WINDOW_TOLERANCE_MINUTES
            )
        } else {
            msg!(
                "field-outside-inspection-window",
                at = Arg::at(at),
                hours = INSPECTION_WINDOW_HOURS
            )
        })
    }
}

/// A measurement, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedMeasurement {
    /// What, with its dimensions.
    pub quantity: Quantity,
    /// The quantity as the caller gave it (stored and returned as given).
    pub as_given: Pq,
    /// The member measured.
    pub member: String,
    /// Where on it.
    pub location: String,
    /// The instrument.
    pub instrument: common::Instrument,
    /// When measured.
    pub measure_time: DateTime<Utc>,
    /// The readings.
    pub readings: Vec<f64>,
}

fn rule_of(rule: i32) -> Rule {
    match common::JudgementRule::try_from(rule) {
        Ok(common::JudgementRule::Main) => Rule::Main,
        _ => Rule::General,
    }
}

fn positive(v: &mut Violations, field: String, value: f64) {
    if !(value.is_finite() && value > 0.0) {
        v.add(field, msg!("field-not-positive"));
    }
}

fn quantity(
    v: &mut Violations,
    field: &str,
    q: Option<&Pq>,
    measured: Option<DateTime<Utc>>,
    criterion: bool,
) -> Option<Quantity> {
    let f = |name: &str| format!("{field}.{name}");
    let Some(q) = q else {
        v.add(f("quantity"), msg!("field-quantity-required"));
        return None;
    };
    Some(match q {
        Pq::CoatingThickness(c) => {
            if c.coats < 1 {
                v.add(
                    f("coating_thickness.coats"),
                    msg!("field-at-least", min = 1),
                );
            }
            if c.design_thickness_um < 0.0 || !c.design_thickness_um.is_finite() {
                v.add(
                    f("coating_thickness.design_thickness_um"),
                    msg!("field-zero-or-positive"),
                );
            }
            Quantity::CoatingDryFilm {
                indoor: c.indoor,
                design_um: (c.design_thickness_um > 0.0).then_some(c.design_thickness_um),
                coats: u32::try_from(c.coats).unwrap_or(1).max(1),
                one_coat: c.one_coat,
            }
        }
        Pq::BoltTorque(b) => {
            positive(v, f("bolt_torque.target_torque_nm"), b.target_torque_nm);
            let tightened = match b.tightening_time.as_ref() {
                None if criterion => None,
                None => {
                    v.add(f("bolt_torque.tightening_time"), msg!("field-required"));
                    None
                }
                Some(t) => match from_timestamp(t, "tightening_time") {
                    Ok(t) => Some(t),
                    Err(_) => {
                        v.add(
                            f("bolt_torque.tightening_time"),
                            msg!("field-not-timestamp"),
                        );
                        None
                    }
                },
            };
            // A criterion states the limit only: the 1 h to 48 h window after tightening is the
            // readings' to keep, at the inspection.
            let hours = match (tightened, measured) {
                (Some(t), Some(m)) if !criterion => Some((m - t).num_seconds() as f64 / 3600.0),
                _ => None,
            };
            Quantity::BoltFinalTorque {
                target_nm: b.target_torque_nm,
                hours_after_tightening: hours,
            }
        }
        Pq::TwistOffSplines(t) => {
            if t.bolts_per_node < 1 {
                v.add(
                    f("twist_off_splines.bolts_per_node"),
                    msg!("field-at-least", min = 1),
                );
            }
            Quantity::TwistOffSplines {
                bolts_in_node: u32::try_from(t.bolts_per_node).unwrap_or(1).max(1),
            }
        }
        Pq::OverallVerticality(o) => {
            positive(v, f("overall_verticality.height_mm"), o.height_mm);
            let storey = match common::StoreyType::try_from(o.storey_type) {
                Ok(common::StoreyType::Single) => Storey::Single,
                Ok(common::StoreyType::Multi) => Storey::Multi,
                _ => {
                    v.add(
                        f("overall_verticality.storey_type"),
                        msg!("field-storey-type-required"),
                    );
                    Storey::Single
                }
            };
            Quantity::OverallVerticality {
                height_mm: o.height_mm,
                storey,
            }
        }
        Pq::ColumnVerticality(c) => {
            positive(v, f("column_verticality.height_mm"), c.height_mm);
            Quantity::ColumnVerticality {
                height_mm: c.height_mm,
            }
        }
        Pq::MidSpanVerticality(m) => {
            positive(v, f("mid_span_verticality.height_mm"), m.height_mm);
            Quantity::MidSpanVerticality {
                height_mm: m.height_mm,
            }
        }
        Pq::LateralBending(l) => {
            positive(v, f("lateral_bending.span_mm"), l.span_mm);
            Quantity::LateralBending { span_mm: l.span_mm }
        }
        Pq::SpaceFrameDeflection(s) => {
            positive(
                v,
                f("space_frame_deflection.design_deflection_mm"),
                s.design_deflection_mm,
            );
            Quantity::SpaceFrameDeflection {
                design_mm: s.design_deflection_mm,
            }
        }
        Pq::Other(o) => {
            v.required(&f("other.name"), &o.name, SHORT);
            v.required(&f("other.unit"), &o.unit, 32);
            if o.lower_limit.is_none() && o.upper_limit.is_none() {
                v.add(f("other"), msg!("field-limit-required"));
            }
            if let (Some(l), Some(u)) = (o.lower_limit, o.upper_limit)
                && l > u
            {
                v.add(f("other.lower_limit"), msg!("field-lower-above-upper"));
            }
            Quantity::Other {
                nominal: o.nominal,
                lower: o.lower_limit,
                upper: o.upper_limit,
                rule: rule_of(o.rule),
            }
        }
    })
}

/// Checks a measurement; problems go to `v` under `field` (e.g. `measurements[2]`). The
/// instrument's calibration must be valid on the day of the measurement (`day_of` gives the
/// local date of an instant), and the measurement must not lie in the future nor outside its
/// record's `window`.
pub fn check(
    v: &mut Violations,
    field: &str,
    m: &common::Measurement,
    (now, window): (DateTime<Utc>, Window),
    day_of: impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Option<CheckedMeasurement> {
    let f = |name: &str| format!("{field}.{name}");
    let measure_time = match m.measure_time.as_ref() {
        None => {
            v.add(f("measure_time"), msg!("field-required"));
            None
        }
        Some(t) => match from_timestamp(t, "measure_time") {
            Ok(at) if at > now + TimeDelta::minutes(5) => {
                v.add(f("measure_time"), msg!("field-in-future"));
                None
            }
            Ok(at) => match window.refuses(at) {
                Some(why) => {
                    v.add(f("measure_time"), why);
                    None
                }
                None => Some(at),
            },
            Err(_) => {
                v.add(f("measure_time"), msg!("field-timestamp-range"));
                None
            }
        },
    };
    let quantity = quantity(v, field, m.quantity.as_ref(), measure_time, false);
    let member = v.optional(&f("member"), &m.member, SHORT);
    let location = v.optional(&f("location"), &m.location, SHORT);
    let instrument = match m.instrument.as_ref() {
        None => {
            v.add(f("instrument"), msg!("field-instrument-required"));
            None
        }
        Some(i) => {
            if matches!(
                common::InstrumentKind::try_from(i.kind),
                Err(_) | Ok(common::InstrumentKind::Unspecified)
            ) {
                v.add(f("instrument.kind"), msg!("field-required"));
            }
            v.required(&f("instrument.serial_number"), &i.serial_number, SHORT);
            let valid_until = v.date(
                &f("instrument.calibration_valid_until"),
                i.calibration_valid_until.as_ref(),
                true,
            );
            if let (Some(until), Some(at)) = (valid_until, measure_time)
                && until < day_of(at)
            {
                v.add(
                    f("instrument.calibration_valid_until"),
                    msg!("field-calibration-expired", until = until),
                );
            }
            Some(i.clone())
        }
    };
    if m.readings.is_empty() || m.readings.len() > MAX_READINGS {
        v.add(
            f("readings"),
            msg!("field-readings-count", max = MAX_READINGS),
        );
    } else if m.readings.iter().any(|r| !r.is_finite()) {
        v.add(f("readings"), msg!("field-not-finite"));
    }
    Some(CheckedMeasurement {
        quantity: quantity?,
        as_given: m.quantity.clone()?,
        member,
        location,
        instrument: instrument?,
        measure_time: measure_time?,
        readings: m.readings.clone(),
    })
}

/// Most measurements one record (a report, an inspection) carries.
pub const MAX_MEASUREMENTS: usize = 1000;

/// Checks and judges the measurements of one record under `field` (e.g. `measurements`),
/// taken within `window` and before `now`: ids are kept when given (unique within the record,
/// at most 64 characters), else `m1`, `m2`… by position. Every problem goes to `v`; the judged
/// measurements are returned.
pub fn check_all(
    v: &mut Violations,
    field: &str,
    table: &ToleranceTable,
    given: &[common::Measurement],
    (now, window): (DateTime<Utc>, Window),
    day_of: impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Vec<common::Measurement> {
    if given.len() > MAX_MEASUREMENTS {
        v.add(
            field,
            msg!("field-too-many-measurements", max = MAX_MEASUREMENTS),
        );
        return Vec::new();
    }
    let mut out: Vec<common::Measurement> = Vec::with_capacity(given.len());
    for (i, m) in given.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let id = if m.measurement_id.trim().is_empty() {
            format!("m{}", i + 1)
        } else {
            v.required(&format!("{f}.measurement_id"), &m.measurement_id, 64)
        };
        if out.iter().any(|o| o.measurement_id == id) {
            v.add(format!("{f}.measurement_id"), msg!("field-used-twice"));
        }
        let Some(checked) = check(v, &f, m, (now, window), &day_of) else {
            continue;
        };
        if let Some((judged, _)) = judge(v, &f, table, &checked, &id) {
            out.push(judged);
        }
    }
    out
}

/// Judges a checked measurement; a reading set the table cannot judge (a coating measured in
/// the wrong number of readings, a torque checked outside its window) is a violation of
/// `field`'s part. Returns the measurement as stored and returned, with its judgement.
pub fn judge(
    v: &mut Violations,
    field: &str,
    table: &ToleranceTable,
    m: &CheckedMeasurement,
    measurement_id: &str,
) -> Option<(common::Measurement, Judgement)> {
    match table.judge(&m.quantity, &m.readings) {
        Ok(j) => Some((to_proto(m, measurement_id, &j), j)),
        Err(err) => {
            v.add(format!("{field}.{}", err.field), err.message);
            None
        }
    }
}

/// Checks a quality criterion: a measurement to take later (a plan step's, an agreement's),
/// given as its quantity and member without readings or instrument. Returns it with the limit
/// it will be judged against (and the clause), not yet passed.
pub fn criterion(
    v: &mut Violations,
    field: &str,
    table: &ToleranceTable,
    m: &common::Measurement,
) -> Option<common::Measurement> {
    let quantity = quantity(v, field, m.quantity.as_ref(), None, true)?;
    let member = v.optional(&format!("{field}.member"), &m.member, SHORT);
    let location = v.optional(&format!("{field}.location"), &m.location, SHORT);
    if !m.readings.is_empty() {
        v.add(
            format!("{field}.readings"),
            msg!("field-criterion-has-readings"),
        );
    }
    let limit = match table.limit(&quantity) {
        Ok(limit) => limit,
        Err(err) => {
            v.add(format!("{field}.{}", err.field), err.message);
            return None;
        }
    };
    let criterion = limit.criterion_reason();
    Some(common::Measurement {
        measurement_id: String::new(),
        quantity: m.quantity.clone(),
        member,
        location,
        instrument: None,
        measure_time: None,
        readings: Vec::new(),
        judgement: Some(common::MeasurementJudgement {
            passed: false,
            nominal: limit.nominal,
            lower_limit: limit.lower,
            upper_limit: limit.upper,
            unit: limit.unit.clone(),
            rule: rule_proto(limit.rule),
            points: Vec::new(),
            within_share: 0.0,
            worst_ratio: 0.0,
            reason: criterion.english(),
            reason_zh: criterion.render(steelcare_i18n::Locale::chinese()),
            source: limit.source.english(),
            source_zh: limit.source.render(steelcare_i18n::Locale::chinese()),
        }),
    })
}

/// Whether two measurements measure the same kind of quantity (a criterion and a reading).
pub fn same_kind(a: &common::Measurement, b: &common::Measurement) -> bool {
    match (&a.quantity, &b.quantity) {
        (Some(x), Some(y)) => std::mem::discriminant(x) == std::mem::discriminant(y),
        _ => false,
    }
}

/// Whether a judged measurement answers a criterion: the same quantity judged against the same
/// limits (a reading cannot loosen what was agreed), on the same member when the criterion
/// names one.
pub fn answers(criterion: &common::Measurement, m: &common::Measurement) -> bool {
    let limits = |x: &common::Measurement| {
        x.judgement
            .as_ref()
            .map(|j| (j.nominal, j.lower_limit, j.upper_limit))
    };
    same_kind(criterion, m)
        && limits(criterion) == limits(m)
        && (criterion.member.is_empty() || criterion.member == m.member)
}

fn to_proto(m: &CheckedMeasurement, measurement_id: &str, j: &Judgement) -> common::Measurement {
    common::Measurement {
        measurement_id: measurement_id.to_owned(),
        quantity: Some(m.as_given.clone()),
        member: m.member.clone(),
        location: m.location.clone(),
        instrument: Some(m.instrument.clone()),
        measure_time: Some(to_timestamp(m.measure_time)),
        readings: m.readings.clone(),
        judgement: Some(common::MeasurementJudgement {
            passed: j.passed,
            nominal: j.limit.nominal,
            lower_limit: j.limit.lower,
            upper_limit: j.limit.upper,
            unit: j.limit.unit.clone(),
            rule: rule_proto(j.limit.rule),
            points: j
                .points
                .iter()
                .map(|p| common::JudgedPoint {
                    value: p.value,
                    deviation: p.deviation,
                    within: p.within,
                })
                .collect(),
            within_share: j.within_share,
            worst_ratio: if j.worst_ratio.is_finite() {
                j.worst_ratio
            } else {
                f64::MAX
            },
            source: j.limit.source.english(),
            source_zh: j.limit.source.render(steelcare_i18n::Locale::chinese()),
            reason: j.reason.english(),
            reason_zh: j.reason.render(steelcare_i18n::Locale::chinese()),
        }),
    }
}

fn rule_proto(rule: Rule) -> i32 {
    let rule = match rule {
        Rule::Main => common::JudgementRule::Main,
        Rule::General => common::JudgementRule::General,
    };
    rule as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn day(at: DateTime<Utc>) -> NaiveDate {
        at.date_naive()
    }

    fn gauge(valid_until: common::Date) -> common::Instrument {
        common::Instrument {
            kind: common::InstrumentKind::CoatingThicknessGauge as i32,
            serial_number: "CTG-0042".into(),
            calibration_valid_until: Some(valid_until),
        }
    }

    fn coating(readings: Vec<f64>) -> common::Measurement {
        common::Measurement {
            quantity: Some(Pq::CoatingThickness(common::CoatingThickness {
                indoor: false,
                design_thickness_um: 0.0,
                coats: 4,
                one_coat: false,
            })),
            member: "GZ-3".into(),
            location: "axis A/3, +1.2 m".into(),
            instrument: Some(gauge(common::Date {
                year: 2027,
                month: 12,
                day: 31,
            })),
            measure_time: Some(to_timestamp(now())),
            readings,
            ..Default::default()
        }
    }

    #[test]
    fn a_measurement_is_checked_and_judged_with_its_limit_and_clause() {
        let mut v = Violations::default();
        let checked = check(
            &mut v,
            "measurements[0]",
            &coating(vec![140.0; 15]),
            (now(), Window::inspection(now())),
            day,
        )
        .expect("checked");
        let (stored, judgement) = judge(
            &mut v,
            "measurements[0]",
            ToleranceTable::shipped(),
            &checked,
            "m-1",
        )
        .expect("judged");
        assert!(v.is_empty());
        assert!(judgement.passed);
        let j = stored.judgement.expect("judgement");
        assert_eq!(j.lower_limit, Some(125.0));
        assert!(j.source.contains("14.2.2"), "{}", j.source);
        assert_eq!(j.points.len(), 5);
        assert_eq!(stored.measurement_id, "m-1");
    }

    #[test]
    fn every_problem_is_named_and_an_expired_calibration_is_refused() {
        let mut m = coating(vec![140.0; 14]);
        m.instrument = Some(gauge(common::Date {
            year: 2026,
            month: 1,
            day: 1,
        }));
        let mut v = Violations::default();
        let checked = check(
            &mut v,
            "measurements[1]",
            &m,
            (now(), Window::inspection(now())),
            day,
        );
        let fields: Vec<String> = match v.finish(()) {
            Err(crate::ApiError::InvalidArgument(violations)) => {
                violations.into_iter().map(|x| x.field).collect()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            fields,
            ["measurements[1].instrument.calibration_valid_until"]
        );
        // The reading count is the table's to judge.
        let mut v = Violations::default();
        let checked = checked.expect("the rest is fine");
        assert!(judge(&mut v, "m", ToleranceTable::shipped(), &checked, "x").is_none());
        assert!(!v.is_empty());

        let mut v = Violations::default();
        let empty = common::Measurement::default();
        assert!(check(&mut v, "m", &empty, (now(), Window::inspection(now())), day).is_none());
        let fields: Vec<String> = match v.finish(()) {
            Err(crate::ApiError::InvalidArgument(violations)) => {
                violations.into_iter().map(|x| x.field).collect()
            }
            other => panic!("{other:?}"),
        };
        for expected in ["m.measure_time", "m.quantity", "m.instrument", "m.readings"] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected}: {fields:?}"
            );
        }
    }

    #[test]
    fn torque_is_judged_by_the_time_since_tightening() {
        let torque = |hours: i64| common::Measurement {
            quantity: Some(Pq::BoltTorque(common::BoltTorque {
                target_torque_nm: 500.0,
                tightening_time: Some(to_timestamp(now() - chrono::TimeDelta::hours(hours))),
            })),
            instrument: Some(common::Instrument {
                kind: common::InstrumentKind::TorqueWrench as i32,
                serial_number: "TW-7".into(),
                calibration_valid_until: Some(common::Date {
                    year: 2027,
                    month: 6,
                    day: 30,
                }),
            }),
            measure_time: Some(to_timestamp(now())),
            readings: vec![480.0, 520.0, 545.0],
            ..Default::default()
        };
        let mut v = Violations::default();
        let checked = check(
            &mut v,
            "m",
            &torque(3),
            (now(), Window::inspection(now())),
            day,
        )
        .expect("checked");
        let (_, j) = judge(&mut v, "m", ToleranceTable::shipped(), &checked, "t").expect("judged");
        assert!(j.passed && v.is_empty());
        let mut v = Violations::default();
        let checked = check(
            &mut v,
            "m",
            &torque(72),
            (now(), Window::inspection(now())),
            day,
        )
        .expect("checked");
        assert!(judge(&mut v, "m", ToleranceTable::shipped(), &checked, "t").is_none());
        match v.finish(()) {
            Err(crate::ApiError::InvalidArgument(violations)) => {
                assert_eq!(violations[0].field, "m.tightening_time")
            }
            other => panic!("{other:?}"),
        }
    }
}
