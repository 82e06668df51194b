//! Warranty terms and responsibility (MISSION §9, appendix A): statutory minimum periods by
//! scope, counted from completion acceptance, and whether a reported problem is in warranty.

use std::fmt;
use std::str::FromStr;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::category::{ProblemCategory, UnknownValue};

/// Scope of a warranty term. The numbers match `steelcare.intake.v1.WarrantyScope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarrantyScope {
    MainStructure = 1,
    Waterproofing = 2,
    HeatingCooling = 3,
    InstallationDecoration = 4,
    Other = 5,
}

impl WarrantyScope {
    /// Every scope.
    pub const ALL: [WarrantyScope; 5] = [
        WarrantyScope::MainStructure,
        WarrantyScope::Waterproofing,
        WarrantyScope::HeatingCooling,
        WarrantyScope::InstallationDecoration,
        WarrantyScope::Other,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            WarrantyScope::MainStructure => "main_structure",
            WarrantyScope::Waterproofing => "waterproofing",
            WarrantyScope::HeatingCooling => "heating_cooling",
            WarrantyScope::InstallationDecoration => "installation_decoration",
            WarrantyScope::Other => "other",
        }
    }

    /// Protobuf number.
    pub fn proto_value(self) -> i32 {
        self as i32
    }

    /// From a protobuf number.
    pub fn from_proto_value(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.proto_value() == value)
    }

    /// The statutory minimum in months (Regulations on the Quality Management of Construction
    /// Projects, art. 40): the main structure for its design service life, waterproofing 5
    /// years, heating/cooling 2 seasons (taken as 24 months), installation and decoration
    /// 2 years; other work has no statutory floor (by contract).
    pub fn statutory_minimum_months(self, design_life_years: u32) -> Option<u32> {
        match self {
            WarrantyScope::MainStructure => Some(design_life_years * 12),
            WarrantyScope::Waterproofing => Some(60),
            WarrantyScope::HeatingCooling | WarrantyScope::InstallationDecoration => Some(24),
            WarrantyScope::Other => None,
        }
    }

    /// The term length registered when a project gives none.
    pub fn default_months(self, design_life_years: u32) -> u32 {
        self.statutory_minimum_months(design_life_years)
            .unwrap_or(24)
    }

    /// The scope that covers a problem category, if any (a consultation is not a defect).
    pub fn covering(category: ProblemCategory) -> Option<WarrantyScope> {
        match category {
            ProblemCategory::StructuralSafety
            | ProblemCategory::MemberDeformation
            | ProblemCategory::ConnectionLoosening => Some(WarrantyScope::MainStructure),
            ProblemCategory::Leakage => Some(WarrantyScope::Waterproofing),
            ProblemCategory::HardwareDamage => Some(WarrantyScope::InstallationDecoration),
            ProblemCategory::CoatingDamage | ProblemCategory::Other => Some(WarrantyScope::Other),
            ProblemCategory::UsageConsultation => None,
        }
    }
}

impl fmt::Display for WarrantyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WarrantyScope {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue {
                kind: "warranty scope",
                value: s.to_owned(),
            })
    }
}

/// A warranty term of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarrantyTerm {
    /// Scope.
    pub scope: WarrantyScope,
    /// First day covered.
    pub start: NaiveDate,
    /// Length in months.
    pub months: u32,
    /// Contract clause or note.
    pub note: String,
}

/// A term shorter than the law allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scope} warranty must be at least {minimum_months} months, got {months}")]
pub struct BelowStatutoryMinimum {
    /// Scope.
    pub scope: WarrantyScope,
    /// The minimum.
    pub minimum_months: u32,
    /// What was asked.
    pub months: u32,
}

impl WarrantyScope {
    /// Its label in the catalogue.
    pub fn label(self) -> steelcare_i18n::Msg {
        steelcare_i18n::enum_label("WarrantyScope", &self.as_str().to_ascii_uppercase())
    }
}

impl BelowStatutoryMinimum {
    /// What is wrong, from the catalogue.
    pub fn message(&self) -> steelcare_i18n::Msg {
        steelcare_i18n::msg!(
            "field-below-statutory-minimum",
            months = self.months,
            minimum = self.minimum_months,
            scope = self.scope.label()
        )
    }
}

