//! The labels of every enum value the API returns, in a reader's locale: what a front-end
//! shows instead of `CASE_STATE_IN_REPAIR`, so no client keeps its own copy.

use std::collections::BTreeMap;

use steelcare_i18n::{Locale, enum_label, enum_label_id};

/// Every enum of the contracts (by full name, e.g. `steelcare.common.v1.CaseState`) with the
/// label of each value but UNSPECIFIED (by value name, e.g. `CASE_STATE_IN_REPAIR`).
pub fn enum_labels(locale: Locale) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for e in enums() {
        let values = e
            .values()
            .filter(|v| v.number() != 0)
            .map(|v| {
                let label = enum_label(e.name(), v.name()).render(locale);
                (v.name().to_owned(), label)
            })
            .collect();
        out.insert(e.full_name().to_owned(), values);
    }
    out
}

/// The enums of SteelCare's own packages.
fn enums() -> impl Iterator<Item = prost_reflect::EnumDescriptor> {
    crate::validate::descriptor_pool()
        .into_iter()
        .flat_map(|pool| pool.all_enums())
        .filter(|e| e.full_name().starts_with("steelcare."))
}

/// Catalogue ids every enum value needs (for the completeness test).
pub fn label_ids() -> Vec<String> {
    enums()
        .flat_map(|e| {
            e.values()
                .filter(|v| v.number() != 0)
                .map(|v| enum_label_id(e.name(), v.name()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_value_a_person_sees_has_a_label_in_every_locale() {
        let ids = label_ids();
        assert!(ids.len() > 200, "{}", ids.len());
        let missing: Vec<&String> = ids
            .iter()
            .filter(|id| !steelcare_i18n::catalogue().has(id))
            .collect();
        assert!(
            missing.is_empty(),
            "enum values without a label: {missing:?}"
        );
    }

    #[test]
    fn labels_come_in_the_readers_language() {
        let (Some(zh), Some(en)) = (Locale::parse("zh-CN"), Locale::parse("en")) else {
            panic!("zh-CN and en are shipped");
        };
        let state = |l| {
            enum_labels(l)
                .get("steelcare.common.v1.CaseState")
                .and_then(|v| v.get("CASE_STATE_IN_REPAIR"))
                .cloned()
        };
        assert_eq!(state(zh).as_deref(), Some("维修中"));
        assert_eq!(state(en).as_deref(), Some("In repair"));
    }
}
