//! The satisfaction survey asks the five dimensions of MISSION §8.2. The case facts' score sums
//! take their names (technical level was the question of professional competence, repair
//! quality that of the effect of the fix), and gain communication and coordination with a count
//! of the surveys that recorded it, and a count of the surveys that gave an overall score (now
//! optional). Surveys taken before communication could be recorded leave it unknown: they add to
//! neither its sum nor its count, so no 0 drags its mean down. Every survey before this one gave
//! an overall score. SQLite alters one column per statement, so each change is its own.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseFacts {
    Table,
    SatSurveys,
    SatTechnicalLevel,
    SatRepairQuality,
    SatCompetence,
    SatFixEffect,
    SatCommunication,
    SatCommunicationN,
    SatOverallN,
}

async fn alter(manager: &SchemaManager<'_>, change: TableAlterStatement) -> Result<(), DbErr> {
    manager.alter_table(change).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = || Table::alter().table(CaseFacts::Table).to_owned();
        for (from, to) in [
            (CaseFacts::SatTechnicalLevel, CaseFacts::SatCompetence),
            (CaseFacts::SatRepairQuality, CaseFacts::SatFixEffect),
        ] {
            alter(manager, table().rename_column(from, to).to_owned()).await?;
        }
        for column in [
            CaseFacts::SatCommunication,
            CaseFacts::SatCommunicationN,
            CaseFacts::SatOverallN,
        ] {
            alter(
                manager,
                table().add_column(integer(column).default(0)).to_owned(),
            )
            .await?;
        }
        manager
            .exec_stmt(
                Query::update()
                    .table(CaseFacts::Table)
                    .value(CaseFacts::SatOverallN, Expr::col(CaseFacts::SatSurveys))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = || Table::alter().table(CaseFacts::Table).to_owned();
        for column in [
            CaseFacts::SatOverallN,
            CaseFacts::SatCommunicationN,
            CaseFacts::SatCommunication,
        ] {
            alter(manager, table().drop_column(column).to_owned()).await?;
        }
        for (from, to) in [
            (CaseFacts::SatFixEffect, CaseFacts::SatRepairQuality),
            (CaseFacts::SatCompetence, CaseFacts::SatTechnicalLevel),
        ] {
            alter(manager, table().rename_column(from, to).to_owned()).await?;
        }
        Ok(())
    }
}
