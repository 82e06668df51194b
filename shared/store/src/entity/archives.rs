use sea_orm::entity::prelude::*;

/// An archived case: its manifest, the manifest's SHA-256 and the previous archive's (the
/// chain, in `seq` order). Never updated or deleted (a trigger refuses it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "archives")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub archive_number: String,
    #[sea_orm(unique)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub ticket_id: String,
    pub ending: String,
    #[sea_orm(column_type = "Text")]
    pub manifest: String,
    pub manifest_sha256: String,
    pub previous_sha256: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub completeness: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
