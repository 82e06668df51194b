use sea_orm::entity::prelude::*;

/// A region a technician covers (lower-cased), for matching by the site's region.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "technician_regions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub technician_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub region: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
