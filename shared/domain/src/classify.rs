//! Rule-based classification of a description (MISSION §3.2): category and severity tier
//! suggested from words in Chinese and English, with the words that matched as evidence. The
//! rules are data (`data/classification.toml`, which says how a text is judged); this module
//! applies them.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::category::{ProblemCategory, SeverityTier};

/// The shipped rules.
pub const RULES_TOML: &str = include_str!("../data/classification.toml");

/// A suggestion and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Suggested category.
    pub category: ProblemCategory,
    /// Suggested tier.
    pub tier: SeverityTier,
    /// The words that matched, and the rule that raised the tier if one did.
    pub matched_terms: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    category: Vec<RawCategory>,
    consultation: RawConsultation,
    primary_failure: RawPrimaryFailure,
    structural_danger: RawStructuralDanger,
    intensifiers: RawIntensifiers,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStructuralDanger {
    tier: String,
    rule: String,
    signs: Vec<String>,
    look_alikes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    name: String,
    tier: String,
    symptoms: Vec<String>,
    topics: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsultation {
    tier: String,
    questions: Vec<String>,
    usage: Vec<String>,
    damage: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrimaryFailure {
    tier: String,
    rule: String,
    members: Vec<String>,
    signs: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntensifiers {
    terms: Vec<String>,
}

#[derive(Debug)]
struct CategoryRule {
    category: ProblemCategory,
    tier: SeverityTier,
    symptoms: Vec<String>,
    topics: Vec<String>,
}

/// Validated classification rules.
#[derive(Debug)]
pub struct Rules {
    categories: Vec<CategoryRule>,
    consultation_tier: SeverityTier,
    questions: Vec<String>,
    usage: Vec<String>,
    damage: Vec<String>,
    primary_tier: SeverityTier,
    primary_rule: String,
    members: Vec<String>,
    signs: Vec<String>,
    danger_tier: SeverityTier,
    danger_rule: String,
    danger_signs: Vec<String>,
    look_alikes: Vec<String>,
    intensifiers: Vec<String>,
}

fn lower(terms: Vec<String>) -> Vec<String> {
    terms.into_iter().map(|t| t.to_lowercase()).collect()
}

impl Rules {
    /// Parses and checks rules in the shipped file's format.
    pub fn from_toml(text: &str) -> Result<Rules, String> {
        let raw: RawRules = toml::from_str(text).map_err(|err| err.to_string())?;
        let tier = |s: &str| s.parse::<SeverityTier>().map_err(|err| err.to_string());
        let mut categories = Vec::new();
        for c in raw.category {
            let category: ProblemCategory = c
                .name
                .parse()
                .map_err(|err: crate::category::UnknownValue| err.to_string())?;
            if c.symptoms.is_empty() && c.topics.is_empty() {
                return Err(format!("category {category} has no terms"));
            }
            categories.push(CategoryRule {
                category,
                tier: tier(&c.tier)?,
                symptoms: lower(c.symptoms),
                topics: lower(c.topics),
            });
        }
        Ok(Rules {
            categories,
            consultation_tier: tier(&raw.consultation.tier)?,
            questions: lower(raw.consultation.questions),
            usage: lower(raw.consultation.usage),
            damage: lower(raw.consultation.damage),
            primary_tier: tier(&raw.primary_failure.tier)?,
            primary_rule: raw.primary_failure.rule,
            members: lower(raw.primary_failure.members),
            signs: lower(raw.primary_failure.signs),
            danger_tier: tier(&raw.structural_danger.tier)?,
            danger_rule: raw.structural_danger.rule,
            danger_signs: lower(raw.structural_danger.signs),
            look_alikes: lower(raw.structural_danger.look_alikes),
            intensifiers: lower(raw.intensifiers.terms),
        })
    }

    /// The shipped rules.
    pub fn shipped() -> &'static Rules {
        static SHIPPED: LazyLock<Rules> = LazyLock::new(|| match Rules::from_toml(RULES_TOML) {
            Ok(rules) => rules,
            // The file is part of the build and covered by tests.
            Err(err) => unreachable!("shipped classification rules are invalid: {err}"),
        });
        &SHIPPED
    }

    /// Suggests a category and tier for the words a customer used.
    pub fn suggest(&self, text: &str) -> Suggestion {
        let text = text.to_lowercase();
        // The structural rules read the text without the objects that only look like members.
        // (Copied only for a look-alike that is there: most texts hold none.)
        let structural = self.look_alikes.iter().fold(text.clone(), |t, look_alike| {
            if t.contains(look_alike.as_str()) {
                t.replace(look_alike.as_str(), " ")
            } else {
                t
            }
        });
        let members = found(&structural, &self.members);
        let not_structural = structural != text && members.is_empty();
        let symptomatic = self
            .categories
            .iter()
            .filter(|c| !(not_structural && c.category == ProblemCategory::StructuralSafety))
            .map(|c| (c, found(&text, &c.symptoms)))
            .find(|(_, found)| !found.is_empty());
        let damage = found(&text, &self.damage);
        let questions = found(&text, &self.questions);
        let usage = found(&text, &self.usage);
        // A question about use, maintenance or a standard with no present defect.
        if symptomatic.is_none() && damage.is_empty() && !questions.is_empty() && !usage.is_empty()
        {
            let mut evidence = questions;
            evidence.extend(usage);
            for c in &self.categories {
                evidence.extend(found(&text, &c.topics));
            }
            return Suggestion {
                category: ProblemCategory::UsageConsultation,
                tier: self.consultation_tier,
                matched_terms: dedup(evidence),
            };
        }
        if let Some(mut danger) = self.structural_danger(&structural, &members) {
            if let Some((_, words)) = &symptomatic {
                danger.matched_terms.splice(0..0, words.iter().cloned());
                danger.matched_terms = dedup(danger.matched_terms);
            }
            return danger;
        }
        let topical = || {
            self.categories
                .iter()
                .map(|c| (c, found(&text, &c.topics)))
                .find(|(_, found)| !found.is_empty())
        };
        let Some((rule, evidence)) = symptomatic.or_else(topical) else {
            if !questions.is_empty() {
                return Suggestion {
                    category: ProblemCategory::UsageConsultation,
                    tier: self.consultation_tier,
                    matched_terms: questions,
                };
            }
            let mut suggestion = Suggestion {
                category: ProblemCategory::Other,
                tier: SeverityTier::P3,
                matched_terms: Vec::new(),
            };
            if !not_structural {
                self.raise_for_primary_failure(&structural, &mut suggestion);
            }
            return suggestion;
        };
        let mut suggestion = Suggestion {
            category: rule.category,
            tier: rule.tier,
            matched_terms: evidence,
        };
        let raised =
            !not_structural && self.raise_for_primary_failure(&structural, &mut suggestion);
        if !raised && suggestion.tier > SeverityTier::P2 {
            let worse = found(&text, &self.intensifiers);
            if !worse.is_empty() {
                suggestion.tier = SeverityTier::P2;
                suggestion.matched_terms.extend(worse);
            }
        }
        suggestion.matched_terms = dedup(suggestion.matched_terms);
        suggestion
    }

    /// A primary member leaning, settling, buckling or cracking: structural safety, with the
    /// member, the sign and the rule as evidence.
    fn structural_danger(&self, structural: &str, members: &[String]) -> Option<Suggestion> {
        if members.is_empty() {
            return None;
        }
        let signs = found(structural, &self.danger_signs);
        if signs.is_empty() {
            return None;
        }
        let mut matched_terms = members.to_vec();
        matched_terms.extend(signs);
        matched_terms.push(format!("rule: {}", self.danger_rule));
        Some(Suggestion {
            category: ProblemCategory::StructuralSafety,
            tier: self.danger_tier,
            matched_terms: dedup(matched_terms),
        })
    }

    /// A primary member or joint with a sign of failure is urgent; adds the member, the sign
    /// and the rule to the evidence. Returns whether it raised the tier.
    fn raise_for_primary_failure(&self, text: &str, suggestion: &mut Suggestion) -> bool {
        if suggestion.tier <= self.primary_tier {
            return false;
        }
        let members = found(text, &self.members);
        let signs = found(text, &self.signs);
        if members.is_empty() || signs.is_empty() {
            return false;
        }
        suggestion.tier = self.primary_tier;
        if suggestion.category == ProblemCategory::Other {
            suggestion.category = ProblemCategory::StructuralSafety;
        }
        suggestion.matched_terms.extend(members);
        suggestion.matched_terms.extend(signs);
        suggestion
            .matched_terms
            .push(format!("rule: {}", self.primary_rule));
        true
    }
}

fn found(text: &str, terms: &[String]) -> Vec<String> {
    terms
        .iter()
        .filter(|t| text.contains(t.as_str()))
        .cloned()
        .collect()
}

fn dedup(terms: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(terms.len());
    for t in terms {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Suggests a category and tier with the shipped rules.
pub fn suggest(text: &str) -> Suggestion {
    Rules::shipped().suggest(text)
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
                UsageConsultation,
                P4,
                "clean",
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

    /// How customers say it on the phone: colloquial, with typos and mixed concerns, in both
    /// languages. (text, category, tier, a word the evidence must hold.)
    const PHRASINGS: &[(&str, ProblemCategory, SeverityTier, &str)] = &[
        // Structural safety.
        (
            "你们快来看看，车间那根钢梁下面裂了一条缝",
            StructuralSafety,
            P1,
            "裂",
        ),
        (
            "钢柱根部焊缝开裂了，工人都不敢进去",
            StructuralSafety,
            P1,
            "开裂",
        ),
        ("屋架好像有点失稳，晃得厉害", StructuralSafety, P1, "失稳"),
        ("吊车梁上有条裂纹，大概十公分", StructuralSafety, P1, "裂纹"),
        (
            "there's a crack in the main girder over bay 4, pls come asap",
            StructuralSafety,
            P1,
            "crack",
        ),
        (
            "brace snapped during the storm last nite",
            StructuralSafety,
            P1,
            "snapped",
        ),
        (
            "the column flange looks buckled near the crane rail",
            StructuralSafety,
            P1,
            "buckl",
        ),
        (
            "Part of the canopy collapsed this morning",
            StructuralSafety,
            P1,
            "collapse",
        ),
        // A primary member or joint with a sign of failure: urgent whatever the category.
        (
            "梁柱节点高强螺栓松动，刮风的时候咯吱咯吱响",
            ConnectionLoosening,
            P1,
            "咯吱",
        ),
        ("柱脚螺栓松了，柱子有点晃", ConnectionLoosening, P1, "柱脚"),
        (
            "Loose HS bolts at the beam-column connection, creaking in the wind",
            ConnectionLoosening,
            P1,
            "creak",
        ),
        (
            "bolts at the column base are loose and the column shifts when the crane runs",
            ConnectionLoosening,
            P1,
            "column base",
        ),
        (
            "主梁明显变形了，下面还放着货",
            MemberDeformation,
            P1,
            "主梁",
        ),
        (
            "the rafter is visibly bent after the snow",
            MemberDeformation,
            P1,
            "rafter",
        ),
        ("支撑杆弯了，好像有异响", MemberDeformation, P1, "异响"),
        (
            "truss bearing slipped about 2cm",
            StructuralSafety,
            P1,
            "slip",
        ),
        // Member deformation (secondary members).
        (
            "屋面檩条往下沉，看着下挠挺明显",
            MemberDeformation,
            P2,
            "下挠",
        ),
        ("墙梁有点弯曲变形", MemberDeformation, P2, "变形"),
        (
            "purlins are sagging in the middle of the span",
            MemberDeformation,
            P2,
            "sag",
        ),
        (
            "wall girt twisted, cladding pulled off a bit",
            MemberDeformation,
            P2,
            "twist",
        ),
        (
            "roof sheet bulging up between the purlins",
            MemberDeformation,
            P2,
            "bulg",
        ),
        // Connection loosening.
        ("高强螺栓松动了好几颗", ConnectionLoosening, P2, "螺栓松动"),
        ("檩条连接的螺丝松了", ConnectionLoosening, P2, "螺丝松"),
        (
            "有几个螺栓脱落掉在地上了",
            ConnectionLoosening,
            P2,
            "螺栓脱落",
        ),
        (
            "Found a loose bolt on the purlin cleat",
            ConnectionLoosening,
            P2,
            "loose bolt",
        ),
        (
            "a couple of bolts missing on the wall girt, missing bolt heads on the floor",
            ConnectionLoosening,
            P2,
            "missing bolt",
        ),
        (
            "the weld failed on a purlin cleat",
            ConnectionLoosening,
            P2,
            "weld failed",
        ),
        // Leakage.
        ("下雨天屋面接缝处漏水", Leakage, P3, "漏水"),
        ("天窗那边一下雨就往下滴水", Leakage, P3, "滴水"),
        ("办公室吊顶有渗水的痕迹", Leakage, P3, "渗水"),
        (
            "the roof leeks... i mean leaks near the ridge when it rains",
            Leakage,
            P3,
            "leak",
        ),
        (
            "water coming in along the wall flashing",
            Leakage,
            P3,
            "water coming in",
        ),
        ("仓库大面积漏雨，货都湿了", Leakage, P2, "大面积"),
        (
            "severe leak right over the production line",
            Leakage,
            P2,
            "severe",
        ),
        (
            "roof is leaking everywhere after the typhoon",
            Leakage,
            P2,
            "everywhere",
        ),
        // Coating damage.
        ("柱脚生锈了，涂层也脱落了", CoatingDamage, P3, "锈"),
        ("钢梁表面掉漆起皮", CoatingDamage, P3, "掉漆"),
        ("防火涂料有几处剥落", CoatingDamage, P3, "剥落"),
        (
            "Paint peeling off the rafters in the wash bay",
            CoatingDamage,
            P3,
            "peel",
        ),
        (
            "rust spots all over the purlins, getting worse",
            CoatingDamage,
            P3,
            "rust",
        ),
        (
            "coating blistering on the south wall columns",
            CoatingDamage,
            P3,
            "blister",
        ),
        (
            "锈蚀越来越严重，好多地方都锈穿了",
            CoatingDamage,
            P2,
            "严重",
        ),
        // Hardware and fittings.
        ("天沟坏了一截", HardwareDamage, P3, "天沟"),
        ("卷帘门卡住了打不开", HardwareDamage, P3, "打不开"),
        (
            "the roller door won't close properly",
            HardwareDamage,
            P3,
            "won't close",
        ),
        ("downpipe came off the wall", HardwareDamage, P3, "downpipe"),
        ("采光板破损了两块", HardwareDamage, P3, "采光"),
        ("skylight hatch is stuck", HardwareDamage, P3, "stuck"),
        // Usage consultations: questions about use, maintenance or standards, no defect.
        (
            "请问屋面的防腐涂层多久需要维护一次？",
            UsageConsultation,
            P4,
            "维护",
        ),
        (
            "想咨询一下钢结构的防火涂料有什么使用标准",
            UsageConsultation,
            P4,
            "标准",
        ),
        (
            "屋面上能不能加装太阳能板，承重够不够？",
            UsageConsultation,
            P4,
            "承重",
        ),
        ("吊顶下面可以挂灯具吗", UsageConsultation, P4, "挂"),
        ("天沟要多久清理一次？", UsageConsultation, P4, "清理"),
        (
            "How often should the anti-corrosion coating on the roof be maintained?",
            UsageConsultation,
            P4,
            "maintain",
        ),
        (
            "What standard do you follow for the fire-proof paint inspection?",
            UsageConsultation,
            P4,
            "standard",
        ),
        (
            "can we hang a small hoist from the roof beam?",
            UsageConsultation,
            P4,
            "hang",
        ),
        (
            "do we need to inspect the bolts every year?",
            UsageConsultation,
            P4,
            "inspect",
        ),
        (
            "how do i clean the skylights without damaging them",
            UsageConsultation,
            P4,
            "clean",
        ),
        (
            "咨询一下，你们的质保期是多久",
            UsageConsultation,
            P4,
            "咨询",
        ),
        // Mixed concerns: the present defect wins over the question.
        ("屋面漏水了，另外想问下防腐多久做一次", Leakage, P3, "漏水"),
        (
            "请问螺栓松动了怎么处理？",
            ConnectionLoosening,
            P2,
            "螺栓松动",
        ),
        (
            "how do we stop the rust on the column base?",
            CoatingDamage,
            P3,
            "rust",
        ),
        ("门坏了，顺便问一下怎么保养", HardwareDamage, P3, "门"),
        // Nothing recognisable.
        ("有点问题，麻烦回个电话", Other, P3, ""),
        (
            "something weird with the building, call me back",
            Other,
            P3,
            "",
        ),
    ];

    /// Structural danger as customers report it (a primary member leaning, settling, buckling
    /// or cracking), colloquial and with typos, and what only looks like it (a fence, a tile,
    /// a railing). (text, category, tier.)
    const DANGER: &[(&str, ProblemCategory, SeverityTier)] = &[
        ("仓库东边那根钢柱好像歪了", StructuralSafety, P1),
        ("B轴5号柱往一边倒，看着不对劲", StructuralSafety, P1),
        (
            "隔壁在挖地下室，我们厂房的柱子有点斜了",
            StructuralSafety,
            P1,
        ),
        ("钢住倾斜了，快派人来", StructuralSafety, P1),
        ("刚柱底部好像下沉了几公分", StructuralSafety, P1),
        ("柱脚那里地面塌陷，柱子跟着沉下去了", StructuralSafety, P1),
        ("3号柱基础沉降，墙板都拉开了", StructuralSafety, P1),
        ("屋架中间往下沉，下弦杆有点鼓曲", StructuralSafety, P1),
        ("珩架腹杆压弯了", StructuralSafety, P1),
        ("网架有根杆件弯折了，像是屈曲", StructuralSafety, P1),
        ("钢粱跟柱子连接的地方裂开了", StructuralSafety, P1),
        ("吊车梁和牛腿连接处出现裂缝", StructuralSafety, P1),
        ("主梁下翼缘断了一截", StructuralSafety, P1),
        ("支撑拉脱了，整个跨有点晃", StructuralSafety, P1),
        ("钢结构厂房整体往北偏了，门都关不严", StructuralSafety, P1),
        ("柱子不垂直了，用线坠一吊差好多", StructuralSafety, P1),
        ("框架柱扭曲，墙上还有响声", StructuralSafety, P1),
        ("钢架好像失稳了，风一吹就晃", StructuralSafety, P1),
        (
            "the steel column next to dock 2 is leaning",
            StructuralSafety,
            P1,
        ),
        (
            "colum on grid C4 tilts after the excavation next door",
            StructuralSafety,
            P1,
        ),
        ("collumn base has settled maybe 3cm", StructuralSafety, P1),
        (
            "one of the columns looks out of plumb, worried",
            StructuralSafety,
            P1,
        ),
        ("the truss bottom chord is buckled", StructuralSafety, P1),
        (
            "main girder bukled under the snow load",
            StructuralSafety,
            P1,
        ),
        (
            "craked weld at the beam-column joint, crack is growing",
            StructuralSafety,
            P1,
        ),
        (
            "the rafter has a kink in it after the storm",
            StructuralSafety,
            P1,
        ),
        (
            "foundation under the frame is sinking",
            StructuralSafety,
            P1,
        ),
        (
            "portal frame leans to the east, doors jam",
            StructuralSafety,
            P1,
        ),
        (
            "brace broke loose at the gusset, roof moves",
            StructuralSafety,
            P1,
        ),
        (
            "space frame member fractured, pls come",
            StructuralSafety,
            P1,
        ),
        // Look-alikes that carry no load.
        ("厂区围墙有点倾斜", Other, P3),
        ("办公室地砖开裂了好几块", Other, P3),
        ("走廊栏杆立柱歪了", Other, P3),
        ("楼梯扶手松动了", ConnectionLoosening, P2),
        ("车间地坪有裂缝", Other, P3),
        ("广告牌倾斜了", Other, P3),
        ("吊顶石膏板裂了一条缝", Other, P3),
        ("货架倒了", Other, P3),
        ("the fence along the yard is leaning", Other, P3),
        ("a floor tile in the lobby cracked", Other, P3),
        ("the handrail post is tilted", Other, P3),
        ("the lamp post by the gate leans", Other, P3),
        ("cracked glass in the office window", HardwareDamage, P3),
        ("storage rack is bent and leaning", MemberDeformation, P2),
    ];

    #[test]
    fn structural_danger_is_p1_and_its_look_alikes_are_not() {
        assert!(DANGER.len() >= 40, "{}", DANGER.len());
        let mut wrong = Vec::new();
        for (text, category, tier) in DANGER {
            let s = suggest(text);
            if (s.category, s.tier) != (*category, *tier) {
                wrong.push(format!(
                    "{text}: got {} {} {:?}, want {category} {tier}",
                    s.category, s.tier, s.matched_terms
                ));
            }
            if *category == StructuralSafety && s.matched_terms.is_empty() {
                wrong.push(format!("{text}: no evidence"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
        // Structural safety is covered by the main structure's warranty, for its design life.
        assert_eq!(
            crate::warranty::WarrantyScope::covering(StructuralSafety),
            Some(crate::warranty::WarrantyScope::MainStructure)
        );
    }

    #[test]
    fn customers_phrasings_are_judged_as_an_engineer_would() {
        assert!(PHRASINGS.len() >= 60, "{}", PHRASINGS.len());
        let mut wrong = Vec::new();
        for (text, category, tier, term) in PHRASINGS {
            let s = suggest(text);
            let evidence_ok = term.is_empty() || s.matched_terms.iter().any(|t| t == term);
            if (s.category, s.tier) != (*category, *tier) || !evidence_ok {
                wrong.push(format!(
                    "{text}: got {} {} {:?}, want {category} {tier} with {term:?}",
                    s.category, s.tier, s.matched_terms
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn the_rule_that_raised_a_tier_is_in_the_evidence() {
        let s = suggest("梁柱节点高强螺栓松动，刮风的时候咯吱咯吱响");
        assert_eq!((s.category, s.tier), (ConnectionLoosening, P1));
        assert!(
            s.matched_terms.iter().any(|t| t.starts_with("rule: ")),
            "{:?}",
            s.matched_terms
        );
        assert!(s.matched_terms.contains(&"梁柱节点".to_owned()));
        // Without the sign of failure it stays major.
        assert_eq!(suggest("梁柱节点高强螺栓松动").tier, P2);
    }

    #[test]
    fn rules_that_name_an_unknown_category_or_tier_are_refused() {
        let bad = RULES_TOML.replacen("name = \"leakage\"", "name = \"flooding\"", 1);
        assert!(Rules::from_toml(&bad).unwrap_err().contains("flooding"));
        let bad = RULES_TOML.replacen("tier = \"p3\"", "tier = \"p9\"", 1);
        assert!(Rules::from_toml(&bad).is_err());
    }
}
