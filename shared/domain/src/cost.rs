//! Who pays for a repair (MISSION §5.3, §9; appendix A). Repair cost is borne by the party
//! responsible for the defect (MoC order 80, art. 13); the warranty decides whether the
//! contractor must repair its own defect for free, not who caused it.
//!
//! The rule is a [`CostPolicy`]: for each party, in warranty and out of it, a [`Treatment`]. A
//! contractor configures it (`repair.cost_policy`); the default follows the seed and the
//! regulation:
//!
//! | cause | in warranty | out of warranty |
//! |---|---|---|
//! | the contractor | free | at cost (no margin): a latent defect of its own work |
//! | the designer, a material supplier, a third party | claim: the customer is not charged, the contractor repairs and claims the share from that party | claim |
//! | use or maintenance, the environment, force majeure | paid service | paid service |
//!
//! Given the warranty facts, who is responsible (alone or in shares) and, when one exists, the
//! quote, it says per share what happens, what the customer and the contractor pay, what is
//! claimed from whom, and why, naming the rule, the warranty scope and its dates. The bearing
//! is answerable before a price exists: without a quote the lines carry no amounts.

use std::fmt;
use std::str::FromStr;
use steelcare_i18n::{Arg, Msg, msg};

use chrono::NaiveDate;

use crate::category::UnknownValue;
use crate::money::{Amount, MoneyError};
use crate::warranty::WarrantyScope;

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
    /// The environment (corrosive atmosphere, ground conditions no one caused).
    Environment,
    /// A third party (e.g. the contractor of an adjacent excavation).
    ThirdParty,
    /// Force majeure (typhoon, earthquake...).
    ForceMajeure,
    /// Not determined yet.
    Undetermined,
}

impl Party {
    /// Every party a policy has a treatment for.
    pub const DECIDED: [Party; 7] = [
        Party::Contractor,
        Party::Designer,
        Party::MaterialSupplier,
        Party::CustomerUse,
        Party::Environment,
        Party::ThirdParty,
        Party::ForceMajeure,
    ];

    /// Its label in the catalogue (the `ResponsibleParty` enum's).
    pub fn label(self) -> steelcare_i18n::Msg {
        steelcare_i18n::enum_label("ResponsibleParty", &self.as_str().to_ascii_uppercase())
    }

    /// Stored and configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Contractor => "contractor",
            Party::Designer => "designer",
            Party::MaterialSupplier => "material_supplier",
            Party::CustomerUse => "customer_use",
            Party::Environment => "environment",
            Party::ThirdParty => "third_party",
            Party::ForceMajeure => "force_majeure",
            Party::Undetermined => "undetermined",
        }
    }

    /// Whether a claim can be made against the party: someone other than the contractor and
    /// the customer, who can be named and asked to pay.
    pub fn claimable(self) -> bool {
        matches!(
            self,
            Party::Designer | Party::MaterialSupplier | Party::ThirdParty
        )
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Party {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Party::DECIDED
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownValue {
                kind: "responsible party",
                value: s.to_owned(),
            })
    }
}

/// What happens to a party's share of the repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Treatment {
    /// The contractor repairs it free of charge.
    Free,
    /// The customer is not charged; the contractor repairs and claims the share from the party.
    Claim,
    /// The customer pays the share of the cost price, without margin.
    AtCost,
    /// The customer pays the share of the quoted price.
    PaidService,
}

impl Treatment {
    /// Every treatment.
    pub const ALL: [Treatment; 4] = [
        Treatment::Free,
        Treatment::Claim,
        Treatment::AtCost,
        Treatment::PaidService,
    ];

    /// Configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            Treatment::Free => "free",
            Treatment::Claim => "claim",
            Treatment::AtCost => "at_cost",
            Treatment::PaidService => "paid_service",
        }
    }

    /// Whether the customer pays something under it.
    pub fn charges_customer(self) -> bool {
        matches!(self, Treatment::AtCost | Treatment::PaidService)
    }
}

impl FromStr for Treatment {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Treatment::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownValue {
                kind: "cost treatment",
                value: s.to_owned(),
            })
    }
}

