use sea_orm::entity::prelude::*;

/// A numbered document of an archive with its SHA-256: the bytes of a rendered record, or the
/// attachment it stands for. Never updated or deleted (a trigger refuses it).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "archive_documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub archive_number: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence: i32,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub path: String,
    #[sea_orm(column_type = "Blob", nullable)]
    pub body: Option<Vec<u8>>,
    pub attachment_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
