use sea_orm::entity::prelude::*;

/// A return visit: the encoded `feedback.v1.Visit` in `body`, with the columns the call
/// lists filter by. `version` guards every change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "return_visits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub ticket_id: String,
    pub customer_id: Option<String>,
    pub sequence: i32,
    pub due_at_ms: i64,
    pub agent_id: String,
    pub team: String,
    pub status: String,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
