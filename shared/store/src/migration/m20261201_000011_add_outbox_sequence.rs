//! Every published event gets a place in one sequence, `outbox.seq`, in the order it became
//! visible to the relay (the relay assigns it when it marks a batch published, above every
//! place given before; a unique index makes two relays that overlap fail rather than give
//! one place twice). Ids are taken at insert but committed in any order, so an id cursor can
//! skip an event that commits late; a `seq` cursor cannot, which is what lets
//! `SubscribeEvents` resume from a cursor without losing or repeating an event.
//! Events published before this migration keep their id as their place.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE outbox ADD COLUMN seq BIGINT NULL")
            .await?;
        db.execute_unprepared("UPDATE outbox SET seq = id WHERE published_at IS NOT NULL")
            .await?;
        db.execute_unprepared("CREATE UNIQUE INDEX IF NOT EXISTS idx_outbox_seq ON outbox (seq)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_outbox_seq")
            .await?;
        db.execute_unprepared("ALTER TABLE outbox DROP COLUMN seq")
            .await?;
        Ok(())
    }
}
