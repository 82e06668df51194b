use sea_orm::entity::prelude::*;

/// One SLA clock of a ticket; instants in ms since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_clocks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    pub mode: String,
    pub limit_ms: i64,
    pub started_at_ms: i64,
    pub deadline_at_ms: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub thresholds_ms: String,
    pub alerts_fired: i32,
    pub next_alert_at_ms: Option<i64>,
    pub status: String,
    pub stopped_at_ms: Option<i64>,
    pub breached_at_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
