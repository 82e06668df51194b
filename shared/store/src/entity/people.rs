use sea_orm::entity::prelude::*;

/// A person who uses SteelCare: their login, roles and, for the embedded default and
/// contractors without an identity provider, their password's Argon2id hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "people")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub login: String,
    pub display_name: String,
    pub phone: String,
    pub email: String,
    /// Role names, comma-separated.
    pub roles: String,
    pub organization_id: Option<String>,
    pub technician_id: Option<String>,
    pub locale: Option<String>,
    pub enabled: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub password_hash: Option<String>,
    pub password_changed_at_ms: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
