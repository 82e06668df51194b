//! The repair service's records (MISSION §4.2–§6, §9): `repair_records` holds every record of a
//! case's repair — survey report versions, plan versions, reviews, communications, customer
//! decisions, the agreement and its amendments, work-log entries, inspections, completions and
//! disputes — as the encoded protobuf message, with the columns queries need beside it. `slot`
//! is a unique key a record claims while it must be the only one of its kind (report version
//! 3 of a case, the case's agreement, its open dispute), so two concurrent writers cannot both
//! succeed. `due_at_ms` is when a record's own clock runs out (an open dispute's appraisal
//! deadline), until the breach is announced. `repair_bookings` holds when each technician is booked for repair work, for the
//! crew clash check.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{drop_tables, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RepairRecords {
    Table,
    Id,
    TicketId,
    Kind,
    Version,
    StepId,
    Status,
    Slot,
    Body,
    DueAtMs,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RepairBookings {
    Table,
    Id,
    TechnicianId,
    TicketId,
    RecordId,
    StartsAtMs,
    EndsAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RepairRecords::Table)
                    .if_not_exists()
                    .col(string(RepairRecords::Id).primary_key())
                    .col(string(RepairRecords::TicketId))
                    .col(string(RepairRecords::Kind))
                    .col(integer(RepairRecords::Version))
                    .col(string_null(RepairRecords::StepId))
                    .col(string(RepairRecords::Status))
                    .col(string_null(RepairRecords::Slot).unique_key())
                    .col(blob(RepairRecords::Body))
                    .col(big_integer_null(RepairRecords::DueAtMs))
                    .col(string(RepairRecords::CreatedBy))
                    .col(timestamp_with_time_zone(RepairRecords::CreatedAt))
                    .col(timestamp_with_time_zone(RepairRecords::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_repair_records_ticket_kind",
                RepairRecords::Table,
                vec![
                    RepairRecords::TicketId.into_iden(),
                    RepairRecords::Kind.into_iden(),
                    RepairRecords::Id.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RepairBookings::Table)
                    .if_not_exists()
                    .col(string(RepairBookings::Id).primary_key())
                    .col(string(RepairBookings::TechnicianId))
                    .col(string(RepairBookings::TicketId))
                    .col(string(RepairBookings::RecordId))
                    .col(big_integer(RepairBookings::StartsAtMs))
                    .col(big_integer(RepairBookings::EndsAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_repair_bookings_technician",
                RepairBookings::Table,
                vec![
                    RepairBookings::TechnicianId.into_iden(),
                    RepairBookings::StartsAtMs.into_iden(),
                ],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                RepairBookings::Table.into_iden(),
                RepairRecords::Table.into_iden(),
            ],
        )
        .await
    }
}
