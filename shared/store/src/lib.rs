//! SteelCare persistence: the SeaORM entities and migrations of the shared schema (one
//! migration set for SQLite and PostgreSQL) and the repositories every service uses: cases and
//! their lifecycle, the audit log, the transactional outbox, processed-event keys and
//! idempotency keys. Functions take any connection or transaction (`&impl ConnectionTrait`), so
//! a state change, its audit record and its events commit together.

pub mod attachments;
pub mod audit;
pub mod case_records;
pub mod cases;
pub mod counters;
pub mod db;
pub mod entity;
pub mod error;
pub mod idempotency;
pub mod lease;
pub mod migration;
pub mod outbox;
pub mod page;
pub mod processed;
pub mod roles;

pub use db::{Database, begin_write, begin_write_alone, connect};

/// The current time at the precision both databases keep (microseconds), so a value written
/// reads back equal.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
pub use error::{StoreError, is_unavailable};
pub use migration::{Migrator, SchemaStatus, migrate, schema_status};
