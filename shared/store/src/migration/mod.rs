//! The one migration set, run on SQLite and PostgreSQL alike. Files are append-only and named
//! `mYYYYMMDD_HHMMSS_verb_noun.rs`; each service issue adds its tables with a new file listed
//! here in order.

use sea_orm_migration::prelude::*;

mod m20261127_000001_create_foundation_tables;
mod m20261127_000002_create_intake_tables;
mod m20261127_000003_index_pending_outbox;
mod m20261127_000004_create_dispatch_tables;
mod m20261130_000005_create_bus_leases;

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
pub async fn schema_status(db: &sea_orm::DatabaseConnection) -> Result<SchemaStatus, DbErr> {
    use sea_orm::{ConnectionTrait, Statement};
    let applied = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await;
    let applied: std::collections::HashSet<String> = match applied {
        Ok(rows) => rows
            .iter()
            .filter_map(|row| row.try_get_by_index::<String>(0).ok())
            .collect(),
        // No table: nothing applied. Any other failure (the database is down) is an error.
        Err(err) if is_missing_table(&err) => Default::default(),
        Err(err) => return Err(err),
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

fn is_missing_table(err: &DbErr) -> bool {
    let text = err.to_string();
    text.contains("no such table") || text.contains("does not exist")
}

/// Applies every pending migration, serialised across processes: on PostgreSQL an advisory
/// lock held for the whole run makes concurrent `steelcare migrate` (five pods' init
/// containers at the first rollout) wait for each other, and each then applies only what is
/// still pending. Returns how many migrations this run applied.
pub async fn migrate(db: &sea_orm::DatabaseConnection) -> Result<usize, DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
    // The lock lives in a transaction on its own connection, released at its end.
    let lock = if db.get_database_backend() == DbBackend::Postgres {
        let tx = db.begin().await?;
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"),
        ))
        .await?;
        Some(tx)
    } else {
        None
    };
    let pending = match schema_status(db).await? {
        SchemaStatus::Current => 0,
        SchemaStatus::Behind(missing) => missing.len(),
    };
    if pending > 0 {
        Migrator::up(db, None).await?;
    }
    if let Some(tx) = lock {
        tx.commit().await?;
    }
    Ok(pending)
}

/// The advisory lock key of migrations ("steelcar" in ASCII).
const MIGRATION_LOCK: i64 = 0x7374_6565_6c63_6172;
