//! Processed-event keys: a consumer records each event id it handled, in the transaction of
//! its handling, so a redelivered event is recognised and skipped.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::{
    ConnectionTrait,
    sea_query::{InsertStatement, OnConflict, Query},
};

use crate::StoreError;
use crate::entity::processed_events::Column;

/// Records that `consumer` handled `event_id`. Returns `false` when it already had, in which
/// case the caller must not apply the event again.
pub async fn mark_processed(
    conn: &impl ConnectionTrait,
    consumer: &str,
    event_id: &str,
) -> Result<bool, StoreError> {
    let result = conn.execute(&insert(consumer, &[event_id])).await?;
    Ok(result.rows_affected() == 1)
}

/// [`mark_processed`] for several events in one statement: answers the ids that were not
/// marked before (the ones the caller applies now).
pub async fn mark_all_processed(
    conn: &impl ConnectionTrait,
    consumer: &str,
    event_ids: &[&str],
) -> Result<HashSet<String>, StoreError> {
    if event_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let stmt = insert(consumer, event_ids)
        .returning_col(Column::EventId)
        .to_owned();
    let mut fresh = HashSet::with_capacity(event_ids.len());
    for row in conn.query_all(&stmt).await? {
        fresh.insert(row.try_get::<String>("", "event_id")?);
    }
    Ok(fresh)
}

/// The insert of processed keys that keeps the ones already there.
fn insert(consumer: &str, event_ids: &[&str]) -> InsertStatement {
    let now = Utc::now();
    let mut stmt = Query::insert();
    stmt.into_table(crate::entity::processed_events::Entity)
        .columns([Column::Consumer, Column::EventId, Column::ProcessedAt]);
    for event_id in event_ids {
        stmt.values_panic([consumer.into(), (*event_id).into(), now.into()]);
    }
    stmt.on_conflict(
        OnConflict::columns([Column::Consumer, Column::EventId])
            .do_nothing()
            .to_owned(),
    )
    .to_owned()
}