/// A treatment a policy cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{party} cannot be treated as {treatment}: {why}")]
pub struct PolicyError {
    /// The party.
    pub party: Party,
    /// The treatment asked for.
    pub treatment: &'static str,
    /// Why not.
    pub why: &'static str,
}

/// The contractor's rule: a treatment per party, in warranty and out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostPolicy {
    in_warranty: Vec<(Party, Treatment)>,
    out_of_warranty: Vec<(Party, Treatment)>,
}

impl Default for CostPolicy {
    /// The seed's and the regulation's rule (see the module's table).
    fn default() -> Self {
        let base = |contractor| {
            Party::DECIDED
                .into_iter()
                .map(|p| {
                    let t = match p {
                        Party::Contractor => contractor,
                        p if p.claimable() => Treatment::Claim,
                        _ => Treatment::PaidService,
                    };
                    (p, t)
                })
                .collect()
        };
        CostPolicy {
            in_warranty: base(Treatment::Free),
            out_of_warranty: base(Treatment::AtCost),
        }
    }
}

impl CostPolicy {
    /// Sets the treatment of `party`'s share in or out of warranty. A claim needs a party that
    /// can be claimed from; the contractor cannot claim from itself, and the customer's own
    /// use, the environment and force majeure have no one to claim from.
    pub fn set(
        &mut self,
        in_warranty: bool,
        party: Party,
        treatment: Treatment,
    ) -> Result<(), PolicyError> {
        if party == Party::Undetermined {
            return Err(PolicyError {
                party,
                treatment: treatment.as_str(),
                why: "an undetermined cause is settled (appraisal or dispute) before cost bearing",
            });
        }
        if treatment == Treatment::Claim && !party.claimable() {
            return Err(PolicyError {
                party,
                treatment: treatment.as_str(),
                why: "a claim is made against a designer, a material supplier or a third party",
            });
        }
        let rules = if in_warranty {
            &mut self.in_warranty
        } else {
            &mut self.out_of_warranty
        };
        if let Some(rule) = rules.iter_mut().find(|(p, _)| *p == party) {
            rule.1 = treatment;
        }
        Ok(())
    }

    /// The treatment of `party`'s share.
    pub fn treatment(&self, in_warranty: bool, party: Party) -> Treatment {
        let rules = if in_warranty {
            &self.in_warranty
        } else {
            &self.out_of_warranty
        };
        rules
            .iter()
            .find(|(p, _)| *p == party)
            .map_or(Treatment::PaidService, |(_, t)| *t)
    }
}

/// One party's share of the responsibility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The party.
    pub party: Party,
    /// Percent, 1..=100.
    pub percent: u32,
    /// Who exactly (the design institute, the supplier, the adjacent contractor), if known.
    pub name: String,
}

impl Share {
    /// A share with no name.
    pub fn of(party: Party, percent: u32) -> Share {
        Share {
            party,
            percent,
            name: String::new(),
        }
    }
}

/// The warranty that applies, as intake found it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WarrantyFacts {
    /// Whether the scope was under warranty on the day the defect was reported.
    pub in_warranty: bool,
    /// The scope that covers the problem.
    pub scope: Option<WarrantyScope>,
    /// The first day covered.
    pub start: Option<NaiveDate>,
    /// The first day no longer covered.
    pub expiry: Option<NaiveDate>,
}

impl WarrantyFacts {
    /// The last day covered.
    pub fn last_day(&self) -> Option<NaiveDate> {
        self.expiry.and_then(|d| d.pred_opt())
    }
}

/// A price for the repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// The quoted price (what paid service charges).
    pub price: Amount,
    /// The cost price without margin, where known (what "at cost" charges).
    pub cost: Option<Amount>,
}

/// What the rule is given.
#[derive(Debug, Clone)]
pub struct CostCase<'a> {
    /// The warranty that applies.
    pub warranty: WarrantyFacts,
    /// Who is responsible, in percent adding up to 100.
    pub shares: Vec<Share>,
    /// The price, when there is one yet.
    pub quote: Option<Quote>,
    /// The contractor's rule.
    pub policy: &'a CostPolicy,
}

