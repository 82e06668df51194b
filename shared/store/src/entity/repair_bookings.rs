use sea_orm::entity::prelude::*;

/// A technician booked for repair work on a case, with the window (for clash checks).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "repair_bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub technician_id: String,
    pub ticket_id: String,
    pub record_id: String,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
