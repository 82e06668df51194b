//! The cases whose analytics facts are stale (`facts_dirty`): the feedback consumer marks a
//! case on each event instead of rebuilding its facts there, and a worker rebuilds every marked
//! case once per burst of its events.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FactsDirty {
    Table,
    TicketId,
    MarkedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FactsDirty::Table)
                    .col(string(FactsDirty::TicketId).primary_key())
                    .col(big_integer(FactsDirty::MarkedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(super::index(
                "idx_facts_dirty_marked",
                FactsDirty::Table,
                vec![FactsDirty::MarkedAtMs.into_iden()],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FactsDirty::Table).to_owned())
            .await
    }
}
