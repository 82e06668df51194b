//! Judging measurements against the acceptance tolerances (MISSION §4.2, Appendix A; GB 50205).
//! The table is data (`data/tolerances.toml`, every row with its source clause); this module
//! computes the limit a quantity is held to and judges readings by the row's rule:
//!
//! - main-control items: every point within the limit (coating thickness: every spot, each the
//!   mean of its readings);
//! - general items: at least 80 % of the points within and the worst at most 1.2 × the limit.
//!
//! The same judgement serves the survey, key-step inspections, self-inspection and customer
//! acceptance, so a reading means the same thing at every step.

use std::sync::LazyLock;
use steelcare_i18n::{Arg, Msg, msg};

use serde::Deserialize;

/// The shipped table.
pub const TOLERANCES_TOML: &str = include_str!("../data/tolerances.toml");

/// How an item is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Every point within the limit.
    Main,
    /// A share of the points within, the worst within a factor of the limit.
    General,
}

/// Single-storey or multi-storey (and high-rise) frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storey {
    /// Single-storey.
    Single,
    /// Multi-storey or high-rise.
    Multi,
}

/// What was measured, with the dimensions its limit depends on. Lengths in mm.
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    /// Total dry film thickness of the coating (µm); `design_um` `None` = the code's default.
    CoatingDryFilm {
        /// Indoors (else outdoors).
        indoor: bool,
        /// Design total thickness, when the design gives one.
        design_um: Option<f64>,
        /// Number of coats.
        coats: u32,
        /// The readings are of one coat (held to its share of the design thickness, −5 µm),
        /// not of the total (−25 µm).
        one_coat: bool,
    },
    /// Final torque of high-strength bolts (N·m) against the target, checked some hours after
    /// tightening.
    BoltFinalTorque {
        /// Target torque.
        target_nm: f64,
        /// Hours between final tightening and the check: required to judge readings (they are
        /// taken in the row's window after tightening), absent in a criterion (a plan's or an
        /// agreement's), which states only the limit.
        hours_after_tightening: Option<f64>,
    },
    /// Twist-off bolts whose spline end did not break off, counted per node.
    TwistOffSplines {
        /// Bolts in the node.
        bolts_in_node: u32,
    },
    /// Overall verticality of the frame (deviation, mm) of height `height_mm`.
    OverallVerticality {
        /// Frame height H.
        height_mm: f64,
        /// Single- or multi-storey.
        storey: Storey,
    },
    /// Verticality of a single column section of height `height_mm`.
    ColumnVerticality {
        /// Section height h.
        height_mm: f64,
    },
    /// Mid-span verticality of a truss or beam of depth `height_mm`.
    MidSpanVerticality {
        /// Depth h.
        height_mm: f64,
    },
    /// Lateral bending (sagitta, mm) of a member of span `span_mm`.
    LateralBending {
        /// Span l.
        span_mm: f64,
    },
    /// Measured deflection of a space frame against its design deflection.
    SpaceFrameDeflection {
        /// Design deflection.
        design_mm: f64,
    },
    /// Anything else: the caller gives the nominal value, the limits and the rule.
    Other {
        /// Nominal value.
        nominal: f64,
        /// Lowest acceptable value.
        lower: Option<f64>,
        /// Highest acceptable value.
        upper: Option<f64>,
        /// How the item is judged.
        rule: Rule,
    },
}

/// The limit a quantity is held to.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// The value aimed at (0 for deviations).
    pub nominal: f64,
    /// Lowest acceptable value.
    pub lower: Option<f64>,
    /// Highest acceptable value.
    pub upper: Option<f64>,
    /// Unit of the readings.
    pub unit: String,
    /// How the item is judged.
    pub rule: Rule,
    /// Where the limit comes from: the clause and what it says, as the table writes it in
    /// English and in Chinese.
    pub source: Msg,
    /// The nominal and the allowed deviation as an engineer writes them, with how the limit
    /// follows from the member's dimension (e.g. "H/1000 = 12 mm, and at most 25 mm"), in
    /// English and in Chinese.
    pub basis: Msg,
}

impl Limit {
    /// How far `value` is from the nominal, as a fraction of the allowed deviation on its
    /// side (1.0 = exactly at the limit; 0 when there is no limit on that side).
    pub fn ratio(&self, value: f64) -> f64 {
        let (bound, span) = if value < self.nominal {
            (self.lower, self.nominal - value)
        } else {
            (self.upper, value - self.nominal)
        };
        match bound {
            Some(b) if (b - self.nominal).abs() > f64::EPSILON => span / (b - self.nominal).abs(),
            Some(_) if span > 0.0 => f64::INFINITY,
            Some(_) | None => 0.0,
        }
    }

    /// What a criterion (a measurement still to take) says: the basis, judged when measured.
    pub fn criterion_reason(&self) -> Msg {
        msg!("tolerance-criterion", basis = self.basis.clone())
    }

    /// Whether `value` is within the limit.
    pub fn contains(&self, value: f64) -> bool {
        self.lower.is_none_or(|l| value >= l) && self.upper.is_none_or(|u| value <= u)
    }
}

