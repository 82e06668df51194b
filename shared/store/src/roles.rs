//! Who may write which table, on PostgreSQL: one database role per service
//! (`steelcare_intake`, `steelcare_dispatch`, …), each allowed to write only the tables its
//! service owns and the shared ones, and to read every table (the read models of a case, the
//! schema status). `case_records` is written by two services, each only its own kinds of
//! record: row-level security holds each role to its kinds.
//!
//! `steelcare migrate` applies this after the migrations, every time, in the same transaction:
//! a table a later migration adds must be listed here (a test compares the list with the
//! schema), and a change of owner takes effect at the next migrate. The roles are created
//! without LOGIN when missing (the migrating user needs CREATEROLE for that; otherwise create
//! them first); each Deployment then signs in as a login role that is a member of its
//! service's role (`CREATE ROLE intake_app LOGIN PASSWORD '…' IN ROLE steelcare_intake`). The
//! owner of the tables and superusers are not held by any of it, and neither is SQLite.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::case_records::kind;
use crate::migration::m20261204_000016_acceptance_sequence_function::FUNCTION as SEQUENCE_FUNCTION;

/// Each service and the tables only it writes.
pub const OWNED: &[(&str, &[&str])] = &[
    (
        "intake",
        &[
            "customers",
            "projects",
            "warranty_terms",
            "dossier_items",
            "trainings",
            "tickets",
            "attachments",
            "sla_clocks",
            "sla_pauses",
        ],
    ),
    (
        "dispatch",
        &[
            "technicians",
            "technician_regions",
            "assignments",
            "assignment_offers",
            "survey_plans",
            "survey_plan_members",
        ],
    ),
    ("repair", &["case_records", "repair_bookings"]),
    (
        "acceptance",
        &["case_records", "archives", "archive_documents"],
    ),
    (
        "feedback",
        &[
            "case_records",
            "return_visits",
            "visit_policies",
            "corrective_actions",
            "department_members",
            "case_facts",
            "case_fact_parties",
            "case_fact_staff",
            "facts_dirty",
            "search_replicas",
            "search_marks",
            "standard_repairs",
            "recurrence_flags",
        ],
    ),
    ("notify", &["notify_preferences", "notify_deliveries"]),
];

/// Tables every service writes through `shared/`: a case's lifecycle, the audit log, the
/// outbox and the keys that make calls and events happen once, the numbers, the embedded bus,
/// and the directory of people with their sign-ins (every deployment serves sign-in).
pub const SHARED: &[&str] = &[
    "cases",
    "audit_log",
    "people",
    "refresh_tokens",
    "login_failures",
    "outbox",
    "processed_events",
    "idempotency_keys",
    "acceptance_counters",
    "bus_stream_entries",
    "bus_group_cursors",
    "bus_pending",
    "bus_queue_jobs",
    "bus_leases",
    "bus_checkpoints",
];

/// The kinds of `case_records` each service writes.
pub const RECORD_KINDS: &[(&str, &[&str])] = &[
    (
        "repair",
        &[
            kind::REPORT,
            kind::PLAN,
            kind::REVIEW,
            kind::COMMUNICATION,
            kind::DECISION,
            kind::AGREEMENT,
            kind::PREPARED_AGREEMENT,
            kind::AMENDMENT,
            kind::WORK,
            kind::INSPECTION,
            kind::COMPLETION,
            kind::NO_REPAIR,
            kind::DISPUTE,
        ],
    ),
    ("acceptance", &[kind::SELF_INSPECTION, kind::ACCEPTANCE]),
    ("feedback", &[kind::SATISFACTION]),
];

/// The migrations' own bookkeeping, read by every service (the schema status) and written by
/// none.
pub const MIGRATIONS_TABLE: &str = "seaql_migrations";

/// The database role of `service`.
pub fn role(service: &str) -> String {
    format!("steelcare_{service}")
}

/// Creates the roles that are missing where the user may, and grants each role exactly what
/// its service may do in the current schema. Returns the roles that do not exist (and so were
/// granted nothing). PostgreSQL only; elsewhere nothing to do.
pub async fn apply(conn: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(Vec::new());
    }
    let mut present = Vec::new();
    let mut missing = Vec::new();
    for (service, _) in OWNED {
        let role = role(service);
        create_if_missing(conn, &role).await?;
        if exists(conn, &role).await? {
            present.push((*service, role));
        } else {
            missing.push(role);
        }
    }
    for (service, role) in &present {
        grant(conn, service, role).await?;
    }
    if let Some((_, intake)) = present.iter().find(|(s, _)| *s == "intake") {
        run(
            conn,
            format!("GRANT EXECUTE ON FUNCTION {SEQUENCE_FUNCTION}(text) TO {intake}"),
        )
        .await?;
    }
    restrict_record_kinds(conn, &present).await?;
    Ok(missing)
}

