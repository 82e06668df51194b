//! The records of a case's process after intake and dispatch (MISSION §4.2–§9), written by
//! the repair and acceptance services: survey report versions, plan versions, reviews,
//! communications, customer decisions, the agreement and its amendments, work-log entries,
//! inspections, completions, disputes, self-inspections and customer acceptances.
//! `case_records` keeps each as its encoded protobuf message, with the columns queries need
//! beside it. `slot` is a unique key a record claims while it must be the only one of its kind
//! (report version 3 of a case, the case's agreement, its open dispute), so two concurrent
//! writers cannot both succeed. `due_at_ms` is when a record's own clock runs out (an open
//! dispute's appraisal deadline), until the breach is announced. `repair_bookings` holds when
//! each technician is booked for repair work, for the crew clash check.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{drop_tables, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseRecords {
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
                    .table(CaseRecords::Table)
                    .if_not_exists()
                    .col(string(CaseRecords::Id).primary_key())
                    .col(string(CaseRecords::TicketId))
                    .col(string(CaseRecords::Kind))
                    .col(integer(CaseRecords::Version))
                    .col(string_null(CaseRecords::StepId))
                    .col(string(CaseRecords::Status))
                    .col(string_null(CaseRecords::Slot).unique_key())
                    .col(blob(CaseRecords::Body))
                    .col(big_integer_null(CaseRecords::DueAtMs))
                    .col(string(CaseRecords::CreatedBy))
                    .col(timestamp_with_time_zone(CaseRecords::CreatedAt))
                    .col(timestamp_with_time_zone(CaseRecords::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_case_records_ticket_kind",
                CaseRecords::Table,
                vec![
                    CaseRecords::TicketId.into_iden(),
                    CaseRecords::Kind.into_iden(),
                    CaseRecords::Id.into_iden(),
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
                CaseRecords::Table.into_iden(),
            ],
        )
        .await
    }
}
