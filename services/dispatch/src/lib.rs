//! The SteelCare dispatch service (MISSION §2.1, §4.1, §6.1; DESIGN.md decisions 3 and 4):
//! the service team, the dispatch queue ordered by arrival deadline, matching and offers with
//! timeouts, escalation with backoff, survey plans and arrival on site.
//!
//! Read top-down: `grpc.rs` (each RPC), `engine.rs` (the assignment state changes every path
//! shares: offer, accept, release, escalate, withdraw), `matching.rs` (who qualifies and who
//! is best), `worker.rs` (event consumer, queue workers, sweeper, reconciler), `records.rs`
//! (stored shapes and request parsing), `store.rs` (queries), `view.rs` (rows to messages),
//! `config.rs` (settings). Each file sits above what it uses, no circle: grpc and worker →
//! engine → matching → store → records; config and records use none of them.

pub mod config;
pub mod engine;
pub mod grpc;
pub mod matching;
pub mod mount;
pub mod records;
pub mod sheets;
pub mod store;
pub mod view;
pub mod worker;

pub use engine::{DispatchConfig, Dispatcher};
pub use grpc::DispatchService;
pub use mount::mount;
