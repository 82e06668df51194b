use sea_orm::entity::prelude::*;

/// A message delivered to a consumer of a group and not acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bus_pending")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub stream: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub group_name: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: i64,
    pub consumer: String,
    pub delivered_at_ms: i64,
    pub delivery_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
