//! The instruments a technician carries, with their calibration, kept with the technician so
//! that a survey or an inspection offers the technician's own (JSON, like the certificates).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Technicians {
    Table,
    Instruments,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Technicians::Table)
                    .add_column(
                        ColumnDef::new(Technicians::Instruments)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Technicians::Table)
                    .drop_column(Technicians::Instruments)
                    .to_owned(),
            )
            .await
    }
}
