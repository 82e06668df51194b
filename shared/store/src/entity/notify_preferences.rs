use sea_orm::entity::prelude::*;

/// A recipient's notification preferences: channels (a JSON list of names), language, quiet
/// hours (local HH:MM) and whether they opted out of everything the contract does not require.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notify_preferences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub recipient: String,
    pub channels: String,
    pub locale: Option<String>,
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub opted_out: bool,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
