//! Connecting to SQLite or PostgreSQL, and starting write transactions that behave the same on
//! both.

use std::time::Duration;

use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// The database handle every repository function is given.
pub type Database = DatabaseConnection;

/// Connects to `url` (`sqlite://PATH?mode=rwc` or `postgres://...`).
///
/// SQLite: the file's directory is created, the journal is WAL (readers never block the
/// writer) and a busy writer is waited for up to 10 s.
pub async fn connect(url: &str, max_connections: u32) -> Result<Database, DbErr> {
    if let Some(path) = sqlite_file_path(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|err| {
            DbErr::Custom(format!("cannot create directory {}: {err}", dir.display()))
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(8))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    sea_orm::Database::connect(options).await
}

/// The file behind a `sqlite://` URL, when it names one (not `:memory:`).
pub fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        None
    } else {
        Some(path.to_owned())
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of failing when
/// both try to upgrade a read lock; on PostgreSQL it is a plain `BEGIN`.
pub async fn begin_write(db: &Database) -> Result<DatabaseTransaction, DbErr> {
    let options = if db.get_database_backend() == DbBackend::Sqlite {
        TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        }
    } else {
        TransactionOptions::default()
    };
    db.begin_with_options(options).await
}

#[cfg(test)]
mod tests {
    use super::sqlite_file_path;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file_path("sqlite://./data/steelcare.db?mode=rwc").as_deref(),
            Some("./data/steelcare.db")
        );
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
        assert_eq!(sqlite_file_path("postgres://localhost/x"), None);
    }
}
