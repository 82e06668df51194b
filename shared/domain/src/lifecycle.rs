//! The case lifecycle (DESIGN.md "Shape"): one transition table, enforced by every service.
//!
//! Main path: `RECEIVED → ACKNOWLEDGED → SURVEY_SCHEDULED → SURVEYED → PLAN_PROPOSED →
//! PLAN_APPROVED → AGREED → IN_REPAIR → SELF_INSPECTED → ACCEPTED → ARCHIVED → CLOSED`, plus the
//! side paths a real case takes:
//! - a consultation is answered remotely: `ACKNOWLEDGED → RESOLVED_REMOTELY → ARCHIVED`;
//! - a failed customer acceptance sends the crew back: `SELF_INSPECTED → IN_REPAIR`;
//! - an internal rejection or a customer objection asks for a new plan version:
//!   `PLAN_PROPOSED → PLAN_PROPOSED`, `PLAN_APPROVED → PLAN_PROPOSED`;
//! - a case that needs no repair (no defect found, the customer declines paid service) ends
//!   before the agreement: `SURVEYED | PLAN_PROPOSED | PLAN_APPROVED → NO_REPAIR → ARCHIVED`;
//! - a dispute can open from any state between the survey and the acceptance (an accepted case
//!   may still dispute its cost) and, once resolved, returns to the state it left;
//! - a case can be cancelled until repair work starts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Lifecycle state of a case. Stored as its [`CaseState::as_str`] name; the numbers match
/// `steelcare.common.v1.CaseState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaseState {
    Received = 1,
    Acknowledged = 2,
    SurveyScheduled = 3,
    Surveyed = 4,
    PlanProposed = 5,
    PlanApproved = 6,
    Agreed = 7,
    InRepair = 8,
    SelfInspected = 9,
    Accepted = 10,
    Archived = 11,
    Closed = 12,
    ResolvedRemotely = 13,
    Disputed = 14,
    Cancelled = 15,
    NoRepair = 16,
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("case is {from}; it cannot move to {to}")]
pub struct IllegalTransition {
    /// The current state.
    pub from: CaseState,
    /// The state asked for.
    pub to: CaseState,
}

/// The states a dispute may open from, and return to once resolved.
const DISPUTABLE: [CaseState; 7] = [
    CaseState::Surveyed,
    CaseState::PlanProposed,
    CaseState::PlanApproved,
    CaseState::Agreed,
    CaseState::InRepair,
    CaseState::SelfInspected,
    CaseState::Accepted,
];

impl CaseState {
    /// Every state, in the order of the protobuf enum.
    pub const ALL: [CaseState; 16] = [
        CaseState::Received,
        CaseState::Acknowledged,
        CaseState::SurveyScheduled,
        CaseState::Surveyed,
        CaseState::PlanProposed,
        CaseState::PlanApproved,
        CaseState::Agreed,
        CaseState::InRepair,
        CaseState::SelfInspected,
        CaseState::Accepted,
        CaseState::Archived,
        CaseState::Closed,
        CaseState::ResolvedRemotely,
        CaseState::Disputed,
        CaseState::Cancelled,
        CaseState::NoRepair,
    ];

