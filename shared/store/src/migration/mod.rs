//! The one migration set, run on SQLite and PostgreSQL alike. Files are append-only and named
//! `mYYYYMMDD_HHMMSS_verb_noun.rs`; each service issue adds its tables with a new file listed
//! here in order.

use sea_orm_migration::prelude::*;

mod m20261127_000001_create_foundation_tables;
mod m20261127_000002_create_intake_tables;
mod m20261127_000003_index_pending_outbox;
mod m20261127_000004_create_dispatch_tables;
mod m20261130_000005_create_bus_leases;
mod m20261130_000006_create_case_records;
mod m20261130_000007_create_archives;
mod m20261130_000008_add_related_case;
mod m20261201_000009_create_feedback_tables;
mod m20261201_000010_add_assignment_trace;
mod m20261201_000011_add_outbox_sequence;
mod m20261201_000012_index_outbox_case;
mod m20261204_000013_survey_dimensions;
mod m20261204_000014_quality_loop;
mod m20261204_000015_facts_dirty;
pub mod m20261204_000016_acceptance_sequence_function;
pub mod m20261205_000017_people;
pub mod m20261205_000018_audit_display_name;
pub mod m20261205_000019_technician_instruments;
pub mod m20261205_000020_notify;
mod m20261205_000021_experience;

/// An index named `name` on `cols` of `table`.
fn index(name: &str, table: impl IntoIden + 'static, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col);
    }
    index.to_owned()
}

/// Drops `tables` in the order given (dependents first).
async fn drop_tables(manager: &SchemaManager<'_>, tables: Vec<DynIden>) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await?;
    }
    Ok(())
}

/// Applies every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_foundation_tables::Migration),
            Box::new(m20261127_000002_create_intake_tables::Migration),
            Box::new(m20261127_000003_index_pending_outbox::Migration),
            Box::new(m20261127_000004_create_dispatch_tables::Migration),
            Box::new(m20261130_000005_create_bus_leases::Migration),
            Box::new(m20261130_000006_create_case_records::Migration),
            Box::new(m20261130_000007_create_archives::Migration),
            Box::new(m20261130_000008_add_related_case::Migration),
            Box::new(m20261201_000009_create_feedback_tables::Migration),
            Box::new(m20261201_000010_add_assignment_trace::Migration),
            Box::new(m20261201_000011_add_outbox_sequence::Migration),
            Box::new(m20261201_000012_index_outbox_case::Migration),
            Box::new(m20261204_000013_survey_dimensions::Migration),
            Box::new(m20261204_000014_quality_loop::Migration),
            Box::new(m20261204_000015_facts_dirty::Migration),
            Box::new(m20261204_000016_acceptance_sequence_function::Migration),
            Box::new(m20261205_000017_people::Migration),
            Box::new(m20261205_000018_audit_display_name::Migration),
            Box::new(m20261205_000019_technician_instruments::Migration),
            Box::new(m20261205_000020_notify::Migration),
            Box::new(m20261205_000021_experience::Migration),
        ]
    }
}

/// How the database's schema compares with this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaStatus {
    /// Every migration of this build is applied (a newer build may have applied more).
    Current,
    /// These migrations of this build are not applied yet.
    Behind(Vec<String>),
}

/// Reads which migrations are applied, without changing anything. A database with no
/// migration table at all is `Behind` every migration.
pub async fn schema_status(db: &impl sea_orm::ConnectionTrait) -> Result<SchemaStatus, DbErr> {
    use sea_orm::{DbBackend, Statement};
    let backend = db.get_database_backend();
    // Ask whether the table exists first: a failed SELECT would abort a PostgreSQL
    // transaction the caller may be in.
    let exists_sql = match backend {
        DbBackend::Postgres => {
            "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_tables WHERE tablename = 'seaql_migrations' AND schemaname = current_schema()"
        }
        _ => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'"
        }
    };
    let exists = db
        .query_one_raw(Statement::from_string(backend, exists_sql))
        .await?
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0)
        > 0;
    let applied: std::collections::HashSet<String> = if exists {
        db.query_all_raw(Statement::from_string(
            backend,
            "SELECT version FROM seaql_migrations",
        ))
        .await?
        .iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        .collect()
    } else {
        Default::default()
    };
    let missing: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect();
    Ok(if missing.is_empty() {
        SchemaStatus::Current
    } else {
        SchemaStatus::Behind(missing)
    })
}

/// Applies every pending migration, serialised across processes: on PostgreSQL an advisory
/// lock held for the whole run makes concurrent `steelcare migrate` (five pods' init
/// containers at the first rollout) wait for each other, and each then applies only what is
/// still pending, then grants each service's database role its tables (`roles`). Returns how
/// many migrations this run applied.
pub async fn migrate(db: &sea_orm::DatabaseConnection) -> Result<usize, DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    if db.get_database_backend() != DbBackend::Postgres {
        let pending = pending_count(db).await?;
        if pending > 0 {
            Migrator::up(db, None).await?;
        }
        return Ok(pending);
    }
    // One transaction holds the lock and applies the migrations (PostgreSQL runs DDL in
    // transactions), so a pool of one connection is enough and a failure leaves nothing.
    let tx = db.begin().await?;
    tx.execute_raw(Statement::from_string(
        DbBackend::Postgres,
        format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
    ))
    .await?;
    let pending = pending_count(&tx).await?;
    if pending > 0 {
        Migrator::up(&tx, None).await?;
    }
    // Every run, so a table a migration added is granted, and a role created since is too.
    let missing = crate::roles::apply(&tx).await?;
    if !missing.is_empty() {
        tracing::warn!(
            roles = %missing.join(", "),
            "these database roles do not exist and could not be created (no CREATEROLE): \
             create them, then run `steelcare migrate` again to grant them their tables"
        );
    }
    tx.commit().await?;
    Ok(pending)
}

async fn pending_count(conn: &impl sea_orm::ConnectionTrait) -> Result<usize, DbErr> {
    Ok(match schema_status(conn).await? {
        SchemaStatus::Current => 0,
        SchemaStatus::Behind(missing) => missing.len(),
    })
}

/// The advisory lock key of migrations ("steelcar" in ASCII).
const MIGRATION_LOCK: i64 = 0x7374_6565_6c63_6172;
