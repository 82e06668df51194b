//! The notification service's tables: each recipient's preferences (`notify_preferences`) and
//! every delivery decided (`notify_deliveries`): one row per event, recipient and channel,
//! written before anything is sent, which is what makes a delivery happen once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NotifyPreferences {
    Table,
    Recipient,
    Channels,
    Locale,
    QuietStart,
    QuietEnd,
    OptedOut,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum NotifyDeliveries {
    Table,
    Id,
    EventId,
    Recipient,
    Channel,
    Topic,
    CaseId,
    Address,
    Locale,
    Title,
    Body,
    Params,
    Urgent,
    State,
    Attempts,
    NextAttemptMs,
    LeaseUntilMs,
    LastError,
    Traceparent,
    Tracestate,
    EventTimeMs,
    CreatedAtMs,
    SentAtMs,
    ReadAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NotifyPreferences::Table)
                    .col(string(NotifyPreferences::Recipient).primary_key())
                    .col(string(NotifyPreferences::Channels))
                    .col(string_null(NotifyPreferences::Locale))
                    .col(string_null(NotifyPreferences::QuietStart))
                    .col(string_null(NotifyPreferences::QuietEnd))
                    .col(boolean(NotifyPreferences::OptedOut))
                    .col(big_integer(NotifyPreferences::UpdatedAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotifyDeliveries::Table)
                    .col(string(NotifyDeliveries::Id).primary_key())
                    .col(string(NotifyDeliveries::EventId))
                    .col(string(NotifyDeliveries::Recipient))
                    .col(string(NotifyDeliveries::Channel))
                    .col(string(NotifyDeliveries::Topic))
                    .col(string_null(NotifyDeliveries::CaseId))
                    .col(string(NotifyDeliveries::Address))
                    .col(string(NotifyDeliveries::Locale))
                    .col(text(NotifyDeliveries::Title))
                    .col(text(NotifyDeliveries::Body))
                    .col(text(NotifyDeliveries::Params))
                    .col(boolean(NotifyDeliveries::Urgent))
                    .col(string(NotifyDeliveries::State))
                    .col(integer(NotifyDeliveries::Attempts))
                    .col(big_integer(NotifyDeliveries::NextAttemptMs))
                    .col(big_integer(NotifyDeliveries::LeaseUntilMs))
                    .col(text(NotifyDeliveries::LastError))
                    .col(string(NotifyDeliveries::Traceparent))
                    .col(string(NotifyDeliveries::Tracestate))
                    .col(big_integer(NotifyDeliveries::EventTimeMs))
                    .col(big_integer(NotifyDeliveries::CreatedAtMs))
                    .col(big_integer_null(NotifyDeliveries::SentAtMs))
                    .col(big_integer_null(NotifyDeliveries::ReadAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                super::index(
                    "uq_notify_deliveries_once",
                    NotifyDeliveries::Table,
                    vec![
                        NotifyDeliveries::EventId.into_iden(),
                        NotifyDeliveries::Recipient.into_iden(),
                        NotifyDeliveries::Channel.into_iden(),
                    ],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_notify_deliveries_due",
                vec![
                    NotifyDeliveries::State.into_iden(),
                    NotifyDeliveries::NextAttemptMs.into_iden(),
                ],
            ),
            (
                "idx_notify_deliveries_inbox",
                vec![
                    NotifyDeliveries::Recipient.into_iden(),
                    NotifyDeliveries::Channel.into_iden(),
                    NotifyDeliveries::CreatedAtMs.into_iden(),
                ],
            ),
        ] {
            manager
                .create_index(super::index(name, NotifyDeliveries::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::drop_tables(
            manager,
            vec![
                NotifyDeliveries::Table.into_iden(),
                NotifyPreferences::Table.into_iden(),
            ],
        )
        .await
    }
}
