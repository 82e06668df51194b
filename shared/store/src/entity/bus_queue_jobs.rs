use sea_orm::entity::prelude::*;

/// A job of an embedded dispatch queue, ordered by `score`, leased while a worker holds it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bus_queue_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub queue: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: String,
    #[sea_orm(column_type = "Blob")]
    pub payload: Vec<u8>,
    pub score: i64,
    pub lease_token: Option<String>,
    pub lease_until_ms: Option<i64>,
    pub attempts: i32,
    pub enqueued_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
