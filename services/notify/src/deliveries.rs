//! The deliveries table: one row per event, recipient and channel (unique together), written
//! before anything is sent. A sender claims due rows with one conditional update (the lease);
//! the outcome is written only while the claim is still its own (same attempt), so a sender
//! that lost its lease cannot overwrite a later one.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use steelcare_runtime::ApiError;
use steelcare_store::entity::notify_deliveries::{self, Column, Entity, Model};

use crate::engine::db_err;

/// Where a delivery stands, as stored.
pub mod state {
    /// Waiting to be sent.
    pub const PENDING: &str = "pending";
    /// Claimed by a sender.
    pub const SENDING: &str = "sending";
    /// Accepted by the channel (or, for the console, recorded).
    pub const SENT: &str = "sent";
    /// Failed for good: the dead-letter list.
    pub const DEAD: &str = "dead";
}

/// Rows per insert statement: a read of events can call for thousands of deliveries, and a
/// statement takes at most 65,535 parameters (23 a row).
const INSERT_CHUNK: usize = 1000;

/// Records `rows`; a row whose (event, recipient, channel) is stored already is left as it is.
pub async fn insert(
    conn: &impl ConnectionTrait,
    rows: Vec<notify_deliveries::ActiveModel>,
) -> Result<(), ApiError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
        Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([Column::EventId, Column::Recipient, Column::Channel])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Claims up to `limit` due deliveries of `channel` (pending and due, or claimed by a sender
/// whose lease ran out) until `lease_until_ms`, counting an attempt on each; answers them as
/// claimed.
pub async fn claim(
    conn: &impl ConnectionTrait,
    channel: &str,
    now_ms: i64,
    lease_until_ms: i64,
    limit: u32,
) -> Result<Vec<Model>, ApiError> {
    let backend = conn.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE notify_deliveries SET state = 'sending', attempts = attempts + 1, \
         lease_until_ms = $1 WHERE id IN (SELECT id FROM notify_deliveries \
         WHERE channel = $4 AND ((state = 'pending' AND next_attempt_ms <= $2) \
         OR (state = 'sending' AND lease_until_ms < $2)) \
         ORDER BY next_attempt_ms LIMIT $3{lock}) RETURNING *"
    );
    let sql = if backend == DbBackend::Sqlite {
        sql.replace('$', "?")
    } else {
        sql
    };
    Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            sql,
            [
                lease_until_ms.into(),
                now_ms.into(),
                i64::from(limit).into(),
                channel.into(),
            ],
        ))
        .all(conn)
        .await
        .map_err(db_err)
}

/// How a claimed delivery ended this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent.
    Sent,
    /// Try again at this time (ms).
    Retry { at_ms: i64, error: String },
    /// Dead.
    Dead { error: String },
}

/// Writes the outcome of the claim `attempt` of delivery `id`; answers whether the claim was
/// still this sender's.
pub async fn finish(
    conn: &impl ConnectionTrait,
    id: &str,
    attempt: i32,
    now_ms: i64,
    outcome: &Outcome,
) -> Result<bool, ApiError> {
    let update = Entity::update_many()
        .filter(Column::Id.eq(id))
        .filter(Column::State.eq(state::SENDING))
        .filter(Column::Attempts.eq(attempt));
    let update = match outcome {
        Outcome::Sent => update
            .col_expr(Column::State, Expr::value(state::SENT))
            .col_expr(Column::SentAtMs, Expr::value(now_ms))
            .col_expr(Column::LastError, Expr::value("")),
        Outcome::Retry { at_ms, error } => update
            .col_expr(Column::State, Expr::value(state::PENDING))
            .col_expr(Column::NextAttemptMs, Expr::value(*at_ms))
            .col_expr(Column::LastError, Expr::value(error.as_str())),
        Outcome::Dead { error } => update
            .col_expr(Column::State, Expr::value(state::DEAD))
            .col_expr(Column::LastError, Expr::value(error.as_str())),
    };
    let done = update.exec(conn).await.map_err(db_err)?;
    Ok(done.rows_affected == 1)
}

/// Marks sent, in one statement, the deliveries `ids` claimed at attempt `attempt` that are
/// still so claimed; answers how many were.
pub async fn finish_sent(
    conn: &impl ConnectionTrait,
    ids: &[String],
    attempt: i32,
    now_ms: i64,
) -> Result<u64, ApiError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let done = Entity::update_many()
        .col_expr(Column::State, Expr::value(state::SENT))
        .col_expr(Column::SentAtMs, Expr::value(now_ms))
        .col_expr(Column::LastError, Expr::value(""))
        .filter(Column::Id.is_in(ids.to_vec()))
        .filter(Column::State.eq(state::SENDING))
        .filter(Column::Attempts.eq(attempt))
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected)
}