/// One point (a reading, or a coating spot's mean).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The value judged.
    pub value: f64,
    /// `value - nominal`.
    pub deviation: f64,
    /// Whether it is within the limit.
    pub within: bool,
}

/// The verdict on an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Passed.
    pub passed: bool,
    /// The limit used.
    pub limit: Limit,
    /// Each point.
    pub points: Vec<Point>,
    /// Share of the points within the limit.
    pub within_share: f64,
    /// The worst point's deviation as a fraction of the allowed deviation.
    pub worst_ratio: f64,
    /// Why, in words: the limit's basis and the verdict, in English and in Chinese.
    pub reason: Msg,
}

/// Readings or dimensions that cannot be judged; names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ToleranceError {
    /// `readings`, or the dimension at fault.
    pub field: &'static str,
    /// What is wrong, from the catalogue.
    pub message: Msg,
}

/// A clause of the table, in the reader's language.
fn clause(en: &str, zh: &str) -> Msg {
    Msg::new("tolerance-clause").with(
        "text",
        Arg::Written(vec![
            ("en".to_owned(), en.to_owned()),
            ("zh-CN".to_owned(), zh.to_owned()),
        ]),
    )
}

fn bad(field: &'static str, message: Msg) -> ToleranceError {
    ToleranceError { field, message }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct General {
    general_share: f64,
    general_worst_factor: f64,
    source: String,
    source_zh: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Coating {
    unit: String,
    rule: Rule,
    design_outdoor: f64,
    design_indoor: f64,
    total_lower: f64,
    per_coat_lower: f64,
    spots: usize,
    readings_per_spot: usize,
    /// What an instrument can read for this quantity: a reading outside is refused.
    range: [f64; 2],
    source: String,
    source_zh: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Torque {
    unit: String,
    rule: Rule,
    lower_fraction: f64,
    upper_fraction: f64,
    check_after_hours: f64,
    check_before_hours: f64,
    /// What an instrument can read for this quantity: a reading outside is refused.
    range: [f64; 2],
    source: String,
    source_zh: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Splines {
    unit: String,
    rule: Rule,
    max_fraction: f64,
    source: String,
    source_zh: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ratio {
    unit: String,
    rule: Rule,
    ratio: f64,
    #[serde(default)]
    offset: f64,
    #[serde(default)]
    cap: Option<f64>,
    /// (largest span, cap) pairs in increasing span.
    #[serde(default)]
    caps: Vec<(f64, f64)>,
    /// What an instrument can read for this quantity: a reading outside is refused.
    range: [f64; 2],
    source: String,
    source_zh: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deflection {
    unit: String,
    rule: Rule,
    design_factor: f64,
    /// What an instrument can read for this quantity: a reading outside is refused.
    range: [f64; 2],
    source: String,
    source_zh: String,
}

/// The tolerance table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToleranceTable {
    general: General,
    coating_dry_film_thickness: Coating,
    bolt_final_torque: Torque,
    twist_off_splines: Splines,
    verticality_single_storey: Ratio,
    verticality_multi_storey: Ratio,
    verticality_single_column: Ratio,
    mid_span_verticality: Ratio,
    lateral_bending: Ratio,
    space_frame_deflection: Deflection,
}

/// The largest magnitude a reading of an `Other` quantity may have: no instrument reads more.
const OTHER_BOUND: f64 = 1.0e9;

/// What a ratio row measures (the catalogue's clause title).
type Deviation = &'static str;

const VERTICALITY_SINGLE: Deviation = "tolerance-verticality-single";
const VERTICALITY_MULTI: Deviation = "tolerance-verticality-multi";
const COLUMN_VERTICALITY: Deviation = "tolerance-column-verticality";
const MID_SPAN_VERTICALITY: Deviation = "tolerance-mid-span-verticality";
const LATERAL_BENDING: Deviation = "tolerance-lateral-bending";

/// A number as an engineer writes it: whole numbers without decimals, else at most two.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "∞".to_owned();
    }
    let rounded = (x * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// A number with its sign: "+6.5", "−25" (a true minus sign), "0".
fn signed(x: f64) -> String {
    let n = num(x.abs());
    if n == "0" {
        n
    } else if x < 0.0 {
        format!("−{n}")
    } else {
        format!("+{n}")
    }
}

/// A deviation limit computed from a member's dimension (H/1000 …), symmetric around 0.
fn by_ratio(
    row: &Ratio,
    what: Deviation,
    symbol: &str,
    field: &'static str,
    dimension: f64,
) -> Result<Limit, ToleranceError> {
    let d = positive(field, dimension)?;
    let computed = d / row.ratio + row.offset;
    let cap = row
        .caps
        .iter()
        .find(|(span, _)| d <= *span)
        .map(|(_, cap)| *cap)
        .into_iter()
        .chain(row.cap)
        .reduce(f64::min);
    let limit = cap.map_or(computed, |c| computed.min(c));
    let unit = &row.unit;
    let offset = if row.offset == 0.0 {
        String::new()
    } else {
        format!(" + {} {unit}", num(row.offset))
    };
    let formula = format!(
        "{symbol}/{}{offset} = {}/{}{offset} = {} {unit}",
        num(row.ratio),
        num(d),
        num(row.ratio),
        num(computed)
    );
    let cap = match cap {
        Some(c) if computed > c => msg!("tolerance-cap-capped", cap = num(c), unit = unit.as_str()),
        Some(c) => msg!("tolerance-cap-at-most", cap = num(c), unit = unit.as_str()),
        None => msg!("tolerance-cap-none"),
    };
    let allowed = num(limit);
    Ok(Limit {
        nominal: 0.0,
        lower: Some(-limit),
        upper: Some(limit),
        unit: row.unit.clone(),
        rule: row.rule,
        source: clause(&row.source, &row.source_zh),
        basis: msg!(
            "tolerance-by-ratio",
            what = Msg::new(what),
            unit = unit.as_str(),
            allowed = allowed,
            formula = formula,
            cap = cap
        ),
    })
}

/// The limits a caller gave for a quantity the table does not know.
fn other_limit(
    nominal: f64,
    lower: Option<f64>,
    upper: Option<f64>,
    rule: Rule,
) -> Result<Limit, ToleranceError> {
    if lower.is_none() && upper.is_none() {
        return Err(bad("limits", msg!("field-limit-required")));
    }
    let bounded = |v: f64| v.is_finite() && v.abs() <= OTHER_BOUND;
    if !bounded(nominal) || !lower.is_none_or(bounded) || !upper.is_none_or(bounded) {
        return Err(bad(
            "limits",
            msg!("field-limits-too-large", max = num(OTHER_BOUND)),
        ));
    }
    if let (Some(l), Some(u)) = (lower, upper)
        && l > u
    {
        return Err(bad("limits", msg!("field-lower-above-upper")));
    }
    let n = num(nominal);
    let basis = match (lower, upper) {
        (Some(l), Some(u)) => msg!(
            "tolerance-other-range",
            nominal = n,
            lower = num(l),
            upper = num(u)
        ),
        (Some(l), None) => msg!("tolerance-other-at-least", nominal = n, lower = num(l)),
        (None, Some(u)) => msg!("tolerance-other-at-most", nominal = n, upper = num(u)),
        (None, None) => msg!("tolerance-other-nominal", nominal = n),
    };
    Ok(Limit {
        nominal,
        lower,
        upper,
        unit: String::new(),
        rule,
        source: Msg::new("tolerance-source-given"),
        basis,
    })
}

/// The verdict in words, with grammar for one point and for many.
fn verdict(
    limit: &Limit,
    points: &[Point],
    within_share: f64,
    worst_ratio: f64,
    g: &General,
) -> Msg {
    let n = points.len();
    let failed = points.iter().filter(|p| !p.within).count();
    let unit = limit.unit.as_str();
    let largest = points
        .iter()
        .map(|p| p.deviation)
        .fold(0.0_f64, |a, b| if b.abs() > a.abs() { b } else { a });
    let largest = signed(largest);
    match limit.rule {
        Rule::Main => {
            let points = match (n, failed) {
                (1, 0) => msg!("tolerance-main-one-within"),
                (1, _) => msg!("tolerance-main-one-outside"),
                (_, 0) => msg!("tolerance-main-all-within", points = n),
                _ => msg!("tolerance-main-some-outside", failed = failed, points = n),
            };
            msg!(
                "tolerance-main-verdict",
                verdict = points,
                largest = largest,
                unit = unit
            )
        }
        Rule::General => msg!(
            "tolerance-general-verdict",
            share = num(within_share * 100.0),
            points = n,
            needed = num(g.general_share * 100.0),
            worst = num(worst_ratio),
            factor = num(g.general_worst_factor),
            largest = largest,
            unit = unit
        ),
    }
}

fn positive(field: &'static str, value: f64) -> Result<f64, ToleranceError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(bad(field, msg!("field-not-positive")))
    }
}

impl ToleranceTable {
    /// Parses a table in the shipped file's format.
    pub fn from_toml(text: &str) -> Result<ToleranceTable, String> {
        let table: ToleranceTable = toml::from_str(text).map_err(|err| err.to_string())?;
        let g = &table.general;
        if !(0.0..=1.0).contains(&g.general_share) || g.general_worst_factor < 1.0 {
            return Err("general_share must be in 0..1 and general_worst_factor at least 1".into());
        }
        if table.coating_dry_film_thickness.spots == 0
            || table.coating_dry_film_thickness.readings_per_spot == 0
        {
            return Err("coating spots and readings per spot must be positive".into());
        }
        for [low, high] in [
            table.coating_dry_film_thickness.range,
            table.bolt_final_torque.range,
            table.verticality_single_storey.range,
            table.verticality_multi_storey.range,
            table.verticality_single_column.range,
            table.mid_span_verticality.range,
            table.lateral_bending.range,
            table.space_frame_deflection.range,
        ] {
            if !(low.is_finite() && high.is_finite() && low < high) {
                return Err(format!(
                    "reading range [{low}, {high}] must be finite and increasing"
                ));
            }
        }
        Ok(table)
    }

    /// The shipped table (GB 50205-2001 figures).
    pub fn shipped() -> &'static ToleranceTable {
        static SHIPPED: LazyLock<ToleranceTable> =
            LazyLock::new(|| match ToleranceTable::from_toml(TOLERANCES_TOML) {
                Ok(table) => table,
                // The file is part of the build and covered by tests.
                Err(err) => unreachable!("shipped tolerance table is invalid: {err}"),
            });
        &SHIPPED
    }

    /// The limit `quantity` is held to.
    pub fn limit(&self, quantity: &Quantity) -> Result<Limit, ToleranceError> {
        match quantity {
            Quantity::CoatingDryFilm {
                indoor,
                design_um,
                coats,
                one_coat,
            } => self.coating_limit(*indoor, *design_um, *coats, *one_coat),
            Quantity::BoltFinalTorque { target_nm, .. } => {
                let row = &self.bolt_final_torque;
                let target = positive("target_torque", *target_nm)?;
                let (lower, upper) = (
                    target * (1.0 + row.lower_fraction),
                    target * (1.0 + row.upper_fraction),
                );
                let (lf, uf) = (
                    signed(row.lower_fraction * 100.0),
                    signed(row.upper_fraction * 100.0),
                );
                let (t, l, u, unit) = (num(target), num(lower), num(upper), &row.unit);
                Ok(Limit {
                    nominal: target,
                    lower: Some(lower),
                    upper: Some(upper),
                    unit: row.unit.clone(),
                    rule: row.rule,
                    source: clause(&row.source, &row.source_zh),
                    basis: msg!(
                        "tolerance-torque",
                        target = t,
                        lower = l,
                        upper = u,
                        unit = unit.as_str(),
                        lower_pct = lf,
                        upper_pct = uf
                    ),
                })
            }
            Quantity::TwistOffSplines { bolts_in_node } => {
                let row = &self.twist_off_splines;
                if *bolts_in_node == 0 {
                    return Err(bad("bolts_in_node", msg!("field-at-least", min = 1)));
                }
                let upper = row.max_fraction * f64::from(*bolts_in_node);
                let (u, n, pct) = (num(upper), bolts_in_node, num(row.max_fraction * 100.0));
                Ok(Limit {
                    nominal: 0.0,
                    lower: Some(0.0),
                    upper: Some(upper),
                    unit: row.unit.clone(),
                    rule: row.rule,
                    source: clause(&row.source, &row.source_zh),
                    basis: msg!("tolerance-splines", most = u, bolts = *n, pct = pct),
                })
            }
            Quantity::OverallVerticality { height_mm, storey } => {
                let (row, what) = match storey {
                    Storey::Single => (&self.verticality_single_storey, VERTICALITY_SINGLE),
                    Storey::Multi => (&self.verticality_multi_storey, VERTICALITY_MULTI),
                };
                by_ratio(row, what, "H", "height", *height_mm)
            }
            Quantity::ColumnVerticality { height_mm } => by_ratio(
                &self.verticality_single_column,
                COLUMN_VERTICALITY,
                "h",
                "height",
                *height_mm,
            ),
            Quantity::MidSpanVerticality { height_mm } => by_ratio(
                &self.mid_span_verticality,
                MID_SPAN_VERTICALITY,
                "h",
                "height",
                *height_mm,
            ),
            Quantity::LateralBending { span_mm } => by_ratio(
                &self.lateral_bending,
                LATERAL_BENDING,
                "l",
                "span",
                *span_mm,
            ),
            Quantity::SpaceFrameDeflection { design_mm } => {
                let row = &self.space_frame_deflection;
                let design = positive("design_deflection", *design_mm)?;
                let upper = design * row.design_factor;
                let (d, u, f, unit) = (num(design), num(upper), num(row.design_factor), &row.unit);
                Ok(Limit {
                    nominal: design,
                    lower: None,
                    upper: Some(upper),
                    unit: row.unit.clone(),
                    rule: row.rule,
                    source: clause(&row.source, &row.source_zh),
                    basis: msg!(
                        "tolerance-deflection",
                        design = d,
                        most = u,
                        factor = f,
                        unit = unit.as_str()
                    ),
                })
            }
            Quantity::Other {
                nominal,
                lower,
                upper,
                rule,
            } => other_limit(*nominal, *lower, *upper, *rule),
        }
    }

    fn coating_limit(
        &self,
        indoor: bool,
        design_um: Option<f64>,
        coats: u32,
        one_coat: bool,
    ) -> Result<Limit, ToleranceError> {
        let row = &self.coating_dry_film_thickness;
        if coats == 0 {
            return Err(bad("coats", msg!("field-at-least", min = 1)));
        }
        let (design, default) = match design_um {
            Some(d) => (positive("design_thickness", d)?, None),
            None if indoor => (row.design_indoor, Some("tolerance-coating-default-indoors")),
            None => (
                row.design_outdoor,
                Some("tolerance-coating-default-outdoors"),
            ),
        };
        let (nominal, tolerance) = if one_coat {
            (design / f64::from(coats), row.per_coat_lower)
        } else {
            (design, row.total_lower)
        };
        let lower = nominal + tolerance;
        let (n, l, t, unit, per) = (
            num(nominal),
            num(lower),
            signed(tolerance),
            &row.unit,
            row.readings_per_spot,
        );
        let what = if one_coat {
            msg!(
                "tolerance-coating-one-coat",
                coats = coats,
                design = n.as_str(),
                unit = unit.as_str()
            )
        } else {
            msg!(
                "tolerance-coating-total",
                design = n.as_str(),
                unit = unit.as_str()
            )
        };
        let default = Msg::new(default.unwrap_or("tolerance-coating-default-none"));
        Ok(Limit {
            nominal,
            lower: Some(lower),
            upper: None,
            unit: row.unit.clone(),
            rule: row.rule,
            source: clause(&row.source, &row.source_zh),
            basis: msg!(
                "tolerance-coating",
                what = what,
                default = default,
                per = per,
                least = l,
                unit = unit.as_str(),
                tolerance = t
            ),
        })
    }

    /// What an instrument can read for `quantity`: a reading outside is not a measurement.
    fn reading_range(&self, quantity: &Quantity) -> [f64; 2] {
        match quantity {
            Quantity::CoatingDryFilm { .. } => self.coating_dry_film_thickness.range,
            Quantity::BoltFinalTorque { .. } => self.bolt_final_torque.range,
            Quantity::TwistOffSplines { bolts_in_node } => [0.0, f64::from(*bolts_in_node)],
            Quantity::OverallVerticality {
                storey: Storey::Single,
                ..
            } => self.verticality_single_storey.range,
            Quantity::OverallVerticality {
                storey: Storey::Multi,
                ..
            } => self.verticality_multi_storey.range,
            Quantity::ColumnVerticality { .. } => self.verticality_single_column.range,
            Quantity::MidSpanVerticality { .. } => self.mid_span_verticality.range,
            Quantity::LateralBending { .. } => self.lateral_bending.range,
            Quantity::SpaceFrameDeflection { .. } => self.space_frame_deflection.range,
            Quantity::Other { .. } => [-OTHER_BOUND, OTHER_BOUND],
        }
    }

    /// Refuses readings an instrument cannot give, and torque readings taken outside the
    /// row's window after final tightening.
    fn check_readings(&self, quantity: &Quantity, readings: &[f64]) -> Result<(), ToleranceError> {
        if readings.is_empty() {
            return Err(bad("readings", msg!("field-at-least", min = 1)));
        }
        if readings.iter().any(|r| !r.is_finite()) {
            return Err(bad("readings", msg!("field-not-finite")));
        }
        let [low, high] = self.reading_range(quantity);
        if let Some((i, r)) = readings
            .iter()
            .enumerate()
            .find(|(_, r)| !(low..=high).contains(*r))
        {
            return Err(bad(
                "readings",
                msg!(
                    "field-reading-out-of-instrument-range",
                    index = i + 1,
                    value = num(*r),
                    low = num(low),
                    high = num(high)
                ),
            ));
        }
        if let Quantity::BoltFinalTorque {
            hours_after_tightening,
            ..
        } = quantity
        {
            let row = &self.bolt_final_torque;
            match hours_after_tightening {
                None => {
                    return Err(bad(
                        "tightening_time",
                        msg!("field-tightening-time-required"),
                    ));
                }
                Some(h) if !(row.check_after_hours..=row.check_before_hours).contains(h) => {
                    return Err(bad(
                        "tightening_time",
                        msg!(
                            "field-torque-window",
                            after = num(row.check_after_hours),
                            before = num(row.check_before_hours),
                            hours = format!("{h:.1}")
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Judges `readings` of `quantity`. Coating readings come in spots (5 spots of 3 readings
    /// by default, in order); every other reading is one point.
    pub fn judge(
        &self,
        quantity: &Quantity,
        readings: &[f64],
    ) -> Result<Judgement, ToleranceError> {
        self.check_readings(quantity, readings)?;
        let limit = self.limit(quantity)?;
        let values: Vec<f64> = match quantity {
            Quantity::CoatingDryFilm { .. } => {
                let row = &self.coating_dry_film_thickness;
                let per = row.readings_per_spot;
                if readings.len() != row.spots * per {
                    return Err(bad(
                        "readings",
                        msg!(
                            "field-coating-spots",
                            spots = row.spots,
                            per = per,
                            total = row.spots * per,
                            got = readings.len()
                        ),
                    ));
                }
                readings
                    .chunks(per)
                    .map(|spot| spot.iter().sum::<f64>() / spot.len() as f64)
                    .collect()
            }
            Quantity::TwistOffSplines { .. } if readings.iter().any(|r| r.fract() != 0.0) => {
                return Err(bad("readings", msg!("field-whole-numbers")));
            }
            _ => readings.to_vec(),
        };
        let points: Vec<Point> = values
            .iter()
            .map(|v| Point {
                value: *v,
                deviation: v - limit.nominal,
                within: limit.contains(*v),
            })
            .collect();
        let within = points.iter().filter(|p| p.within).count();
        let within_share = within as f64 / points.len() as f64;
        let worst_ratio = values.iter().map(|v| limit.ratio(*v)).fold(0.0, f64::max);
        let g = &self.general;
        let passed = match limit.rule {
            Rule::Main => within == points.len(),
            Rule::General => {
                within_share + 1e-9 >= g.general_share
                    && worst_ratio <= g.general_worst_factor + 1e-9
            }
        };
        let verdict = verdict(&limit, &points, within_share, worst_ratio, g);
        let reason = msg!(
            "tolerance-reason",
            basis = limit.basis.clone(),
            verdict = verdict
        );
        Ok(Judgement {
            passed,
            limit,
            points,
            within_share,
            worst_ratio,
            reason,
        })
    }

    /// Where the general-item rule comes from.
    pub fn general_rule_source(&self) -> Msg {
        clause(&self.general.source, &self.general.source_zh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zh() -> steelcare_i18n::Locale {
        steelcare_i18n::Locale::chinese()
    }
    use proptest::prelude::*;

    fn table() -> &'static ToleranceTable {
        ToleranceTable::shipped()
    }

    fn band(q: Quantity) -> (Option<f64>, Option<f64>) {
        let l = table().limit(&q).unwrap();
        (l.lower, l.upper)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    /// Every row against the figures of MISSION Appendix A.
    #[test]
    fn every_row_gives_the_appendix_a_figures() {
        use Quantity::*;
        let coating = |indoor, design_um, coats| CoatingDryFilm {
            indoor,
            design_um,
            coats,
            one_coat: false,
        };
        // Coating: 150 µm outdoors, 125 µm indoors where the design is silent, −25 µm.
        assert_eq!(band(coating(false, None, 5)), (Some(125.0), None));
        assert_eq!(band(coating(true, None, 5)), (Some(100.0), None));
        // Each coat −5 µm: one of two coats of a 200 µm design is held to 95 µm.
        let one = CoatingDryFilm {
            indoor: false,
            design_um: Some(200.0),
            coats: 2,
            one_coat: true,
        };
        assert_eq!(band(one), (Some(95.0), None));
        assert_eq!(band(coating(false, Some(200.0), 2)), (Some(175.0), None));
        // Torque ±10 % of the target.
        let (l, u) = band(BoltFinalTorque {
            target_nm: 500.0,
            hours_after_tightening: Some(2.0),
        });
        assert!(close(l, 450.0) && close(u, 550.0));
        // Twist-off splines: at most 5 % of the node's bolts.
        assert_eq!(
            band(TwistOffSplines { bolts_in_node: 20 }),
            (Some(0.0), Some(1.0))
        );
        let vertical = |h, storey| OverallVerticality {
            height_mm: h,
            storey,
        };
        // Single storey H/1000, at most 25 mm.
        assert!(close(band(vertical(10_000.0, Storey::Single)).1, 10.0));
        assert!(close(band(vertical(30_000.0, Storey::Single)).1, 25.0));
        // Multi-storey H/2500 + 10 mm, at most 50 mm.
        assert!(close(band(vertical(50_000.0, Storey::Multi)).1, 30.0));
        assert!(close(band(vertical(120_000.0, Storey::Multi)).1, 50.0));
        // Single column section h/1000, at most 10 mm.
        assert!(close(band(ColumnVerticality { height_mm: 4_000.0 }).1, 4.0));
        assert!(close(
            band(ColumnVerticality {
                height_mm: 12_000.0
            })
            .1,
            10.0
        ));
        // Mid-span verticality h/250, at most 15 mm.
        assert!(close(
            band(MidSpanVerticality { height_mm: 2_000.0 }).1,
            8.0
        ));
        assert!(close(
            band(MidSpanVerticality { height_mm: 5_000.0 }).1,
            15.0
        ));
        // Lateral bending l/1000: at most 10 (l ≤ 30 m), 30 (30–60 m), 50 mm (> 60 m).
        assert!(close(band(LateralBending { span_mm: 8_000.0 }).1, 8.0));
        assert!(close(band(LateralBending { span_mm: 24_000.0 }).1, 10.0));
        assert!(close(band(LateralBending { span_mm: 45_000.0 }).1, 30.0));
        assert!(close(band(LateralBending { span_mm: 72_000.0 }).1, 50.0));
        // Space frame deflection at most 1.15 × the design value.
        assert_eq!(
            band(SpaceFrameDeflection { design_mm: 40.0 }),
            (None, Some(46.0))
        );
        for q in [
            coating(false, None, 5),
            vertical(10_000.0, Storey::Single),
            LateralBending { span_mm: 1.0 },
        ] {
            assert!(
                table()
                    .limit(&q)
                    .unwrap()
                    .source
                    .english()
                    .contains("GB 50205")
            );
        }
    }

    #[test]
    fn coating_is_judged_by_spot_means() {
        let q = Quantity::CoatingDryFilm {
            indoor: false,
            design_um: None,
            coats: 5,
            one_coat: false,
        };
        // Spot 2 has one thin reading but its mean is 130 µm ≥ 125 µm: passes.
        let mut readings = vec![150.0; 15];
        readings[3] = 90.0;
        let j = table().judge(&q, &readings).unwrap();
        assert!(j.passed, "{}", j.reason.english());
        assert_eq!(j.points.len(), 5);
        assert!((j.points[1].value - 130.0).abs() < 1e-9);
        // One spot whose mean is 120 µm fails the member.
        readings[3] = 60.0;
        let j = table().judge(&q, &readings).unwrap();
        assert!(!j.passed);
        let err = table().judge(&q, &readings[..14]).unwrap_err();
        assert_eq!(err.field, "readings");
    }

    #[test]
    fn torque_is_checked_only_in_its_window_and_nonsense_is_refused() {
        let late = Quantity::BoltFinalTorque {
            target_nm: 500.0,
            hours_after_tightening: Some(72.0),
        };
        assert_eq!(
            table().judge(&late, &[500.0]).unwrap_err().field,
            "tightening_time"
        );
        // A criterion (a plan's) states the limit with no tightening time; readings need one.
        let criterion = Quantity::BoltFinalTorque {
            target_nm: 500.0,
            hours_after_tightening: None,
        };
        let limit = table().limit(&criterion).unwrap();
        assert!(limit.source.english().contains("6.3.2"), "{}", limit.source);
        assert_eq!(
            limit.basis.english(),
            "Final torque, target 500 N·m; each bolt from 450 to 550 N·m (−10 % to +10 %)"
        );
        assert_eq!(
            table().judge(&criterion, &[500.0]).unwrap_err().field,
            "tightening_time"
        );
        let q = Quantity::ColumnVerticality { height_mm: 4_000.0 };
        assert_eq!(table().judge(&q, &[]).unwrap_err().field, "readings");
        assert_eq!(
            table().judge(&q, &[f64::NAN]).unwrap_err().field,
            "readings"
        );
        let bad_height = Quantity::ColumnVerticality { height_mm: -1.0 };
        assert_eq!(
            table().judge(&bad_height, &[1.0]).unwrap_err().field,
            "height"
        );
        let no_limits = Quantity::Other {
            nominal: 0.0,
            lower: None,
            upper: None,
            rule: Rule::General,
        };
        assert_eq!(
            table().judge(&no_limits, &[1.0]).unwrap_err().field,
            "limits"
        );
        let splines = Quantity::TwistOffSplines { bolts_in_node: 20 };
        assert!(table().judge(&splines, &[1.0, 0.0]).unwrap().passed);
        assert!(!table().judge(&splines, &[2.0]).unwrap().passed);
        assert!(table().judge(&splines, &[0.5]).is_err());
    }

    #[test]
    fn general_items_pass_at_eighty_percent_with_the_worst_under_one_point_two() {
        // Column section of 4 m: ±4 mm.
        let q = Quantity::ColumnVerticality { height_mm: 4_000.0 };
        let pass = [1.0, 2.0, 3.0, -3.9, 4.8];
        let j = table().judge(&q, &pass).unwrap();
        assert!(j.passed, "{}", j.reason.english());
        assert!((j.within_share - 0.8).abs() < 1e-9);
        let too_far = [1.0, 2.0, 3.0, -3.9, 4.9];
        assert!(!table().judge(&q, &too_far).unwrap().passed);
        let too_many = [1.0, 2.0, 4.1, -4.1, 0.0];
        assert!(!table().judge(&q, &too_many).unwrap().passed);
    }

    #[test]
    fn readings_no_instrument_gives_are_refused() {
        let coating = Quantity::CoatingDryFilm {
            indoor: false,
            design_um: None,
            coats: 3,
            one_coat: false,
        };
        let mut readings = vec![150.0; 15];
        readings[4] = -150.0;
        let err = table().judge(&coating, &readings).unwrap_err();
        assert_eq!(err.field, "readings");
        assert!(
            err.message.english().contains("reading 5 (-150)"),
            "{}",
            err.message
        );
        assert!(
            err.message.english().contains("0 to 5000"),
            "{}",
            err.message
        );
        readings[4] = 1e308;
        assert!(table().judge(&coating, &readings).is_err());
        let column = Quantity::OverallVerticality {
            height_mm: 12_000.0,
            storey: Storey::Single,
        };
        assert!(table().judge(&column, &[2500.0]).is_err());
        assert!(table().judge(&column, &[-1999.0]).is_ok());
        let splines = Quantity::TwistOffSplines { bolts_in_node: 8 };
        assert!(
            table().judge(&splines, &[9.0]).is_err(),
            "more than the node has"
        );
        let other = Quantity::Other {
            nominal: 0.0,
            lower: Some(-1.0),
            upper: Some(1e300),
            rule: Rule::Main,
        };
        assert_eq!(table().limit(&other).unwrap_err().field, "limits");
    }

    #[test]
    fn verticality_states_nominal_deviation_and_limit_as_an_engineer_writes_them() {
        let frame = |h| Quantity::OverallVerticality {
            height_mm: h,
            storey: Storey::Single,
        };
        let j = table().judge(&frame(12_000.0), &[4.0, 6.5, -3.0]).unwrap();
        assert!(j.passed);
        assert_eq!(j.limit.nominal, 0.0);
        assert_eq!(
            j.reason.english(),
            "Overall deviation of the single-storey frame from plumb: the reading is the \
             deviation, nominal 0 mm; allowed ±12 mm (H/1000 = 12000/1000 = 12 mm, and at most \
             25 mm). All 3 points are within the limit; largest deviation +6.5 mm."
        );
        assert_eq!(
            j.reason.render(zh()),
            "单层钢结构整体垂直度偏差：读数即偏差，理论值 0 mm；允许偏差 ±12 mm（H/1000 = \
             12000/1000 = 12 mm，且不应大于 25 mm）。全部 3 个测点均在允许偏差内；最大偏差 +6.5 mm。"
        );
        // A tall frame: the cap governs, and says so.
        let tall = table().limit(&frame(30_000.0)).unwrap();
        assert!(
            tall.basis
                .english()
                .contains("30000/1000 = 30 mm, capped at 25 mm"),
            "{}",
            tall.basis.english()
        );
        assert!(
            tall.basis.render(zh()).contains("超过上限，取 25 mm"),
            "{}",
            tall.basis.render(zh())
        );
        let multi = table()
            .limit(&Quantity::OverallVerticality {
                height_mm: 50_000.0,
                storey: Storey::Multi,
            })
            .unwrap();
        assert!(
            multi
                .basis
                .english()
                .contains("H/2500 + 10 mm = 50000/2500 + 10 mm = 30 mm"),
            "{}",
            multi.basis.english()
        );
    }

    #[test]
    fn one_point_and_many_read_well_in_both_languages() {
        let frame = Quantity::OverallVerticality {
            height_mm: 12_000.0,
            storey: Storey::Single,
        };
        let verdict = |readings: &[f64]| {
            let j = table().judge(&frame, readings).unwrap();
            let en = j
                .reason
                .english()
                .split(". ")
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let zh = j
                .reason
                .render(zh())
                .split('。')
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            (en, zh)
        };
        assert_eq!(
            verdict(&[14.0]),
            (
                "The point is outside the limit; largest deviation +14 mm.".to_owned(),
                "该测点超出允许偏差；最大偏差 +14 mm".to_owned()
            )
        );
        assert_eq!(
            verdict(&[-3.0]).0,
            "The point is within the limit; largest deviation −3 mm."
        );
        assert!(
            verdict(&[14.0, 1.0, 2.0])
                .0
                .starts_with("1 of 3 points is outside")
        );
        assert!(
            verdict(&[14.0, -13.0, 2.0])
                .0
                .starts_with("2 of 3 points are outside")
        );
        assert!(
            verdict(&[14.0, -13.0, 2.0])
                .1
                .starts_with("3 个测点中有 2 个超出允许偏差")
        );
        let coating = table()
            .judge(
                &Quantity::CoatingDryFilm {
                    indoor: false,
                    design_um: None,
                    coats: 3,
                    one_coat: false,
                },
                &[150.0; 15],
            )
            .unwrap();
        assert!(
            coating.reason.english().starts_with(
                "Total dry film thickness, design 150 µm (the code's value outdoors, the design \
                 being silent); each spot (the mean of 3 readings) at least 125 µm (−25 µm)."
            ),
            "{}",
            coating.reason.english()
        );
    }

    proptest! {
        /// A general item whose points are all within passes; pushing any one point past
        /// 1.2 × the limit fails it.
        #[test]
        fn general_rule_properties(
            h in 1_000.0f64..40_000.0,
            fractions in proptest::collection::vec(-1.0f64..1.0, 1..40),
            victim in 0usize..40,
            beyond in 1.21f64..5.0,
        ) {
            let q = Quantity::ColumnVerticality { height_mm: h };
            let limit = table().limit(&q).unwrap().upper.unwrap();
            let mut readings: Vec<f64> = fractions.iter().map(|f| f * limit).collect();
            prop_assert!(table().judge(&q, &readings).unwrap().passed);
            let i = victim % readings.len();
            readings[i] = beyond * limit;
            prop_assert!(!table().judge(&q, &readings).unwrap().passed);
        }

        /// A main-control item fails exactly when some point is outside the limit.
        #[test]
        fn main_rule_properties(
            target in 50.0f64..2_000.0,
            fractions in proptest::collection::vec(0.8f64..1.2, 1..30),
        ) {
            let q = Quantity::BoltFinalTorque { target_nm: target, hours_after_tightening: Some(4.0) };
            let readings: Vec<f64> = fractions.iter().map(|f| f * target).collect();
            let j = table().judge(&q, &readings).unwrap();
            let all_within = fractions.iter().all(|f| (0.9..=1.1).contains(f));
            prop_assert_eq!(j.passed, all_within);
        }

        /// The limit grows with the dimension and never passes its cap.
        #[test]
        fn ratio_limits_are_monotone_and_capped(a in 1.0f64..200_000.0, b in 1.0f64..200_000.0) {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            for storey in [Storey::Single, Storey::Multi] {
                let at = |h| table().limit(&Quantity::OverallVerticality { height_mm: h, storey }).unwrap().upper.unwrap();
                prop_assert!(at(lo) <= at(hi) + 1e-9);
                prop_assert!(at(hi) <= 50.0 + 1e-9);
            }
        }
    }
}
