use sea_orm::entity::prelude::*;

/// The plan of a site survey: team, time, instruments, documents and access.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub ticket_id: String,
    pub lead_technician_id: String,
    #[sea_orm(column_type = "Text")]
    pub members: String,
    #[sea_orm(column_type = "Text")]
    pub accompanying: String,
    pub scheduled_at_ms: i64,
    pub ends_at_ms: i64,
    #[sea_orm(column_type = "Text")]
    pub instruments: String,
    #[sea_orm(column_type = "Text")]
    pub documents: String,
    #[sea_orm(column_type = "Text")]
    pub access_arrangements: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