    /// The states this one may move to. This is the transition table.
    pub fn successors(self) -> &'static [CaseState] {
        use CaseState::*;
        match self {
            Received => &[Acknowledged, Cancelled],
            Acknowledged => &[SurveyScheduled, ResolvedRemotely, Cancelled],
            SurveyScheduled => &[Surveyed, Cancelled],
            Surveyed => &[PlanProposed, NoRepair, Disputed, Cancelled],
            PlanProposed => &[PlanProposed, PlanApproved, NoRepair, Disputed, Cancelled],
            PlanApproved => &[PlanProposed, Agreed, NoRepair, Disputed, Cancelled],
            Agreed => &[InRepair, Disputed, Cancelled],
            InRepair => &[SelfInspected, Disputed],
            SelfInspected => &[Accepted, InRepair, Disputed],
            Accepted => &[Archived, Disputed],
            NoRepair => &[Archived],
            Archived => &[Closed],
            ResolvedRemotely => &[Archived, Closed],
            Disputed => &[
                Surveyed,
                PlanProposed,
                PlanApproved,
                Agreed,
                InRepair,
                SelfInspected,
                Accepted,
                Cancelled,
            ],
            Closed | Cancelled => &[],
        }
    }

    /// Whether the table allows `self → to`.
    pub fn can_transition(self, to: CaseState) -> bool {
        self.successors().contains(&to)
    }

    /// Checks `self → to`, returning the new state or the refusal naming the current state.
    pub fn transition(self, to: CaseState) -> Result<CaseState, IllegalTransition> {
        if self.can_transition(to) {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// Leaves a dispute back to the state it was opened from. Refused when `self` is not
    /// DISPUTED, or `prior` is not a state a dispute can open from.
    pub fn resume_after_dispute(self, prior: CaseState) -> Result<CaseState, IllegalTransition> {
        if self == CaseState::Disputed && DISPUTABLE.contains(&prior) {
            Ok(prior)
        } else {
            Err(IllegalTransition {
                from: self,
                to: prior,
            })
        }
    }

    /// Whether nothing can follow this state.
    pub fn is_terminal(self) -> bool {
        self.successors().is_empty()
    }

    /// Its label in the catalogue.
    pub fn label(self) -> steelcare_i18n::Msg {
        steelcare_i18n::enum_label("CaseState", self.as_str())
    }

    /// The stored and displayed name, e.g. `SURVEY_SCHEDULED`.
    pub fn as_str(self) -> &'static str {
        use CaseState::*;
        match self {
            Received => "RECEIVED",
            Acknowledged => "ACKNOWLEDGED",
            SurveyScheduled => "SURVEY_SCHEDULED",
            Surveyed => "SURVEYED",
            PlanProposed => "PLAN_PROPOSED",
            PlanApproved => "PLAN_APPROVED",
            Agreed => "AGREED",
            InRepair => "IN_REPAIR",
            SelfInspected => "SELF_INSPECTED",
            Accepted => "ACCEPTED",
            Archived => "ARCHIVED",
            Closed => "CLOSED",
            ResolvedRemotely => "RESOLVED_REMOTELY",
            Disputed => "DISPUTED",
            Cancelled => "CANCELLED",
            NoRepair => "NO_REPAIR",
        }
    }

    /// The number of the matching `steelcare.common.v1.CaseState` value.
    pub fn proto_value(self) -> i32 {
        self as i32
    }

    /// The state for a `steelcare.common.v1.CaseState` number; `None` for 0 and unknowns.
    pub fn from_proto_value(value: i32) -> Option<CaseState> {
        CaseState::ALL
            .into_iter()
            .find(|s| s.proto_value() == value)
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored state name that is not a [`CaseState`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown case state {0:?}")]
pub struct UnknownCaseState(pub String);

impl FromStr for CaseState {
    type Err = UnknownCaseState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownCaseState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::CaseState::*;
    use super::*;

    /// The legal transitions, written out independently of `successors` so that a change to
    /// the table has to be made twice, on purpose.
    const LEGAL: &[(CaseState, CaseState)] = &[
        (Received, Acknowledged),
        (Received, Cancelled),
        (Acknowledged, SurveyScheduled),
        (Acknowledged, ResolvedRemotely),
        (Acknowledged, Cancelled),
        (SurveyScheduled, Surveyed),
        (SurveyScheduled, Cancelled),
        (Surveyed, PlanProposed),
        (Surveyed, NoRepair),
        (Surveyed, Disputed),
        (Surveyed, Cancelled),
        (PlanProposed, PlanProposed),
        (PlanProposed, PlanApproved),
        (PlanProposed, NoRepair),
        (PlanProposed, Disputed),
        (PlanProposed, Cancelled),
        (PlanApproved, PlanProposed),
        (PlanApproved, Agreed),
        (PlanApproved, NoRepair),
        (PlanApproved, Disputed),
        (PlanApproved, Cancelled),
        (Agreed, InRepair),
        (Agreed, Disputed),
        (Agreed, Cancelled),
        (InRepair, SelfInspected),
        (InRepair, Disputed),
        (SelfInspected, Accepted),
        (SelfInspected, InRepair),
        (SelfInspected, Disputed),
        (Accepted, Archived),
        (Accepted, Disputed),
        (NoRepair, Archived),
        (Archived, Closed),
        (ResolvedRemotely, Archived),
        (ResolvedRemotely, Closed),
        (Disputed, Surveyed),
        (Disputed, PlanProposed),
        (Disputed, PlanApproved),
        (Disputed, Agreed),
        (Disputed, InRepair),
        (Disputed, SelfInspected),
        (Disputed, Accepted),
        (Disputed, Cancelled),
    ];

    #[test]
    fn every_pair_outside_the_table_is_refused_with_the_current_state() {
        let mut refused = 0;
        for from in CaseState::ALL {
            for to in CaseState::ALL {
                let legal = LEGAL.contains(&(from, to));
                match from.transition(to) {
                    Ok(next) => {
                        assert!(legal, "{from} -> {to} was allowed");
                        assert_eq!(next, to);
                    }
                    Err(err) => {
                        assert!(!legal, "{from} -> {to} was refused");
                        assert_eq!(err, IllegalTransition { from, to });
                        assert!(err.to_string().contains(from.as_str()));
                        refused += 1;
                    }
                }
            }
        }
        assert_eq!(refused, 16 * 16 - LEGAL.len());
    }

    #[test]
    fn the_main_path_runs_from_received_to_closed() {
        let path = [
            Received,
            Acknowledged,
            SurveyScheduled,
            Surveyed,
            PlanProposed,
            PlanApproved,
            Agreed,
            InRepair,
            SelfInspected,
            Accepted,
            Archived,
            Closed,
        ];
        let end = path[1..]
            .iter()
            .try_fold(path[0], |state, &next| state.transition(next));
        assert_eq!(end, Ok(Closed));
    }

    #[test]
    fn closed_and_cancelled_are_the_only_terminal_states() {
        let terminal: Vec<_> = CaseState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, vec![Closed, Cancelled]);
    }

    #[test]
    fn every_state_is_reachable_from_received() {
        let mut seen = vec![Received];
        let mut frontier = vec![Received];
        while let Some(state) = frontier.pop() {
            for &next in state.successors() {
                if !seen.contains(&next) {
                    seen.push(next);
                    frontier.push(next);
                }
            }
        }
        assert_eq!(seen.len(), CaseState::ALL.len());
    }

    #[test]
    fn a_dispute_returns_only_to_a_state_it_can_open_from() {
        for prior in CaseState::ALL {
            let resumed = Disputed.resume_after_dispute(prior);
            assert_eq!(resumed.is_ok(), prior.can_transition(Disputed), "{prior}");
        }
        assert!(InRepair.resume_after_dispute(Agreed).is_err());
    }

    #[test]
    fn names_and_proto_numbers_round_trip() {
        for state in CaseState::ALL {
            assert_eq!(state.as_str().parse::<CaseState>(), Ok(state));
            assert_eq!(
                CaseState::from_proto_value(state.proto_value()),
                Some(state)
            );
        }
        assert_eq!(CaseState::from_proto_value(0), None);
        assert!("OPEN".parse::<CaseState>().is_err());
    }
}
