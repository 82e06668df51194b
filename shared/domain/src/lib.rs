//! Pure SteelCare rules, with no I/O: the case lifecycle and the roles of the people who work
//! a case. Every service enforces the same rules by calling into this crate.

pub mod lifecycle;
pub mod role;

pub use lifecycle::{CaseState, IllegalTransition};
pub use role::{Role, UnknownRole};
