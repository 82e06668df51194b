use sea_orm::entity::prelude::*;

/// A ticket: what intake knows of a case (its lifecycle state is in `cases`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub acceptance_number: String,
    pub channel: String,
    pub customer_id: String,
    pub project_id: String,
    #[sea_orm(column_type = "Text")]
    pub reporter: String,
    #[sea_orm(column_type = "Text")]
    pub location: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(column_type = "Text")]
    pub customer_request: String,
    pub category: String,
    pub tier: String,
    #[sea_orm(column_type = "Text")]
    pub suggestion: String,
    #[sea_orm(column_type = "Text")]
    pub warranty: String,
    #[sea_orm(column_type = "Text")]
    pub reply: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub readback_text: Option<String>,
    pub readback_confirmed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub first_response_text: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub closing_text: Option<String>,
    pub sla_status: String,
    pub related_case_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
