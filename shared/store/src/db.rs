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
        // The pool pings a connection when it comes back (sqlx always does), so one that was
        // used a moment ago is known to be alive: pinging it again on the way out would add a
        // round trip to every statement. One that sat idle (the server may have restarted
        // meanwhile) is pinged before it is handed out.
        .test_before_acquire_if_idle_for(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    if loopback_without_sslmode(url) {
        // TLS to a server on this machine protects nothing and costs every statement; a URL
        // that names an sslmode keeps it.
        options.map_sqlx_postgres_opts(|opts| {
            opts.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable)
        });
    }
    sea_orm::Database::connect(options).await
}

/// A PostgreSQL URL for a server on loopback that does not choose an `sslmode`.
fn loopback_without_sslmode(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return false;
    };
    if rest.contains("sslmode=") {
        return false;
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

/// Executes `statement`, if any.
pub async fn execute_all(
    conn: &impl sea_orm::ConnectionTrait,
    statement: Option<sea_orm::Statement>,
) -> Result<(), crate::StoreError> {
    if let Some(statement) = statement {
        conn.execute_raw(statement).await?;
    }
    Ok(())
}

/// Writes `statements` (PostgreSQL inserts) as one statement: each becomes a data-modifying
/// `WITH` query, which PostgreSQL runs to completion whether or not it is read, all in one
/// implicit transaction. One round trip instead of `BEGIN`, one per insert and `COMMIT`.
/// Their placeholders are renumbered after the ones before.
pub fn one_statement(statements: Vec<sea_orm::Statement>) -> sea_orm::Statement {
    let mut sql = String::from("WITH ");
    let mut values = Vec::new();
    for (i, statement) in statements.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("w{i} AS ("));
        renumber(&statement.sql, values.len(), &mut sql);
        sql.push(')');
        if let Some(v) = statement.values {
            values.extend(v.0);
        }
    }
    sql.push_str(" SELECT 1");
    sea_orm::Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Appends `sql` to `out` with every `$n` placeholder moved up by `offset`.
fn renumber(sql: &str, offset: usize, out: &mut String) {
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
            digits.push(d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&format!("${}", n + offset)),
            Err(_) => {
                out.push('$');
                out.push_str(&digits);
            }
        }
    }
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

/// Begins a write transaction that holds `key` until it ends: on PostgreSQL a transaction-level
/// advisory lock, so two writers of the same kind (say, two imports of a customer sheet) run one
/// after the other and the second sees what the first wrote; SQLite's write transactions are one
/// at a time already.
pub async fn begin_write_alone(db: &Database, key: i64) -> Result<DatabaseTransaction, DbErr> {
    use sea_orm::ConnectionTrait;
    let tx = begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [key.into()],
        ))
        .await?;
    }
    Ok(tx)
}

/// A PostgreSQL array literal of `items`, each quoted (`"` and `\` escaped), to bind as one
/// parameter cast to an array type: the statement's text is then the same however many items
/// there are, so it is prepared once per connection and planned once.
pub fn pg_array<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let quoted: Vec<String> = (items.into_iter())
        .map(|item| {
            let text = item.to_string().replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{text}\"")
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// A mark read from a table of marks (`facts_dirty`, `search_marks`): the case it marks, when it
/// was set, and on PostgreSQL where that version of its row lies (`ctid`, read with
/// [`mark_place`]), so that clearing it finds the row without a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The marked case.
    pub key: String,
    /// When it was marked (ms); a newer mark of the same case is not cleared.
    pub at: i64,
    /// The row version's `ctid` on PostgreSQL; none elsewhere.
    pub place: Option<String>,
}

/// For the rest of transaction `tx`, on PostgreSQL: rows are found by where they lie (TID) or
/// by an index condition, never by reading a whole table or index. A table of marks, written
/// and emptied all the time, keeps statistics from when it was nearly empty while it holds
/// thousands of row versions, live and dead: the planner then takes reading all of it for the
/// cheapest way to clear a hundred marks, and did (8–160 ms a pass in a burst, where the TID
/// scan of [`marks_among`] takes well under one). The plans' costs go out of range of what
/// JIT compilation is for, so it is off too. Nothing elsewhere.
pub async fn find_by_place(tx: &DatabaseTransaction) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_unprepared(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; SET LOCAL jit = off",
        )
        .await?;
    }
    Ok(())
}

