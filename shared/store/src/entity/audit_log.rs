use sea_orm::entity::prelude::*;

/// One audited mutation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub subject: String,
    pub roles: String,
    pub organization_id: Option<String>,
    pub display_name: Option<String>,
    pub rpc: String,
    pub entity_type: String,
    pub entity_id: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub before_summary: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub after_summary: String,
    pub trace_id: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
