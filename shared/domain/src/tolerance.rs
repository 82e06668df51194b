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
        /// Hours between final tightening and the check.
        hours_after_tightening: f64,
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
    /// Where the limit comes from.
    pub source: String,
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
    /// Why, in words.
    pub reason: String,
}

/// Readings or dimensions that cannot be judged; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ToleranceError {
    /// `readings`, or the dimension at fault.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> ToleranceError {
    ToleranceError {
        field,
        message: message.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct General {
    general_share: f64,
    general_worst_factor: f64,
    source: String,
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
    source: String,
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
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Splines {
    unit: String,
    rule: Rule,
    max_fraction: f64,
    source: String,
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
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deflection {
    unit: String,
    rule: Rule,
    design_factor: f64,
    source: String,
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

fn positive(field: &'static str, value: f64) -> Result<f64, ToleranceError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(bad(field, "must be a positive number"))
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
        let symmetric = |row: &Ratio, limit: f64| Limit {
            nominal: 0.0,
            lower: Some(-limit),
            upper: Some(limit),
            unit: row.unit.clone(),
            rule: row.rule,
            source: row.source.clone(),
        };
        let by_ratio = |row: &Ratio, field: &'static str, dimension: f64| {
            let d = positive(field, dimension)?;
            let mut limit = d / row.ratio + row.offset;
            if let Some(cap) = row.cap {
                limit = limit.min(cap);
            }
            if let Some((_, cap)) = row.caps.iter().find(|(span, _)| d <= *span) {
                limit = limit.min(*cap);
            }
            Ok(symmetric(row, limit))
        };
        match quantity {
            Quantity::CoatingDryFilm {
                indoor,
                design_um,
                coats,
                one_coat,
            } => {
                let row = &self.coating_dry_film_thickness;
                if *coats == 0 {
                    return Err(bad("coats", "at least one coat"));
                }
                let design = match design_um {
                    Some(d) => positive("design_thickness", *d)?,
                    None if *indoor => row.design_indoor,
                    None => row.design_outdoor,
                };
                let (nominal, tolerance) = if *one_coat {
                    (design / f64::from(*coats), row.per_coat_lower)
                } else {
                    (design, row.total_lower)
                };
                Ok(Limit {
                    nominal,
                    lower: Some(nominal + tolerance),
                    upper: None,
                    unit: row.unit.clone(),
                    rule: row.rule,
                    source: row.source.clone(),
                })
            }
            Quantity::BoltFinalTorque {
                target_nm,
                hours_after_tightening,
            } => {
                let row = &self.bolt_final_torque;
                let target = positive("target_torque", *target_nm)?;
                let h = *hours_after_tightening;
                if !(row.check_after_hours..=row.check_before_hours).contains(&h) {
                    return Err(bad(
                        "tightening_time",
                        format!(
                            "final torque is checked {} h to {} h after tightening, not {h:.1} h",
                            row.check_after_hours, row.check_before_hours
                        ),
                    ));
                }
                Ok(Limit {
                    nominal: target,
                    lower: Some(target * (1.0 + row.lower_fraction)),
                    upper: Some(target * (1.0 + row.upper_fraction)),
                    unit: row.unit.clone(),
                    rule: row.rule,
                    source: row.source.clone(),
                })
            }
            Quantity::TwistOffSplines { bolts_in_node } => {
                let row = &self.twist_off_splines;
                if *bolts_in_node == 0 {
                    return Err(bad("bolts_in_node", "at least one bolt"));
                }
                Ok(Limit {
                    nominal: 0.0,
                    lower: Some(0.0),
                    upper: Some(row.max_fraction * f64::from(*bolts_in_node)),
                    unit: row.unit.clone(),
                    rule: row.rule,
                    source: row.source.clone(),
                })
            }
            Quantity::OverallVerticality { height_mm, storey } => {
                let row = match storey {
                    Storey::Single => &self.verticality_single_storey,
                    Storey::Multi => &self.verticality_multi_storey,
                };
                by_ratio(row, "height", *height_mm)
            }
            Quantity::ColumnVerticality { height_mm } => {
                by_ratio(&self.verticality_single_column, "height", *height_mm)
            }
            Quantity::MidSpanVerticality { height_mm } => {
                by_ratio(&self.mid_span_verticality, "height", *height_mm)
            }
            Quantity::LateralBending { span_mm } => {
                by_ratio(&self.lateral_bending, "span", *span_mm)
            }
            Quantity::SpaceFrameDeflection { design_mm } => {
                let row = &self.space_frame_deflection;
                let design = positive("design_deflection", *design_mm)?;
                Ok(Limit {
                    nominal: design,
                    lower: None,
                    upper: Some(design * row.design_factor),
                    unit: row.unit.clone(),
                    rule: row.rule,
                    source: row.source.clone(),
                })
            }
            Quantity::Other {
                nominal,
                lower,
                upper,
                rule,
            } => {
                if lower.is_none() && upper.is_none() {
                    return Err(bad("limits", "give a lower limit, an upper limit or both"));
                }
                let finite = |v: &Option<f64>| v.is_none_or(f64::is_finite);
                if !nominal.is_finite() || !finite(lower) || !finite(upper) {
                    return Err(bad("limits", "must be finite numbers"));
                }
                if let (Some(l), Some(u)) = (lower, upper)
                    && l > u
                {
                    return Err(bad("limits", "lower limit above the upper limit"));
                }
                Ok(Limit {
                    nominal: *nominal,
                    lower: *lower,
                    upper: *upper,
                    unit: String::new(),
                    rule: *rule,
                    source: "limits given with the measurement".to_owned(),
                })
            }
        }
    }

    /// Judges `readings` of `quantity`. Coating readings come in spots (5 spots of 3 readings
    /// by default, in order); every other reading is one point.
    pub fn judge(
        &self,
        quantity: &Quantity,
        readings: &[f64],
    ) -> Result<Judgement, ToleranceError> {
        if readings.is_empty() {
            return Err(bad("readings", "at least one reading"));
        }
        if readings.iter().any(|r| !r.is_finite()) {
            return Err(bad("readings", "must be finite numbers"));
        }
        let limit = self.limit(quantity)?;
        let values: Vec<f64> = match quantity {
            Quantity::CoatingDryFilm { .. } => {
                let row = &self.coating_dry_film_thickness;
                let per = row.readings_per_spot;
                if readings.len() != row.spots * per {
                    return Err(bad(
                        "readings",
                        format!(
                            "coating thickness needs {} spots of {per} readings ({} in all), got {}",
                            row.spots,
                            row.spots * per,
                            readings.len()
                        ),
                    ));
                }
                readings
                    .chunks(per)
                    .map(|spot| spot.iter().sum::<f64>() / spot.len() as f64)
                    .collect()
            }
            Quantity::TwistOffSplines { .. }
                if readings.iter().any(|r| *r < 0.0 || r.fract() != 0.0) =>
            {
                return Err(bad("readings", "counts of bolts must be whole numbers"));
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
        let (passed, reason) = match limit.rule {
            Rule::Main => {
                let failed = points.len() - within;
                if failed == 0 {
                    (
                        true,
                        format!("all {} points within the limit", points.len()),
                    )
                } else {
                    (
                        false,
                        format!(
                            "{failed} of {} points outside the limit (every point must be within)",
                            points.len()
                        ),
                    )
                }
            }
            Rule::General => {
                let share_ok = within_share + 1e-9 >= g.general_share;
                let worst_ok = worst_ratio <= g.general_worst_factor + 1e-9;
                let reason = format!(
                    "{:.0} % of points within (at least {:.0} % needed), worst {:.2} × the limit (at most {:.1} ×)",
                    within_share * 100.0,
                    g.general_share * 100.0,
                    worst_ratio,
                    g.general_worst_factor
                );
                (share_ok && worst_ok, reason)
            }
        };
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
    pub fn general_rule_source(&self) -> &str {
        &self.general.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            hours_after_tightening: 2.0,
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
            assert!(table().limit(&q).unwrap().source.contains("GB 50205"));
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
        assert!(j.passed, "{}", j.reason);
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
            hours_after_tightening: 72.0,
        };
        assert_eq!(
            table().judge(&late, &[500.0]).unwrap_err().field,
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
        assert!(j.passed, "{}", j.reason);
        assert!((j.within_share - 0.8).abs() < 1e-9);
        let too_far = [1.0, 2.0, 3.0, -3.9, 4.9];
        assert!(!table().judge(&q, &too_far).unwrap().passed);
        let too_many = [1.0, 2.0, 4.1, -4.1, 0.0];
        assert!(!table().judge(&q, &too_many).unwrap().passed);
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
            let q = Quantity::BoltFinalTorque { target_nm: target, hours_after_tightening: 4.0 };
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
