use sea_orm::entity::prelude::*;

/// A copy of the experience base's search index (one per feedback process, named when its
/// index was created), and when it last said it was alive. Changes to a case are marked for
/// every copy listed here.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_replicas")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub seen_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
