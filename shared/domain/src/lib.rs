//! Pure SteelCare rules, with no I/O: the case lifecycle, roles, problem categories and
//! severity tiers, rule-based classification, business calendars and the SLA engine,
//! warranty terms and acceptance numbers, dispatch's skill rules, and the repair rules the
//! next services build on: measurement tolerances and their judgement (GB 50205, as data),
//! who bears the cost, and a plan's approval chain. Every service enforces the same rules by calling
//! into this crate.

pub mod acceptance_number;
pub mod approval;
pub mod calendar;
pub mod category;
pub mod classify;
pub mod cost;
pub mod dispatch;
pub mod feedback;
pub mod lifecycle;
pub mod location;
pub mod money;
pub mod role;
pub mod sla;
pub mod tolerance;
pub mod warranty;

pub use acceptance_number::AcceptanceNumber;
pub use calendar::BusinessCalendar;
pub use category::{ProblemCategory, SeverityTier};
pub use lifecycle::{CaseState, IllegalTransition};
pub use role::{Role, UnknownRole};
