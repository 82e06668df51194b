//! On PostgreSQL, the function that creates a day's acceptance-number sequence
//! (`acceptance_YYYYMMDD`) for the intake service. Intake runs as a role that may not create
//! anything in the schema (`roles`), so the function runs as its owner (SECURITY DEFINER, with
//! the schema fixed as its search path), accepts only a day key of digits, and grants the new
//! sequence to intake's role. `steelcare migrate` lets only intake's role execute it. Nothing
//! on SQLite, where the numbers count in `acceptance_counters`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The function's name, called by intake.
pub const FUNCTION: &str = "steelcare_acceptance_sequence";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        // Only the call that creates the sequence grants it: two grants on one sequence at
        // once would fail ("tuple concurrently updated"), and a loser of the creation race
        // returns as soon as the winner has committed.
        db.execute_unprepared(&format!(
            "CREATE OR REPLACE FUNCTION {FUNCTION}(day text) RETURNS void \
             LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$ \
             DECLARE seq text := 'acceptance_' || day; \
             BEGIN \
               IF day !~ '^[0-9]+$' THEN \
                 RAISE EXCEPTION 'acceptance day key %', day USING ERRCODE = 'invalid_parameter_value'; \
               END IF; \
               IF to_regclass(quote_ident(seq)) IS NOT NULL THEN RETURN; END IF; \
               BEGIN \
                 EXECUTE format('CREATE SEQUENCE %I START 1', seq); \
               EXCEPTION WHEN duplicate_table OR unique_violation THEN RETURN; \
               END; \
               IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'steelcare_intake') THEN \
                 EXECUTE format('GRANT USAGE ON SEQUENCE %I TO steelcare_intake', seq); \
               END IF; \
             END $$"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "REVOKE ALL ON FUNCTION {FUNCTION}(text) FROM PUBLIC"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP FUNCTION IF EXISTS {FUNCTION}(text)"))
            .await?;
        Ok(())
    }
}
