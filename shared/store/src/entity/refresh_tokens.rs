use sea_orm::entity::prelude::*;

/// A refresh token, by the SHA-256 of its value. Spent by its first use; the tokens of one
/// sign-in share a family, revoked together (logout, password change, disabling, or a spent
/// token used again).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub person_id: String,
    pub family_id: String,
    pub expires_at_ms: i64,
    pub spent_at_ms: Option<i64>,
    pub revoked: bool,
    pub created_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
