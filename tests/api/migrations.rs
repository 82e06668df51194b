//! The one migration set applies, rolls back and re-applies on SQLite and PostgreSQL.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;
use steelcare_store::Migrator;
use steelcare_tests::{backends, fresh_database};

const TABLES: [&str; 9] = [
    "cases",
    "audit_log",
    "outbox",
    "processed_events",
    "idempotency_keys",
    "bus_stream_entries",
    "bus_group_cursors",
    "bus_pending",
    "bus_queue_jobs",
];

async fn table_exists(db: &steelcare_store::Database, table: &str) -> bool {
    let backend = db.get_database_backend();
    db.query_one_raw(Statement::from_string(
        backend,
        format!("SELECT COUNT(*) AS n FROM {table}"),
    ))
    .await
    .is_ok()
}

#[tokio::test]
async fn migrations_apply_roll_back_and_reapply_on_every_database() {
    for backend in backends() {
        let fresh = fresh_database(&backend).await;
        let db = steelcare_store::connect(&fresh.url, 2).await.unwrap();
        assert!(!table_exists(&db, "cases").await);

        Migrator::up(&db, None).await.unwrap();
        for table in TABLES {
            assert!(
                table_exists(&db, table).await,
                "{}: {table}",
                backend.name()
            );
        }
        let applied = Migrator::get_applied_migrations(&db).await.unwrap();
        assert_eq!(applied.len(), Migrator::migrations().len());
        assert!(
            Migrator::get_pending_migrations(&db)
                .await
                .unwrap()
                .is_empty()
        );

        // Applying again is a no-op.
        Migrator::up(&db, None).await.unwrap();

        Migrator::down(&db, None).await.unwrap();
        for table in TABLES {
            assert!(
                !table_exists(&db, table).await,
                "{}: {table} left",
                backend.name()
            );
        }
        Migrator::up(&db, None).await.unwrap();
        assert!(table_exists(&db, "bus_queue_jobs").await);
    }
}

/// Five pods' init containers migrate one fresh PostgreSQL database at once (the first
/// rollout): each waits for the others, all succeed, and together they apply every migration
/// exactly once. (The embedded SQLite default is one process.)
#[tokio::test]
async fn concurrent_migrations_of_a_fresh_database_all_succeed() {
    for backend in backends() {
        if backend == steelcare_tests::Backend::Embedded {
            continue;
        }
        let fresh = fresh_database(&backend).await;
        let mut runs = Vec::new();
        for _ in 0..5 {
            let url = fresh.url.clone();
            runs.push(tokio::spawn(async move {
                let db = steelcare_store::connect(&url, 3).await?;
                steelcare_store::migrate(&db).await
            }));
        }
        let mut applied = 0;
        for run in runs {
            applied += run.await.unwrap().unwrap_or_else(|err| {
                panic!("{}: a concurrent migrate failed: {err}", backend.name())
            });
        }
        assert_eq!(applied, Migrator::migrations().len(), "{}", backend.name());
        let db = steelcare_store::connect(&fresh.url, 1).await.unwrap();
        assert_eq!(steelcare_store::migrate(&db).await.unwrap(), 0);
        assert_eq!(
            steelcare_store::schema_status(&db).await.unwrap(),
            steelcare_store::SchemaStatus::Current
        );
    }
}

/// Runs `sql` as the database role of `service`, in a transaction rolled back afterwards;
/// the rows it touched, or PostgreSQL's refusal.
async fn as_service(
    db: &steelcare_store::Database,
    service: &str,
    sql: &str,
) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::TransactionTrait;
    let tx = db.begin().await?;
    tx.execute_unprepared(&format!(
        "SET LOCAL ROLE {}",
        steelcare_store::roles::role(service)
    ))
    .await?;
    let done = tx.execute_unprepared(sql).await.map(|r| r.rows_affected());
    tx.rollback().await?;
    done
}

fn record(id: &str, kind: &str) -> String {
    format!(
        "INSERT INTO case_records (id, ticket_id, kind, version, status, body, created_by, \
         created_at, updated_at) VALUES ('{id}', 't-1', '{kind}', 1, 'recorded', '\\x00', 'x', \
         now(), now())"
    )
}

