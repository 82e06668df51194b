use sea_orm::entity::prelude::*;

/// A technician on a survey plan, with the planned window (for overlap checks).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_plan_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub survey_plan_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub technician_id: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
