//! The relay asks for unpublished outbox rows in id order many times a second. An index over
//! (published_at, id) keeps every published row in it, and the scan walks ever more dead
//! entries; a partial index holds only the rows still to publish.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_outbox_unpublished")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_outbox_pending ON outbox (id) WHERE published_at IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_outbox_pending")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_outbox_unpublished ON outbox (published_at, id)",
        )
        .await?;
        Ok(())
    }
}
