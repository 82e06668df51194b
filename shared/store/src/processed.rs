//! Processed-event keys: a consumer records each event id it handled, in the transaction of
//! its handling, so a redelivered event is recognised and skipped.

use chrono::Utc;
use sea_orm::{
    ConnectionTrait,
    sea_query::{OnConflict, Query},
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
    let stmt = Query::insert()
        .into_table(crate::entity::processed_events::Entity)
        .columns([Column::Consumer, Column::EventId, Column::ProcessedAt])
        .values_panic([consumer.into(), event_id.into(), Utc::now().into()])
        .on_conflict(
            OnConflict::columns([Column::Consumer, Column::EventId])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let result = conn.execute(&stmt).await?;
    Ok(result.rows_affected() == 1)
}
