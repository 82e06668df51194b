use sea_orm::entity::prelude::*;

/// A new case found to match an earlier case of the same project and location within that
/// case's return-visit horizon: a possible recurrence until an agent confirms or rejects it.
/// `reasons` is a JSON list of reason codes; `state` is `possible`, `confirmed` or `rejected`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "recurrence_flags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: String,
    pub original_id: String,
    pub score: f64,
    #[sea_orm(column_type = "Text")]
    pub reasons: String,
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at_ms: Option<i64>,
    pub flagged_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
