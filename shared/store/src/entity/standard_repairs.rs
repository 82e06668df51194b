use sea_orm::entity::prelude::*;

/// A case whose repair the office marked as the contractor's standard repair for its kind of
/// defect (its category and member type); similar cases show it first.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "standard_repairs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: String,
    #[sea_orm(column_type = "Text")]
    pub note: String,
    pub marked_by: String,
    pub marked_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
