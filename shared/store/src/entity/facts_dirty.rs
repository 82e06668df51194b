use sea_orm::entity::prelude::*;

/// A case whose analytics facts are stale: an event changed what the figures know of it. The
/// feedback service's facts worker rebuilds each once per burst of its events, then removes
/// the mark (only if it was not marked again meanwhile).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facts_dirty")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: String,
    pub marked_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