/// A page of `recipient`'s console notifications after `before_id` (newest first).
pub async fn inbox(
    conn: &impl ConnectionTrait,
    recipient: &str,
    unread_only: bool,
    before_id: Option<&str>,
    limit: u64,
) -> Result<Vec<Model>, ApiError> {
    let mut query = Entity::find()
        .filter(Column::Recipient.eq(recipient))
        .filter(Column::Channel.eq(crate::channels::Kind::Console.as_str()));
    if unread_only {
        query = query.filter(Column::ReadAtMs.is_null());
    }
    newest_first(conn, query, before_id, limit).await
}

/// `recipient`'s console notifications newer than `after_id`, oldest first.
pub async fn inbox_after(
    conn: &impl ConnectionTrait,
    recipient: &str,
    after_id: &str,
) -> Result<Vec<Model>, ApiError> {
    Entity::find()
        .filter(Column::Recipient.eq(recipient))
        .filter(Column::Channel.eq(crate::channels::Kind::Console.as_str()))
        .filter(Column::Id.gt(after_id))
        .order_by_asc(Column::Id)
        .limit(200)
        .all(conn)
        .await
        .map_err(db_err)
}

/// How many of `recipient`'s console notifications are unread.
pub async fn unread(conn: &impl ConnectionTrait, recipient: &str) -> Result<i32, ApiError> {
    use sea_orm::PaginatorTrait;
    let n = Entity::find()
        .filter(Column::Recipient.eq(recipient))
        .filter(Column::Channel.eq(crate::channels::Kind::Console.as_str()))
        .filter(Column::ReadAtMs.is_null())
        .count(conn)
        .await
        .map_err(db_err)?;
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Marks `recipient`'s console notifications read: `ids`, or every one when `ids` is `None`.
/// Answers the ids among `ids` that are not theirs.
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    recipient: &str,
    ids: Option<&[String]>,
    now_ms: i64,
) -> Result<Vec<String>, ApiError> {
    let console = crate::channels::Kind::Console.as_str();
    let mine = |q: sea_orm::Select<Entity>| {
        q.filter(Column::Recipient.eq(recipient))
            .filter(Column::Channel.eq(console))
    };
    let mut missing = Vec::new();
    if let Some(ids) = ids {
        let found: Vec<String> = mine(Entity::find())
            .filter(Column::Id.is_in(ids.to_vec()))
            .select_only()
            .column(Column::Id)
            .into_tuple()
            .all(conn)
            .await
            .map_err(db_err)?;
        missing = ids
            .iter()
            .filter(|id| !found.contains(id))
            .cloned()
            .collect();
    }
    let mut update = Entity::update_many()
        .col_expr(Column::ReadAtMs, Expr::value(now_ms))
        .filter(Column::Recipient.eq(recipient))
        .filter(Column::Channel.eq(console))
        .filter(Column::ReadAtMs.is_null());
    if let Some(ids) = ids {
        update = update.filter(Column::Id.is_in(ids.to_vec()));
    }
    update.exec(conn).await.map_err(db_err)?;
    Ok(missing)
}

/// A page of deliveries (newest first), optionally in one state and of one event.
pub async fn list(
    conn: &impl ConnectionTrait,
    state: Option<&str>,
    event_id: Option<&str>,
    before_id: Option<&str>,
    limit: u64,
) -> Result<Vec<Model>, ApiError> {
    let mut query = Entity::find();
    if let Some(state) = state {
        query = query.filter(Column::State.eq(state));
    }
    if let Some(event) = event_id {
        query = query.filter(Column::EventId.eq(event));
    }
    newest_first(conn, query, before_id, limit).await
}

/// A page of `query`, newest first (ids are UUIDv7, in the order they were made), after
/// `before_id`.
async fn newest_first(
    conn: &impl ConnectionTrait,
    query: sea_orm::Select<Entity>,
    before_id: Option<&str>,
    limit: u64,
) -> Result<Vec<Model>, ApiError> {
    let query = match before_id {
        Some(before) => query.filter(Column::Id.lt(before)),
        None => query,
    };
    query
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(db_err)
}

/// One delivery.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Model>, ApiError> {
    Entity::find_by_id(id).one(conn).await.map_err(db_err)
}

/// Makes a dead delivery pending again, due now, its attempts counted afresh; answers
/// whether it was dead.
pub async fn revive(conn: &impl ConnectionTrait, id: &str, now_ms: i64) -> Result<bool, ApiError> {
    let done = Entity::update_many()
        .col_expr(Column::State, Expr::value(state::PENDING))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptMs, Expr::value(now_ms))
        .filter(Column::Id.eq(id))
        .filter(Column::State.eq(state::DEAD))
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected == 1)
}
