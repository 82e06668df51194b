use sea_orm::entity::prelude::*;

/// A case one copy of the search index must index again: written with the change, removed by
/// that copy once its index holds the change (only if it was not marked again meanwhile).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_marks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub replica_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: String,
    pub marked_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
