//! Dispatch rules (MISSION §2.1, §4.1; DESIGN.md decision 4): which skills a problem category
//! needs and which certificates a skill needs (data, with defaults for MISSION §3.2), whether a
//! technician qualifies for a job, and how qualified candidates are ranked.
//!
//! Ranking, best first: fewest active assignments, nearest base, best first-time-acceptance
//! record (unknown counts as average), then technician id so the order is stable.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::category::{ProblemCategory, UnknownValue};

/// A technician's skill. The numbers match `steelcare.dispatch.v1.Skill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skill {
    StructuralSurvey = 1,
    SurveyingInstruments = 2,
    Welding = 3,
    HighStrengthBolting = 4,
    AntiCorrosionCoating = 5,
    FireProofCoating = 6,
    Waterproofing = 7,
    GeneralRepair = 8,
}

impl Skill {
    /// Every skill.
    pub const ALL: [Skill; 8] = [
        Skill::StructuralSurvey,
        Skill::SurveyingInstruments,
        Skill::Welding,
        Skill::HighStrengthBolting,
        Skill::AntiCorrosionCoating,
        Skill::FireProofCoating,
        Skill::Waterproofing,
        Skill::GeneralRepair,
    ];

    /// Its label in the catalogue.
    pub fn label(self) -> steelcare_i18n::Msg {
        steelcare_i18n::enum_label("Skill", &self.as_str().to_ascii_uppercase())
    }

    /// Stored and configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            Skill::StructuralSurvey => "structural_survey",
            Skill::SurveyingInstruments => "surveying_instruments",
            Skill::Welding => "welding",
            Skill::HighStrengthBolting => "high_strength_bolting",
            Skill::AntiCorrosionCoating => "anti_corrosion_coating",
            Skill::FireProofCoating => "fire_proof_coating",
            Skill::Waterproofing => "waterproofing",
            Skill::GeneralRepair => "general_repair",
        }
    }

    /// Protobuf number.
    pub fn proto_value(self) -> i32 {
        self as i32
    }

    /// From a protobuf number; `None` for 0 and unknowns.
    pub fn from_proto_value(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.proto_value() == value)
    }
}

impl fmt::Display for Skill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Skill {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownValue {
                kind: "skill",
                value: s.to_owned(),
            })
    }
}

/// Which skills each category needs and which certificate kinds each skill needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillRules {
    /// Skills a technician must all hold to take a case of the category.
    pub category_skills: BTreeMap<ProblemCategory, Vec<Skill>>,
    /// Certificate kinds (valid on the visit date) a skill requires.
    pub skill_certificates: BTreeMap<Skill, Vec<String>>,
}

impl Default for SkillRules {
    /// Defaults for MISSION §3.2: a structural or deformation problem needs a structural
    /// surveyor who handles the instruments; loose connections need a bolting hand; coating
    /// damage a coater; leakage a roofer; hardware and the rest general repair. Welding needs a
    /// welder's certificate; work on roofs, bolted connections and coatings at height needs a
    /// work-at-height certificate.
    fn default() -> Self {
        use ProblemCategory as C;
        use Skill as S;
        let category_skills = BTreeMap::from([
            (
                C::StructuralSafety,
                vec![S::StructuralSurvey, S::SurveyingInstruments],
            ),
            (
                C::MemberDeformation,
                vec![S::StructuralSurvey, S::SurveyingInstruments],
            ),
            (C::ConnectionLoosening, vec![S::HighStrengthBolting]),
            (C::CoatingDamage, vec![S::AntiCorrosionCoating]),
            (C::Leakage, vec![S::Waterproofing]),
            (C::HardwareDamage, vec![S::GeneralRepair]),
            (C::UsageConsultation, vec![S::StructuralSurvey]),
            (C::Other, vec![S::GeneralRepair]),
        ]);
        let skill_certificates = BTreeMap::from([
            (S::Welding, vec!["welder".to_owned()]),
            (S::HighStrengthBolting, vec!["work_at_height".to_owned()]),
            (S::Waterproofing, vec!["work_at_height".to_owned()]),
            (S::FireProofCoating, vec!["work_at_height".to_owned()]),
        ]);
        SkillRules {
            category_skills,
            skill_certificates,
        }
    }
}