/// On PostgreSQL `steelcare migrate` gives each service's role exactly its tables: every
/// table of the schema has its owner (or is shared) in `roles`, so a table a migration adds
/// cannot be forgotten; a service writes its own tables and the shared ones, reads every
/// table, and is refused another's tables and another's kinds of case record.
#[tokio::test]
async fn each_service_role_writes_only_its_own_tables() {
    use steelcare_store::roles::{MIGRATIONS_TABLE, OWNED, SHARED};
    let Some(server) = steelcare_tests::postgres_url() else {
        return;
    };
    let fresh = steelcare_tests::fresh_postgres(&server).await;
    let db = steelcare_store::connect(&fresh.url, 2).await.unwrap();
    steelcare_store::migrate(&db).await.unwrap();
    // A second run grants again without error (every migrate applies the grants).
    steelcare_store::migrate(&db).await.unwrap();

    let mut listed: Vec<&str> = OWNED
        .iter()
        .flat_map(|(_, tables)| tables.iter().copied())
        .chain(SHARED.iter().copied())
        .collect();
    listed.sort_unstable();
    listed.dedup();
    let mut schema: Vec<String> = db
        .query_all_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .filter(|t| t != MIGRATIONS_TABLE)
        .collect();
    schema.sort_unstable();
    assert_eq!(
        schema, listed,
        "every table has an owner, every owner a table"
    );

    // Its own table, a shared one, and reading another's.
    let mine = "INSERT INTO customers (id, organization_name, contacts, created_at) \
                VALUES ('c-1', 'Acme', '[]', now())";
    assert_eq!(as_service(&db, "intake", mine).await.unwrap(), 1);
    let shared = "INSERT INTO idempotency_keys (scope, request_id, request_hash, resource_id, \
                  created_at) VALUES ('s', 'r', 'h', 'x', now())";
    assert_eq!(as_service(&db, "dispatch", shared).await.unwrap(), 1);
    assert_eq!(
        as_service(
            &db,
            "feedback",
            "SELECT 1 FROM tickets, assignments, archives"
        )
        .await
        .unwrap(),
        0
    );
    // Another's table.
    let err = as_service(&db, "feedback", mine).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let err = as_service(&db, "acceptance", "DELETE FROM technicians")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");

    // A day's acceptance-number sequence: intake may not create anything in the schema, so
    // it asks the migration's function, which only intake may call, and then counts on it.
    let day = "SELECT steelcare_acceptance_sequence('20991231'); \
               SELECT nextval('acceptance_20991231')";
    as_service(&db, "intake", day).await.unwrap();
    let err = as_service(&db, "intake", "CREATE SEQUENCE acceptance_20991230")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let err = as_service(&db, "dispatch", day).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let err = as_service(
        &db,
        "intake",
        "SELECT steelcare_acceptance_sequence('1 START 1; DROP TABLE tickets')",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("acceptance day key"), "{err}");

    // case_records: each service only its kinds.
    assert_eq!(
        as_service(&db, "acceptance", &record("r-1", "acceptance"))
            .await
            .unwrap(),
        1
    );
    let err = as_service(&db, "acceptance", &record("r-2", "completion"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    assert_eq!(
        as_service(&db, "repair", &record("r-3", "completion"))
            .await
            .unwrap(),
        1
    );
    let err = as_service(&db, "feedback", &record("r-4", "plan"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    // A row of another's kind is out of reach for a change, though readable.
    db.execute_unprepared(&record("r-5", "self_inspection"))
        .await
        .unwrap();
    let steal = "UPDATE case_records SET status = 'cleared' WHERE id = 'r-5'";
    assert_eq!(as_service(&db, "repair", steal).await.unwrap(), 0);
    assert_eq!(as_service(&db, "acceptance", steal).await.unwrap(), 1);
    assert_eq!(
        as_service(&db, "repair", "SELECT 1 FROM case_records WHERE id = 'r-5'")
            .await
            .unwrap(),
        1
    );
}