impl WarrantyTerm {
    /// First day no longer covered.
    pub fn expiry(&self) -> NaiveDate {
        self.start
            .checked_add_months(Months::new(self.months))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Checks the term against the statutory minimum of its scope.
    pub fn check_minimum(&self, design_life_years: u32) -> Result<(), BelowStatutoryMinimum> {
        match self.scope.statutory_minimum_months(design_life_years) {
            Some(minimum) if self.months < minimum => Err(BelowStatutoryMinimum {
                scope: self.scope,
                minimum_months: minimum,
                months: self.months,
            }),
            _ => Ok(()),
        }
    }
}

/// Whether a problem is covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarrantyStatus {
    /// Covered on the reported day.
    pub in_warranty: bool,
    /// The scope that applies, if any.
    pub scope: Option<WarrantyScope>,
    /// First day covered by the applying term.
    pub start: Option<NaiveDate>,
    /// Expiry of the applying term (the longest of that scope).
    pub expiry: Option<NaiveDate>,
}

/// The warranty status of a problem of `category` reported on `on`.
pub fn status(terms: &[WarrantyTerm], category: ProblemCategory, on: NaiveDate) -> WarrantyStatus {
    let Some(scope) = WarrantyScope::covering(category) else {
        return WarrantyStatus {
            in_warranty: false,
            scope: None,
            start: None,
            expiry: None,
        };
    };
    let best = terms
        .iter()
        .filter(|t| t.scope == scope && t.start <= on)
        .max_by_key(|t| t.expiry());
    WarrantyStatus {
        in_warranty: best.is_some_and(|t| on < t.expiry()),
        scope: Some(scope),
        start: best.map(|t| t.start),
        expiry: best.map(WarrantyTerm::expiry),
    }
}

/// The statutory default terms of a project completed on `completion`.
pub fn default_terms(completion: NaiveDate, design_life_years: u32) -> Vec<WarrantyTerm> {
    [
        WarrantyScope::MainStructure,
        WarrantyScope::Waterproofing,
        WarrantyScope::InstallationDecoration,
        WarrantyScope::Other,
    ]
    .into_iter()
    .map(|scope| WarrantyTerm {
        scope,
        start: completion,
        months: scope.default_months(design_life_years),
        note: "statutory default".to_owned(),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn terms_below_the_statutory_minimum_are_refused_naming_it() {
        let short = WarrantyTerm {
            scope: WarrantyScope::Waterproofing,
            start: d(2024, 6, 1),
            months: 36,
            note: String::new(),
        };
        let err = short.check_minimum(50).unwrap_err();
        assert_eq!(err.minimum_months, 60);
        assert!(err.to_string().contains("60 months"));
        let main = WarrantyTerm {
            scope: WarrantyScope::MainStructure,
            months: 599,
            ..short.clone()
        };
        assert_eq!(main.check_minimum(50).unwrap_err().minimum_months, 600);
        let other = WarrantyTerm {
            scope: WarrantyScope::Other,
            months: 6,
            ..short
        };
        assert!(other.check_minimum(50).is_ok());
    }

    #[test]
    fn a_leak_is_covered_for_five_years_and_coating_for_two() {
        let terms = default_terms(d(2022, 3, 15), 50);
        let leak = status(&terms, ProblemCategory::Leakage, d(2026, 11, 27));
        assert!(leak.in_warranty);
        assert_eq!(leak.scope, Some(WarrantyScope::Waterproofing));
        assert_eq!(leak.expiry, Some(d(2027, 3, 15)));
        let coating = status(&terms, ProblemCategory::CoatingDamage, d(2026, 11, 27));
        assert!(!coating.in_warranty);
        assert_eq!(coating.expiry, Some(d(2024, 3, 15)));
        let crack = status(&terms, ProblemCategory::StructuralSafety, d(2026, 11, 27));
        assert!(crack.in_warranty);
        let question = status(&terms, ProblemCategory::UsageConsultation, d(2026, 11, 27));
        assert_eq!(question.scope, None);
        assert!(!question.in_warranty);
        // The last covered day is the day before expiry.
        assert!(status(&terms, ProblemCategory::Leakage, d(2027, 3, 14)).in_warranty);
        assert!(!status(&terms, ProblemCategory::Leakage, d(2027, 3, 15)).in_warranty);
    }
}
