//! The transactional outbox (DESIGN.md decision 3): an event is written in the same
//! transaction as the state change that caused it; a relay publishes it later and marks it.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};

use crate::StoreError;
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
