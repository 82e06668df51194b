//! The quality loop (MISSION §8.3–8.4): a recurrence's facts carry its original case's cause,
//! marked as inherited (`case_facts.root_cause_inherited`), until a new survey says otherwise;
//! each case counts the recurrences its return visits found (`recurrences_at_visits`); and the
//! people of each department (`department_members`), who may own its corrective actions.
//! SQLite alters one column per statement. The projection fills the new columns on
//! `steelcare rebuild-facts` or the case's next event.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CaseFacts {
    Table,
    RootCauseInherited,
    RecurrencesAtVisits,
}

#[derive(DeriveIden)]
enum DepartmentMembers {
    Table,
    Department,
    UserId,
    DisplayName,
    Phone,
    Email,
    UpdatedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            CaseFacts::RootCauseInherited,
            CaseFacts::RecurrencesAtVisits,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CaseFacts::Table)
                        .add_column(integer(column).default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DepartmentMembers::Table)
                    .col(string(DepartmentMembers::Department))
                    .col(string(DepartmentMembers::UserId))
                    .col(string(DepartmentMembers::DisplayName))
                    .col(string(DepartmentMembers::Phone))
                    .col(string(DepartmentMembers::Email))
                    .col(string(DepartmentMembers::UpdatedBy))
                    .col(timestamp_with_time_zone(DepartmentMembers::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(DepartmentMembers::Department)
                            .col(DepartmentMembers::UserId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DepartmentMembers::Table).to_owned())
            .await?;
        for column in [
            CaseFacts::RecurrencesAtVisits,
            CaseFacts::RootCauseInherited,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CaseFacts::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