/// What happens to one share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The share.
    pub share: Share,
    /// What the policy says for it.
    pub treatment: Treatment,
    /// The rule applied: in warranty or out of it.
    pub in_warranty: bool,
    /// The share of the quoted price.
    pub price: Option<Amount>,
    /// What the customer pays for it.
    pub customer: Option<Amount>,
    /// What the contractor bears for it (claimed back under [`Treatment::Claim`]).
    pub contractor: Option<Amount>,
}

/// A claim against the party that caused a share of the defect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Designer, supplier or third party.
    pub party: Party,
    /// Who exactly, where named.
    pub name: String,
    /// The amount, when there is a quote.
    pub amount: Option<Amount>,
}

/// Who pays, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct CostDecision {
    /// One line per share, in the order given.
    pub lines: Vec<Line>,
    /// What the customer pays in all, when there is a quote.
    pub customer: Option<Amount>,
    /// What the contractor bears in all (claims included), when there is a quote. With the
    /// customer's part it adds up to the quoted price to the minor unit.
    pub contractor: Option<Amount>,
    /// Claims against other parties.
    pub claims: Vec<Claim>,
    /// Whether the customer pays nothing.
    pub free_for_customer: bool,
    /// Why: the warranty, then each share and its rule (a catalogue message).
    pub reasoning: Msg,
}

/// Why the rule cannot decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// Shares missing, zero, repeated or not adding up to 100.
    #[error("responsibility shares must name each party once and add up to 100 percent")]
    Shares,
    /// Responsibility is not determined: an appraisal or a dispute decides first.
    #[error("responsibility is undetermined; settle it (appraisal or dispute) before cost bearing")]
    Undetermined,
    /// A share is charged at cost and the quote has no cost price.
    #[error("the policy charges {0}'s share at cost: the quote needs its cost price")]
    NeedsCostPrice(Party),
    /// The cost price is above the quoted price, or in another currency.
    #[error("the cost price must be in the quote's currency and not above it")]
    CostPrice,
}

impl CostError {
    /// What is wrong, from the catalogue.
    pub fn message(&self) -> steelcare_i18n::Msg {
        use steelcare_i18n::msg;
        match self {
            CostError::Shares => msg!("cost-shares-invalid"),
            CostError::Undetermined => msg!("error-responsibility-undetermined"),
            CostError::NeedsCostPrice(party) => {
                msg!("cost-needs-cost-price", party = party.label())
            }
            CostError::CostPrice => msg!("cost-price-above-quote"),
        }
    }
}

fn check_shares(shares: &[Share]) -> Result<(), CostError> {
    let total: u32 = shares.iter().map(|s| s.percent).sum();
    let mut parties: Vec<Party> = shares.iter().map(|s| s.party).collect();
    parties.sort();
    parties.dedup();
    if shares.is_empty()
        || total != 100
        || parties.len() != shares.len()
        || shares.iter().any(|s| s.percent == 0)
    {
        return Err(CostError::Shares);
    }
    if parties.contains(&Party::Undetermined) {
        return Err(CostError::Undetermined);
    }
    Ok(())
}

/// The quote split by share: the price shares and the cost-price shares.
struct SplitQuote {
    prices: Vec<Amount>,
    costs: Vec<Amount>,
}

fn check_quote(
    case: &CostCase<'_>,
    treatments: &[Treatment],
) -> Result<Option<SplitQuote>, CostError> {
    let Some(quote) = case.quote else {
        return Ok(None);
    };
    let percents: Vec<u32> = case.shares.iter().map(|s| s.percent).collect();
    let prices = quote.price.split(&percents);
    let costs = match quote.cost {
        Some(cost) => {
            if cost.same_currency(quote.price).is_err() || cost.minor() > quote.price.minor() {
                return Err(CostError::CostPrice);
            }
            cost.split(&percents)
        }
        None => {
            if let Some(i) = treatments.iter().position(|t| *t == Treatment::AtCost) {
                return Err(CostError::NeedsCostPrice(case.shares[i].party));
            }
            prices.clone()
        }
    };
    Ok(Some(SplitQuote { prices, costs }))
}