impl SkillRules {
    /// Skills the category needs.
    pub fn skills_for(&self, category: ProblemCategory) -> &[Skill] {
        self.category_skills
            .get(&category)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Certificate kinds the category needs, through its skills.
    pub fn certificates_for(&self, category: ProblemCategory) -> BTreeSet<&str> {
        self.skills_for(category)
            .iter()
            .flat_map(|s| self.skill_certificates.get(s).into_iter().flatten())
            .map(String::as_str)
            .collect()
    }
}

/// A certificate a technician holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Kind, e.g. `welder`.
    pub kind: String,
    /// Number.
    pub number: String,
    /// Issuing body.
    #[serde(default)]
    pub issuer: String,
    /// Last valid day.
    pub valid_until: NaiveDate,
}

/// Why a technician does not qualify for a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unqualified {
    /// A needed skill is missing.
    MissingSkill(Skill),
    /// A needed certificate is missing or not valid on the visit date.
    Certificate {
        /// Kind.
        kind: String,
        /// Its last valid day, when held at all.
        expired_on: Option<NaiveDate>,
    },
}

impl Unqualified {
    /// Why, from the catalogue.
    pub fn message(&self) -> steelcare_i18n::Msg {
        use steelcare_i18n::msg;
        match self {
            Unqualified::MissingSkill(skill) => {
                msg!("unqualified-missing-skill", skill = skill.label())
            }
            Unqualified::Certificate {
                kind,
                expired_on: None,
            } => msg!("unqualified-no-certificate", kind = kind.as_str()),
            Unqualified::Certificate {
                kind,
                expired_on: Some(day),
            } => msg!(
                "unqualified-certificate-expired",
                kind = kind.as_str(),
                day = *day
            ),
        }
    }
}

impl fmt::Display for Unqualified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unqualified::MissingSkill(skill) => write!(f, "lacks the skill {skill}"),
            Unqualified::Certificate {
                kind,
                expired_on: None,
            } => write!(f, "holds no {kind} certificate"),
            Unqualified::Certificate {
                kind,
                expired_on: Some(day),
            } => write!(f, "{kind} certificate expired on {day}"),
        }
    }
}

/// What a category asks of a technician: skills, and certificate kinds valid on the visit
/// date. Computed once per job, checked per candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Skills, all needed.
    pub skills: Vec<Skill>,
    /// Certificate kinds, all needed.
    pub certificates: Vec<String>,
}

