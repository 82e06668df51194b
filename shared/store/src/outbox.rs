//! The transactional outbox (DESIGN.md decision 3): an event is written in the same
//! transaction as the state change that caused it; a relay publishes it later and marks it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func, OnConflict},
};

use crate::StoreError;
use crate::entity::bus_checkpoints;
use crate::entity::outbox::{self, Column};

/// An event to publish.
#[derive(Debug, Clone)]
pub struct NewOutboxEvent {
    /// Unique event id (UUIDv7).
    pub event_id: String,
    /// Stream to publish to, e.g. "events".
    pub stream: String,
    /// Case it belongs to.
    pub case_id: Option<String>,
    /// Encoded `steelcare.events.v1.EventEnvelope`.
    pub payload: Vec<u8>,
}

/// Appends an event, inside the caller's transaction.
pub async fn append(
    conn: &impl ConnectionTrait,
    event: NewOutboxEvent,
) -> Result<outbox::Model, StoreError> {
    let model = outbox::ActiveModel {
        event_id: Set(event.event_id),
        stream: Set(event.stream),
        case_id: Set(event.case_id),
        payload: Set(event.payload),
        created_at: Set(Utc::now()),
        published_at: Set(None),
        attempts: Set(0),
        ..Default::default()
    };
    Ok(model.insert(conn).await?)
}

/// Appends several events in one statement, in order, inside the caller's transaction.
pub async fn append_all(
    conn: &impl ConnectionTrait,
    events: Vec<NewOutboxEvent>,
) -> Result<(), StoreError> {
    crate::db::execute_all(
        conn,
        append_all_statement(conn.get_database_backend(), events),
    )
    .await
}

/// The statement of [`append_all`] (`None` for no events).
pub fn append_all_statement(
    backend: sea_orm::DbBackend,
    events: Vec<NewOutboxEvent>,
) -> Option<sea_orm::Statement> {
    use sea_orm::QueryTrait;
    if events.is_empty() {
        return None;
    }
    let now = Utc::now();
    Some(
        outbox::Entity::insert_many(events.into_iter().map(|event| outbox::ActiveModel {
            event_id: Set(event.event_id),
            stream: Set(event.stream),
            case_id: Set(event.case_id),
            payload: Set(event.payload),
            created_at: Set(now),
            published_at: Set(None),
            attempts: Set(0),
            ..Default::default()
        }))
        .build(backend),
    )
}

