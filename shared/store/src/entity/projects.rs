use sea_orm::entity::prelude::*;

/// A handed-over project of a customer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub customer_id: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub address: String,
    #[sea_orm(unique)]
    pub contract_number: String,
    pub structure_type: String,
    pub completion_date: String,
    pub design_life_years: i32,
    #[sea_orm(column_type = "Text")]
    pub technical_lead: String,
    #[sea_orm(column_type = "Text")]
    pub designer: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Its warranty terms (read with the project in one query when a ticket is taken).
    #[sea_orm(has_many = "super::warranty_terms::Entity")]
    WarrantyTerms,
}

impl Related<super::warranty_terms::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::WarrantyTerms.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
