//! The SteelCare acceptance and archive service (MISSION §7, DESIGN decision 6): the crew's
//! self-inspection against the agreed plan, the customer's acceptance rounds until one
//! passes, and the tamper-evident archive of every case — rendered documents and attachments
//! with their SHA-256, a manifest chained to the previous archive's, rows the database refuses
//! to change, verification that names the document at fault, and a ZIP export anyone can
//! check with `sha256sum -c`.
//!
//! Read top-down: `grpc.rs` (self-inspection and acceptance RPCs, the `rpcs!` table),
//! `archive.rs` (archive, read, verify, export), `dossier.rs` (the printable page),
//! `engine.rs` (what the paths share).

pub mod archive;
pub mod dossier;
pub mod engine;
pub mod grpc;
pub mod mount;

pub use engine::Acceptor;
pub use grpc::AcceptanceService;
pub use mount::mount;
