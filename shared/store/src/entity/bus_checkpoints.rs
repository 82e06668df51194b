use sea_orm::entity::prelude::*;

/// The last outbox event of a stream that every consumer group has handled.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bus_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub stream: String,
    pub outbox_id: i64,
    /// Consumer groups seen on the stream, comma-separated.
    #[sea_orm(column_type = "Text")]
    pub groups: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
