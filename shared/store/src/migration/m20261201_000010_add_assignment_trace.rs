//! An assignment keeps the W3C trace context of the event that created it
//! (`assignments.trace_context`, the `traceparent`), so the queue worker that offers it
//! continues the trace of the call that took the ticket in, even after the queue was rebuilt
//! from the database.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Assignments {
    Table,
    TraceContext,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Assignments::Table)
                    .add_column(string_null(Assignments::TraceContext))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Assignments::Table)
                    .drop_column(Assignments::TraceContext)
                    .to_owned(),
            )
            .await
    }
}