fn total(amounts: impl Iterator<Item = Option<Amount>>) -> Result<Option<Amount>, MoneyError> {
    let mut sum: Option<Amount> = None;
    for a in amounts.flatten() {
        sum = Some(match sum {
            None => a,
            Some(s) => s.checked_add(a)?,
        });
    }
    Ok(sum)
}

/// Decides who pays.
pub fn decide(case: &CostCase<'_>) -> Result<CostDecision, CostError> {
    check_shares(&case.shares)?;
    let in_warranty = case.warranty.in_warranty;
    let treatments: Vec<Treatment> = case
        .shares
        .iter()
        .map(|s| case.policy.treatment(in_warranty, s.party))
        .collect();
    let amounts = check_quote(case, &treatments)?;
    let mut lines = Vec::new();
    for (i, (share, treatment)) in case.shares.iter().zip(&treatments).enumerate() {
        let (price, customer, contractor) = match &amounts {
            None => (None, None, None),
            Some(SplitQuote { prices, costs }) => {
                let price = prices[i];
                // At cost the customer pays the cost share and the contractor forgoes the
                // margin; the cost share never exceeds the price share, but clamp regardless.
                let customer_minor = match treatment {
                    Treatment::Free | Treatment::Claim => 0,
                    Treatment::AtCost => costs[i].minor().min(price.minor()),
                    Treatment::PaidService => price.minor(),
                };
                let customer = Amount::new(price.currency(), customer_minor)
                    .unwrap_or(Amount::zero(price.currency()));
                let contractor = price
                    .checked_sub(customer)
                    .unwrap_or(Amount::zero(price.currency()));
                (Some(price), Some(customer), Some(contractor))
            }
        };
        lines.push(Line {
            share: share.clone(),
            treatment: *treatment,
            in_warranty,
            price,
            customer,
            contractor,
        });
    }
    // The parts of one quote add up to it, which is within the bound: these cannot fail.
    let customer = total(lines.iter().map(|l| l.customer)).map_err(|_| CostError::CostPrice)?;
    let contractor = total(lines.iter().map(|l| l.contractor)).map_err(|_| CostError::CostPrice)?;
    let claims = lines
        .iter()
        .filter(|l| l.treatment == Treatment::Claim)
        .map(|l| Claim {
            party: l.share.party,
            name: l.share.name.clone(),
            amount: l.contractor,
        })
        .collect();
    let free_for_customer = match customer {
        Some(c) => c.minor() == 0,
        None => !treatments.iter().any(|t| t.charges_customer()),
    };
    Ok(CostDecision {
        reasoning: explain(&case.warranty, &lines),
        lines,
        customer,
        contractor,
        claims,
        free_for_customer,
    })
}

/// An amount as the reader's language writes it (`1,200.00 元`, `CNY 1,200.00`), or "to be
/// quoted".
fn amount(a: Option<Amount>) -> Msg {
    match a {
        Some(a) => msg!(
            "cost-amount",
            currency = a.currency().code(),
            number = a.number()
        ),
        None => msg!("cost-amount-to-quote"),
    }
}

fn warranty(w: &WarrantyFacts) -> Msg {
    let status = if w.in_warranty {
        msg!("cost-warranty-in")
    } else {
        msg!("cost-warranty-expired")
    };
    match (w.scope, w.start, w.last_day()) {
        (Some(scope), Some(start), Some(last)) => msg!(
            "cost-warranty-period",
            scope = Msg::owned(format!("cost-scope-{}", scope.as_str())),
            start = start,
            last = last,
            status = status
        ),
        (Some(scope), _, _) => msg!(
            "cost-warranty-scope",
            scope = Msg::owned(format!("cost-scope-{}", scope.as_str())),
            status = status
        ),
        (None, _, _) => msg!("cost-warranty-none"),
    }
}

/// The party as a sentence names it (`the designer`, `设计单位`).
fn party(p: Party) -> Msg {
    Msg::owned(format!("cost-party-{}", p.as_str()))
}

