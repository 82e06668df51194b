//! Archives (MISSION §7.3, DESIGN decision 6): `archives` holds one row per archived case with
//! its manifest, the manifest's SHA-256 and the previous archive's (a hash chain in `seq`
//! order); `archive_documents` holds each numbered document with its SHA-256, and its bytes
//! (rendered records) or the attachment it stands for (bytes in the attachment store). On both
//! databases a trigger refuses UPDATE and DELETE of either table, so no path of the
//! application can change an archive. The technicians' first-round acceptance counts feed the
//! first-time acceptance rate dispatch ranks on.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{drop_tables, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Archives {
    Table,
    ArchiveNumber,
    Seq,
    TicketId,
    Ending,
    Manifest,
    ManifestSha256,
    PreviousSha256,
    Completeness,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ArchiveDocuments {
    Table,
    ArchiveNumber,
    Sequence,
    Kind,
    Title,
    ContentType,
    SizeBytes,
    Sha256,
    Path,
    Body,
    AttachmentId,
}

#[derive(DeriveIden)]
enum Technicians {
    Table,
    FirstRoundCases,
    FirstRoundAccepted,
}

const IMMUTABLE: [&str; 2] = ["archives", "archive_documents"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Archives::Table)
                    .if_not_exists()
                    .col(string(Archives::ArchiveNumber).primary_key())
                    .col(big_integer(Archives::Seq).unique_key())
                    .col(string(Archives::TicketId).unique_key())
                    .col(string(Archives::Ending))
                    .col(text(Archives::Manifest))
                    .col(string(Archives::ManifestSha256))
                    .col(string_null(Archives::PreviousSha256))
                    .col(text(Archives::Completeness))
                    .col(string(Archives::CreatedBy))
                    .col(timestamp_with_time_zone(Archives::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ArchiveDocuments::Table)
                    .if_not_exists()
                    .col(string(ArchiveDocuments::ArchiveNumber))
                    .col(integer(ArchiveDocuments::Sequence))
                    .col(string(ArchiveDocuments::Kind))
                    .col(text(ArchiveDocuments::Title))
                    .col(string(ArchiveDocuments::ContentType))
                    .col(big_integer(ArchiveDocuments::SizeBytes))
                    .col(string(ArchiveDocuments::Sha256))
                    .col(string(ArchiveDocuments::Path))
                    .col(blob_null(ArchiveDocuments::Body))
                    .col(string_null(ArchiveDocuments::AttachmentId))
                    .primary_key(
                        Index::create()
                            .col(ArchiveDocuments::ArchiveNumber)
                            .col(ArchiveDocuments::Sequence),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_archives_seq",
                Archives::Table,
                vec![Archives::Seq.into_iden()],
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Technicians::Table)
                    .add_column(big_integer(Technicians::FirstRoundCases).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Technicians::Table)
                    .add_column(big_integer(Technicians::FirstRoundAccepted).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION steelcare_archive_immutable() RETURNS trigger \
                     AS $$ BEGIN RAISE EXCEPTION 'archives are immutable: % of % refused', \
                     TG_OP, TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
                )
                .await?;
                for table in IMMUTABLE {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION steelcare_archive_immutable()"
                    ))
                    .await?;
                }
            }
            _ => {
                for table in IMMUTABLE {
                    for op in ["UPDATE", "DELETE"] {
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {table}_no_{} BEFORE {op} ON {table} \
                             BEGIN SELECT RAISE(ABORT, 'archives are immutable: {op} of \
                             {table} refused'); END",
                            op.to_lowercase()
                        ))
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Technicians::FirstRoundAccepted,
            Technicians::FirstRoundCases,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Technicians::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        drop_tables(
            manager,
            vec![
                ArchiveDocuments::Table.into_iden(),
                Archives::Table.into_iden(),
            ],
        )
        .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS steelcare_archive_immutable()")
                .await?;
        }
        Ok(())
    }
}
