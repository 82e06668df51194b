//! The one migration set, run on SQLite and PostgreSQL alike. Files are append-only and named
//! `mYYYYMMDD_HHMMSS_verb_noun.rs`; each service issue adds its tables with a new file listed
//! here in order.

use sea_orm_migration::prelude::*;

mod m20261127_000001_create_foundation_tables;
mod m20261127_000002_create_intake_tables;
mod m20261127_000003_index_pending_outbox;
mod m20261127_000004_create_dispatch_tables;

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
        ]
    }
}