/// The oldest unpublished events, in commit order of their ids.
pub async fn unpublished(
    conn: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<outbox::Model>, StoreError> {
    Ok(outbox::Entity::find()
        .filter(Column::PublishedAt.is_null())
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Marks events as published and gives each, in id order, its place in the sequence of
/// publication (`seq`), above every place given before; an event published again (after the
/// stream lost its data) keeps its place. Only the relay holding the lease calls this; should
/// two overlap, the unique index on `seq` fails one of them rather than give a place twice.
pub async fn mark_published(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<(), StoreError> {
    let Some(first) = ids.iter().copied().min() else {
        return Ok(());
    };
    let backend = conn.get_database_backend();
    outbox::Entity::update_many()
        .col_expr(Column::PublishedAt, Expr::value(Utc::now()))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        // `first` is bound, not written into the text: the statement is prepared once per
        // connection (a new text each pass cost PostgreSQL a parse and a round trip).
        .col_expr(
            Column::Seq,
            Func::coalesce([
                Expr::col(Column::Seq),
                Expr::cust("(SELECT COALESCE(MAX(o.seq), 0) FROM outbox o)")
                    .add(Expr::col(Column::Id))
                    .sub(first)
                    .add(1),
            ])
            .into(),
        )
        .filter(ids_among(backend, ids))
        .exec(conn)
        .await?;
    Ok(())
}

/// `id` is one of `ids`. On PostgreSQL one array parameter, so the statement's text is the same
/// however many there are and stays prepared; SQLite prepares in-process and takes a list.
fn ids_among(backend: sea_orm::DbBackend, ids: &[i64]) -> sea_orm::sea_query::SimpleExpr {
    if backend != sea_orm::DbBackend::Postgres {
        return Column::Id.is_in(ids.iter().copied());
    }
    Expr::cust_with_values("id = ANY(CAST($1 AS BIGINT[]))", [crate::db::pg_array(ids)])
}

/// Counts a failed publish attempt.
pub async fn record_failed_attempt(conn: &impl ConnectionTrait, id: i64) -> Result<(), StoreError> {
    outbox::Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The outbox id of an event.
pub async fn id_of_event(
    conn: &impl ConnectionTrait,
    event_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(outbox::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::EventId.eq(event_id))
        .into_tuple()
        .one(conn)
        .await?)
}

/// The checkpoint of `stream`: the last outbox id every consumer group has handled, and the
/// groups seen so far.
pub async fn checkpoint(
    conn: &impl ConnectionTrait,
    stream: &str,
) -> Result<(i64, Vec<String>), StoreError> {
    let row = bus_checkpoints::Entity::find_by_id(stream.to_owned())
        .one(conn)
        .await?;
    Ok(row.map_or((0, Vec::new()), |r| {
        (
            r.outbox_id,
            r.groups
                .split(',')
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }))
}

/// Moves the checkpoint of `stream` forward to `outbox_id` (never back) and records `groups`.
pub async fn advance_checkpoint(
    conn: &impl ConnectionTrait,
    stream: &str,
    outbox_id: i64,
    groups: &[String],
) -> Result<(), StoreError> {
    let groups = groups.join(",");
    bus_checkpoints::Entity::insert(bus_checkpoints::ActiveModel {
        stream: Set(stream.to_owned()),
        outbox_id: Set(0),
        groups: Set(String::new()),
    })
    .on_conflict(
        OnConflict::column(bus_checkpoints::Column::Stream)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    bus_checkpoints::Entity::update_many()
        .col_expr(bus_checkpoints::Column::Groups, Expr::value(groups))
        .filter(bus_checkpoints::Column::Stream.eq(stream))
        .exec(conn)
        .await?;
    // Only forward: a conditional update, the same SQL on both databases.
    bus_checkpoints::Entity::update_many()
        .col_expr(bus_checkpoints::Column::OutboxId, Expr::value(outbox_id))
        .filter(bus_checkpoints::Column::Stream.eq(stream))
        .filter(bus_checkpoints::Column::OutboxId.lt(outbox_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks every event of `stream` after `outbox_id` unpublished again, so the relay publishes
/// it once more (after the stream lost its data); returns how many.
pub async fn republish_after(
    conn: &impl ConnectionTrait,
    stream: &str,
    outbox_id: i64,
) -> Result<u64, StoreError> {
    let result = outbox::Entity::update_many()
        .col_expr(
            Column::PublishedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::Stream.eq(stream))
        .filter(Column::Id.gt(outbox_id))
        .filter(Column::PublishedAt.is_not_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// What a reader of the published events wants.
#[derive(Debug, Clone, Default)]
pub struct PublishedFilter {
    /// Only events of this case.
    pub case_id: Option<String>,
    /// Only events of cases of this customer organisation (events outside a case have none).
    pub organization_id: Option<String>,
}

/// One published event: its place in the sequence of publication and its envelope.
#[derive(Debug, Clone)]
pub struct PublishedEvent {
    /// Place (see [`mark_published`]).
    pub seq: i64,
    /// Encoded `steelcare.events.v1.EventEnvelope`.
    pub payload: Vec<u8>,
}

/// Up to `limit` events of `stream` published after place `after`, in order of publication.
pub async fn published_after(
    conn: &impl ConnectionTrait,
    stream: &str,
    after: i64,
    filter: &PublishedFilter,
    limit: u64,
) -> Result<Vec<PublishedEvent>, StoreError> {
    use crate::entity::cases;
    use sea_orm::sea_query::Query;
    let mut query = outbox::Entity::find()
        .select_only()
        .column(Column::Seq)
        .column(Column::Payload)
        .filter(Column::Stream.eq(stream))
        .filter(Column::Seq.gt(after))
        .order_by_asc(Column::Seq)
        .limit(limit);
    if let Some(case_id) = &filter.case_id {
        query = query.filter(Column::CaseId.eq(case_id.as_str()));
    }
    if let Some(organization_id) = &filter.organization_id {
        query = query.filter(
            Column::CaseId.in_subquery(
                Query::select()
                    .column(cases::Column::Id)
                    .from(cases::Entity)
                    .and_where(cases::Column::OrganizationId.eq(organization_id.as_str()))
                    .to_owned(),
            ),
        );
    }
    let rows: Vec<(Option<i64>, Vec<u8>)> = query.into_tuple().all(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, payload)| seq.map(|seq| PublishedEvent { seq, payload }))
        .collect())
}

/// The id of the last event committed about `case_id` (0 when none): with
/// [`case_events_after`], how a watcher notices that any service changed a case.
pub async fn last_case_event(
    conn: &impl ConnectionTrait,
    case_id: &str,
) -> Result<i64, StoreError> {
    let max: Option<Option<i64>> = outbox::Entity::find()
        .select_only()
        .column_as(Column::Id.max(), "max")
        .filter(Column::CaseId.eq(case_id))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// The ids of the events committed about `case_id` with an id above `after`, in id order.
pub async fn case_events_after(
    conn: &impl ConnectionTrait,
    case_id: &str,
    after: i64,
) -> Result<Vec<i64>, StoreError> {
    Ok(outbox::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::CaseId.eq(case_id))
        .filter(Column::Id.gt(after))
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(conn)
        .await?)
}

/// The last place given in the sequence of publication (0 before the first).
pub async fn last_published(conn: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let max: Option<Option<i64>> = outbox::Entity::find()
        .select_only()
        .column_as(Column::Seq.max(), "max")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(max.flatten().unwrap_or(0))
}

/// How many events are committed and not yet published (the relay's backlog).
pub async fn backlog(conn: &impl ConnectionTrait) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(outbox::Entity::find()
        .filter(Column::PublishedAt.is_null())
        .count(conn)
        .await?)
}
