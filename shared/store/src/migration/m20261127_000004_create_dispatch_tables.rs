//! Dispatch's tables: technicians (with their regions in a side table for matching), one
//! assignment per case that needs a site visit with the history of its offers, and survey
//! plans with their team members (for overlap checks). Instants the workers compare are
//! milliseconds since the epoch, as in `sla_clocks`. An assignment's `score` is its place in
//! the dispatch queue (arrival deadline, then severity) and the order of the board.
//!
//! `technicians.booked` counts confirmed assignments; accepting an offer increments it with
//! `UPDATE … WHERE booked < capacity`, so the database refuses a double booking.
//! `technicians.offered` counts open offers, kept in the transactions that open and close them,
//! so matching reads a technician's whole load from one row.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{drop_tables, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Technicians {
    Table,
    Id,
    Person,
    Team,
    Regions,
    BaseLatitude,
    BaseLongitude,
    Skills,
    Certificates,
    Calendar,
    Capacity,
    Booked,
    Offered,
    Status,
    LeavePeriods,
    FirstTimeRate,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum TechnicianRegions {
    Table,
    TechnicianId,
    Region,
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    TicketId,
    Category,
    Tier,
    ArrivalDeadlineMs,
    Score,
    Site,
    State,
    TechnicianId,
    OfferExpiresAtMs,
    Ranking,
    Manual,
    ArrivedAtMs,
    ArrivalPosition,
    ArrivalMet,
    Escalations,
    RetryAtMs,
    Excluded,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum AssignmentOffers {
    Table,
    AssignmentId,
    Seq,
    TechnicianId,
    State,
    Ranking,
    Manual,
    OfferedAtMs,
    ExpiresAtMs,
    RespondedAtMs,
    Reason,
}

#[derive(DeriveIden)]
enum SurveyPlans {
    Table,
    Id,
    TicketId,
    LeadTechnicianId,
    Members,
    Accompanying,
    ScheduledAtMs,
    EndsAtMs,
    Instruments,
    Documents,
    AccessArrangements,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SurveyPlanMembers {
    Table,
    SurveyPlanId,
    TechnicianId,
    StartsAtMs,
    EndsAtMs,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Technicians::Table)
                    .col(string(Technicians::Id).primary_key())
                    .col(text(Technicians::Person))
                    .col(string(Technicians::Team))
                    .col(text(Technicians::Regions))
                    .col(double_null(Technicians::BaseLatitude))
                    .col(double_null(Technicians::BaseLongitude))
                    .col(text(Technicians::Skills))
                    .col(text(Technicians::Certificates))
                    .col(string(Technicians::Calendar))
                    .col(integer(Technicians::Capacity))
                    .col(integer(Technicians::Booked))
                    .col(integer(Technicians::Offered))
                    .col(string(Technicians::Status))
                    .col(text(Technicians::LeavePeriods))
                    .col(double_null(Technicians::FirstTimeRate))
                    .col(timestamp_with_time_zone(Technicians::CreatedAt))
                    .col(timestamp_with_time_zone(Technicians::UpdatedAt))
                    .col(big_integer(Technicians::Version))
                    .check(Expr::col(Technicians::Booked).gte(0))
                    .check(Expr::col(Technicians::Offered).gte(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TechnicianRegions::Table)
                    .col(string(TechnicianRegions::TechnicianId))
                    .col(string(TechnicianRegions::Region))
                    .primary_key(
                        Index::create()
                            .col(TechnicianRegions::TechnicianId)
                            .col(TechnicianRegions::Region),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(TechnicianRegions::Table, TechnicianRegions::TechnicianId)
                            .to(Technicians::Table, Technicians::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_technician_regions_region",
                TechnicianRegions::Table,
                vec![TechnicianRegions::Region.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Assignments::Table)
                    .col(string(Assignments::Id).primary_key())
                    .col(string(Assignments::TicketId).unique_key())
                    .col(string(Assignments::Category))
                    .col(string(Assignments::Tier))
                    .col(big_integer_null(Assignments::ArrivalDeadlineMs))
                    .col(big_integer(Assignments::Score))
                    .col(text(Assignments::Site))
                    .col(string(Assignments::State))
                    .col(string_null(Assignments::TechnicianId))
                    .col(big_integer_null(Assignments::OfferExpiresAtMs))
                    .col(text_null(Assignments::Ranking))
                    .col(boolean(Assignments::Manual))
                    .col(big_integer_null(Assignments::ArrivedAtMs))
                    .col(text_null(Assignments::ArrivalPosition))
                    .col(boolean_null(Assignments::ArrivalMet))
                    .col(integer(Assignments::Escalations))
                    .col(big_integer_null(Assignments::RetryAtMs))
                    .col(text(Assignments::Excluded))
                    .col(timestamp_with_time_zone(Assignments::CreatedAt))
                    .col(timestamp_with_time_zone(Assignments::UpdatedAt))
                    .col(big_integer(Assignments::Version))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_assignments_state_retry",
                vec![
                    Assignments::State.into_iden(),
                    Assignments::RetryAtMs.into_iden(),
                ],
            ),
            (
                "idx_assignments_state_offer_expiry",
                vec![
                    Assignments::State.into_iden(),
                    Assignments::OfferExpiresAtMs.into_iden(),
                ],
            ),
            (
                "idx_assignments_technician_state",
                vec![
                    Assignments::TechnicianId.into_iden(),
                    Assignments::State.into_iden(),
                ],
            ),
            (
                "idx_assignments_score",
                vec![Assignments::Score.into_iden(), Assignments::Id.into_iden()],
            ),
        ] {
            manager
                .create_index(index(name, Assignments::Table, cols))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(AssignmentOffers::Table)
                    .col(string(AssignmentOffers::AssignmentId))
                    .col(integer(AssignmentOffers::Seq))
                    .col(string(AssignmentOffers::TechnicianId))
                    .col(string(AssignmentOffers::State))
                    .col(text(AssignmentOffers::Ranking))
                    .col(boolean(AssignmentOffers::Manual))
                    .col(big_integer(AssignmentOffers::OfferedAtMs))
                    .col(big_integer(AssignmentOffers::ExpiresAtMs))
                    .col(big_integer_null(AssignmentOffers::RespondedAtMs))
                    .col(text(AssignmentOffers::Reason))
                    .primary_key(
                        Index::create()
                            .col(AssignmentOffers::AssignmentId)
                            .col(AssignmentOffers::Seq),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AssignmentOffers::Table, AssignmentOffers::AssignmentId)
                            .to(Assignments::Table, Assignments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SurveyPlans::Table)
                    .col(string(SurveyPlans::Id).primary_key())
                    .col(string(SurveyPlans::TicketId))
                    .col(string(SurveyPlans::LeadTechnicianId))
                    .col(text(SurveyPlans::Members))
                    .col(text(SurveyPlans::Accompanying))
                    .col(big_integer(SurveyPlans::ScheduledAtMs))
                    .col(big_integer(SurveyPlans::EndsAtMs))
                    .col(text(SurveyPlans::Instruments))
                    .col(text(SurveyPlans::Documents))
                    .col(text(SurveyPlans::AccessArrangements))
                    .col(string(SurveyPlans::CreatedBy))
                    .col(timestamp_with_time_zone(SurveyPlans::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SurveyPlans::Table, SurveyPlans::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_survey_plans_ticket",
                SurveyPlans::Table,
                vec![SurveyPlans::TicketId.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SurveyPlanMembers::Table)
                    .col(string(SurveyPlanMembers::SurveyPlanId))
                    .col(string(SurveyPlanMembers::TechnicianId))
                    .col(big_integer(SurveyPlanMembers::StartsAtMs))
                    .col(big_integer(SurveyPlanMembers::EndsAtMs))
                    .primary_key(
                        Index::create()
                            .col(SurveyPlanMembers::SurveyPlanId)
                            .col(SurveyPlanMembers::TechnicianId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SurveyPlanMembers::Table, SurveyPlanMembers::SurveyPlanId)
                            .to(SurveyPlans::Table, SurveyPlans::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_survey_plan_members_technician",
                SurveyPlanMembers::Table,
                vec![
                    SurveyPlanMembers::TechnicianId.into_iden(),
                    SurveyPlanMembers::StartsAtMs.into_iden(),
                ],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                SurveyPlanMembers::Table.into_iden(),
                SurveyPlans::Table.into_iden(),
                AssignmentOffers::Table.into_iden(),
                Assignments::Table.into_iden(),
                TechnicianRegions::Table.into_iden(),
                Technicians::Table.into_iden(),
            ],
        )
        .await
    }
}
