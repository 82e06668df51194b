use sea_orm::entity::prelude::*;

/// The dispatch of one case that needs a site visit: waiting in the queue, offered to a
/// technician, confirmed, arrived, completed or withdrawn. Instants in ms since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub ticket_id: String,
    pub category: String,
    pub tier: String,
    pub arrival_deadline_ms: Option<i64>,
    pub score: i64,
    #[sea_orm(column_type = "Text")]
    pub site: String,
    pub state: String,
    pub technician_id: Option<String>,
    pub offer_expires_at_ms: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub ranking: Option<String>,
    pub manual: bool,
    pub arrived_at_ms: Option<i64>,
    #[sea_orm(column_type = "Text", nullable)]
    pub arrival_position: Option<String>,
    pub arrival_met: Option<bool>,
    pub escalations: i32,
    pub retry_at_ms: Option<i64>,
    #[sea_orm(column_type = "Text")]
    pub excluded: String,
    /// The `traceparent` of the event that created it (the worker continues that trace).
    pub trace_context: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
