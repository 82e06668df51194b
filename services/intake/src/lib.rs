//! The SteelCare intake service (MISSION §2.2–2.4, §3, §9.1): customers and projects with
//! warranty terms, handover dossiers and trainings; tickets with acceptance numbers,
//! rule-based classification, warranty status, honest SLA deadlines and attachments.
//!
//! Read top-down: `grpc/` (the service and its `rpcs!` table in `mod.rs`, then one file of
//! handlers per resource: projects, tickets, attachments), `domain/` (records and request
//! parsing), `store.rs` (queries), `clocks.rs` (SLA clocks), `view.rs` (rows to messages),
//! `worker.rs` (escalation watcher and event consumer).

pub mod batch;
pub mod clocks;
pub mod domain;
pub mod grpc;
pub mod mount;
pub mod sheets;
pub mod store;
pub mod view;
pub mod worker;

pub use clocks::SlaConfig;
pub use grpc::IntakeService;
pub use mount::mount;
pub use steelcare_runtime::attachments::{self, AttachmentStore};
