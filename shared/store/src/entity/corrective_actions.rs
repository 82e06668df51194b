use sea_orm::entity::prelude::*;

/// A corrective action: the encoded `feedback.v1.CorrectiveAction` in `body`, with the
/// columns its lists filter by (`due_date` as `YYYY-MM-DD`). `version` guards every change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "corrective_actions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub department: String,
    pub status: String,
    pub due_date: String,
    #[sea_orm(column_type = "Blob")]
    pub body: Vec<u8>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
