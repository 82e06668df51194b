use sea_orm::entity::prelude::*;

/// An event committed with the state change that caused it, waiting for the relay.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub event_id: String,
    pub stream: String,
    pub case_id: Option<String>,
    #[sea_orm(column_type = "Blob")]
    pub payload: Vec<u8>,
    pub created_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub attempts: i32,
    /// Place in the order of publication (set by the relay); `SubscribeEvents` cursors.
    pub seq: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
