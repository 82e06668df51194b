//! The SteelCare feedback and analytics service (MISSION §8): return visits scheduled when a
//! case is archived, their attempts (a recurrence opens a linked ticket in intake; the last
//! visit or a refusal closes the case), satisfaction surveys, the figures — breakdowns, SLA
//! compliance, outcomes, staff KPIs, CSV — over a per-case projection of every service's
//! records, and corrective actions closed only when verified effective.
//!
//! Read top-down: `grpc.rs` (the `rpcs!` table, the figures and CSV), `visits.rs` (visits,
//! policies, surveys), `actions.rs` (corrective actions), `quality.rs` (department members, a
//! pattern's actions, reopening, the Pareto), `analytics.rs` (the queries),
//! `facts/` (the projection, rebuilt many cases at once), `worker.rs` (the consumer and the
//! facts worker), `experience/` (the experience base: search, similar cases, recurrences,
//! standard repairs), `engine.rs` (what they share).

pub mod actions;
pub mod analytics;
pub mod engine;
pub mod experience;
pub mod facts;
pub mod grpc;
pub mod intake_link;
pub mod mount;
pub mod quality;
pub mod visits;
pub mod worker;

pub use engine::{Feedback, FeedbackConfig};
pub use grpc::FeedbackService;
pub use intake_link::IntakeLink;
pub use mount::mount;
