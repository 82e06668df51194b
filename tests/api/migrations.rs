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
