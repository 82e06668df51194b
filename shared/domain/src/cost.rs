//! Who pays for a repair (MISSION §5.3, §9; Appendix A: the party responsible for the defect
//! bears the cost, and in-warranty defects the contractor caused are repaired free). Pure:
//! given the warranty status of the affected scope, who is responsible (alone or in shares)
//! and the quoted amount, it says what the customer and the contractor pay, what is charged back
//! to a designer or supplier, and why, in words a customer can read (Chinese and English).
//! Amounts are in cents (fen) so they add up exactly.

/// Who caused a defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    /// The contractor (design-build, fabrication, installation).
    Contractor,
    /// The designer.
    Designer,
    /// A material supplier.
    MaterialSupplier,
    /// The customer's use or maintenance.
    CustomerUse,
    /// A third party.
    ThirdParty,
    /// Force majeure (typhoon, earthquake...).
    ForceMajeure,
    /// Not determined yet.
    Undetermined,
}

impl Party {
    fn zh(self) -> &'static str {
        match self {
            Party::Contractor => "施工方",
            Party::Designer => "设计单位",
            Party::MaterialSupplier => "材料供应商",
            Party::CustomerUse => "使用或维护不当",
            Party::ThirdParty => "第三方",
            Party::ForceMajeure => "不可抗力",
            Party::Undetermined => "未确定",
        }
    }

    fn en(self) -> &'static str {
        match self {
            Party::Contractor => "the contractor",
            Party::Designer => "the designer",
            Party::MaterialSupplier => "the material supplier",
            Party::CustomerUse => "use or maintenance",
            Party::ThirdParty => "a third party",
            Party::ForceMajeure => "force majeure",
            Party::Undetermined => "undetermined",
        }
    }

    /// Whether the contractor answers to the customer for it while in warranty (its own work,
    /// and the designer and suppliers it engaged, charged back to them).
    fn contractor_answers(self) -> bool {
        matches!(
            self,
            Party::Contractor | Party::Designer | Party::MaterialSupplier
        )
    }
}

/// One party's share of the responsibility, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// The party.
    pub party: Party,
    /// Percent, 1..=100.
    pub percent: u32,
}

/// What the rule is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostCase {
    /// Whether the affected scope is under warranty on the day the defect was reported.
    pub in_warranty: bool,
    /// Who is responsible, in percent adding up to 100 (one share of 100 when one party is).
    pub shares: Vec<Share>,
    /// The quoted amount of the repair, in cents.
    pub quoted_cents: i64,
}

/// A charge back to the party that caused part of the defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackCharge {
    /// Designer or supplier.
    pub party: Party,
    /// Amount in cents.
    pub cents: i64,
}

/// Who pays, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostDecision {
    /// What the customer pays (paid service), in cents.
    pub customer_cents: i64,
    /// What the contractor bears, in cents (back-charges included).
    pub contractor_cents: i64,
    /// Amounts the contractor recovers from the designer or a supplier.
    pub back_charges: Vec<BackCharge>,
    /// Free of charge for the customer.
    pub free_for_customer: bool,
    /// Why, in Chinese.
    pub reasoning_zh: String,
    /// Why, in English.
    pub reasoning_en: String,
}

/// Why the rule cannot decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// Shares missing, zero, repeated or not adding up to 100.
    #[error("responsibility shares must name each party once and add up to 100 percent")]
    Shares,
    /// A negative amount.
    #[error("the quoted amount must not be negative")]
    Amount,
    /// Responsibility is not determined: an appraisal or a dispute decides first.
    #[error("responsibility is undetermined; settle it (appraisal or dispute) before cost bearing")]
    Undetermined,
}

fn yuan(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

/// Splits `total` by `percents` so the parts add up to `total` exactly (largest remainders).
fn split(total: i64, percents: &[u32]) -> Vec<i64> {
    let mut parts: Vec<i64> = percents
        .iter()
        .map(|p| total * i64::from(*p) / 100)
        .collect();
    let mut rest = total - parts.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..percents.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse((total * i64::from(percents[*i])) % 100));
    for i in order {
        if rest == 0 {
            break;
        }
        parts[i] += 1;
        rest -= 1;
    }
    parts
}

