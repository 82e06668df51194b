//! The people who use SteelCare (`people`), their sign-ins (`refresh_tokens`, each stored as
//! the SHA-256 of the token, never the token) and the failed sign-ins that throttle guessing
//! (`login_failures`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum People {
    Table,
    Id,
    Login,
    DisplayName,
    Phone,
    Email,
    Roles,
    OrganizationId,
    TechnicianId,
    Locale,
    Enabled,
    PasswordHash,
    PasswordChangedAtMs,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    PersonId,
    FamilyId,
    ExpiresAtMs,
    SpentAtMs,
    Revoked,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Key,
    Failures,
    WindowStartedMs,
    LockedUntilMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(People::Table)
                    .col(string(People::Id).primary_key())
                    .col(string_uniq(People::Login))
                    .col(string(People::DisplayName))
                    .col(string(People::Phone))
                    .col(string(People::Email))
                    .col(string(People::Roles))
                    .col(string_null(People::OrganizationId))
                    .col(string_null(People::TechnicianId))
                    .col(string_null(People::Locale))
                    .col(boolean(People::Enabled))
                    .col(text_null(People::PasswordHash))
                    .col(big_integer(People::PasswordChangedAtMs))
                    .col(timestamp_with_time_zone(People::CreatedAt))
                    .col(timestamp_with_time_zone(People::UpdatedAt))
                    .col(big_integer(People::Version))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(string(RefreshTokens::TokenHash).primary_key())
                    .col(string(RefreshTokens::PersonId))
                    .col(string(RefreshTokens::FamilyId))
                    .col(big_integer(RefreshTokens::ExpiresAtMs))
                    .col(big_integer_null(RefreshTokens::SpentAtMs))
                    .col(boolean(RefreshTokens::Revoked))
                    .col(big_integer(RefreshTokens::CreatedAtMs))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_refresh_tokens_person", RefreshTokens::PersonId),
            ("idx_refresh_tokens_family", RefreshTokens::FamilyId),
        ] {
            manager
                .create_index(super::index(
                    name,
                    RefreshTokens::Table,
                    vec![column.into_iden()],
                ))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .col(string(LoginFailures::Key).primary_key())
                    .col(integer(LoginFailures::Failures))
                    .col(big_integer(LoginFailures::WindowStartedMs))
                    .col(big_integer_null(LoginFailures::LockedUntilMs))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            LoginFailures::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            People::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
