use sea_orm::entity::prelude::*;

/// One message to one recipient on one channel because of one event (unique together): its
/// text as rendered in the recipient's language, and where its sending stands.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notify_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_id: String,
    pub recipient: String,
    pub channel: String,
    pub topic: String,
    pub case_id: Option<String>,
    pub address: String,
    pub locale: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    #[sea_orm(column_type = "Text")]
    pub params: String,
    pub urgent: bool,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_ms: i64,
    pub lease_until_ms: i64,
    #[sea_orm(column_type = "Text")]
    pub last_error: String,
    pub traceparent: String,
    pub tracestate: String,
    pub event_time_ms: i64,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    pub read_at_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
