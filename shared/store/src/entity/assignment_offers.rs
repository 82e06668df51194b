use sea_orm::entity::prelude::*;

/// One offer of an assignment to a technician and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_offers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub assignment_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i32,
    pub technician_id: String,
    pub state: String,
    #[sea_orm(column_type = "Text")]
    pub ranking: String,
    pub manual: bool,
    pub offered_at_ms: i64,
    pub expires_at_ms: i64,
    pub responded_at_ms: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