fn who(share: &Share, alone: bool) -> Msg {
    let named = if share.name.is_empty() {
        party(share.party)
    } else {
        msg!(
            "cost-party-named",
            party = party(share.party),
            name = share.name.as_str()
        )
    };
    if alone {
        msg!("cost-who-alone", party = named)
    } else {
        msg!("cost-who-share", percent = share.percent, party = named)
    }
}

fn treatment(l: &Line) -> Msg {
    let contractor = l.share.party == Party::Contractor;
    let claimed = if l.share.name.is_empty() {
        party(l.share.party)
    } else {
        msg!("cost-name", name = l.share.name.as_str())
    };
    match (l.treatment, contractor, l.in_warranty) {
        (Treatment::Free, true, true) => msg!("cost-free-in-warranty"),
        (Treatment::Free, true, false) => msg!("cost-free-latent"),
        (Treatment::Free, false, _) => msg!("cost-free-by-contractor"),
        (Treatment::Claim, _, _) => {
            msg!("cost-claim", amount = amount(l.contractor), party = claimed)
        }
        (Treatment::AtCost, true, false) => {
            msg!("cost-at-cost-latent", amount = amount(l.customer))
        }
        (Treatment::AtCost, _, _) => msg!("cost-at-cost", amount = amount(l.customer)),
        (Treatment::PaidService, _, true) => {
            msg!("cost-paid-not-covered", amount = amount(l.customer))
        }
        (Treatment::PaidService, _, false) => {
            msg!("cost-paid-expired", amount = amount(l.customer))
        }
    }
}

fn rule(l: &Line) -> Msg {
    let period = if l.in_warranty {
        msg!("cost-rule-in-warranty")
    } else {
        msg!("cost-rule-out-of-warranty")
    };
    msg!(
        "cost-rule",
        period = period,
        party = party(l.share.party),
        treatment = Msg::owned(format!("cost-treatment-{}", l.treatment.as_str()))
    )
}