impl From<(String, i64, Option<String>)> for Mark {
    fn from((key, at, place): (String, i64, Option<String>)) -> Self {
        Mark { key, at, place }
    }
}

/// The column to read with a mark's key and time: where its row version lies on PostgreSQL
/// (`ctid` as text), NULL elsewhere.
pub fn mark_place(backend: DbBackend) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::Expr;
    if backend == DbBackend::Postgres {
        Expr::cust("ctid::text")
    } else {
        Expr::cust("NULL")
    }
}

/// The rows of marks still as they were read (`key` and `at`, text and bigint, hold one of
/// `marks`; a mark set again since stays), such as the marks a pass read and now clears.
///
/// On PostgreSQL the rows are found by where they were read (`ctid = ANY(...)`, a TID scan,
/// which [`find_by_place`] makes the planner take) and then checked against the pairs, all as
/// three array parameters, so the statement's text is one whatever their number. A row set
/// again since it was read has moved, and is left for the next pass. Elsewhere the pairs go as
/// an `OR`, which SQLite answers from the key's index.
pub fn marks_among(
    backend: DbBackend,
    key: &str,
    at: &str,
    marks: &[Mark],
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait};
    if backend == DbBackend::Postgres {
        return Expr::cust_with_values(
            format!(
                "ctid = ANY(CAST($1 AS TID[])) AND (\"{key}\", \"{at}\") IN (SELECT * FROM UNNEST(CAST($2 AS TEXT[]), CAST($3 AS BIGINT[])))"
            ),
            [
                pg_array(marks.iter().filter_map(|m| m.place.as_deref())),
                pg_array(marks.iter().map(|m| &m.key)),
                pg_array(marks.iter().map(|m| m.at)),
            ],
        );
    }
    let mut any = Condition::any();
    for m in marks {
        any = any.add(
            Expr::col(Alias::new(key))
                .eq(m.key.as_str())
                .and(Expr::col(Alias::new(at)).eq(m.at)),
        );
    }
    any.into()
}

#[cfg(test)]
mod tests {
    use super::{pg_array, sqlite_file_path};

    #[test]
    fn array_literals_quote_every_item() {
        assert_eq!(pg_array([3i64, 14]), r#"{"3","14"}"#);
        assert_eq!(
            pg_array(["a,b", r#"say "hi"\"#]),
            r#"{"a,b","say \"hi\"\\"}"#
        );
        assert_eq!(pg_array(Vec::<String>::new()), "{}");
    }

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

#[cfg(test)]
mod loopback_tests {
    use super::{loopback_without_sslmode, one_statement};
    use sea_orm::DbBackend;

    #[test]
    fn inserts_become_one_statement_with_their_placeholders_in_order() {
        let a = sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO a (x, y) VALUES ($1, $2)",
            [1i64.into(), 2i64.into()],
        );
        let b = sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO b (z) VALUES ($1), ($2), ($3)",
            [3i64.into(), 4i64.into(), 5i64.into()],
        );
        let one = one_statement(vec![a, b]);
        assert_eq!(
            one.sql,
            "WITH w0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), \
             w1 AS (INSERT INTO b (z) VALUES ($3), ($4), ($5)) SELECT 1"
        );
        assert_eq!(one.values.map(|v| v.0.len()), Some(5));
    }

    #[test]
    fn tls_is_left_out_only_on_loopback_without_a_chosen_sslmode() {
        assert!(loopback_without_sslmode(
            "postgres://app:pw@127.0.0.1:5432/db"
        ));
        assert!(loopback_without_sslmode(
            "postgresql://localhost/db?application_name=x"
        ));
        assert!(loopback_without_sslmode("postgres://u@[::1]:5432/db"));
        assert!(!loopback_without_sslmode(
            "postgres://u@127.0.0.1/db?sslmode=require"
        ));
        assert!(!loopback_without_sslmode(
            "postgres://u@db.internal:5432/db"
        ));
        assert!(!loopback_without_sslmode(
            "postgres://u:127.0.0.1@db:5432/x"
        ));
        assert!(!loopback_without_sslmode("sqlite://data/steelcare.db"));
    }
}
