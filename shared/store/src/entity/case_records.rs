use sea_orm::entity::prelude::*;

/// A record of a case's process (report version, plan version, review, communication,
/// decision, agreement, amendment, work-log entry, inspection, completion, dispute,
/// self-inspection, customer acceptance): the encoded protobuf message in `body`, with the
/// columns queries need.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub ticket_id: String,
    pub kind: String,
    pub version: i32,
    pub step_id: Option<String>,
    pub status: String,
    #[sea_orm(unique)]
    pub slot: Option<String>,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub due_at_ms: Option<i64>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