fn explain(w: &WarrantyFacts, lines: &[Line]) -> Msg {
    let alone = lines.len() == 1;
    let parts = lines
        .iter()
        .map(|l| {
            msg!(
                "cost-line",
                who = who(&l.share, alone),
                treatment = treatment(l),
                rule = rule(l)
            )
        })
        .collect();
    msg!(
        "cost-reasoning",
        warranty = warranty(w),
        lines = Arg::Clauses(parts)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, MAX_MINOR};
    use proptest::prelude::*;

    fn zh() -> steelcare_i18n::Locale {
        steelcare_i18n::Locale::chinese()
    }

    fn cny(minor: i64) -> Amount {
        Amount::new(Currency::CNY, minor).unwrap()
    }

    fn alone(party: Party) -> Vec<Share> {
        vec![Share::of(party, 100)]
    }

    fn warranty(in_warranty: bool) -> WarrantyFacts {
        WarrantyFacts {
            in_warranty,
            scope: Some(WarrantyScope::Other),
            start: NaiveDate::from_ymd_opt(2023, 5, 10),
            expiry: NaiveDate::from_ymd_opt(2025, 5, 10),
        }
    }

    fn decide_with(
        policy: &CostPolicy,
        in_warranty: bool,
        shares: Vec<Share>,
        quote: Option<Quote>,
    ) -> Result<CostDecision, CostError> {
        decide(&CostCase {
            warranty: warranty(in_warranty),
            shares,
            quote,
            policy,
        })
    }

    fn quote(price: i64, cost: i64) -> Option<Quote> {
        Some(Quote {
            price: cny(price),
            cost: Some(cny(cost)),
        })
    }

    #[test]
    fn in_warranty_the_contractors_own_defect_is_free() {
        let p = CostPolicy::default();
        let d = decide_with(&p, true, alone(Party::Contractor), quote(123_456, 100_000)).unwrap();
        assert!(d.free_for_customer);
        assert_eq!(d.contractor, Some(cny(123_456)));
        assert_eq!(d.customer, Some(cny(0)));
        assert!(
            d.reasoning
                .render(zh())
                .contains("在保修期内由施工方免费维修"),
            "{}",
            d.reasoning.render(zh())
        );
        assert!(
            d.reasoning
                .english()
                .contains("repaired free of charge under warranty"),
            "{}",
            d.reasoning.english()
        );
        // One party bears all: no percentage in the words.
        assert!(!d.reasoning.render(zh()).contains('%') && !d.reasoning.english().contains('%'));
    }

    #[test]
    fn out_of_warranty_the_contractors_own_defect_is_charged_at_cost_not_at_the_quote() {
        let p = CostPolicy::default();
        let d = decide_with(&p, false, alone(Party::Contractor), quote(800_000, 600_000)).unwrap();
        assert_eq!(d.customer, Some(cny(600_000)));
        assert_eq!(d.contractor, Some(cny(200_000)), "the margin is forgone");
        assert!(
            d.reasoning.render(zh()).contains("潜在缺陷"),
            "{}",
            d.reasoning.render(zh())
        );
        assert!(
            d.reasoning
                .render(zh())
                .contains("按成本价（不含利润）收取 6,000.00 元"),
            "{}",
            d.reasoning.render(zh())
        );
        assert!(
            d.reasoning
                .render(zh())
                .contains("保修期 2023年5月10日 至 2025年5月9日"),
            "{}",
            d.reasoning.render(zh())
        );
        assert!(
            d.reasoning.english().contains("latent defect"),
            "{}",
            d.reasoning.english()
        );
        assert!(
            d.reasoning
                .english()
                .contains("at cost without margin, CNY 6,000.00"),
            "{}",
            d.reasoning.english()
        );
        assert!(
            d.reasoning
                .english()
                .contains("covered from 10 May 2023 to 9 May 2025"),
            "{}",
            d.reasoning.english()
        );
        assert!(
            d.reasoning
                .english()
                .contains("[rule: out of warranty, the contractor → at cost]"),
            "{}",
            d.reasoning.english()
        );
        // At cost needs the cost price.
        let no_cost = Some(Quote {
            price: cny(800_000),
            cost: None,
        });
        assert_eq!(
            decide_with(&p, false, alone(Party::Contractor), no_cost),
            Err(CostError::NeedsCostPrice(Party::Contractor))
        );
        assert_eq!(
            decide_with(&p, false, alone(Party::Contractor), quote(100, 101)),
            Err(CostError::CostPrice)
        );
        // A policy that repairs latent defects free says so.
        let mut generous = CostPolicy::default();
        generous
            .set(false, Party::Contractor, Treatment::Free)
            .unwrap();
        let d = decide_with(
            &generous,
            false,
            alone(Party::Contractor),
            quote(800_000, 600_000),
        )
        .unwrap();
        assert!(d.free_for_customer);
        assert!(
            d.reasoning
                .english()
                .contains("although the warranty has expired"),
            "{}",
            d.reasoning.english()
        );
    }

    #[test]
    fn a_third_party_is_claimed_from_by_name_and_the_customer_is_not_charged() {
        let p = CostPolicy::default();
        let shares = vec![Share {
            party: Party::ThirdParty,
            percent: 100,
            name: "邻近基坑施工单位".to_owned(),
        }];
        let d = decide_with(&p, true, shares, quote(500_000, 400_000)).unwrap();
        assert!(d.free_for_customer);
        assert_eq!(
            d.claims,
            vec![Claim {
                party: Party::ThirdParty,
                name: "邻近基坑施工单位".into(),
                amount: Some(cny(500_000))
            }]
        );
        assert!(
            d.reasoning
                .render(zh())
                .contains("向邻近基坑施工单位追偿 5,000.00 元"),
            "{}",
            d.reasoning.render(zh())
        );
    }

    #[test]
    fn misuse_environment_and_force_majeure_are_paid_service_in_and_out_of_warranty() {
        let p = CostPolicy::default();
        for party in [Party::CustomerUse, Party::Environment, Party::ForceMajeure] {
            for w in [true, false] {
                let d = decide_with(&p, w, alone(party), quote(123_456, 100_000)).unwrap();
                assert_eq!(d.customer, Some(cny(123_456)));
                assert!(
                    d.reasoning
                        .english()
                        .contains("paid service at the quoted CNY 1,234.56"),
                    "{}",
                    d.reasoning.english()
                );
            }
        }
    }

    #[test]
    fn who_pays_is_answered_before_a_price_exists() {
        let p = CostPolicy::default();
        let shares = vec![
            Share::of(Party::Contractor, 60),
            Share::of(Party::CustomerUse, 40),
        ];
        let d = decide_with(&p, true, shares, None).unwrap();
        assert_eq!((d.customer, d.contractor), (None, None));
        assert!(!d.free_for_customer);
        assert_eq!(d.lines[0].treatment, Treatment::Free);
        assert_eq!(d.lines[1].treatment, Treatment::PaidService);
        assert!(
            d.reasoning.render(zh()).contains("60% 的责任在施工方"),
            "{}",
            d.reasoning.render(zh())
        );
        assert!(
            d.reasoning.english().contains("(amount to be quoted)"),
            "{}",
            d.reasoning.english()
        );
        // At cost without a quote is no problem either.
        assert!(decide_with(&p, false, alone(Party::Contractor), None).is_ok());
    }

    #[test]
    fn shared_responsibility_splits_to_the_minor_unit() {
        let p = CostPolicy::default();
        let shares = vec![
            Share::of(Party::Contractor, 60),
            Share::of(Party::CustomerUse, 40),
        ];
        let d = decide_with(&p, true, shares, quote(123_456, 100_000)).unwrap();
        assert_eq!(d.contractor, Some(cny(74_074)));
        assert_eq!(d.customer, Some(cny(49_382)));
        let d = decide_with(&p, true, alone(Party::Contractor), quote(MAX_MINOR, 0)).unwrap();
        assert_eq!(d.contractor, Some(cny(MAX_MINOR)));
    }

    #[test]
    fn what_cannot_be_decided_says_why() {
        let p = CostPolicy::default();
        assert_eq!(
            decide_with(&p, true, alone(Party::Undetermined), None),
            Err(CostError::Undetermined)
        );
        assert_eq!(
            decide_with(&p, true, vec![Share::of(Party::Contractor, 50)], None),
            Err(CostError::Shares)
        );
        assert_eq!(decide_with(&p, true, vec![], None), Err(CostError::Shares));
        let mut policy = CostPolicy::default();
        assert!(
            policy
                .set(true, Party::Contractor, Treatment::Claim)
                .is_err()
        );
        assert!(
            policy
                .set(true, Party::CustomerUse, Treatment::Claim)
                .is_err()
        );
        assert!(
            policy
                .set(true, Party::Designer, Treatment::PaidService)
                .is_ok()
        );
        assert_eq!(
            policy.treatment(true, Party::Designer),
            Treatment::PaidService
        );
    }

    fn party() -> impl Strategy<Value = Party> {
        proptest::sample::select(Party::DECIDED.to_vec())
    }

    proptest! {
        /// Whatever the split and the policy's defaults, the parts add up to the quote to the
        /// minor unit, claims are part of what the contractor bears, and out of warranty no
        /// share is free under the default policy unless another party is claimed from.
        #[test]
        fn amounts_always_add_up(
            in_warranty: bool,
            price in 0i64..=MAX_MINOR,
            margin in 0u32..=100,
            a in party(),
            b in party(),
            percent in 1u32..100,
        ) {
            let shares = if a == b {
                vec![Share::of(a, 100)]
            } else {
                vec![Share::of(a, percent), Share::of(b, 100 - percent)]
            };
            let cost = i64::try_from(i128::from(price) * i128::from(margin) / 100).unwrap();
            let p = CostPolicy::default();
            let d = decide_with(&p, in_warranty, shares, quote(price, cost)).unwrap();
            let customer = d.customer.unwrap().minor();
            let contractor = d.contractor.unwrap().minor();
            prop_assert_eq!(customer + contractor, price);
            prop_assert!(customer <= price);
            let claimed: i64 = d.claims.iter().map(|c| c.amount.unwrap().minor()).sum();
            prop_assert!(claimed <= contractor);
            prop_assert!(!d.reasoning.render(zh()).is_empty() && !d.reasoning.english().is_empty());
        }
    }
}
