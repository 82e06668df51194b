//! The experience base (feedback): which search index copies exist (`search_replicas`) and
//! which cases each copy must index again (`search_marks`, written in the transaction that
//! changes what the index knows of a case, so a crash loses no change); the cases the office
//! marked as the contractor's standard repair for their kind of defect (`standard_repairs`);
//! and the possible recurrences found when a new case is indexed, with the agent's decision
//! (`recurrence_flags`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SearchReplicas {
    Table,
    Id,
    SeenAtMs,
}

#[derive(DeriveIden)]
enum SearchMarks {
    Table,
    ReplicaId,
    TicketId,
    MarkedAtMs,
}

#[derive(DeriveIden)]
enum StandardRepairs {
    Table,
    TicketId,
    Note,
    MarkedBy,
    MarkedAtMs,
}

#[derive(DeriveIden)]
enum RecurrenceFlags {
    Table,
    TicketId,
    OriginalId,
    Score,
    Reasons,
    State,
    DecidedBy,
    DecidedAtMs,
    FlaggedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SearchReplicas::Table)
                    .col(string(SearchReplicas::Id).primary_key())
                    .col(big_integer(SearchReplicas::SeenAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SearchMarks::Table)
                    .col(string(SearchMarks::ReplicaId))
                    .col(string(SearchMarks::TicketId))
                    .col(big_integer(SearchMarks::MarkedAtMs))
                    .primary_key(
                        Index::create()
                            .col(SearchMarks::ReplicaId)
                            .col(SearchMarks::TicketId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StandardRepairs::Table)
                    .col(string(StandardRepairs::TicketId).primary_key())
                    .col(text(StandardRepairs::Note))
                    .col(string(StandardRepairs::MarkedBy))
                    .col(big_integer(StandardRepairs::MarkedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecurrenceFlags::Table)
                    .col(string(RecurrenceFlags::TicketId).primary_key())
                    .col(string(RecurrenceFlags::OriginalId))
                    .col(double(RecurrenceFlags::Score))
                    .col(text(RecurrenceFlags::Reasons))
                    .col(string(RecurrenceFlags::State))
                    .col(string_null(RecurrenceFlags::DecidedBy))
                    .col(big_integer_null(RecurrenceFlags::DecidedAtMs))
                    .col(big_integer(RecurrenceFlags::FlaggedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(super::index(
                "idx_recurrence_flags_state",
                RecurrenceFlags::Table,
                vec![
                    RecurrenceFlags::State.into_iden(),
                    RecurrenceFlags::FlaggedAtMs.into_iden(),
                ],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::drop_tables(
            manager,
            vec![
                RecurrenceFlags::Table.into_iden(),
                StandardRepairs::Table.into_iden(),
                SearchMarks::Table.into_iden(),
                SearchReplicas::Table.into_iden(),
            ],
        )
        .await
    }
}
