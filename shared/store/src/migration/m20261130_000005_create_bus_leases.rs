//! Coordination of the event backbone across replicas: `bus_leases` holds who runs a task that
//! must run once (the outbox relay of a stream) and until when; `bus_checkpoints` holds, per
//! stream, the last outbox event every consumer group has handled (read from Redis by the
//! relay), and the groups it has seen. After Redis loses its data the relay publishes again
//! every event after the checkpoint.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::drop_tables;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BusLeases {
    Table,
    Name,
    Holder,
    ExpiresAtMs,
}

#[derive(DeriveIden)]
enum BusCheckpoints {
    Table,
    Stream,
    OutboxId,
    Groups,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BusLeases::Table)
                    .if_not_exists()
                    .col(string(BusLeases::Name).primary_key())
                    .col(string(BusLeases::Holder))
                    .col(big_integer(BusLeases::ExpiresAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BusCheckpoints::Table)
                    .if_not_exists()
                    .col(string(BusCheckpoints::Stream).primary_key())
                    .col(big_integer(BusCheckpoints::OutboxId))
                    .col(text(BusCheckpoints::Groups))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            vec![
                BusCheckpoints::Table.into_iden(),
                BusLeases::Table.into_iden(),
            ],
        )
        .await
    }
}
