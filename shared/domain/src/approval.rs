//! The approval chain of a repair plan (MISSION §5.1: complex or major defects need internal
//! approval by the technical lead and the chief engineer). Computed from the plan, never chosen
//! by its author: the technical lead approves every plan; the chief engineer too when the case
//! is urgent (P1), the scope touches the structure, or the estimate passes a configured amount.
//! Nobody approves their own plan.

use crate::category::SeverityTier;
use crate::role::Role;
use steelcare_i18n::Msg;

/// One step of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approver {
    /// The technical lead (role `engineer`).
    TechnicalLead,
    /// The chief engineer (role `chief_engineer`).
    ChiefEngineer,
}

impl Approver {
    /// The role that may give this approval.
    pub fn role(self) -> Role {
        match self {
            Approver::TechnicalLead => Role::Engineer,
            Approver::ChiefEngineer => Role::ChiefEngineer,
        }
    }
}

/// What the chain depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanFacts {
    /// The case's tier.
    pub tier: SeverityTier,
    /// Whether the plan works on load-bearing members or connections.
    pub structural_scope: bool,
    /// The plan's cost estimate, in cents.
    pub estimate_cents: i64,
}

/// The approvals a plan needs, in order, and why the chief engineer is in it (if so).
pub fn chain(facts: PlanFacts, chief_above_cents: i64) -> (Vec<Approver>, Vec<Msg>) {
    let mut why = Vec::new();
    if facts.tier == SeverityTier::P1 {
        why.push(Msg::new("approval-why-urgent"));
    }
    if facts.structural_scope {
        why.push(Msg::new("approval-why-structural"));
    }
    if facts.estimate_cents > chief_above_cents {
        why.push(Msg::new("approval-why-estimate"));
    }
    let mut approvers = vec![Approver::TechnicalLead];
    if !why.is_empty() {
        approvers.push(Approver::ChiefEngineer);
    }
    (approvers, why)
}

/// Whether `approver` may approve a plan written by `author` (never their own).
pub fn may_approve(author: &str, approver: &str) -> bool {
    !author.trim().eq_ignore_ascii_case(approver.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(tier: SeverityTier, structural_scope: bool, estimate_cents: i64) -> PlanFacts {
        PlanFacts {
            tier,
            structural_scope,
            estimate_cents,
        }
    }

    #[test]
    fn the_chief_engineer_joins_for_urgent_structural_or_costly_plans() {
        let threshold = 5_000_000;
        let (plain, why) = chain(facts(SeverityTier::P3, false, 100_000), threshold);
        assert_eq!(plain, [Approver::TechnicalLead]);
        assert!(why.is_empty());
        for f in [
            facts(SeverityTier::P1, false, 0),
            facts(SeverityTier::P3, true, 0),
            facts(SeverityTier::P4, false, threshold + 1),
        ] {
            let (approvers, why) = chain(f, threshold);
            assert_eq!(
                approvers,
                [Approver::TechnicalLead, Approver::ChiefEngineer]
            );
            assert_eq!(why.len(), 1, "{f:?}");
        }
        // At the threshold exactly, the technical lead alone.
        assert_eq!(
            chain(facts(SeverityTier::P2, false, threshold), threshold)
                .0
                .len(),
            1
        );
        assert_eq!(Approver::ChiefEngineer.role(), Role::ChiefEngineer);
    }

    #[test]
    fn nobody_approves_their_own_plan() {
        assert!(!may_approve("eng-1", "eng-1"));
        assert!(!may_approve("eng-1", " ENG-1 "));
        assert!(may_approve("eng-1", "chief-1"));
    }
}
