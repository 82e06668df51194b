//! Rule-based classification of a description (MISSION §3.2): category and severity tier
//! suggested from words in Chinese and English, with the words that matched as evidence.

use crate::category::{ProblemCategory, SeverityTier};

/// A suggestion and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Suggested category.
    pub category: ProblemCategory,
    /// Suggested tier.
    pub tier: SeverityTier,
    /// The words that matched, in rule order.
    pub matched_terms: Vec<String>,
}

struct Rule {
    category: ProblemCategory,
    tier: SeverityTier,
    terms: &'static [&'static str],
}

/// Rules in priority order: the first category that matches wins.
const RULES: &[Rule] = &[
    Rule {
        category: ProblemCategory::StructuralSafety,
        tier: SeverityTier::P1,
        terms: &[
            "裂缝",
            "裂纹",
            "断裂",
            "开裂",
            "失稳",
            "倒塌",
            "坍塌",
            "屈曲",
            "垮",
            "危险",
            "crack",
            "fracture",
            "buckl",
            "collapse",
            "unstable",
            "instability",
            "danger",
        ],
    },
    Rule {
        category: ProblemCategory::MemberDeformation,
        tier: SeverityTier::P2,
        terms: &[
            "变形", "下挠", "挠度", "弯曲", "下垂", "扭曲", "deform", "sag", "deflect", "bent",
            "bend", "warp", "twist",
        ],
    },
    Rule {
        category: ProblemCategory::ConnectionLoosening,
        tier: SeverityTier::P2,
        terms: &[
            "螺栓松动",
            "松动",
            "松脱",
            "脱焊",
            "焊缝",
            "loose bolt",
            "bolt loose",
            "loosen",
            "bolts loose",
            "loose",
            "weld",
        ],
    },
    Rule {
        category: ProblemCategory::Leakage,
        tier: SeverityTier::P3,
        terms: &[
            "渗漏",
            "漏水",
            "渗水",
            "漏雨",
            "积水",
            "leak",
            "seep",
            "drip",
            "water ingress",
        ],
    },
    Rule {
        category: ProblemCategory::CoatingDamage,
        tier: SeverityTier::P3,
        terms: &[
            "锈",
            "涂层脱落",
            "脱漆",
            "掉漆",
            "起皮",
            "剥落",
            "防腐",
            "防火涂料",
            "rust",
            "corros",
            "peel",
            "flak",
            "coating",
            "paint",
            "blister",
        ],
    },
    Rule {
        category: ProblemCategory::HardwareDamage,
        tier: SeverityTier::P3,
        terms: &[
            "天沟", "雨棚", "门", "窗", "采光", "五金", "配件", "gutter", "door", "window",
            "skylight", "fitting", "hardware", "downpipe",
        ],
    },
    Rule {
        category: ProblemCategory::UsageConsultation,
        tier: SeverityTier::P4,
        terms: &[
            "咨询",
            "请问",
            "如何",
            "怎么",
            "能否",
            "可以吗",
            "how to",
            "how do",
            "how can",
            "can we",
            "question",
            "advice",
            "consult",
        ],
    },
];

/// Words that make a problem worse than its category's usual tier (never past P2 unless
/// structural safety, which is already P1).
const INTENSIFIERS: &[&str] = &[
    "严重",
    "大面积",
    "大量",
    "持续",
    "扩大",
    "severe",
    "serious",
    "heavy",
    "flood",
    "spreading",
    "extensive",
    "worsening",
];

fn matches<'a>(text: &str, terms: &'a [&'a str]) -> Vec<&'a str> {
    terms.iter().copied().filter(|t| text.contains(t)).collect()
}

/// Suggests a category and tier for the words a customer used.
pub fn suggest(text: &str) -> Suggestion {
    let text = text.to_lowercase();
    for rule in RULES {
        let found = matches(&text, rule.terms);
        if found.is_empty() {
            continue;
        }
        let mut matched_terms: Vec<String> = found.into_iter().map(str::to_owned).collect();
        let mut tier = rule.tier;
        let worse = matches(&text, INTENSIFIERS);
        if !worse.is_empty()
            && tier > SeverityTier::P2
            && rule.category != ProblemCategory::UsageConsultation
        {
            tier = SeverityTier::P2;
            matched_terms.extend(worse.into_iter().map(str::to_owned));
        }
        return Suggestion {
            category: rule.category,
            tier,
            matched_terms,
        };
    }
    Suggestion {
        category: ProblemCategory::Other,
        tier: SeverityTier::P3,
        matched_terms: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProblemCategory::*;
    use SeverityTier::*;

    #[test]
    fn chinese_and_english_descriptions_are_classified_with_evidence() {
        let cases = [
            ("钢梁下翼缘出现裂缝", StructuralSafety, P1, "裂缝"),
            (
                "Visible crack at the column base plate",
                StructuralSafety,
                P1,
                "crack",
            ),
            ("屋面檩条明显下挠", MemberDeformation, P2, "下挠"),
            ("Purlin sagging near ridge", MemberDeformation, P2, "sag"),
            ("高强螺栓松动", ConnectionLoosening, P2, "螺栓松动"),
            (
                "Found a loose bolt on the brace",
                ConnectionLoosening,
                P2,
                "loose bolt",
            ),
            ("屋面接缝处漏水", Leakage, P3, "漏水"),
            ("Roof joint leaks when it rains", Leakage, P3, "leak"),
            ("柱脚生锈，涂层脱落", CoatingDamage, P3, "锈"),
            ("Paint peeling off the rafters", CoatingDamage, P3, "peel"),
            ("天沟损坏", HardwareDamage, P3, "天沟"),
            ("请问屋面多久需要维护一次", UsageConsultation, P4, "请问"),
            (
                "How to clean the skylight panels?",
                HardwareDamage,
                P3,
                "skylight",
            ),
        ];
        for (text, category, tier, term) in cases {
            let s = suggest(text);
            assert_eq!((s.category, s.tier), (category, tier), "{text}");
            assert!(
                s.matched_terms.iter().any(|t| t == term),
                "{text}: {:?}",
                s.matched_terms
            );
        }
    }

    #[test]
    fn safety_words_win_over_others_and_intensifiers_raise_the_tier() {
        let s = suggest("漏水导致钢梁开裂");
        assert_eq!((s.category, s.tier), (StructuralSafety, P1));
        let s = suggest("Severe leak over the production line");
        assert_eq!((s.category, s.tier), (Leakage, P2));
        assert!(s.matched_terms.contains(&"severe".to_owned()));
        let s = suggest("大面积漏水");
        assert_eq!(s.tier, P2);
    }

    #[test]
    fn nothing_recognisable_is_other_p3_without_evidence() {
        let s = suggest("something is wrong");
        assert_eq!((s.category, s.tier), (Other, P3));
        assert!(s.matched_terms.is_empty());
    }
}
