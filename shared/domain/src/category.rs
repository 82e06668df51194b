//! Problem categories (MISSION §3.2) and severity tiers (§2.4). The numbers match
//! `steelcare.common.v1.ProblemCategory` and `SeverityTier`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Nature of a reported problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCategory {
    StructuralSafety = 1,
    MemberDeformation = 2,
    ConnectionLoosening = 3,
    CoatingDamage = 4,
    Leakage = 5,
    HardwareDamage = 6,
    UsageConsultation = 7,
    Other = 8,
}

/// Severity tier; P1 is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverityTier {
    P1 = 1,
    P2 = 2,
    P3 = 3,
    P4 = 4,
}

/// A stored or configured name that is not a known value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    /// What was parsed.
    pub kind: &'static str,
    /// The value.
    pub value: String,
}

impl ProblemCategory {
    /// Every category.
    pub const ALL: [ProblemCategory; 8] = [
        ProblemCategory::StructuralSafety,
        ProblemCategory::MemberDeformation,
        ProblemCategory::ConnectionLoosening,
        ProblemCategory::CoatingDamage,
        ProblemCategory::Leakage,
        ProblemCategory::HardwareDamage,
        ProblemCategory::UsageConsultation,
        ProblemCategory::Other,
    ];

    /// Its label in the catalogue.
    pub fn label(self) -> steelcare_i18n::Msg {
        steelcare_i18n::enum_label("ProblemCategory", &self.as_str().to_ascii_uppercase())
    }

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCategory::StructuralSafety => "structural_safety",
            ProblemCategory::MemberDeformation => "member_deformation",
            ProblemCategory::ConnectionLoosening => "connection_loosening",
            ProblemCategory::CoatingDamage => "coating_damage",
            ProblemCategory::Leakage => "leakage",
            ProblemCategory::HardwareDamage => "hardware_damage",
            ProblemCategory::UsageConsultation => "usage_consultation",
            ProblemCategory::Other => "other",
        }
    }

    /// Protobuf number.
    pub fn proto_value(self) -> i32 {
        self as i32
    }

    /// From a protobuf number; `None` for 0 and unknowns.
    pub fn from_proto_value(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.proto_value() == value)
    }

    /// Whether photos or video are needed to judge it (everything but a consultation).
    pub fn needs_visual_evidence(self) -> bool {
        self != ProblemCategory::UsageConsultation
    }

    /// Whether it needs a site visit (everything but a consultation).
    pub fn needs_site_visit(self) -> bool {
        self != ProblemCategory::UsageConsultation
    }
}

impl SeverityTier {
    /// Every tier, most urgent first.
    pub const ALL: [SeverityTier; 4] = [
        SeverityTier::P1,
        SeverityTier::P2,
        SeverityTier::P3,
        SeverityTier::P4,
    ];

    /// Its label in the catalogue.
    pub fn label(self) -> steelcare_i18n::Msg {
        let value = match self {
            SeverityTier::P1 => "P1_URGENT",
            SeverityTier::P2 => "P2_MAJOR",
            SeverityTier::P3 => "P3_GENERAL",
            SeverityTier::P4 => "P4_CONSULTATION",
        };
        steelcare_i18n::enum_label("SeverityTier", value)
    }

    /// Stored name: "p1".."p4".
    pub fn as_str(self) -> &'static str {
        match self {
            SeverityTier::P1 => "p1",
            SeverityTier::P2 => "p2",
            SeverityTier::P3 => "p3",
            SeverityTier::P4 => "p4",
        }
    }

    /// Protobuf number.
    pub fn proto_value(self) -> i32 {
        self as i32
    }

    /// From a protobuf number; `None` for 0 and unknowns.
    pub fn from_proto_value(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.proto_value() == value)
    }
}

impl fmt::Display for ProblemCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for SeverityTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProblemCategory {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownValue {
                kind: "problem category",
                value: s.to_owned(),
            })
    }
}

impl FromStr for SeverityTier {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s.to_ascii_lowercase())
            .ok_or_else(|| UnknownValue {
                kind: "severity tier",
                value: s.to_owned(),
            })
    }
}
