//! The feedback stage (MISSION §8): return visits and each customer's visit offsets,
//! corrective actions, and the per-case facts the analytics read.
//!
//! `case_facts` is a projection: one row per case, rebuilt from the records of every service
//! whenever an event of the case arrives (never edited by hand, always rebuildable), with the
//! columns a breakdown groups and filters by. `case_fact_parties` splits a case between its
//! responsible parties (shares summing to 1, `UNDETERMINED` before a survey decides), and
//! `case_fact_staff` says whom a case counts for in the KPIs (technicians, their teams, the
//! agent who took it in). Satisfaction surveys live in `case_records` (kind `satisfaction`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{drop_tables, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VisitPolicies {
    Table,
    CustomerId,
    Offsets,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReturnVisits {
    Table,
    Id,
    TicketId,
    CustomerId,
    Sequence,
    DueAtMs,
    AgentId,
    Team,
    Status,
    Body,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CorrectiveActions {
    Table,
    Id,
    Department,
    Status,
    DueDate,
    Body,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CaseFacts {
    Table,
    TicketId,
    CustomerId,
    ProjectId,
    StructureType,
    Category,
    Location,
    RootCause,
    Tier,
    State,
    RelatedCaseId,
    CreatedAtMs,
    AcceptedAtMs,
    ClosedAtMs,
    CreatedMonth,
    AcceptedMonth,
    ClosedMonth,
    AcceptanceRounds,
    Recurred,
    ResolveHours,
    Completeness,
    SatSurveys,
    SatResponseSpeed,
    SatTechnicalLevel,
    SatAttitude,
    SatRepairQuality,
    SatOverall,
    ClockResponse,
    ClockArrival,
    ClockSolution,
    ClockCompletion,
    ClockAppraisal,
    ClocksMet,
    ClocksBreached,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CaseFactParties {
    Table,
    TicketId,
    Party,
    Share,
}

#[derive(DeriveIden)]
enum CaseFactStaff {
    Table,
    Kind,
    Subject,
    TicketId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VisitPolicies::Table)
                    .if_not_exists()
                    .col(string(VisitPolicies::CustomerId).primary_key())
                    .col(string(VisitPolicies::Offsets))
                    .col(string(VisitPolicies::UpdatedBy))
                    .col(timestamp_with_time_zone(VisitPolicies::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReturnVisits::Table)
                    .if_not_exists()
                    .col(string(ReturnVisits::Id).primary_key())
                    .col(string(ReturnVisits::TicketId))
                    .col(string_null(ReturnVisits::CustomerId))
                    .col(integer(ReturnVisits::Sequence))
                    .col(big_integer(ReturnVisits::DueAtMs))
                    .col(string(ReturnVisits::AgentId))
                    .col(string(ReturnVisits::Team))
                    .col(string(ReturnVisits::Status))
                    .col(blob(ReturnVisits::Body))
                    .col(big_integer(ReturnVisits::Version))
                    .col(timestamp_with_time_zone(ReturnVisits::CreatedAt))
                    .col(timestamp_with_time_zone(ReturnVisits::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "idx_return_visits_ticket_sequence",
                    ReturnVisits::Table,
                    vec![
                        ReturnVisits::TicketId.into_iden(),
                        ReturnVisits::Sequence.into_iden(),
                    ],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_return_visits_due",
                ReturnVisits::Table,
                vec![
                    ReturnVisits::Status.into_iden(),
                    ReturnVisits::DueAtMs.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CorrectiveActions::Table)
                    .if_not_exists()
                    .col(string(CorrectiveActions::Id).primary_key())
                    .col(string(CorrectiveActions::Department))
                    .col(string(CorrectiveActions::Status))
                    .col(string(CorrectiveActions::DueDate))
                    .col(blob(CorrectiveActions::Body))
                    .col(big_integer(CorrectiveActions::Version))
                    .col(timestamp_with_time_zone(CorrectiveActions::CreatedAt))
                    .col(timestamp_with_time_zone(CorrectiveActions::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_corrective_actions_due",
                CorrectiveActions::Table,
                vec![
                    CorrectiveActions::DueDate.into_iden(),
                    CorrectiveActions::Id.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseFacts::Table)
                    .if_not_exists()
                    .col(string(CaseFacts::TicketId).primary_key())
                    .col(string(CaseFacts::CustomerId))
                    .col(string(CaseFacts::ProjectId))
                    .col(string(CaseFacts::StructureType))
                    .col(string(CaseFacts::Category))
                    .col(string(CaseFacts::Location))
                    .col(string(CaseFacts::RootCause))
                    .col(string(CaseFacts::Tier))
                    .col(string(CaseFacts::State))
                    .col(string_null(CaseFacts::RelatedCaseId))
                    .col(big_integer(CaseFacts::CreatedAtMs))
                    .col(big_integer_null(CaseFacts::AcceptedAtMs))
                    .col(big_integer_null(CaseFacts::ClosedAtMs))
                    .col(string(CaseFacts::CreatedMonth))
                    .col(string_null(CaseFacts::AcceptedMonth))
                    .col(string_null(CaseFacts::ClosedMonth))
                    .col(integer(CaseFacts::AcceptanceRounds))
                    .col(integer(CaseFacts::Recurred))
                    .col(double_null(CaseFacts::ResolveHours))
                    .col(double_null(CaseFacts::Completeness))
                    .col(integer(CaseFacts::SatSurveys))
                    .col(integer(CaseFacts::SatResponseSpeed))
                    .col(integer(CaseFacts::SatTechnicalLevel))
                    .col(integer(CaseFacts::SatAttitude))
                    .col(integer(CaseFacts::SatRepairQuality))
                    .col(integer(CaseFacts::SatOverall))
                    .col(small_integer(CaseFacts::ClockResponse))
                    .col(small_integer(CaseFacts::ClockArrival))
                    .col(small_integer(CaseFacts::ClockSolution))
                    .col(small_integer(CaseFacts::ClockCompletion))
                    .col(small_integer(CaseFacts::ClockAppraisal))
                    .col(integer(CaseFacts::ClocksMet))
                    .col(integer(CaseFacts::ClocksBreached))
                    .col(timestamp_with_time_zone(CaseFacts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_case_facts_created", CaseFacts::CreatedAtMs),
            ("idx_case_facts_accepted", CaseFacts::AcceptedAtMs),
            ("idx_case_facts_closed", CaseFacts::ClosedAtMs),
        ] {
            manager
                .create_index(index(name, CaseFacts::Table, vec![col.into_iden()]))
                .await?;
        }
        manager
            .create_index(index(
                "idx_case_facts_customer_created",
                CaseFacts::Table,
                vec![
                    CaseFacts::CustomerId.into_iden(),
                    CaseFacts::CreatedAtMs.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_case_facts_related",
                CaseFacts::Table,
                vec![CaseFacts::RelatedCaseId.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseFactParties::Table)
                    .if_not_exists()
                    .col(string(CaseFactParties::TicketId))
                    .col(string(CaseFactParties::Party))
                    .col(double(CaseFactParties::Share))
                    .primary_key(
                        Index::create()
                            .col(CaseFactParties::TicketId)
                            .col(CaseFactParties::Party),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseFactStaff::Table)
                    .if_not_exists()
                    .col(string(CaseFactStaff::Kind))
                    .col(string(CaseFactStaff::Subject))
                    .col(string(CaseFactStaff::TicketId))
                    .primary_key(
                        Index::create()
                            .col(CaseFactStaff::Kind)
                            .col(CaseFactStaff::Subject)
                            .col(CaseFactStaff::TicketId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_case_fact_staff_ticket",
                CaseFactStaff::Table,
                vec![CaseFactStaff::TicketId.into_iden()],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                CaseFactStaff::Table.into_iden(),
                CaseFactParties::Table.into_iden(),
                CaseFacts::Table.into_iden(),
                CorrectiveActions::Table.into_iden(),
                ReturnVisits::Table.into_iden(),
                VisitPolicies::Table.into_iden(),
            ],
        )
        .await
    }
}
