//! The transactional outbox (DESIGN.md decision 3): an event is written in the same
//! transaction as the state change that caused it; a relay publishes it later and marks it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, OnConflict},
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
    if events.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
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
    .exec_without_returning(conn)
    .await?;
    Ok(())
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

/// Marks events as published.
pub async fn mark_published(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox::Entity::update_many()
        .col_expr(Column::PublishedAt, Expr::value(Utc::now()))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
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
