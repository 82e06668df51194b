//! Intake's tables: customers, projects with warranty terms, handover dossier items and
//! trainings, tickets, SLA clocks and pauses, per-day acceptance-number counters, attachments.
//! Structured values (contacts, addresses, descriptions) are JSON text; SLA instants are
//! milliseconds since the epoch so that the escalation watcher compares integers on both
//! databases.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{drop_tables, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    OrganizationName,
    Contacts,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    CustomerId,
    Name,
    Address,
    ContractNumber,
    StructureType,
    CompletionDate,
    DesignLifeYears,
    TechnicalLead,
    Designer,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WarrantyTerms {
    Table,
    Id,
    ProjectId,
    Scope,
    StartDate,
    Months,
    Note,
}

#[derive(DeriveIden)]
enum DossierItems {
    Table,
    ProjectId,
    Kind,
    Present,
    DocumentReference,
}

#[derive(DeriveIden)]
enum Trainings {
    Table,
    Id,
    ProjectId,
    HeldAt,
    Trainer,
    Attendees,
    Topics,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    AcceptanceNumber,
    Channel,
    CustomerId,
    ProjectId,
    Reporter,
    Location,
    Description,
    CustomerRequest,
    Category,
    Tier,
    Suggestion,
    Warranty,
    Reply,
    ReadbackText,
    ReadbackConfirmedAt,
    FirstResponseText,
    ClosingText,
    SlaStatus,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum SlaClocks {
    Table,
    TicketId,
    Kind,
    Mode,
    LimitMs,
    StartedAtMs,
    DeadlineAtMs,
    ThresholdsMs,
    AlertsFired,
    NextAlertAtMs,
    Status,
    StoppedAtMs,
    BreachedAtMs,
}

#[derive(DeriveIden)]
enum SlaPauses {
    Table,
    Id,
    TicketId,
    StartedAtMs,
    EndedAtMs,
    Reason,
}

#[derive(DeriveIden)]
enum AcceptanceCounters {
    Table,
    Day,
    LastValue,
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    TicketId,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    Caption,
    StorageKey,
    UploadedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(string(Customers::Id).primary_key())
                    .col(string(Customers::OrganizationName))
                    .col(text(Customers::Contacts))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(string(Projects::Id).primary_key())
                    .col(string(Projects::CustomerId))
                    .col(string(Projects::Name))
                    .col(text(Projects::Address))
                    .col(string_uniq(Projects::ContractNumber))
                    .col(string(Projects::StructureType))
                    .col(string(Projects::CompletionDate))
                    .col(integer(Projects::DesignLifeYears))
                    .col(text(Projects::TechnicalLead))
                    .col(text(Projects::Designer))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Projects::Table, Projects::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_projects_customer",
                Projects::Table,
                vec![
                    Projects::CustomerId.into_iden(),
                    Projects::CreatedAt.into_iden(),
                ],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WarrantyTerms::Table)
                    .col(string(WarrantyTerms::Id).primary_key())
                    .col(string(WarrantyTerms::ProjectId))
                    .col(string(WarrantyTerms::Scope))
                    .col(string(WarrantyTerms::StartDate))
                    .col(integer(WarrantyTerms::Months))
                    .col(text(WarrantyTerms::Note))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WarrantyTerms::Table, WarrantyTerms::ProjectId)
                            .to(Projects::Table, Projects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_warranty_terms_project",
                WarrantyTerms::Table,
                vec![WarrantyTerms::ProjectId.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DossierItems::Table)
                    .col(string(DossierItems::ProjectId))
                    .col(string(DossierItems::Kind))
                    .col(boolean(DossierItems::Present))
                    .col(text(DossierItems::DocumentReference))
                    .primary_key(
                        Index::create()
                            .col(DossierItems::ProjectId)
                            .col(DossierItems::Kind),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DossierItems::Table, DossierItems::ProjectId)
                            .to(Projects::Table, Projects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Trainings::Table)
                    .col(string(Trainings::Id).primary_key())
                    .col(string(Trainings::ProjectId))
                    .col(timestamp_with_time_zone(Trainings::HeldAt))
                    .col(text(Trainings::Trainer))
                    .col(text(Trainings::Attendees))
                    .col(text(Trainings::Topics))
                    .col(timestamp_with_time_zone(Trainings::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Trainings::Table, Trainings::ProjectId)
                            .to(Projects::Table, Projects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_trainings_project",
                Trainings::Table,
                vec![Trainings::ProjectId.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(string(Tickets::Id).primary_key())
                    .col(string_uniq(Tickets::AcceptanceNumber))
                    .col(string(Tickets::Channel))
                    .col(string(Tickets::CustomerId))
                    .col(string(Tickets::ProjectId))
                    .col(text(Tickets::Reporter))
                    .col(text(Tickets::Location))
                    .col(text(Tickets::Description))
                    .col(text(Tickets::CustomerRequest))
                    .col(string(Tickets::Category))
                    .col(string(Tickets::Tier))
                    .col(text(Tickets::Suggestion))
                    .col(text(Tickets::Warranty))
                    .col(text(Tickets::Reply))
                    .col(text_null(Tickets::ReadbackText))
                    .col(timestamp_with_time_zone_null(Tickets::ReadbackConfirmedAt))
                    .col(text_null(Tickets::FirstResponseText))
                    .col(text_null(Tickets::ClosingText))
                    .col(string(Tickets::SlaStatus))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                    .col(big_integer(Tickets::Version))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tickets::Table, Tickets::ProjectId)
                            .to(Projects::Table, Projects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_tickets_created",
                vec![Tickets::CreatedAt.into_iden(), Tickets::Id.into_iden()],
            ),
            (
                "idx_tickets_customer",
                vec![
                    Tickets::CustomerId.into_iden(),
                    Tickets::CreatedAt.into_iden(),
                ],
            ),
            ("idx_tickets_project", vec![Tickets::ProjectId.into_iden()]),
        ] {
            manager
                .create_index(index(name, Tickets::Table, cols))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(SlaClocks::Table)
                    .col(string(SlaClocks::TicketId))
                    .col(string(SlaClocks::Kind))
                    .col(string(SlaClocks::Mode))
                    .col(big_integer(SlaClocks::LimitMs))
                    .col(big_integer(SlaClocks::StartedAtMs))
                    .col(big_integer_null(SlaClocks::DeadlineAtMs))
                    .col(text(SlaClocks::ThresholdsMs))
                    .col(integer(SlaClocks::AlertsFired))
                    .col(big_integer_null(SlaClocks::NextAlertAtMs))
                    .col(string(SlaClocks::Status))
                    .col(big_integer_null(SlaClocks::StoppedAtMs))
                    .col(big_integer_null(SlaClocks::BreachedAtMs))
                    .primary_key(
                        Index::create()
                            .col(SlaClocks::TicketId)
                            .col(SlaClocks::Kind),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SlaClocks::Table, SlaClocks::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sla_clocks_next_alert",
                SlaClocks::Table,
                vec![SlaClocks::NextAlertAtMs.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlaPauses::Table)
                    .col(string(SlaPauses::Id).primary_key())
                    .col(string(SlaPauses::TicketId))
                    .col(big_integer(SlaPauses::StartedAtMs))
                    .col(big_integer_null(SlaPauses::EndedAtMs))
                    .col(text(SlaPauses::Reason))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SlaPauses::Table, SlaPauses::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sla_pauses_ticket",
                SlaPauses::Table,
                vec![SlaPauses::TicketId.into_iden()],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AcceptanceCounters::Table)
                    .col(string(AcceptanceCounters::Day).primary_key())
                    .col(big_integer(AcceptanceCounters::LastValue))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(string(Attachments::Id).primary_key())
                    .col(string(Attachments::TicketId))
                    .col(string(Attachments::FileName))
                    .col(string(Attachments::ContentType))
                    .col(big_integer(Attachments::SizeBytes))
                    .col(string(Attachments::Sha256))
                    .col(text(Attachments::Caption))
                    .col(string(Attachments::StorageKey))
                    .col(string(Attachments::UploadedBy))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachments::Table, Attachments::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_attachments_ticket",
                Attachments::Table,
                vec![
                    Attachments::TicketId.into_iden(),
                    Attachments::CreatedAt.into_iden(),
                ],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                Attachments::Table.into_iden(),
                AcceptanceCounters::Table.into_iden(),
                SlaPauses::Table.into_iden(),
                SlaClocks::Table.into_iden(),
                Tickets::Table.into_iden(),
                Trainings::Table.into_iden(),
                DossierItems::Table.into_iden(),
                WarrantyTerms::Table.into_iden(),
                Projects::Table.into_iden(),
                Customers::Table.into_iden(),
            ],
        )
        .await
    }
}
