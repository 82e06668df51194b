//! A ticket may recur from an earlier case (a return visit found the problem again):
//! `tickets.related_case_id`, indexed for the recurrence figures.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tickets {
    Table,
    RelatedCaseId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tickets::Table)
                    .add_column(string_null(Tickets::RelatedCaseId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_tickets_related_case",
                Tickets::Table,
                vec![Tickets::RelatedCaseId.into_iden()],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_tickets_related_case")
                    .table(Tickets::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tickets::Table)
                    .drop_column(Tickets::RelatedCaseId)
                    .to_owned(),
            )
            .await
    }
}
