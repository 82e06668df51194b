//! The SteelCare repair service (MISSION §4.2–§6, §9; Appendix A): survey and diagnosis
//! reports with measurements judged against GB 50205, root cause and responsibility, who bears
//! the cost, repair plans with versions and a computed approval chain, the negotiation and the
//! customer's decisions, the handling agreement and its amendments, the work log, key-step
//! inspections, completion, and disputes.
//!
//! Read top-down: `grpc/` (each RPC, by stage), `engine.rs` (idempotent creates, lifecycle
//! moves with their events, who sees a case, crew checks, clearing a completion), `worker.rs`
//! (the event consumer), `records.rs` (stored kinds and request parsing), `store.rs` (queries),
//! `view.rs` (records to messages).

pub mod engine;
pub mod grpc;
pub mod mount;
pub mod records;
pub mod store;
pub mod view;
pub mod worker;

pub use engine::{RepairConfig, Repairer};
pub use grpc::RepairService;
pub use mount::mount;
