//! Where on the structure a problem is (MISSION §8.3): a member-type taxonomy as data
//! (`data/locations.toml`), matched against a ticket's location text, for the breakdowns by
//! location and the high-incidence locations.

use std::sync::LazyLock;

use serde::Deserialize;

/// The shipped taxonomy.
pub const LOCATIONS_TOML: &str = include_str!("../data/locations.toml");

/// The key of a location no kind matches.
pub const OTHER: &str = "other";

/// One kind of location.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LocationKind {
    /// Stable key, e.g. `column_base`.
    pub key: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Terms that place a text here.
    pub terms: Vec<String>,
}

/// The taxonomy, in matching order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Locations {
    /// Kinds, most specific first.
    #[serde(rename = "kind")]
    pub kinds: Vec<LocationKind>,
}

/// A taxonomy that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationsError {
    /// Not valid TOML of the expected shape.
    #[error("location taxonomy: {0}")]
    Parse(String),
    /// A key repeated, empty, or `other`; or a kind without terms.
    #[error("location kind {0:?}: keys are unique, not `other`, and each kind has terms")]
    Kind(String),
}

impl Locations {
    /// Reads a taxonomy; terms are matched in lower case.
    pub fn from_toml(text: &str) -> Result<Locations, LocationsError> {
        let mut parsed: Locations =
            toml::from_str(text).map_err(|err| LocationsError::Parse(err.to_string()))?;
        let mut seen = Vec::new();
        for kind in &mut parsed.kinds {
            if kind.key.is_empty()
                || kind.key == OTHER
                || seen.contains(&kind.key)
                || kind.terms.is_empty()
            {
                return Err(LocationsError::Kind(kind.key.clone()));
            }
            seen.push(kind.key.clone());
            for term in &mut kind.terms {
                *term = term.to_lowercase();
            }
        }
        Ok(parsed)
    }

    /// The shipped taxonomy.
    pub fn shipped() -> &'static Locations {
        static SHIPPED: LazyLock<Locations> =
            LazyLock::new(|| match Locations::from_toml(LOCATIONS_TOML) {
                Ok(locations) => locations,
                // The file is part of the build and covered by tests.
                Err(err) => unreachable!("shipped location taxonomy is invalid: {err}"),
            });
        &SHIPPED
    }

    /// The key of the first kind with a term in `text`, or [`OTHER`].
    pub fn locate(&self, text: &str) -> &str {
        let text = text.to_lowercase();
        self.kinds
            .iter()
            .find(|k| k.terms.iter().any(|t| text.contains(t.as_str())))
            .map_or(OTHER, |k| k.key.as_str())
    }

    /// The kind of a key.
    pub fn kind(&self, key: &str) -> Option<&LocationKind> {
        self.kinds.iter().find(|k| k.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_as_customers_and_surveyors_name_them() {
        let table = [
            ("屋面天沟漏水，下雨时滴水", "gutter"),
            ("north roof, ridge joint", "roof"),
            ("beam-column joint at C/7", "beam_column_joint"),
            ("north roof ridge", "roof"),
            ("屋面接缝处漏水", "roof"),
            ("采光板破裂", "roof"),
            ("GZ-3 柱脚锈蚀", "column_base"),
            ("anchor bolt nut missing at A/1", "column_base"),
            ("钢柱 GZ-5 倾斜", "column"),
            ("column B/4 out of plumb", "column"),
            ("梁柱节点螺栓松动", "beam_column_joint"),
            ("end plate gap at the eaves", "beam_column_joint"),
            ("钢梁下翼缘出现裂缝", "beam"),
            ("rafter sagging in bay 3", "beam"),
            ("吊车梁轨道下沉", "crane_beam"),
            ("檩条下挠", "purlin"),
            ("wall girt bent by a forklift", "purlin"),
            ("隅撑脱落", "bracing"),
            ("cross bracing rod loose", "bracing"),
            ("外墙彩钢板被风掀起", "wall_cladding"),
            ("wall panel dented", "wall_cladding"),
            ("卷帘门变形", "door_window"),
            ("楼承板开裂", "floor_deck"),
            ("基础沉降", "foundation"),
            ("somewhere in the warehouse", OTHER),
        ];
        let locations = Locations::shipped();
        for (text, key) in table {
            assert_eq!(locations.locate(text), key, "{text}");
        }
    }

    #[test]
    fn every_kind_has_both_names_and_a_bad_taxonomy_is_refused() {
        let locations = Locations::shipped();
        assert!(locations.kinds.len() >= 12);
        for kind in &locations.kinds {
            assert!(!kind.zh.is_empty() && !kind.en.is_empty(), "{}", kind.key);
            assert!(locations.kind(&kind.key).is_some());
        }
        let twice = "[[kind]]\nkey = \"roof\"\nzh = \"屋面\"\nen = \"roof\"\nterms = [\"roof\"]\n\
                     [[kind]]\nkey = \"roof\"\nzh = \"屋面\"\nen = \"roof\"\nterms = [\"屋面\"]\n";
        assert_eq!(
            Locations::from_toml(twice),
            Err(LocationsError::Kind("roof".to_owned()))
        );
        let other = "[[kind]]\nkey = \"other\"\nzh = \"其他\"\nen = \"other\"\nterms = [\"x\"]\n";
        assert!(Locations::from_toml(other).is_err());
        assert!(matches!(
            Locations::from_toml("kind = 3"),
            Err(LocationsError::Parse(_))
        ));
    }
}