async fn run(conn: &impl ConnectionTrait, sql: String) -> Result<(), DbErr> {
    conn.execute_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .map(|_| ())
}

/// `CREATE ROLE … NOLOGIN` unless it exists; a concurrent migrate of another database
/// creating it first, or a user without CREATEROLE, is not an error here.
async fn create_if_missing(conn: &impl ConnectionTrait, role: &str) -> Result<(), DbErr> {
    run(
        conn,
        format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN \
                 CREATE ROLE {role} NOLOGIN; \
               END IF; \
             EXCEPTION \
               WHEN duplicate_object OR unique_violation THEN NULL; \
               WHEN insufficient_privilege THEN \
                 RAISE WARNING 'cannot create role {role}: create it, then migrate again'; \
             END $$"
        ),
    )
    .await
}

async fn exists(conn: &impl ConnectionTrait, role: &str) -> Result<bool, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT 1 FROM pg_roles WHERE rolname = $1",
            [role.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// Read everything, write the service's own tables and the shared ones, nothing else (what
/// an earlier migrate granted is taken back first, so an owner that changed loses its rights).
async fn grant(conn: &impl ConnectionTrait, service: &str, role: &str) -> Result<(), DbErr> {
    run(
        conn,
        format!(
            "DO $$ BEGIN \
               EXECUTE format('GRANT USAGE ON SCHEMA %I TO {role}', current_schema()); \
               EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER \
                               ON ALL TABLES IN SCHEMA %I FROM {role}', current_schema()); \
               EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO {role}', current_schema()); \
               EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO {role}', current_schema()); \
             END $$"
        ),
    )
    .await?;
    let own = OWNED
        .iter()
        .filter(|(owner, _)| *owner == service)
        .flat_map(|(_, tables)| tables.iter());
    let tables: Vec<&str> = own.chain(SHARED.iter()).copied().collect();
    run(
        conn,
        format!(
            "GRANT INSERT, UPDATE, DELETE ON {} TO {role}",
            tables.join(", ")
        ),
    )
    .await
}

/// Row-level security on `case_records`: everyone reads every row; a service role inserts,
/// changes and deletes only rows of its own kinds.
async fn restrict_record_kinds(
    conn: &impl ConnectionTrait,
    present: &[(&str, String)],
) -> Result<(), DbErr> {
    run(
        conn,
        "ALTER TABLE case_records ENABLE ROW LEVEL SECURITY".into(),
    )
    .await?;
    run(
        conn,
        "DROP POLICY IF EXISTS case_records_read ON case_records".into(),
    )
    .await?;
    run(
        conn,
        "CREATE POLICY case_records_read ON case_records FOR SELECT USING (true)".into(),
    )
    .await?;
    for (service, kinds) in RECORD_KINDS {
        let policy = format!("case_records_{service}");
        run(
            conn,
            format!("DROP POLICY IF EXISTS {policy} ON case_records"),
        )
        .await?;
        let Some((_, role)) = present.iter().find(|(s, _)| s == service) else {
            continue;
        };
        let kinds = kinds
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ");
        run(
            conn,
            format!(
                "CREATE POLICY {policy} ON case_records FOR ALL TO {role} \
                 USING (kind IN ({kinds})) WITH CHECK (kind IN ({kinds}))"
            ),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_kind_has_one_writer_that_owns_the_table() {
        let mut seen = std::collections::HashSet::new();
        for (service, kinds) in RECORD_KINDS {
            let owns = OWNED
                .iter()
                .any(|(s, tables)| s == service && tables.contains(&"case_records"));
            assert!(
                owns,
                "{service} writes records but does not own case_records"
            );
            for k in *kinds {
                assert!(seen.insert(*k), "kind {k} has two writers");
            }
        }
        assert_eq!(seen.len(), 16, "every kind of record has its writer");
    }

    #[test]
    fn a_table_has_one_owner_unless_split_by_kind() {
        let mut owners = std::collections::HashMap::new();
        for (service, tables) in OWNED {
            for table in *tables {
                assert!(!SHARED.contains(table), "{table} is both shared and owned");
                owners.entry(*table).or_insert_with(Vec::new).push(*service);
            }
        }
        for (table, services) in owners {
            assert!(
                services.len() == 1 || table == "case_records",
                "{table} is owned by {services:?}"
            );
        }
    }
}