impl Requirement {
    /// The requirement of `category` under `rules`.
    pub fn of(rules: &SkillRules, category: ProblemCategory) -> Requirement {
        Requirement {
            skills: rules.skills_for(category).to_vec(),
            certificates: rules
                .certificates_for(category)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Checks a technician's skills and certificates for a visit on `visit_date`.
    pub fn check(
        &self,
        skills: &[Skill],
        certificates: &[Certificate],
        visit_date: NaiveDate,
    ) -> Result<(), Unqualified> {
        if let Some(missing) = self.skills.iter().find(|s| !skills.contains(s)) {
            return Err(Unqualified::MissingSkill(*missing));
        }
        for kind in &self.certificates {
            let latest = certificates
                .iter()
                .filter(|c| &c.kind == kind)
                .map(|c| c.valid_until)
                .max();
            match latest {
                Some(day) if day >= visit_date => {}
                expired_on => {
                    return Err(Unqualified::Certificate {
                        kind: kind.clone(),
                        expired_on,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Checks skills and certificates (valid on `visit_date`) for a category.
pub fn qualifies(
    rules: &SkillRules,
    category: ProblemCategory,
    skills: &[Skill],
    certificates: &[Certificate],
    visit_date: NaiveDate,
) -> Result<(), Unqualified> {
    Requirement::of(rules, category).check(skills, certificates, visit_date)
}

/// A point in degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
}

/// Great-circle distance in km.
pub fn distance_km(a: Point, b: Point) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (lat1, lat2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.longitude - a.longitude).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// A qualified, available technician under capacity, as ranking sees them (borrowing the id:
/// a field of a thousand is ranked for every job, and only the short list is kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    /// Technician id.
    pub technician_id: &'a str,
    /// Offered plus confirmed assignments now.
    pub active: u32,
    /// Base location, when known.
    pub base: Option<Point>,
    /// First-time acceptance rate from feedback, when known.
    pub first_time_rate: Option<f64>,
}

/// A candidate's place in the ranking, with the reasons a dispatcher sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// Technician id.
    pub technician_id: String,
    /// 1 = best.
    pub rank: u32,
    /// Active assignments at ranking time.
    pub active: u32,
    /// Distance from base to site, km, when both are known.
    pub distance_km: Option<f64>,
    /// First-time acceptance rate, when known.
    pub first_time_rate: Option<f64>,
    /// The reasons, as catalogue messages (older rankings hold English text).
    pub notes: Vec<steelcare_i18n::Said>,
}

/// Ranks candidates for a site at `site` (when known); returns the best `limit`, best first,
/// each with its reasons (the total field size is in the notes).
pub fn rank(candidates: &[Candidate<'_>], site: Option<Point>, limit: usize) -> Vec<Ranked> {
    const AVERAGE_RATE: f64 = 0.5;
    let mut scored: Vec<(&Candidate, Option<f64>)> = candidates
        .iter()
        .map(|c| (c, site.zip(c.base).map(|(s, b)| distance_km(s, b))))
        .collect();
    let order = |(a, da): &(&Candidate, Option<f64>), (b, db): &(&Candidate, Option<f64>)| {
        a.active
            .cmp(&b.active)
            .then_with(|| {
                da.unwrap_or(f64::INFINITY)
                    .total_cmp(&db.unwrap_or(f64::INFINITY))
            })
            .then_with(|| {
                b.first_time_rate
                    .unwrap_or(AVERAGE_RATE)
                    .total_cmp(&a.first_time_rate.unwrap_or(AVERAGE_RATE))
            })
            .then_with(|| a.technician_id.cmp(b.technician_id))
    };
    let total = scored.len();
    let limit = limit.min(total);
    if limit == 0 {
        return Vec::new();
    }
    if limit < total {
        scored.select_nth_unstable_by(limit - 1, order);
        scored.truncate(limit);
    }
    scored.sort_by(order);
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (c, distance))| {
            use steelcare_i18n::msg;
            let mut notes = vec![
                msg!("dispatch-rank", rank = i + 1, total = total),
                msg!("dispatch-active", active = c.active),
            ];
            notes.push(match distance {
                Some(d) => msg!("dispatch-distance", km = format!("{d:.1}")),
                None => msg!("dispatch-distance-unknown"),
            });
            if let Some(rate) = c.first_time_rate {
                notes.push(msg!(
                    "dispatch-first-time",
                    percent = format!("{:.0}", rate * 100.0)
                ));
            }
            let notes = notes.into_iter().map(steelcare_i18n::Said::from).collect();
            Ranked {
                technician_id: c.technician_id.to_owned(),
                rank: (i + 1) as u32,
                active: c.active,
                distance_km: distance,
                first_time_rate: c.first_time_rate,
                notes,
            }
        })
        .collect()
}

/// The wait before retry `attempt` (1-based) after nobody was available: `base` doubled per
/// attempt, at most `max`.
pub fn retry_backoff(
    attempt: u32,
    base: chrono::TimeDelta,
    max: chrono::TimeDelta,
) -> chrono::TimeDelta {
    let factor = 1i32 << attempt.saturating_sub(1).min(20);
    (base * factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn cert(kind: &str, until: NaiveDate) -> Certificate {
        Certificate {
            kind: kind.to_owned(),
            number: "N-1".to_owned(),
            issuer: String::new(),
            valid_until: until,
        }
    }

    #[test]
    fn every_category_needs_at_least_one_skill() {
        let rules = SkillRules::default();
        for category in ProblemCategory::ALL {
            assert!(!rules.skills_for(category).is_empty(), "{category}");
        }
    }

    #[test]
    fn certificates_must_be_valid_on_the_visit_day() {
        let rules = SkillRules::default();
        let skills = [Skill::Waterproofing];
        let visit = date(2026, 12, 1);
        let valid = [cert("work_at_height", date(2026, 12, 1))];
        assert_eq!(
            qualifies(&rules, ProblemCategory::Leakage, &skills, &valid, visit),
            Ok(())
        );
        let expired = [cert("work_at_height", date(2026, 11, 30))];
        assert_eq!(
            qualifies(&rules, ProblemCategory::Leakage, &skills, &expired, visit),
            Err(Unqualified::Certificate {
                kind: "work_at_height".to_owned(),
                expired_on: Some(date(2026, 11, 30)),
            })
        );
        assert_eq!(
            qualifies(&rules, ProblemCategory::Leakage, &[], &valid, visit),
            Err(Unqualified::MissingSkill(Skill::Waterproofing))
        );
        // An old expired certificate does not hide a renewed one.
        let renewed = [
            cert("work_at_height", date(2025, 1, 1)),
            cert("work_at_height", date(2027, 1, 1)),
        ];
        assert!(qualifies(&rules, ProblemCategory::Leakage, &skills, &renewed, visit).is_ok());
    }

    #[test]
    fn ranking_prefers_lower_load_then_nearer_base_then_better_record() {
        let site = Point {
            latitude: 30.27,
            longitude: 120.15,
        };
        let near = Some(Point {
            latitude: 30.28,
            longitude: 120.16,
        });
        let far = Some(Point {
            latitude: 31.23,
            longitude: 121.47,
        });
        let c = |id: &'static str, active, base, rate| Candidate {
            technician_id: id,
            active,
            base,
            first_time_rate: rate,
        };
        let ranked = rank(
            &[
                c("busy-near", 2, near, Some(1.0)),
                c("free-far", 0, far, None),
                c("free-near-poor", 0, near, Some(0.2)),
                c("free-near-good", 0, near, Some(0.9)),
                c("free-unknown", 0, None, None),
            ],
            Some(site),
            10,
        );
        let order: Vec<&str> = ranked.iter().map(|r| r.technician_id.as_str()).collect();
        assert_eq!(
            order,
            [
                "free-near-good",
                "free-near-poor",
                "free-far",
                "free-unknown",
                "busy-near"
            ]
        );
        assert_eq!(ranked[0].rank, 1);
        assert!(ranked[0].distance_km.is_some_and(|d| d < 2.0));
        assert!(ranked[2].distance_km.is_some_and(|d| d > 150.0));
        assert!(ranked[0].notes.iter().any(|n| {
            n.render(steelcare_i18n::Locale::english())
                .contains("km from the site")
        }));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = chrono::TimeDelta::seconds(30);
        let max = chrono::TimeDelta::minutes(10);
        let waits: Vec<i64> = (1..=7)
            .map(|n| retry_backoff(n, base, max).num_seconds())
            .collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 600, 600]);
        assert_eq!(retry_backoff(400, base, max), max);
    }

    #[test]
    fn distance_is_symmetric_and_plausible() {
        let hangzhou = Point {
            latitude: 30.2741,
            longitude: 120.1551,
        };
        let shanghai = Point {
            latitude: 31.2304,
            longitude: 121.4737,
        };
        let d = distance_km(hangzhou, shanghai);
        assert!((160.0..180.0).contains(&d), "{d}");
        assert!((d - distance_km(shanghai, hangzhou)).abs() < 1e-9);
    }
}
