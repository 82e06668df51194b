//! Field checks: shared with every service, see [`steelcare_runtime::validate`].

pub use steelcare_runtime::validate::{LONG, SHORT, Violations, to_date};
