//! The shared tables every service stands on: cases and their lifecycle state, the audit log,
//! the transactional outbox, processed-event keys, idempotency keys, and the embedded bus
//! (event streams with consumer groups, and the dispatch queue).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::drop_tables;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    OrganizationId,
    State,
    StateBeforeDispute,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    Subject,
    Roles,
    OrganizationId,
    Rpc,
    EntityType,
    EntityId,
    BeforeSummary,
    AfterSummary,
    TraceId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    EventId,
    Stream,
    CaseId,
    Payload,
    CreatedAt,
    PublishedAt,
    Attempts,
}

#[derive(DeriveIden)]
enum ProcessedEvents {
    Table,
    Consumer,
    EventId,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Scope,
    RequestId,
    RequestHash,
    ResourceId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BusStreamEntries {
    Table,
    Id,
    Stream,
    EventId,
    Payload,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum BusGroupCursors {
    Table,
    Stream,
    GroupName,
    LastEntryId,
}

#[derive(DeriveIden)]
enum BusPending {
    Table,
    Stream,
    GroupName,
    EntryId,
    Consumer,
    DeliveredAtMs,
    DeliveryCount,
}

#[derive(DeriveIden)]
enum BusQueueJobs {
    Table,
    Queue,
    JobId,
    Payload,
    Score,
    LeaseToken,
    LeaseUntilMs,
    Attempts,
    EnqueuedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Cases::Table)
                    .col(string(Cases::Id).primary_key())
                    .col(string_null(Cases::OrganizationId))
                    .col(string(Cases::State))
                    .col(string_null(Cases::StateBeforeDispute))
                    .col(big_integer(Cases::Version))
                    .col(timestamp_with_time_zone(Cases::CreatedAt))
                    .col(timestamp_with_time_zone(Cases::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_cases_state")
                    .table(Cases::Table)
                    .col(Cases::State)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(string(AuditLog::Id).primary_key())
                    .col(string(AuditLog::Subject))
                    .col(string(AuditLog::Roles))
                    .col(string_null(AuditLog::OrganizationId))
                    .col(string(AuditLog::Rpc))
                    .col(string(AuditLog::EntityType))
                    .col(string(AuditLog::EntityId))
                    .col(text_null(AuditLog::BeforeSummary))
                    .col(text(AuditLog::AfterSummary))
                    .col(string(AuditLog::TraceId))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_created")
                    .table(AuditLog::Table)
                    .col(AuditLog::CreatedAt)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_entity")
                    .table(AuditLog::Table)
                    .col(AuditLog::EntityType)
                    .col(AuditLog::EntityId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(big_pk_auto(Outbox::Id))
                    .col(string_uniq(Outbox::EventId))
                    .col(string(Outbox::Stream))
                    .col(string_null(Outbox::CaseId))
                    .col(blob(Outbox::Payload))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::PublishedAt))
                    .col(integer(Outbox::Attempts))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_unpublished")
                    .table(Outbox::Table)
                    .col(Outbox::PublishedAt)
                    .col(Outbox::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProcessedEvents::Table)
                    .col(string(ProcessedEvents::Consumer))
                    .col(string(ProcessedEvents::EventId))
                    .col(timestamp_with_time_zone(ProcessedEvents::ProcessedAt))
                    .primary_key(
                        Index::create()
                            .col(ProcessedEvents::Consumer)
                            .col(ProcessedEvents::EventId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(string(IdempotencyKeys::Scope))
                    .col(string(IdempotencyKeys::RequestId))
                    .col(string(IdempotencyKeys::RequestHash))
                    .col(string(IdempotencyKeys::ResourceId))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(IdempotencyKeys::Scope)
                            .col(IdempotencyKeys::RequestId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BusStreamEntries::Table)
                    .col(big_pk_auto(BusStreamEntries::Id))
                    .col(string(BusStreamEntries::Stream))
                    .col(string(BusStreamEntries::EventId))
                    .col(blob(BusStreamEntries::Payload))
                    .col(big_integer(BusStreamEntries::CreatedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_bus_stream_entries_stream")
                    .table(BusStreamEntries::Table)
                    .col(BusStreamEntries::Stream)
                    .col(BusStreamEntries::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BusGroupCursors::Table)
                    .col(string(BusGroupCursors::Stream))
                    .col(string(BusGroupCursors::GroupName))
                    .col(big_integer(BusGroupCursors::LastEntryId))
                    .primary_key(
                        Index::create()
                            .col(BusGroupCursors::Stream)
                            .col(BusGroupCursors::GroupName),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BusPending::Table)
                    .col(string(BusPending::Stream))
                    .col(string(BusPending::GroupName))
                    .col(big_integer(BusPending::EntryId))
                    .col(string(BusPending::Consumer))
                    .col(big_integer(BusPending::DeliveredAtMs))
                    .col(integer(BusPending::DeliveryCount))
                    .primary_key(
                        Index::create()
                            .col(BusPending::Stream)
                            .col(BusPending::GroupName)
                            .col(BusPending::EntryId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BusQueueJobs::Table)
                    .col(string(BusQueueJobs::Queue))
                    .col(string(BusQueueJobs::JobId))
                    .col(blob(BusQueueJobs::Payload))
                    .col(big_integer(BusQueueJobs::Score))
                    .col(string_null(BusQueueJobs::LeaseToken))
                    .col(big_integer_null(BusQueueJobs::LeaseUntilMs))
                    .col(integer(BusQueueJobs::Attempts))
                    .col(big_integer(BusQueueJobs::EnqueuedAtMs))
                    .primary_key(
                        Index::create()
                            .col(BusQueueJobs::Queue)
                            .col(BusQueueJobs::JobId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_bus_queue_jobs_score")
                    .table(BusQueueJobs::Table)
                    .col(BusQueueJobs::Queue)
                    .col(BusQueueJobs::Score)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                BusQueueJobs::Table.into_iden(),
                BusPending::Table.into_iden(),
                BusGroupCursors::Table.into_iden(),
                BusStreamEntries::Table.into_iden(),
                IdempotencyKeys::Table.into_iden(),
                ProcessedEvents::Table.into_iden(),
                Outbox::Table.into_iden(),
                AuditLog::Table.into_iden(),
                Cases::Table.into_iden(),
            ],
        )
        .await
    }
}