/// Decides who pays.
pub fn decide(case: &CostCase) -> Result<CostDecision, CostError> {
    if case.quoted_cents < 0 {
        return Err(CostError::Amount);
    }
    let total: u32 = case.shares.iter().map(|s| s.percent).sum();
    let mut parties: Vec<Party> = case.shares.iter().map(|s| s.party).collect();
    parties.sort();
    parties.dedup();
    if case.shares.is_empty()
        || total != 100
        || parties.len() != case.shares.len()
        || case.shares.iter().any(|s| s.percent == 0)
    {
        return Err(CostError::Shares);
    }
    if parties.contains(&Party::Undetermined) {
        return Err(CostError::Undetermined);
    }
    let percents: Vec<u32> = case.shares.iter().map(|s| s.percent).collect();
    let amounts = split(case.quoted_cents, &percents);
    let mut customer = 0;
    let mut contractor = 0;
    let mut back_charges = Vec::new();
    let mut zh = Vec::new();
    let mut en = Vec::new();
    for (share, cents) in case.shares.iter().zip(amounts) {
        let who = format!("{}%", share.percent);
        if case.in_warranty && share.party.contractor_answers() {
            contractor += cents;
            if share.party != Party::Contractor {
                back_charges.push(BackCharge {
                    party: share.party,
                    cents,
                });
                zh.push(format!(
                    "{who} 由{}造成，在保修期内由施工方免费维修，{} 元向{}追偿",
                    share.party.zh(),
                    yuan(cents),
                    share.party.zh()
                ));
                en.push(format!(
                    "{who} caused by {}: repaired free under warranty by the contractor, who recovers {} yuan from {}",
                    share.party.en(),
                    yuan(cents),
                    share.party.en()
                ));
            } else {
                zh.push(format!("{who} 属施工方责任，在保修期内免费维修"));
                en.push(format!(
                    "{who} the contractor's responsibility: repaired free under warranty"
                ));
            }
        } else {
            customer += cents;
            let why_zh = if case.in_warranty {
                format!("由{}造成，不属保修范围", share.party.zh())
            } else {
                format!("已过保修期（原因：{}）", share.party.zh())
            };
            let why_en = if case.in_warranty {
                format!(
                    "caused by {}, which the warranty does not cover",
                    share.party.en()
                )
            } else {
                format!("the warranty has expired (cause: {})", share.party.en())
            };
            zh.push(format!(
                "{who} {why_zh}，按报价 {} 元提供有偿服务",
                yuan(cents)
            ));
            en.push(format!(
                "{who} {why_en}: paid service at the quoted {} yuan",
                yuan(cents)
            ));
        }
    }
    Ok(CostDecision {
        customer_cents: customer,
        contractor_cents: contractor,
        free_for_customer: customer == 0,
        back_charges,
        reasoning_zh: zh.join("；") + "。",
        reasoning_en: en.join("; ") + ".",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn alone(party: Party) -> Vec<Share> {
        vec![Share {
            party,
            percent: 100,
        }]
    }

    fn case(in_warranty: bool, shares: Vec<Share>) -> CostCase {
        CostCase {
            in_warranty,
            shares,
            quoted_cents: 123_456,
        }
    }

    #[test]
    fn the_rule_of_the_process() {
        // In warranty and the contractor's fault: free.
        let d = decide(&case(true, alone(Party::Contractor))).unwrap();
        assert!(d.free_for_customer);
        assert_eq!(d.contractor_cents, 123_456);
        assert!(d.reasoning_zh.contains("免费"), "{}", d.reasoning_zh);
        assert!(d.reasoning_en.contains("free under warranty"));
        // Use or maintenance, force majeure, out of warranty: paid at the quoted amount.
        for d in [
            decide(&case(true, alone(Party::CustomerUse))).unwrap(),
            decide(&case(true, alone(Party::ForceMajeure))).unwrap(),
            decide(&case(false, alone(Party::Contractor))).unwrap(),
        ] {
            assert_eq!(d.customer_cents, 123_456);
            assert!(
                d.reasoning_en.contains("1234.56 yuan"),
                "{}",
                d.reasoning_en
            );
        }
        // Designer or supplier: the contractor repairs, and charges them back.
        let d = decide(&case(true, alone(Party::MaterialSupplier))).unwrap();
        assert!(d.free_for_customer);
        assert_eq!(
            d.back_charges,
            vec![BackCharge {
                party: Party::MaterialSupplier,
                cents: 123_456
            }]
        );
        // Shared: split in percent.
        let shared = vec![
            Share {
                party: Party::Contractor,
                percent: 60,
            },
            Share {
                party: Party::CustomerUse,
                percent: 40,
            },
        ];
        let d = decide(&case(true, shared)).unwrap();
        assert_eq!((d.contractor_cents, d.customer_cents), (74_074, 49_382));
        assert!(d.reasoning_zh.contains("60%") && d.reasoning_zh.contains("40%"));
    }

    #[test]
    fn what_cannot_be_decided_says_why() {
        assert_eq!(
            decide(&case(true, alone(Party::Undetermined))),
            Err(CostError::Undetermined)
        );
        let half = vec![Share {
            party: Party::Contractor,
            percent: 50,
        }];
        assert_eq!(decide(&case(true, half)), Err(CostError::Shares));
        assert_eq!(decide(&case(true, vec![])), Err(CostError::Shares));
        let mut negative = case(true, alone(Party::Contractor));
        negative.quoted_cents = -1;
        assert_eq!(decide(&negative), Err(CostError::Amount));
    }

    fn party() -> impl Strategy<Value = Party> {
        prop_oneof![
            Just(Party::Contractor),
            Just(Party::Designer),
            Just(Party::MaterialSupplier),
            Just(Party::CustomerUse),
            Just(Party::ThirdParty),
            Just(Party::ForceMajeure),
        ]
    }

    proptest! {
        /// Whatever the split, the parts add up to the quote to the cent, back-charges are
        /// part of what the contractor bears, and out of warranty the customer pays it all.
        #[test]
        fn amounts_always_add_up(
            in_warranty: bool,
            quoted in 0i64..1_000_000_000,
            a in party(),
            b in party(),
            percent in 1u32..100,
        ) {
            let shares = if a == b {
                vec![Share { party: a, percent: 100 }]
            } else {
                vec![Share { party: a, percent }, Share { party: b, percent: 100 - percent }]
            };
            let d = decide(&CostCase { in_warranty, shares, quoted_cents: quoted }).unwrap();
            prop_assert_eq!(d.customer_cents + d.contractor_cents, quoted);
            prop_assert!(d.back_charges.iter().map(|c| c.cents).sum::<i64>() <= d.contractor_cents);
            if !in_warranty {
                prop_assert_eq!(d.customer_cents, quoted);
            }
            prop_assert!(!d.reasoning_zh.is_empty() && !d.reasoning_en.is_empty());
        }
    }
}
