use sea_orm::entity::prelude::*;

/// A case's share borne by one responsible party (a case's shares sum to 1).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "case_fact_parties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub party: String,
    pub share: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
